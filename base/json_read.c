/* json_read.c: see json_read.h.
 *
 * The reader is a small state machine over an explicit stack of open containers, so that a
 * caller can stop anywhere and a deep document costs memory, not C stack. The order of its checks
 * is part of its contract: a text with two faults is refused for the first one met, and the
 * duplicate-key check of an object runs when the object closes.
 */
#include "json_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "text.h"

enum { ST_START, ST_FIRST, ST_AFTER, ST_DONE, ST_FAILED };

void
gw_json_reader_init(struct gw_json_reader *r, const char *text, size_t len,
                    const struct gw_json_limits *l, void *(*alloc)(void *ctx, size_t n), void *ctx,
                    char *err, size_t errlen)
{
    *r = (struct gw_json_reader){.b = text,
                                 .len = len,
                                 .l = *l,
                                 .alloc = alloc,
                                 .ctx = ctx,
                                 .err = err,
                                 .errlen = err != NULL ? errlen : 0};
    r->fr = r->fr0;
    r->fcap = GW_JSON_FRAMES0;
    r->keys = r->keys0;
    r->kcap = GW_JSON_KEYS0;
    if (r->errlen > 0)
        r->err[0] = '\0';
}

void
gw_json_reader_done(struct gw_json_reader *r)
{
    if (r->fr != r->fr0)
        free(r->fr);
    if (r->keys != r->keys0)
        free(r->keys);
    r->fr = r->fr0;
    r->keys = r->keys0;
    r->fcap = GW_JSON_FRAMES0;
    r->kcap = GW_JSON_KEYS0;
    r->depth = r->nkeys = 0;
}

void
gw_json_line_col(const char *text, size_t len, struct gw_json_cursor *from, size_t pos,
                 size_t *line, size_t *col)
{
    if (pos > len)
        pos = len;
    if (from->line == 0 || pos < from->pos)
        *from = (struct gw_json_cursor){.line = 1};
    for (; from->pos < pos; from->pos++)
        if (text[from->pos] == '\n') {
            from->line++;
            from->line_start = from->pos + 1;
        }
    *line = from->line;
    *col = pos - from->line_start + 1;
}

static int fail(struct gw_json_reader *r, enum gw_json_refusal why, size_t pos, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* Refuse with "JSON: <message> at line L, column C". Returns -1. */
static int
fail(struct gw_json_reader *r, enum gw_json_refusal why, size_t pos, const char *fmt, ...)
{
    struct gw_json_cursor at = {0};
    size_t line, col, n;
    va_list ap;

    r->why = why;
    r->state = ST_FAILED;
    if (r->errlen == 0)
        return -1;
    gw_json_line_col(r->b, r->len, &at, pos, &line, &col);
    n = (size_t)snprintf(r->err, r->errlen, "JSON: ");
    if (why == GW_JSON_MALFORMED && pos < r->len && r->b[pos] == '\0') {
        /* whatever was expected there, a NUL byte is the news (a C reader would stop at it) */
        if (n < r->errlen)
            n += (size_t)snprintf(r->err + n, r->errlen - n, "NUL byte in the text");
    } else {
        va_start(ap, fmt);
        if (n < r->errlen)
            n += (size_t)vsnprintf(r->err + n, r->errlen - n, fmt, ap);
        va_end(ap);
    }
    if (n < r->errlen)
        snprintf(r->err + n, r->errlen - n, " at line %zu, column %zu", line, col);
    gw_text_one_line(r->err);
    return -1;
}

static void
skip_ws(struct gw_json_reader *r)
{
    while (r->pos < r->len && (r->b[r->pos] == ' ' || r->b[r->pos] == '\t' ||
                               r->b[r->pos] == '\n' || r->b[r->pos] == '\r'))
        r->pos++;
}

static int
hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int d = gw_hexval(s[i]);
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* A \u escape at b[*i] (the backslash): the code point, with *i moved past it (and past the low
 * surrogate of a pair). */
static int
unicode_escape(struct gw_json_reader *r, size_t *i, size_t end, uint32_t *cp)
{
    size_t at = *i;
    uint32_t lo;

    if (at + 6 > end || hex4(r->b + at + 2, cp) < 0)
        return fail(r, GW_JSON_MALFORMED, at, "invalid \\u escape");
    if (*cp == 0)
        return fail(r, GW_JSON_FORBIDDEN, at, "\\u0000 in a string is not accepted");
    *i = at + 6;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return fail(r, GW_JSON_MALFORMED, at, "invalid \\u escape (lone surrogate)");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        if (*i + 6 > end || r->b[*i] != '\\' || r->b[*i + 1] != 'u' ||
            hex4(r->b + *i + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
            return fail(r, GW_JSON_MALFORMED, at, "invalid \\u escape (lone surrogate)");
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        *i += 6;
    }
    return 0;
}

/* Decode b[start..end) (the inside of a string with escapes) into memory from the allocator. */
static int
decode(struct gw_json_reader *r, size_t start, size_t end, const char **s, size_t *n)
{
    static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
    char *o = r->alloc(r->ctx, end - start + 1);
    size_t i = start, k = 0, len;
    uint32_t cp = 0;

    while (i < end) {
        unsigned char c = (unsigned char)r->b[i];
        const char *e;

        if (c == '\\' && r->b[i + 1] == 'u') {
            if (unicode_escape(r, &i, end, &cp) < 0)
                return -1;
            k += gw_utf8_put(cp, o + k);
        } else if (c == '\\') {
            if ((e = strchr(simple, r->b[i + 1])) == NULL || r->b[i + 1] == '\0')
                return fail(r, GW_JSON_MALFORMED, i, "invalid escape");
            o[k++] = value[e - simple];
            i += 2;
        } else if (c < 0x20) {
            return fail(r, GW_JSON_MALFORMED, i, "control character in a string");
        } else if (c < 0x80) {
            o[k++] = (char)c;
            i++;
        } else if ((len = gw_utf8_len((const unsigned char *)r->b + i, end - i)) == 0) {
            return fail(r, GW_JSON_MALFORMED, i, "invalid UTF-8 in a string");
        } else {
            memcpy(o + k, r->b + i, len);
            k += len;
            i += len;
        }
    }
    o[k] = '\0';
    *s = o;
    *n = k;
    return 0;
}

/* The string at r->pos (its opening quote). */
static int
read_string(struct gw_json_reader *r, const char **s, size_t *n)
{
    size_t start = r->pos + 1, i = start;
    int plain = 1;

    while (i < r->len && r->b[i] != '"') {
        unsigned char c = (unsigned char)r->b[i];
        if (c == '\\') {
            plain = 0;
            i++;
        } else if (c < 0x20 || c >= 0x80) {
            plain = 0;
        }
        i++;
    }
    if (i >= r->len)
        return fail(r, GW_JSON_MALFORMED, r->pos, "unterminated string");
    if (i - start > r->l.max_string_len)
        return fail(r, GW_JSON_LIMIT, r->pos, "string longer than %zu bytes", r->l.max_string_len);
    r->pos = i + 1;
    if (plain) {
        *s = r->b + start;
        *n = i - start;
        return 0;
    }
    return decode(r, start, i, s, n);
}

/* Is the number (valid JSON) beyond the range of a double (1e400, an integer of 400 digits)?
 * Such a number is refused by every JSON reader of the gateway: a reader that holds numbers as
 * doubles (jansson, most upstreams' parsers) would make it infinite or fail. Smaller ones,
 * however many digits, keep their literal (1e-400 included). */
static int
number_too_large(const char *s, size_t n)
{
    char small[64], *buf;
    double d;

    if (n < 300 && memchr(s, 'e', n) == NULL && memchr(s, 'E', n) == NULL)
        return 0; /* under 300 digits and no exponent: below 1e300 */
    buf = n < sizeof small ? small : gw_xmalloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return isinf(d);
}

static int
read_number(struct gw_json_reader *r, struct gw_json_token *t)
{
    size_t start = r->pos, i = start;

    while (i < r->len && strchr("+-0123456789.eE", r->b[i]) != NULL && r->b[i] != '\0')
        i++;
    if (!gw_json_number_ok(r->b + start, i - start))
        return fail(r, GW_JSON_MALFORMED, start, "invalid number");
    if (number_too_large(r->b + start, i - start))
        return fail(r, GW_JSON_LIMIT, start, "number beyond the range of a double");
    t->type = GW_JSON_NUMBER;
    t->s = r->b + start;
    t->n = i - start;
    r->pos = i;
    return 0;
}

static int
read_literal(struct gw_json_reader *r, struct gw_json_token *t)
{
    static const struct {
        const char *w;
        enum gw_json_type t;
    } lit[] = {{"true", GW_JSON_TRUE}, {"false", GW_JSON_FALSE}, {"null", GW_JSON_NULL}};

    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lit[i].w);
        if (r->len - r->pos >= n && memcmp(r->b + r->pos, lit[i].w, n) == 0) {
            t->type = lit[i].t;
            r->pos += n;
            return 0;
        }
    }
    return fail(r, GW_JSON_MALFORMED, r->pos, "invalid token");
}

/* A stack that starts inside the reader (at inline), doubled on the heap. */
static void *
grow(void *stack, void *inline_stack, size_t *cap, size_t size)
{
    void *p;

    if (stack != inline_stack)
        return gw_xrealloc(stack, (*cap *= 2) * size);
    p = gw_xmalloc(*cap * 2 * size);
    memcpy(p, stack, *cap * size);
    *cap *= 2;
    return p;
}

static int
open_container(struct gw_json_reader *r, struct gw_json_token *t, char close)
{
    if (r->depth + 1 > r->l.max_depth)
        return fail(r, GW_JSON_LIMIT, r->pos, "nesting deeper than %zu", r->l.max_depth);
    if (r->depth == r->fcap)
        r->fr = grow(r->fr, r->fr0, &r->fcap, sizeof *r->fr);
    r->fr[r->depth++] = (struct gw_json_frame){.kbase = r->nkeys, .close = close};
    t->type = close == '}' ? GW_JSON_OBJECT : GW_JSON_ARRAY;
    r->pos++;
    skip_ws(r);
    r->state = ST_FIRST;
    return t->type;
}

/* One value at r->pos (after white space). */
static int
read_value(struct gw_json_reader *r, struct gw_json_token *t)
{
    int rc;

    skip_ws(r);
    t->pos = r->pos;
    t->s = NULL;
    t->n = 0;
    if (r->pos >= r->len)
        return fail(r, GW_JSON_MALFORMED, r->pos, "unexpected end of input");
    switch (r->b[r->pos]) {
    case '{':
        return open_container(r, t, '}');
    case '[':
        return open_container(r, t, ']');
    case '"':
        t->type = GW_JSON_STRING;
        rc = read_string(r, &t->s, &t->n);
        break;
    case 't':
    case 'f':
    case 'n':
        rc = read_literal(r, t);
        break;
    default:
        if (r->b[r->pos] != '-' && (r->b[r->pos] < '0' || r->b[r->pos] > '9'))
            return fail(r, GW_JSON_MALFORMED, r->pos, "invalid token");
        rc = read_number(r, t);
        break;
    }
    if (rc < 0)
        return -1;
    r->state = ST_AFTER;
    return t->type;
}

/* A member at r->pos: its key, then its value. */
static int
read_member(struct gw_json_reader *r, struct gw_json_token *t)
{
    struct gw_json_key k = {.pos = r->pos};

    if (r->pos >= r->len || r->b[r->pos] != '"')
        return fail(r, GW_JSON_MALFORMED, r->pos, "expected a key");
    if (read_string(r, &k.k, &k.kn) < 0)
        return -1;
    skip_ws(r);
    if (r->pos >= r->len || r->b[r->pos] != ':')
        return fail(r, GW_JSON_MALFORMED, r->pos, "expected ':'");
    r->pos++;
    if (r->nkeys == r->kcap)
        r->keys = grow(r->keys, r->keys0, &r->kcap, sizeof *r->keys);
    r->keys[r->nkeys++] = k;
    t->key = k.k;
    t->kn = k.kn;
    t->kpos = k.pos;
    return read_value(r, t);
}

static int
key_cmp(const void *a, const void *b)
{
    const struct gw_json_key *x = *(const struct gw_json_key *const *)a;
    const struct gw_json_key *y = *(const struct gw_json_key *const *)b;
    size_t n = x->kn < y->kn ? x->kn : y->kn;
    int c = memcmp(x->k, y->k, n);

    if (c != 0)
        return c;
    if (x->kn != y->kn)
        return x->kn < y->kn ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
duplicate(struct gw_json_reader *r, const struct gw_json_key *k)
{
    return fail(r, GW_JSON_FORBIDDEN, k->pos, "duplicate object key \"%.*s\"",
                (int)(k->kn > 64 ? 64 : k->kn), k->k);
}

/* Duplicate keys are refused (two parsers could read them differently). */
static int
check_duplicates(struct gw_json_reader *r, const struct gw_json_key *m, size_t n)
{
    const struct gw_json_key **s;
    int rc = 0;

    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[i].kn == m[j].kn && memcmp(m[i].k, m[j].k, m[i].kn) == 0)
                    return duplicate(r, &m[i]);
        return 0;
    }
    s = gw_xmalloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = &m[i];
    qsort(s, n, sizeof *s, key_cmp);
    for (size_t i = 1; i < n && rc == 0; i++)
        if (s[i]->kn == s[i - 1]->kn && memcmp(s[i]->k, s[i - 1]->k, s[i]->kn) == 0)
            rc = duplicate(r, s[i]);
    free(s);
    return rc;
}

/* The innermost container closes at r->pos. */
static int
close_container(struct gw_json_reader *r, struct gw_json_token *t)
{
    struct gw_json_frame *f = &r->fr[r->depth - 1];

    t->type = GW_JSON_CLOSE;
    t->pos = r->pos++;
    r->depth--;
    r->state = ST_AFTER;
    if (f->close == '}') {
        size_t base = f->kbase;
        if (check_duplicates(r, r->keys + base, r->nkeys - base) < 0)
            return -1;
        r->nkeys = base;
    }
    return GW_JSON_CLOSE;
}

/* The next entry of the innermost container. */
static int
read_entry(struct gw_json_reader *r, struct gw_json_token *t)
{
    struct gw_json_frame *f = &r->fr[r->depth - 1];

    f->count++;
    if (f->close == ']')
        return read_value(r, t);
    skip_ws(r);
    return read_member(r, t);
}

int
gw_json_next(struct gw_json_reader *r, struct gw_json_token *t)
{
    struct gw_json_frame *f;

    t->key = NULL;
    t->kn = 0;
    switch (r->state) {
    case ST_FAILED:
        return -1;
    case ST_DONE:
        t->type = GW_JSON_END;
        t->pos = r->pos;
        return GW_JSON_END;
    case ST_START:
        skip_ws(r);
        if (r->pos == r->len) {
            r->why = GW_JSON_MALFORMED;
            r->state = ST_FAILED;
            if (r->errlen > 0)
                snprintf(r->err, r->errlen, "JSON: the document is empty");
            return -1;
        }
        return read_value(r, t);
    case ST_FIRST:
        f = &r->fr[r->depth - 1];
        if (r->pos < r->len && r->b[r->pos] == f->close)
            return close_container(r, t);
        return read_entry(r, t);
    default: /* ST_AFTER: a value has ended */
        skip_ws(r);
        if (r->depth == 0) {
            if (r->pos != r->len)
                return fail(r, GW_JSON_MALFORMED, r->pos, "end of input expected");
            r->state = ST_DONE;
            t->type = GW_JSON_END;
            t->pos = r->pos;
            return GW_JSON_END;
        }
        f = &r->fr[r->depth - 1];
        if (r->pos < r->len && r->b[r->pos] == ',') {
            if (f->count >= r->l.max_entries)
                return fail(r, GW_JSON_LIMIT, r->pos, "more than %zu entries in one container",
                            r->l.max_entries);
            r->pos++;
            return read_entry(r, t);
        }
        if (r->pos < r->len && r->b[r->pos] == f->close)
            return close_container(r, t);
        return fail(r, GW_JSON_MALFORMED, r->pos, "expected ',' or '%c'", f->close);
    }
}

int
gw_json_skip(struct gw_json_reader *r)
{
    struct gw_json_token t;
    int type;

    while ((type = gw_json_next(r, &t)) > GW_JSON_END)
        ;
    return type < 0 ? -1 : 0;
}
