/* test_config.c: loading and validating portico.json and partner bundles, as `portico check`
 * reports it. Each test writes a small config tree into a fresh temp dir (certificates made here
 * with the OpenSSL API), loads it and asserts the exact "file:line:column: path: message" lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "config.h"
#include "diag.h"
#include "http_parser.h"
#include "json_loc.h"
#include "snapshot.h"
#include "snapshot_load.h"

/* ---- fixture: a temp dir as the working directory ------------------------------------------- */

struct fixture {
    char dir[64];
    int oldcwd;
    struct gw_diag d;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/portico-test-config-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->oldcwd = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(f->oldcwd >= 0);
    assert_int_equal(chdir(f->dir), 0);
    *state = f;
    return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    gw_diag_free(&f->d);
    if (fchdir(f->oldcwd) != 0)
        return -1;
    close(f->oldcwd);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Write `text` to `path`, creating the folders on the way. */
static void
write_file(const char *path, const char *text)
{
    char dir[512];

    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Assert the diag list is exactly `want` (each "error: ..." or "warning: ..."), in order. On a
 * mismatch every line is printed, so that the failing test shows what was reported. */
static void
assert_diag(const struct gw_diag *d, const char *const *want, size_t n)
{
    int ok = d->n == n;

    for (size_t i = 0; ok && i < n; i++) {
        char line[2048];
        snprintf(line, sizeof line, "%s: %s",
                 d->items[i].level == GW_DIAG_ERROR ? "error" : "warning", d->items[i].text);
        ok = strcmp(line, want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "expected %zu lines:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
        fprintf(stderr, "got %zu lines:\n", d->n);
        gw_diag_print(d, stderr);
    }
    assert_true(ok);
}

#define ASSERT_DIAG(d, ...)                                                                        \
    do {                                                                                           \
        static const char *const want_[] = { __VA_ARGS__ };                                        \
        assert_diag((d), want_, sizeof want_ / sizeof want_[0]);                                   \
    } while (0)

/* ---- certificates --------------------------------------------------------------------------- */

static time_t t0; /* the time every test certificate is dated from */

static EVP_PKEY *
gen_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    assert_non_null(k);
    return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for `cn` valid from t0+from to t0+to seconds, signed by issuer/ikey (NULL:
 * self-signed), a CA when ca is set. */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca, long from, long to)
{
    static long serial = 1;
    X509 *x = X509_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &t0));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &t0));
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509_set_pubkey(x, key);
    add_ext(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE"
                                                              : "critical,CA:FALSE");
    if (ca)
        add_ext(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
    assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
    return x;
}

static void
write_cert(const char *path, X509 *x)
{
    write_file(path, "");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);
}

static void
write_key(const char *path, EVP_PKEY *k)
{
    write_file(path, "");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
}

#define DAY 86400L

/* A self-signed CA written to `path`; returned with its key for signing leaves. */
static X509 *
write_ca(const char *path, const char *cn, EVP_PKEY **key)
{
    *key = gen_key();
    X509 *ca = make_cert(cn, *key, NULL, NULL, 1, -DAY, 365 * DAY);
    write_cert(path, ca);
    return ca;
}

/* A leaf certificate and its key, valid from t0+from to t0+to, signed by ca (or self-signed). */
static void
write_leaf(const char *certpath, const char *keypath, const char *cn, X509 *ca, EVP_PKEY *cakey,
           long from, long to)
{
    EVP_PKEY *k = gen_key();
    X509 *x = make_cert(cn, k, ca, cakey, 0, from, to);

    write_cert(certpath, x);
    write_key(keypath, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* "2031-02-03 04:05:06 UTC" for t0 + offset. */
static const char *
utc(long offset, char *buf, size_t len)
{
    time_t t = t0 + offset;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

static const char *const plain_config =
    "{\n"
    "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ]\n"
    "}\n";

/* ---- positions ------------------------------------------------------------------------------ */

struct loc_case {
    const char *path;
    int line, col;
};

static void
check_locs(const char *text, const struct loc_case *cases, size_t n)
{
    struct gw_jsonloc *loc = gw_jsonloc_build(text, strlen(text));

    assert_non_null(loc);
    for (size_t i = 0; i < n; i++) {
        int line = -1, col = -1;
        gw_jsonloc_find(loc, cases[i].path, &line, &col);
        if (line != cases[i].line || col != cases[i].col)
            fprintf(stderr, "path \"%s\": got %d:%d, expected %d:%d\n", cases[i].path, line, col,
                    cases[i].line, cases[i].col);
        assert_int_equal(line, cases[i].line);
        assert_int_equal(col, cases[i].col);
    }
    gw_jsonloc_free(loc);
}

static void
test_jsonloc(void **state)
{
    (void)state;
    static const char doc[] = "{\"a\": 1,\n"
                              " \"b\": {\"c\": [10, {\"d\": \"x,]}\"}],\n"
                              "       \"e\\u0041\": null},\n"
                              "  \"f\": []}";
    static const struct loc_case cases[] = {
        { "", 1, 1 },         { "a", 1, 2 },          { "b", 2, 2 },
        { "b.c", 2, 8 },      { "b.c[0]", 2, 14 },    { "b.c[1]", 2, 18 },
        { "b.c[1].d", 2, 19 },{ "b.eA", 3, 8 },       { "f", 4, 3 },
        /* absent: the nearest recorded parent answers */
        { "b.c[1].zz", 2, 18 },{ "b.c[5]", 2, 8 },    { "nope", 1, 1 },
        { "f[0]", 4, 3 },     { "b.c[1].d.x[2]", 2, 19 },
    };
    check_locs(doc, cases, sizeof cases / sizeof cases[0]);

    /* CRLF line ends, a tab (one byte), a multi-byte character before a key on the same line */
    static const char doc2[] = "{\r\n\t\"k\": [true,\r\n  false], \"\xc3\xa9\": 1, \"z\": 2}";
    static const struct loc_case cases2[] = {
        { "k", 2, 2 }, { "k[0]", 2, 8 }, { "k[1]", 3, 3 }, { "\xc3\xa9", 3, 11 }, { "z", 3, 20 },
    };
    check_locs(doc2, cases2, sizeof cases2 / sizeof cases2[0]);

    /* a root that is not an object, and a nested array */
    static const char doc3[] = "  [[1, 2], {\"x\": [3]}]";
    static const struct loc_case cases3[] = {
        { "", 1, 3 },      { "[0]", 1, 4 },       { "[0][1]", 1, 8 },
        { "[1].x", 1, 13 }, { "[1].x[0]", 1, 19 },
    };
    check_locs(doc3, cases3, sizeof cases3 / sizeof cases3[0]);

    /* nothing known */
    int line = 5, col = 5;
    gw_jsonloc_find(NULL, "a", &line, &col);
    assert_int_equal(line, 0);
    assert_int_equal(col, 0);
    assert_null(gw_jsonloc_build("{\"a\": ", 6));
}

static void
test_jpath(void **state)
{
    (void)state;
    char buf[GW_JPATH_MAX], small[8];

    assert_string_equal(gw_jpath_key(buf, sizeof buf, "", "routes"), "routes");
    assert_string_equal(gw_jpath_index(buf, sizeof buf, "routes", 3), "routes[3]");
    assert_string_equal(gw_jpath_key(buf, sizeof buf, buf, "upstream"), "routes[3].upstream");
    assert_string_equal(gw_jpath_key(small, sizeof small, "routes", "x"), "routes.");
    assert_string_equal(gw_jpath_index(small, sizeof small, "abcdef", 12), "abcdef[");
}

/* ---- the gateway config --------------------------------------------------------------------- */

static void
test_syntax_error(void **state)
{
    struct fixture *f = *state;

    write_file("portico.json", "{\n"
                               "  \"node\": \"gw-1\",\n"
                               "  \"workers\": 2\n"
                               "  \"listeners\": []\n"
                               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d, "error: portico.json:4:13: '}' expected near '\"listeners\"'");

    /* a missing config file */
    gw_diag_free(&f->d);
    assert_null(gw_snapshot_load("nothere.json", &f->d));
    ASSERT_DIAG(&f->d, "error: nothere.json: cannot read: No such file or directory");

    /* duplicate keys are refused, not silently merged */
    gw_diag_free(&f->d);
    write_file("portico.json", "{ \"workers\": 1,\n  \"workers\": 2 }\n");
    assert_null(gw_config_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d, "error: portico.json:2:11: duplicate object key near '\"workers\"'");

    /* the top level must be an object */
    gw_diag_free(&f->d);
    write_file("portico.json", "[1, 2]\n");
    assert_null(gw_config_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d, "error: portico.json:1:1: expected an object at the top, got an array");
}

/* Unknown key, wrong type, missing required key, out-of-range numbers, bad and duplicate
 * addresses, client_auth without tls: every one listed, in document order. */
static void
test_config_problems(void **state)
{
    struct fixture *f = *state;

    write_file("portico.json",
               "{\n"
               "  \"node\": \"gw-1\",\n"
               "  \"workers\": \"two\",\n"
               "  \"listners\": [],\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18080\", \"client_auth\": \"require\" },\n"
               "    { \"address\": \"127.0.0.1:18080\" },\n"
               "    { \"address\": \"127.0.0.1:99999\" },\n"
               "    { \"tls\": { \"certificates\": [] } }\n"
               "  ],\n"
               "  \"limits\": { \"max_headers\": 0, \"max_body_bytes\": 1.5,\n"
               "              \"underscores_in_headers\": \"off\" },\n"
               "  \"timeouts\": { \"keepalive\": 1000 }\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:4:3: listners: unknown key (expected one of: node, workers, "
                "listeners, partners_dir, consumers_dir, plans, api_keys, trusted_proxies, limits, "
                "timeouts, routes, upstreams, resolver, connectors, idempotency, admin, reload, "
                "log_format, access_log, audit, plugins)",
                "error: portico.json:3:3: workers: expected an integer, got a string",
                "error: portico.json:6:37: listeners[0].client_auth: client_auth needs \"tls\" on "
                "this listener (a plain listener cannot ask for client certificates)",
                "error: portico.json:7:7: listeners[1].address: \"127.0.0.1:18080\" is already "
                "taken by an earlier listener (\"127.0.0.1:18080\")",
                "error: portico.json:8:7: listeners[2].address: bad port \"99999\" (1 to 65535)",
                "error: portico.json:9:5: listeners[3].address: required key \"address\" is "
                "missing",
                "error: portico.json:9:16: listeners[3].tls.certificates: at least one certificate "
                "is needed",
                "error: portico.json:11:15: limits.max_headers: 0 is out of range (1 to 256)",
                "error: portico.json:11:33: limits.max_body_bytes: expected an integer, got a "
                "number",
                "error: portico.json:12:15: limits.underscores_in_headers: \"off\" is not one of "
                "drop, refuse, pass",
                "error: portico.json:13:17: timeouts.keepalive: unknown key (expected one of: "
                "client_header_ms, client_body_ms, keepalive_ms, upstream_connect_ms, "
                "upstream_response_ms, send_ms)");
    assert_int_equal(f->d.errors, 11);
}

/* log_format and access_log: the choices, the access log's path (its folder must be there, the
 * file need not), the defaults. */
static void
test_log_settings(void **state)
{
    struct fixture *f = *state;
    struct gw_config *c;

    write_file("portico.json", "{ \"listeners\": [ { \"address\": \":18080\" } ],\n"
                               "  \"log_format\": \"yaml\",\n"
                               "  \"access_log\": { \"format\": \"xml\", \"buffer\": 1 } }\n");
    c = gw_config_load("portico.json", &f->d);
    ASSERT_DIAG(&f->d,
                "error: portico.json:2:3: log_format: \"yaml\" is not one of text, json",
                "error: portico.json:3:36: access_log.buffer: unknown key (expected one of: path, "
                "format)",
                "error: portico.json:3:3: access_log.path: required key \"path\" is missing",
                "error: portico.json:3:19: access_log.format: \"xml\" is not one of text, json");
    assert_false(c->access_log.on);
    gw_config_free(c);

    mkdir("logs", 0755);
    static const struct { const char *path, *want; } paths[] = {
        { "no/such/access.log", "error: portico.json:2:19: access_log.path: no folder "
                                "no/such for \"no/such/access.log\"" },
        { "logs", "error: portico.json:2:19: access_log.path: \"logs\" is a folder, not a file" },
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char doc[256];
        gw_diag_free(&f->d);
        snprintf(doc, sizeof doc, "{ \"listeners\": [ { \"address\": \":18080\" } ],\n"
                                  "  \"access_log\": { \"path\": \"%s\" } }\n", paths[i].path);
        write_file("portico.json", doc);
        c = gw_config_load("portico.json", &f->d);
        assert_diag(&f->d, &paths[i].want, 1);
        assert_false(c->access_log.on);
        gw_config_free(c);
    }

    /* the file need not be there; both in JSON */
    gw_diag_free(&f->d);
    write_file("portico.json", "{ \"listeners\": [ { \"address\": \":18080\" } ],\n"
                               "  \"log_format\": \"json\",\n"
                               "  \"access_log\": { \"path\": \"logs/access.log\", "
                               "\"format\": \"json\" } }\n");
    c = gw_config_load("portico.json", &f->d);
    assert_int_equal(f->d.n, 0);
    assert_int_equal(c->log_format, GW_LOG_JSON);
    assert_true(c->access_log.on);
    assert_int_equal(c->access_log.format, GW_LOG_JSON);
    assert_string_equal(c->access_log.path, "logs/access.log");
    gw_config_free(c);

    /* the defaults: text lines, no access log */
    write_file("portico.json", "{ \"listeners\": [ { \"address\": \":18080\" } ] }\n");
    c = gw_config_load("portico.json", &f->d);
    assert_int_equal(f->d.n, 0);
    assert_int_equal(c->log_format, GW_LOG_TEXT);
    assert_false(c->access_log.on);
    assert_null(c->access_log.path);
    gw_config_free(c);
}

static void
test_missing_pem_and_key_mismatch(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey, *other = gen_key();
    X509 *ca = write_ca("ca.pem", "Test CA", &cakey);

    write_leaf("server.pem", "server.key", "api.example.com", ca, cakey, -DAY, 365 * DAY);
    write_key("other.key", other);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18443\",\n"
               "      \"tls\": { \"certificates\": [\n"
               "        { \"cert\": \"missing.pem\", \"key\": \"server.key\" },\n"
               "        { \"cert\": \"server.pem\", \"key\": \"other.key\", \"sni\": "
               "\"api.example.com\" } ] } }\n"
               "  ]\n"
               "}\n");
    write_file("partners.d/acme/partner.json", "{\n"
                                               "  \"id\": \"acme\",\n"
                                               "  \"name\": \"ACME\",\n"
                                               "  \"identity\": { \"ca\": \"ca.pem\" }\n"
                                               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:5:11: listeners[0].tls.certificates[0].cert: cannot read "
                "missing.pem: No such file or directory",
                "error: portico.json:6:33: listeners[0].tls.certificates[1].key: key in other.key "
                "does not match the certificate in server.pem",
                "error: partners.d/acme/partner.json:4:17: identity.ca: cannot read "
                "partners.d/acme/ca.pem: No such file or directory");

    /* a file that holds no certificate, and a key that is not a key */
    gw_diag_free(&f->d);
    write_file("partners.d/acme/ca.pem", "hello\n");
    /* a PEM frame around garbage, not a key (the marker is split so that no scan for committed
     * keys mistakes this test for one) */
    write_file("other.key", "-----BEGIN PRIV" "ATE KEY-----\nAAAA\n-----END PRIV" "ATE KEY-----\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:5:11: listeners[0].tls.certificates[0].cert: cannot read "
                "missing.pem: No such file or directory",
                "error: portico.json:6:33: listeners[0].tls.certificates[1].key: no usable "
                "private key in other.key (expected an unencrypted PEM key)",
                "error: partners.d/acme/partner.json:4:17: identity.ca: no certificate in "
                "partners.d/acme/ca.pem (expected PEM \"BEGIN CERTIFICATE\")");
    X509_free(ca);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(other);
}

static void
test_expiry(void **state)
{
    struct fixture *f = *state;
    char when_old[64], when_soon[64];
    const long soon = 10 * DAY + 3600;

    write_leaf("old.pem", "old.key", "old.example.com", NULL, NULL, -30 * DAY, -DAY);
    write_leaf("soon.pem", "soon.key", "soon.example.com", NULL, NULL, -DAY, soon);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18443\",\n"
               "      \"tls\": { \"certificates\": [\n"
               "        { \"cert\": \"old.pem\", \"key\": \"old.key\" },\n"
               "        { \"cert\": \"soon.pem\", \"key\": \"soon.key\", \"sni\": "
               "\"soon.example.com\" } ],\n"
               "        \"client_auth\": \"none\" } }\n"
               "  ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    char want0[512], want1[512];
    snprintf(want0, sizeof want0,
             "error: portico.json:5:11: listeners[0].tls.certificates[0].cert: certificate "
             "\"CN=old.example.com\" in old.pem expired on %s",
             utc(-DAY, when_old, sizeof when_old));
    snprintf(want1, sizeof want1,
             "warning: portico.json:6:11: listeners[0].tls.certificates[1].cert: certificate "
             "\"CN=soon.example.com\" in soon.pem expires in 10 days (%s)",
             utc(soon, when_soon, sizeof when_soon));
    const char *want[] = { want0, want1 };
    assert_diag(&f->d, want, 2);

    /* a warning alone does not refuse the config */
    gw_diag_free(&f->d);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18443\",\n"
               "      \"tls\": { \"certificates\": [ { \"cert\": \"soon.pem\", \"key\": "
               "\"soon.key\" } ],\n"
               "               \"client_auth\": \"none\" } } ]\n"
               "}\n");
    struct pt_snapshot *s = gw_snapshot_load("portico.json", &f->d);
    assert_non_null(s);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 1);
    assert_non_null(s->config->listeners[0].ssl_ctx);
    assert_non_null(s->config->listeners[0].ssl_ctx[0]);
    pt_snapshot_unref(s);
}

/* A kafka:// route needs brokers (connectors.kafka, or the audit's), and its "kafka" object is
 * checked: the acknowledgement, the key, the fields; its timeout is the connector's. */
static void
test_kafka_route_problems(void **state)
{
    struct fixture *f = *state;

    write_file("portico.json",
               "{\n"
               "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ],\n"
               "  \"routes\": [ { \"name\": \"events\", \"path\": \"/events/*\", \"public\": true,\n"
               "                \"upstream\": \"kafka://events\" } ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:3:15: routes[0].upstream: \"kafka://events\": no brokers to "
                "produce to (say them in connectors.kafka, or turn the audit on: its brokers serve)");
    gw_diag_free(&f->d);
    memset(&f->d, 0, sizeof f->d);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ],\n"
               "  \"connectors\": { \"kafka\": { \"brokers\": \"127.0.0.1:9092\", \"timeout_ms\": 5,\n"
               "    \"outbox\": { \"ring_bytes\": 5000000, \"fsync_ms\": -1, \"folder\": \"x\" } } },\n"
               "  \"routes\": [ { \"name\": \"a\", \"path\": \"/a\", \"public\": true, \"timeout_ms\": 9,\n"
               "                \"upstream\": \"kafka://a\", \"kafka\": { \"ack\": \"later\" } },\n"
               "              { \"name\": \"b\", \"path\": \"/b\", \"public\": true,\n"
               "                \"upstream\": \"kafka://b\", \"kafka\": { \"key\": \"body\",\n"
               "                \"fields\": [\"X-Ok\", \"bad field\"], \"acks\": 1 } } ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:3:59: connectors.kafka.timeout_ms: 5 is out of range (100 to "
                "300000)",
                "error: portico.json:4:56: connectors.kafka.outbox.folder: unknown key (expected "
                "one of: dir, ring_dir, ring_bytes, max_bytes, fsync_ms)",
                "error: portico.json:4:40: connectors.kafka.outbox.fsync_ms: -1 is out of range (0 "
                "to 3600000)",
                "error: portico.json:4:17: connectors.kafka.outbox.ring_bytes: 5000000 is not a "
                "multiple of 4096 (the page size)",
                "error: portico.json:6:53: routes[0].kafka.ack: \"later\" is not an acknowledgement "
                "(\"kafka\": 202 once Kafka has the message; \"local\": once the node's outbox has "
                "it)",
                "error: portico.json:5:60: routes[0].timeout_ms: a kafka:// route waits "
                "connectors.kafka.timeout_ms for Kafka (the producer's delivery timeout, one per "
                "topic)",
                "error: portico.json:9:50: routes[1].kafka.acks: unknown key (expected one of: "
                "ack, key, fields)",
                "error: portico.json:8:53: routes[1].kafka.key: expected \"partner\", \"none\", "
                "\"field:NAME\" or \"pointer:/json/pointer\", got \"body\"",
                "error: portico.json:9:36: routes[1].kafka.fields[1]: \"bad field\" is not a field "
                "name");
}

/* Routes with "delivery": "async": the word, the upstream (http or a set), the "async" options,
 * Kafka brokers for the dead letters; connectors.delivery's keys; a route's "idempotency" and the
 * "idempotency" section. */
static void
test_delivery_route_problems(void **state)
{
    struct fixture *f = *state;

    write_file("portico.json",
               "{\n"
               "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ],\n"
               "  \"routes\": [ { \"name\": \"a\", \"path\": \"/a\", \"public\": true,\n"
               "                \"upstream\": \"http://127.0.0.1:9\", \"delivery\": \"async\" } ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:3:15: routes[0].delivery: asynchronous delivery needs Kafka "
                "brokers for its dead letters (say them in connectors.kafka, or turn the audit on: "
                "its brokers serve)");
    gw_diag_free(&f->d);
    memset(&f->d, 0, sizeof f->d);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ],\n"
               "  \"connectors\": { \"kafka\": { \"brokers\": \"127.0.0.1:9092\" },\n"
               "    \"delivery\": { \"max_in_flight\": 0, \"log\": { \"ring_bytes\": 4096 } } },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"a\", \"path\": \"/a\", \"public\": true, \"upstream\": \"http://127.0.0.1:9\",\n"
               "      \"delivery\": \"later\" },\n"
               "    { \"name\": \"b\", \"path\": \"/b\", \"public\": true, \"upstream\": \"kafka://b\",\n"
               "      \"delivery\": \"async\" },\n"
               "    { \"name\": \"c\", \"path\": \"/c\", \"public\": true, \"upstream\": \"http://127.0.0.1:9\",\n"
               "      \"async\": { \"attempts\": 3 } },\n"
               "    { \"name\": \"d\", \"path\": \"/d\", \"public\": true, \"upstream\": \"http://127.0.0.1:9\",\n"
               "      \"delivery\": \"async\", \"async\": { \"attempts\": 0, \"order\": \"fifo\",\n"
               "      \"dead_letter\": \"no such topic\", \"retry\": 1 } },\n"
               "    { \"name\": \"e\", \"path\": \"/e\", \"public\": true, \"upstream\": \"http://127.0.0.1:9\",\n"
               "      \"idempotency\": { \"key\": \"header:X\", \"window_ms\": 5, \"wait\": 1 } } ],\n"
               "  \"idempotency\": { \"max_entries\": 0 }\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:4:19: connectors.delivery.max_in_flight: 0 is out of range "
                "(1 to 10000)",
                "error: portico.json:4:48: connectors.delivery.log.ring_bytes: 4096 is out of "
                "range (4194304 to 4294967296)",
                "error: portico.json:17:20: idempotency.max_entries: 0 is out of range (1 to "
                "100000000)",
                "error: portico.json:7:7: routes[0].delivery: expected \"async\" "
                "(store-and-forward to the upstream)",
                "error: portico.json:9:7: routes[1].delivery: \"async\" delivery is to an "
                "http(s) upstream or a set of them",
                "error: portico.json:11:7: routes[2].async: \"async\" needs \"delivery\": "
                "\"async\"",
                "error: portico.json:14:39: routes[3].async.retry: unknown key (expected one of: "
                "attempts, max_age_ms, backoff_ms, max_backoff_ms, order, dead_letter)",
                "error: portico.json:13:39: routes[3].async.attempts: 0 is out of range (1 to "
                "1000)",
                "error: portico.json:13:54: routes[3].async.order: \"fifo\" is not one of none, "
                "partner",
                "error: portico.json:14:7: routes[3].async.dead_letter: \"no such topic\" is not "
                "a Kafka topic (1 to 249 of A-Z a-z 0-9 . _ -)",
                "error: portico.json:16:59: routes[4].idempotency.wait: unknown key (expected "
                "one of: key, window_ms, wait_ms, max_answer_bytes)",
                "error: portico.json:16:43: routes[4].idempotency.window_ms: 5 is out of range "
                "(1000 to 2592000000)",
                "error: portico.json:16:24: routes[4].idempotency.key: expected \"field:NAME\" or "
                "\"pointer:/json/pointer\", got \"header:X\"");
}

/* Certificates of a TLS listener: one default at most, one certificate per server name, valid
 * names; client_auth values and place. */
static void
test_listener_tls_rules(void **state)
{
    struct fixture *f = *state;

    write_leaf("a.pem", "a.key", "a.example.com", NULL, NULL, -DAY, 365 * DAY);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18443\",\n"
               "      \"tls\": { \"certificates\": [\n"
               "        { \"cert\": \"a.pem\", \"key\": \"a.key\" },\n"
               "        { \"cert\": \"a.pem\", \"key\": \"a.key\" },\n"
               "        { \"cert\": \"a.pem\", \"key\": \"a.key\", \"sni\": \"x.example.com\" },\n"
               "        { \"cert\": \"a.pem\", \"key\": \"a.key\", \"sni\": \"X.example.com\" },\n"
               "        { \"cert\": \"a.pem\", \"key\": \"a.key\", \"sni\": \"bad name\" } ],\n"
               "        \"client_auth\": \"sometimes\" },\n"
               "      \"client_auth\": \"none\" }\n"
               "  ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:11:7: listeners[0].client_auth: client_auth belongs inside "
                "\"tls\"",
                "error: portico.json:9:44: listeners[0].tls.certificates[4].sni: \"bad name\" is "
                "not a host name (name or *.domain)",
                "error: portico.json:6:9: listeners[0].tls.certificates[1]: a second certificate "
                "without \"sni\": only one may be the default (listeners[0].tls.certificates[0])",
                "error: portico.json:8:44: listeners[0].tls.certificates[3].sni: \"X.example.com\" "
                "already has a certificate (listeners[0].tls.certificates[2])",
                "error: portico.json:10:9: listeners[0].tls.client_auth: \"sometimes\" is not one "
                "of none, optional, require");
}

/* ---- bundles -------------------------------------------------------------------------------- */

static void
test_bundle_problems(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);

    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json",
               "{\n"
               "  \"id\": \"acme\",\n"
               "  \"name\": \"ACME\",\n"
               "  \"identity\": {\n"
               "    \"ca\": \"ca.pem\",\n"
               "    \"fingerprints\": [\"zz\"]\n"
               "  },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"orders\",\n"
               "      \"methods\": [\"GET\", \"FETCH\"],\n"
               "      \"path\": \"/acme/orders\",\n"
               "      \"upstream\": \"htp://x\" },\n"
               "    { \"name\": \"stock\",\n"
               "      \"path\": \"/acme/stock\",\n"
               "      \"upstream\": \"http://127.0.0.1:9000\",\n"
               "      \"timeout_ms\": \"5s\",\n"
               "      \"retry\": 3 },\n"
               "    { \"name\": \"bad\",\n"
               "      \"upstream\": \"http://user@127.0.0.1:9000/\" }\n"
               "  ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: partners.d/acme/partner.json:6:22: identity.fingerprints[0]: \"zz\" is "
                "not a SHA-256 fingerprint (64 hex digits, colons between pairs allowed)",
                "error: partners.d/acme/partner.json:10:26: routes[0].methods[1]: \"FETCH\" is "
                "not a method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE)",
                "error: partners.d/acme/partner.json:12:7: routes[0].upstream: \"htp://x\" is not "
                "a URL (http, https, kafka, mock or deliveries:)",
                "error: partners.d/acme/partner.json:17:7: routes[1].retry: unknown key "
                "(expected one of: name, methods, host, path, upstream, mock, kafka, delivery, "
                "async, idempotency, timeout_ms, retries, request, response, audit, limits)",
                "error: partners.d/acme/partner.json:16:7: routes[1].timeout_ms: expected an "
                "integer, got a string",
                "error: partners.d/acme/partner.json:18:5: routes[2].path: required key \"path\" "
                "is missing",
                "error: partners.d/acme/partner.json:19:7: routes[2].upstream: "
                "\"http://user@127.0.0.1:9000/\" must not carry user info (user@)");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static const char *const acme_minimal = "{\n"
                                        "  \"id\": \"acme\",\n"
                                        "  \"name\": \"ACME\",\n"
                                        "  \"identity\": { \"ca\": \"ca.pem\" }\n"
                                        "}\n";

static void
test_duplicate_partner_id(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);
    EVP_PKEY *k2;
    X509 *ca2 = write_ca("partners.d/acme2/ca.pem", "ACME CA 2", &k2);

    X509_free(ca2);
    EVP_PKEY_free(k2);
    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json", acme_minimal);
    write_file("partners.d/acme2/partner.json", "{\n"
                                                "  \"id\": \"acme\",\n"
                                                "  \"name\": \"ACME again\",\n"
                                                "  \"identity\": { \"ca\": \"ca.pem\" }\n"
                                                "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: partners.d/acme2/partner.json:2:3: id: \"acme\" does not match its folder "
                "name \"acme2\"",
                "error: partners.d/acme2/partner.json:2:3: id: partner id \"acme\" is already used "
                "by partners.d/acme/partner.json");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static void
test_id_and_folder(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/globex/ca.pem", "Globex CA", &cakey);

    write_file("portico.json", plain_config);
    write_file("partners.d/globex/partner.json", "{\n"
                                                 "  \"id\": \"globex-corp\",\n"
                                                 "  \"name\": \"Globex\",\n"
                                                 "  \"identity\": { \"ca\": \"ca.pem\" }\n"
                                                 "}\n");
    write_cert("partners.d/initech/ca.pem", ca);
    write_file("partners.d/initech/partner.json", "{\n"
                                                  "  \"id\": \"Initech\",\n"
                                                  "  \"identity\": [],\n"
                                                  "  \"limits\": { \"max_body_bytes\": "
                                                  "99999999999 }\n"
                                                  "}\n");
    mkdir("partners.d/empty", 0755);
    mkdir("partners.d/.git", 0755); /* dot-folders are not bundles */
    write_file("partners.d/README.md", "not a bundle\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: partners.d/empty: bundle folder without partner.json",
                "error: partners.d/globex/partner.json:2:3: id: \"globex-corp\" does not match its "
                "folder name \"globex\"",
                "error: partners.d/initech/partner.json:1:1: name: required key \"name\" is "
                "missing",
                "error: partners.d/initech/partner.json:2:3: id: \"Initech\" is not a partner id "
                "(1 to 64 of a-z 0-9 . _ -, starting with a letter or digit)",
                "error: partners.d/initech/partner.json:3:3: identity: expected an object, got an "
                "array",
                "error: partners.d/initech/partner.json:4:15: limits.max_body_bytes: 99999999999 "
                "is above the gateway's max_body_bytes (10485760): a partner may only lower it");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static void
test_identity_checks(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey, *leafkey = gen_key();
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);
    X509 *leaf = make_cert("not-a-ca", leafkey, ca, cakey, 0, -DAY, 365 * DAY);

    write_cert("partners.d/acme/leaf.pem", leaf);
    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json",
               "{\n"
               "  \"id\": \"acme\",\n"
               "  \"name\": \"ACME\",\n"
               "  \"identity\": { \"ca\": [\"ca.pem\", \"leaf.pem\"], \"subject\": \"acme\",\n"
               "                \"san\": [\"client.acme.example\", \"\"] },\n"
               "  \"outbound\": { \"cert\": \"leaf.pem\" },\n"
               "  \"routes\": [ { \"name\": \"r\", \"path\": \"/r\", \"upstream\": \"mock:\" } ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: partners.d/acme/partner.json:4:34: identity.ca[1]: certificate "
                "\"CN=not-a-ca\" in partners.d/acme/leaf.pem is not a CA (basicConstraints "
                "CA:TRUE is missing)",
                "error: partners.d/acme/partner.json:5:48: identity.san[1]: must not be empty",
                "error: partners.d/acme/partner.json:4:47: identity.subject: \"acme\" is not a "
                "distinguished name (RFC 2253, e.g. \"CN=client,O=Example\")",
                "error: partners.d/acme/partner.json:6:3: outbound.key: \"cert\" and \"key\" go "
                "together: both or neither",
                "warning: partners.d/acme/partner.json:6:3: outbound: no https route of this "
                "partner uses it");
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(leafkey);
}

static void
write_crl(const char *path, X509 *issuer, EVP_PKEY *key, long from, long to)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();

    assert_non_null(crl);
    assert_non_null(t);
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    assert_non_null(X509_time_adj_ex(t, 0, from, &t0));
    X509_CRL_set1_lastUpdate(crl, t);
    assert_non_null(X509_time_adj_ex(t, 0, to, &t0));
    X509_CRL_set1_nextUpdate(crl, t);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    write_file(path, "");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509_CRL(fp, crl), 1);
    fclose(fp);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
}

/* CRLs: not a CRL (error), signed by a stranger, out of date (warnings); an outbound key that is
 * not the certificate's. */
static void
test_crl_and_outbound(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey, *okey, *wrong = gen_key();
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);
    X509 *other = write_ca("other-ca.pem", "Other CA", &okey);
    char when[64], want2[512];

    write_crl("partners.d/acme/crl.pem", other, okey, -DAY, 30 * DAY);
    write_file("partners.d/acme/junk.pem", "junk\n");
    write_crl("partners.d/acme/good.pem", ca, cakey, -3 * DAY, -2 * DAY);
    write_leaf("partners.d/acme/out.pem", "partners.d/acme/out.key", "gw", NULL, NULL, -DAY,
               365 * DAY);
    write_key("partners.d/acme/wrong.key", wrong);
    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json",
               "{\n"
               "  \"id\": \"acme\",\n"
               "  \"name\": \"ACME\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\", \"crl\": [\"crl.pem\", \"junk.pem\", "
               "\"good.pem\"] },\n"
               "  \"outbound\": { \"cert\": \"out.pem\", \"key\": \"wrong.key\" },\n"
               "  \"routes\": [ { \"name\": \"r\", \"path\": \"/r\", \"upstream\": "
               "\"https://127.0.0.1:9443\" } ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    snprintf(want2, sizeof want2,
             "warning: partners.d/acme/partner.json:4:64: identity.crl[2]: CRL in "
             "partners.d/acme/good.pem expired on %s: client certificates of its CA fail "
             "verification until it is renewed", utc(-2 * DAY, when, sizeof when));
    const char *want[] = {
        "warning: partners.d/acme/partner.json:4:41: identity.crl[0]: CRL in "
        "partners.d/acme/crl.pem, issued by \"CN=Other CA\", is not signed by any of this "
        "partner's CAs",
        "error: partners.d/acme/partner.json:4:52: identity.crl[1]: no CRL in "
        "partners.d/acme/junk.pem (expected PEM \"BEGIN X509 CRL\")",
        want2,
        "error: partners.d/acme/partner.json:5:36: outbound.key: key in "
        "partners.d/acme/wrong.key does not match the certificate in partners.d/acme/out.pem",
    };
    assert_diag(&f->d, want, sizeof want / sizeof want[0]);

    /* fixed: the CRLs are loaded for the trust store, the outbound context is built */
    gw_diag_free(&f->d);
    write_crl("partners.d/acme/crl.pem", ca, cakey, -DAY, 30 * DAY);
    write_file("partners.d/acme/partner.json",
               "{ \"id\": \"acme\", \"name\": \"ACME\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\", \"crl\": \"crl.pem\" },\n"
               "  \"outbound\": { \"cert\": \"out.pem\", \"key\": \"out.key\" },\n"
               "  \"routes\": [ { \"name\": \"r\", \"path\": \"/r\", \"upstream\": "
               "\"https://127.0.0.1:9443\" } ] }\n");
    struct pt_snapshot *s = gw_snapshot_load("portico.json", &f->d);
    if (f->d.n > 0)
        gw_diag_print(&f->d, stderr);
    assert_int_equal(f->d.n, 0);
    assert_non_null(s);
    assert_int_equal(sk_X509_CRL_num(s->partners[0]->crls), 1);
    assert_non_null(s->partners[0]->outbound_ctx);
    assert_ptr_equal(s->routes[0]->upstream.ssl_ctx, s->partners[0]->outbound_ctx);
    pt_snapshot_unref(s);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(okey);
    EVP_PKEY_free(wrong);
}

/* One CA anchoring two partners: fine when both narrow it down, a warning when one does not. */
static void
test_shared_ca(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/acme/ca.pem", "Shared CA", &cakey);

    write_cert("partners.d/globex/ca.pem", ca);
    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json",
               "{ \"id\": \"acme\", \"name\": \"ACME\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\", \"subject\": \"CN=acme\" } }\n");
    write_file("partners.d/globex/partner.json",
               "{ \"id\": \"globex\", \"name\": \"Globex\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\", \"san\": [\"globex.example\"] } }\n");
    struct pt_snapshot *s = gw_snapshot_load("portico.json", &f->d);
    if (f->d.n > 0)
        gw_diag_print(&f->d, stderr);
    assert_int_equal(f->d.n, 0);
    assert_non_null(s);
    pt_snapshot_unref(s);

    write_cert("partners.d/initech/ca.pem", ca);
    write_file("partners.d/initech/partner.json",
               "{ \"id\": \"initech\", \"name\": \"Initech\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\" } }\n");
    s = gw_snapshot_load("portico.json", &f->d);
    assert_non_null(s);
    ASSERT_DIAG(&f->d,
                "warning: partners.d/initech/partner.json:2:17: identity.ca: CA \"CN=Shared CA\" "
                "also anchors partner acme (partners.d/acme/partner.json) and one of the two has "
                "no subject, san or fingerprints: their clients cannot be told apart",
                "warning: partners.d/initech/partner.json:2:17: identity.ca: CA \"CN=Shared CA\" "
                "also anchors partner globex (partners.d/globex/partner.json) and one of the two "
                "has no subject, san or fingerprints: their clients cannot be told apart");
    pt_snapshot_unref(s);
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

/* Two bundles declaring the same host, path and method: the later one is reported, naming the
 * earlier. */
static void
test_route_conflict(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);
    EVP_PKEY *k2;
    X509 *ca2 = write_ca("partners.d/globex/ca.pem", "Globex CA", &k2);

    X509_free(ca2);
    EVP_PKEY_free(k2);
    write_file("portico.json", plain_config);
    write_file("partners.d/acme/partner.json",
               "{\n"
               "  \"id\": \"acme\",\n"
               "  \"name\": \"ACME\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\" },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"orders\", \"methods\": [\"GET\"], \"path\": \"/orders\", "
               "\"upstream\": \"mock:acme\" }\n"
               "  ]\n"
               "}\n");
    write_file("partners.d/globex/partner.json",
               "{\n"
               "  \"id\": \"globex\",\n"
               "  \"name\": \"Globex\",\n"
               "  \"identity\": { \"ca\": \"ca.pem\" },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"list\", \"methods\": [\"GET\", \"POST\"], \"path\": \"/orders\", "
               "\"upstream\": \"mock:globex\" }\n"
               "  ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: partners.d/globex/partner.json:6:5: routes[0]: route \"list\" conflicts with route "
                "\"orders\" of partner acme (partners.d/acme/partner.json:6:5): same host, path "
                "\"/orders\" and method GET");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

static void
test_shared_routes(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *cakey;
    X509 *ca = write_ca("partners.d/acme/ca.pem", "ACME CA", &cakey);

    write_file("partners.d/acme/partner.json", acme_minimal);
    write_file("portico.json",
               "{\n"
               "  \"listeners\": [ { \"address\": \"127.0.0.1:18080\" } ],\n"
               "  \"routes\": [\n"
               "    { \"name\": \"a\", \"path\": \"/a\", \"upstream\": \"mock:a\", \"partners\": "
               "[\"acme\", \"nobody\"] },\n"
               "    { \"name\": \"b\", \"path\": \"/b\", \"upstream\": \"mock:b\" },\n"
               "    { \"name\": \"c\", \"path\": \"/c\", \"upstream\": \"mock:c\", \"partners\": "
               "\"*\", \"public\": true },\n"
               "    { \"name\": \"a\", \"path\": \"/d\", \"upstream\": \"mock:d\", "
               "\"public\": true }\n"
               "  ]\n"
               "}\n");
    assert_null(gw_snapshot_load("portico.json", &f->d));
    ASSERT_DIAG(&f->d,
                "error: portico.json:4:77: routes[0].partners[1]: no partner \"nobody\" (no "
                "bundle with this id in partners.d)",
                "error: portico.json:5:5: routes[1]: a shared route needs \"partners\" (a list of "
                "ids, or \"*\") or \"public\": true, or \"auth\": \"key\"",
                "error: portico.json:6:56: routes[2].partners: a route is either public or for "
                "partners, not both",
                "error: portico.json:7:7: routes[3].name: \"a\" is already the name of another "
                "route (line 4)");
    X509_free(ca);
    EVP_PKEY_free(cakey);
}

/* ---- a valid config ------------------------------------------------------------------------- */

static void
write_valid_tree(void)
{
    EVP_PKEY *cakey, *akey, *gkey;
    X509 *ca = write_ca("ca.pem", "Gateway CA", &cakey);
    X509 *aca = write_ca("partners.d/acme/acme-ca.pem", "ACME CA", &akey);
    X509 *gca = write_ca("partners.d/globex/ca.pem", "Globex CA", &gkey);

    /* server.pem: the leaf, then the intermediate that issued it */
    EVP_PKEY *ikey = gen_key(), *skey = gen_key();
    X509 *inter = make_cert("Gateway Intermediate", ikey, ca, cakey, 1, -DAY, 365 * DAY);
    X509 *srv = make_cert("gateway.example.com", skey, inter, ikey, 0, -DAY, 365 * DAY);
    FILE *fp = fopen("server.pem", "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, srv), 1);
    assert_int_equal(PEM_write_X509(fp, inter), 1);
    fclose(fp);
    write_key("server.key", skey);
    X509_free(inter);
    X509_free(srv);
    EVP_PKEY_free(ikey);
    EVP_PKEY_free(skey);
    write_leaf("api.pem", "api.key", "api.example.com", ca, cakey, -DAY, 365 * DAY);
    write_leaf("partners.d/acme/out.pem", "partners.d/acme/out.key", "gw-client", ca, cakey, -DAY,
               365 * DAY);
    write_cert("partners.d/acme/server-ca.pem", ca);
    write_file("portico.json",
               "{\n"
               "  \"node\": \"gw-test\",\n"
               "  \"workers\": 2,\n"
               "  \"listeners\": [\n"
               "    { \"address\": \"127.0.0.1:18443\",\n"
               "      \"tls\": { \"certificates\": [\n"
               "          { \"cert\": \"api.pem\", \"key\": \"api.key\", \"sni\": "
               "\"API.example.com\" },\n"
               "          { \"cert\": \"server.pem\", \"key\": \"server.key\" } ],\n"
               "        \"client_auth\": \"optional\" } },\n"
               "    { \"address\": \"[::1]:18080\" }\n"
               "  ],\n"
               "  \"trusted_proxies\": [\"127.0.0.1/32\", \"10.0.0.0/8\", \"::1\"],\n"
               "  \"limits\": { \"max_body_bytes\": 1048576 },\n"
               "  \"timeouts\": { \"upstream_connect_ms\": 2000 },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"health\", \"path\": \"/health\", \"upstream\": \"mock:ok\", "
               "\"public\": true },\n"
               "    { \"name\": \"events\", \"methods\": [\"POST\"], \"path\": \"/events/*\",\n"
               "      \"upstream\": \"mock:events\", \"partners\": [\"acme\", \"globex\"] }\n"
               "  ],\n"
               "  \"audit\": { \"brokers\": \"embedded\" },\n"
               "  \"plugins\": []\n"
               "}\n");
    write_file("partners.d/acme/partner.json",
               "{\n"
               "  \"id\": \"acme\",\n"
               "  \"name\": \"ACME Bank\",\n"
               "  \"identity\": {\n"
               "    \"ca\": \"acme-ca.pem\",\n"
               "    \"subject\": \"CN=acme-client,O=ACME Bank\",\n"
               "    \"san\": [\"client.acme.example\", \"spiffe://acme/payments\"],\n"
               "    \"fingerprints\": [\"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
               "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\",\n"
               "                     \"00112233445566778899aabbccddeeff00112233445566778899aabbcc"
               "ddeeff\"] },\n"
               "  \"outbound\": { \"cert\": \"out.pem\", \"key\": \"out.key\", \"ca\": "
               "\"server-ca.pem\" },\n"
               "  \"limits\": { \"max_body_bytes\": 65536 },\n"
               "  \"routes\": [\n"
               "    { \"name\": \"orders\", \"methods\": [\"GET\", \"POST\"], \"host\": "
               "\"API.example.com\",\n"
               "      \"path\": \"/acme/orders\", \"upstream\": \"http://127.0.0.1:9000\",\n"
               "      \"timeout_ms\": 5000, \"request\": [], \"response\": [], \"audit\": {} },\n"
               "    { \"name\": \"pay\", \"path\": \"/acme/pay/*\", \"upstream\": "
               "\"https://[::1]:9443/v1\" }\n"
               "  ]\n"
               "}\n");
    write_file("partners.d/globex/partner.json",
               "{ \"id\": \"globex\", \"name\": \"Globex\", \"identity\": { \"ca\": \"ca.pem\" },\n"
               "  \"routes\": [ { \"name\": \"x\", \"path\": \"/globex\", \"upstream\": "
               "\"https://127.0.0.1/\" } ] }\n");
    write_file("partners.d/README.md", "bundles live here\n");
    mkdir("partners.d/.hidden", 0755);
    X509_free(ca);
    X509_free(aca);
    X509_free(gca);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(akey);
    EVP_PKEY_free(gkey);
}

static void
test_valid_config(void **state)
{
    struct fixture *f = *state;

    write_valid_tree();
    struct pt_snapshot *s = gw_snapshot_load("portico.json", &f->d);
    if (f->d.n > 0)
        gw_diag_print(&f->d, stderr);
    assert_int_equal(f->d.n, 0);
    assert_non_null(s);

    const struct gw_config *c = s->config;
    assert_string_equal(c->node, "gw-test");
    assert_int_equal(c->workers, 2);
    assert_string_equal(c->partners_dir, "partners.d");
    assert_int_equal(c->limits.max_body_bytes, 1048576);
    assert_int_equal(c->limits.max_headers, 100);
    assert_int_equal(c->timeouts.upstream_connect_ms, 2000);
    assert_int_equal(c->timeouts.keepalive_ms, 60000);
    assert_non_null(c->audit);
    assert_true(json_is_array(c->plugins));

    assert_int_equal(c->nlisteners, 2);
    const struct gw_listener_conf *l = &c->listeners[0];
    assert_true(l->tls);
    assert_int_equal(l->client_auth, GW_CLIENT_AUTH_OPTIONAL);
    assert_int_equal(l->ncerts, 2);
    assert_null(l->certs[0].sni); /* the default certificate comes first */
    assert_string_equal(l->certs[0].cert_file, "server.pem");
    assert_int_equal(sk_X509_num(l->certs[0].chain), 1);
    assert_int_equal(sk_X509_num(l->certs[1].chain), 0);
    char subj[256];
    gw_x509_subject(l->certs[0].cert, subj, sizeof subj);
    assert_string_equal(subj, "CN=gateway.example.com");
    gw_x509_subject(sk_X509_value(l->certs[0].chain, 0), subj, sizeof subj);
    assert_string_equal(subj, "CN=Gateway Intermediate");
    assert_string_equal(l->certs[1].sni, "api.example.com");
    assert_non_null(l->ssl_ctx);
    assert_non_null(l->ssl_ctx[0]);
    assert_non_null(l->ssl_ctx[1]);
    assert_int_equal(l->line, 5);
    assert_int_equal(l->col, 5);
    assert_false(c->listeners[1].tls);
    assert_int_equal(c->listeners[1].addr.ss_family, AF_INET6);

    assert_int_equal(s->npartners, 2);
    const struct pt_partner *acme = pt_snapshot_partner(s, "acme");
    const struct pt_partner *globex = pt_snapshot_partner(s, "globex");
    assert_ptr_equal(acme, s->partners[0]);
    assert_ptr_equal(globex, s->partners[1]);
    assert_null(pt_snapshot_partner(s, "initech"));
    assert_string_equal(acme->name, "ACME Bank");
    assert_string_equal(acme->file, "partners.d/acme/partner.json");
    assert_int_equal(sk_X509_num(acme->cas), 1);
    assert_string_equal(acme->subject, "CN=acme-client,O=ACME Bank");
    assert_int_equal(acme->nsan, 2);
    assert_int_equal(acme->nfingerprints, 2);
    assert_int_equal(acme->fingerprints[0][0], 0xab);
    assert_int_equal(acme->fingerprints[1][31], 0xff);
    assert_int_equal(acme->max_body_bytes, 65536);
    assert_non_null(acme->outbound_ctx);
    assert_null(globex->outbound_ctx);
    unsigned char fp[32];
    unsigned fplen = 0;
    assert_int_equal(X509_digest(sk_X509_value(acme->cas, 0), EVP_sha256(), fp, &fplen), 1);
    assert_memory_equal(acme->ca_fps[0], fp, 32);
    assert_memory_not_equal(acme->ca_fps[0], globex->ca_fps[0], 32);

    /* shared routes first, then the bundles' in folder order */
    assert_int_equal(s->nroutes, 5);
    assert_non_null(s->router);
    assert_string_equal(s->routes[0]->name, "health");
    assert_int_equal(s->routes[0]->access, PT_ACCESS_PUBLIC);
    assert_int_equal(s->routes[0]->upstream.kind, PT_UP_MOCK);
    assert_string_equal(s->routes[0]->upstream.target, "ok");
    assert_int_equal(s->routes[1]->access, PT_ACCESS_LIST);
    assert_int_equal(s->routes[1]->npartners, 2);
    assert_int_equal(s->routes[1]->match, PT_PATH_PREFIX);
    assert_string_equal(s->routes[1]->path, "/events/");
    assert_string_equal(s->routes[1]->upstream.target, "events");
    const struct pt_route *orders = s->routes[2], *pay = s->routes[3], *x = s->routes[4];
    assert_string_equal(orders->name, "orders");
    assert_ptr_equal(orders->owner, acme);
    assert_int_equal(orders->access, PT_ACCESS_OWNER);
    assert_int_equal(orders->methods, GW_METHOD_BIT(GW_METHOD_GET) | GW_METHOD_BIT(GW_METHOD_POST));
    assert_string_equal(orders->host, "api.example.com");
    assert_int_equal(orders->match, PT_PATH_EXACT);
    assert_int_equal(orders->timeout_ms, 5000);
    assert_string_equal(orders->upstream.hostport, "127.0.0.1:9000");
    assert_string_equal(orders->upstream.path, "");
    assert_null(orders->upstream.ssl_ctx);
    assert_null(orders->request); /* an empty chain is no chain: nothing to run */
    assert_string_equal(orders->file, "partners.d/acme/partner.json");
    assert_int_equal(orders->line, 13);
    assert_int_equal(orders->col, 5);
    /* https: the owner's outbound identity, else the default upstream context */
    assert_ptr_equal(pay->upstream.ssl_ctx, acme->outbound_ctx);
    assert_string_equal(pay->upstream.host, "::1");
    assert_string_equal(pay->upstream.hostport, "[::1]:9443");
    assert_string_equal(pay->upstream.path, "/v1");
    assert_ptr_equal(x->upstream.ssl_ctx, s->upstream_ctx);
    assert_string_equal(x->upstream.hostport, "127.0.0.1");
    assert_string_equal(x->upstream.path, "/");

    assert_int_equal(strlen(s->version), 16);
    assert_int_equal(strspn(s->version, "0123456789abcdef"), 16);
    assert_non_null(s->trust);

    /* references: the snapshot lives until the last one goes */
    assert_ptr_equal(pt_snapshot_ref(s), s);
    pt_snapshot_unref(s);
    assert_int_equal(atomic_load(&s->refs), 1);

    /* the same files give the same version; a changed byte in any file a new one */
    char v1[17];
    memcpy(v1, s->version, sizeof v1);
    pt_snapshot_unref(s);
    s = gw_snapshot_load("portico.json", &f->d);
    assert_non_null(s);
    assert_string_equal(s->version, v1);
    pt_snapshot_unref(s);
    write_valid_tree(); /* new keys and certificates */
    s = gw_snapshot_load("portico.json", &f->d);
    assert_non_null(s);
    assert_string_not_equal(s->version, v1);
    pt_snapshot_unref(s);
    assert_int_equal(f->d.n, 0);
}

/* ---- parsers -------------------------------------------------------------------------------- */

static void
test_parse_address(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];

    assert_int_equal(gw_parse_address("127.0.0.1:8443", &ss, &len, err, sizeof err), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
    assert_int_equal(gw_parse_address("[::1]:8443", &ss, &len, err, sizeof err), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(gw_parse_address(":8080", &ss, &len, err, sizeof err), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));

    static const struct { const char *in, *err; } bad[] = {
        { "127.0.0.1", "\"127.0.0.1\" is not an address (host:port, [v6]:port or :port)" },
        { "127.0.0.1:0", "bad port \"0\" (1 to 65535)" },
        { "127.0.0.1:80x", "bad port \"80x\" (1 to 65535)" },
        { "127.0.0.1:", "missing port" },
        { "[::1]8443", "\"[::1]8443\" is not an address ([v6]:port expected)" },
        { "::1:8443", "\"::1:8443\" is not an address (host:port, [v6]:port or :port)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gw_parse_address(bad[i].in, &ss, &len, err, sizeof err), -1);
        assert_string_equal(err, bad[i].err);
    }
    assert_int_equal(gw_parse_address("[fe80::zz]:80", &ss, &len, err, sizeof err), -1);
}

static void
test_trusted_proxies(void **state)
{
    struct fixture *f = *state;

    write_file("portico.json",
               "{ \"listeners\": [ { \"address\": \":18080\" } ],\n"
               "  \"trusted_proxies\": [\"127.0.0.1/32\", \"10.0.0.0/8\", \"::1\", "
               "\"10.1.2.3/33\", "
               "\"192.168.1.1/24\"] }\n");
    struct gw_config *c = gw_config_load("portico.json", &f->d);
    assert_non_null(c);
    ASSERT_DIAG(&f->d,
                "error: portico.json:2:60: trusted_proxies[3]: \"10.1.2.3/33\" is not an address "
                "or CIDR block (\"10.0.0.0/8\", \"::1\")",
                "warning: portico.json:2:75: trusted_proxies[4]: \"192.168.1.1/24\" has bits set "
                "past its /24 prefix; they are ignored");

    static const struct { const char *addr; int want; } cases[] = {
        { "127.0.0.1", 1 }, { "127.0.0.2", 0 },       { "10.200.3.4", 1 },
        { "11.0.0.1", 0 },  { "::1", 1 },             { "::2", 0 },
        { "::ffff:10.9.9.9", 1 }, { "::ffff:11.0.0.1", 0 }, { "192.168.1.77", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss = { 0 };
        if (strchr(cases[i].addr, ':') != NULL) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            in6->sin6_family = AF_INET6;
            assert_int_equal(inet_pton(AF_INET6, cases[i].addr, &in6->sin6_addr), 1);
        } else {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            in->sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, cases[i].addr, &in->sin_addr), 1);
        }
        if (gw_config_trusted(c, (struct sockaddr *)&ss) != cases[i].want)
            fprintf(stderr, "%s: expected %d\n", cases[i].addr, cases[i].want);
        assert_int_equal(gw_config_trusted(c, (struct sockaddr *)&ss), cases[i].want);
    }
    gw_config_free(c);
}

static void
test_upstream_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        enum pt_upstream_kind kind;
        const char *host, *hostport, *path, *target;
        unsigned port;
    } good[] = {
        { "http://127.0.0.1:9000", PT_UP_HTTP, "127.0.0.1", "127.0.0.1:9000", "", NULL, 9000 },
        { "http://127.0.0.1:80/", PT_UP_HTTP, "127.0.0.1", "127.0.0.1", "/", NULL, 80 },
        { "https://[::1]/api/v1", PT_UP_HTTPS, "::1", "[::1]", "/api/v1", NULL, 443 },
        { "HTTPS://LocalHost:8443/x", PT_UP_HTTPS, "localhost", "localhost:8443", "/x", NULL,
          8443 },
        { "kafka://orders.v1", PT_UP_KAFKA, NULL, NULL, NULL, "orders.v1", 0 },
        { "mock:echo", PT_UP_MOCK, NULL, NULL, NULL, "echo", 0 },
    };
    static const struct { const char *url, *err; } bad[] = {
        { "htp://x", "\"htp://x\" is not a URL (http, https, kafka, mock or deliveries:)" },
        { "http://127.0.0.1:0", "\"http://127.0.0.1:0\" has a bad port (1 to 65535)" },
        { "http://127.0.0.1:65536", "\"http://127.0.0.1:65536\" has a bad port (1 to 65535)" },
        { "http://127.0.0.1:", "\"http://127.0.0.1:\" has a bad port (1 to 65535)" },
        { "http://u:p@127.0.0.1", "\"http://u:p@127.0.0.1\" must not carry user info (user@)" },
        { "http://127.0.0.1/#top", "\"http://127.0.0.1/#top\" must not carry a fragment (#...)" },
        { "http://127.0.0.1/?q=1", "\"http://127.0.0.1/?q=1\" must not carry a query (?...)" },
        { "http://[::1", "\"http://[::1\" has a bad host (a name, an IPv4 address or [IPv6])" },
        { "http://[nope]:80", "\"http://[nope]:80\" has a bad host (a name, an IPv4 address or "
                              "[IPv6])" },
        { "http://a..b", "\"http://a..b\" has a bad host (a name, an IPv4 address or [IPv6])" },
        { "http://", "\"http://\" has no host" },
        { "http://127.0.0.1/a b", "\"http://127.0.0.1/a b\" has a space or control character in "
                                  "its path" },
        { "kafka://bad topic", "\"kafka://bad topic\": \"bad topic\" is not a Kafka topic (1 to "
                               "249 of A-Z a-z 0-9 . _ -)" },
        { "kafka://", "\"kafka://\": \"\" is not a Kafka topic (1 to 249 of A-Z a-z 0-9 . _ -)" },
    };
    struct pt_upstream u;
    char err[512];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = pt_upstream_parse(good[i].url, &u, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", good[i].url, err);
        assert_int_equal(rc, 0);
        assert_int_equal(u.kind, good[i].kind);
        assert_string_equal(u.url, good[i].url);
        if (good[i].host != NULL) {
            assert_string_equal(u.host, good[i].host);
            assert_string_equal(u.hostport, good[i].hostport);
            assert_string_equal(u.path, good[i].path);
            assert_int_equal(u.port, good[i].port);
            assert_true(u.addrlen > 0);
            assert_int_equal(ntohs(((struct sockaddr_in *)&u.addr)->sin_port), good[i].port);
        } else {
            assert_string_equal(u.target, good[i].target);
        }
        pt_upstream_clear(&u);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pt_upstream_parse(bad[i].url, &u, err, sizeof err), -1);
        assert_string_equal(err, bad[i].err);
        assert_null(u.url);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonloc),
        cmocka_unit_test(test_jpath),
        cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_route_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_route_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_pem_and_key_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_tls_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_partner_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_and_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_and_outbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_config, setup, teardown),
        cmocka_unit_test(test_parse_address),
        cmocka_unit_test_setup_teardown(test_trusted_proxies, setup, teardown),
        cmocka_unit_test(test_upstream_urls),
    };

    t0 = time(NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
