/* buf.h: one growable byte buffer.
 *
 * A zeroed struct gw_buf is an empty buffer in malloc'd memory, released with gw_buf_free.
 * gw_buf_init gives it another allocator, one that never fails and frees everything at once (the
 * exchange's arena): growing then copies into a new block and leaves the old one to the arena,
 * and gw_buf_free only forgets the memory.
 *
 * A write that cannot be made is dropped, and so is every later one: malloc failed (`oom`), or the
 * content would pass the ceiling `max` (`over`). The content is then cut; the caller looks at the
 * flags once, at the end, instead of after every write. There is always room for a NUL after the
 * content (gw_buf_str).
 *
 * The writers are inline: a JSON document or an audit event is thousands of small writes.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stddef.h>
#include <string.h>

struct gw_buf {
    char *p;
    size_t len;
    size_t cap; /* what the content may take before growing (the block has a byte more) */
    size_t max; /* the content's ceiling; 0: none */
    int oom;    /* a growth failed (malloc buffers only) */
    int over;   /* a write would have passed max */
    void *(*alloc)(void *ctx, size_t n); /* NULL: malloc */
    void *ctx;
};

/* An empty buffer taking its memory from alloc(ctx, n) (NULL: malloc), with a ceiling (0: none)
 * and room for `hint` bytes. */
void gw_buf_init(struct gw_buf *b, void *(*alloc)(void *ctx, size_t n), void *ctx, size_t max,
                 size_t hint);

/* The slow side of gw_buf_reserve: grow to take n more bytes. 0, or -1 with oom or over set. */
int gw_buf_grow(struct gw_buf *b, size_t n);

/* Room for n more bytes at b->p + b->len (to write there, then add to b->len). 0, or -1 when the
 * buffer failed (now or before): nothing may be written then. */
static inline int
gw_buf_reserve(struct gw_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : gw_buf_grow(b, n);
}

static inline void
gw_buf_add(struct gw_buf *b, const void *s, size_t n)
{
    if (gw_buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void
gw_buf_addc(struct gw_buf *b, char c)
{
    if (gw_buf_reserve(b, 1) < 0)
        return;
    b->p[b->len++] = c;
}

/* A NUL-terminated string, without its NUL. */
static inline void
gw_buf_adds(struct gw_buf *b, const char *s)
{
    gw_buf_add(b, s, strlen(s));
}

void gw_buf_printf(struct gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Has a write been dropped (the content is cut)? */
static inline int
gw_buf_failed(const struct gw_buf *b)
{
    return b->oom || b->over;
}

/* NUL-terminates the content (the NUL is not counted in len) and returns it; NULL only when a
 * malloc buffer that never held anything cannot get its first byte. */
char *gw_buf_str(struct gw_buf *b);

/* Empty the buffer and clear its flags, keeping its memory for the next content. */
void gw_buf_reset(struct gw_buf *b);

/* Release the memory (malloc buffers) and leave an empty buffer with the same allocator and
 * ceiling. */
void gw_buf_free(struct gw_buf *b);

/* The content, NUL-terminated, handed to the caller (free it for a malloc buffer; an arena
 * buffer's lives with the arena), its length in *len (when len is not NULL); the buffer is left
 * empty, as after gw_buf_free. NULL when a malloc buffer cannot get the byte for the NUL. */
char *gw_buf_steal(struct gw_buf *b, size_t *len);

#endif
