/* test_jws.c: the `jws` transform (transforms/jws.c) and what the signature steps share
 * (transforms/sig.c): the RFC 7515 Appendix A.1-A.4, RFC 7797 section 4 and RFC 8037 A.4
 * examples verified with the keys the RFCs publish (public keys; the HMAC examples' secret is
 * the RFCs' published test value), every refusal with its code, a signature by another partner's
 * key, and our own signatures (keys made at run time) verified back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "builtins_sig.h"
#include "bundle_signing.h"
#include "sha256.h"
#include "sig.h"
#include "text.h"
#include "tf_fixture.h"

/* ---- the RFCs' examples -------------------------------------------------------------------- */

/* RFC 7515 A.1 and RFC 7797 4: the HMAC key */
#define HS_KEY "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
/* the payload of A.1 to A.3, and its base64url */
#define CLAIMS "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
#define CLAIMS_B64                                                                                 \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl" \
    "fQ"
#define A1_JWS                                                                                     \
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." CLAIMS_B64                                         \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A2_N                                                                                       \
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4" \
    "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5re" \
    "xMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxX" \
    "FvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_JWS                                                                                     \
    "eyJhbGciOiJSUzI1NiJ9." CLAIMS_B64                                                             \
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5" \
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1" \
    "L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYE" \
    "UipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_JWS                                                                                     \
    "eyJhbGciOiJFUzI1NiJ9." CLAIMS_B64                                                             \
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
#define A4_X "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk"
#define A4_Y "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"
#define A4_JWS                                                                                     \
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-m" \
    "ZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmx" \
    "YbSW9ERBXukOXolLzeO_Jn"
/* RFC 7797 4.2: detached, unencoded payload "$.02" */
#define B64F_JWS                                                                                   \
    "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4Y" \
    "LPff6dmDY"
/* RFC 8037 A.4: Ed25519 */
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_JWS                                                                                     \
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvM" \
    "g3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

/* ---- keys ----------------------------------------------------------------------------------- */

static size_t
b64u(const char *s, unsigned char *out)
{
    long n = gw_base64_decode(s, strlen(s), out, 1);
    assert_true(n > 0);
    return (size_t)n;
}

static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *b)
{
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;

    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    return k;
}

static EVP_PKEY *
ec_key(const char *group, const char *x, const char *y)
{
    unsigned char pt[1 + 2 * 70];
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    size_t n;

    pt[0] = 4;
    n = b64u(x, pt + 1);
    assert_int_equal(b64u(y, pt + 1 + n), n);
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * n);
    return from_params("EC", b);
}

static EVP_PKEY *
rsa_key(const char *n64)
{
    unsigned char n[512];
    size_t len = b64u(n64, n);
    BIGNUM *bn = BN_bin2bn(n, (int)len, NULL), *e = BN_new();
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *k;

    BN_set_word(e, 65537);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
    k = from_params("RSA", b);
    BN_free(bn);
    BN_free(e);
    return k;
}

static EVP_PKEY *
ed_key(const char *x)
{
    unsigned char pub[40];
    size_t n = b64u(x, pub);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();

    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, n);
    return from_params("ED25519", b);
}

/* A partner's signing key k over pub (taken) or the secret, with kid (may be NULL). */
static void
key_of(struct pt_sign_key *k, EVP_PKEY *pub, const char *secret, const char *kid)
{
    memset(k, 0, sizeof *k);
    k->kid = kid != NULL ? strdup(kid) : NULL;
    if (secret != NULL) {
        k->secret = malloc(strlen(secret));
        k->secret_len = b64u(secret, k->secret);
        return;
    }
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pub, &der);
    k->pub = pub;
    pt_key_kind(pub, &k->type, &k->curve);
    gw_sha256_once(der, (size_t)n, k->x5t);
    gw_hex_encode(k->sha256, k->x5t, 32);
    OPENSSL_free(der);
}

/* ---- the fixture: two partners, the caller acme-bank and globex ------------------------------- */

struct env {
    struct tfx f;
    struct pt_partner acme, globex;
    const struct pt_partner *all[2];
    char dir[64];
};

static void
caller_keys(struct env *e, struct pt_sign_key *keys, size_t n)
{
    pt_sign_keys_free(e->acme.sign_keys, e->acme.nsign_keys);
    e->acme.sign_keys = keys;
    e->acme.nsign_keys = n;
}

static void
globex_keys(struct env *e, struct pt_sign_key *keys, size_t n)
{
    pt_sign_keys_free(e->globex.sign_keys, e->globex.nsign_keys);
    e->globex.sign_keys = keys;
    e->globex.nsign_keys = n;
}

static struct pt_sign_key *
one_key(EVP_PKEY *pub, const char *secret, const char *kid)
{
    struct pt_sign_key *k = calloc(1, sizeof *k);
    key_of(k, pub, secret, kid);
    return k;
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);

    tfx_init(&e->f);
    e->acme.id = "acme-bank";
    e->globex.id = "globex";
    e->all[0] = &e->acme;
    e->all[1] = &e->globex;
    e->f.x.partner = &e->acme;
    e->f.x.partners = e->all;
    e->f.x.npartners = 2;
    strcpy(e->dir, "/tmp/test_jws.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];

    tfx_free(&e->f);
    pt_sign_keys_free(e->acme.sign_keys, e->acme.nsign_keys);
    pt_sign_keys_free(e->globex.sign_keys, e->globex.nsign_keys);
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

/* Run a verify step of `algs` (a JSON list) on a request whose body is body, field (NULL: none)
 * holding value. Returns apply's result; the context keeps the failure. */
static int
verify(struct env *e, const char *algs, const char *field, const char *value, const char *body,
       enum tf_phase phase)
{
    char conf[512];
    struct tfx *f = &e->f;

    if (field != NULL)
        snprintf(conf, sizeof conf, "{\"verify\": {\"algorithms\": %s}, \"header\": \"%s\"}", algs,
                 field);
    else
        snprintf(conf, sizeof conf, "{\"verify\": {\"algorithms\": %s}}", algs);
    assert_non_null(tfx_create(f, &tf_jws_ops, phase, conf, e->dir));
    tf_ctx_clear_error(&f->x);
    f->x.signatures = NULL;
    tfx_message(f, phase, "application/jose", body);
    if (field != NULL && value != NULL)
        f->x.header_add(&f->x, &f->m, field, value, strlen(value));
    return tf_jws_ops.apply(f->inst, &f->m, &f->x);
}

static void
assert_refused(struct env *e, int rc, int status, const char *code)
{
    if (rc != TF_ERROR || e->f.x.err_status != status || strcmp(e->f.x.err_code, code) != 0)
        fail_msg("wanted %d %s, got rc %d: %d %s: %s", status, code, rc, e->f.x.err_status,
                 e->f.x.err_code ? e->f.x.err_code : "-",
                 e->f.x.err_detail ? e->f.x.err_detail : "-");
}

/* The newest note says alg, kid, partner, and the SHA-256 of `signed_input`. */
static void
assert_noted(struct env *e, const char *alg, const char *kid, const char *partner,
             const char *signed_input, size_t len)
{
    const struct tf_signature *s = e->f.x.signatures;
    unsigned char d[32];
    char hex[65];

    assert_non_null(s);
    assert_string_equal(s->kind, "jws");
    assert_string_equal(s->alg, alg);
    if (kid == NULL)
        assert_null(s->kid);
    else
        assert_string_equal(s->kid, kid);
    if (partner == NULL)
        assert_null(s->partner);
    else
        assert_string_equal(s->partner, partner);
    gw_sha256_once(signed_input, len, d);
    gw_hex_encode(hex, d, 32);
    hex[64] = '\0';
    assert_string_equal(s->signed_sha256, hex);
}

static size_t
input_len(const char *jws)
{
    return (size_t)(strrchr(jws, '.') - jws);
}

/* ---- the RFCs' examples ---------------------------------------------------------------------- */

static void
test_rfc7515_examples(void **state)
{
    struct env *e = *state;

    caller_keys(e, one_key(NULL, HS_KEY, NULL), 1);
    assert_int_equal(verify(e, "[\"HS256\"]", NULL, NULL, A1_JWS, TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), CLAIMS); /* unwrapped: the payload is the body */
    assert_noted(e, "HS256", NULL, "acme-bank", A1_JWS, input_len(A1_JWS));

    caller_keys(e, one_key(rsa_key(A2_N), NULL, NULL), 1);
    assert_int_equal(verify(e, "[\"RS256\"]", NULL, NULL, A2_JWS, TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), CLAIMS);
    assert_noted(e, "RS256", NULL, "acme-bank", A2_JWS, input_len(A2_JWS));
    assert_string_equal(e->f.x.signatures->cert_sha256, e->acme.sign_keys[0].sha256);

    caller_keys(e, one_key(ec_key("P-256", A3_X, A3_Y), NULL, "e9bc097a"), 1);
    assert_int_equal(verify(e, "[\"ES256\", \"RS256\"]", NULL, NULL, A3_JWS, TF_PHASE_REQUEST),
                     TF_DONE);
    assert_string_equal(tfx_body(&e->f), CLAIMS);

    caller_keys(e, one_key(ec_key("P-521", A4_X, A4_Y), NULL, NULL), 1);
    assert_int_equal(verify(e, "[\"ES512\"]", NULL, NULL, A4_JWS, TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), "Payload");

    caller_keys(e, one_key(ed_key(ED_X), NULL, NULL), 1);
    assert_int_equal(verify(e, "[\"EdDSA\"]", NULL, NULL, ED_JWS, TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), "Example of Ed25519 signing");

    /* one byte of the payload changed: the signature no longer verifies */
    char bad[sizeof A3_JWS];
    strcpy(bad, A3_JWS);
    bad[30] = bad[30] == 'A' ? 'B' : 'A';
    caller_keys(e, one_key(ec_key("P-256", A3_X, A3_Y), NULL, NULL), 1);
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, bad, TF_PHASE_REQUEST), 401,
                   "signature-invalid");
    assert_null(e->f.x.signatures);
}

static void
test_rfc7797_detached_unencoded(void **state)
{
    struct env *e = *state;
    const char *input = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19.$.02";

    caller_keys(e, one_key(NULL, HS_KEY, NULL), 1);
    assert_int_equal(verify(e, "[\"HS256\"]", "X-JWS-Signature", B64F_JWS, "$.02",
                            TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), "$.02"); /* the body goes on as it came */
    assert_noted(e, "HS256", NULL, "acme-bank", input, strlen(input));
    /* the same signature over another body */
    assert_refused(e, verify(e, "[\"HS256\"]", "X-JWS-Signature", B64F_JWS, "$.03",
                             TF_PHASE_REQUEST), 401, "signature-invalid");
}

/* ---- refusals --------------------------------------------------------------------------------- */

static void
test_missing_and_malformed(void **state)
{
    struct env *e = *state;

    caller_keys(e, one_key(ec_key("P-256", A3_X, A3_Y), NULL, NULL), 1);
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, NULL, TF_PHASE_REQUEST), 401,
                   "signature-missing");
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", NULL, "{}", TF_PHASE_REQUEST),
                   401, "signature-missing");
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, "{\"a\": 1}", TF_PHASE_REQUEST), 401,
                   "signature-invalid");
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, "a.b.c.d", TF_PHASE_REQUEST), 401,
                   "signature-invalid");
    /* a header that is not JSON, one with a duplicate member, one without alg */
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, "bm90IGpzb24.e30.AAAA",
                             TF_PHASE_REQUEST), 401, "signature-invalid");
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL,
                             "eyJhbGciOiJFUzI1NiIsImFsZyI6IkVTMjU2In0.e30.AAAA", TF_PHASE_REQUEST),
                   401, "signature-invalid");
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, "eyJraWQiOiJrIn0.e30.AAAA",
                             TF_PHASE_REQUEST), 401, "signature-invalid");
    /* crit naming what the gateway does not understand; b64 without crit (RFC 7797 6) */
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL,
                             "eyJhbGciOiJFUzI1NiIsImNyaXQiOlsiZXhwIl0sImV4cCI6MX0.e30.AAAA",
                             TF_PHASE_REQUEST), 401, "signature-invalid");
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL,
                             "eyJhbGciOiJFUzI1NiIsImI2NCI6ZmFsc2V9.e30.AAAA", TF_PHASE_REQUEST),
                   401, "signature-invalid");
    /* an upstream's answer that fails is the gateway's problem, not the partner's */
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, NULL, TF_PHASE_RESPONSE), 502,
                   "signature-missing");
}

static void
test_algorithms_refused(void **state)
{
    struct env *e = *state;
    EVP_PKEY *rsa = rsa_key(A2_N);
    unsigned char *der = NULL;
    int derlen = i2d_PUBKEY(rsa, &der);

    caller_keys(e, one_key(rsa, NULL, NULL), 1);
    /* {"alg":"none"}: never, whatever the list says */
    assert_refused(e, verify(e, "[\"RS256\"]", NULL, NULL, "eyJhbGciOiJub25lIn0." CLAIMS_B64 ".",
                             TF_PHASE_REQUEST), 401, "signature-algorithm-refused");
    /* a good signature whose algorithm the route does not accept */
    assert_refused(e, verify(e, "[\"ES256\"]", NULL, NULL, A2_JWS, TF_PHASE_REQUEST), 401,
                   "signature-algorithm-refused");
    /* the confusion attack: HS256 keyed with the partner's public key's bytes */
    const char *h = "eyJhbGciOiJIUzI1NiJ9";
    char input[256], jws[512], sig64[64];
    unsigned char mac[32];
    unsigned maclen = 0;
    snprintf(input, sizeof input, "%s.%s", h, "e30");
    HMAC(EVP_sha256(), der, derlen, (unsigned char *)input, strlen(input), mac, &maclen);
    sig64[gw_base64_encode(sig64, mac, 32, 1)] = '\0';
    snprintf(jws, sizeof jws, "%s.%s", input, sig64);
    assert_refused(e, verify(e, "[\"HS256\", \"RS256\"]", NULL, NULL, jws, TF_PHASE_REQUEST), 401,
                   "signature-algorithm-refused");
    OPENSSL_free(der);
}

/* ---- our signatures, and another partner's ------------------------------------------------- */

/* Write a fresh key of `type` (EC P-256, ED25519, RSA) to dir/name; returns it. */
static EVP_PKEY *
new_key(struct env *e, const char *type, const char *name)
{
    EVP_PKEY *k = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                  : strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                             : EVP_PKEY_Q_keygen(NULL, NULL, type);
    char path[128];
    FILE *fp;

    assert_non_null(k);
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    return k;
}

/* Sign body with a sign step of config conf; returns the header value or the body it made. */
static char *
sign(struct env *e, const char *conf, const char *body, const char *field)
{
    struct tfx *f = &e->f;
    const struct tf_header *h;

    if (tfx_create(f, &tf_jws_ops, TF_PHASE_RESPONSE, conf, e->dir) == NULL) {
        gw_diag_print(&f->d, stderr);
        fail_msg("sign config refused");
    }
    f->x.signatures = NULL;
    tfx_message(f, TF_PHASE_RESPONSE, "application/json", body);
    assert_int_equal(tf_jws_ops.apply(f->inst, &f->m, &f->x), TF_DONE);
    assert_non_null(f->x.signatures);
    assert_true(f->x.signatures->made);
    if (field == NULL)
        return strdup(tfx_body(f));
    h = f->x.header_get(&f->m, field);
    assert_non_null(h);
    return strndup(h->value, h->value_len);
}

static void
test_sign_and_verify(void **state)
{
    struct env *e = *state;
    const char *body = "{\"amount\": 12.50, \"currency\": \"EUR\"}";
    EVP_PKEY *ec = new_key(e, "EC", "ec.key"), *ed = new_key(e, "ED25519", "ed.key");
    char *v;

    /* detached, unencoded, in a field: the partner verifies it over the body as it is */
    v = sign(e, "{\"sign\": {\"key\": \"ec.key\", \"alg\": \"ES256\", \"kid\": \"gw-1\"}, "
                "\"header\": \"X-JWS-Signature\"}", body, "X-JWS-Signature");
    assert_non_null(strstr(v, ".."));
    assert_string_equal(tfx_body(&e->f), body);
    caller_keys(e, one_key(ec, NULL, "gw-1"), 1);
    assert_int_equal(verify(e, "[\"ES256\"]", "X-JWS-Signature", v, body, TF_PHASE_REQUEST),
                     TF_DONE);
    assert_string_equal(e->f.x.signatures->kid, "gw-1");
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", v, "{\"amount\": 99}",
                             TF_PHASE_REQUEST), 401, "signature-invalid");
    free(v);

    /* compact, the body: verified and unwrapped back to what was signed */
    v = sign(e, "{\"sign\": {\"key\": \"ed.key\", \"alg\": \"EdDSA\"}}", body, NULL);
    assert_int_equal(strchr(v, '.') != NULL, 1);
    caller_keys(e, one_key(ed, NULL, NULL), 1);
    assert_int_equal(verify(e, "[\"EdDSA\"]", NULL, NULL, v, TF_PHASE_REQUEST), TF_DONE);
    assert_string_equal(tfx_body(&e->f), body);
    free(v);
}

static void
test_wrong_signer(void **state)
{
    struct env *e = *state;
    const char *body = "<Document/>";
    EVP_PKEY *mine = new_key(e, "EC", "mine.key"), *theirs = new_key(e, "EC", "theirs.key");
    char *v;

    caller_keys(e, one_key(mine, NULL, "acme-1"), 1);
    globex_keys(e, one_key(theirs, NULL, "globex-1"), 1);
    /* signed with globex's key, naming it */
    v = sign(e, "{\"sign\": {\"key\": \"theirs.key\", \"alg\": \"ES256\", \"kid\": \"globex-1\"}, "
                "\"header\": \"X-JWS-Signature\"}", body, "X-JWS-Signature");
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", v, body, TF_PHASE_REQUEST), 401,
                   "signature-wrong-signer");
    assert_non_null(strstr(e->f.x.err_detail, "globex"));
    free(v);
    /* ... and naming no key: found by its verifying under globex's key */
    v = sign(e, "{\"sign\": {\"key\": \"theirs.key\", \"alg\": \"ES256\"}, "
                "\"header\": \"X-JWS-Signature\"}", body, "X-JWS-Signature");
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", v, body, TF_PHASE_REQUEST), 401,
                   "signature-wrong-signer");
    free(v);
    /* a kid the caller does not have, nobody's */
    v = sign(e, "{\"sign\": {\"key\": \"mine.key\", \"alg\": \"ES256\", \"kid\": \"nobody\"}, "
                "\"header\": \"X-JWS-Signature\"}", body, "X-JWS-Signature");
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", v, body, TF_PHASE_REQUEST), 401,
                   "signature-wrong-signer");
    free(v);
    /* a caller that is no partner with keys (an anonymous caller of a public route) */
    v = sign(e, "{\"sign\": {\"key\": \"mine.key\", \"alg\": \"ES256\"}, "
                "\"header\": \"X-JWS-Signature\"}", body, "X-JWS-Signature");
    e->f.x.partner = NULL;
    assert_refused(e, verify(e, "[\"ES256\"]", "X-JWS-Signature", v, body, TF_PHASE_REQUEST), 401,
                   "signature-wrong-signer");
    e->f.x.partner = &e->acme;
    free(v);
}

/* ---- configuration ------------------------------------------------------------------------------ */

static void
test_config(void **state)
{
    struct env *e = *state;
    struct tfx *f = &e->f;
    const char *bad[] = {
        "{\"verify\": {\"algorithms\": [\"none\"]}}",
        "{\"verify\": {\"algorithms\": [\"ES999\"]}}",
        "{\"verify\": {\"algorithms\": []}}",
        "{\"verify\": {\"algorithms\": [\"ES256\"]}, \"sign\": {}}",
        "{\"verify\": {\"algorithms\": [\"ES256\"]}, \"header\": \"bad name\"}",
        "{\"verify\": {\"algorithms\": [\"ES256\"]}, \"header\": \"X-S\", \"unwrap\": false}",
        "{\"sign\": {\"key\": \"ec.key\", \"alg\": \"HS256\"}}",
        "{\"sign\": {\"key\": \"ec.key\", \"alg\": \"RS256\"}}",
        "{\"sign\": {\"key\": \"absent.key\", \"alg\": \"ES256\"}}",
        "{\"verify\": {\"algorithms\": [\"ES256\"], \"alg\": 1}}",
    };

    EVP_PKEY_free(new_key(e, "EC", "ec.key"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_diag_free(&f->d);
        if (tfx_create(f, &tf_jws_ops, TF_PHASE_REQUEST, bad[i], e->dir) != NULL)
            fail_msg("accepted: %s", bad[i]);
        assert_true(f->d.n > 0);
    }
    gw_diag_free(&f->d);
    assert_null(tfx_create(f, &tf_jws_ops, TF_PHASE_REQUEST,
                           "{\"verify\": {\"algorithms\": [\"ES256\", \"none\"]}}", e->dir));
    TFX_ASSERT_DIAG(&f->d, "error: " TFX_FILE ":2:37: routes[0].request[0].jws.verify."
                           "algorithms[1]: \"none\" is never accepted: an unsigned message is "
                           "not signed");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rfc7515_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rfc7797_detached_unencoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_algorithms_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_signer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
