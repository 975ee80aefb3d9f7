/* json_schema_check.c: checking an instance against a compiled schema (tf_jschema_validate; the
 * compiler is json_schema.c). It walks the instance and the graph of nodes together, keeping the
 * JSON pointer of the place being checked for the messages.
 */
#include "json_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_loc.h"
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

/* Append "/seg" (escaped) to the instance pointer; returns the old length to restore. */
static size_t
js_push(struct js_val *st, const char *seg)
{
    size_t old = st->plen;

    if (st->plen + 1 < sizeof st->ptr)
        st->ptr[st->plen++] = '/';
    for (; *seg != '\0' && st->plen + 2 < sizeof st->ptr; seg++) {
        if (*seg == '~' || *seg == '/') {
            st->ptr[st->plen++] = '~';
            st->ptr[st->plen++] = *seg == '~' ? '0' : '1';
        } else {
            st->ptr[st->plen++] = *seg;
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

static int
js_equal(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *e;
    size_t i;

    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, key, e)
            if (json_object_get(b, key) == NULL || !js_equal(e, json_object_get(b, key)))
                return 0;
        return 1;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        json_array_foreach(a, i, e)
            if (!js_equal(e, json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    default:
        return 1;
    }
}

static int
js_type_ok(unsigned types, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return types & JT_NULL;
    case JSON_TRUE:
    case JSON_FALSE: return types & JT_BOOLEAN;
    case JSON_OBJECT: return types & JT_OBJECT;
    case JSON_ARRAY: return types & JT_ARRAY;
    case JSON_STRING: return types & JT_STRING;
    case JSON_INTEGER: return types & (JT_NUMBER | JT_INTEGER);
    case JSON_REAL:
        return (types & JT_NUMBER) || ((types & JT_INTEGER) && isfinite(json_real_value(v)) &&
                                       floor(json_real_value(v)) == json_real_value(v));
    }
    return 0;
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

static void js_check(const struct js_node *n, const json_t *v, struct js_val *st);

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
js_check_string(const struct js_node *n, const json_t *v, struct js_val *st)
{
    const char *s = json_string_value(v);
    long long chars = 0;

    for (size_t i = 0; i < json_string_length(v); i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    js_check_count(st, chars, n->minlen, n->maxlen, "be", "character", " long", "is");
    if ((n->has & JS_PATTERN) && regexec(&n->re, s, 0, NULL, 0) != 0)
        js_error(st, st->ptr, "must match the pattern %s", n->pattern);
}

static const struct js_node *
js_prop_schema(const struct js_node *n, const char *key)
{
    for (size_t i = 0; i < n->nprops; i++)
        if (strcmp(n->props[i].name, key) == 0)
            return n->props[i].schema;
    return NULL;
}

static void
js_check_object(const struct js_node *n, const json_t *v, struct js_val *st)
{
    const struct js_node *ps;
    const char *key;
    json_t *e;
    size_t i, old;

    json_array_foreach(n->required, i, e) {
        if (json_object_get(v, json_string_value(e)) == NULL) {
            old = js_push(st, json_string_value(e));
            js_error(st, st->ptr, "is required");
            js_pop(st, old);
        }
    }
    json_object_foreach((json_t *)v, key, e) {
        old = js_push(st, key);
        if ((ps = js_prop_schema(n, key)) != NULL)
            js_check(ps, e, st);
        else if (n->addl_forbidden)
            js_error(st, st->ptr, "is not allowed (not one of the properties)");
        else if (n->addl != NULL)
            js_check(n->addl, e, st);
        js_pop(st, old);
    }
}

static void
js_check_array(const struct js_node *n, const json_t *v, struct js_val *st)
{
    long long size = (long long)json_array_size(v);
    char seg[24];
    json_t *e;
    size_t i;

    js_check_count(st, size, n->minitems, n->maxitems, "have", "element", "", "has");
    if (n->items == NULL)
        return;
    json_array_foreach(v, i, e) {
        snprintf(seg, sizeof seg, "%zu", i);
        size_t old = js_push(st, seg);
        js_check(n->items, e, st);
        js_pop(st, old);
    }
}

static void
js_check(const struct js_node *n, const json_t *v, struct js_val *st)
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
                 gw_json_type_name(v));
        return;
    }
    if (n->const_v != NULL && !js_equal(n->const_v, v))
        js_error(st, st->ptr, "must be %s", js_show(n->const_v, buf, sizeof buf));
    if (n->enum_v != NULL) {
        size_t i;
        json_t *e;
        int found = 0;
        json_array_foreach(n->enum_v, i, e)
            found |= js_equal(e, v);
        if (!found)
            js_error(st, st->ptr, "must be one of %s", js_show(n->enum_v, buf, sizeof buf));
    }
    if (json_is_number(v))
        js_check_number(n, json_number_value(v), st);
    else if (json_is_string(v))
        js_check_string(n, v, st);
    else if (json_is_object(v))
        js_check_object(n, v, st);
    else if (json_is_array(v))
        js_check_array(n, v, st);
}

size_t
tf_jschema_validate(const struct tf_jschema *s, const json_t *v, json_t *errors, size_t max)
{
    struct js_val st = {.errors = errors, .max = max};

    js_check(s->top, v, &st);
    return st.count;
}
