/* http_pool.c: see http_pool.h. */
#include "http_pool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "bundle.h"
#include "log.h"
#include "sockio.h"
#include "tls_client.h"

TAILQ_HEAD(cn_upconn_list, cn_upconn);

struct cn_bucket {
    const struct pt_upstream *up;
    struct cn_upconn_list idle;
    size_t n;
};

struct cn_pool {
    struct event_base *base;
    size_t max_idle;
    int idle_ms;
    struct cn_bucket **buckets; /* each allocated apart: the idle lists point at their heads */
    size_t nbuckets, cap;
};

struct cn_pool *
cn_pool_new(struct event_base *base, size_t max_idle, int idle_ms)
{
    struct cn_pool *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->base = base;
    p->max_idle = max_idle;
    p->idle_ms = idle_ms;
    return p;
}

static struct cn_bucket *
bucket_for(struct cn_pool *p, const struct pt_upstream *up, int create)
{
    struct cn_bucket *b;

    for (size_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i]->up == up)
            return p->buckets[i];
    if (!create)
        return NULL;
    /* reuse an empty bucket: its upstream may be gone with an old snapshot */
    for (size_t i = 0; i < p->nbuckets; i++) {
        if (p->buckets[i]->n == 0) {
            p->buckets[i]->up = up;
            return p->buckets[i];
        }
    }
    if (p->nbuckets == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct cn_bucket **v = realloc(p->buckets, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        p->buckets = v;
        p->cap = cap;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->up = up;
    TAILQ_INIT(&b->idle);
    p->buckets[p->nbuckets++] = b;
    return b;
}

static void
unlink_idle(struct cn_upconn *u)
{
    struct cn_bucket *b = bucket_for(u->pool, u->up, 0);

    if (b != NULL) {
        TAILQ_REMOVE(&b->idle, u, link);
        b->n--;
    }
}

void
cn_pool_discard(struct cn_upconn *u)
{
    if (u == NULL)
        return;
    if (u->own_read && event_initialized(&u->rev))
        event_del(&u->rev);
    bufferevent_free(u->bev);
    pt_snapshot_unref(u->snap);
    free(u);
}

/* An idle connection must stay silent: data, EOF, an error or the idle timeout all end it. */
static void
idle_read_cb(struct bufferevent *bev, void *arg)
{
    struct cn_upconn *u = arg;

    (void)bev;
    unlink_idle(u);
    cn_pool_discard(u);
}

static void
idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    idle_read_cb(bev, arg);
}

void
cn_pool_release(struct cn_upconn *u)
{
    struct cn_pool *p = u->pool;
    struct cn_bucket *b = bucket_for(p, u->up, 1);

    if (b == NULL || b->n >= p->max_idle || evbuffer_get_length(bufferevent_get_input(u->bev))) {
        cn_pool_discard(u);
        return;
    }
    bufferevent_setcb(u->bev, idle_read_cb, NULL, idle_event_cb, u);
    cn_upconn_timeouts(u, p->idle_ms, 0);
    cn_upconn_read(u, 1);
    /* most recently used first: it is the least likely to have been closed by the upstream */
    TAILQ_INSERT_HEAD(&b->idle, u, link);
    b->n++;
}

/* The read side of a plain upstream connection, done as the bufferevent would do it but without
 * asking the kernel how much there is first: read, then call the bufferevent's callbacks. */
static void
sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cn_upconn *u = arg;
    bufferevent_data_cb readcb;
    bufferevent_event_cb eventcb;
    void *cbarg;
    ssize_t n;

    bufferevent_getcb(u->bev, &readcb, NULL, &eventcb, &cbarg);
    if (what & EV_TIMEOUT) {
        if (eventcb != NULL)
            eventcb(u->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, cbarg);
        return;
    }
    n = gw_sock_read(u->bev, fd);
    if (n > 0) {
        if (readcb != NULL)
            readcb(u->bev, cbarg);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        if (eventcb != NULL)
            eventcb(u->bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
                    cbarg);
    }
}

void
cn_upconn_read(struct cn_upconn *u, int on)
{
    struct timeval tv = {u->read_ms / 1000, (u->read_ms % 1000) * 1000};

    if (!u->own_read) {
        if (on)
            bufferevent_enable(u->bev, EV_READ);
        else
            bufferevent_disable(u->bev, EV_READ);
        return;
    }
    if (!event_initialized(&u->rev))
        event_assign(&u->rev, bufferevent_get_base(u->bev), bufferevent_getfd(u->bev),
                     EV_READ | EV_PERSIST, sock_read_cb, u);
    if (on)
        event_add(&u->rev, u->read_ms > 0 ? &tv : NULL);
    else
        event_del(&u->rev);
}

void
cn_upconn_timeouts(struct cn_upconn *u, int read_ms, int write_ms)
{
    struct timeval rtv = {read_ms / 1000, (read_ms % 1000) * 1000};
    struct timeval wtv = {write_ms / 1000, (write_ms % 1000) * 1000};

    if (!u->own_read) {
        bufferevent_set_timeouts(u->bev, read_ms > 0 ? &rtv : NULL, write_ms > 0 ? &wtv : NULL);
        return;
    }
    bufferevent_set_timeouts(u->bev, NULL, write_ms > 0 ? &wtv : NULL);
    u->read_ms = read_ms;
    if (event_initialized(&u->rev) && event_pending(&u->rev, EV_READ, NULL))
        event_add(&u->rev, read_ms > 0 ? &rtv : NULL);
}

struct event_base *
cn_pool_base(const struct cn_pool *p)
{
    return p->base;
}

struct bufferevent *
cn_pool_connect(struct cn_pool *p, const struct pt_upstream *up)
{
    struct bufferevent *bev;
    int one = 1;

    if (up->kind == PT_UP_HTTPS) {
        SSL *ssl = gw_tls_client_ssl(up->ssl_ctx, up->host);
        if (ssl == NULL)
            return NULL;
        bev = bufferevent_openssl_socket_new(p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            SSL_free(ssl);
            return NULL;
        }
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL)
            return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pt_upstream_addr(up, &addr, &addrlen);
    if (bufferevent_socket_connect(bev, (const struct sockaddr *)&addr, (int)addrlen) < 0) {
        int e = errno;
        bufferevent_free(bev);
        errno = e;
        return NULL;
    }
    if (bufferevent_getfd(bev) >= 0)
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return bev;
}

struct cn_upconn *
cn_pool_acquire(struct cn_pool *p, struct pt_snapshot *snap, const struct pt_upstream *up,
                int *reused)
{
    struct cn_bucket *b = bucket_for(p, up, 0);
    struct cn_upconn *u;

    while (b != NULL && (u = TAILQ_FIRST(&b->idle)) != NULL) {
        TAILQ_REMOVE(&b->idle, u, link);
        b->n--;
        if (u->addr_gen == atomic_load_explicit(&up->addr_gen, memory_order_relaxed)) {
            *reused = 1;
            return u;
        }
        cn_pool_discard(u); /* to the address the upstream had before */
    }
    *reused = 0;
    u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->bev = cn_pool_connect(p, up);
    if (u->bev == NULL) {
        int e = errno;
        free(u);
        errno = e;
        return NULL;
    }
    u->pool = p;
    u->up = up;
    u->addr_gen = atomic_load_explicit(&up->addr_gen, memory_order_relaxed);
    u->own_read = up->kind != PT_UP_HTTPS;
    u->snap = pt_snapshot_ref(snap);
    return u;
}

void
cn_pool_free(struct cn_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nbuckets; i++) {
        struct cn_upconn *u;
        while ((u = TAILQ_FIRST(&p->buckets[i]->idle)) != NULL) {
            TAILQ_REMOVE(&p->buckets[i]->idle, u, link);
            cn_pool_discard(u);
        }
        free(p->buckets[i]);
    }
    free(p->buckets);
    free(p);
}
