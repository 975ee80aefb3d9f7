/* http_conn.c: the client connection of the HTTP/1.1 engine.
 *
 * A connection goes HANDSHAKE (TLS) -> IDLE -> HEAD -> BODY -> WAIT -> IDLE ... or CLOSING. The head
 * is parsed in place in the bufferevent's input (pulled up, never more than the header limit),
 * copied once into the exchange arena and handed to request.c; the exchange API (exchange.c)
 * streams the body to the connector and the response back. Here: accept, TLS, reading, timeouts,
 * keep-alive, closing, and the worker's caches of connections and exchanges.
 */
#include "exchange.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>
#include <openssl/err.h>

#include "alloc.h"
#include "idempotency.h"
#include "limiter.h"
#include "log.h"
#include "resolve.h"

#define MAX_CACHED_EXCHANGES 64
#define LINGER_MS 2000

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void closing_step(struct gw_conn *c);
static void under_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void under_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void tls_sock_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void sock_read_cb(evutil_socket_t fd, short what, void *arg);

/* The log context of a connection's callbacks: its exchange's, else its own. */
static const struct gw_log_ctx *
conn_log(void *arg)
{
    struct gw_conn *c = arg;

    return c->ex != NULL ? &c->ex->log : &c->log;
}

void
gw_conn_timeouts(struct gw_conn *c, int read_ms)
{
    const struct gw_timeouts *t = &c->snap->config->timeouts;
    struct timeval rtv = {read_ms / 1000, (read_ms % 1000) * 1000};
    struct timeval wtv = {t->send_ms / 1000, (t->send_ms % 1000) * 1000};

    c->read_ms = read_ms;
    if (c->client.tls) {
        bufferevent_set_timeouts(c->bev, read_ms > 0 ? &rtv : NULL, &wtv);
        return;
    }
    if (c->bev != NULL)
        bufferevent_set_timeouts(c->bev, NULL, &wtv);
    if (event_pending(&c->rev, EV_READ, NULL))
        event_add(&c->rev, read_ms > 0 ? &rtv : NULL);
}

void
gw_conn_read(struct gw_conn *c, int on)
{
    struct timeval rtv = {c->read_ms / 1000, (c->read_ms % 1000) * 1000};

    if (c->client.tls) {
        /* the filter decides what it wants to decrypt; rev feeds the socket below it */
        if (on) {
            bufferevent_enable(c->bev, EV_READ);
            event_add(&c->rev, NULL);
        } else {
            bufferevent_disable(c->bev, EV_READ);
            event_del(&c->rev);
        }
    } else if (on) {
        event_add(&c->rev, c->read_ms > 0 ? &rtv : NULL);
    } else {
        event_del(&c->rev);
    }
}


/* xoroshiro128+: request and event ids need to be unique, not secret */
uint64_t
gw_worker_random(struct gw_worker *w)
{
    uint64_t s0 = w->rng[0], s1 = w->rng[1], r = s0 + s1;

    s1 ^= s0;
    w->rng[0] = ((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14);
    w->rng[1] = (s1 << 36) | (s1 >> 28);
    return r;
}

static struct gw_exchange *
exchange_new(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    struct gw_exchange *ex = w->free_ex;
    struct gw_arena arena;
    const struct pt_partner *p = c->peer.partner;
    uint64_t max = c->snap->config->limits.max_body_bytes;

    if (ex != NULL) {
        w->free_ex = ex->next_free;
        w->nfree_ex--;
        arena = ex->arena;
    } else {
        ex = gw_xmalloc(sizeof *ex);
        gw_arena_init(&arena);
    }
    memset(ex, 0, offsetof(struct gw_exchange, req)); /* all but the message heads */
    ex->arena = arena;
    ex->c = c;
    ex->api = &gw_exchange_api;
    ex->set = &c->snap->config->ex;
    ex->client = &c->client;
    ex->snap = c->snap;
    ex->partner = p;
    ex->obs = &w->obs;
    ex->log = (struct gw_log_ctx){ex->request_id, p != NULL ? p->id : NULL, c->client.ip};
    gw_obs_received(ex);
    if (p != NULL && p->max_body_bytes > 0 && p->max_body_bytes < max)
        max = p->max_body_bytes;
    ex->max_body = max;
    return ex;
}

void
gw_conn_release_exchange(struct gw_exchange *ex)
{
    struct gw_worker *w = ex->c->w;

    gw_obs_finished(ex, 0);
    gw_limits_release(ex);
    gw_exchange_cancel(ex);
    gw_idem_end(ex);
    gw_log_forget(&ex->log);
    ex->c->ex = NULL;
    if (w->nfree_ex < MAX_CACHED_EXCHANGES && !atomic_load(&w->stopping)) {
        gw_arena_reset(&ex->arena);
        ex->next_free = w->free_ex;
        w->free_ex = ex;
        w->nfree_ex++;
    } else {
        gw_arena_free(&ex->arena);
        free(ex);
    }
}

#define CONN_BLOCK 64

/* Connection structs live packed in blocks of their own: were they spread through the heap between
 * bufferevents, the pages that shrunk idle connections free could never go back to the system. */
static struct gw_conn *
conn_alloc(struct gw_worker *w)
{
    struct gw_conn *c;

    if (w->free_conns == NULL) {
        struct gw_conn *block = malloc(CONN_BLOCK * sizeof *block);
        void **blocks = realloc(w->conn_blocks, (w->nconn_blocks + 1) * sizeof *blocks);
        if (block == NULL || blocks == NULL) {
            free(block);
            if (blocks != NULL)
                w->conn_blocks = blocks;
            return NULL;
        }
        w->conn_blocks = blocks;
        w->conn_blocks[w->nconn_blocks++] = block;
        for (size_t i = 0; i < CONN_BLOCK; i++) {
            block[i].ex = (struct gw_exchange *)w->free_conns; /* the free list's link */
            w->free_conns = &block[i];
        }
    }
    c = w->free_conns;
    w->free_conns = (struct gw_conn *)c->ex;
    memset(c, 0, sizeof *c);
    return c;
}

static void
conn_release(struct gw_worker *w, struct gw_conn *c)
{
    c->ex = (struct gw_exchange *)w->free_conns;
    w->free_conns = c;
}

void
gw_conn_free(struct gw_conn *c)
{
    struct gw_worker *w = c->w;

    if (c->ex != NULL)
        gw_conn_release_exchange(c->ex);
    if (event_initialized(&c->ev))
        event_del(&c->ev);
    if (event_initialized(&c->rev))
        event_del(&c->rev);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    else
        close(c->fd);
    TAILQ_REMOVE(&w->conns, c, link);
    w->nconns--;
    pt_snapshot_unref(c->snap);
    free(c->cert.subject);
    free(c->cert.issuer);
    X509_free(c->peer.refused);
    free(c->peer.mismatch);
    gw_log_forget(&c->log);
    conn_release(w, c);
    if (atomic_load(&w->stopping) && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void
gw_conn_close_idle(struct gw_worker *w)
{
    struct gw_conn *c, *next;

    for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->state == GW_CONN_IDLE || c->state == GW_CONN_HANDSHAKE)
            gw_conn_free(c);
    }
}

/* The keep-alive read timeout of an idle connection: short for a plain one, which then shrinks. */
int
gw_conn_idle_ms(const struct gw_conn *c)
{
    int ka = c->snap->config->timeouts.keepalive_ms;

    return !c->client.tls && ka > GW_IDLE_SHRINK_MS ? GW_IDLE_SHRINK_MS : ka;
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == GW_CONN_CLOSING) {
        closing_step(c);
        return;
    }
    if (c->ex != NULL && c->ex->up_paused && c->state != GW_CONN_HEAD) {
        gw_exchange_client_drained(c->ex); /* a TLS client read enough of the response */
        return;
    }
    if (c->ex == NULL) {
        gw_conn_free(c);
        return;
    }
    gw_log(GW_LOG_DEBUG, "request head not complete in time");
    c->ex->keep_alive = 0;
    gw_exchange_problem(c->ex, 408, "client-timeout",
                        "the request head did not arrive within client_header_ms", NULL);
}

size_t
gw_client_pending(struct gw_conn *c)
{
    struct bufferevent *under = bufferevent_get_underlying(c->bev);

    return evbuffer_get_length(bufferevent_get_output(c->bev)) +
           (under != NULL ? evbuffer_get_length(bufferevent_get_output(under)) : 0);
}

static void
conn_setup_bev(struct gw_conn *c)
{
    /* A TLS filter hands its output to OpenSSL at once, and under_drained_cb() watches the socket
     * below: it needs no write callback, and having none spares a deferred callback (and a
     * non-blocking loop turn) per response. */
    bufferevent_setcb(c->bev, client_read_cb, c->client.tls ? NULL : client_write_cb, client_event_cb,
                      c);
    bufferevent_setwatermark(c->bev, EV_WRITE, GW_OUT_LOW, 0);
    /* what a client sends while its exchange is under way (pipelining) waits in the input, up to a
     * bound; reading stays on so that a client that goes away is noticed at once */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             c->snap->config->limits.max_header_bytes * 2 + 65536);
    if (!c->client.tls)
        bufferevent_disable(c->bev, EV_WRITE);
    gw_conn_timeouts(c, c->client.tls ? c->snap->config->timeouts.client_header_ms : gw_conn_idle_ms(c));
    gw_conn_read(c, 1);
}

/* What a client may have sent ahead (pipelining) before we stop reading it. */
static size_t
input_bound(const struct gw_conn *c)
{
    return c->snap->config->limits.max_header_bytes * 2 + 65536;
}

/* A plain connection's socket is readable (or its read timed out): read what is there into the
 * bufferevent's input and hand it on. A shrunk idle connection gets its bufferevent back first. */
static void
sock_read(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;
    struct evbuffer *in;
    ssize_t n;

    if (c->bev == NULL) {
        if (what & EV_TIMEOUT) {
            gw_conn_free(c); /* idle past keepalive_ms */
            return;
        }
        c->bev = bufferevent_socket_new(c->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL) {
            gw_conn_free(c);
            return;
        }
        conn_setup_bev(c);
    }
    if (what & EV_TIMEOUT) {
        client_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, c);
        return;
    }
    n = gw_sock_read(c->bev, fd);
    in = bufferevent_get_input(c->bev);
    if (n == 0) {
        client_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_EOF, c);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            client_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, c);
        return;
    }
    /* what a client sends while its exchange is under way (pipelining) waits, up to a bound */
    if (c->state != GW_CONN_BODY && evbuffer_get_length(in) >= input_bound(c))
        gw_conn_read(c, 0);
    client_read_cb(c->bev, c);
}

/* A TLS connection's socket is readable: read it into the input of the socket bufferevent under
 * the filter (without the FIONREAD libevent would ask first), then let the filter at it, as the
 * bufferevent's own read would have. */
static void
tls_sock_read(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;
    struct bufferevent *under = bufferevent_get_underlying(c->bev);
    ssize_t n = gw_sock_read(under, fd);

    (void)what;
    if (n > 0) {
        if (evbuffer_get_length(bufferevent_get_input(under)) >= input_bound(c))
            event_del(&c->rev); /* under_input_cb() resumes once the filter took some */
        bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        bufferevent_trigger_event(under, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
                                  0);
    }
}

static void
under_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct gw_conn *c = arg;

    if (info->n_deleted > 0 && !event_pending(&c->rev, EV_READ, NULL) &&
        (bufferevent_get_enabled(c->bev) & EV_READ) && evbuffer_get_length(buf) < input_bound(c))
        event_add(&c->rev, NULL);
}

static void
conn_shrink(struct gw_conn *c)
{
    c->w->shrunk++;
    bufferevent_setfd(c->bev, -1); /* keep the socket open when the bufferevent goes */
    bufferevent_free(c->bev);
    c->bev = NULL;
    /* rev keeps watching the socket, for what is left of keepalive_ms */
    c->read_ms = c->snap->config->timeouts.keepalive_ms - GW_IDLE_SHRINK_MS;
    gw_conn_read(c, 1);
}

void
gw_conn_accept(struct gw_worker *w, size_t li, int fd, struct sockaddr *sa, int salen)
{
    struct pt_snapshot *snap = w->snap;
    const struct gw_listener_conf *l = &snap->config->listeners[li];
    struct gw_conn *c;
    int one = 1;

    (void)salen;
    if (w->nconns >= snap->config->limits.max_connections || atomic_load(&w->stopping)) {
        close(fd);
        return;
    }
    c = conn_alloc(w);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->w = w;
    c->snap = pt_snapshot_ref(snap);
    c->lconf = l;
    c->client.port = gw_addr_text(sa, c->client.ip, sizeof c->client.ip);
    if (c->client.port < 0)
        c->client.port = 0;
    c->client.trusted = gw_config_trusted(snap->config, sa);
    c->log.client = c->client.ip;
    c->t_accept = gw_mono_us();
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->peer.mode = l->tls ? l->client_auth : GW_CLIENT_AUTH_NONE;
    c->peer.snap = snap;
    if (l->tls) {
        /* TLS as a filter over a socket bufferevent: records are made as soon as we queue output
         * and gw_bev_flush() writes them at once, head and body in one write */
        SSL *ssl = gw_tls_server_ssl(l, &c->peer);
        struct bufferevent *sock = ssl ? bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE)
                                       : NULL;
        c->client.tls = 1;
        c->bev = sock ? bufferevent_openssl_filter_new(w->base, sock, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                       BEV_OPT_CLOSE_ON_FREE)
                      : NULL;
        if (c->bev != NULL) {
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
            evbuffer_add_cb(bufferevent_get_output(sock), under_drained_cb, c);
            evbuffer_add_cb(bufferevent_get_input(sock), under_input_cb, c);
            bufferevent_disable(sock, EV_READ); /* rev reads it: tls_sock_read_cb() */
        } else {
            if (sock != NULL)
                bufferevent_free(sock), fd = -1;
            if (ssl != NULL)
                SSL_free(ssl);
        }
        c->state = GW_CONN_HANDSHAKE;
    } else {
        c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
        c->state = GW_CONN_IDLE;
    }
    c->fd = fd;
    evtimer_assign(&c->ev, w->base, conn_timer_cb, c);
    event_assign(&c->rev, w->base, fd, EV_READ | EV_PERSIST,
                 c->client.tls ? tls_sock_read_cb : sock_read_cb, c);
    if (c->bev == NULL) {
        gw_log(GW_LOG_ERROR, "client %s: cannot set up the connection", c->client.ip); /* no context yet */
        if (fd >= 0)
            close(fd);
        pt_snapshot_unref(c->snap);
        conn_release(w, c);
        return;
    }
    TAILQ_INSERT_TAIL(&w->conns, c, link);
    w->nconns++;
    conn_setup_bev(c);
}

/* Closing: once every byte of the last response is written (for TLS, also the records in the
 * socket bufferevent under the filter), shut our side and linger: read and drop what the client
 * still sends for a moment, so that unread input does not turn the close into a reset that
 * destroys the response in flight. */
static void
closing_step(struct gw_conn *c)
{
    int fd = bufferevent_getfd(c->bev);

    if (c->lingering)
        return;
    gw_bev_flush(c->bev); /* what the socket does not take now waits for its write event */
    if (gw_client_pending(c) > 0)
        return; /* called again by client_write_cb() (plain) or under_drained_cb() (TLS) */
    c->lingering = 1;
    if (fd < 0 || shutdown(fd, SHUT_WR) < 0) {
        gw_conn_free(c);
        return;
    }
    gw_conn_timeouts(c, LINGER_MS);
    gw_conn_read(c, 1);
}

void
gw_conn_start_closing(struct gw_conn *c)
{
    c->state = GW_CONN_CLOSING;
    event_del(&c->ev);
    gw_conn_read(c, 0);
    gw_conn_timeouts(c, 0);
    closing_step(c);
}

/* The socket under a TLS filter wrote its last bytes: a closing connection may go on (from the
 * loop, through the timer, never from inside libevent's write path). */
static void
under_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct gw_conn *c = arg;

    size_t len = evbuffer_get_length(buf);

    if (info->n_deleted == 0)
        return;
    if ((c->state == GW_CONN_CLOSING && !c->lingering && len == 0) ||
        (c->ex != NULL && c->ex->up_paused && len <= GW_OUT_LOW))
        event_active(&c->ev, EV_TIMEOUT, 1);
}

static void
read_head(struct gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in), n, head_len = 0;
    const struct gw_limits *lim = &c->snap->config->limits;
    struct gw_http_limits hl;
    struct gw_exchange *ex;
    const char *data;
    int rc;

    if (len == 0)
        return;
    if (c->state == GW_CONN_IDLE) {
        struct timeval tv = {c->snap->config->timeouts.client_header_ms / 1000,
                             (c->snap->config->timeouts.client_header_ms % 1000) * 1000};
        c->state = GW_CONN_HEAD;
        c->ex = exchange_new(c);
        gw_http_parser_init(&c->hp);
        evtimer_add(&c->ev, &tv);
        gw_conn_timeouts(c, c->snap->config->timeouts.client_header_ms);
    }
    ex = c->ex;
    hl.max_head_bytes = lim->max_header_bytes;
    hl.max_headers = lim->max_headers;
    hl.max_target_bytes = lim->max_target_bytes;
    hl.max_body_bytes = ex->max_body;
    hl.underscores = lim->underscores_in_headers;
    n = len <= lim->max_header_bytes ? len : lim->max_header_bytes + 1;
    data = (const char *)evbuffer_pullup(in, (ssize_t)n);
    rc = gw_http_parse_request(&c->hp, data, n, &hl, &ex->req, &head_len);
    if (rc == GW_HTTP_AGAIN)
        return;
    event_del(&c->ev);
    if (rc != GW_HTTP_OK) {
        evbuffer_drain(in, len);
        gw_request_refused(ex, rc);
        return;
    }
    ex->head = gw_arena_strndup(&ex->arena, data, head_len);
    ex->head_len = head_len;
    gw_http_rebase(&ex->req, data, ex->head, head_len);
    gw_request_drop_identity_claims(&ex->req);
    evbuffer_drain(in, head_len);
    gw_request_handle(ex);
}

/* ---- callbacks ---- */

static void
client_read(struct bufferevent *bev, void *arg)
{
    struct gw_conn *c = arg;

    switch (c->state) {
    case GW_CONN_IDLE:
    case GW_CONN_HEAD:
        read_head(c);
        break;
    case GW_CONN_BODY:
        gw_exchange_relay_request(c->ex);
        break;
    case GW_CONN_CLOSING:
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        break;
    default:
        break;
    }
}

static void
client_write(struct bufferevent *bev, void *arg)
{
    struct gw_conn *c = arg;

    gw_bev_drained(bev, !c->client.tls);
    if (c->state == GW_CONN_CLOSING) {
        closing_step(c);
        return;
    }
    if (c->ex != NULL)
        gw_exchange_client_drained(c->ex);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
    struct gw_conn *c = arg;

    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        uint64_t *done = &c->w->tls_done[ssl != NULL && SSL_session_reused(ssl)];
        __atomic_store_n(done, *done + 1, __ATOMIC_RELAXED);
        c->state = GW_CONN_IDLE;
        c->log.partner = c->peer.partner != NULL ? c->peer.partner->id : NULL;
        gw_bev_flush(bev); /* the end of the handshake (session tickets); then EV_WRITE off */
        gw_conn_timeouts(c, gw_conn_idle_ms(c));
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
            read_head(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->state == GW_CONN_IDLE &&
        !c->client.tls && c->snap->config->timeouts.keepalive_ms > GW_IDLE_SHRINK_MS &&
        evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        conn_shrink(c);
        return;
    }
    if (c->state == GW_CONN_HANDSHAKE) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "connection closed";
        if (e != 0)
            ERR_error_string_n(e, buf, sizeof buf);
        /* a certificate of a partner's CA that fits no partner is worth an operator's look:
         * which constraint failed is said here and in the audit, never in the alert */
        if (c->peer.verify_error == X509_V_ERR_CERT_REJECTED && c->peer.mismatch != NULL)
            gw_log(GW_LOG_INFO, "TLS handshake refused: %s: %s", gw_tls_peer_reason(&c->peer),
                   c->peer.mismatch);
        else
            gw_log(GW_LOG_DEBUG, "TLS handshake failed: %s%s%s", buf,
                   c->peer.verify_error ? ": " : "",
                   c->peer.verify_error ? gw_tls_peer_reason(&c->peer) : "");
        if (gw_tls_peer_code(&c->peer, e) != NULL)
            gw_obs_handshake(c, e);
        /* the alert OpenSSL wrote is in the socket's output below the filter: send it */
        gw_bev_flush(bev);
    } else if ((what & BEV_EVENT_TIMEOUT) && c->state == GW_CONN_BODY && c->ex != NULL &&
               !c->ex->resp_started) {
        gw_exchange_cancel(c->ex);
        c->ex->keep_alive = 0;
        gw_exchange_problem(c->ex, 408, "client-timeout",
                            "the request body stalled longer than client_body_ms", NULL);
        return;
    } else if (c->client.tls && (what & BEV_EVENT_ERROR)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "connection error";
        if (e != 0)
            ERR_error_string_n(e, buf, sizeof buf);
        gw_log(GW_LOG_DEBUG, "TLS: %s", buf);
        /* the alert OpenSSL wrote (a refused renegotiation's no_renegotiation) goes out first */
        gw_bev_flush(bev);
    }
    gw_conn_free(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    GW_LOG_IN(conn_log(arg), conn_timer(fd, what, arg));
}

static void
sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    GW_LOG_IN(conn_log(arg), sock_read(fd, what, arg));
}

static void
tls_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    GW_LOG_IN(conn_log(arg), tls_sock_read(fd, what, arg));
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
    GW_LOG_IN(conn_log(arg), client_read(bev, arg));
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
    GW_LOG_IN(conn_log(arg), client_write(bev, arg));
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    GW_LOG_IN(conn_log(arg), client_event(bev, what, arg));
}
