/* arena.h: the per-exchange memory arena.
 *
 * Everything an exchange allocates comes from its arena and is freed with it, in one place (nginx's
 * pool). Things that are not plain memory register a cleanup. gw_arena_reset() keeps the first
 * block for the next exchange on the same connection, so a keep-alive connection does not go back
 * to malloc for every request.
 */
#ifndef GW_ARENA_H
#define GW_ARENA_H

#include <stddef.h>

#include "buf.h"

struct gw_arena_block;
struct gw_arena_cleanup;

struct gw_arena {
    struct gw_arena_block *blocks; /* newest first */
    char *ptr, *end;               /* free space in the newest block */
    struct gw_arena_cleanup *cleanups;
};

void gw_arena_init(struct gw_arena *a);

/* n bytes aligned for any type; never NULL (aborts on out-of-memory, like the rest of the
 * process would). */
void *gw_arena_alloc(struct gw_arena *a, size_t n);
char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t n);
char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An empty buffer (base/buf.h) growing in the arena, with room for `hint` bytes: it never fails,
 * and what it leaves behind as it grows goes with the arena. */
void gw_arena_buf(struct gw_buf *b, struct gw_arena *a, size_t hint);

/* Run fn(arg) when the arena is reset or freed (last registered, first run). */
void gw_arena_cleanup(struct gw_arena *a, void (*fn)(void *), void *arg);

/* Run cleanups, free every block but the first, and empty the first. */
void gw_arena_reset(struct gw_arena *a);

/* Run cleanups and free every block. The arena can be used again after gw_arena_init. */
void gw_arena_free(struct gw_arena *a);

#endif
