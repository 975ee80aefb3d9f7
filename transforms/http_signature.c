/* http_signature.c: the `http_signature` transform: verify a partner's HTTP Message Signature
 * (RFC 9421) and the Content-Digest (RFC 9530) it covers, or sign a message with our key.
 * Configuration in http_signature_conf.c, the signature base in http_sig_base.c; documented in
 * transforms/README.md.
 */
#include "http_signature.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "text.h"

#define WHO "http_signature"
#define FUTURE_SKEW_S 60 /* a created this far ahead of our clock is still taken */

/* Is the serialization of a the same as b's (component identifiers with their parameters)? */
static int
same_id(const struct gw_sfv_item *a, const struct gw_sfv_item *b)
{
    char sa[512], sb[512];
    long na = gw_sfv_write_item(sa, sizeof sa, a), nb = gw_sfv_write_item(sb, sizeof sb, b);

    return na >= 0 && na == nb && (size_t)na <= sizeof sa && memcmp(sa, sb, (size_t)na) == 0;
}

/* Does inner list `covered` cover every component of req? */
static int
covers(const struct gw_sfv_member *req, const struct gw_sfv_item *covered)
{
    for (; req != NULL; req = req->next) {
        const struct gw_sfv_member *c = covered->items;
        while (c != NULL && !same_id(&req->v, &c->v))
            c = c->next;
        if (c == NULL)
            return 0;
    }
    return 1;
}

static int
covers_name(const struct gw_sfv_item *covered, const char *name)
{
    for (const struct gw_sfv_member *c = covered->items; c != NULL; c = c->next)
        if (c->v.type == GW_SFV_STRING && strcmp(c->v.str, name) == 0 && c->v.params == NULL)
            return 1;
    return 0;
}

/* The signature to check: the label's, or the first whose components cover in->comps. Returns
 * 0 with *input and *sig, or the refusal. */
static int
pick(const struct hs_inst *in, struct tf_message *m, struct tf_ctx *x,
     const struct gw_sfv_member *inputs, const struct gw_sfv_member *sigs,
     const struct gw_sfv_member **input, const struct gw_sfv_member **sig)
{
    int paired = 0;

    for (const struct gw_sfv_member *e = inputs; e != NULL; e = e->next) {
        const struct gw_sfv_member *s = gw_sfv_get(sigs, e->key);
        if (in->label != NULL && strcmp(e->key, in->label) != 0)
            continue;
        if (s == NULL)
            continue;
        paired++;
        if (e->v.type != GW_SFV_INNER_LIST)
            return tf_sig_refuse(x, m, "signature-invalid", WHO ": Signature-Input's %s is not "
                                 "a list of components", e->key);
        if (covers(in->comps, &e->v) || in->label != NULL) {
            *input = e;
            *sig = s;
            return 0;
        }
    }
    if (paired == 0 && in->label != NULL)
        return tf_sig_refuse(x, m, "signature-missing", WHO ": no signature labelled %s",
                             in->label);
    if (paired == 0)
        return tf_sig_refuse(x, m, "signature-missing", WHO ": Signature-Input and Signature "
                             "have no label in common");
    return tf_sig_refuse(x, m, "signature-invalid", WHO ": no signature covers the components "
                         "required");
}

/* How many of the allowed algorithms fit one of p's keys (named kid, when given); *found one. */
static int
fitting(const struct pt_partner *p, tf_sig_algs allowed, const char *kid,
        const struct tf_sig_alg **found)
{
    const struct tf_sig_alg *a;
    int n = 0;

    for (size_t i = 0; (a = tf_sig_alg_at(i)) != NULL; i++) {
        int fits = 0;
        if (!tf_sig_allowed(allowed, a))
            continue;
        for (size_t j = 0; p != NULL && j < p->nsign_keys && !fits; j++) {
            const struct pt_sign_key *k = &p->sign_keys[j];
            fits = tf_sig_key_fits(a, k) && (kid == NULL || (k->kid && strcmp(k->kid, kid) == 0));
        }
        if (fits) {
            *found = a;
            n++;
        }
    }
    return n;
}

/* A signature without alg: the one allowed algorithm the keys it may be made with fit (the
 * caller's, or when none of them has that kid, the key of that kid elsewhere: a wrong signer
 * then), or NULL when there are none or several. */
static const struct tf_sig_alg *
alg_of_keys(const struct tf_ctx *x, tf_sig_algs allowed, const char *kid)
{
    const struct tf_sig_alg *a = NULL;
    int n = fitting(x->partner, allowed, kid, &a);

    for (size_t i = 0; n == 0 && kid != NULL && i < x->npartners; i++)
        if (x->partners[i] != x->partner)
            n = fitting(x->partners[i], allowed, kid, &a);
    return n == 1 ? a : NULL;
}

/* created, expires and max_age_s. 0, or the refusal. */
static int
check_times(const struct hs_inst *in, struct tf_message *m, struct tf_ctx *x,
            const struct gw_sfv_item *params)
{
    int64_t now = (int64_t)time(NULL), created = 0, expires = 0;
    int hc = gw_sfv_param_int(params, "created", &created);
    int he = gw_sfv_param_int(params, "expires", &expires);

    if (hc < 0 || he < 0)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": created and expires are "
                             "integers");
    if (he == 1 && expires < now)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signature expired %lld s ago",
                             (long long)(now - expires));
    if (in->max_age_s == 0)
        return 0;
    if (hc == 0)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signature has no created "
                             "time, and may be at most %lld s old", (long long)in->max_age_s);
    if (created > now + FUTURE_SKEW_S)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signature was created %lld s "
                             "in the future", (long long)(created - now));
    if (now - created > in->max_age_s)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signature is %lld s old, "
                             "more than %lld s", (long long)(now - created),
                             (long long)in->max_age_s);
    return 0;
}

/* Content-Digest, as in->digest says. 0, or the refusal. */
static int
check_digest(const struct hs_inst *in, struct tf_message *m, struct tf_ctx *x,
             const struct gw_sfv_item *covered)
{
    int has_body = m->form != 0 || m->body_len > 0;
    int required = in->digest == HS_CD_REQUIRED || (in->digest == HS_CD_DEFAULT && has_body);
    size_t vn = 0, n = 0;
    const char *v = hs_field(x, m, "content-digest", &vn), *body, *why = NULL;

    if (v == NULL && !required)
        return 0;
    if (v == NULL)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the message has no "
                             "Content-Digest");
    if (required && !covers_name(covered, "content-digest"))
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signature does not cover "
                             "Content-Digest");
    if ((body = x->body_bytes(x, m, &n)) == NULL && x->err_code != NULL)
        return TF_ERROR;
    if (!hs_digest_check(x, v, vn, body != NULL ? body : "", body != NULL ? n : 0, &why))
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": %s", why);
    return 0;
}

struct hs_check {
    const struct tf_sig_alg *a;
    const char *base;
    size_t len;
    const struct gw_sfv_item *sig;
};

static int
check_key(const struct pt_sign_key *k, void *arg)
{
    const struct hs_check *c = arg;

    return tf_sig_verify(c->a, k, c->base, c->len, (const unsigned char *)c->sig->str,
                         c->sig->len);
}

static int
hs_verify(const struct hs_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    size_t ilen = 0, slen = 0, klen = 0, alen = 0;
    const char *input = hs_field(x, m, "signature-input", &ilen);
    const char *sigs = hs_field(x, m, "signature", &slen), *kid = NULL, *alg = NULL, *why;
    struct gw_sfv_member *inputs, *sigd;
    const struct gw_sfv_member *im = NULL, *sm = NULL;
    const struct pt_sign_key *k;
    struct hs_check c = { 0 };
    char *base;

    if (input == NULL || sigs == NULL)
        return tf_sig_refuse(x, m, "signature-missing", WHO ": the message has no %s",
                             input == NULL && sigs == NULL ? "Signature-Input nor Signature"
                             : input == NULL               ? "Signature-Input"
                                                           : "Signature");
    if (gw_sfv_parse_dict(x->host, input, ilen, &inputs) < 0 ||
        gw_sfv_parse_dict(x->host, sigs, slen, &sigd) < 0)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": Signature-Input or Signature is "
                             "not a structured field dictionary (RFC 8941)");
    if (pick(in, m, x, inputs, sigd, &im, &sm) < 0)
        return TF_ERROR;
    if (sm->v.type != GW_SFV_BYTES)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": Signature's %s is not a byte "
                             "sequence", sm->key);
    if (gw_sfv_param_str(&im->v, "keyid", &kid, &klen) < 0 ||
        gw_sfv_param_str(&im->v, "alg", &alg, &alen) < 0)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": keyid and alg are strings");
    c.a = alg != NULL ? tf_sig_alg_find(TF_SIG_HTTP, alg, alen) : alg_of_keys(x, in->algs, kid);
    if (!tf_sig_allowed(in->algs, c.a))
        return tf_sig_refuse(x, m, "signature-algorithm-refused", WHO ": %s%s%s",
                             alg != NULL ? "the algorithm " : "",
                             alg != NULL ? alg : "no alg parameter, and the keys that may sign "
                                                 "do not tell one algorithm of those accepted",
                             alg != NULL ? " is not one this step accepts" : "");
    if (check_times(in, m, x, &im->v) < 0)
        return TF_ERROR;
    if (hs_base(x, m, &im->v, &base, &c.len, &why) < 0)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": %s", why);
    c.base = base;
    c.sig = &sm->v;
    if (tf_sig_find_signer(x, m, WHO, c.a, kid, NULL, check_key, &c, &k) < 0)
        return TF_ERROR;
    if (check_digest(in, m, x, &im->v) < 0)
        return TF_ERROR;
    tf_sig_note(x, m, WHO, c.a, TF_SIG_HTTP, kid, k, NULL, base, c.len);
    return TF_DONE;
}

/* name: label=value, added to m. */
static void
add_member(struct tf_ctx *x, struct tf_message *m, const char *name, const char *label,
           const struct gw_sfv_item *v)
{
    struct gw_sfv_member e = { .key = label, .key_len = strlen(label), .v = *v };
    long n = gw_sfv_write_dict(NULL, 0, &e);
    char *out = x->alloc(x, (size_t)n + 1);

    gw_sfv_write_dict(out, (size_t)n, &e);
    x->header_add(x, m, name, out, (size_t)n);
}

static struct gw_sfv_member *
param(struct tf_ctx *x, struct gw_sfv_member *next, const char *key, enum gw_sfv_type type,
      int64_t num, const char *s)
{
    struct gw_sfv_member *p = x->alloc(x, sizeof *p);

    *p = (struct gw_sfv_member){ .next = next, .key = key, .key_len = strlen(key) };
    p->v.type = type;
    p->v.num = num;
    p->v.str = s;
    p->v.len = s != NULL ? strlen(s) : 0;
    return p;
}

static int
hs_sign(const struct hs_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    const struct tf_sig_alg *a = in->own.alg;
    struct gw_sfv_item covered = { .type = GW_SFV_INNER_LIST, .items = in->comps };
    struct gw_sfv_item sig = { .type = GW_SFV_BYTES };
    const char *why, *body, *v;
    size_t n = 0, vn, blen;
    unsigned char *s;
    char *base;

    if (in->digest != HS_CD_NONE) {
        if ((body = x->body_bytes(x, m, &n)) == NULL && x->err_code != NULL)
            return TF_ERROR;
        v = hs_digest_value(x, in->digest, body != NULL ? body : "", body != NULL ? n : 0, &vn);
        x->header_set(x, m, "Content-Digest", v, vn);
    }
    covered.params = param(x, NULL, "alg", GW_SFV_STRING, 0, tf_sig_alg_name(a, TF_SIG_HTTP));
    if (in->own.kid != NULL)
        covered.params = param(x, covered.params, "keyid", GW_SFV_STRING, 0, in->own.kid);
    covered.params = param(x, covered.params, "created", GW_SFV_INTEGER, (int64_t)time(NULL),
                           NULL);
    if (hs_base(x, m, &covered, &base, &blen, &why) < 0)
        return x->fail(x, 500, "signing-failed", NULL, WHO ": %s", why);
    if (tf_sig_sign(x, &in->own, base, blen, &s, &sig.len) < 0)
        return TF_ERROR;
    sig.str = (const char *)s;
    add_member(x, m, "Signature-Input", in->label, &covered);
    add_member(x, m, "Signature", in->label, &sig);
    tf_sig_note(x, m, WHO, a, TF_SIG_HTTP, in->own.kid, NULL, &in->own, base, blen);
    return TF_DONE;
}

/* ---- the transform ------------------------------------------------------------------------- */

static void
hs_destroy(void *p)
{
    struct hs_inst *in = p;

    if (in == NULL)
        return;
    tf_sig_own_free(&in->own);
    free(in->label);
    gw_arena_free(&in->arena);
    free(in);
}

static void *
hs_create(const struct tf_conf *cc)
{
    struct hs_inst *in = gw_xcalloc(1, sizeof *in);

    gw_arena_init(&in->arena);
    if (hs_conf(cc, in) < 0) {
        hs_destroy(in);
        return NULL;
    }
    return in;
}

static int
hs_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct hs_inst *in = inst;

    return in->sign ? hs_sign(in, m, x) : hs_verify(in, m, x);
}

const struct tf_ops tf_http_signature_ops = {
    .abi = TF_ABI_VERSION,
    .name = "http_signature",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = hs_create,
    .apply = hs_apply,
    .destroy = hs_destroy,
    /* the body is read (as bytes) only for Content-Digest */
    .takes = TF_FORM_BYTES,
};
