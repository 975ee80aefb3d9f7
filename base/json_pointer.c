/* json_pointer.c: JSON pointer segments (see json_pointer.h). */
#include "json_pointer.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int
gw_jptr_segment(const char *text, size_t n, char **key, long *index)
{
    char *out = gw_xmalloc(n + 1), *o = out;

    *key = NULL;
    for (size_t i = 0; i < n; i++) {
        if (text[i] != '~') {
            *o++ = text[i];
        } else if (i + 1 < n && (text[i + 1] == '0' || text[i + 1] == '1')) {
            *o++ = text[++i] == '0' ? '~' : '/';
        } else {
            free(out);
            return -1;
        }
    }
    *o = '\0';
    *key = out;
    *index = -1;
    if (n > 0 && n < 10 && strspn(text, "0123456789") == n && (text[0] != '0' || n == 1))
        *index = strtol(text, NULL, 10);
    return 0;
}
