/* json_schema_check.c: checking a document against a compiled schema (tf_jschema_check; the
 * compiler is json_schema.c). It walks the document (json_tree.h: the body as the transform
 * chain holds it, numbers as their literals, strings not NUL-terminated) and the graph of nodes
 * together, keeping the JSON pointer of the place being checked for the messages.
 */
#include "json_schema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema_node.h"

/* ---- validate: helpers ----------------------------------------------------------------------- */

struct js_val {
    json_t *errors;
    size_t max, count;
    char ptr[1024]; /* the instance pointer being checked */
    size_t plen;
};

/* Cut s (NUL-terminated) to at most max bytes on a UTF-8 character boundary. */
static void
js_cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    s[max] = '\0';
}

static void __attribute__((format(printf, 3, 4)))
js_error(struct js_val *st, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (++st->count > st->max)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    js_cut_utf8(msg, sizeof msg - 1);
    json_array_append_new(st->errors, json_pack("{s:s,s:s}", "path", where, "message", msg));
}

/* Append "/seg" (seg[0..n), escaped) to the instance pointer; returns the old length to
 * restore. */
static size_t
js_push(struct js_val *st, const char *seg, size_t n)
{
    size_t old = st->plen;

    if (st->plen + 1 < sizeof st->ptr)
        st->ptr[st->plen++] = '/';
    for (size_t i = 0; i < n && st->plen + 2 < sizeof st->ptr; i++) {
        if (seg[i] == '~' || seg[i] == '/') {
            st->ptr[st->plen++] = '~';
            st->ptr[st->plen++] = seg[i] == '~' ? '0' : '1';
        } else {
            st->ptr[st->plen++] = seg[i];
        }
    }
    st->ptr[st->plen] = '\0';
    return old;
}

static void
js_pop(struct js_val *st, size_t old)
{
    st->plen = old;
    st->ptr[old] = '\0';
}

/* v as compact JSON, at most 80 bytes (then "..."), into buf. */
static const char *
js_show(const json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    snprintf(buf, len, "%s", s ? s : "?");
    if (strlen(buf) > 80) {
        js_cut_utf8(buf, 80);
        strcat(buf, "...");
    }
    free(s);
    return buf;
}

/* s[0..n) NUL-terminated: in buf when it fits (room bytes), else in memory the caller frees
 * (the result differs from buf). */
static char *
js_cstr(const char *s, size_t n, char *buf, size_t room)
{
    char *out = n < room ? buf : malloc(n + 1);

    if (out == NULL)
        abort();
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* A number written without a fraction or an exponent ("12", "-0"), as jansson reads an integer. */
static int
js_is_integer(const struct jv *v)
{
    return memchr(v->s, '.', v->n) == NULL && memchr(v->s, 'e', v->n) == NULL &&
           memchr(v->s, 'E', v->n) == NULL;
}

/* A number's value as a double (the reader refused any beyond a double's range). */
static double
js_double(const struct jv *v)
{
    char buf[64], *s = js_cstr(v->s, v->n, buf, sizeof buf);
    double d = strtod(s, NULL);

    if (s != buf)
        free(s);
    return d;
}

/* An integer's exact value into *out; 0 when it does not fit in a long long. */
static int
js_exact(const struct jv *v, long long *out)
{
    char buf[32], *end;

    if (!js_is_integer(v) || v->n >= sizeof buf)
        return 0;
    memcpy(buf, v->s, v->n);
    buf[v->n] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Numbers compare by value: exactly when both are integers a long long holds, else as doubles
 * (1 equals 1.0). */
static int
js_num_equal(const struct jv *a, const struct jv *b)
{
    long long x, y;

    if (js_exact(a, &x) && js_exact(b, &y))
        return x == y;
    return js_double(a) == js_double(b);
}

static int
js_equal(const struct jv *a, const struct jv *b)
{
    const struct jv *e;

    if (a->t != b->t)
        return 0;
    switch (a->t) {
    case J_NUM:
        return js_num_equal(a, b);
    case J_OBJ:
        if (a->n != b->n)
            return 0;
        for (size_t i = 0; i < a->n; i++)
            if ((e = tf_jv_get(b, a->mems[i].k, a->mems[i].kn)) == NULL ||
                !js_equal(&a->mems[i].v, e))
                return 0;
        return 1;
    case J_ARR:
        if (a->n != b->n)
            return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!js_equal(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    case J_STR:
        return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    default:
        return 1;
    }
}

/* "integer" also takes a number with no fraction (1.0, 1e2). */
static int
js_type_ok(unsigned types, const struct jv *v)
{
    double d;

    switch (v->t) {
    case J_NULL: return types & JT_NULL;
    case J_TRUE:
    case J_FALSE: return types & JT_BOOLEAN;
    case J_OBJ: return types & JT_OBJECT;
    case J_ARR: return types & JT_ARRAY;
    case J_STR: return types & JT_STRING;
    case J_NUM:
        if (js_is_integer(v))
            return types & (JT_NUMBER | JT_INTEGER);
        if (types & JT_NUMBER)
            return 1;
        d = js_double(v);
        return (types & JT_INTEGER) && isfinite(d) && floor(d) == d;
    }
    return 0;
}

/* v's type as a message says it ("an integer", "a number": as the config messages do). */
static const char *
js_type_name(const struct jv *v)
{
    switch (v->t) {
    case J_OBJ: return "an object";
    case J_ARR: return "an array";
    case J_STR: return "a string";
    case J_NUM: return js_is_integer(v) ? "an integer" : "a number";
    case J_TRUE:
    case J_FALSE: return "a boolean";
    default: return "null";
    }
}

/* "a string or null" */
static const char *
js_types_wanted(unsigned types, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof tf_js_types / sizeof tf_js_types[0]; i++)
        if ((types & tf_js_types[i].bit) && off < len)
            off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " or " : "",
                                    tf_js_types[i].wanted);
    return buf;
}

/* ---- validate: keywords ---------------------------------------------------------------------- */

static void js_check(const struct js_node *n, const struct jv *v, struct js_val *st);

/* The shortest "%.Ng" that reads back as d. */
static const char *
js_num(double d, char buf[32])
{
    if (d == floor(d) && fabs(d) < 1e16) {
        snprintf(buf, 32, "%.0f", d);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

static void
js_check_number(const struct js_node *n, double d, struct js_val *st)
{
    char b[32];

    if ((n->has & JS_MIN) && d < n->min)
        js_error(st, st->ptr, "must be at least %s", js_num(n->min, b));
    if ((n->has & JS_MAX) && d > n->max)
        js_error(st, st->ptr, "must be at most %s", js_num(n->max, b));
    if ((n->has & JS_XMIN) && d <= n->xmin)
        js_error(st, st->ptr, "must be greater than %s", js_num(n->xmin, b));
    if ((n->has & JS_XMAX) && d >= n->xmax)
        js_error(st, st->ptr, "must be less than %s", js_num(n->xmax, b));
}

/* A count (characters, elements) within [min, max] (-1: no bound): "must <verb> at least N
 * <unit>s<tail> (<is> count)". */
static void
js_check_count(struct js_val *st, long long count, long long min, long long max, const char *verb,
               const char *unit, const char *tail, const char *is)
{
    if (min >= 0 && count < min)
        js_error(st, st->ptr, "must %s at least %lld %s%s%s (%s %lld)", verb, min, unit,
                 min == 1 ? "" : "s", tail, is, count);
    if (max >= 0 && count > max)
        js_error(st, st->ptr, "must %s at most %lld %s%s%s (%s %lld)", verb, max, unit,
                 max == 1 ? "" : "s", tail, is, count);
}

static void
js_check_string(const struct js_node *n, const struct jv *v, struct js_val *st)
{
    long long chars = 0;

    for (size_t i = 0; i < v->n; i++)
        chars += ((unsigned char)v->s[i] & 0xc0) != 0x80;
    js_check_count(st, chars, n->minlen, n->maxlen, "be", "character", " long", "is");
    if (n->has & JS_PATTERN) {
        /* regexec wants a NUL-terminated string; a document's strings are not (and hold no NUL:
         * the reader refuses \u0000) */
        char buf[256], *s = js_cstr(v->s, v->n, buf, sizeof buf);
        if (regexec(&n->re, s, 0, NULL, 0) != 0)
            js_error(st, st->ptr, "must match the pattern %s", n->pattern);
        if (s != buf)
            free(s);
    }
}

static const struct js_node *
js_prop_schema(const struct js_node *n, const char *key, size_t kn)
{
    for (size_t i = 0; i < n->nprops; i++)
        if (strncmp(n->props[i].name, key, kn) == 0 && n->props[i].name[kn] == '\0')
            return n->props[i].schema;
    return NULL;
}

static void
js_check_object(const struct js_node *n, const struct jv *v, struct js_val *st)
{
    const struct js_node *ps;
    json_t *e;
    size_t i, old;

    json_array_foreach(n->required, i, e) {
        const char *key = json_string_value(e);
        size_t kn = json_string_length(e);
        if (tf_jv_get(v, key, kn) == NULL) {
            old = js_push(st, key, kn);
            js_error(st, st->ptr, "is required");
            js_pop(st, old);
        }
    }
    for (i = 0; i < v->n; i++) {
        const struct jmem *mb = &v->mems[i];
        old = js_push(st, mb->k, mb->kn);
        if ((ps = js_prop_schema(n, mb->k, mb->kn)) != NULL)
            js_check(ps, &mb->v, st);
        else if (n->addl_forbidden)
            js_error(st, st->ptr, "is not allowed (not one of the properties)");
        else if (n->addl != NULL)
            js_check(n->addl, &mb->v, st);
        js_pop(st, old);
    }
}

static void
js_check_array(const struct js_node *n, const struct jv *v, struct js_val *st)
{
    char seg[24];

    js_check_count(st, (long long)v->n, n->minitems, n->maxitems, "have", "element", "", "has");
    if (n->items == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        size_t old = js_push(st, seg, (size_t)snprintf(seg, sizeof seg, "%zu", i));
        js_check(n->items, &v->items[i], st);
        js_pop(st, old);
    }
}

static void
js_check(const struct js_node *n, const struct jv *v, struct js_val *st)
{
    char buf[160];

    if (n->never) {
        js_error(st, st->ptr, "no value is allowed here");
        return;
    }
    if (n->ref != NULL)
        js_check(n->ref, v, st);
    if (n->types != 0 && !js_type_ok(n->types, v)) {
        js_error(st, st->ptr, "expected %s, got %s", js_types_wanted(n->types, buf, sizeof buf),
                 js_type_name(v));
        return;
    }
    if (n->const_jv != NULL && !js_equal(n->const_jv, v))
        js_error(st, st->ptr, "must be %s", js_show(n->const_v, buf, sizeof buf));
    if (n->enum_jv != NULL) {
        int found = 0;
        for (size_t i = 0; i < n->enum_jv->n && !found; i++)
            found = js_equal(&n->enum_jv->items[i], v);
        if (!found)
            js_error(st, st->ptr, "must be one of %s", js_show(n->enum_v, buf, sizeof buf));
    }
    if (v->t == J_NUM)
        js_check_number(n, js_double(v), st);
    else if (v->t == J_STR)
        js_check_string(n, v, st);
    else if (v->t == J_OBJ)
        js_check_object(n, v, st);
    else if (v->t == J_ARR)
        js_check_array(n, v, st);
}

size_t
tf_jschema_check(const struct tf_jschema *s, const struct jv *v, json_t *errors, size_t max)
{
    struct js_val st = {.errors = errors, .max = max};

    js_check(s->top, v, &st);
    return st.count;
}
