/* partner_new.c: `portico partner new ID --ca FILE [--client-cert FILE] [--route ...]`, a new
 * partner's bundle scaffolded (partner_cli.h).
 *
 * The bundle is built in a hidden folder beside the others (the gateway skips names starting with
 * a dot) and renamed into place only once whole, without replacing anything: a reload that
 * happens meanwhile never sees half a bundle, and an existing bundle is never overwritten. The
 * identity constraints come from a sample client certificate, checked first to be the CA's: the
 * subject exactly as the gateway compares it (pt_name_rfc2253), its DNS and URI SANs and its
 * SHA-256 fingerprint (pt_cert_sha256).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "http_parser.h"
#include "identity.h"
#include "json_loc.h"
#include "partner_cli.h"
#include "text.h"

struct new_opts {
    struct pt_cli cli;
    const char *id, *name, *ca, *sample;
    int pin;
    json_t *routes; /* the --route objects, in order */
};

/* "NAME=METHODS,PATH,UPSTREAM" into a route object appended to o->routes. 0, or -1 after saying
 * why. */
static int
parse_route(struct new_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '='), *c1 = eq ? strchr(eq + 1, ',') : NULL;
    const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    json_t *r, *methods;

    if (eq == NULL || eq == arg || c1 == NULL || c2 == NULL || c2[1] == '\0') {
        pt_cli_fail(&o->cli, "--route takes NAME=METHODS,PATH,UPSTREAM, not \"%s\"", arg);
        return -1;
    }
    if (c2[1 + strcspn(c2 + 1, " \t")] != '\0' || c1[1] != '/') {
        pt_cli_fail(&o->cli, "--route \"%s\": the path starts with '/' and no space is allowed",
                    arg);
        return -1;
    }
    r = json_object();
    json_object_set_new(r, "name", json_stringn(arg, (size_t)(eq - arg)));
    if (!(c1 - eq == 2 && eq[1] == '*')) {
        methods = json_array();
        json_object_set_new(r, "methods", methods);
        for (const char *m = eq + 1; m < c1;) {
            size_t n = strcspn(m, "+,");
            enum gw_http_method k = gw_http_method_from(m, n);
            if (k == GW_METHOD_OTHER || k == GW_METHOD_CONNECT) {
                pt_cli_fail(&o->cli, "--route \"%s\": \"%.*s\" is not a method (GET, HEAD, POST, "
                            "PUT, DELETE, PATCH, OPTIONS, TRACE, joined with '+'; or '*')", arg,
                            (int)n, m);
                json_decref(r);
                return -1;
            }
            json_array_append_new(methods, json_string(gw_http_method_name(k)));
            m += n + (m[n] == '+');
        }
    }
    json_object_set_new(r, "path", json_stringn(c1 + 1, (size_t)(c2 - c1 - 1)));
    json_object_set_new(r, "upstream", json_string(c2 + 1));
    return json_array_append_new(o->routes, r);
}

static int
parse_args(struct new_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'a'},     {"client-cert", required_argument, NULL, 's'},
        {"no-pin", no_argument, NULL, 'P'},       {"name", required_argument, NULL, 'n'},
        {"route", required_argument, NULL, 'r'},  {"config", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': o->ca = optarg; break;
        case 's': o->sample = optarg; break;
        case 'P': o->pin = 0; break;
        case 'n': o->name = optarg; break;
        case 'c': o->cli.config = optarg; break;
        case 'd': o->cli.dir = optarg; break;
        case 'r':
            if (parse_route(o, optarg) < 0)
                return -1;
            break;
        case 'h':
            pt_cli_usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (optind >= argc) {
        pt_cli_fail(&o->cli, "which partner? give its id");
        return -1;
    }
    if (optind < argc - 1) {
        pt_cli_fail(&o->cli, "one partner id, not \"%s\" too", argv[optind + 1]);
        return -1;
    }
    o->id = argv[optind];
    if (o->ca == NULL) {
        pt_cli_fail(&o->cli, "--ca FILE is required: the CA that issues the partner's client "
                    "certificates");
        return -1;
    }
    return 0;
}

/* Did the CA(s) issue the sample, as the gateway would verify it: a chain to one of them (the
 * sample file's further certificates as intermediates), for a TLS client; dates are left out
 * (an expired sample still tells the identity; `portico check` and the handshake judge dates).
 * 0, or -1 with why in words. */
static int
issued_by(STACK_OF(X509) *cas, STACK_OF(X509) *sample, char *why, size_t len)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;

    snprintf(why, len, "out of memory");
    if (st == NULL || ctx == NULL)
        goto out;
    for (int i = 0; i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(st, sk_X509_value(cas, i));
    if (X509_STORE_CTX_init(ctx, st, sk_X509_value(sample, 0), sample) != 1)
        goto out;
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(ctx) == 1)
        rc = 0;
    else
        snprintf(why, len, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return rc;
}

/* The sample's DNS and URI SANs that a bundle can hold (printable ASCII, no space). */
static json_t *
sample_sans(X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    json_t *out = json_array();

    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const unsigned char *d;
        size_t n;
        int ok = 1;
        if (!pt_san_text(sk_GENERAL_NAME_value(names, i), &d, &n))
            continue;
        for (size_t k = 0; k < n; k++)
            ok &= d[k] > 0x20 && d[k] < 0x7f;
        if (ok && n > 0)
            json_array_append_new(out, json_stringn((const char *)d, n));
    }
    GENERAL_NAMES_free(names);
    return out;
}

/* The identity object: the CA file, and the sample's constraints when there is one. */
static json_t *
identity_from(const struct new_opts *o, X509 *sample)
{
    json_t *id = json_pack("{s:s}", "ca", "ca.pem"), *san;
    unsigned char fp[32];
    char hex[65], *subject;

    if (sample == NULL)
        return id;
    subject = pt_name_rfc2253(X509_get_subject_name(sample));
    if (subject != NULL && subject[0] != '\0')
        json_object_set_new(id, "subject", json_string(subject));
    free(subject);
    if (json_array_size(san = sample_sans(sample)) > 0)
        json_object_set_new(id, "san", san);
    else
        json_decref(san);
    if (o->pin && pt_cert_sha256(sample, fp) == 0) {
        gw_hex_encode(hex, fp, sizeof fp);
        hex[64] = '\0';
        json_object_set_new(id, "fingerprints", json_pack("[s]", hex));
    }
    return id;
}

/* Write ca.pem and partner.json into a hidden folder of partners_dir, then rename it to dest
 * unless dest exists. 0, or -1 after saying why (nothing left behind). */
static int
write_bundle(const struct new_opts *o, const char *partners_dir, const char *dest,
             STACK_OF(X509) *cas, json_t *doc)
{
    char *tmp = NULL, *ca_path = NULL, *json_path = NULL, *text = NULL;
    BIO *pem = NULL;
    int rc = -1, ok;

    if (asprintf(&tmp, "%s/.%s.new-XXXXXX", partners_dir, o->id) < 0 || mkdtemp(tmp) == NULL) {
        pt_cli_fail(&o->cli, "cannot make a folder in %s: %s", partners_dir, strerror(errno));
        free(tmp);
        return -1;
    }
    ok = (pem = BIO_new(BIO_s_mem())) != NULL;
    ca_path = gw_path_join(tmp, "ca.pem");
    json_path = gw_path_join(tmp, "partner.json");
    /* the CA certificates again: whatever else the file held (a key, by mistake) stays behind */
    for (int i = 0; ok && i < sk_X509_num(cas); i++)
        ok = PEM_write_bio_X509(pem, sk_X509_value(cas, i)) == 1;
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (ca_path == NULL || json_path == NULL || !ok || text == NULL) {
        pt_cli_fail(&o->cli, "out of memory");
        goto out;
    }
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* json_dumps' NUL becomes the last line's end */
    if (chmod(tmp, 0755) < 0 || pt_cli_write_bio(ca_path, 0644, 1, pem) < 0 ||
        pt_cli_write_file(json_path, 0644, 1, text, tlen + 1) < 0) {
        pt_cli_fail(&o->cli, "cannot write in %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* RENAME_NOREPLACE: a bundle made meanwhile is not replaced (EINVAL: a file system without
     * it, where rename() could only replace an empty folder) */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) < 0 &&
        (errno != EINVAL || rename(tmp, dest) < 0)) {
        pt_cli_fail(&o->cli, errno == EEXIST ? "%s already exists: a bundle is never overwritten"
                                             : "cannot make %s: %s", dest, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc < 0) {
        if (ca_path != NULL)
            unlink(ca_path);
        if (json_path != NULL)
            unlink(json_path);
        rmdir(tmp);
    }
    free(tmp);
    free(ca_path);
    free(json_path);
    BIO_free(pem);
    free(text);
    return rc;
}

/* What was written, and what is left for the user. */
static void
report(const struct new_opts *o, const char *dest, STACK_OF(X509) *cas, const json_t *doc)
{
    const json_t *id = json_object_get(doc, "identity"), *san, *fps, *r;
    char subj[256];
    size_t i;

    printf("wrote %s/partner.json and %s/ca.pem (%d CA certificate%s: \"%s\"%s)\n", dest, dest,
           sk_X509_num(cas), sk_X509_num(cas) == 1 ? "" : "s",
           gw_x509_subject(sk_X509_value(cas, 0), subj, sizeof subj),
           sk_X509_num(cas) > 1 ? ", ..." : "");
    if (o->sample == NULL) {
        printf("identity: no --client-cert given, so partner.json names the CA only: EVERY\n"
               "  certificate it issues is partner %s. To narrow it, add to \"identity\":\n"
               "    \"subject\": the client certificate's subject in RFC 2253 order (the last\n"
               "               RDN first), exactly as printed by\n"
               "               openssl x509 -in client.pem -noout -subject -nameopt RFC2253\n"
               "    \"san\": [DNS names or URIs of its subjectAltName]\n"
               "    \"fingerprints\": [its SHA-256: openssl x509 -in client.pem -noout "
               "-fingerprint -sha256]\n"
               "  or run this again with --client-cert client.pem (the bundle must go first).\n",
               o->id);
    } else {
        printf("identity, from %s:\n", o->sample);
        if (json_object_get(id, "subject") != NULL)
            printf("  subject       %s  (RFC 2253 order, as the gateway compares it)\n",
                   json_string_value(json_object_get(id, "subject")));
        json_array_foreach(json_object_get(id, "san"), i, san)
            printf("  san           %s\n", json_string_value(san));
        json_array_foreach(json_object_get(id, "fingerprints"), i, fps)
            printf("  fingerprint   %s\n"
                   "                (pinned: a renewed certificate needs its own added; --no-pin "
                   "leaves it out)\n", json_string_value(fps));
    }
    json_array_foreach(json_object_get(doc, "routes"), i, r)
        printf("route %s: %s -> %s\n", json_string_value(json_object_get(r, "name")),
               json_string_value(json_object_get(r, "path")),
               json_string_value(json_object_get(r, "upstream")));
    printf("next: portico check -c portico.json, then reload the gateway (SIGHUP)\n");
}

int
pt_cli_new(int argc, char **argv)
{
    struct new_opts o = {.cli.sub = "new", .pin = 1, .routes = json_array()};
    STACK_OF(X509) *cas = NULL, *sample = NULL;
    char *partners_dir = NULL, *dest = NULL, why[256], subj[256], casubj[256];
    json_t *doc = NULL;
    struct stat st;
    int rc = 2;

    if (o.routes == NULL || (rc = parse_args(&o, argc, argv)) != 0) {
        rc = rc > 0 ? 0 : 2;
        goto out;
    }
    rc = 2;
    if ((partners_dir = pt_cli_partners_dir(&o.cli)) == NULL ||
        pt_cli_bundle_dir(&o.cli, partners_dir, o.id, &dest) < 0)
        goto out;
    rc = 1;
    if (lstat(dest, &st) == 0) {
        pt_cli_fail(&o.cli, "%s already exists: a bundle is never overwritten", dest);
        goto out;
    }
    if ((cas = pt_cli_load_certs(&o.cli, o.ca)) == NULL)
        goto out;
    for (int i = 0; i < sk_X509_num(cas); i++) {
        if (X509_check_ca(sk_X509_value(cas, i)) == 0) {
            pt_cli_fail(&o.cli, "%s: certificate \"%s\" is not a CA (basicConstraints CA:TRUE "
                        "is missing)", o.ca,
                        gw_x509_subject(sk_X509_value(cas, i), subj, sizeof subj));
            goto out;
        }
    }
    if (o.sample != NULL) {
        if ((sample = pt_cli_load_certs(&o.cli, o.sample)) == NULL)
            goto out;
        if (issued_by(cas, sample, why, sizeof why) < 0) {
            pt_cli_fail(&o.cli, "%s: certificate \"%s\" was not issued by the CA in %s (\"%s\"): "
                        "%s; nothing written", o.sample,
                        gw_x509_subject(sk_X509_value(sample, 0), subj, sizeof subj), o.ca,
                        gw_x509_subject(sk_X509_value(cas, 0), casubj, sizeof casubj), why);
            goto out;
        }
    }
    doc = json_pack("{s:s, s:s, s:o}", "id", o.id, "name", o.name ? o.name : o.id, "identity",
                    identity_from(&o, sample ? sk_X509_value(sample, 0) : NULL));
    if (doc == NULL || (json_array_size(o.routes) > 0 &&
                        json_object_set(doc, "routes", o.routes) < 0)) {
        pt_cli_fail(&o.cli, "out of memory");
        goto out;
    }
    if (mkdir(partners_dir, 0755) == 0)
        printf("made %s, the partners folder\n", partners_dir);
    if (write_bundle(&o, partners_dir, dest, cas, doc) < 0)
        goto out;
    report(&o, dest, cas, doc);
    if (sample != NULL && X509_cmp_current_time(X509_get0_notAfter(sk_X509_value(sample, 0))) < 0)
        printf("note: %s has expired: the partner needs a new certificate (its identity is the "
               "same if its subject and SANs are)\n", o.sample);
    rc = 0;
out:
    sk_X509_pop_free(cas, X509_free);
    sk_X509_pop_free(sample, X509_free);
    json_decref(o.routes);
    json_decref(o.cli.root);
    json_decref(doc);
    free(partners_dir);
    free(dest);
    return rc;
}
