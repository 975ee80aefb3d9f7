/* alloc.h: allocation that does not come back empty-handed.
 *
 * What cannot go on without the memory (loading a configuration, a parser's working stacks) asks
 * here: a failed allocation aborts the process, as gw_arena_alloc does, instead of making every
 * caller carry an error path that could only end the same way. A request for 0 bytes gets a
 * unique pointer, never NULL.
 */
#ifndef GW_ALLOC_H
#define GW_ALLOC_H

#include <stddef.h>

void *gw_xmalloc(size_t n);
void *gw_xcalloc(size_t n, size_t size);
void *gw_xrealloc(void *p, size_t n);
char *gw_xstrdup(const char *s);
char *gw_xstrndup(const char *s, size_t n);

#endif
