/* json_pointer.h: JSON pointers (RFC 6901) as configurations write them ("/card/number",
 * "/items/0/id"), read one segment at a time by those that compile them (a route's audit
 * redaction, the json_map transform), each into its own form. */
#ifndef GW_JSON_POINTER_H
#define GW_JSON_POINTER_H

#include <stddef.h>

/* The segment text[0..n) (what stands between two '/'): *key gets it unescaped (~1 is "/", ~0 is
 * "~"), malloc'd and NUL-terminated, *index the array index it names, or -1 when it names none
 * (an index is 1 to 9 digits without a leading 0). Returns 0, or -1 on a '~' followed by anything
 * else (*key is then NULL). Out of memory aborts, as configuration loading does. */
int gw_jptr_segment(const char *text, size_t n, char **key, long *index);

#endif
