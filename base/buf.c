/* buf.c: see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define GW_BUF_MIN 64

void
gw_buf_init(struct gw_buf *b, void *(*alloc)(void *ctx, size_t n), void *ctx, size_t max,
            size_t hint)
{
    *b = (struct gw_buf){.max = max, .alloc = alloc, .ctx = ctx};
    if (max > 0 && hint > max)
        hint = max; /* a hint is no write: it never trips the ceiling */
    if (hint > 0)
        gw_buf_grow(b, hint);
}

/* A failed buffer shows no room (cap = len), so that the inline writers come to gw_buf_grow,
 * which refuses; the block keeps its byte for the NUL. */
static int
refuse(struct gw_buf *b)
{
    if (b->p != NULL)
        b->cap = b->len;
    return -1;
}

int
gw_buf_grow(struct gw_buf *b, size_t n)
{
    size_t need = b->len + n, cap;
    char *p;

    if (b->oom || b->over)
        return refuse(b);
    if (need < b->len || (b->max > 0 && need > b->max)) {
        b->over = 1;
        return refuse(b);
    }
    if (b->p != NULL && need <= b->cap)
        return 0;
    cap = b->cap * 2 > need ? b->cap * 2 : need;
    if (cap < GW_BUF_MIN)
        cap = GW_BUF_MIN;
    if (b->max > 0 && cap > b->max)
        cap = b->max;
    if (b->alloc != NULL) {
        p = b->alloc(b->ctx, cap + 1);
        if (b->len > 0)
            memcpy(p, b->p, b->len);
    } else if ((p = realloc(b->p, cap + 1)) == NULL) {
        b->oom = 1;
        return refuse(b);
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void
gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || gw_buf_reserve(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *
gw_buf_str(struct gw_buf *b)
{
    if (b->p == NULL && gw_buf_grow(b, 0) < 0)
        return NULL;
    b->p[b->len] = '\0';
    return b->p;
}

void
gw_buf_reset(struct gw_buf *b)
{
    b->len = 0;
    b->oom = b->over = 0;
}

void
gw_buf_free(struct gw_buf *b)
{
    if (b->alloc == NULL)
        free(b->p);
    *b = (struct gw_buf){.max = b->max, .alloc = b->alloc, .ctx = b->ctx};
}

char *
gw_buf_steal(struct gw_buf *b, size_t *len)
{
    char *s = gw_buf_str(b);

    if (len != NULL)
        *len = b->len;
    *b = (struct gw_buf){.max = b->max, .alloc = b->alloc, .ctx = b->ctx};
    return s;
}
