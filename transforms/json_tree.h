/* json_tree.h: a JSON text as json_to_xml writes it: a tree read by the one JSON reader
 * (base/json_read.h), numbers kept as written, strings decoded, every key with its position;
 * memory from the exchange's arena.
 */
#ifndef TF_JSON_TREE_H
#define TF_JSON_TREE_H

#include <stddef.h>

#include "threat.h"
#include "transform.h"

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jmem;

/* A JSON value; strings decoded (pointing into the input when they had no escape), numbers as
 * written. */
struct jv {
    int t;
    size_t n;           /* bytes of a string or number; items or members of a container */
    const char *s;
    struct jv *items;
    struct jmem *mems;
};

struct jmem {
    const char *k;
    size_t kn, pos;     /* pos: where the key starts, for messages */
    struct jv v;
};

/* Read buf[0..len) under l's JSON limits into *v (memory from x's arena). Returns 0, or -1 with
 * *why and err set to the reader's refusal. */
int tf_json_tree_read(const char *buf, size_t len, const struct tf_limits *l, struct tf_ctx *x,
                      struct jv *v, enum tf_threat *why, char *err, size_t errlen);

#endif
