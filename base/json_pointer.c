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

int
gw_jptr_compile(const char *text, struct gw_jptr *p)
{
    size_t n = 0;

    memset(p, 0, sizeof *p);
    if (text[0] != '/' && text[0] != '\0')
        return -1;
    for (const char *q = text; *q; q++)
        n += *q == '/';
    p->segs = gw_xcalloc(n > 0 ? n : 1, sizeof *p->segs);
    for (; p->n < n; p->n++) {
        const char *start = text + 1, *end = strchr(start, '/');
        size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
        struct gw_jptr_seg *sg = &p->segs[p->n];
        if (gw_jptr_segment(start, len, &sg->key, &sg->index) < 0) {
            gw_jptr_free(p);
            return -1;
        }
        text = start + len;
    }
    return 0;
}

void
gw_jptr_free(struct gw_jptr *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->segs[i].key);
    free(p->segs);
    memset(p, 0, sizeof *p);
}

json_t *
gw_jptr_get(const struct gw_jptr *p, json_t *doc)
{
    json_t *v = doc;

    for (size_t i = 0; v != NULL && i < p->n; i++)
        v = json_is_object(v) ? json_object_get(v, p->segs[i].key)
            : json_is_array(v) && p->segs[i].index >= 0
                ? json_array_get(v, (size_t)p->segs[i].index)
                : NULL;
    return v;
}
