/* sign.c: an example external transform plugin for Portico: HMAC-SHA256 message signatures.
 *
 *   { "sign": { "key_file": "keys/acme-hmac.key" } }                  sign: add X-Signature
 *   { "sign": { "key_file": "keys/acme-hmac.key", "mode": "verify",
 *               "header": "X-Hub-Signature-256", "prefix": "sha256=",
 *               "encoding": "hex" } }                                  verify a partner's signature
 *
 * "sign" sets the header to prefix + HMAC-SHA256(key, body) in hex (lower case) or base64.
 * "verify" recomputes it and fails the exchange when the header is missing (401
 * "signature-missing") or differs (401 "signature-invalid"); on the response those are 502, the
 * upstream's answer being unauthenticated. The key is the content of key_file, a file of the
 * partner's bundle (one trailing line end dropped), so that it never sits in partner.json.
 *
 * It shows the plugin contract: it includes only transform.h (and jansson, whose values the
 * config is made of), uses nothing of the gateway but the tf_conf and tf_ctx function pointers,
 * and exports `portico_transforms`. The MAC and base64 come from OpenSSL's libcrypto, which the
 * plugin links itself. Build: see transforms/examples/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "transform.h"

/* ---- the transform ---------------------------------------------------------------------------- */

struct sign {
    unsigned char *key;
    size_t keylen;
    char header[64];
    char prefix[64];
    int base64;
    int verify;
};

/* A string member, or def when absent; NULL after reporting a wrong type. */
static const char *
conf_string(const struct tf_conf *cc, const char *key, const char *def)
{
    const json_t *v = json_object_get(cc->config, key);

    if (v == NULL)
        return def;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        cc->error(cc, key, "expected a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

static int
is_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return 0;
    return 1;
}

/* Read the key file into s->key. */
static int
key_load(const struct tf_conf *cc, struct sign *s, const char *name)
{
    char *buf;
    size_t len;

    if (cc->read_file(cc, "key_file", name, &buf, &len) < 0)
        return -1;
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len == 0) {
        cc->error(cc, "key_file", "%s is empty", name);
        free(buf);
        return -1;
    }
    if (len < 32)
        cc->warning(cc, "key_file", "a key of %zu bytes is weak: use 32 random bytes or more",
                    len);
    s->key = (unsigned char *)buf; /* kept: freed (and wiped) by sign_destroy */
    s->keylen = len;
    return 0;
}

/* Report keys the config does not know. Returns how many. */
static int
unknown_keys(const struct tf_conf *cc)
{
    static const char *const known[] = { "key_file", "header", "prefix", "encoding", "mode", NULL };
    const char *key;
    json_t *v;
    int bad = 0;

    json_object_foreach((json_t *)cc->config, key, v) {
        int ok = 0;
        for (int i = 0; known[i] != NULL && !ok; i++)
            ok = strcmp(key, known[i]) == 0;
        if (!ok) {
            cc->error(cc, key, "unknown key (expected one of: key_file, header, prefix, encoding, "
                               "mode)");
            bad++;
        }
    }
    return bad;
}

/* Check the values of the options that are strings. Returns how many are wrong. */
static int
check_values(const struct tf_conf *cc, const char *header, const char *prefix,
             const char *encoding, const char *mode)
{
    const struct sign *s = NULL; /* for sizeof only */
    int bad = 0;

    if (header != NULL && (!is_token(header) || strlen(header) >= sizeof s->header)) {
        cc->error(cc, "header", "\"%s\" is not a header name", header);
        bad++;
    }
    if (prefix != NULL && (strlen(prefix) >= sizeof s->prefix ||
                           strpbrk(prefix, "\r\n") != NULL)) {
        cc->error(cc, "prefix", "a prefix is one short line");
        bad++;
    }
    if (encoding != NULL && strcmp(encoding, "hex") != 0 && strcmp(encoding, "base64") != 0) {
        cc->error(cc, "encoding", "\"%s\" is not \"hex\" or \"base64\"", encoding);
        bad++;
    }
    if (mode != NULL && strcmp(mode, "sign") != 0 && strcmp(mode, "verify") != 0) {
        cc->error(cc, "mode", "\"%s\" is not \"sign\" or \"verify\"", mode);
        bad++;
    }
    return bad;
}

static void sign_destroy(void *inst);

static void *
sign_create(const struct tf_conf *cc)
{
    struct sign *s;
    const char *key, *header, *prefix, *encoding, *mode;
    int bad;

    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object { \"key_file\": \"...\" }");
        return NULL;
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        cc->error(cc, NULL, "out of memory");
        return NULL;
    }
    bad = unknown_keys(cc);
    key = conf_string(cc, "key_file", NULL);
    header = conf_string(cc, "header", "X-Signature");
    prefix = conf_string(cc, "prefix", "");
    encoding = conf_string(cc, "encoding", "hex");
    mode = conf_string(cc, "mode", "sign");
    if (key == NULL && json_object_get(cc->config, "key_file") == NULL)
        cc->error(cc, "key_file", "required key \"key_file\" is missing");
    bad += key == NULL || header == NULL || prefix == NULL || encoding == NULL || mode == NULL;
    bad += check_values(cc, header, prefix, encoding, mode);
    if (bad > 0 || key_load(cc, s, key) < 0) {
        sign_destroy(s);
        return NULL;
    }
    strcpy(s->header, header);
    strcpy(s->prefix, prefix);
    s->base64 = strcmp(encoding, "base64") == 0;
    s->verify = strcmp(mode, "verify") == 0;
    return s;
}

/* prefix + the body's signature, NUL-terminated, from the exchange's arena. */
static char *
signature(const struct sign *s, const struct tf_message *m, struct tf_ctx *x, size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    size_t pl = strlen(s->prefix), n = pl;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *out = x->alloc(x, pl + 65);

    HMAC(EVP_sha256(), s->key, (int)s->keylen, (const unsigned char *)(m->body ? m->body : ""),
         m->body ? m->body_len : 0, mac, &maclen);
    memcpy(out, s->prefix, pl);
    if (!s->base64) {
        for (unsigned i = 0; i < maclen; i++) {
            out[n++] = hex[mac[i] >> 4];
            out[n++] = hex[mac[i] & 15];
        }
    } else {
        n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, mac, (int)maclen);
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* Compare without an early exit, so that timing tells nothing about the expected value. */
static int
same(const char *a, size_t alen, const char *b, size_t blen, int fold)
{
    unsigned char diff = alen != blen;

    for (size_t i = 0; i < alen && i < blen; i++) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (fold && cb >= 'A' && cb <= 'F')
            cb = (unsigned char)(cb + ('a' - 'A'));
        diff |= ca ^ cb;
    }
    return diff == 0;
}

static int
sign_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct sign *s = inst;
    const struct tf_header *h;
    size_t len;
    char *want = signature(s, m, x, &len);
    int status = m->phase == TF_PHASE_REQUEST ? 401 : 502;

    if (!s->verify) {
        x->header_set(x, m, s->header, want, len);
        return TF_DONE;
    }
    if ((h = x->header_get(m, s->header)) == NULL)
        return x->fail(x, status, "signature-missing", NULL, "sign: no %s header", s->header);
    if (!same(want, len, h->value, h->value_len, !s->base64))
        return x->fail(x, status, "signature-invalid", NULL,
                       "sign: the %s header does not match the body", s->header);
    return TF_DONE;
}

static void
sign_destroy(void *inst)
{
    struct sign *s = inst;

    if (s != NULL) {
        OPENSSL_cleanse(s->key, s->keylen);
        free(s->key);
        free(s);
    }
}

static const struct tf_ops sign_ops = {
    .abi = TF_ABI_VERSION,
    .name = "sign",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = sign_create,
    .apply = sign_apply,
    .destroy = sign_destroy,
};

/* What the gateway looks for after dlopen: every transform of this plugin, NULL-terminated. */
const struct tf_ops *const portico_transforms[] = { &sign_ops, NULL };
