/* partner_csr.c: `portico partner csr ID [--cn NAME] [--key-type ec|rsa]`, our outbound identity
 * toward a partner begun (partner_cli.h): a new private key, which never leaves the bundle folder
 * and is never overwritten, and a certificate signing request for the partner's CA to sign.
 *
 * The file names are those the bundle's "outbound" names when it has one, else out.key and
 * out.pem (the CSR beside the key, .csr); what to add to partner.json is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "json_loc.h"
#include "partner_cli.h"

#define CN_MAX 64 /* ub-common-name, RFC 5280 */

struct csr_opts {
    struct pt_cli cli;
    const char *id, *cn;
    int rsa;
};

static int
parse_args(struct csr_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"cn", required_argument, NULL, 'n'},     {"key-type", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'c'}, {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': o->cn = optarg; break;
        case 'c': o->cli.config = optarg; break;
        case 'd': o->cli.dir = optarg; break;
        case 'k':
            if (strcmp(optarg, "ec") != 0 && strcmp(optarg, "rsa") != 0) {
                pt_cli_fail(&o->cli, "--key-type is ec or rsa, not \"%s\"", optarg);
                return -1;
            }
            o->rsa = optarg[0] == 'r';
            break;
        case 'h':
            pt_cli_usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (optind != argc - 1) {
        pt_cli_fail(&o->cli, optind >= argc ? "which partner? give its id"
                                            : "one partner id only");
        return -1;
    }
    o->id = argv[optind];
    if (o->cn[0] == '\0' || strlen(o->cn) > CN_MAX) {
        pt_cli_fail(&o->cli, "--cn: 1 to %d characters", CN_MAX);
        return -1;
    }
    return 0;
}

/* The request: subject CN, our public key, asking for a TLS client certificate; signed. */
static X509_REQ *
make_req(const char *cn, EVP_PKEY *key)
{
    static const struct {
        int nid;
        const char *value;
    } wanted[] = {{NID_key_usage, "critical,digitalSignature"}, {NID_ext_key_usage, "clientAuth"}};
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    int ok = req != NULL && name != NULL && exts != NULL &&
             X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                        -1, -1, 0) == 1 &&
             X509_REQ_set_subject_name(req, name) == 1 && X509_REQ_set_pubkey(req, key) == 1;

    for (size_t i = 0; ok && i < sizeof wanted / sizeof wanted[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, wanted[i].nid, wanted[i].value);
        if (e == NULL || sk_X509_EXTENSION_push(exts, e) <= 0) {
            X509_EXTENSION_free(e);
            ok = 0;
        }
    }
    ok = ok && X509_REQ_add_extensions(req, exts) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    if (!ok) {
        X509_REQ_free(req);
        req = NULL;
    }
    return req;
}

/* The name "outbound".member has in partner.json, else def. */
static const char *
outbound_name(const json_t *doc, const char *member, const char *def)
{
    const json_t *j = json_object_get(json_object_get(doc, "outbound"), member);

    return json_is_string(j) ? json_string_value(j) : def;
}

/* The key's name with .csr for its extension ("out.key" -> "out.csr"), malloc'd. */
static char *
csr_name(const char *key)
{
    const char *dot = strrchr(key, '.'), *slash = strrchr(key, '/');
    size_t stem = dot != NULL && (slash == NULL || dot > slash) ? (size_t)(dot - key) : strlen(key);
    char *out = NULL;

    return asprintf(&out, "%.*s.csr", (int)stem, key) < 0 ? NULL : out;
}

static void
report(const struct csr_opts *o, const char *bundle, const json_t *doc, const char *keyf,
       const char *csrf, const char *certn, const char *keyn)
{
    int has = json_is_string(json_object_get(json_object_get(doc, "outbound"), "cert")) &&
              json_is_string(json_object_get(json_object_get(doc, "outbound"), "key"));

    printf("wrote %s: our private key (%s, mode 0600); it never leaves this folder\n", keyf,
           o->rsa ? "RSA 3072" : "EC P-256");
    printf("wrote %s: the certificate signing request, subject CN=%s, for a TLS client\n", csrf,
           o->cn);
    printf("next:\n"
           "  1. send %s to %s to sign (it holds no secret)\n"
           "  2. put the certificate they send back at %s/%s\n"
           "     (PEM, ours first, then any intermediate CA)\n", csrf, o->id, bundle, certn);
    if (has)
        printf("  3. partner.json's \"outbound\" already names them: nothing to add\n");
    else
        printf("  3. add to %s/partner.json:\n"
               "       \"outbound\": { \"cert\": \"%s\", \"key\": \"%s\" }\n"
               "     and \"ca\": \"FILE\" in it when %s's https servers are verified by a CA\n"
               "     of theirs rather than the system's\n", bundle, certn, keyn, o->id);
    printf("  4. portico check -c portico.json, then reload the gateway (SIGHUP)\n");
}

int
pt_cli_csr(int argc, char **argv)
{
    struct csr_opts o = {.cli.sub = "csr", .cn = "portico"};
    char *partners_dir = NULL, *bundle = NULL, *pj = NULL, *keyf = NULL, *csrn = NULL;
    char *csrf = NULL;
    BIO *kpem = NULL, *rpem = NULL;
    json_t *doc = NULL;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    struct stat st;
    int rc;

    if ((rc = parse_args(&o, argc, argv)) != 0)
        return rc > 0 ? 0 : 2;
    rc = 2;
    if ((partners_dir = pt_cli_partners_dir(&o.cli)) == NULL ||
        pt_cli_bundle_dir(&o.cli, partners_dir, o.id, &bundle) < 0)
        goto out;
    rc = 1;
    if (stat(bundle, &st) < 0 || !S_ISDIR(st.st_mode)) {
        pt_cli_fail(&o.cli, "no bundle %s (portico partner new makes one)", bundle);
        goto out;
    }
    /* the bundle may name our outbound files already: those names, else out.key and out.pem */
    pj = gw_path_join(bundle, "partner.json");
    doc = pj != NULL ? json_load_file(pj, 0, NULL) : NULL;
    const char *keyn = outbound_name(doc, "key", "out.key");
    const char *certn = outbound_name(doc, "cert", "out.pem");
    keyf = gw_path_join(bundle, keyn);
    csrn = csr_name(keyn);
    csrf = csrn != NULL ? gw_path_join(bundle, csrn) : NULL;
    if (keyf == NULL || csrf == NULL)
        goto oom;
    if (lstat(keyf, &st) == 0) {
        pt_cli_fail(&o.cli, "%s exists: a private key is never overwritten (remove it first to "
                    "make a new one)", keyf);
        goto out;
    }
    key = o.rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)
                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    kpem = BIO_new(BIO_s_secmem()); /* the key's PEM: cleared when freed */
    rpem = BIO_new(BIO_s_mem());
    if (key == NULL || (req = make_req(o.cn, key)) == NULL || kpem == NULL || rpem == NULL ||
        PEM_write_bio_PrivateKey(kpem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_X509_REQ(rpem, req) != 1)
        goto oom;
    if (pt_cli_write_bio(keyf, 0600, 1, kpem) < 0) {
        pt_cli_fail(&o.cli, "cannot write %s: %s", keyf, strerror(errno));
        goto out;
    }
    if (pt_cli_write_bio(csrf, 0644, 0, rpem) < 0) {
        pt_cli_fail(&o.cli, "cannot write %s: %s", csrf, strerror(errno));
        unlink(keyf);
        goto out;
    }
    report(&o, bundle, doc, keyf, csrf, certn, keyn);
    rc = 0;
    goto out;
oom:
    pt_cli_fail(&o.cli, "cannot make the key or the request (out of memory?)");
out:
    ERR_clear_error();
    BIO_free(kpem);
    BIO_free(rpem);
    EVP_PKEY_free(key);
    X509_REQ_free(req);
    json_decref(doc);
    json_decref(o.cli.root);
    free(partners_dir);
    free(bundle);
    free(pj);
    free(keyf);
    free(csrn);
    free(csrf);
    return rc;
}
