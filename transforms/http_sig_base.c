/* http_sig_base.c: the signature base of RFC 9421 (section 2.5) and its components (2.1 fields,
 * 2.2 derived components), and the Content-Digest of RFC 9530. See http_signature.h. */
#include "http_signature.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "sha256.h"
#include "text.h"

#define HS_MAX_COMPONENTS 64

/* Fields known to be Dictionaries: `sf` re-serializes them as one; any other as a List (an
 * Item serializes as a one-member List). */
static const char *const dict_fields[] = {
    "signature", "signature-input", "content-digest", "repr-digest", "want-content-digest",
    "want-repr-digest", "priority", "example-dict", NULL,
};

static const char *const derived[] = {
    "@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query",
    "@query-param", "@status", NULL,
};

static int
in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* ---- components: what may be covered --------------------------------------------------------- */

int
hs_comp_parse(struct gw_arena *a, const char *s, struct gw_sfv_item *it)
{
    size_t nlen = strcspn(s, ";"), n = strlen(s);
    char *q = gw_arena_alloc(a, n + 3);

    /* the name quoted, its parameters as written: an sf-item */
    q[0] = '"';
    memcpy(q + 1, s, nlen);
    q[nlen + 1] = '"';
    memcpy(q + nlen + 2, s + nlen, n - nlen + 1);
    if (nlen == 0 || memchr(s, '"', nlen) != NULL || memchr(s, '\\', nlen) != NULL)
        return -1;
    return gw_sfv_parse_item(a, q, n + 2, it);
}

/* Is name a field name written as RFC 9421 wants it: a token in lower case? */
static int
field_name_ok(const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
            return 0;
    }
    return n > 0;
}

const char *
hs_comp_unsupported(const struct gw_sfv_item *it, enum tf_phase phase)
{
    int is_derived, has_sf = 0, has_key = 0, has_name = 0;

    if (it->type != GW_SFV_STRING || it->len == 0)
        return "a component is a non-empty string";
    is_derived = it->str[0] == '@';
    if (is_derived && !in_list(derived, it->str))
        return "not a derived component of RFC 9421 (@method, @target-uri, @authority, "
               "@scheme, @request-target, @path, @query, @query-param, @status)";
    if (!is_derived && !field_name_ok(it->str, it->len))
        return "a field's name is a token written in lower case";
    for (const struct gw_sfv_member *p = it->params; p != NULL; p = p->next) {
        if (strcmp(p->key, "req") == 0)
            return "the req parameter (a request's component in a response's signature) is not "
                   "supported";
        if (strcmp(p->key, "bs") == 0)
            return "the bs parameter (fields as byte sequences) is not supported";
        if (strcmp(p->key, "tr") == 0)
            return "the tr parameter (trailers) is not supported";
        if (strcmp(p->key, "sf") == 0 && p->v.type == GW_SFV_BOOLEAN && p->v.num == 1)
            has_sf = 1;
        else if (strcmp(p->key, "key") == 0 && p->v.type == GW_SFV_STRING)
            has_key = 1;
        else if (strcmp(p->key, "name") == 0 && p->v.type == GW_SFV_STRING)
            has_name = 1;
        else
            return "unknown parameter (known: sf, key=\"member\", and name=\"param\" for "
                   "@query-param)";
    }
    if (is_derived && (has_sf || has_key))
        return "sf and key are for fields, not derived components";
    if (has_sf && has_key)
        return "sf and key together: key already gives the member serialized";
    if (has_name != (strcmp(it->str, "@query-param") == 0))
        return "@query-param needs a name=\"...\" parameter, and only it takes one";
    if (is_derived && (phase == TF_PHASE_RESPONSE) != (strcmp(it->str, "@status") == 0))
        return phase == TF_PHASE_RESPONSE
                   ? "a response's signature covers the request's components only with the req "
                     "parameter, which is not supported: only @status and fields"
                   : "@status is a response's component";
    return NULL;
}

/* ---- component values ----------------------------------------------------------------------- */

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

const char *
hs_field(struct tf_ctx *x, const struct tf_message *m, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    struct gw_buf b;
    int any = 0;

    gw_arena_buf(&b, x->host, 128);
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct tf_header *h = &m->headers[i];
        const char *v = h->value;
        size_t vn = h->value_len;
        if (h->name_len != nlen || strncasecmp(h->name, name, nlen) != 0)
            continue;
        while (vn > 0 && is_ows(v[0]))
            v++, vn--;
        while (vn > 0 && is_ows(v[vn - 1]))
            vn--;
        if (any++)
            gw_buf_add(&b, ", ", 2);
        gw_buf_add(&b, v, vn);
    }
    if (!any)
        return NULL;
    *len = b.len;
    return gw_buf_str(&b);
}

/* Serialize into the arena with writer w (dictionary or list) or, when it is NULL, item it. */
static const char *
serialized(struct tf_ctx *x, long (*w)(char *, size_t, const struct gw_sfv_member *),
           const struct gw_sfv_member *m, const struct gw_sfv_item *it, size_t *len)
{
    long n = w != NULL ? w(NULL, 0, m) : gw_sfv_write_item(NULL, 0, it);
    char *out;

    if (n < 0)
        return NULL;
    out = x->alloc(x, (size_t)n + 1);
    if (w != NULL)
        w(out, (size_t)n, m);
    else
        gw_sfv_write_item(out, (size_t)n, it);
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

/* The value of field component it (with sf or key), or NULL with *why. */
static const char *
field_value(struct tf_ctx *x, const struct tf_message *m, const struct gw_sfv_item *it,
            size_t *len, const char **why)
{
    const char *v = hs_field(x, m, it->str, len), *key;
    struct gw_sfv_member *sf;
    size_t klen;
    int flag = 0, dict = in_list(dict_fields, it->str);

    if (v == NULL && strcmp(it->str, "content-length") == 0) {
        /* the gateway keeps the framing to itself: the length is the body's */
        size_t n = 0;
        x->body_bytes(x, (struct tf_message *)m, &n);
        v = gw_arena_printf(x->host, "%zu", n);
        *len = strlen(v);
        return v;
    }
    if (v == NULL) {
        *why = gw_arena_printf(x->host, "the field %s is not in the message", it->str);
        return NULL;
    }
    if (gw_sfv_param_str(it, "key", &key, &klen) == 1) {
        const struct gw_sfv_member *e;
        if (gw_sfv_parse_dict(x->host, v, *len, &sf) < 0 || (e = gw_sfv_get(sf, key)) == NULL) {
            *why = gw_arena_printf(x->host, "the field %s has no dictionary member %s", it->str,
                                   key);
            return NULL;
        }
        v = serialized(x, NULL, NULL, &e->v, len);
    } else if (gw_sfv_param_bool(it, "sf", &flag) == 1 && flag) {
        if ((dict ? gw_sfv_parse_dict : gw_sfv_parse_list)(x->host, v, *len, &sf) < 0) {
            *why = gw_arena_printf(x->host, "the field %s is not a structured %s", it->str,
                                   dict ? "dictionary" : "list");
            return NULL;
        }
        v = serialized(x, dict ? gw_sfv_write_dict : gw_sfv_write_list, sf, NULL, len);
    }
    if (v == NULL)
        *why = gw_arena_printf(x->host, "the field %s cannot be serialized", it->str);
    return v;
}

/* Percent-encode s[0..n) (already decoded) the way RFC 9421 2.2.8 writes query parameters. */
static void
query_encode(struct gw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '*' || c == '-' || c == '.' || c == '_') {
            gw_buf_addc(b, (char)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            gw_buf_add(b, e, 3);
        }
    }
}

/* s[0..n) of a query decoded (application/x-www-form-urlencoded: '+' is a space) and encoded
 * again, in the arena. */
static const char *
query_recode(struct tf_ctx *x, const char *s, size_t n, size_t *len)
{
    char *d = x->alloc(x, n + 1);
    size_t k = 0;
    struct gw_buf b;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && gw_hexval(s[i + 1]) >= 0 && gw_hexval(s[i + 2]) >= 0) {
            d[k++] = (char)(gw_hexval(s[i + 1]) * 16 + gw_hexval(s[i + 2]));
            i += 2;
        } else {
            d[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    gw_arena_buf(&b, x->host, k * 3 + 1);
    query_encode(&b, d, k);
    *len = b.len;
    return gw_buf_str(&b);
}

/* @query-param;name=...: the value of the one parameter of that (encoded) name. */
static const char *
query_param(struct tf_ctx *x, const char *name, size_t *len, const char **why)
{
    const char *q = x->query, *found = NULL;
    size_t flen = 0;

    while (*q != '\0') {
        size_t plen = strcspn(q, "&"), nlen = strcspn(q, "="), elen;
        const char *enc;
        if (nlen > plen)
            nlen = plen;
        enc = query_recode(x, q, nlen, &elen);
        if (elen == strlen(name) && memcmp(enc, name, elen) == 0) {
            if (found != NULL) {
                *why = gw_arena_printf(x->host, "the query parameter %s is there twice", name);
                return NULL;
            }
            found = nlen < plen ? q + nlen + 1 : q + plen;
            flen = nlen < plen ? plen - nlen - 1 : 0;
        }
        q += plen + (q[plen] == '&');
    }
    if (found == NULL) {
        *why = gw_arena_printf(x->host, "the query has no parameter %s", name);
        return NULL;
    }
    return query_recode(x, found, flen, len);
}

/* @authority: the Host, lower case, without the scheme's default port. */
static const char *
authority(struct tf_ctx *x, const struct tf_message *m, const char *scheme, size_t *len)
{
    const char *h = hs_field(x, m, "host", len);
    char *a;

    if (h == NULL)
        return NULL;
    a = gw_arena_strndup(x->host, h, *len);
    for (size_t i = 0; i < *len; i++)
        if (a[i] >= 'A' && a[i] <= 'Z')
            a[i] = (char)(a[i] | 0x20);
    if ((strcmp(scheme, "https") == 0 && *len > 4 && strcmp(a + *len - 4, ":443") == 0) ||
        (strcmp(scheme, "http") == 0 && *len > 3 && strcmp(a + *len - 3, ":80") == 0))
        a[*len = (size_t)(strrchr(a, ':') - a)] = '\0';
    return a;
}

/* The value of derived component it, or NULL with *why. */
static const char *
derived_value(struct tf_ctx *x, const struct tf_message *m, const struct gw_sfv_item *it,
              size_t *len, const char **why)
{
    const char *c = it->str, *scheme = x->scheme[0] != '\0' ? x->scheme : "https";
    const char *path = x->path[0] != '\0' ? x->path : "/", *q = x->query, *auth, *name, *v;
    size_t alen = 0, nlen;

    if (strcmp(c, "@method") == 0)
        v = x->method;
    else if (strcmp(c, "@scheme") == 0)
        v = scheme;
    else if (strcmp(c, "@path") == 0)
        v = path;
    else if (strcmp(c, "@query") == 0)
        v = gw_arena_printf(x->host, "?%s", q);
    else if (strcmp(c, "@request-target") == 0)
        v = gw_arena_printf(x->host, "%s%s%s", path, q[0] ? "?" : "", q);
    else if (strcmp(c, "@status") == 0)
        v = gw_arena_printf(x->host, "%03d", m->status);
    else if (strcmp(c, "@query-param") == 0) {
        gw_sfv_param_str(it, "name", &name, &nlen);
        return query_param(x, name, len, why);
    } else if ((auth = authority(x, m, scheme, &alen)) == NULL) {
        *why = "the request has no Host";
        return NULL;
    } else if (strcmp(c, "@authority") == 0)
        v = auth;
    else /* @target-uri */
        v = gw_arena_printf(x->host, "%s://%s%s%s%s", scheme, auth, path, q[0] ? "?" : "", q);
    *len = strlen(v);
    return v;
}

int
hs_base(struct tf_ctx *x, const struct tf_message *m, const struct gw_sfv_item *covered,
        char **base, size_t *len, const char **why)
{
    const char *ids[HS_MAX_COMPONENTS], *v;
    size_t idlen[HS_MAX_COMPONENTS], n = 0, vlen = 0;
    struct gw_buf b;

    gw_arena_buf(&b, x->host, 512);
    for (const struct gw_sfv_member *c = covered->items; c != NULL; c = c->next, n++) {
        const char *bad = hs_comp_unsupported(&c->v, m->phase);
        if (n == HS_MAX_COMPONENTS) {
            *why = "more than 64 components";
            return -1;
        }
        if (bad != NULL || (ids[n] = serialized(x, NULL, NULL, &c->v, &idlen[n])) == NULL) {
            *why = gw_arena_printf(x->host, "component %s: %s",
                                   c->v.type == GW_SFV_STRING ? c->v.str : "?",
                                   bad != NULL ? bad : "cannot be serialized");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (idlen[i] == idlen[n] && memcmp(ids[i], ids[n], idlen[n]) == 0) {
                *why = gw_arena_printf(x->host, "component %s is covered twice", ids[n]);
                return -1;
            }
        v = c->v.str[0] == '@' ? derived_value(x, m, &c->v, &vlen, why)
                               : field_value(x, m, &c->v, &vlen, why);
        if (v == NULL)
            return -1;
        gw_buf_add(&b, ids[n], idlen[n]);
        gw_buf_add(&b, ": ", 2);
        gw_buf_add(&b, v, vlen);
        gw_buf_addc(&b, '\n');
    }
    if ((v = serialized(x, NULL, NULL, covered, &vlen)) == NULL) {
        *why = "the signature's parameters cannot be serialized";
        return -1;
    }
    gw_buf_adds(&b, "\"@signature-params\": ");
    gw_buf_add(&b, v, vlen);
    *len = b.len;
    *base = gw_buf_str(&b);
    return 0;
}

/* ---- Content-Digest (RFC 9530) ------------------------------------------------------------- */

static size_t
digest(enum hs_digest alg, const void *body, size_t n, unsigned char *out)
{
    unsigned int len = 0;

    if (alg == HS_CD_SHA256) {
        gw_sha256_once(body, n, out);
        return 32;
    }
    EVP_Digest(body, n, out, &len, EVP_sha512(), NULL);
    return len;
}

const char *
hs_digest_value(struct tf_ctx *x, enum hs_digest alg, const void *body, size_t n, size_t *len)
{
    unsigned char d[64];
    size_t dn = digest(alg, body, n, d);
    char *out = x->alloc(x, 16 + 4 * sizeof d / 3 + 4);

    *len = (size_t)sprintf(out, "%s=:", alg == HS_CD_SHA256 ? "sha-256" : "sha-512");
    *len += gw_base64_encode(out + *len, d, dn, 0);
    out[(*len)++] = ':';
    out[*len] = '\0';
    return out;
}

int
hs_digest_check(struct tf_ctx *x, const char *v, size_t vn, const void *body, size_t n,
                const char **why)
{
    struct gw_sfv_member *dict;
    unsigned char d[64];
    int known = 0;

    if (gw_sfv_parse_dict(x->host, v, vn, &dict) < 0) {
        *why = "Content-Digest is not a structured field dictionary";
        return 0;
    }
    for (const struct gw_sfv_member *e = dict; e != NULL; e = e->next) {
        enum hs_digest alg = strcmp(e->key, "sha-256") == 0   ? HS_CD_SHA256
                             : strcmp(e->key, "sha-512") == 0 ? HS_CD_SHA512
                                                               : HS_CD_NONE;
        if (alg == HS_CD_NONE)
            continue;
        known++;
        if (e->v.type != GW_SFV_BYTES || e->v.len != digest(alg, body, n, d) ||
            CRYPTO_memcmp(d, e->v.str, e->v.len) != 0) {
            *why = gw_arena_printf(x->host, "Content-Digest's %s does not match the body",
                                   e->key);
            return 0;
        }
    }
    if (known == 0)
        *why = "Content-Digest has no sha-256 or sha-512 digest";
    return known > 0;
}
