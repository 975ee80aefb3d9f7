/* sig.c: see sig.h. */
#include "sig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bundle_signing.h"
#include "context.h"
#include "sha256.h"
#include "text.h"

#define XMLDSIG_MORE "http://www.w3.org/2001/04/xmldsig-more#"
#define XMLDSIG_MORE07 "http://www.w3.org/2007/05/xmldsig-more#"

static const struct tf_sig_alg algs[] = {
    { "HS256", "hmac-sha256", XMLDSIG_MORE "hmac-sha256", TF_SIG_HMAC, "SHA256", 0, 0 },
    { "HS384", NULL, XMLDSIG_MORE "hmac-sha384", TF_SIG_HMAC, "SHA384", 0, 0 },
    { "HS512", NULL, XMLDSIG_MORE "hmac-sha512", TF_SIG_HMAC, "SHA512", 0, 0 },
    { "RS256", "rsa-v1_5-sha256", XMLDSIG_MORE "rsa-sha256", TF_SIG_RSA, "SHA256", 0, 0 },
    { "RS384", NULL, XMLDSIG_MORE "rsa-sha384", TF_SIG_RSA, "SHA384", 0, 0 },
    { "RS512", NULL, XMLDSIG_MORE "rsa-sha512", TF_SIG_RSA, "SHA512", 0, 0 },
    { "PS256", NULL, XMLDSIG_MORE07 "sha256-rsa-MGF1", TF_SIG_RSA_PSS, "SHA256", 0, 0 },
    { "PS384", NULL, XMLDSIG_MORE07 "sha384-rsa-MGF1", TF_SIG_RSA_PSS, "SHA384", 0, 0 },
    { "PS512", "rsa-pss-sha512", XMLDSIG_MORE07 "sha512-rsa-MGF1", TF_SIG_RSA_PSS, "SHA512", 0,
      0 },
    { "ES256", "ecdsa-p256-sha256", XMLDSIG_MORE "ecdsa-sha256", TF_SIG_EC, "SHA256",
      NID_X9_62_prime256v1, 32 },
    { "ES384", "ecdsa-p384-sha384", XMLDSIG_MORE "ecdsa-sha384", TF_SIG_EC, "SHA384",
      NID_secp384r1, 48 },
    { "ES512", NULL, XMLDSIG_MORE "ecdsa-sha512", TF_SIG_EC, "SHA512", NID_secp521r1, 66 },
    { "EdDSA", "ed25519", "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
      TF_SIG_ED25519, NULL, 0, 0 },
};
#define NALGS (sizeof algs / sizeof algs[0])

const char *
tf_sig_alg_name(const struct tf_sig_alg *a, enum tf_sig_names names)
{
    return names == TF_SIG_JOSE ? a->jose : names == TF_SIG_HTTP ? a->http : a->xml;
}

const struct tf_sig_alg *
tf_sig_alg_find(enum tf_sig_names names, const char *name, size_t len)
{
    for (size_t i = 0; i < NALGS; i++) {
        const char *n = tf_sig_alg_name(&algs[i], names);
        if (n != NULL && strlen(n) == len && memcmp(n, name, len) == 0)
            return &algs[i];
    }
    return NULL;
}

const struct tf_sig_alg *
tf_sig_alg_at(size_t i)
{
    return i < NALGS ? &algs[i] : NULL;
}

int
tf_sig_allowed(tf_sig_algs allowed, const struct tf_sig_alg *a)
{
    return a != NULL && (allowed & (1u << (a - algs))) != 0;
}

tf_sig_algs
tf_sig_algs_conf(const struct tf_conf *cc, const json_t *obj, const char *sub,
                 enum tf_sig_names names)
{
    const json_t *list = json_object_get(obj, "algorithms");
    const char *in = sub != NULL ? sub : "";
    const char *dot = sub != NULL ? "." : "";
    tf_sig_algs set = 0;
    char at[96];
    size_t i;
    json_t *v;

    if (!json_is_array(list) || json_array_size(list) == 0) {
        snprintf(at, sizeof at, "%s%salgorithms", in, dot);
        cc->error(cc, at, "the algorithms accepted: a non-empty list of names");
        return 0;
    }
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        const struct tf_sig_alg *a = s != NULL ? tf_sig_alg_find(names, s, strlen(s)) : NULL;
        snprintf(at, sizeof at, "%s%salgorithms[%zu]", in, dot, i);
        if (s != NULL && strcasecmp(s, "none") == 0) {
            cc->error(cc, at, "\"none\" is never accepted: an unsigned message is not signed");
            return 0;
        }
        if (a == NULL) {
            cc->error(cc, at, "not an algorithm this step knows");
            return 0;
        }
        if (tf_sig_allowed(set, a))
            cc->warning(cc, at, "\"%s\" is listed twice", s);
        set |= 1u << (a - algs);
    }
    return set;
}

/* Does a fit a key of that kind (pt_key_kind)? */
static int
kind_fits(const struct tf_sig_alg *a, int type, int curve)
{
    switch (a->family) {
    case TF_SIG_RSA:
        return type == EVP_PKEY_RSA;
    case TF_SIG_RSA_PSS:
        return type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS;
    case TF_SIG_EC:
        return type == EVP_PKEY_EC && curve == a->curve;
    case TF_SIG_ED25519:
        return type == EVP_PKEY_ED25519;
    case TF_SIG_HMAC:
        break;
    }
    return 0;
}

int
tf_sig_key_fits(const struct tf_sig_alg *a, const struct pt_sign_key *k)
{
    if (a->family == TF_SIG_HMAC)
        return k->secret != NULL && k->pub == NULL;
    return k->pub != NULL && kind_fits(a, k->type, k->curve);
}

/* ---- ECDSA: JOSE's raw r||s and OpenSSL's DER ------------------------------------------------- */

static unsigned char *
ec_raw_to_der(const unsigned char *raw, size_t half, int *derlen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *sv = BN_bin2bn(raw + half, (int)half, NULL);
    unsigned char *der = NULL;

    *derlen = -1;
    if (s != NULL && r != NULL && sv != NULL && ECDSA_SIG_set0(s, r, sv) == 1) {
        r = sv = NULL; /* s owns them */
        *derlen = i2d_ECDSA_SIG(s, &der);
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return *derlen > 0 ? der : NULL;
}

static int
ec_der_to_raw(const unsigned char *der, size_t n, size_t half, unsigned char *raw)
{
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &der, (long)n);
    const BIGNUM *r, *sv;
    int ok;

    if (s == NULL)
        return -1;
    ECDSA_SIG_get0(s, &r, &sv);
    ok = BN_bn2binpad(r, raw, (int)half) == (int)half &&
         BN_bn2binpad(sv, raw + half, (int)half) == (int)half;
    ECDSA_SIG_free(s);
    return ok ? 0 : -1;
}

/* ---- verify and sign --------------------------------------------------------------------------- */

static int
hmac(const struct tf_sig_alg *a, const unsigned char *key, size_t keylen, const void *data,
     size_t n, unsigned char *out, size_t *outlen)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->md, 0),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
             EVP_MAC_update(ctx, data, n) == 1 &&
             EVP_MAC_final(ctx, out, outlen, EVP_MAX_MD_SIZE) == 1;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

/* A digest-sign or digest-verify context for a with key (padding and salt for PSS). */
static EVP_MD_CTX *
md_ctx(const struct tf_sig_alg *a, EVP_PKEY *key, int sign)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    if (ctx == NULL)
        return NULL;
    ok = sign ? EVP_DigestSignInit_ex(ctx, &pctx, a->md, NULL, NULL, key, NULL)
              : EVP_DigestVerifyInit_ex(ctx, &pctx, a->md, NULL, NULL, key, NULL);
    if (ok == 1 && a->family == TF_SIG_RSA_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    else if (ok == 1 && a->family == TF_SIG_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    if (ok != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int
tf_sig_verify(const struct tf_sig_alg *a, const struct pt_sign_key *k, const void *data,
              size_t n, const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE], *der = NULL;
    size_t maclen = 0;
    int derlen = 0, ok = 0;
    EVP_MD_CTX *ctx;

    if (!tf_sig_key_fits(a, k))
        return 0;
    if (a->family == TF_SIG_HMAC)
        return hmac(a, k->secret, k->secret_len, data, n, mac, &maclen) == 0 &&
               maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0;
    if (a->family == TF_SIG_EC) {
        if (siglen != 2 * a->half || (der = ec_raw_to_der(sig, a->half, &derlen)) == NULL)
            goto out;
        sig = der;
        siglen = (size_t)derlen;
    }
    if ((ctx = md_ctx(a, k->pub, 0)) != NULL) {
        ok = EVP_DigestVerify(ctx, sig, siglen, data, n) == 1;
        EVP_MD_CTX_free(ctx);
    }
out:
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

int
tf_sig_sign(struct tf_ctx *x, const struct tf_sig_own *o, const void *data, size_t n,
            unsigned char **sig, size_t *siglen)
{
    const struct tf_sig_alg *a = o->alg;
    EVP_MD_CTX *ctx = md_ctx(a, o->key, 1);
    size_t len = 0;
    unsigned char *der = NULL;
    int ok = ctx != NULL && EVP_DigestSign(ctx, NULL, &len, data, n) == 1 &&
             (der = OPENSSL_malloc(len)) != NULL && EVP_DigestSign(ctx, der, &len, data, n) == 1;

    EVP_MD_CTX_free(ctx);
    if (ok && a->family == TF_SIG_EC) {
        *sig = x->alloc(x, 2 * a->half);
        ok = ec_der_to_raw(der, len, a->half, *sig) == 0;
        *siglen = 2 * a->half;
    } else if (ok) {
        *sig = x->alloc(x, len);
        memcpy(*sig, der, len);
        *siglen = len;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    if (!ok)
        return x->fail(x, 500, "signing-failed", NULL, "signing with %s failed",
                       a->jose);
    return 0;
}

/* ---- our key -------------------------------------------------------------------------------------- */

int
tf_sig_own_conf(const struct tf_conf *cc, const json_t *obj, const char *sub,
                enum tf_sig_names names, struct tf_sig_own *o)
{
    static const char *const keys[] = { "key", "certificate", "kid", "alg", NULL };
    const struct gw_jctx *c = tf_conf_jctx(cc);
    char path[GW_JPATH_MAX], kpath[GW_JPATH_MAX];
    const char *key, *cert, *kid, *alg;
    unsigned char *der = NULL;
    int len;

    gw_jpath_key(path, sizeof path, cc->path, sub);
    if (!json_is_object(obj)) {
        cc->error(cc, sub, "must be an object: {\"key\", \"alg\", \"certificate\", \"kid\"}");
        return -1;
    }
    if (gw_jctx_check_keys(c, obj, path, keys) > 0)
        return -1;
    key = gw_jctx_string(c, obj, path, "key", 1);
    alg = gw_jctx_string(c, obj, path, "alg", 1);
    cert = gw_jctx_string(c, obj, path, "certificate", 0);
    kid = gw_jctx_string(c, obj, path, "kid", 0);
    if (key == NULL || alg == NULL)
        return -1;
    if ((o->alg = tf_sig_alg_find(names, alg, strlen(alg))) == NULL) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "alg"),
                      "not an algorithm this step knows");
        return -1;
    }
    if (o->alg->family == TF_SIG_HMAC) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "alg"),
                      "the gateway signs with a private key, not a shared secret");
        return -1;
    }
    if ((o->key = gw_jctx_load_key(c, gw_jpath_key(kpath, sizeof kpath, path, "key"), key,
                                   NULL)) == NULL)
        return -1;
    int type, curve;
    pt_key_kind(o->key, &type, &curve);
    if (!kind_fits(o->alg, type, curve)) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "alg"),
                      "%s does not fit the key in %s", alg, key);
        return -1;
    }
    if (kid != NULL)
        o->kid = strdup(kid);
    if (cert != NULL) {
        STACK_OF(X509) *certs = gw_jctx_load_certs(
            c, gw_jpath_key(kpath, sizeof kpath, path, "certificate"), cert, NULL);
        if (certs == NULL)
            return -1;
        o->cert = sk_X509_shift(certs);
        sk_X509_pop_free(certs, X509_free);
        if (X509_check_private_key(o->cert, o->key) != 1) {
            ERR_clear_error();
            gw_jctx_error(c, kpath, "the certificate in %s is not the key's", cert);
            return -1;
        }
        gw_jctx_check_validity(c, kpath, o->cert, cert);
        if ((len = i2d_X509(o->cert, &der)) > 0) {
            gw_sha256_once(der, (size_t)len, o->x5t);
            gw_hex_encode(o->sha256, o->x5t, 32);
        }
        OPENSSL_free(der);
    }
    return 0;
}

void
tf_sig_own_free(struct tf_sig_own *o)
{
    EVP_PKEY_free(o->key);
    X509_free(o->cert);
    free(o->kid);
    *o = (struct tf_sig_own){ 0 };
}

/* ---- who signed ---------------------------------------------------------------------------------- */

int
tf_sig_refuse(struct tf_ctx *x, const struct tf_message *m, const char *code, const char *fmt,
              ...)
{
    char detail[512];

    GW_FORMAT_ARGS(detail, sizeof detail, fmt);
    return x->fail(x, m->phase == TF_PHASE_REQUEST ? 401 : 502, code, NULL, "%s", detail);
}

/* Is k one that kid and x5t name (each when given)? */
static int
named(const struct pt_sign_key *k, const char *kid, const unsigned char *x5t)
{
    if (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0))
        return 0;
    return x5t == NULL || (k->pub != NULL && memcmp(k->x5t, x5t, 32) == 0);
}

/* The other partner whose key named by kid / x5t fits a and, when check is not NULL, verifies. */
static const struct pt_partner *
other_signer(const struct tf_ctx *x, const struct tf_sig_alg *a, const char *kid,
             const unsigned char *x5t, int (*check)(const struct pt_sign_key *, void *), void *arg)
{
    for (size_t i = 0; i < x->npartners; i++) {
        const struct pt_partner *p = x->partners[i];
        if (p == x->partner)
            continue;
        for (size_t j = 0; j < p->nsign_keys; j++) {
            const struct pt_sign_key *k = &p->sign_keys[j];
            if (tf_sig_key_fits(a, k) && named(k, kid, x5t) && (check == NULL || check(k, arg)))
                return p;
        }
    }
    return NULL;
}

static int
has_secret(const struct pt_partner *p)
{
    for (size_t i = 0; p != NULL && i < p->nsign_keys; i++)
        if (p->sign_keys[i].secret != NULL)
            return 1;
    return 0;
}

int
tf_sig_find_signer(struct tf_ctx *x, const struct tf_message *m, const char *who,
                   const struct tf_sig_alg *a, const char *kid, const unsigned char *x5t,
                   int (*check)(const struct pt_sign_key *k, void *arg), void *arg,
                   const struct pt_sign_key **out)
{
    const struct pt_partner *p = x->partner, *other;
    const char *name = a->jose;
    size_t tried = 0;

    for (size_t i = 0; p != NULL && i < p->nsign_keys; i++) {
        const struct pt_sign_key *k = &p->sign_keys[i];
        if (!tf_sig_key_fits(a, k) || !named(k, kid, x5t))
            continue;
        tried++;
        if (check(k, arg)) {
            *out = k;
            return 0;
        }
    }
    if ((kid != NULL || x5t != NULL) && (other = other_signer(x, a, kid, x5t, NULL, NULL)) != NULL)
        return tf_sig_refuse(x, m, "signature-wrong-signer", "%s: the signature names a key of "
                             "partner %s, not of the caller", who, other->id);
    if ((other = other_signer(x, a, NULL, NULL, check, arg)) != NULL)
        return tf_sig_refuse(x, m, "signature-wrong-signer", "%s: the signature is partner %s's, "
                             "not the caller's", who, other->id);
    if (tried == 0 && a->family == TF_SIG_HMAC && !has_secret(p))
        return tf_sig_refuse(x, m, "signature-algorithm-refused", "%s: %s needs a secret shared "
                             "with the caller, which has none (a public key is never an HMAC "
                             "key)", who, name);
    if (tried == 0)
        return tf_sig_refuse(x, m, "signature-wrong-signer", "%s: no signing key of the caller "
                             "fits %s%s%s%s", who, name, kid != NULL ? " with kid \"" : "",
                             kid != NULL ? kid : "", kid != NULL ? "\"" : "");
    return tf_sig_refuse(x, m, "signature-invalid", "%s: the signature does not verify", who);
}

/* ---- what the audit keeps ------------------------------------------------------------------------ */

void
tf_sig_note(struct tf_ctx *x, const struct tf_message *m, const char *kind,
            const struct tf_sig_alg *a, enum tf_sig_names names, const char *kid,
            const struct pt_sign_key *k, const struct tf_sig_own *own, const void *data, size_t n)
{
    struct tf_signature *s = x->alloc(x, sizeof *s);
    unsigned char d[32];
    const char *cert = k != NULL ? k->sha256 : own->sha256;

    *s = (struct tf_signature){
        .next = x->signatures,
        .phase = m->phase,
        .kind = kind,
        .made = k == NULL,
        .alg = tf_sig_alg_name(a, names),
        .kid = kid,
        .partner = k != NULL && x->partner != NULL ? x->partner->id : NULL,
    };
    memcpy(s->cert_sha256, cert, strlen(cert) + 1);
    gw_sha256_once(data, n, d);
    gw_hex_encode(s->signed_sha256, d, 32);
    s->signed_sha256[64] = '\0';
    x->signatures = s;
}
