/* xj_convention.h: what xml_to_json and json_to_xml share inside transforms/ (the convention
 * itself is told in xml_json.h): their output buffer, the scalars, the prefixes json_to_xml
 * chooses and xml_to_json recognises, and the flags the configured paths give a member.
 */
#ifndef TF_XJ_CONVENTION_H
#define TF_XJ_CONVENTION_H

#include <stddef.h>

#include "buf.h"
#include "xml_json.h"

/* The output: a buffer in x's arena whose ceiling is the body limit (beyond it the conversion
 * stops and reports), with room for hint bytes. */
void tf_xj_out_init(struct gw_buf *o, struct tf_ctx *x, size_t hint);

/* Scratch memory from the output's arena. */
void *tf_xj_out_alloc(struct gw_buf *o, size_t n);

/* A new line and depth levels of indentation. */
void tf_xj_out_indent(struct gw_buf *o, int depth);

/* The output, NUL-terminated, and its length in *len. */
char *tf_xj_out_finish(struct gw_buf *o, size_t *len);

/* Is s[0..n) "true" or "false"? */
int tf_xj_is_bool(const char *s, size_t n);

/* "pj" is 0, "pj1" to "pj31" are 1 to 31 (the same for "xsi"); anything else -1. */
int tf_xj_prefix_index(const char *base, const char *p, size_t n);

/* base ("pj" or "xsi") and i as a prefix that lives as long as the process (scopes keep it). */
const char *tf_xj_prefix_name(const char *base, int i);

/* The flags of member key[0..n) under trie node t (NULL: off the configured paths), and the
 * member's own trie node in *kid (when kid is not NULL). */
unsigned tf_xj_key_flags(const struct tf_xj *c, const struct tf_xj_path *t, const char *key,
                         size_t n, const struct tf_xj_path **kid);

#endif
