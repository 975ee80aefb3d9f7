/* worker.h: one worker thread: its event loop, its listeners, its connectors' state, its snapshot.
 *
 * Nothing on the request path is shared between workers: each has its own SO_REUSEPORT listening
 * sockets, event_base and connector states (the http connector's upstream pool). The main thread
 * talks to a worker only through its eventfd (stop, new snapshot).
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "connector.h"
#include "snapshot.h"

struct gw_conn;
struct gw_exchange;
TAILQ_HEAD(gw_conn_list, gw_conn);

/* What a listener's accept callback needs to know. */
struct gw_accept_ctx {
    struct gw_worker *w;
    size_t index; /* into the snapshot's config->listeners */
};

struct gw_worker {
    int id;
    pthread_t thread;
    struct event_base *base;
    struct evconnlistener **listeners; /* one per configured listener, same order */
    size_t nlisteners;
    struct gw_accept_ctx *accept_ctx;  /* one per listener */
    void *cn_state[CN_MAX];            /* each connector's, by its slot (connector.h) */
    struct pt_snapshot *snap;          /* the snapshot new connections take */
    _Atomic(struct pt_snapshot *) next_snap; /* set by the main thread on reload */
    atomic_int stopping;
    int notify_fd;                     /* eventfd: the main thread writes to wake the loop */
    struct event *notify_ev;
    struct event *stop_timer;          /* hard deadline of a graceful stop */
    struct gw_conn_list conns;
    size_t nconns;
    struct gw_exchange *free_ex;       /* cached exchanges (linked through their conn field) */
    size_t nfree_ex;
    uint64_t rng[2];                   /* request ids */
    uint64_t requests;                 /* served, for the log at exit */
    uint64_t tls_done[2];              /* TLS handshakes completed: full [0], resumed [1] (the
                                        * worker writes them, the admin thread reads: metrics) */
    size_t shrunk;                     /* idle connections shrunk since the last malloc_trim */
    struct gw_conn *free_conns;        /* connection structs come from blocks of their own, so */
    void **conn_blocks;                /* that freed buffers around them can go back to the system */
    size_t nconn_blocks;
    struct event *trim_timer;
    struct ex_observers obs;           /* what exchanges are published to (the audit) */
    struct gw_limits_redis *redis;     /* its connection to the cluster's Redis (limiter_redis.c),
                                        * NULL until first used */
};

/* Wake the worker's loop (it then looks at stopping and next_snap); from any thread. */
void gw_worker_wake(struct gw_worker *w);

#endif
