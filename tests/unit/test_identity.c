/* test_identity.c: certificate to partner, with CAs and client certificates made in memory.
 *
 * Two partners, A (acme) and B (globex), each with its own CA; a rogue CA that copies A's CA name;
 * a CA shared by two more partners. Keys are EC P-256, made fresh for each run and never written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "identity.h"
#include "partner.h"
#include "snapshot.h"

#define A_SUBJECT "CN=acme-client,O=ACME Bank\\, Ltd,C=CH"
#define B_SUBJECT "CN=globex-client,O=Globex,C=US"

struct pki {
    EVP_PKEY *ca_a_key, *ca_b_key, *rogue_key, *shared_key, *leaf_key;
    X509 *ca_a, *ca_b, *rogue, *shared;
    X509 *leaf_a;     /* A's CA: A's subject, SAN DNS + URI */
    X509 *leaf_b;     /* B's CA: B's subject */
    X509 *fake_a;     /* B's CA, copying A's subject and SAN */
    X509 *rogue_a;    /* the rogue CA (same name as A's CA), copying A's subject and SAN */
    X509 *leaf_nosan; /* A's CA: A's subject, no SAN */
    X509 *shared_c, *shared_d, *shared_x; /* the shared CA: CN=c, CN=d, CN=x */
};

static struct pki pki;

/* "C=CH/O=ACME Bank, Ltd/CN=acme-client": '/' separates entries, in DER order. */
static X509_NAME *
make_name(const char *spec)
{
    X509_NAME *name = X509_NAME_new();
    char *copy = strdup(spec), *save = NULL;

    assert_non_null(name);
    for (char *tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        assert_int_equal(X509_NAME_add_entry_by_txt(name, tok, MBSTRING_UTF8,
                                                    (unsigned char *)eq + 1, -1, -1, 0),
                         1);
    }
    free(copy);
    return name;
}

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for `key` named `subject`, signed by issuer/issuer_key (self-signed when issuer is
 * NULL). san: an openssl-style list ("DNS:a,URI:b") or NULL. */
static X509 *
make_cert(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *san)
{
    static long serial = 1;
    X509 *cert = X509_new();
    X509_NAME *name = make_name(subject);

    assert_non_null(cert);
    assert_int_equal(X509_set_version(cert, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    assert_int_equal(X509_set_subject_name(cert, name), 1);
    assert_int_equal(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    assert_int_equal(X509_set_pubkey(cert, key), 1);
    if (issuer == NULL) {
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, issuer, NID_ext_key_usage, "clientAuth");
    }
    if (san != NULL)
        add_ext(cert, issuer ? issuer : cert, NID_subject_alt_name, san);
    assert_true(X509_sign(cert, issuer ? issuer_key : key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return cert;
}

static EVP_PKEY *
make_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

#define A_NAME "C=CH/O=ACME Bank, Ltd/CN=acme-client"
#define A_SAN "DNS:client.acme.example,URI:spiffe://acme.example/client"

static int
setup_pki(void **state)
{
    pki.ca_a_key = make_key();
    pki.ca_b_key = make_key();
    pki.rogue_key = make_key();
    pki.shared_key = make_key();
    pki.leaf_key = make_key();
    pki.ca_a = make_cert("C=CH/O=ACME Bank/CN=ACME Partner CA", pki.ca_a_key, NULL, NULL, NULL);
    pki.ca_b = make_cert("C=US/O=Globex/CN=Globex CA", pki.ca_b_key, NULL, NULL, NULL);
    pki.rogue = make_cert("C=CH/O=ACME Bank/CN=ACME Partner CA", pki.rogue_key, NULL, NULL, NULL);
    pki.shared = make_cert("C=DE/O=Shared Trust/CN=Shared CA", pki.shared_key, NULL, NULL, NULL);
    pki.leaf_a = make_cert(A_NAME, pki.leaf_key, pki.ca_a, pki.ca_a_key, A_SAN);
    pki.leaf_b = make_cert("C=US/O=Globex/CN=globex-client", pki.leaf_key, pki.ca_b, pki.ca_b_key,
                           "DNS:client.globex.example");
    pki.fake_a = make_cert(A_NAME, pki.leaf_key, pki.ca_b, pki.ca_b_key, A_SAN);
    pki.rogue_a = make_cert(A_NAME, pki.leaf_key, pki.rogue, pki.rogue_key, A_SAN);
    pki.leaf_nosan = make_cert(A_NAME, pki.leaf_key, pki.ca_a, pki.ca_a_key, NULL);
    pki.shared_c = make_cert("CN=c", pki.leaf_key, pki.shared, pki.shared_key, NULL);
    pki.shared_d = make_cert("CN=d", pki.leaf_key, pki.shared, pki.shared_key, NULL);
    pki.shared_x = make_cert("CN=x", pki.leaf_key, pki.shared, pki.shared_key, NULL);
    return 0;
}

static int
teardown_pki(void **state)
{
    X509 *certs[] = {pki.ca_a,       pki.ca_b,     pki.rogue,    pki.shared,
                     pki.leaf_a,     pki.leaf_b,   pki.fake_a,   pki.rogue_a,
                     pki.leaf_nosan, pki.shared_c, pki.shared_d, pki.shared_x};
    EVP_PKEY *keys[] = {pki.ca_a_key, pki.ca_b_key, pki.rogue_key, pki.shared_key, pki.leaf_key};

    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
        X509_free(certs[i]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

/* A partner as the loader would leave it, with the given CA and constraints. */
struct test_partner {
    struct pt_partner p;
    unsigned char ca_fp[1][32];
    char *san[4];
    unsigned char fps[2][32];
};

static void
partner_init(struct test_partner *tp, const char *id, X509 *ca, const char *subject)
{
    memset(tp, 0, sizeof *tp);
    tp->p.id = (char *)id;
    tp->p.name = (char *)id;
    tp->p.cas = sk_X509_new_null();
    assert_non_null(tp->p.cas);
    assert_true(sk_X509_push(tp->p.cas, ca) > 0);
    assert_int_equal(pt_cert_sha256(ca, tp->ca_fp[0]), 0);
    tp->p.ca_fps = tp->ca_fp;
    tp->p.subject = (char *)subject;
    tp->p.san = tp->san;
}

static void
partner_san(struct test_partner *tp, const char *san)
{
    tp->san[tp->p.nsan++] = (char *)san;
}

static void
partner_pin(struct test_partner *tp, X509 *cert)
{
    assert_int_equal(pt_cert_sha256(cert, tp->fps[tp->p.nfingerprints]), 0);
    tp->p.nfingerprints++;
    tp->p.fingerprints = tp->fps;
}

static void
partner_done(struct test_partner *tp)
{
    sk_X509_free(tp->p.cas); /* the certificates belong to pki */
}

/* Resolve against a snapshot of the given partners; returns the partner id, "unknown" or
 * "ambiguous". */
static const char *
resolve(struct test_partner **tps, size_t n, X509 *leaf, X509 *anchor)
{
    struct pt_partner *list[8];
    struct pt_snapshot s;
    const struct pt_partner *out = (const struct pt_partner *)&s;
    int rc;

    memset(&s, 0, sizeof s);
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        list[i] = &tps[i]->p;
    s.partners = list;
    s.npartners = n;
    rc = pt_identity_resolve(&s, leaf, anchor, &out);
    if (rc == PT_ID_OK) {
        assert_non_null(out);
        return out->id;
    }
    assert_null(out);
    assert_true(rc == PT_ID_UNKNOWN || rc == PT_ID_AMBIGUOUS);
    return rc == PT_ID_UNKNOWN ? "unknown" : "ambiguous";
}

/* A and B with their own CAs and subject constraints. */
static void
test_anchor_decides(void **state)
{
    struct test_partner a, b;
    struct test_partner *both[] = {&a, &b};

    partner_init(&a, "acme", pki.ca_a, A_SUBJECT);
    partner_init(&b, "globex", pki.ca_b, B_SUBJECT);

    assert_string_equal(resolve(both, 2, pki.leaf_a, pki.ca_a), "acme");
    assert_string_equal(resolve(both, 2, pki.leaf_b, pki.ca_b), "globex");
    /* B's CA issued a certificate copying A's subject and SAN: never A, and B's subject does
     * not hold */
    assert_string_equal(resolve(both, 2, pki.fake_a, pki.ca_b), "unknown");
    /* a CA that copies the name of A's CA is another CA */
    assert_string_equal(resolve(both, 2, pki.rogue_a, pki.rogue), "unknown");
    /* an anchor no partner has */
    assert_string_equal(resolve(both, 2, pki.leaf_a, pki.shared), "unknown");
    /* no partners at all */
    assert_string_equal(resolve(both, 0, pki.leaf_a, pki.ca_a), "unknown");

    /* B without constraints: the copy is B's, still never A */
    b.p.subject = NULL;
    assert_string_equal(resolve(both, 2, pki.fake_a, pki.ca_b), "globex");
    /* and A's own certificate anchored at A's CA is still A */
    assert_string_equal(resolve(both, 2, pki.leaf_a, pki.ca_a), "acme");
    partner_done(&a);
    partner_done(&b);
}

/* Without ca_fps (not filled in), the CA certificates themselves are compared. */
static void
test_anchor_without_fingerprints(void **state)
{
    struct test_partner a, b;
    struct test_partner *both[] = {&a, &b};

    partner_init(&a, "acme", pki.ca_a, A_SUBJECT);
    partner_init(&b, "globex", pki.ca_b, NULL);
    a.p.ca_fps = NULL;
    b.p.ca_fps = NULL;
    assert_string_equal(resolve(both, 2, pki.leaf_a, pki.ca_a), "acme");
    assert_string_equal(resolve(both, 2, pki.fake_a, pki.ca_b), "globex");
    assert_string_equal(resolve(both, 2, pki.rogue_a, pki.rogue), "unknown");
    partner_done(&a);
    partner_done(&b);
}

static void
test_subject(void **state)
{
    static const struct {
        const char *subject;
        const char *want;
    } cases[] = {
        {A_SUBJECT, "acme"},
        {"CN=acme-client,O=ACME Bank,C=CH", "unknown"},        /* the escaped comma matters */
        {"CN=acme-client,O=ACME Bank, Ltd,C=CH", "unknown"},   /* unescaped */
        {"cn=acme-client,O=ACME Bank\\, Ltd,C=CH", "unknown"}, /* exact match */
        {"C=CH,O=ACME Bank\\, Ltd,CN=acme-client", "unknown"}, /* other order */
        {"CN=acme-client", "unknown"},                         /* a part only */
        {"", "unknown"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_partner a;
        struct test_partner *one[] = {&a};
        partner_init(&a, "acme", pki.ca_a, cases[i].subject);
        const char *got = resolve(one, 1, pki.leaf_a, pki.ca_a);
        partner_done(&a);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("subject %s: got %s, want %s", cases[i].subject, got, cases[i].want);
    }
}

static void
test_san(void **state)
{
    static const struct {
        const char *san[3];
        X509 **leaf;
        const char *want;
    } cases[] = {
        {{"client.acme.example"}, &pki.leaf_a, "acme"},
        {{"CLIENT.Acme.Example"}, &pki.leaf_a, "acme"},             /* DNS: any case */
        {{"spiffe://acme.example/client"}, &pki.leaf_a, "acme"},    /* URI */
        {{"spiffe://ACME.example/client"}, &pki.leaf_a, "unknown"}, /* URI: exact */
        {{"other.example", "spiffe://acme.example/client"}, &pki.leaf_a, "acme"}, /* any one */
        {{"other.example"}, &pki.leaf_a, "unknown"},
        {{"acme-client"}, &pki.leaf_a, "unknown"},        /* the CN is not a SAN */
        {{"client.acme.exampl"}, &pki.leaf_a, "unknown"}, /* no partial match */
        {{"client.acme.example."}, &pki.leaf_a, "unknown"},
        {{"client.acme.example"}, &pki.leaf_nosan, "unknown"}, /* no SAN extension */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_partner a;
        struct test_partner *one[] = {&a};
        partner_init(&a, "acme", pki.ca_a, NULL);
        for (size_t j = 0; j < 3 && cases[i].san[j] != NULL; j++)
            partner_san(&a, cases[i].san[j]);
        const char *got = resolve(one, 1, *cases[i].leaf, pki.ca_a);
        partner_done(&a);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu (san %s): got %s, want %s", i, cases[i].san[0], got, cases[i].want);
    }
}

static void
test_fingerprints(void **state)
{
    struct test_partner a;
    struct test_partner *one[] = {&a};

    partner_init(&a, "acme", pki.ca_a, A_SUBJECT);
    partner_pin(&a, pki.leaf_a);
    assert_string_equal(resolve(one, 1, pki.leaf_a, pki.ca_a), "acme");
    /* same CA, same subject, another certificate */
    assert_string_equal(resolve(one, 1, pki.leaf_nosan, pki.ca_a), "unknown");
    partner_done(&a);

    /* a pin for another certificate only */
    partner_init(&a, "acme", pki.ca_a, NULL);
    partner_pin(&a, pki.leaf_nosan);
    assert_string_equal(resolve(one, 1, pki.leaf_a, pki.ca_a), "unknown");
    /* two pins (a rollover), one of which matches */
    partner_pin(&a, pki.leaf_a);
    assert_string_equal(resolve(one, 1, pki.leaf_a, pki.ca_a), "acme");
    assert_string_equal(resolve(one, 1, pki.leaf_nosan, pki.ca_a), "acme");
    partner_done(&a);
}

/* Every configured constraint must hold, not just one. */
static void
test_all_constraints(void **state)
{
    struct test_partner a;

    partner_init(&a, "acme", pki.ca_a, NULL);
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.leaf_a), 1); /* none configured */
    a.p.subject = A_SUBJECT;
    partner_san(&a, "client.acme.example");
    partner_pin(&a, pki.leaf_a);
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.leaf_a), 1);
    a.san[0] = "nope.example";
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.leaf_a), 0);
    a.san[0] = "client.acme.example";
    a.p.subject = B_SUBJECT;
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.leaf_a), 0);
    a.p.subject = A_SUBJECT;
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.fake_a), 0); /* pin differs */
    a.p.nfingerprints = 0;
    /* the anchor is not this function's business */
    assert_int_equal(pt_identity_constraints_hold(&a.p, pki.fake_a), 1);
    partner_done(&a);
}

static void
test_shared_ca(void **state)
{
    struct test_partner c, d;
    struct test_partner *both[] = {&c, &d};

    partner_init(&c, "charlie", pki.shared, "CN=c");
    partner_init(&d, "delta", pki.shared, "CN=d");
    assert_string_equal(resolve(both, 2, pki.shared_c, pki.shared), "charlie");
    assert_string_equal(resolve(both, 2, pki.shared_d, pki.shared), "delta");
    assert_string_equal(resolve(both, 2, pki.shared_x, pki.shared), "unknown");

    /* one without constraints: the other's certificate matches both */
    d.p.subject = NULL;
    assert_string_equal(resolve(both, 2, pki.shared_c, pki.shared), "ambiguous");
    assert_string_equal(resolve(both, 2, pki.shared_x, pki.shared), "delta");
    /* neither constrained */
    c.p.subject = NULL;
    assert_string_equal(resolve(both, 2, pki.shared_d, pki.shared), "ambiguous");
    partner_done(&c);
    partner_done(&d);
}

static void
test_bad_arguments(void **state)
{
    struct test_partner a;
    struct test_partner *one[] = {&a};

    partner_init(&a, "acme", pki.ca_a, NULL);
    assert_string_equal(resolve(one, 1, pki.leaf_a, NULL), "unknown");
    assert_string_equal(resolve(one, 1, NULL, pki.ca_a), "unknown");
    partner_done(&a);
}

static void
test_sha256(void **state)
{
    unsigned char *der = NULL, want[32], got[32];
    unsigned int len = 0;
    int n = i2d_X509(pki.leaf_a, &der);

    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, want, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
    OPENSSL_free(der);
    assert_int_equal(pt_cert_sha256(pki.leaf_a, got), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(pt_cert_sha256(pki.leaf_b, got), 0);
    assert_memory_not_equal(got, want, 32);
    assert_int_equal(pt_cert_sha256(NULL, got), -1);
}

/* What `openssl x509 -noout -subject -nameopt RFC2253` prints for cert, without "subject=". */
static char *
openssl_subject(X509 *cert)
{
    char path[] = "/tmp/portico-test-identity-XXXXXX", cmd[256], line[1024];
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    fclose(f);
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -subject -nameopt RFC2253 -in %s", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    line[0] = '\0';
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    assert_int_equal(pclose(f), 0);
    unlink(path);
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(strncmp(line, "subject=", 8), 0);
    return strdup(line + 8);
}

static void
test_name_rfc2253(void **state)
{
    static const struct {
        const char *spec; /* DER order, '/' separated; "+" in a value is literal */
        const char *want;
    } cases[] = {
        {A_NAME, A_SUBJECT},
        {"C=US/O=Globex/CN=globex-client", B_SUBJECT},
        {"CN=only", "CN=only"},
        {"O=a+b;c<d>e\"f\\g=h", "O=a\\+b\\;c\\<d\\>e\\\"f\\\\g=h"},
        {"CN=#hash", "CN=\\#hash"},
        {"CN= lead and trail ", "CN=\\ lead and trail\\ "},
        {"O=Z\xc3\xbcrich", "O=Z\\C3\\BCrich"},
        {"C=CH/emailAddress=ops@acme.example/OU=Payments",
         "OU=Payments,emailAddress=ops@acme.example,C=CH"},
        {"DC=example/DC=acme/UID=u1/CN=svc", "CN=svc,UID=u1,DC=acme,DC=example"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        X509 *cert = make_cert(cases[i].spec, pki.leaf_key, pki.ca_a, pki.ca_a_key, NULL);
        char *got = pt_name_rfc2253(X509_get_subject_name(cert));
        char *cli = openssl_subject(cert);
        assert_non_null(got);
        if (strcmp(got, cases[i].want) != 0 || strcmp(got, cli) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\", openssl prints \"%s\"", i, got,
                     cases[i].want, cli);
        free(got);
        free(cli);
        X509_free(cert);
    }
}

/* What pt_identity_mismatch says for a snapshot of the given partners. */
static void
expect_mismatch(struct test_partner **tps, size_t n, X509 *leaf, X509 *anchor, const char *want)
{
    struct pt_partner *list[8];
    struct pt_snapshot s = {0};
    char *got;

    for (size_t i = 0; i < n; i++)
        list[i] = &tps[i]->p;
    s.partners = list;
    s.npartners = n;
    got = pt_identity_mismatch(&s, leaf, anchor);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("mismatch:\n got  %s\n want %s", got, want);
    free(got);
}

#define A_RFC2253 "CN=acme-client,O=ACME Bank\\, Ltd,C=CH"
#define REVERSED_HINT                                                                              \
    " (the same names in the opposite order: identity.subject is compared in RFC 2253 order, "    \
    "the certificate's last RDN first, as `openssl x509 -noout -subject -nameopt RFC2253` "       \
    "prints it)"

/* Which constraint failed, and what the certificate had instead. */
static void
test_mismatch(void **state)
{
    struct test_partner a, c, d;
    struct test_partner *one[] = {&a}, *two[] = {&c, &d};
    char hex[65];
    unsigned char fp[32];

    /* the subject written in the order `openssl req -subj` takes it */
    partner_init(&a, "acme", pki.ca_a, "C=CH,O=ACME Bank\\, Ltd,CN=acme-client");
    expect_mismatch(one, 1, pki.leaf_a, pki.ca_a,
                    "partner acme: subject \"" A_RFC2253 "\" is not "
                    "\"C=CH,O=ACME Bank\\, Ltd,CN=acme-client\"" REVERSED_HINT);
    /* another subject: no hint */
    a.p.subject = "CN=acme-client";
    expect_mismatch(one, 1, pki.leaf_a, pki.ca_a,
                    "partner acme: subject \"" A_RFC2253 "\" is not \"CN=acme-client\"");
    /* the SAN, with what the certificate has, or that it has none */
    a.p.subject = NULL;
    partner_san(&a, "other.acme.example");
    expect_mismatch(one, 1, pki.leaf_a, pki.ca_a,
                    "partner acme: SAN has none of \"other.acme.example\" (the certificate has "
                    "DNS:client.acme.example, URI:spiffe://acme.example/client)");
    expect_mismatch(one, 1, pki.leaf_nosan, pki.ca_a,
                    "partner acme: SAN has none of \"other.acme.example\" (the certificate has no "
                    "DNS name or URI)");
    /* a fingerprint not pinned, and every failing constraint is said */
    a.p.nsan = 0;
    a.p.subject = "CN=x";
    partner_pin(&a, pki.leaf_b);
    assert_int_equal(pt_cert_sha256(pki.leaf_a, fp), 0);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", fp[i]);
    char want[512];
    snprintf(want, sizeof want,
             "partner acme: subject \"" A_RFC2253 "\" is not \"CN=x\"; partner acme: SHA-256 "
             "fingerprint %s is not one of the 1 pinned", hex);
    expect_mismatch(one, 1, pki.leaf_a, pki.ca_a, want);
    /* no partner's CA: the anchor is named */
    expect_mismatch(one, 1, pki.leaf_a, pki.shared,
                    "no partner's CA anchored the chain (it ended at "
                    "\"CN=Shared CA,O=Shared Trust,C=DE\")");
    partner_done(&a);

    /* a shared CA: each partner's failure; then two that both match */
    partner_init(&c, "c", pki.shared, "CN=c");
    partner_init(&d, "d", pki.shared, "CN=d");
    expect_mismatch(two, 2, pki.shared_x, pki.shared,
                    "partner c: subject \"CN=x\" is not \"CN=c\"; "
                    "partner d: subject \"CN=x\" is not \"CN=d\"");
    c.p.subject = d.p.subject = NULL;
    expect_mismatch(two, 2, pki.shared_x, pki.shared, "matches partner c, partner d");
    partner_done(&c);
    partner_done(&d);

    struct pt_snapshot s = {0};
    assert_null(pt_identity_mismatch(NULL, pki.leaf_a, pki.ca_a));
    assert_null(pt_identity_mismatch(&s, NULL, pki.ca_a));
    assert_null(pt_identity_mismatch(&s, pki.leaf_a, NULL));
}

/* A multi-valued RDN: openssl reverses the values inside it too. */
static void
test_name_multivalued(void **state)
{
    X509_NAME *name = make_name("C=CH/CN=a");
    char *got;

    assert_int_equal(X509_NAME_add_entry_by_txt(name, "UID", MBSTRING_UTF8,
                                                (const unsigned char *)"b", -1, -1, -1),
                     1);
    got = pt_name_rfc2253(name);
    assert_string_equal(got, "UID=b+CN=a,C=CH");
    free(got);
    X509_NAME_free(name);

    name = X509_NAME_new();
    got = pt_name_rfc2253(name);
    assert_string_equal(got, "");
    free(got);
    X509_NAME_free(name);
    assert_null(pt_name_rfc2253(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchor_decides),   cmocka_unit_test(test_anchor_without_fingerprints),
        cmocka_unit_test(test_subject),          cmocka_unit_test(test_san),
        cmocka_unit_test(test_fingerprints),     cmocka_unit_test(test_all_constraints),
        cmocka_unit_test(test_shared_ca),        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_sha256),           cmocka_unit_test(test_name_rfc2253),
        cmocka_unit_test(test_name_multivalued), cmocka_unit_test(test_mismatch),
    };
    return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
