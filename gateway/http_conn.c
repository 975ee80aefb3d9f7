/* http_conn.c: the client side of the HTTP/1.1 engine.
 *
 * A connection goes HANDSHAKE (TLS) -> IDLE -> HEAD -> BODY -> WAIT -> IDLE ... or CLOSING. The head
 * is parsed in place in the bufferevent's input (pulled up, never more than the header limit),
 * copied once into the exchange arena, and routed; the request body is streamed to the upstream as
 * it arrives (re-framed when chunked). Locally made answers (problems, mock routes) end here; the
 * upstream half lives in proxy.c.
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

#include "chain.h"
#include "identity.h"
#include "audit.h"
#include "log.h"
#include "router.h"

#define MAX_CACHED_EXCHANGES 64
#define LINGER_MS 2000

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void closing_step(struct gw_conn *c);
static void under_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void under_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void tls_sock_read_cb(evutil_socket_t fd, short what, void *arg);

const char *
gw_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

void
gw_conn_timeouts(struct gw_conn *c, int read_ms)
{
    const struct gw_timeouts *t = &c->snap->config->timeouts;
    struct timeval rtv = {read_ms / 1000, (read_ms % 1000) * 1000};
    struct timeval wtv = {t->send_ms / 1000, (t->send_ms % 1000) * 1000};

    c->read_ms = read_ms;
    if (c->is_tls) {
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

    if (c->is_tls) {
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

static int
request_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':'))
            return 0;
    }
    return 1;
}

static void
set_request_id(struct gw_exchange *ex)
{
    const struct gw_http_header *h;

    if (ex->c->peer_trusted && (h = gw_http_find_header(&ex->req, "x-request-id")) != NULL &&
        request_id_ok(h->value, h->value_len)) {
        memcpy(ex->request_id, h->value, h->value_len);
        ex->request_id[h->value_len] = '\0';
        return;
    }
    snprintf(ex->request_id, sizeof ex->request_id, "%016llx%016llx",
             (unsigned long long)gw_worker_random(ex->c->w), (unsigned long long)gw_worker_random(ex->c->w));
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
        ex = malloc(sizeof *ex);
        if (ex == NULL)
            abort();
        gw_arena_init(&arena);
    }
    memset(ex, 0, offsetof(struct gw_exchange, req)); /* all but the message heads */
    ex->arena = arena;
    ex->c = c;
    gw_audit_start(ex);
    if (p != NULL && p->max_body_bytes > 0 && p->max_body_bytes < max)
        max = p->max_body_bytes;
    ex->max_body = max;
    return ex;
}

static void
exchange_release(struct gw_exchange *ex)
{
    struct gw_worker *w = ex->c->w;

    gw_audit_exchange_lost(ex);
    gw_proxy_cancel(ex);
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
        exchange_release(c->ex);
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
    free(c->cert_subject);
    free(c->cert_issuer);
    X509_free(c->peer.refused);
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
static int
idle_timeout_ms(const struct gw_conn *c)
{
    int ka = c->snap->config->timeouts.keepalive_ms;

    return !c->is_tls && ka > GW_IDLE_SHRINK_MS ? GW_IDLE_SHRINK_MS : ka;
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == GW_CONN_CLOSING) {
        closing_step(c);
        return;
    }
    if (c->ex != NULL && c->ex->up_paused && c->state != GW_CONN_HEAD) {
        gw_proxy_client_drained(c->ex); /* a TLS client read enough of the response */
        return;
    }
    if (c->ex == NULL) {
        gw_conn_free(c);
        return;
    }
    gw_log(GW_LOG_DEBUG, "client %s: request head not complete in time", c->peer_ip);
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
    bufferevent_setcb(c->bev, client_read_cb, c->is_tls ? NULL : client_write_cb, client_event_cb,
                      c);
    bufferevent_setwatermark(c->bev, EV_WRITE, GW_OUT_LOW, 0);
    /* what a client sends while its exchange is under way (pipelining) waits in the input, up to a
     * bound; reading stays on so that a client that goes away is noticed at once */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             c->snap->config->limits.max_header_bytes * 2 + 65536);
    if (!c->is_tls)
        bufferevent_disable(c->bev, EV_WRITE);
    gw_conn_timeouts(c, c->is_tls ? c->snap->config->timeouts.client_header_ms : idle_timeout_ms(c));
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
sock_read_cb(evutil_socket_t fd, short what, void *arg)
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
tls_sock_read_cb(evutil_socket_t fd, short what, void *arg)
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
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer_ip, sizeof c->peer_ip);
        c->peer_port = ntohs(((struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer_ip,
                  sizeof c->peer_ip);
        c->peer_port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
    }
    c->peer_trusted = gw_config_trusted(snap->config, sa);
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
        c->is_tls = 1;
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
                 c->is_tls ? tls_sock_read_cb : sock_read_cb, c);
    if (c->bev == NULL) {
        gw_log(GW_LOG_ERROR, "client %s: cannot set up the connection", c->peer_ip);
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

/* ---- answers made here ---- */

void
gw_exchange_respond(struct gw_exchange *ex, int status, const char *content_type,
                    const char *body, size_t body_len, const char *extra_headers)
{
    struct gw_conn *c = ex->c;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (!ex->req_done)
        ex->keep_alive = 0; /* the rest of the request body is not read: close after */
    ex->status = status;
    int send = ex->req.method == GW_METHOD_HEAD ? 0 : (int)body_len;
    /* head and body in one piece: one write, one TLS record */
    char *msg = gw_arena_printf(&ex->arena,
                                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                                "X-Request-Id: %s\r\n%s%s\r\n%.*s",
                                status, gw_status_text(status), content_type, body_len,
                                ex->request_id[0] ? ex->request_id : "-",
                                extra_headers ? extra_headers : "",
                                !ex->keep_alive                ? "Connection: close\r\n"
                                : ex->req.version_minor == 0 ? "Connection: keep-alive\r\n"
                                                               : "",
                                send, body);
    evbuffer_add(out, msg, strlen(msg));
    ex->resp_started = 1;
    ex->local_type = content_type;
    gw_audit_body_out(ex, 1, body, body_len);
    gw_audit_exchange(ex); /* before the answer leaves */
    gw_bev_flush(c->bev);
    gw_exchange_finish(ex);
}

void
gw_exchange_problem(struct gw_exchange *ex, int status, const char *code, const char *detail,
                    const char *extra_headers)
{
    gw_exchange_problem_errors(ex, status, code, detail, extra_headers, NULL);
}

void
gw_exchange_problem_errors(struct gw_exchange *ex, int status, const char *code,
                           const char *detail, const char *extra_headers, json_t *errors)
{
    char type[96];
    json_t *j;
    char *body;

    if (ex->resp_started) {
        json_decref(errors);
        gw_exchange_abort(ex);
        return;
    }
    if (ex->request_id[0] == '\0')
        set_request_id(ex);
    ex->reason = code;
    snprintf(type, sizeof type, "urn:portico:problem:%s", code);
    j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", gw_status_text(status),
                  "status", status, "detail", detail ? detail : "", "request_id", ex->request_id);
    if (j != NULL && errors != NULL)
        json_object_set(j, "errors", errors);
    json_decref(errors);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    gw_log(status >= 500 ? GW_LOG_INFO : GW_LOG_DEBUG, "%s %s: %d %s: %s", ex->request_id,
           ex->c->peer_ip, status, code, detail ? detail : "");
    gw_exchange_respond(ex, status, "application/problem+json", body ? body : "{}",
                        body ? strlen(body) : 2, extra_headers);
    free(body);
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

static void
start_closing(struct gw_conn *c)
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

void
gw_exchange_finish(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    int keep = ex->keep_alive && ex->req_done && !atomic_load(&c->w->stopping);

    exchange_release(ex);
    if (!keep) {
        start_closing(c);
        return;
    }
    c->state = GW_CONN_IDLE;
    gw_http_parser_init(&c->hp);
    gw_conn_timeouts(c, idle_timeout_ms(c));
    gw_conn_read(c, 1);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        /* a pipelined request: handle it from the loop, not from inside this call chain */
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void
gw_exchange_abort(struct gw_exchange *ex)
{
    gw_conn_free(ex->c);
}

/* ---- the request ---- */

static int
hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A path a router can trust: no dot segments (plain or percent-encoded), no empty segments, no
 * encoded slash or backslash, valid percent escapes. Otherwise "/public/../acme/orders" would match
 * a public prefix and reach a partner's service after the upstream normalises it. */
static int
path_safe(const char *p, size_t n)
{
    size_t i = 0;

    if (n == 0 || p[0] != '/')
        return n == 1 && p[0] == '*';
    while (i < n) {
        size_t start = ++i, dots = 0, other = 0; /* skip the '/' */
        for (; i < n && p[i] != '/'; i++) {
            char ch = p[i];
            if (ch == '%') {
                int hi = i + 2 < n ? hexval(p[i + 1]) : -1, lo = i + 2 < n ? hexval(p[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return 0;
                ch = (char)(hi * 16 + lo);
                if (ch == '/' || ch == '\\' || ch == '\0')
                    return 0;
                i += 2;
            } else if (ch == '\\') {
                return 0;
            }
            if (ch == '.')
                dots++;
            else
                other++;
        }
        if (other == 0 && (dots == 1 || dots == 2))
            return 0;
        if (i == start && i < n) /* "//" */
            return 0;
    }
    return 1;
}

/* What a parser refusal is answered with. */
static const struct parse_refusal {
    int rc, status;
    const char *code, *detail;
} parse_refusals[] = {
    {GW_HTTP_E_HEAD_TOO_BIG, 431, "header-too-large", "the request head exceeds max_header_bytes"},
    {GW_HTTP_E_TOO_MANY, 431, "header-too-large", "more header fields than max_headers"},
    {GW_HTTP_E_BODY_TOO_BIG, 413, "body-too-large", "Content-Length exceeds max_body_bytes"},
    {GW_HTTP_E_URI_TOO_LONG, 414, "uri-too-long", "the request target exceeds max_target_bytes"},
    {GW_HTTP_E_NOT_IMPL, 501, "not-implemented", "only the chunked transfer coding is supported"},
    {GW_HTTP_E_VERSION, 505, "version-not-supported", "only HTTP/1.0 and HTTP/1.1 are served"},
    {GW_HTTP_E_METHOD, 405, "method-not-allowed", "CONNECT is not supported"},
    {GW_HTTP_E_BAD, 400, "bad-request", "the request is malformed or ambiguous (RFC 9112); refused"},
};

static void
parse_error(struct gw_exchange *ex, int rc)
{
    size_t n = sizeof parse_refusals / sizeof parse_refusals[0], i = 0;

    while (i < n - 1 && parse_refusals[i].rc != rc)
        i++; /* the last one, 400, answers anything else */
    ex->keep_alive = 0;
    ex->req.method = GW_METHOD_OTHER;
    ex->req.version_minor = 1;
    gw_exchange_problem(ex, parse_refusals[i].status, parse_refusals[i].code,
                        parse_refusals[i].detail, NULL);
}

static int
partner_listed(const struct pt_route *r, const struct pt_partner *p)
{
    for (size_t i = 0; i < r->npartners; i++)
        if (strcmp(r->partners[i], p->id) == 0)
            return 1;
    return 0;
}

/* Is the connection's partner allowed on the route? Answers the problem itself when not. */
static int
admit(struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct pt_partner *p = ex->c->peer.partner;
    char detail[256];

    if (r->access == PT_ACCESS_PUBLIC)
        return 0;
    if (p == NULL) {
        gw_exchange_problem(ex, 401, "partner-unidentified",
                            ex->c->is_tls ? gw_tls_peer_reason(&ex->c->peer)
                                          : "no client certificate (plain HTTP listener)",
                            NULL);
        return -1;
    }
    if ((r->access == PT_ACCESS_OWNER && r->owner != p) ||
        (r->access == PT_ACCESS_LIST && !partner_listed(r, p))) {
        snprintf(detail, sizeof detail, "partner %s may not use route %s", p->id, r->name);
        gw_exchange_problem(ex, 403, "partner-not-allowed", detail, NULL);
        return -1;
    }
    return 0;
}

static void
method_not_allowed(struct gw_exchange *ex, unsigned allowed)
{
    char allow[160] = "Allow: ";
    size_t n = strlen(allow);

    if (allowed & GW_METHOD_BIT(GW_METHOD_GET))
        allowed |= GW_METHOD_BIT(GW_METHOD_HEAD);
    for (int m = GW_METHOD_GET; m <= GW_METHOD_TRACE; m++) {
        if (!(allowed & GW_METHOD_BIT(m)))
            continue;
        n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s",
                              n > 7 ? ", " : "", gw_http_method_name((enum gw_http_method)m));
    }
    snprintf(allow + n, sizeof allow - n, "\r\n");
    gw_exchange_problem(ex, 405, "method-not-allowed", "the route does not take this method", allow);
}

static void
mock_respond(struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct pt_partner *p = ex->c->peer.partner;
    int status = r->upstream.target && r->upstream.target[0] ? atoi(r->upstream.target) : 200;
    json_t *j = json_pack("{s:s, s:s?, s:s}", "route", r->name, "partner", p ? p->id : NULL,
                          "request_id", ex->request_id);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (status < 200 || status > 599)
        status = 200;
    gw_exchange_respond(ex, status, "application/json", body ? body : "{}",
                        body ? strlen(body) : 2, NULL);
    free(body);
}

/* The request chain needs the whole body: read it into req_buf (bounded by the buffered body
 * limit), then run the chain and dispatch (gw_exchange_relay_request). */
static void
buffer_request(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    uint64_t max = c->snap->config->limits.max_buffered_body_bytes;

    if (ex->req.body == GW_BODY_LENGTH && ex->req.content_length > max) {
        ex->keep_alive = 0;
        gw_exchange_problem(ex, 413, "body-too-large",
                            "the body exceeds max_buffered_body_bytes, the most a route with "
                            "transforms holds", NULL);
        return;
    }
    if (max < ex->max_body)
        ex->max_body = max;
    ex->req_buf = gw_pipeline_buffer(ex);
    ex->req_buffering = 1;
    gw_exchange_read_body(ex);
}

static void
handle_request(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    struct gw_http_message *req = &ex->req;
    const struct gw_limits *lim = &c->snap->config->limits;
    unsigned allowed = 0;
    int rc;

    c->nrequests++;
    c->w->requests++;
    ex->keep_alive = req->keep_alive && c->nrequests < lim->max_keepalive_requests;
    ex->req_done = req->body == GW_BODY_NONE;
    ex->req_left = req->body == GW_BODY_LENGTH ? req->content_length : 0;
    if (req->body == GW_BODY_LENGTH && req->content_length == 0)
        ex->req_done = 1;
    gw_chunked_init(&ex->req_chunk);
    set_request_id(ex);

    if (c->w->audit != NULL && au_log_refusing(c->w->audit)) {
        ex->keep_alive = 0;
        gw_exchange_problem(ex, 503, "audit-unavailable",
                            "the audit log is full: no exchange is taken until Kafka takes its "
                            "events", "Retry-After: 5\r\n");
        return;
    }

    if (req->expect_other) {
        gw_exchange_problem(ex, 417, "expectation-failed", "only Expect: 100-continue is supported",
                            NULL);
        return;
    }
    if (!path_safe(req->path, req->path_len)) {
        gw_exchange_problem(ex, 400, "bad-request",
                            "the path holds dot segments, empty segments or encoded separators",
                            NULL);
        return;
    }
    rc = pt_router_match(c->snap->router, req->method, req->host, req->host ? req->host_len : 0,
                         req->path, req->path_len, &ex->route, &allowed);
    if (rc == PT_MATCH_NONE) {
        gw_exchange_problem(ex, 404, "route-not-found", "no route for this host and path", NULL);
        return;
    }
    if (rc == PT_MATCH_METHOD) {
        method_not_allowed(ex, allowed);
        return;
    }
    if (admit(ex) < 0)
        return;
    gw_pipeline_select(ex);
    if (tf_chain_needs_body(ex->req_chain) && !ex->req_done) {
        buffer_request(ex);
        return;
    }
    if (ex->req_chain != NULL && gw_pipeline_request(ex) < 0)
        return;
    gw_exchange_dispatch(ex);
}

/* A route's upstream is a mock or an http(s) one: kafka:// is refused at load (partners/bundle.c)
 * until a connector delivers it. */
void
gw_exchange_dispatch(struct gw_exchange *ex)
{
    if (ex->route->upstream.kind == PT_UP_MOCK)
        mock_respond(ex);
    else
        gw_proxy_start(ex);
}

/* Fields that claim an identity from outside (X-Partner-*, X-Client-Cert*, any case) leave the
 * request before anything reads it, routes, transforms and templates included: the only identity
 * is the verified certificate's, which the gateway writes itself (DESIGN, security rules). */
static void
drop_identity_claims(struct gw_http_message *m)
{
    size_t k = 0;

    for (size_t i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *h = &m->headers[i];
        if ((h->name[0] | 0x20) != 'x' ||
            !((h->name_len > 10 && strncasecmp(h->name, "x-partner-", 10) == 0) ||
              (h->name_len >= 13 && strncasecmp(h->name, "x-client-cert", 13) == 0)))
            m->headers[k++] = *h;
    }
    m->nheaders = k;
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
        parse_error(ex, rc);
        return;
    }
    ex->head = gw_arena_strndup(&ex->arena, data, head_len);
    ex->head_len = head_len;
    gw_http_rebase(&ex->req, data, ex->head, head_len);
    drop_identity_claims(&ex->req);
    evbuffer_drain(in, head_len);
    handle_request(ex);
}

static void
request_body_done(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;

    ex->req_done = 1;
    if (c->state == GW_CONN_BODY) {
        c->state = GW_CONN_WAIT;
        gw_conn_timeouts(c, 0);
    }
}

void
gw_exchange_read_body(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;

    if (ex->req.expect_continue) {
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        gw_bev_flush(c->bev);
    }
    c->state = GW_CONN_BODY;
    gw_conn_timeouts(c, c->snap->config->timeouts.client_body_ms);
    gw_exchange_relay_request(ex);
}

int
gw_exchange_relay_request(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    /* a body buffered for the request chain is kept decoded; one streamed upstream is re-framed */
    struct evbuffer *out = ex->req_buffering ? ex->req_buf : bufferevent_get_output(ex->up->bev);
    int frame = !ex->req_buffering;

    if (ex->req.body == GW_BODY_LENGTH) {
        size_t n = evbuffer_get_length(in);
        if (n > ex->req_left)
            n = (size_t)ex->req_left;
        if (n > 0) {
            gw_audit_body_in(ex, 0, in, n);
            evbuffer_remove_buffer(in, out, n);
        }
        ex->req_left -= n;
        if (ex->req_left == 0)
            request_body_done(ex);
    } else {
        while (!ex->req_done && evbuffer_get_length(in) > 0) {
            struct evbuffer_iovec v;
            size_t n = 0;
            int rc;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            rc = gw_chunked_feed(&ex->req_chunk, v.iov_base, v.iov_len, ex->max_body, &n);
            if (rc == GW_CHUNK_DATA) {
                if (frame)
                    evbuffer_add_printf(out, "%zx\r\n", n);
                gw_audit_body_in(ex, 0, in, n);
                evbuffer_remove_buffer(in, out, n);
                if (frame)
                    evbuffer_add(out, "\r\n", 2);
            } else if (rc == GW_CHUNK_FRAME || rc == GW_HTTP_AGAIN) {
                evbuffer_drain(in, n);
            } else if (rc == GW_CHUNK_DONE) {
                evbuffer_drain(in, n);
                if (frame)
                    evbuffer_add(out, "0\r\n\r\n", 5);
                request_body_done(ex);
            } else {
                gw_proxy_cancel(ex);
                ex->keep_alive = 0;
                if (rc == GW_HTTP_E_BODY_TOO_BIG)
                    gw_exchange_problem(ex, 413, "body-too-large",
                                        ex->req_buffering
                                            ? "the chunked body exceeds max_buffered_body_bytes, "
                                              "the most a route with transforms holds"
                                            : "the chunked body exceeds max_body_bytes",
                                        NULL);
                else
                    gw_exchange_problem(ex, 400, "bad-request", "malformed chunked body", NULL);
                return -1;
            }
        }
    }
    if (ex->req_buffering) {
        if (ex->req_done) { /* the whole body is here: transform it, then on to the connector */
            ex->req_buffering = 0;
            if (gw_pipeline_request(ex) == 0)
                gw_exchange_dispatch(ex);
        }
        return 0;
    }
    if (ex->up->connected)
        gw_bev_flush(ex->up->bev);
    if (!ex->req_done && evbuffer_get_length(out) > GW_OUT_HIGH) {
        gw_conn_read(c, 0);
        ex->client_paused = 1;
    }
    return 0;
}

/* ---- callbacks ---- */

static void
client_read_cb(struct bufferevent *bev, void *arg)
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
client_write_cb(struct bufferevent *bev, void *arg)
{
    struct gw_conn *c = arg;

    gw_bev_drained(bev, !c->is_tls);
    if (c->state == GW_CONN_CLOSING) {
        closing_step(c);
        return;
    }
    if (c->ex != NULL && c->ex->up_paused)
        gw_proxy_client_drained(c->ex);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct gw_conn *c = arg;

    if (what & BEV_EVENT_CONNECTED) {
        c->state = GW_CONN_IDLE;
        gw_bev_flush(bev); /* the end of the handshake (session tickets); then EV_WRITE off */
        gw_conn_timeouts(c, idle_timeout_ms(c));
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
            read_head(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->state == GW_CONN_IDLE &&
        !c->is_tls && c->snap->config->timeouts.keepalive_ms > GW_IDLE_SHRINK_MS &&
        evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        conn_shrink(c);
        return;
    }
    if (c->state == GW_CONN_HANDSHAKE) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "connection closed";
        if (e != 0)
            ERR_error_string_n(e, buf, sizeof buf);
        gw_log(GW_LOG_DEBUG, "client %s: TLS handshake failed: %s%s%s", c->peer_ip, buf,
               c->peer.verify_error ? ": " : "",
               c->peer.verify_error ? gw_tls_peer_reason(&c->peer) : "");
        if (gw_tls_peer_code(&c->peer, e) != NULL)
            gw_audit_handshake(c, e);
        /* the alert OpenSSL wrote is in the socket's output below the filter: send it */
        gw_bev_flush(bev);
    } else if ((what & BEV_EVENT_TIMEOUT) && c->state == GW_CONN_BODY && c->ex != NULL &&
               !c->ex->resp_started) {
        gw_proxy_cancel(c->ex);
        c->ex->keep_alive = 0;
        gw_exchange_problem(c->ex, 408, "client-timeout",
                            "the request body stalled longer than client_body_ms", NULL);
        return;
    } else if (c->is_tls && (what & BEV_EVENT_ERROR)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "connection error";
        if (e != 0)
            ERR_error_string_n(e, buf, sizeof buf);
        gw_log(GW_LOG_DEBUG, "client %s: TLS: %s", c->peer_ip, buf);
        /* the alert OpenSSL wrote (a refused renegotiation's no_renegotiation) goes out first */
        gw_bev_flush(bev);
    }
    gw_conn_free(c);
}
