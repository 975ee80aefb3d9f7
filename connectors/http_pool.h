/* http_pool.h: per-worker pool of upstream HTTP(S) connections.
 *
 * One pool per worker thread (no locks). Idle connections are kept per upstream, watched for the
 * upstream closing them, and dropped after an idle timeout. A connection in the pool holds a
 * reference to the snapshot whose upstream it was made for.
 */
#ifndef CN_HTTP_POOL_H
#define CN_HTTP_POOL_H

#include <stddef.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "snapshot.h"

struct cn_pool;

struct cn_upconn {
    struct bufferevent *bev;
    struct cn_pool *pool;
    const struct pt_upstream *up;
    struct pt_snapshot *snap; /* keeps `up` alive */
    int connected;            /* connect (and TLS handshake) done */
    unsigned addr_gen;        /* the upstream's address generation it was made for */
    /* a plain upstream is read by this event, not by its bufferevent (one readv, no FIONREAD);
     * it hands what it read to the bufferevent's callbacks as the bufferevent would */
    int own_read;
    int read_ms;              /* the read timeout in force (0: none) */
    struct event rev;
    TAILQ_ENTRY(cn_upconn) link;
};

/* A pool keeping at most max_idle idle connections per upstream, each for at most idle_ms. */
struct cn_pool *cn_pool_new(struct event_base *base, size_t max_idle, int idle_ms);
void cn_pool_free(struct cn_pool *p);

/* An idle connection to `up` (*reused = 1), or a new one being connected (*reused = 0; the
 * caller's event callback sees BEV_EVENT_CONNECTED or an error). The caller sets the bufferevent
 * callbacks. Returns NULL when no socket could be made (errno set). */
struct cn_upconn *cn_pool_acquire(struct cn_pool *p, struct pt_snapshot *snap,
                                  const struct pt_upstream *up, int *reused);

/* A new connection to `up` being made (TLS for https, through its client context), not pooled:
 * for the health checks. NULL with errno set when it cannot be started. */
struct bufferevent *cn_pool_connect(struct cn_pool *p, const struct pt_upstream *up);

/* The loop the pool's connections are on. */
struct event_base *cn_pool_base(const struct cn_pool *p);

/* Give a connection back after a complete exchange; it is kept idle or closed if the pool is full. */
void cn_pool_release(struct cn_upconn *u);

/* Close and free a connection (error, or not reusable). */
void cn_pool_discard(struct cn_upconn *u);

/* Reading on or off (after the connection is made), with the read timeout in force. */
void cn_upconn_read(struct cn_upconn *u, int on);

/* Read and write timeouts in milliseconds (0: none). */
void cn_upconn_timeouts(struct cn_upconn *u, int read_ms, int write_ms);

#endif
