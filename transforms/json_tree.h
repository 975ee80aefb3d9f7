/* json_tree.h: the JSON document model of the transform chain: a tree read by the one JSON
 * reader (base/json_read.h) or built by a step (xml_to_json), edited in place (json_map), read
 * (json_to_xml), and written once, at the end of the chain. Numbers are kept as written (their
 * literal, byte for byte: "6.20" stays "6.20"), strings decoded, every key read with its
 * position; all memory from the exchange's arena.
 *
 * Containers hold their entries by value, in arrays that grow in the arena (doubling; what a
 * growth leaves behind is freed with the exchange). So a pointer to an entry is good until its
 * container grows or loses an entry: an edit that reads values and then writes copies what it
 * read first (tf_jv_copy).
 */
#ifndef TF_JSON_TREE_H
#define TF_JSON_TREE_H

#include <stddef.h>

#include <jansson.h>

#include "threat.h"
#include "transform.h"

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jmem;

/* A JSON value; strings decoded (pointing into the input when they had no escape), numbers as
 * written. */
struct jv {
    int t;
    unsigned flags;     /* JV_INLINE */
    size_t n;           /* bytes of a string or number; items or members of a container */
    const char *s;
    struct jv *items;
    struct jmem *mems;
    size_t cap;         /* room in items or mems */
};

#define JV_INLINE 1u    /* pretty output writes this container on one line */

struct jmem {
    const char *k;
    size_t kn, pos;     /* pos: where the key starts, for messages */
    struct jv v;
};

/* Read buf[0..len) under l's JSON limits into *v (memory from x's arena). Returns 0, or -1 with
 * *why and err set to the reader's refusal. */
int tf_json_tree_read(const char *buf, size_t len, const struct tf_limits *l, struct tf_ctx *x,
                      struct jv *v, enum tf_threat *why, char *err, size_t errlen);

/* ---- editing (memory from x's arena; keys and strings are not copied: they must live as long
 * as the exchange, tf_jv_dup makes them so) ---- */

/* A copy of s[0..n) in x's arena (NUL-terminated). */
char *tf_jv_dup(struct tf_ctx *x, const char *s, size_t n);

/* The value of obj's member k[0..kn) (the last of that name), or NULL (none, or not an
 * object). */
struct jv *tf_jv_get(const struct jv *obj, const char *k, size_t kn);

/* A new member k (null) at the end of obj, without looking for one of that name (a builder that
 * knows its keys are new; tf_jv_get first otherwise). */
struct jv *tf_jv_add(struct tf_ctx *x, struct jv *obj, const char *k, size_t kn);

/* Remove obj's members k (their order kept for the others). Returns how many. */
size_t tf_jv_del(struct jv *obj, const char *k, size_t kn);

/* Rename obj's member from as to, in its place (a member already named to is removed). Returns
 * 1, or 0 when obj has no member from. */
int tf_jv_rename(struct jv *obj, const char *from, size_t fn, const char *to, size_t tn);

/* A new item (null) at the end of arr. */
struct jv *tf_jv_push(struct tf_ctx *x, struct jv *arr);

/* Remove arr's item i (the others move down). */
void tf_jv_remove(struct jv *arr, size_t i);

/* Empty containers and scalars. */
static inline struct jv
tf_jv_object(void)
{
    return (struct jv){ .t = J_OBJ };
}
static inline struct jv
tf_jv_array(void)
{
    return (struct jv){ .t = J_ARR };
}
static inline struct jv
tf_jv_string(const char *s, size_t n)
{
    return (struct jv){ .t = J_STR, .s = s, .n = n };
}

/* *dst = a copy of src with containers of its own (strings and numbers shared). */
void tf_jv_copy(struct tf_ctx *x, struct jv *dst, const struct jv *src);

/* A jansson value (a configuration's constant) as a tree in x's arena, its strings and keys
 * copied there (the tree does not need j afterwards): numbers with their shortest literal that
 * reads back the same ("6.2", "100"). */
void tf_jv_of_json(struct tf_ctx *x, const json_t *j, struct jv *out);

/* Write v as JSON into x's arena: compact (no spaces), or pretty (two spaces a level, ": ",
 * a newline at the end; JV_INLINE containers on one line). NULL when it would pass max bytes
 * (0: no ceiling). Returns the NUL-terminated text, its length in *len. */
char *tf_jv_write(const struct jv *v, int pretty, size_t max, struct tf_ctx *x, size_t *len);

#endif
