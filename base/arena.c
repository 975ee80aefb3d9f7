/* arena.c: see arena.h. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192
#define ARENA_BLOCK_MAX (256 * 1024) /* blocks double up to this (a large document's tree then
                                      * costs a few mallocs, not one every 8 KiB) */
#define ARENA_ALIGN 16

struct gw_arena_block {
    struct gw_arena_block *next;
    size_t size;
    _Alignas(ARENA_ALIGN) char data[];
};

struct gw_arena_cleanup {
    struct gw_arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

void
gw_arena_init(struct gw_arena *a)
{
    a->blocks = NULL;
    a->ptr = a->end = NULL;
    a->cleanups = NULL;
}

static void
arena_grow(struct gw_arena *a, size_t n)
{
    size_t size = ARENA_BLOCK;
    struct gw_arena_block *b;

    if (a->blocks != NULL)
        size = a->blocks->size >= ARENA_BLOCK_MAX / 2 ? ARENA_BLOCK_MAX : a->blocks->size * 2;
    if (size < n)
        size = n;
    b = malloc(sizeof *b + size);

    if (b == NULL)
        abort();
    b->size = size;
    b->next = a->blocks;
    a->blocks = b;
    a->ptr = b->data;
    a->end = b->data + size;
}

void *
gw_arena_alloc(struct gw_arena *a, size_t n)
{
    void *p;

    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if ((size_t)(a->end - a->ptr) < n || a->ptr == NULL)
        arena_grow(a, n);
    p = a->ptr;
    a->ptr += n;
    return p;
}

char *
gw_arena_strndup(struct gw_arena *a, const char *s, size_t n)
{
    char *p = gw_arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p = gw_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
gw_arena_cleanup(struct gw_arena *a, void (*fn)(void *), void *arg)
{
    struct gw_arena_cleanup *c = gw_arena_alloc(a, sizeof *c);

    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}

static void
run_cleanups(struct gw_arena *a)
{
    while (a->cleanups != NULL) {
        struct gw_arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
}

void
gw_arena_reset(struct gw_arena *a)
{
    struct gw_arena_block *b;

    run_cleanups(a);
    if (a->blocks == NULL)
        return;
    /* keep the oldest block (the last in the list), free the others */
    while (a->blocks->next != NULL) {
        b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    a->ptr = a->blocks->data;
    a->end = a->blocks->data + a->blocks->size;
}

void
gw_arena_free(struct gw_arena *a)
{
    run_cleanups(a);
    while (a->blocks != NULL) {
        struct gw_arena_block *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    gw_arena_init(a);
}

static void *
arena_take(void *arena, size_t n)
{
    return gw_arena_alloc(arena, n);
}

void
gw_arena_buf(struct gw_buf *b, struct gw_arena *a, size_t hint)
{
    gw_buf_init(b, arena_take, a, 0, hint);
}
