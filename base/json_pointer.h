/* json_pointer.h: JSON pointers (RFC 6901) as configurations write them ("/card/number",
 * "/items/0/id"), read one segment at a time by those that compile them (a route's audit
 * redaction, the json_map transform), each into its own form. */
#ifndef GW_JSON_POINTER_H
#define GW_JSON_POINTER_H

#include <stddef.h>

#include <jansson.h>

/* The segment text[0..n) (what stands between two '/'): *key gets it unescaped (~1 is "/", ~0 is
 * "~"), malloc'd and NUL-terminated, *index the array index it names, or -1 when it names none
 * (an index is 1 to 9 digits without a leading 0). Returns 0, or -1 on a '~' followed by anything
 * else (*key is then NULL). Out of memory aborts, as configuration loading does. */
int gw_jptr_segment(const char *text, size_t n, char **key, long *index);

/* A pointer compiled for jansson documents: its segments, each a member name and the array
 * index it names (-1: none). */
struct gw_jptr {
    struct gw_jptr_seg {
        char *key;
        long index;
    } *segs;
    size_t n;
};

/* Compile text ("/a/b/0"; "" is the whole document) into p. 0, or -1 when it is not a pointer
 * (p is then empty). */
int gw_jptr_compile(const char *text, struct gw_jptr *p);
void gw_jptr_free(struct gw_jptr *p);
/* The value p points at in doc, or NULL. */
json_t *gw_jptr_get(const struct gw_jptr *p, json_t *doc);

#endif
