/* json_schema.c: compiling a schema (see json_schema.h; checking is json_schema_check.c).
 *
 * A schema compiles to a graph of nodes (json_schema_node.h), one per subschema of the (copied)
 * document, memoized by the subschema's address so that a $ref and the place it points to share
 * one node and recursive schemas are finite. Checking walks the instance and the graph together;
 * the only way to loop without going deeper into the instance is a chain of $ref, refused at load.
 */
#include "json_schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"
#include "json_schema_node.h"
#include "text.h"

const struct js_type_name tf_js_types[7] = {
    {"null", "null", JT_NULL},          {"boolean", "a boolean", JT_BOOLEAN},
    {"object", "an object", JT_OBJECT}, {"array", "an array", JT_ARRAY},
    {"number", "a number", JT_NUMBER},  {"string", "a string", JT_STRING},
    {"integer", "an integer", JT_INTEGER},
};

struct js_comp {
    struct tf_jschema *s;
    tf_jschema_report_fn report;
    void *arg;
    int bad;
};

static struct js_node *js_compile(struct js_comp *c, const json_t *src, const char *path);

/* ---- compile: helpers ------------------------------------------------------------------------ */

static void __attribute__((format(printf, 3, 4)))
js_report(struct js_comp *c, const char *path, const char *fmt, ...)
{
    char msg[512];

    GW_FORMAT_ARGS(msg, sizeof msg, fmt);
    c->report(c->arg, path, msg);
    c->bad++;
}

static struct js_node *
js_node_new(struct js_comp *c, const json_t *src, const char *path)
{
    struct tf_jschema *s = c->s;
    struct js_node *n = gw_xcalloc(1, sizeof *n);

    n->path = gw_xstrdup(path);
    n->src = src;
    n->minlen = n->maxlen = n->minitems = n->maxitems = -1;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->nodes = gw_xrealloc(s->nodes, s->cap * sizeof *s->nodes);
    }
    s->nodes[s->n++] = n;
    return n;
}

static int
js_is_schema(struct js_comp *c, const json_t *v, const char *path)
{
    if (json_is_object(v) || json_is_boolean(v))
        return 1;
    js_report(c, path, "expected a schema (an object, true or false), got %s",
              gw_json_type_name(v));
    return 0;
}

/* ---- compile: keywords ----------------------------------------------------------------------- */

static int
js_type_bit(const char *name)
{
    for (size_t i = 0; i < sizeof tf_js_types / sizeof tf_js_types[0]; i++)
        if (strcmp(tf_js_types[i].name, name) == 0)
            return (int)tf_js_types[i].bit;
    return 0;
}

static void
kw_type(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    char ipath[GW_JPATH_MAX];
    const json_t *e;
    size_t i;

    if (json_is_string(v) && js_type_bit(json_string_value(v)) != 0) {
        n->types = (unsigned)js_type_bit(json_string_value(v));
        return;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        js_report(c, path, "expected a type name (null, boolean, object, array, number, string, "
                  "integer) or a non-empty array of them");
        return;
    }
    json_array_foreach(v, i, e) {
        int bit = json_is_string(e) ? js_type_bit(json_string_value(e)) : 0;
        if (bit == 0)
            js_report(c, gw_jpath_index(ipath, sizeof ipath, path, i), "expected a type name "
                      "(null, boolean, object, array, number, string, integer)");
        n->types |= (unsigned)bit;
    }
}

/* The members of v, an object of schemas ("what: schema"), each compiled at its path; kept as
 * n's properties when props is set. */
static void
js_member_schemas(struct js_comp *c, struct js_node *n, const json_t *v, const char *path,
                  const char *what, int props)
{
    char mpath[GW_JPATH_MAX];
    struct js_node *s;
    const char *key;
    json_t *e;

    if (!json_is_object(v)) {
        js_report(c, path, "expected an object (%s: schema), got %s", what, gw_json_type_name(v));
        return;
    }
    if (props)
        n->props = gw_xcalloc(json_object_size(v) + 1, sizeof *n->props);
    json_object_foreach((json_t *)v, key, e) {
        gw_jpath_key(mpath, sizeof mpath, path, key);
        if (!js_is_schema(c, e, mpath))
            continue;
        s = js_compile(c, e, mpath);
        if (props)
            n->props[n->nprops++] = (struct js_prop){key, s};
    }
}

static void
kw_properties(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    js_member_schemas(c, n, v, path, "property name", 1);
}

static void
kw_required(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    char ipath[GW_JPATH_MAX];
    const json_t *e;
    size_t i;
    int ok = json_is_array(v);

    if (!ok) {
        js_report(c, path, "expected an array of property names, got %s", gw_json_type_name(v));
        return;
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) {
            js_report(c, gw_jpath_index(ipath, sizeof ipath, path, i),
                      "expected a property name (a string), got %s", gw_json_type_name(e));
            ok = 0;
        }
    }
    if (ok)
        n->required = v;
}

static void
kw_additional(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    if (json_is_false(v))
        n->addl_forbidden = 1;
    else if (json_is_object(v))
        n->addl = js_compile(c, v, path);
    else if (!json_is_true(v))
        js_report(c, path, "expected true, false or a schema, got %s", gw_json_type_name(v));
}

static void
kw_items(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    if (json_is_array(v))
        js_report(c, path, "the array form of items (a tuple) is not supported: give one schema "
                  "for every element");
    else if (js_is_schema(c, v, path))
        n->items = js_compile(c, v, path);
}

static void
kw_enum(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        js_report(c, path, "expected a non-empty array of the allowed values");
    else
        n->enum_v = v;
}

static void
kw_const(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    n->const_v = v;
}

static void
kw_bound(struct js_comp *c, struct js_node *n, const json_t *v, const char *path, unsigned bit,
         double *out)
{
    if (json_is_boolean(v) && (bit == JS_XMIN || bit == JS_XMAX)) {
        js_report(c, path, "a boolean here is draft 4, which is not supported: give the bound "
                  "itself as a number (draft 6 and later)");
        return;
    }
    if (!json_is_number(v)) {
        js_report(c, path, "expected a number, got %s", gw_json_type_name(v));
        return;
    }
    n->has |= bit;
    *out = json_number_value(v);
}

static void
kw_count(struct js_comp *c, const json_t *v, const char *path, long long *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        *out = json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e18 &&
             floor(json_real_value(v)) == json_real_value(v))
        *out = (long long)json_real_value(v);
    else if (json_is_number(v) && json_number_value(v) < 0)
        js_report(c, path, "must not be negative");
    else
        js_report(c, path, "expected a non-negative integer, got %s", gw_json_type_name(v));
}

/* ---- compile: pattern ------------------------------------------------------------------------ */

/* Rewrite an ECMA-262-ish pattern for regcomp (see json_schema.h) into out (4 * len + 1 bytes).
 * Returns NULL, or why it cannot be. */
static const char *
js_translate(const char *p, char *out)
{
    int bracket = 0;

    for (size_t i = 0; p[i] != '\0'; i++) {
        if (bracket) {
            if (p[i] == '\\')
                return "a backslash inside [...] is refused (POSIX reads it as a backslash, "
                       "ECMA-262 as an escape)";
            if (p[i] == '[' && p[i + 1] != '\0' && strchr(":.=", p[i + 1]) != NULL) {
                const char *end = strstr(p + i + 2, (char[3]){p[i + 1], ']', 0});
                if (end == NULL)
                    return "unterminated [: :], [. .] or [= =] inside brackets";
                size_t n = (size_t)(end - (p + i)) + 2;
                memcpy(out, p + i, n);
                out += n;
                i += n - 1;
                continue;
            }
            bracket = p[i] != ']';
            *out++ = p[i];
            continue;
        }
        if (p[i] == '\\' && (p[i + 1] == 'd' || p[i + 1] == 'D')) {
            out = stpcpy(out, p[i + 1] == 'd' ? "[0-9]" : "[^0-9]");
            i++;
        } else if (p[i] == '\\' && p[i + 1] != '\0') {
            *out++ = p[i++];
            *out++ = p[i];
        } else if (p[i] == '[') {
            bracket = 1;
            *out++ = p[i];
            if (p[i + 1] == '^')
                *out++ = p[++i];
            if (p[i + 1] == ']') /* a "]" first in brackets is itself */
                *out++ = p[++i];
        } else {
            *out++ = p[i];
        }
    }
    *out = '\0';
    return bracket ? "unterminated [" : NULL;
}

static void
kw_pattern(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    const char *src = json_string_value(v), *why;
    char *ere, msg[256];
    int rc;

    if (src == NULL) {
        js_report(c, path, "expected a string, got %s", gw_json_type_name(v));
        return;
    }
    ere = gw_xmalloc(4 * strlen(src) + 1);
    if ((why = js_translate(src, ere)) != NULL) {
        js_report(c, path, "pattern \"%s\": %s", src, why);
    } else if ((rc = regcomp(&n->re, ere, REG_EXTENDED | REG_NOSUB)) != 0) {
        regerror(rc, &n->re, msg, sizeof msg);
        js_report(c, path, "pattern \"%s\" is not a POSIX extended regular expression: %s", src,
                  msg);
    } else {
        n->has |= JS_PATTERN;
        n->pattern = src;
    }
    free(ere);
}

/* ---- compile: references --------------------------------------------------------------------- */

/* Decode %XX in a URI fragment into out (at least as long). Returns 0, or -1 on a bad escape. */
static int
js_percent_decode(const char *s, char *out)
{
    for (; *s != '\0'; s++) {
        unsigned hi, lo;
        if (*s != '%') {
            *out++ = *s;
            continue;
        }
        if (sscanf(s + 1, "%1x%1x", &hi, &lo) != 2)
            return -1;
        *out++ = (char)(hi << 4 | lo);
        s += 2;
    }
    *out = '\0';
    return 0;
}

/* The subschema the fragment pointer ptr ("" or "/a/b") names in doc, with its config path in
 * path; NULL when it does not resolve. */
static const json_t *
js_resolve(const json_t *doc, char *ptr, char *path, size_t plen)
{
    const json_t *cur = doc;

    path[0] = '\0';
    if (*ptr == '\0')
        return doc;
    if (*ptr != '/')
        return NULL;
    for (char *seg = ptr + 1, *end; cur != NULL; seg = end + 1) {
        end = strchr(seg, '/');
        if (end != NULL)
            *end = '\0';
        char *o = seg;
        for (char *i = seg; *i != '\0'; i++) {
            if (*i == '~' && (i[1] == '0' || i[1] == '1'))
                *o++ = *++i == '0' ? '~' : '/';
            else
                *o++ = *i;
        }
        *o = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
            gw_jpath_key(path, plen, path, seg);
        } else if (json_is_array(cur) && strspn(seg, "0123456789") == strlen(seg) && *seg) {
            cur = json_array_get(cur, strtoul(seg, NULL, 10));
            gw_jpath_index(path, plen, path, strtoul(seg, NULL, 10));
        } else {
            cur = NULL;
        }
        if (end == NULL)
            break;
    }
    return cur;
}

static void
kw_ref(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    const char *ref = json_string_value(v);
    char tpath[GW_JPATH_MAX], *frag;
    const json_t *target = NULL;

    if (ref == NULL) {
        js_report(c, path, "expected a string, got %s", gw_json_type_name(v));
        return;
    }
    if (ref[0] != '#') {
        js_report(c, path, "\"%s\": only references inside this schema are supported "
                  "(\"#/$defs/name\")", ref);
        return;
    }
    frag = gw_xmalloc(strlen(ref));
    if (js_percent_decode(ref + 1, frag) == 0)
        target = js_resolve(c->s->doc, frag, tpath, sizeof tpath);
    free(frag);
    if (target == NULL)
        js_report(c, path, "\"%s\" does not name a place in this schema", ref);
    else if (js_is_schema(c, target, path))
        n->ref = js_compile(c, target, tpath);
}

static void
kw_defs(struct js_comp *c, struct js_node *n, const json_t *v, const char *path)
{
    /* compiled now so that their errors show even when nothing refers to them */
    js_member_schemas(c, n, v, path, "name", 0);
}

/* ---- compile: one schema --------------------------------------------------------------------- */

static const char *const js_annotations[] = {
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
    "readOnly", "writeOnly", NULL,
};

static void
js_keyword(struct js_comp *c, struct js_node *n, const char *key, const json_t *v,
           const char *path)
{
    if (strcmp(key, "type") == 0) kw_type(c, n, v, path);
    else if (strcmp(key, "properties") == 0) kw_properties(c, n, v, path);
    else if (strcmp(key, "required") == 0) kw_required(c, n, v, path);
    else if (strcmp(key, "additionalProperties") == 0) kw_additional(c, n, v, path);
    else if (strcmp(key, "items") == 0) kw_items(c, n, v, path);
    else if (strcmp(key, "enum") == 0) kw_enum(c, n, v, path);
    else if (strcmp(key, "const") == 0) kw_const(c, n, v, path);
    else if (strcmp(key, "minimum") == 0) kw_bound(c, n, v, path, JS_MIN, &n->min);
    else if (strcmp(key, "maximum") == 0) kw_bound(c, n, v, path, JS_MAX, &n->max);
    else if (strcmp(key, "exclusiveMinimum") == 0) kw_bound(c, n, v, path, JS_XMIN, &n->xmin);
    else if (strcmp(key, "exclusiveMaximum") == 0) kw_bound(c, n, v, path, JS_XMAX, &n->xmax);
    else if (strcmp(key, "minLength") == 0) kw_count(c, v, path, &n->minlen);
    else if (strcmp(key, "maxLength") == 0) kw_count(c, v, path, &n->maxlen);
    else if (strcmp(key, "minItems") == 0) kw_count(c, v, path, &n->minitems);
    else if (strcmp(key, "maxItems") == 0) kw_count(c, v, path, &n->maxitems);
    else if (strcmp(key, "pattern") == 0) kw_pattern(c, n, v, path);
    else if (strcmp(key, "$ref") == 0) kw_ref(c, n, v, path);
    else if (strcmp(key, "$defs") == 0 || strcmp(key, "definitions") == 0) kw_defs(c, n, v, path);
    else {
        for (size_t i = 0; js_annotations[i] != NULL; i++)
            if (strcmp(js_annotations[i], key) == 0)
                return;
        js_report(c, path, "unsupported keyword \"%s\" (supported: type, properties, required, "
                  "additionalProperties, items, minItems, maxItems, enum, const, minimum, "
                  "maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, "
                  "$ref, $defs, definitions)", key);
    }
}

static struct js_node *
js_compile(struct js_comp *c, const json_t *src, const char *path)
{
    char kpath[GW_JPATH_MAX];
    struct js_node *n;
    const char *key;
    json_t *v;

    for (size_t i = 0; i < c->s->n; i++)
        if (c->s->nodes[i]->src == src)
            return c->s->nodes[i];
    n = js_node_new(c, src, path);
    if (json_is_false(src))
        n->never = 1;
    if (!json_is_object(src))
        return n;
    json_object_foreach((json_t *)src, key, v)
        js_keyword(c, n, key, v, gw_jpath_key(kpath, sizeof kpath, path, key));
    return n;
}

/* A chain of $ref that comes back to where it started never checks anything: refuse it. */
static void
js_check_loops(struct js_comp *c)
{
    char path[GW_JPATH_MAX];

    for (size_t i = 0; i < c->s->n; i++) {
        const struct js_node *start = c->s->nodes[i], *p = start->ref;
        for (size_t steps = 0; p != NULL && p != start && steps < c->s->n; steps++)
            p = p->ref;
        if (p == start)
            js_report(c, gw_jpath_key(path, sizeof path, start->path, "$ref"),
                      "this $ref leads back to itself through $ref only (an endless loop)");
    }
}

/* The enum and const values as trees, built once: a document is compared with them at every
 * check. */
static void
js_build_constants(struct tf_jschema *s)
{
    struct tf_ctx cx;

    tf_ctx_init(&cx, &s->arena, NULL); /* only its alloc is used */
    for (size_t i = 0; i < s->n; i++) {
        struct js_node *n = s->nodes[i];
        struct jv *v;
        if (n->const_v != NULL) {
            n->const_jv = v = cx.alloc(&cx, sizeof *v);
            tf_jv_of_json(&cx, n->const_v, v);
        }
        if (n->enum_v != NULL) {
            n->enum_jv = v = cx.alloc(&cx, sizeof *v);
            tf_jv_of_json(&cx, n->enum_v, v);
        }
    }
}

struct tf_jschema *
tf_jschema_compile(const json_t *schema, tf_jschema_report_fn report, void *arg)
{
    struct tf_jschema *s = gw_xcalloc(1, sizeof *s);
    struct js_comp c = {s, report, arg, 0};

    gw_arena_init(&s->arena);
    if ((s->doc = json_deep_copy(schema)) == NULL)
        abort();
    if (js_is_schema(&c, s->doc, "")) {
        s->top = js_compile(&c, s->doc, "");
        js_check_loops(&c);
    }
    if (c.bad > 0) {
        tf_jschema_free(s);
        return NULL;
    }
    js_build_constants(s);
    return s;
}

void
tf_jschema_free(struct tf_jschema *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct js_node *n = s->nodes[i];
        if (n->has & JS_PATTERN)
            regfree(&n->re);
        free(n->props);
        free(n->path);
        free(n);
    }
    free(s->nodes);
    gw_arena_free(&s->arena);
    json_decref(s->doc);
    free(s);
}
