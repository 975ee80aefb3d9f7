/* xml_alloc.c: see xml_alloc.h. */
#include "xml_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

#define FROM_HEAP 0x68656170u  /* "heap" */
#define FROM_ARENA 0x6172656eu /* "aren" */

/* Before every block: its size and where it comes from (16 bytes: the block stays aligned for
 * any type). */
struct head {
    size_t size;
    uint32_t from;
    uint32_t pad;
};

static _Thread_local struct tf_ctx *arena_ctx; /* a chain runs: its exchange's context */
static _Thread_local int depth;
static int installed;

static void *
take(size_t n)
{
    struct head *h;

    if (n > SIZE_MAX - sizeof *h)
        return NULL;
    if (arena_ctx != NULL) {
        h = arena_ctx->alloc(arena_ctx, sizeof *h + n);
        h->from = FROM_ARENA;
    } else {
        if ((h = malloc(sizeof *h + n)) == NULL)
            return NULL;
        h->from = FROM_HEAP;
    }
    h->size = n;
    return h + 1;
}

static struct head *
head_of(void *p)
{
    struct head *h = (struct head *)p - 1;

    if (h->from != FROM_HEAP && h->from != FROM_ARENA)
        abort(); /* not one of ours: a block from before the allocator was installed */
    return h;
}

static void
give(void *p)
{
    struct head *h;

    if (p == NULL)
        return;
    h = head_of(p);
    if (h->from == FROM_HEAP)
        free(h);
    /* an arena's block goes with its exchange */
}

static void *
retake(void *p, size_t n)
{
    struct head *h;
    void *q;

    if (p == NULL)
        return take(n);
    h = head_of(p);
    if (h->from == FROM_HEAP && arena_ctx == NULL) {
        if (n > SIZE_MAX - sizeof *h || (h = realloc(h, sizeof *h + n)) == NULL)
            return NULL;
        h->size = n;
        return h + 1;
    }
    if (h->from == FROM_ARENA && n <= h->size)
        return p;
    if ((q = take(n)) == NULL)
        return NULL;
    memcpy(q, p, h->size < n ? h->size : n);
    give(p);
    return q;
}

static char *
dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = take(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void
tf_xml_alloc_init(void)
{
    if (xmlMemSetup(give, take, retake, dup) == 0)
        installed = 1;
    /* libxml2's globals (its encoding handlers, the dictionaries' lock, ...) made now, on the
     * heap: made lazily during a chain they would be in an exchange's arena */
    xmlInitParser();
}

void
tf_xml_alloc_enter(struct tf_ctx *x)
{
    if (!installed)
        return;
    if (depth++ == 0)
        arena_ctx = x;
}

void
tf_xml_alloc_leave(void)
{
    if (!installed || depth == 0)
        return;
    if (--depth == 0) {
        /* the last error's copy (a message libxml2 keeps for the thread) is in the arena */
        xmlResetLastError();
        arena_ctx = NULL;
    }
}

struct tf_ctx *
tf_xml_alloc_pause(void)
{
    struct tf_ctx *x = arena_ctx;

    arena_ctx = NULL;
    return x;
}

void
tf_xml_alloc_resume(struct tf_ctx *x)
{
    arena_ctx = x;
}
