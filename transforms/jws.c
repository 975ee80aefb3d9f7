/* jws.c: the `jws` transform: verify a partner's JSON Web Signature (RFC 7515), or sign ours.
 *
 *   { "jws": { "verify": { "algorithms": ["ES256"] } } }                  the body is a compact JWS
 *   { "jws": { "verify": { "algorithms": ["ES256"] }, "header": "X-JWS-Signature" } }
 *   { "jws": { "sign": { "key": "our.key", "alg": "ES256", "kid": "k1" },
 *              "header": "X-JWS-Signature" } }
 *
 * With "header", the field holds a detached JWS over the body (RFC 7515 Appendix F), its payload
 * unencoded when the protected header says "b64": false (RFC 7797: the form for a body that must
 * reach its reader byte for byte); without it, the body is the compact JWS, and a verified one is
 * unwrapped (the payload becomes the body) unless "unwrap" is false. We sign with a private key
 * into the header (detached, unencoded) or the body (compact, application/jose).
 *
 * Why OpenSSL directly rather than cjose: cjose (libcjose-dev) has no unencoded payload (RFC 7797)
 * and would parse every header with its own allocations; what a verification needs is the
 * header's few members, the signing input and one OpenSSL call (transforms/sig.c), and the keys
 * come from the partners' bundles, not from JWKs.
 *
 * Keys are never taken from the message: "jwk", "jku", "x5u" and "x5c" are not read; "kid" and
 * "x5t#S256" only name one of the calling partner's keys (transforms/sig.h).
 */
#include "builtins_sig.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "http_parser.h"
#include "sig.h"
#include "text.h"

#define JWS_HEADER_MAX 4096 /* bytes of a decoded protected header */

struct jws {
    int sign;
    char *field;                 /* "header": the field that holds the JWS, or NULL: the body */
    int unwrap;                  /* verify from the body: the payload becomes the body */
    tf_sig_algs algs;            /* verify */
    struct tf_sig_own own;       /* sign */
    char *protected;             /* sign: BASE64URL(our protected header) */
    size_t protected_len;
};

/* ---- config ---------------------------------------------------------------------------------- */

static void
jws_free(void *inst)
{
    struct jws *j = inst;

    if (j == NULL)
        return;
    tf_sig_own_free(&j->own);
    free(j->field);
    free(j->protected);
    free(j);
}

/* Our protected header, written once: alg, kid, x5t#S256, and b64 false for a detached JWS. */
static int
protected_header(struct jws *j)
{
    json_t *h = json_object();
    char x5t[44];
    char *text;
    size_t n;

    json_object_set_new(h, "alg", json_string(j->own.alg->jose));
    if (j->own.kid != NULL)
        json_object_set_new(h, "kid", json_string(j->own.kid));
    if (j->own.cert != NULL)
        json_object_set_new(h, "x5t#S256",
                            json_stringn(x5t, gw_base64_encode(x5t, j->own.x5t, 32, 1)));
    if (j->field != NULL) {
        json_object_set_new(h, "b64", json_false());
        json_object_set_new(h, "crit", json_pack("[s]", "b64"));
    }
    text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (text == NULL)
        return -1;
    n = strlen(text);
    j->protected = gw_xmalloc(n * 4 / 3 + 4);
    j->protected_len = gw_base64_encode(j->protected, (unsigned char *)text, n, 1);
    free(text);
    return 0;
}

static void *
jws_create(const struct tf_conf *cc)
{
    static const char *const keys[] = { "verify", "sign", "header", "unwrap", NULL };
    static const char *const verify_keys[] = { "algorithms", NULL };
    const struct gw_jctx *c = tf_conf_jctx(cc);
    const json_t *verify = json_object_get(cc->config, "verify");
    const json_t *sign = json_object_get(cc->config, "sign");
    const json_t *field = json_object_get(cc->config, "header");
    const json_t *unwrap = json_object_get(cc->config, "unwrap");
    char path[GW_JPATH_MAX];
    struct jws *j;

    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "must be an object: {\"verify\": {...}} or {\"sign\": {...}}");
        return NULL;
    }
    if (gw_jctx_check_keys(c, cc->config, cc->path, keys) > 0)
        return NULL;
    if ((verify == NULL) == (sign == NULL)) {
        cc->error(cc, NULL, "needs exactly one of \"verify\" and \"sign\"");
        return NULL;
    }
    if (field != NULL && (!json_is_string(field) || json_string_length(field) == 0 ||
                          !gw_http_token_valid(json_string_value(field), json_string_length(field)))) {
        cc->error(cc, "header", "must be a header field name");
        return NULL;
    }
    if (unwrap != NULL && (!json_is_boolean(unwrap) || field != NULL || sign != NULL)) {
        cc->error(cc, "unwrap", "a boolean, for a JWS verified from the body only");
        return NULL;
    }
    j = gw_xcalloc(1, sizeof *j);
    j->sign = sign != NULL;
    j->unwrap = unwrap == NULL || json_is_true(unwrap);
    j->field = field != NULL ? strdup(json_string_value(field)) : NULL;
    if (verify != NULL) {
        if (!json_is_object(verify)) {
            cc->error(cc, "verify", "must be an object: {\"algorithms\": [...]}");
            goto fail;
        }
        if (gw_jctx_check_keys(c, verify, gw_jpath_key(path, sizeof path, cc->path, "verify"),
                               verify_keys) > 0 ||
            (j->algs = tf_sig_algs_conf(cc, verify, "verify", TF_SIG_JOSE)) == 0)
            goto fail;
    } else if (tf_sig_own_conf(cc, sign, "sign", TF_SIG_JOSE, &j->own) < 0 ||
               protected_header(j) < 0) {
        goto fail;
    }
    return j;
fail:
    jws_free(j);
    return NULL;
}

/* ---- the JWS's protected header ---------------------------------------------------------------- */

struct jws_header {
    const struct tf_sig_alg *alg;
    const char *alg_name;
    const char *kid;             /* in the arena, or NULL */
    unsigned char x5t[32];
    int has_x5t;
    int b64;                     /* the payload is base64url (the default) */
    const char *cty;             /* in the arena, or NULL */
};

/* Read BASE64URL(header) into h: 0, or a refusal. */
static int
read_header(struct tf_ctx *x, const struct tf_message *m, const char *b64, size_t n,
            struct jws_header *h)
{
    unsigned char buf[JWS_HEADER_MAX + 3];
    long len = n <= JWS_HEADER_MAX * 4 / 3 ? gw_base64_decode(b64, n, buf, 1) : -1;
    json_t *o, *v, *crit;
    json_error_t err;
    int rc = -1;
    size_t i;

    if (len < 0)
        return tf_sig_refuse(x, m, "signature-invalid", "jws: the protected header is not "
                             "base64url (or is over %d bytes)", JWS_HEADER_MAX);
    o = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(o)) {
        rc = tf_sig_refuse(x, m, "signature-invalid", "jws: the protected header is not a JSON "
                           "object without duplicate members");
        goto out;
    }
    *h = (struct jws_header){ .b64 = 1 };
    v = json_object_get(o, "alg");
    if (!json_is_string(v)) {
        rc = tf_sig_refuse(x, m, "signature-invalid", "jws: the protected header has no \"alg\"");
        goto out;
    }
    h->alg_name = gw_arena_strndup(x->host, json_string_value(v), json_string_length(v));
    h->alg = tf_sig_alg_find(TF_SIG_JOSE, h->alg_name, json_string_length(v));
    if ((v = json_object_get(o, "kid")) != NULL) {
        if (!json_is_string(v)) {
            rc = tf_sig_refuse(x, m, "signature-invalid", "jws: \"kid\" is not a string");
            goto out;
        }
        h->kid = gw_arena_strndup(x->host, json_string_value(v), json_string_length(v));
    }
    if ((v = json_object_get(o, "x5t#S256")) != NULL) {
        unsigned char d[36];
        if (!json_is_string(v) || json_string_length(v) != 43 ||
            gw_base64_decode(json_string_value(v), 43, d, 1) != 32) {
            rc = tf_sig_refuse(x, m, "signature-invalid", "jws: \"x5t#S256\" is not a SHA-256 "
                               "thumbprint");
            goto out;
        }
        memcpy(h->x5t, d, 32);
        h->has_x5t = 1;
    }
    if ((v = json_object_get(o, "cty")) != NULL && json_is_string(v))
        h->cty = gw_arena_strndup(x->host, json_string_value(v), json_string_length(v));
    /* RFC 7515 4.1.11: every extension named in crit must be understood; RFC 7797 6: b64 only
     * with crit naming it */
    crit = json_object_get(o, "crit");
    if (crit != NULL && (!json_is_array(crit) || json_array_size(crit) == 0)) {
        rc = tf_sig_refuse(x, m, "signature-invalid", "jws: \"crit\" is not a non-empty list");
        goto out;
    }
    json_array_foreach(crit, i, v) {
        if (!json_is_string(v) || strcmp(json_string_value(v), "b64") != 0 ||
            json_object_get(o, "b64") == NULL) {
            rc = tf_sig_refuse(x, m, "signature-invalid", "jws: \"crit\" names an extension "
                               "the gateway does not understand");
            goto out;
        }
    }
    if ((v = json_object_get(o, "b64")) != NULL) {
        if (!json_is_boolean(v) || crit == NULL) {
            rc = tf_sig_refuse(x, m, "signature-invalid", "jws: \"b64\" must be a boolean that "
                               "\"crit\" names (RFC 7797)");
            goto out;
        }
        h->b64 = json_is_true(v);
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------------------ */

struct jws_check {
    const struct tf_sig_alg *alg;
    const char *input;           /* the signing input */
    size_t input_len;
    const unsigned char *sig;
    size_t sig_len;
};

static int
jws_check(const struct pt_sign_key *k, void *arg)
{
    const struct jws_check *c = arg;
    return tf_sig_verify(c->alg, k, c->input, c->input_len, c->sig, c->sig_len);
}

/* The signing input ASCII(h) '.' payload: the payload as it is (b64 false, or already base64url
 * in the JWS) or base64url-encoded (a detached payload of a b64 JWS). In the arena. */
static char *
signing_input(struct tf_ctx *x, const char *h, size_t hlen, const char *p, size_t plen, int encode,
              size_t *len)
{
    size_t room = hlen + 1 + (encode ? plen * 4 / 3 + 4 : plen);
    char *s = x->alloc(x, room);

    memcpy(s, h, hlen);
    s[hlen] = '.';
    *len = hlen + 1;
    if (encode)
        *len += gw_base64_encode(s + hlen + 1, (const unsigned char *)p, plen, 1);
    else if (plen > 0)
        memcpy(s + hlen + 1, p, plen), *len += plen;
    return s;
}

static int
jws_verify(const struct jws *j, struct tf_message *m, struct tf_ctx *x)
{
    const char *jws, *dot1, *dot2, *body = NULL;
    size_t n, body_len = 0;
    const struct tf_header *f = NULL;
    struct jws_header h;
    struct jws_check c;
    const struct pt_sign_key *key;
    long len;

    if (j->field != NULL) {
        if ((f = x->header_get(m, j->field)) == NULL || f->value_len == 0)
            return tf_sig_refuse(x, m, "signature-missing", "jws: no %s field", j->field);
        jws = f->value;
        n = f->value_len;
    } else if ((jws = x->body_bytes(x, m, &n)) == NULL) {
        return TF_ERROR;
    } else if (n == 0) {
        return tf_sig_refuse(x, m, "signature-missing", "jws: the body is empty, not a JWS");
    }
    dot1 = memchr(jws, '.', n);
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', (size_t)(jws + n - dot1 - 1)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(jws + n - dot2 - 1)) != NULL)
        return tf_sig_refuse(x, m, "signature-invalid", "jws: not a compact JWS (three parts "
                             "separated by dots)");
    if (dot2 == dot1 + 1 && j->field == NULL)
        return tf_sig_refuse(x, m, "signature-invalid", "jws: a detached JWS as the body: its "
                             "payload is missing");
    if (read_header(x, m, jws, (size_t)(dot1 - jws), &h) < 0)
        return TF_ERROR;
    if (h.alg == NULL || !tf_sig_allowed(j->algs, h.alg))
        return tf_sig_refuse(x, m, "signature-algorithm-refused", "jws: \"%s\" is not an "
                             "algorithm this route accepts", h.alg_name);
    c.alg = h.alg;
    c.sig_len = (size_t)(jws + n - dot2 - 1);
    c.sig = x->alloc(x, c.sig_len * 3 / 4 + 3);
    if ((len = gw_base64_decode(dot2 + 1, c.sig_len, (unsigned char *)c.sig, 1)) <= 0)
        return tf_sig_refuse(x, m, "signature-invalid", "jws: the signature is not base64url");
    c.sig_len = (size_t)len;
    if (dot2 == dot1 + 1 && j->field != NULL) { /* detached: the payload is the body */
        if ((body = x->body_bytes(x, m, &body_len)) == NULL)
            return TF_ERROR;
        c.input = signing_input(x, jws, (size_t)(dot1 - jws), body, body_len, h.b64,
                                &c.input_len);
    } else {
        c.input = jws;
        c.input_len = (size_t)(dot2 - jws);
    }
    if (tf_sig_find_signer(x, m, "jws", h.alg, h.kid, h.has_x5t ? h.x5t : NULL, jws_check, &c,
                           &key) < 0)
        return TF_ERROR;
    tf_sig_note(x, m, "jws", h.alg, TF_SIG_JOSE, h.kid, key, NULL, c.input, c.input_len);
    if (j->field != NULL || !j->unwrap)
        return TF_DONE;
    /* the verified payload becomes the body */
    const char *p = dot1 + 1;
    size_t plen = (size_t)(dot2 - p);
    if (h.b64) {
        char *d = x->alloc(x, plen * 3 / 4 + 3);
        if ((len = gw_base64_decode(p, plen, (unsigned char *)d, 1)) < 0)
            return tf_sig_refuse(x, m, "signature-invalid", "jws: the payload is not base64url");
        p = d;
        plen = (size_t)len;
    }
    m->body = (char *)p;
    m->body_len = plen;
    if (h.cty != NULL) { /* RFC 7515 4.1.10: "application/" may be left out */
        char *t = x->alloc(x, strlen(h.cty) + 13);
        strcpy(t, strchr(h.cty, '/') != NULL ? "" : "application/");
        strcat(t, h.cty);
        x->header_set(x, m, "Content-Type", t, strlen(t));
    }
    return TF_DONE;
}

/* ---- sign -------------------------------------------------------------------------------------- */

static int
jws_sign(const struct jws *j, struct tf_message *m, struct tf_ctx *x)
{
    const char *body;
    char *input, *out;
    size_t n, input_len, sig_len, out_len;
    unsigned char *sig;

    if ((body = x->body_bytes(x, m, &n)) == NULL)
        return TF_ERROR;
    /* detached: b64 false, the body itself; compact: the body base64url-encoded */
    input = signing_input(x, j->protected, j->protected_len, body, n, j->field == NULL,
                          &input_len);
    if (tf_sig_sign(x, &j->own, input, input_len, &sig, &sig_len) < 0)
        return TF_ERROR;
    tf_sig_note(x, m, "jws", j->own.alg, TF_SIG_JOSE, j->own.kid, NULL, &j->own, input,
                input_len);
    if (j->field != NULL) {
        out = x->alloc(x, j->protected_len + 2 + sig_len * 4 / 3 + 4);
        memcpy(out, j->protected, j->protected_len);
        memcpy(out + j->protected_len, "..", 2);
        out_len = j->protected_len + 2;
        out_len += gw_base64_encode(out + out_len, sig, sig_len, 1);
        x->header_set(x, m, j->field, out, out_len);
        return TF_DONE;
    }
    out = x->alloc(x, input_len + 1 + sig_len * 4 / 3 + 4);
    memcpy(out, input, input_len);
    out[input_len] = '.';
    out_len = input_len + 1 + gw_base64_encode(out + input_len + 1, sig, sig_len, 1);
    m->body = out;
    m->body_len = out_len;
    x->header_set(x, m, "Content-Type", "application/jose", 16);
    return TF_DONE;
}

static int
jws_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct jws *j = inst;
    return j->sign ? jws_sign(j, m, x) : jws_verify(j, m, x);
}

const struct tf_ops tf_jws_ops = {
    .abi = TF_ABI_VERSION,
    .name = "jws",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = jws_create,
    .apply = jws_apply,
    .destroy = jws_free,
    .takes = TF_FORM_BYTES,
};
