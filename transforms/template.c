/* template.c: see template.h.
 *
 * A template compiles to a list of segments: literal text (with "$$" already turned into "$") and
 * variables. Expansion measures every segment, takes one block from the exchange's arena and
 * copies; nothing is allocated per segment.
 */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tpl_var {
    TPL_LITERAL,
    TPL_PARTNER_ID,
    TPL_PARTNER_NAME,
    TPL_PARTNER_SUBJECT,
    TPL_REQUEST_ID,
    TPL_REQUEST_METHOD,
    TPL_REQUEST_PATH,
    TPL_REQUEST_QUERY,
    TPL_ROUTE_NAME,
    TPL_RESPONSE_STATUS,
    TPL_HEADER,         /* header.NAME: the message being transformed */
    TPL_REQUEST_HEADER, /* request.header.NAME */
};

struct tpl_seg {
    enum tpl_var var;
    const char *text; /* the literal, or the header name; points into tf_template.buf */
    size_t len;
};

struct tf_template {
    struct tpl_seg *segs;
    size_t nsegs;
    int constant;
    char *buf; /* literals and header names, one after the other */
};

static const struct {
    const char *name;
    enum tpl_var var;
} tpl_names[] = {
    {"partner.id", TPL_PARTNER_ID},         {"partner.name", TPL_PARTNER_NAME},
    {"partner.subject", TPL_PARTNER_SUBJECT}, {"request.id", TPL_REQUEST_ID},
    {"request.method", TPL_REQUEST_METHOD}, {"request.path", TPL_REQUEST_PATH},
    {"request.query", TPL_REQUEST_QUERY},   {"route.name", TPL_ROUTE_NAME},
    {"response.status", TPL_RESPONSE_STATUS},
};

/* RFC 9110 tchar: what a field name is made of. */
static int
is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* 1-based column of byte offset off in src, counted in characters (UTF-8 lead bytes). */
static size_t
tpl_column(const char *src, size_t off)
{
    size_t col = 1;

    for (size_t i = 0; i < off; i++)
        if (((unsigned char)src[i] & 0xc0) != 0x80)
            col++;
    return col;
}

/* Resolve the variable name[0..n) into seg (the header name is copied to *out). Returns 0, or -1
 * with a message in err. */
static int
tpl_variable(const char *name, size_t n, struct tpl_seg *seg, char **out, size_t col, char *err,
             size_t errlen)
{
    static const char hdr[] = "header.", rhdr[] = "request.header.";
    size_t plen = 0;

    if (n >= sizeof rhdr - 1 && memcmp(name, rhdr, sizeof rhdr - 1) == 0) {
        seg->var = TPL_REQUEST_HEADER;
        plen = sizeof rhdr - 1;
    } else if (n >= sizeof hdr - 1 && memcmp(name, hdr, sizeof hdr - 1) == 0) {
        seg->var = TPL_HEADER;
        plen = sizeof hdr - 1;
    }
    if (plen > 0) {
        if (!is_token(name + plen, n - plen)) {
            snprintf(err, errlen, "invalid header name in ${%.*s} at column %zu", (int)n, name,
                     col);
            return -1;
        }
        memcpy(*out, name + plen, n - plen);
        seg->text = *out;
        seg->len = n - plen;
        *out += n - plen;
        return 0;
    }
    for (size_t i = 0; i < sizeof tpl_names / sizeof tpl_names[0]; i++) {
        if (strlen(tpl_names[i].name) == n && memcmp(tpl_names[i].name, name, n) == 0) {
            seg->var = tpl_names[i].var;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown variable ${%.*s} at column %zu", (int)n, name, col);
    return -1;
}

/* Parse src into t (segs and buf already sized for the worst case). Returns 0 or -1 with err. */
static int
tpl_parse(struct tf_template *t, const char *src, char *err, size_t errlen)
{
    char *out = t->buf;
    struct tpl_seg *lit = NULL;

    for (size_t i = 0; src[i] != '\0';) {
        if (src[i] != '$' || src[i + 1] == '$') {
            if (lit == NULL) {
                lit = &t->segs[t->nsegs++];
                *lit = (struct tpl_seg){TPL_LITERAL, out, 0};
            }
            *out++ = src[i];
            lit->len++;
            i += src[i] == '$' ? 2 : 1;
            continue;
        }
        size_t col = tpl_column(src, i);
        if (src[i + 1] != '{') {
            snprintf(err, errlen, "\"$\" must start ${variable} or be written \"$$\" at column %zu",
                     col);
            return -1;
        }
        const char *end = strchr(src + i + 2, '}');
        if (end == NULL) {
            snprintf(err, errlen, "unterminated ${ at column %zu", col);
            return -1;
        }
        lit = NULL;
        struct tpl_seg *seg = &t->segs[t->nsegs++];
        if (tpl_variable(src + i + 2, (size_t)(end - src) - i - 2, seg, &out, col, err, errlen) < 0)
            return -1;
        t->constant = 0;
        i = (size_t)(end - src) + 1;
    }
    return 0;
}

struct tf_template *
tf_template_compile(const char *src, char *err, size_t errlen)
{
    size_t n = strlen(src);
    struct tf_template *t = calloc(1, sizeof *t);

    if (t == NULL)
        goto fail;
    /* at most one segment per source byte; the copied text is never longer than the source */
    t->segs = calloc(n + 1, sizeof *t->segs);
    t->buf = malloc(n + 1);
    if (t->segs == NULL || t->buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->constant = 1;
    if (tpl_parse(t, src, err, errlen) < 0)
        goto fail;
    return t;
fail:
    tf_template_free(t);
    return NULL;
}

int
tf_template_is_constant(const struct tf_template *t)
{
    return t->constant;
}

static const char *
tpl_find_header(const struct tf_header *h, size_t n, const char *name, size_t name_len,
                size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len == name_len && strncasecmp(h[i].name, name, name_len) == 0) {
            *len = h[i].value_len;
            return h[i].value;
        }
    }
    *len = 0;
    return "";
}

static const char *
tpl_str(const char *s, size_t *len)
{
    if (s == NULL)
        s = "";
    *len = strlen(s);
    return s;
}

/* The value of one segment, with its length; num is scratch space for a status. */
static const char *
tpl_value(const struct tpl_seg *s, const struct tf_ctx *x, const struct tf_message *m,
          char num[16], size_t *len)
{
    switch (s->var) {
    case TPL_LITERAL: *len = s->len; return s->text;
    case TPL_PARTNER_ID: return tpl_str(x->partner_id, len);
    case TPL_PARTNER_NAME: return tpl_str(x->partner_name, len);
    case TPL_PARTNER_SUBJECT: return tpl_str(x->cert_subject, len);
    case TPL_REQUEST_ID: return tpl_str(x->request_id, len);
    case TPL_REQUEST_METHOD: return tpl_str(x->method, len);
    case TPL_REQUEST_PATH: return tpl_str(x->path, len);
    case TPL_REQUEST_QUERY: return tpl_str(x->query, len);
    case TPL_ROUTE_NAME: return tpl_str(x->route_name, len);
    case TPL_RESPONSE_STATUS:
        if (m == NULL || m->phase != TF_PHASE_RESPONSE)
            return tpl_str("", len);
        *len = (size_t)snprintf(num, 16, "%d", m->status);
        return num;
    case TPL_HEADER:
        if (m == NULL)
            return tpl_str("", len);
        return tpl_find_header(m->headers, m->nheaders, s->text, s->len, len);
    case TPL_REQUEST_HEADER:
        return tpl_find_header(x->req_headers, x->nreq_headers, s->text, s->len, len);
    }
    return tpl_str("", len);
}

char *
tf_template_expand(const struct tf_template *t, struct tf_ctx *x, const struct tf_message *m,
                   size_t *len)
{
    size_t total = 0, n;
    char num[16], *out, *p;

    for (size_t i = 0; i < t->nsegs; i++) {
        tpl_value(&t->segs[i], x, m, num, &n);
        total += n;
    }
    p = out = x->alloc(x, total + 1);
    for (size_t i = 0; i < t->nsegs; i++) {
        const char *v = tpl_value(&t->segs[i], x, m, num, &n);
        memcpy(p, v, n);
        p += n;
    }
    *p = '\0';
    if (len != NULL)
        *len = total;
    return out;
}

void
tf_template_free(struct tf_template *t)
{
    if (t == NULL)
        return;
    free(t->segs);
    free(t->buf);
    free(t);
}
