/* json_schema_node.h: a compiled schema's types, shared by its compiler (json_schema.c) and its
 * checker (json_schema_check.c): one node per subschema, what each keyword asked for.
 */
#ifndef TF_JSON_SCHEMA_NODE_H
#define TF_JSON_SCHEMA_NODE_H

#include <stddef.h>
#include <regex.h>

#include <jansson.h>

#include "arena.h"
#include "json_schema.h"
#include "json_tree.h"

enum {
    JT_NULL = 1,
    JT_BOOLEAN = 2,
    JT_OBJECT = 4,
    JT_ARRAY = 8,
    JT_NUMBER = 16,
    JT_STRING = 32,
    JT_INTEGER = 64,
};

/* The type names a schema uses, and how a message wants each. */
struct js_type_name {
    const char *name, *wanted;
    unsigned bit;
};
extern const struct js_type_name tf_js_types[7];

enum { JS_MIN = 1, JS_MAX = 2, JS_XMIN = 4, JS_XMAX = 8, JS_PATTERN = 16 };

struct js_node;

/* A property's name and its schema. */
struct js_prop {
    const char *name; /* in tf_jschema.doc */
    struct js_node *schema;
};

/* One subschema, compiled. */
struct js_node {
    const json_t *src;
    char *path;
    int never; /* the schema false */
    unsigned types;
    struct js_node *ref;
    struct js_prop *props;
    size_t nprops;
    const json_t *required; /* array of strings */
    int addl_forbidden;
    struct js_node *addl;
    struct js_node *items;
    const json_t *enum_v, *const_v;        /* as the schema gives them: for the messages */
    const struct jv *enum_jv, *const_jv;    /* the same as trees: what a document is compared to */
    unsigned has;
    double min, max, xmin, xmax;
    long long minlen, maxlen, minitems, maxitems; /* -1: absent */
    regex_t re;
    const char *pattern;
};

/* The compiled schema: its copied document and every node made of it. */
struct tf_jschema {
    json_t *doc;
    struct gw_arena arena;  /* the enum and const trees */
    struct js_node **nodes;
    size_t n, cap;
    struct js_node *top;
};

#endif
