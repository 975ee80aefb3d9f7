/* redis_events.c: hiredis's async API on a worker's libevent loop (see redis_events.h). */
#include "redis_events.h"

#include <stdlib.h>

#include <event2/event.h>

struct ac_events {
    redisAsyncContext *ac;
    struct event *rd, *wr, *flush;
};

static _Thread_local int flushing; /* inside on_flush: a write that could not finish waits */

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisAsyncHandleRead(((struct ac_events *)arg)->ac); /* (it may free arg) */
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisAsyncHandleWrite(((struct ac_events *)arg)->ac);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flushing = 1;
    redisAsyncHandleWrite(((struct ac_events *)arg)->ac);
    flushing = 0;
}

static void
ev_add_read(void *arg)
{
    event_add(((struct ac_events *)arg)->rd, NULL); /* (pending already: nothing) */
}

static void
ev_del_read(void *arg)
{
    event_del(((struct ac_events *)arg)->rd);
}

static void
ev_add_write(void *arg)
{
    struct ac_events *e = arg;

    if (!flushing && (e->ac->c.flags & REDIS_CONNECTED))
        event_active(e->flush, EV_TIMEOUT, 0);
    else /* connecting (the write event says when it is done), or the socket is full */
        event_add(e->wr, NULL);
}

static void
ev_del_write(void *arg)
{
    event_del(((struct ac_events *)arg)->wr);
}

static void
ev_cleanup(void *arg)
{
    struct ac_events *e = arg;

    event_free(e->rd);
    event_free(e->wr);
    event_free(e->flush);
    free(e);
}

int
gw_redis_attach(redisAsyncContext *ac, struct event_base *base)
{
    struct ac_events *e = calloc(1, sizeof *e);

    if (e == NULL ||
        (e->rd = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, on_read, e)) == NULL ||
        (e->wr = event_new(base, ac->c.fd, EV_WRITE, on_write, e)) == NULL ||
        (e->flush = event_new(base, -1, 0, on_flush, e)) == NULL) {
        if (e != NULL) {
            if (e->rd != NULL)
                event_free(e->rd);
            if (e->wr != NULL)
                event_free(e->wr);
            free(e);
        }
        return -1;
    }
    e->ac = ac;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    event_add(e->rd, NULL);
    event_add(e->wr, NULL); /* the connection's end is known when it is writable */
    return 0;
}
