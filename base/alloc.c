/* alloc.c: see alloc.h. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static void *
checked(void *p)
{
    if (p == NULL)
        abort(); /* like the arena: the process does not go on without memory */
    return p;
}

void *
gw_xmalloc(size_t n)
{
    return checked(malloc(n ? n : 1));
}

void *
gw_xcalloc(size_t n, size_t size)
{
    return checked(calloc(n ? n : 1, size ? size : 1));
}

void *
gw_xrealloc(void *p, size_t n)
{
    return checked(realloc(p, n ? n : 1));
}

char *
gw_xstrdup(const char *s)
{
    return checked(strdup(s));
}

char *
gw_xstrndup(const char *s, size_t n)
{
    return checked(strndup(s, n));
}
