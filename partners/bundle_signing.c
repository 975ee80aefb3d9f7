/* bundle_signing.c: the keys a partner signs its messages with (see bundle_signing.h). */
#include "bundle_signing.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "alloc.h"
#include "sha256.h"
#include "text.h"

#define SECRET_MIN 32 /* bytes: an HMAC-SHA-256 key as long as its output (RFC 7518 3.2) */

void
pt_key_kind(const EVP_PKEY *k, int *type, int *curve)
{
    char name[64];
    size_t len = 0;

    *type = EVP_PKEY_get_base_id(k);
    *curve = 0;
    if (*type == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len)) {
        *curve = OBJ_sn2nid(name);
        if (*curve == NID_undef)
            *curve = EC_curve_nist2nid(name);
    }
}

static void
key_digest(struct pt_sign_key *k, const unsigned char *der, size_t n)
{
    gw_sha256_once(der, n, k->x5t);
    gw_hex_encode(k->sha256, k->x5t, 32);
    k->sha256[64] = '\0';
}

static int
load_certificate(const struct gw_jctx *c, const char *path, const char *name,
                 struct pt_sign_key *k)
{
    char *file = NULL;
    STACK_OF(X509) *certs = gw_jctx_load_certs(c, path, name, &file);
    unsigned char *der = NULL;
    int n;

    if (certs == NULL)
        return -1;
    k->cert = sk_X509_shift(certs);
    sk_X509_pop_free(certs, X509_free);
    gw_jctx_check_validity(c, path, k->cert, file);
    free(file);
    k->pub = X509_get_pubkey(k->cert);
    if (k->pub == NULL || (n = i2d_X509(k->cert, &der)) <= 0) {
        gw_jctx_error(c, path, "the certificate's public key cannot be read");
        ERR_clear_error();
        return -1;
    }
    key_digest(k, der, (size_t)n);
    OPENSSL_free(der);
    return 0;
}

static int
load_public_key(const struct gw_jctx *c, const char *path, const char *name,
                struct pt_sign_key *k)
{
    char *buf = NULL, *file = NULL;
    size_t len;
    unsigned char *der = NULL;
    int n = 0;

    if (gw_jctx_read_file(c, path, name, &buf, &len, &file) < 0)
        return -1;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    k->pub = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (k->pub == NULL || (n = i2d_PUBKEY(k->pub, &der)) <= 0)
        gw_jctx_error(c, path, "no public key in %s (expected PEM \"BEGIN PUBLIC KEY\")", file);
    else
        key_digest(k, der, (size_t)n);
    ERR_clear_error();
    OPENSSL_free(der);
    free(buf);
    free(file);
    return n > 0 ? 0 : -1;
}

static int
load_secret(const struct gw_jctx *c, const char *path, const char *name, struct pt_sign_key *k)
{
    char *buf = NULL, *file = NULL;
    size_t len;
    long n;

    if (gw_jctx_read_file(c, path, name, &buf, &len, &file) < 0)
        return -1;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    k->secret = gw_xmalloc(len * 3 / 4 + 3);
    n = gw_base64_decode(buf, len, k->secret, 1);
    if (n < SECRET_MIN)
        gw_jctx_error(c, path, "%s does not hold a base64url secret of at least %d bytes", file,
                      SECRET_MIN);
    else
        k->secret_len = (size_t)n;
    OPENSSL_cleanse(buf, len);
    free(buf);
    free(file);
    return n < SECRET_MIN ? -1 : 0;
}

static void
load_key(const struct gw_jctx *c, const json_t *o, const char *path, struct pt_sign_key *k)
{
    static const char *const keys[] = { "certificate", "public_key", "secret", "kid", NULL };
    static const char *const kinds[] = { "certificate", "public_key", "secret" };
    const char *name = NULL, *kind = NULL, *kid;
    char kpath[GW_JPATH_MAX];

    gw_jctx_check_keys(c, o, path, keys);
    for (size_t i = 0; i < 3; i++) {
        const char *v = gw_jctx_string(c, o, path, kinds[i], 0);
        if (v == NULL)
            continue;
        if (kind != NULL) {
            gw_jctx_error(c, path, "names both \"%s\" and \"%s\": one key per entry", kind,
                          kinds[i]);
            return;
        }
        kind = kinds[i];
        name = v;
    }
    if (kind == NULL) {
        gw_jctx_error(c, path, "names no key: one of \"certificate\", \"public_key\" or "
                      "\"secret\"");
        return;
    }
    if ((kid = gw_jctx_string(c, o, path, "kid", 0)) != NULL)
        k->kid = strdup(kid);
    gw_jpath_key(kpath, sizeof kpath, path, kind);
    if (kind[0] == 'c')
        load_certificate(c, kpath, name, k);
    else if (kind[0] == 'p')
        load_public_key(c, kpath, name, k);
    else
        load_secret(c, kpath, name, k);
    if (k->pub != NULL)
        pt_key_kind(k->pub, &k->type, &k->curve);
}

void
pt_bundle_signing(const struct gw_jctx *c, const json_t *root, struct pt_partner *p)
{
    json_t *list = gw_jctx_get(c, root, "", "signing", JSON_ARRAY, 0);
    char ipath[GW_JPATH_MAX];
    size_t n = list != NULL ? json_array_size(list) : 0;

    if (list != NULL && n == 0)
        gw_jctx_error(c, "signing", "an empty list: leave \"signing\" out instead");
    if (n == 0)
        return;
    p->sign_keys = gw_xcalloc(n, sizeof *p->sign_keys);
    p->nsign_keys = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(list, i);
        struct pt_sign_key *k = &p->sign_keys[i];
        gw_jpath_index(ipath, sizeof ipath, "signing", i);
        if (!json_is_object(o)) {
            gw_jctx_error(c, ipath, "must be an object, not %s", gw_json_type_name(o));
            continue;
        }
        load_key(c, o, ipath, k);
        for (size_t j = 0; k->kid != NULL && j < i; j++)
            if (p->sign_keys[j].kid != NULL && strcmp(p->sign_keys[j].kid, k->kid) == 0)
                gw_jctx_error(c, ipath, "kid \"%s\" is already used by signing[%zu]", k->kid, j);
    }
}

void
pt_sign_keys_free(struct pt_sign_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(k[i].kid);
        X509_free(k[i].cert);
        EVP_PKEY_free(k[i].pub);
        if (k[i].secret != NULL)
            OPENSSL_cleanse(k[i].secret, k[i].secret_len);
        free(k[i].secret);
    }
    free(k);
}
