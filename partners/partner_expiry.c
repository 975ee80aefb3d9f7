/* partner_expiry.c: `portico partner expiry [-c portico.json | -d DIR] [--days N] [--json]`
 * (partner_cli.h): every certificate the configuration names, soonest to expire first.
 *
 * What is listed: each certificate in the files of the listeners' "certificates" (per SNI name),
 * and of every bundle's "identity.ca", "outbound.cert", "outbound.ca" and "signing" certificates;
 * each CRL of
 * "identity.crl" by its next update (once it has passed, every client of that CA fails). The
 * files are read as named, with jansson and OpenSSL alone, so that a configuration the gateway
 * refuses (an expired certificate is an error to `portico check`) can still be listed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "json_loc.h"
#include "partner_cli.h"

/* One certificate (or CRL) and when it ends. */
struct item {
    const char *kind;   /* "server", "ca", "crl", "outbound", "outbound-ca", "signing" */
    char *owner;        /* "listener 127.0.0.1:8443 (default)", "partner acme" */
    char *subject;      /* the certificate's subject, the CRL's issuer (RFC 2253) */
    char *file;
    int64_t left_s;     /* seconds from now to not-after (next update); < 0: past */
    char when[32];      /* the same, "2027-01-31T12:00:00Z" */
};

struct list {
    const struct pt_cli *cli;
    struct item *v;
    size_t n, cap;
    int errors;         /* something named could not be read (said on standard error) */
};

static const char *const kind_words[][2] = {
    {"server", "server certificate"}, {"ca", "client CA"}, {"crl", "CRL next update, of"},
    {"outbound", "our outbound certificate"}, {"outbound-ca", "CA of its servers"},
    {"signing", "its signing certificate"},
};

static const char *
kind_text(const char *kind)
{
    for (size_t i = 0; i < sizeof kind_words / sizeof kind_words[0]; i++)
        if (strcmp(kind_words[i][0], kind) == 0)
            return kind_words[i][1];
    return kind;
}

static void
add(struct list *l, const char *kind, const char *owner, const X509_NAME *name, const char *file,
    const ASN1_TIME *t)
{
    struct item *it;
    struct tm tm;
    int days = 0, secs = 0;
    char subj[512];

    if (t == NULL || ASN1_TIME_diff(&days, &secs, NULL, t) != 1 || ASN1_TIME_to_tm(t, &tm) != 1) {
        pt_cli_fail(l->cli, "%s: a date that cannot be read", file);
        l->errors++;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct item *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            l->errors++;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    it = &l->v[l->n];
    it->kind = kind;
    it->owner = strdup(owner);
    it->subject = strdup(gw_x509_name(name, subj, sizeof subj));
    it->file = strdup(file);
    if (it->owner == NULL || it->subject == NULL || it->file == NULL) {
        free(it->owner);
        free(it->subject);
        free(it->file);
        pt_cli_fail(l->cli, "out of memory");
        l->errors++;
        return;
    }
    l->n++;
    it->left_s = (int64_t)days * 86400 + secs;
    strftime(it->when, sizeof it->when, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
add_certs(struct list *l, const char *kind, const char *owner, const char *file)
{
    STACK_OF(X509) *certs = pt_cli_load_certs(l->cli, file);

    if (certs == NULL) {
        l->errors++;
        return;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        add(l, kind, owner, X509_get_subject_name(x), file, X509_get0_notAfter(x));
    }
    sk_X509_pop_free(certs, X509_free);
}

static void
add_crls(struct list *l, const char *owner, const char *file)
{
    BIO *bio = BIO_new_file(file, "r");
    X509_CRL *crl;
    int n = 0;

    while (bio != NULL && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_CRL_get0_nextUpdate(crl) != NULL)
            add(l, "crl", owner, X509_CRL_get_issuer(crl), file, X509_CRL_get0_nextUpdate(crl));
        X509_CRL_free(crl);
        n++;
    }
    ERR_clear_error();
    if (n == 0) {
        pt_cli_fail(l->cli, "%s: %s", file, bio == NULL ? strerror(errno)
                                                        : "no CRL in it (expected PEM \"BEGIN X509 CRL\")");
        l->errors++;
    }
    BIO_free(bio);
}

/* Each file a member names (a string, or an array of them), relative to dir. */
static void
add_named(struct list *l, const char *kind, const char *owner, const char *dir, const json_t *j)
{
    size_t n = json_is_array(j) ? json_array_size(j) : j != NULL;

    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_is_array(j) ? json_array_get(j, i) : j;
        char *file = json_is_string(v) ? gw_path_join(dir, json_string_value(v)) : NULL;
        if (file == NULL) {
            pt_cli_fail(l->cli, "%s: %s names something that is not a file name", owner, kind);
            l->errors++;
        } else if (strcmp(kind, "crl") == 0) {
            add_crls(l, owner, file);
        } else {
            add_certs(l, kind, owner, file);
        }
        free(file);
    }
}

/* The server certificates of portico.json's TLS listeners, named by address and SNI. */
static void
add_listeners(struct list *l, const struct pt_cli *c)
{
    const json_t *lst, *cert;
    size_t i, k;
    char owner[512];

    json_array_foreach(json_object_get(c->root, "listeners"), i, lst) {
        const json_t *addr = json_object_get(lst, "address");
        json_array_foreach(json_object_get(json_object_get(lst, "tls"), "certificates"), k, cert) {
            const json_t *sni = json_object_get(cert, "sni"), *f = json_object_get(cert, "cert");
            char *file = json_is_string(f) ? pt_cli_config_path(c, json_string_value(f)) : NULL;
            snprintf(owner, sizeof owner, "listener %s (%s%s)",
                     json_is_string(addr) ? json_string_value(addr) : "?",
                     json_is_string(sni) ? "sni " : "default",
                     json_is_string(sni) ? json_string_value(sni) : "");
            if (file == NULL) {
                pt_cli_fail(c, "%s: listeners[%zu].tls.certificates[%zu].cert is not a file name",
                            c->config, i, k);
                l->errors++;
                continue;
            }
            add_certs(l, "server", owner, file);
            free(file);
        }
    }
}

static int
is_bundle(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Every bundle of the partners folder, in name order, as the gateway reads them. */
static void
add_bundles(struct list *l, const char *partners_dir)
{
    struct dirent **names = NULL;
    int n = scandir(partners_dir, &names, is_bundle, alphasort);

    if (n < 0) {
        pt_cli_fail(l->cli, "%s: %s", partners_dir, strerror(errno));
        l->errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        char *bundle = gw_path_join(partners_dir, names[i]->d_name), *pj = NULL, owner[300];
        json_error_t jerr;
        json_t *doc = NULL;
        struct stat st;
        if (bundle != NULL && stat(bundle, &st) == 0 && S_ISDIR(st.st_mode)) {
            pj = gw_path_join(bundle, "partner.json");
            if (pj == NULL || (doc = json_load_file(pj, 0, &jerr)) == NULL) {
                pt_cli_fail(l->cli, "%s:%d:%d: %s", pj ? pj : bundle, jerr.line, jerr.column,
                            jerr.text);
                l->errors++;
            } else {
                const json_t *id = json_object_get(doc, "identity");
                const json_t *ob = json_object_get(doc, "outbound");
                snprintf(owner, sizeof owner, "partner %s", names[i]->d_name);
                add_named(l, "ca", owner, bundle, json_object_get(id, "ca"));
                add_named(l, "crl", owner, bundle, json_object_get(id, "crl"));
                add_named(l, "outbound", owner, bundle, json_object_get(ob, "cert"));
                add_named(l, "outbound-ca", owner, bundle, json_object_get(ob, "ca"));
                const json_t *sg = json_object_get(doc, "signing");
                for (size_t k = 0; k < json_array_size(sg); k++)
                    add_named(l, "signing", owner, bundle,
                              json_object_get(json_array_get(sg, k), "certificate"));
            }
        }
        json_decref(doc);
        free(pj);
        free(bundle);
        free(names[i]);
    }
    free(names);
}

static int
by_end(const void *a, const void *b)
{
    const struct item *x = a, *y = b;

    if (x->left_s != y->left_s)
        return x->left_s < y->left_s ? -1 : 1;
    return strcmp(x->file, y->file);
}

static void
print_table(const struct list *l, int days, size_t expiring)
{
    printf("%-20s  %7s  %s\n", "NOT AFTER (UTC)", "DAYS", "WHAT");
    for (size_t i = 0; i < l->n; i++) {
        const struct item *it = &l->v[i];
        char left[16];
        if (it->left_s < 0)
            snprintf(left, sizeof left, "expired");
        else
            snprintf(left, sizeof left, "%lld", (long long)(it->left_s / 86400));
        printf("%-20s  %7s  %s: %s \"%s\" (%s)%s\n", it->when, left, it->owner,
               kind_text(it->kind), it->subject, it->file,
               it->left_s < (int64_t)days * 86400 ? "  <--" : "");
    }
    if (expiring > 0)
        printf("%zu of %zu expire%s within %d days\n", expiring, l->n, expiring == 1 ? "s" : "",
               days);
    else
        printf("nothing of %zu expires within %d days\n", l->n, days);
}

static void
print_json(const struct list *l, int days, size_t expiring)
{
    json_t *arr = json_array();
    json_t *doc = json_pack("{s:i, s:I, s:o}", "days", days, "expiring", (json_int_t)expiring,
                            "certificates", arr);

    for (size_t i = 0; doc != NULL && i < l->n; i++) {
        const struct item *it = &l->v[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "kind", it->kind, "owner",
                           it->owner, "subject", it->subject, "file", it->file, "not_after",
                           it->when, "days_left", (json_int_t)(it->left_s / 86400), "expiring",
                           it->left_s < (int64_t)days * 86400));
    }
    if (doc != NULL)
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
    json_decref(doc);
}

int
pt_cli_expiry(int argc, char **argv)
{
    static const struct option opts[] = {
        {"days", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'}, {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct pt_cli cli = {.sub = "expiry"};
    struct list l = {.cli = &cli};
    char *partners_dir = NULL, *end;
    size_t expiring = 0;
    long days = 30;
    int ch, json = 0, rc = 2;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            errno = 0;
            days = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || days < 0 || days > 36500) {
                pt_cli_fail(&cli, "--days takes 0 to 36500, not \"%s\"", optarg);
                return 2;
            }
            break;
        case 'j': json = 1; break;
        case 'c': cli.config = optarg; break;
        case 'd': cli.dir = optarg; break;
        case 'h': pt_cli_usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        pt_cli_fail(&cli, "unexpected argument \"%s\"", argv[optind]);
        return 2;
    }
    if ((partners_dir = pt_cli_partners_dir(&cli)) == NULL)
        goto out;
    if (cli.root != NULL)
        add_listeners(&l, &cli);
    add_bundles(&l, partners_dir);
    qsort(l.v, l.n, sizeof *l.v, by_end);
    for (size_t i = 0; i < l.n; i++)
        expiring += l.v[i].left_s < (int64_t)days * 86400;
    if (json)
        print_json(&l, (int)days, expiring);
    else
        print_table(&l, (int)days, expiring);
    rc = expiring > 0 || l.errors > 0;
out:
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].owner);
        free(l.v[i].subject);
        free(l.v[i].file);
    }
    free(l.v);
    free(partners_dir);
    json_decref(cli.root);
    return rc;
}
