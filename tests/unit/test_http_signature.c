/* test_http_signature.c: the `http_signature` transform (RFC 9421 with RFC 9530's
 * Content-Digest). The RFC's Appendix B.2 signatures verify with its Appendix B.1 public keys
 * (B.2.5 with its published HMAC test secret), each over the signature base the RFC lists (the
 * audit's signed_sha256 is that base's SHA-256); Content-Digest is RFC 9530's; signing then
 * verifying round trips with keys made now (P-256, Ed25519, RSA); and every refusal with its
 * code: tampered field, tampered body, missing, algorithm refused, wrong signer, expired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bundle_signing.h"
#include "http_signature.h"
#include "sha256.h"
#include "text.h"
#include "tf_fixture.h"

/* ---- RFC 9421 Appendix B.1: the test keys (public only) ------------------------------------ */

#define PEM_PUB(b64) "-----BEGIN PUBLIC KEY-----\n" b64 "-----END PUBLIC KEY-----\n"
static const char key_rsa_pss[] = PEM_PUB(
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2\n"
    "+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+\n"
    "oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq\n"
    "gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W\n"
    "Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4\n"
    "aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI\n"
    "2wIDAQAB\n");
static const char key_ecc_p256[] = PEM_PUB(
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf\n"
    "w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==\n");
static const char key_ed25519[] = PEM_PUB(
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n");
/* B.1.5: the shared secret the RFC publishes for its HMAC example (a test value) */
static const char shared_secret_b64[] =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

/* ---- B.2: the messages, signatures and bases ------------------------------------------------ */

#define REQ_DIGEST                                                                                 \
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWX" \
    "vJwew==:"
#define RESP_DIGEST                                                                                \
    "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5a" \
    "GgfLQ==:"

struct vector {
    const char *name;
    enum tf_phase phase;
    const char *config;
    const char *input, *signature, *base;
};

static const struct vector vectors[] = {
    { "B.2.1", TF_PHASE_REQUEST,
      "{\"verify\": {\"algorithms\": [\"rsa-pss-sha512\"], \"components\": [], "
      "\"content_digest\": \"if-present\"}}",
      "sig-b21=();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\"",
      "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++w"
      "gGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rg"
      "FWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVP"
      "nP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
      "\"@signature-params\": ();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-"
      "50gnwp.yemd\"" },
    { "B.2.2", TF_PHASE_REQUEST,
      "{\"verify\": {\"algorithms\": [\"rsa-pss-sha512\"], \"components\": [\"@authority\", "
      "\"content-digest\", \"@query-param;name=\\\"Pet\\\"\"]}}",
      "sig-b22=(\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\");created=1618884473;"
      "keyid=\"test-key-rsa-pss\";tag=\"header-example\"",
      "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKt"
      "jvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEf"
      "Y17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4"
      "jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
      "\"@authority\": example.com\n\"content-digest\": " REQ_DIGEST "\n"
      "\"@query-param\";name=\"Pet\": dog\n\"@signature-params\": (\"@authority\" "
      "\"content-digest\" \"@query-param\";name=\"Pet\");created=1618884473;keyid=\"test-key-rsa-"
      "pss\";tag=\"header-example\"" },
    { "B.2.3", TF_PHASE_REQUEST,
      "{\"verify\": {\"algorithms\": [\"rsa-pss-sha512\", \"ed25519\"], \"components\": "
      "[\"@method\", \"@path\", \"@query\", \"content-digest\"]}}",
      "sig-b23=(\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" "
      "\"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"",
      "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt6"
      "83+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvK"
      "iLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8"
      "ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
      "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n"
      "\"@query\": ?param=Value&Pet=dog\n\"@authority\": example.com\n"
      "\"content-type\": application/json\n\"content-digest\": " REQ_DIGEST "\n"
      "\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" "
      "\"@authority\" \"content-type\" \"content-digest\" \"content-length\");"
      "created=1618884473;keyid=\"test-key-rsa-pss\"" },
    { "B.2.4", TF_PHASE_RESPONSE,
      "{\"verify\": {\"algorithms\": [\"ecdsa-p256-sha256\"], \"components\": [\"@status\", "
      "\"content-digest\"]}}",
      "sig-b24=(\"@status\" \"content-type\" \"content-digest\" \"content-length\");"
      "created=1618884473;keyid=\"test-key-ecc-p256\"",
      "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32o"
      "iasw==:",
      "\"@status\": 200\n\"content-type\": application/json\n\"content-digest\": " RESP_DIGEST "\n"
      "\"content-length\": 23\n\"@signature-params\": (\"@status\" \"content-type\" "
      "\"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-ecc-p256\"" },
    { "B.2.5", TF_PHASE_REQUEST,
      "{\"verify\": {\"algorithms\": [\"hmac-sha256\"], \"components\": [\"@authority\"], "
      "\"content_digest\": \"if-present\"}}",
      "sig-b25=(\"date\" \"@authority\" \"content-type\");created=1618884473;"
      "keyid=\"test-shared-secret\"",
      "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
      "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n"
      "\"content-type\": application/json\n\"@signature-params\": (\"date\" \"@authority\" "
      "\"content-type\");created=1618884473;keyid=\"test-shared-secret\"" },
    { "B.2.6", TF_PHASE_REQUEST,
      "{\"verify\": {\"algorithms\": [\"ed25519\"], \"components\": [\"@method\", \"@path\"], "
      "\"content_digest\": \"if-present\"}}",
      "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
      "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
      "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpB"
      "KRCw==:",
      "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n"
      "\"@authority\": example.com\n\"content-type\": application/json\n"
      "\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \"@path\" "
      "\"@authority\" \"content-type\" \"content-length\");created=1618884473;"
      "keyid=\"test-key-ed25519\"" },
};

/* ---- partners and their keys --------------------------------------------------------------- */

struct env {
    struct tfx f;
    struct pt_sign_key rfc_keys[4], acme_keys[2], globex_keys[2];
    struct pt_partner acme, globex;
    const struct pt_partner *all[2];
    char dir[64];
};

static EVP_PKEY *
pub_of_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);

    BIO_free(b);
    assert_non_null(k);
    return k;
}

/* The public half of k, as a partner's bundle would hold it. */
static EVP_PKEY *
pub_of(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int n = i2d_PUBKEY(k, &der);
    EVP_PKEY *pub;

    assert_true(n > 0);
    p = der;
    pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

/* Write k as name in the test's folder. */
static void
write_key(struct env *e, const char *name, EVP_PKEY *k)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
}

static int
setup(void **state)
{
    static struct env e;
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *secret = malloc(sizeof shared_secret_b64);
    long n = gw_base64_decode(shared_secret_b64, strlen(shared_secret_b64), secret, 0);

    memset(&e, 0, sizeof e);
    tfx_init(&e.f);
    assert_true(p256 && ed && rsa && other && n == 64);
    snprintf(e.dir, sizeof e.dir, "/tmp/test_http_signature.XXXXXX");
    assert_non_null(mkdtemp(e.dir));
    write_key(&e, "p256.pem", p256);
    write_key(&e, "ed25519.pem", ed);
    write_key(&e, "rsa.pem", rsa);
    write_key(&e, "other.pem", other);
    /* the RFC's keys, under the RFC's key ids */
    e.rfc_keys[0] = (struct pt_sign_key){ .kid = "test-key-rsa-pss", .pub = pub_of_pem(key_rsa_pss) };
    e.rfc_keys[1] = (struct pt_sign_key){ .kid = "test-key-ecc-p256", .pub = pub_of_pem(key_ecc_p256) };
    e.rfc_keys[2] = (struct pt_sign_key){ .kid = "test-key-ed25519", .pub = pub_of_pem(key_ed25519) };
    e.rfc_keys[3] = (struct pt_sign_key){ .kid = "test-shared-secret", .secret = secret,
                                          .secret_len = 64 };
    /* acme-bank signs with P-256 (kid acme-1) and Ed25519; globex with its own P-256 and RSA */
    e.acme_keys[0] = (struct pt_sign_key){ .kid = "acme-1", .pub = pub_of(p256) };
    e.acme_keys[1] = (struct pt_sign_key){ .pub = pub_of(ed) };
    e.globex_keys[0] = (struct pt_sign_key){ .kid = "globex-1", .pub = pub_of(other) };
    e.globex_keys[1] = (struct pt_sign_key){ .kid = "globex-rsa", .pub = pub_of(rsa) };
    for (size_t i = 0; i < 4; i++) /* their kinds, as the bundle loader finds them */
        if (e.rfc_keys[i].pub != NULL)
            pt_key_kind(e.rfc_keys[i].pub, &e.rfc_keys[i].type, &e.rfc_keys[i].curve);
    for (size_t i = 0; i < 2; i++) {
        pt_key_kind(e.acme_keys[i].pub, &e.acme_keys[i].type, &e.acme_keys[i].curve);
        pt_key_kind(e.globex_keys[i].pub, &e.globex_keys[i].type, &e.globex_keys[i].curve);
    }
    e.acme = (struct pt_partner){ .id = "acme-bank", .sign_keys = e.acme_keys, .nsign_keys = 2 };
    e.globex = (struct pt_partner){ .id = "globex", .sign_keys = e.globex_keys, .nsign_keys = 2 };
    e.all[0] = &e.acme;
    e.all[1] = &e.globex;
    e.f.x.partner = &e.acme;
    e.f.x.partners = e.all;
    e.f.x.npartners = 2;
    EVP_PKEY_free(p256);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(other);
    *state = &e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    const char *files[] = { "p256.pem", "ed25519.pem", "rsa.pem", "other.pem" };
    char path[128];

    for (size_t i = 0; i < 4; i++) {
        EVP_PKEY_free(e->rfc_keys[i].pub);
        snprintf(path, sizeof path, "%s/%s", e->dir, files[i]);
        unlink(path);
    }
    free(e->rfc_keys[3].secret);
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY_free(e->acme_keys[i].pub);
        EVP_PKEY_free(e->globex_keys[i].pub);
    }
    rmdir(e->dir);
    tfx_free(&e->f);
    return 0;
}

/* A fresh exchange of acme-bank (partner, partners) with the step created from config. */
static void *
step(struct env *e, enum tf_phase phase, const char *config)
{
    void *inst;

    tfx_release(&e->f);
    gw_diag_free(&e->f.d);
    tf_ctx_clear_error(&e->f.x);
    e->f.x.signatures = NULL;
    inst = tfx_create(&e->f, &tf_http_signature_ops, phase, config, e->dir);
    if (inst == NULL)
        gw_diag_print(&e->f.d, stderr);
    assert_non_null(inst);
    return inst;
}

static void
add(struct env *e, const char *name, const char *value)
{
    e->f.x.header_add(&e->f.x, &e->f.m, name, value, strlen(value));
}

/* RFC 9421's test-request or test-response (B.2), without a signature. */
static struct tf_message *
rfc_message(struct env *e, enum tf_phase phase)
{
    struct tf_message *m;

    e->f.x.method = "POST";
    e->f.x.path = "/foo";
    e->f.x.query = "param=Value&Pet=dog";
    e->f.x.scheme = "https";
    if (phase == TF_PHASE_REQUEST) {
        m = tfx_message(&e->f, phase, NULL, "{\"hello\": \"world\"}");
        add(e, "Host", "example.com");
        add(e, "Date", "Tue, 20 Apr 2021 02:07:55 GMT");
        add(e, "Content-Type", "application/json");
        add(e, "Content-Digest", REQ_DIGEST);
        add(e, "Content-Length", "18");
    } else {
        m = tfx_message(&e->f, phase, NULL, "{\"message\": \"good dog\"}");
        add(e, "Date", "Tue, 20 Apr 2021 02:07:56 GMT");
        add(e, "Content-Type", "application/json");
        add(e, "Content-Digest", RESP_DIGEST);
        add(e, "Content-Length", "23");
    }
    return m;
}

static void
sha256_hex(const char *s, char out[65])
{
    unsigned char d[32];

    gw_sha256_once(s, strlen(s), d);
    gw_hex_encode(out, d, 32);
    out[64] = '\0';
}

/* The step failed with status and code (the detail printed when not). */
static void
assert_refused(struct env *e, int rc, int status, const char *code)
{
    if (rc != TF_ERROR || e->f.x.err_status != status || e->f.x.err_code == NULL ||
        strcmp(e->f.x.err_code, code) != 0)
        fail_msg("expected %d %s, got rc %d: %d %s: %s", status, code, rc, e->f.x.err_status,
                 e->f.x.err_code ? e->f.x.err_code : "-",
                 e->f.x.err_detail ? e->f.x.err_detail : "-");
}

static void
assert_verified(struct env *e, int rc, const char *alg, const char *kid, const char *base)
{
    const struct tf_signature *s = e->f.x.signatures;
    char want[65];

    if (rc != TF_DONE)
        fail_msg("refused: %d %s: %s", e->f.x.err_status, e->f.x.err_code, e->f.x.err_detail);
    assert_non_null(s);
    assert_int_equal(s->made, 0);
    assert_string_equal(s->kind, "http_signature");
    assert_string_equal(s->alg, alg);
    assert_string_equal(s->partner, e->f.x.partner->id);
    if (kid != NULL)
        assert_string_equal(s->kid, kid);
    if (base != NULL) {
        sha256_hex(base, want);
        assert_string_equal(s->signed_sha256, want);
    }
}

/* ---- the RFC's vectors ------------------------------------------------------------------- */

static void
test_rfc9421_vectors(void **state)
{
    struct env *e = *state;
    struct pt_partner rfc = { .id = "rfc-example", .sign_keys = e->rfc_keys, .nsign_keys = 4 };
    static const char *const algs[] = { "rsa-pss-sha512", "rsa-pss-sha512", "rsa-pss-sha512",
                                        "ecdsa-p256-sha256", "hmac-sha256", "ed25519" };

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        void *inst = step(e, v->phase, v->config);
        struct tf_message *m = rfc_message(e, v->phase);
        const char *kid = strstr(v->input, "keyid=\"") + 7;

        print_message("%s\n", v->name);
        e->f.x.partner = &rfc;
        add(e, "Signature-Input", v->input);
        add(e, "Signature", v->signature);
        assert_verified(e, tf_http_signature_ops.apply(inst, m, &e->f.x), algs[i],
                        gw_arena_strndup(&e->f.arena, kid, strcspn(kid, "\"")), v->base);
        /* one byte of the signed message changed: refused */
        if (v->phase == TF_PHASE_RESPONSE)
            m->status = 201;
        else
            e->f.x.header_set(&e->f.x, m, "Host", "example.org", 11);
        if (i > 0) /* B.2.1 covers nothing */
            assert_refused(e, tf_http_signature_ops.apply(inst, m, &e->f.x),
                           v->phase == TF_PHASE_REQUEST ? 401 : 502, "signature-invalid");
        e->f.x.partner = &e->acme;
    }
}

/* The RFC's B.2.6 signature is years old: with max_age_s it is refused as signature-invalid. */
static void
test_too_old(void **state)
{
    struct env *e = *state;
    struct pt_partner rfc = { .id = "rfc-example", .sign_keys = e->rfc_keys, .nsign_keys = 4 };
    void *inst = step(e, TF_PHASE_REQUEST,
                      "{\"verify\": {\"algorithms\": [\"ed25519\"], \"components\": [\"@method\"], "
                      "\"max_age_s\": 300, \"content_digest\": \"if-present\"}}");
    struct tf_message *m = rfc_message(e, TF_PHASE_REQUEST);

    e->f.x.partner = &rfc;
    add(e, "Signature-Input", vectors[5].input);
    add(e, "Signature", vectors[5].signature);
    assert_refused(e, tf_http_signature_ops.apply(inst, m, &e->f.x), 401, "signature-invalid");
    assert_non_null(strstr(e->f.x.err_detail, "s old, more than 300 s"));
    assert_null(e->f.x.signatures);
    e->f.x.partner = &e->acme;
}

/* RFC 9530's examples: {"hello": "world"} with sha-256 and sha-512, as sign writes them. */
static void
test_content_digest(void **state)
{
    struct env *e = *state;
    static const char *const want[] = {
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwE"
        "mTHWXvJwew==:",
    };
    static const char *const cd[] = { "sha-256", "sha-512" };
    char config[512];

    for (size_t i = 0; i < 2; i++) {
        snprintf(config, sizeof config,
                 "{\"sign\": {\"key\": \"ed25519.pem\", \"alg\": \"ed25519\"}, \"components\": "
                 "[\"@method\", \"content-digest\"], \"content_digest\": \"%s\"}", cd[i]);
        void *inst = step(e, TF_PHASE_REQUEST, config);
        struct tf_message *m = tfx_message(&e->f, TF_PHASE_REQUEST, "application/json",
                                           "{\"hello\": \"world\"}");
        const struct tf_header *h;

        assert_int_equal(tf_http_signature_ops.apply(inst, m, &e->f.x), TF_DONE);
        h = e->f.x.header_get(m, "Content-Digest");
        assert_non_null(h);
        assert_int_equal(h->value_len, strlen(want[i]));
        assert_memory_equal(h->value, want[i], h->value_len);
    }
}

/* ---- signing, then verifying ------------------------------------------------------------- */

#define VERIFY_ALL                                                                                 \
    "{\"verify\": {\"algorithms\": [\"ecdsa-p256-sha256\", \"ed25519\", \"rsa-v1_5-sha256\", "     \
    "\"rsa-pss-sha512\"], \"components\": [\"@method\", \"@target-uri\", \"content-type\", "       \
    "\"content-digest\"], \"max_age_s\": 300}}"

/* A request of the current partner signed with key file `key` (kid: NULL for none). */
static struct tf_message *
signed_request(struct env *e, const char *key, const char *alg, const char *kid)
{
    char config[512];
    void *inst;
    struct tf_message *m;
    const struct tf_header *h;

    snprintf(config, sizeof config,
             "{\"sign\": {\"key\": \"%s\", \"alg\": \"%s\"%s%s%s}, \"components\": [\"@method\", "
             "\"@target-uri\", \"@authority\", \"content-type\", \"content-digest\"], "
             "\"content_digest\": \"sha-256\"}",
             key, alg, kid ? ", \"kid\": \"" : "", kid ? kid : "", kid ? "\"" : "");
    inst = step(e, TF_PHASE_REQUEST, config);
    e->f.x.method = "POST";
    e->f.x.path = "/payments";
    e->f.x.query = "id=7";
    e->f.x.scheme = "https";
    m = tfx_message(&e->f, TF_PHASE_REQUEST, "application/json", "{\"amount\": 10}");
    add(e, "Host", "api.example.com");
    assert_int_equal(tf_http_signature_ops.apply(inst, m, &e->f.x), TF_DONE);
    assert_int_equal(e->f.x.signatures->made, 1);
    assert_string_equal(e->f.x.signatures->alg, alg);
    assert_null(e->f.x.signatures->partner);
    h = e->f.x.header_get(m, "Signature-Input");
    assert_non_null(h);
    assert_int_equal(strncmp(h->value, "sig1=(\"@method\" \"@target-uri\" \"@authority\" "
                             "\"content-type\" \"content-digest\");created=", 68), 0);
    assert_non_null(e->f.x.header_get(m, "Signature"));
    assert_non_null(e->f.x.header_get(m, "Content-Digest"));
    return m;
}

static int
verify(struct env *e, struct tf_message *m, const char *config)
{
    void *inst = step(e, m->phase, config);

    return tf_http_signature_ops.apply(inst, m, &e->f.x);
}

static void
test_round_trips(void **state)
{
    struct env *e = *state;
    struct tf_message *m;

    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    assert_verified(e, verify(e, m, VERIFY_ALL), "ecdsa-p256-sha256", "acme-1", NULL);
    m = signed_request(e, "ed25519.pem", "ed25519", NULL);
    assert_verified(e, verify(e, m, VERIFY_ALL), "ed25519", NULL, NULL);
    assert_null(e->f.x.signatures->kid);
    e->f.x.partner = &e->globex;
    m = signed_request(e, "rsa.pem", "rsa-pss-sha512", "globex-rsa");
    assert_verified(e, verify(e, m, VERIFY_ALL), "rsa-pss-sha512", "globex-rsa", NULL);
    m = signed_request(e, "rsa.pem", "rsa-v1_5-sha256", "globex-rsa");
    assert_verified(e, verify(e, m, VERIFY_ALL), "rsa-v1_5-sha256", "globex-rsa", NULL);
    e->f.x.partner = &e->acme;
}

static void
test_refusals(void **state)
{
    struct env *e = *state;
    struct tf_message *m;

    /* a covered field changed */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    e->f.x.header_set(&e->f.x, m, "Content-Type", "text/plain", 10);
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-invalid");
    /* the body changed: Content-Digest no longer matches */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    m->body = "{\"amount\": 99}";
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-invalid");
    assert_non_null(strstr(e->f.x.err_detail, "does not match the body"));
    /* Content-Digest gone */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    e->f.x.header_remove(m, "Content-Digest");
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-invalid");
    /* no signature */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    e->f.x.header_remove(m, "Signature");
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-missing");
    e->f.x.header_remove(m, "Signature-Input");
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-missing");
    /* a label that is not there */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    assert_refused(e, verify(e, m, "{\"verify\": {\"algorithms\": [\"ecdsa-p256-sha256\"], "
                                    "\"components\": [\"@method\"], \"label\": \"sig2\"}}"),
                   401, "signature-missing");
    /* a required component not covered */
    assert_refused(e, verify(e, m, "{\"verify\": {\"algorithms\": [\"ecdsa-p256-sha256\"], "
                                    "\"components\": [\"@method\", \"date\"]}}"),
                   401, "signature-invalid");
    /* the algorithm not accepted */
    assert_refused(e, verify(e, m, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
                                    "\"components\": [\"@method\"]}}"),
                   401, "signature-algorithm-refused");
    /* signed with globex's key, naming it or not */
    m = signed_request(e, "other.pem", "ecdsa-p256-sha256", "globex-1");
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-wrong-signer");
    m = signed_request(e, "other.pem", "ecdsa-p256-sha256", NULL);
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-wrong-signer");
    /* globex's key naming acme's key id: still globex's signature */
    m = signed_request(e, "other.pem", "ecdsa-p256-sha256", "acme-1");
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-wrong-signer");
    /* a key id of acme's with a signature no partner's key verifies */
    m = signed_request(e, "p256.pem", "ecdsa-p256-sha256", "acme-1");
    e->f.x.header_set(&e->f.x, m, "Signature", "sig1=:AAAA:", 11);
    assert_refused(e, verify(e, m, VERIFY_ALL), 401, "signature-invalid");
    /* a response's refusal is the upstream's fault: 502 */
    tfx_message(&e->f, TF_PHASE_RESPONSE, "application/json", "{}");
    assert_refused(e, verify(e, &e->f.m, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
                                         "\"components\": [\"@status\"]}}"),
                   502, "signature-missing");
}

/* A signature made here, by hand, with acme's Ed25519 key: created and expires as given, no alg
 * nor keyid (the key tells the algorithm when only one accepted fits the caller's keys). */
static struct tf_message *
hand_signed(struct env *e, long long created, long long expires)
{
    char params[128], base[256], input[192], sig[160], path[128];
    unsigned char raw[64];
    size_t rawlen = sizeof raw;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY *k;
    FILE *fp;

    snprintf(path, sizeof path, "%s/ed25519.pem", e->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    snprintf(params, sizeof params, "(\"@method\" \"@path\");created=%lld;expires=%lld", created,
             expires);
    snprintf(base, sizeof base, "\"@method\": POST\n\"@path\": /payments\n"
             "\"@signature-params\": %s", params);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, raw, &rawlen, (unsigned char *)base, strlen(base)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    snprintf(input, sizeof input, "sig1=%s", params);
    memcpy(sig, "sig1=:", 6);
    sig[6 + gw_base64_encode(sig + 6, raw, rawlen, 0)] = '\0';
    strcat(sig, ":");
    e->f.x.method = "POST";
    e->f.x.path = "/payments";
    e->f.x.query = "";
    tfx_message(&e->f, TF_PHASE_REQUEST, NULL, NULL);
    add(e, "Signature-Input", input);
    add(e, "Signature", sig);
    return &e->f.m;
}

#define VERIFY_ED                                                                                  \
    "{\"verify\": {\"algorithms\": [\"ed25519\"], \"components\": [\"@method\", \"@path\"], "      \
    "\"max_age_s\": 300}}"

static void
test_times(void **state)
{
    struct env *e = *state;
    long long now = (long long)time(NULL);
    struct tf_message *m;

    m = hand_signed(e, now - 100, now + 100);
    assert_verified(e, verify(e, m, VERIFY_ED), "ed25519", NULL,
                    NULL /* the base is the one hand_signed signed: it verified */);
    m = hand_signed(e, now - 100, now - 10);
    assert_refused(e, verify(e, m, VERIFY_ED), 401, "signature-invalid");
    assert_non_null(strstr(e->f.x.err_detail, "expired"));
    m = hand_signed(e, now - 400, now + 100);
    assert_refused(e, verify(e, m, VERIFY_ED), 401, "signature-invalid");
    m = hand_signed(e, now + 3600, now + 7200);
    assert_refused(e, verify(e, m, VERIFY_ED), 401, "signature-invalid");
    /* without alg, two accepted algorithms fit acme's keys: the key cannot tell */
    m = hand_signed(e, now - 100, now + 100);
    assert_refused(e, verify(e, m, "{\"verify\": {\"algorithms\": [\"ed25519\", "
                                    "\"ecdsa-p256-sha256\"], \"components\": [\"@method\"]}}"),
                   401, "signature-algorithm-refused");
}

/* ---- configuration ------------------------------------------------------------------------ */

static void
conf_error(struct env *e, enum tf_phase phase, const char *config, const char *want)
{
    int found = 0;

    tfx_release(&e->f);
    gw_diag_free(&e->f.d);
    assert_null(tfx_create(&e->f, &tf_http_signature_ops, phase, config, e->dir));
    for (size_t i = 0; i < e->f.d.n; i++)
        found |= e->f.d.items[i].level == GW_DIAG_ERROR && strstr(e->f.d.items[i].text, want);
    if (!found) {
        gw_diag_print(&e->f.d, stderr);
        fail_msg("no error saying \"%s\"", want);
    }
}

static void
test_config(void **state)
{
    struct env *e = *state;

    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], \"components\": "
               "[]}, \"sign\": {}}", "exactly one of");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"hs256\"], \"components\": "
               "[\"@method\"]}}", "not an algorithm");
    conf_error(e, TF_PHASE_RESPONSE, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"@method;req\"]}}", "the req parameter");
    conf_error(e, TF_PHASE_RESPONSE, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"@method\"]}}", "only @status and fields");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"@status\"]}}", "@status is a response's");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"Content-Type\"]}}", "lower case");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"@query-param\"]}}", "name=");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"x;bs\"]}}", "bs parameter");
    conf_error(e, TF_PHASE_REQUEST, "{\"verify\": {\"algorithms\": [\"ed25519\"], "
               "\"components\": [\"@method\"], \"content_digest\": \"sha-256\"}}",
               "\"required\" or \"if-present\"");
    conf_error(e, TF_PHASE_REQUEST, "{\"sign\": {\"key\": \"p256.pem\", \"alg\": \"ed25519\"}, "
               "\"components\": [\"@method\"]}", "does not fit the key");
    conf_error(e, TF_PHASE_REQUEST, "{\"sign\": {\"key\": \"p256.pem\", \"alg\": "
               "\"ecdsa-p256-sha256\"}, \"components\": [\"@method\"], \"content_digest\": "
               "\"sha-256\"}", "must be covered");
    conf_error(e, TF_PHASE_REQUEST, "{\"sign\": {\"key\": \"p256.pem\", \"alg\": "
               "\"ecdsa-p256-sha256\"}, \"components\": [\"@method\"], \"label\": \"Sig\"}",
               "structured field key");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9421_vectors),
        cmocka_unit_test(test_too_old),
        cmocka_unit_test(test_content_digest),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_config),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
