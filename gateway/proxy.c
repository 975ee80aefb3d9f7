/* proxy.c: the upstream side of an exchange.
 *
 * Takes a pooled (or new) connection to the route's upstream, writes the rewritten request head
 * (hop-by-hop fields gone, forwarding and partner fields set by us, never by the client), lets
 * http_conn.c stream the request body, parses the response head strictly, re-frames the response
 * body for the client and gives the connection back to the pool when both messages ended cleanly.
 */
#include "exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "chain.h"
#include "identity.h"
#include "log.h"

static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_write_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);
static void bad_response(struct gw_exchange *ex, const char *detail);
static void body_done(struct gw_exchange *ex);

/* A growable string in the exchange arena. */
struct sbuf {
    struct gw_arena *arena;
    char *p;
    size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2;
        char *p = gw_arena_alloc(b->arena, cap);
        memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void
sb_header(struct sbuf *b, const char *name, const char *value, size_t vlen)
{
    sb_str(b, name);
    sb_add(b, ": ", 2);
    sb_add(b, value, vlen);
    sb_add(b, "\r\n", 2);
}

static int
name_is(const struct gw_http_header *h, const char *lower)
{
    return gw_http_token_eq(h->name, h->name_len, lower);
}

static int
name_has_prefix(const struct gw_http_header *h, const char *lower, size_t n)
{
    return h->name_len >= n && strncasecmp(h->name, lower, n) == 0;
}

/* Is the field named in one of the message's Connection fields? */
static int
connection_listed(const struct gw_http_message *m, const struct gw_http_header *h)
{
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *c = &m->headers[i];
        if (c->name_len != 10 || !name_is(c, "connection"))
            continue;
        const char *p = c->value, *end = c->value + c->value_len;
        while (p < end) {
            const char *q = memchr(p, ',', (size_t)(end - p));
            const char *e = q ? q : end;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            const char *t = e;
            while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            if ((size_t)(t - p) == h->name_len && strncasecmp(p, h->name, h->name_len) == 0)
                return 1;
            p = q ? q + 1 : end;
        }
    }
    return 0;
}

const char *
gw_conn_cert_info(struct gw_conn *c)
{
    if (c->cert_subject == NULL && c->is_tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
        if (x == NULL)
            x = c->peer.refused; /* a handshake refused for it: what it said */
        unsigned char fp[32];
        if (x == NULL)
            return NULL;
        c->cert_subject = pt_name_rfc2253(X509_get_subject_name(x));
        c->cert_issuer = pt_name_rfc2253(X509_get_issuer_name(x));
        pt_cert_serial(x, c->cert_serial, sizeof c->cert_serial);
        if (pt_cert_sha256(x, fp) == 0) {
            au_hex(c->cert_fp, fp, 32);
            c->cert_fp[64] = '\0';
        }
    }
    return c->cert_subject;
}

static void
add_target(struct sbuf *b, const struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct gw_http_message *q = &ex->req;
    const char *base = r->upstream.path;

    if (base == NULL || base[0] == '\0') {
        sb_add(b, q->target, q->target_len);
        return;
    }
    sb_str(b, base);
    if (r->match == PT_PATH_PREFIX && q->path_len >= r->path_len) {
        const char *rest = q->path + r->path_len;
        size_t n = q->path_len - r->path_len;
        size_t bl = strlen(base);
        if (bl > 0 && base[bl - 1] == '/' && n > 0 && rest[0] == '/')
            rest++, n--;
        else if (bl > 0 && base[bl - 1] != '/' && n > 0 && rest[0] != '/')
            sb_add(b, "/", 1);
        sb_add(b, rest, n);
    }
    if (q->query != NULL) {
        sb_add(b, "?", 1);
        sb_add(b, q->query, q->query_len);
    }
}

/* One forwarding list field as a single line: a trusted proxy's values, in order, then ours. */
static void
sb_forwarding(struct sbuf *b, const struct gw_http_message *q, int trusted, const char *name,
              const char *ours)
{
    sb_str(b, name);
    sb_add(b, ": ", 2);
    for (size_t i = 0; trusted && i < q->nheaders; i++) {
        const struct gw_http_header *h = &q->headers[i];
        if (h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0) {
            sb_add(b, h->value, h->value_len);
            sb_add(b, ", ", 2);
        }
    }
    sb_str(b, ours);
    sb_add(b, "\r\n", 2);
}

static void
write_request_head(struct gw_exchange *ex, struct evbuffer *out)
{
    struct gw_conn *c = ex->c;
    const struct gw_http_message *q = &ex->req;
    const struct pt_partner *p = c->peer.partner;
    const char *proto = c->is_tls ? "https" : "http";
    int v6 = strchr(c->peer_ip, ':') != NULL;
    struct sbuf b = {&ex->arena, NULL, 0, 0};
    char num[32], elem[80];
    int xfp = 0;

    b.cap = ex->head_len + 1024;
    b.p = gw_arena_alloc(&ex->arena, b.cap);
    sb_add(&b, q->method_str, q->method_len);
    sb_add(&b, " ", 1);
    add_target(&b, ex);
    sb_str(&b, " HTTP/1.1\r\nHost: ");
    sb_str(&b, ex->route->upstream.hostport);
    sb_add(&b, "\r\n", 2);
    for (size_t i = 0; i < q->nheaders; i++) {
        const struct gw_http_header *h = &q->headers[i];
        if (gw_http_hop_by_hop(h) || name_is(h, "host") || name_is(h, "content-length") ||
            name_is(h, "expect") || name_is(h, "x-request-id") || name_is(h, "x-forwarded-host") ||
            name_has_prefix(h, "x-partner-", 10) || name_has_prefix(h, "x-client-cert", 13))
            continue;
        /* forwarding fields are written below, a trusted proxy's kept and appended to */
        if (name_is(h, "x-forwarded-for") || name_is(h, "forwarded"))
            continue;
        if (name_is(h, "x-forwarded-proto")) {
            if (!c->peer_trusted)
                continue;
            xfp = 1;
        }
        if (q->nheaders > 1 && connection_listed(q, h))
            continue;
        sb_add(&b, h->name, h->name_len);
        sb_add(&b, ": ", 2);
        sb_add(&b, h->value, h->value_len);
        sb_add(&b, "\r\n", 2);
    }
    sb_forwarding(&b, q, c->peer_trusted, "X-Forwarded-For", c->peer_ip);
    snprintf(elem, sizeof elem, v6 ? "for=\"[%s]\";proto=%s" : "for=%s;proto=%s", c->peer_ip, proto);
    sb_forwarding(&b, q, c->peer_trusted, "Forwarded", elem);
    if (!xfp)
        sb_header(&b, "X-Forwarded-Proto", proto, strlen(proto));
    if (q->host != NULL)
        sb_header(&b, "X-Forwarded-Host", q->host, q->host_len);
    sb_str(&b, "Via: 1.1 ");
    sb_str(&b, c->snap->config->node);
    sb_str(&b, "\r\nX-Request-Id: ");
    sb_str(&b, ex->request_id);
    sb_add(&b, "\r\n", 2);
    if (p != NULL) {
        sb_header(&b, "X-Partner-Id", p->id, strlen(p->id));
        if (gw_conn_cert_info(c) != NULL) {
            sb_header(&b, "X-Partner-Subject", c->cert_subject, strlen(c->cert_subject));
            sb_header(&b, "X-Partner-Fingerprint", c->cert_fp, strlen(c->cert_fp));
        }
    }
    if (q->body == GW_BODY_LENGTH) {
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)q->content_length);
        sb_header(&b, "Content-Length", num, (size_t)n);
    } else if (q->body == GW_BODY_CHUNKED) {
        sb_str(&b, "Transfer-Encoding: chunked\r\n");
    }
    sb_add(&b, "\r\n", 2);
    evbuffer_add(out, b.p, b.len);
}

static void
set_up_timeouts(struct gw_exchange *ex, int connecting)
{
    const struct gw_timeouts *t = &ex->c->snap->config->timeouts;
    int rms = ex->route->timeout_ms > 0 ? ex->route->timeout_ms : t->upstream_response_ms;
    int wms = connecting ? t->upstream_connect_ms : t->send_ms;
    cn_upconn_timeouts(ex->up, rms, wms);
}

void
gw_proxy_start(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    const struct pt_upstream *up = &ex->route->upstream;
    struct cn_upconn *u;
    int reused = 0;
    char detail[256];

    u = cn_pool_acquire(c->w->pool, c->snap, up, &reused);
    if (u == NULL) {
        snprintf(detail, sizeof detail, "cannot connect to %s: %s", up->hostport, strerror(errno));
        gw_exchange_problem(ex, 502, "upstream-unavailable", detail, NULL);
        return;
    }
    ex->up = u;
    ex->up_reused = reused;
    ex->resp_state = GW_RESP_HEAD;
    gw_http_parser_init(&ex->up_hp);
    bufferevent_setcb(u->bev, up_read_cb, up_write_cb, up_event_cb, ex);
    bufferevent_setwatermark(u->bev, EV_WRITE, GW_OUT_LOW, 0);
    set_up_timeouts(ex, !u->connected);
    write_request_head(ex, bufferevent_get_output(u->bev));
    ex->m_forwarded = gw_mono_us();
    if (ex->req_body_len > 0) /* transformed by the request chain */
        evbuffer_add(bufferevent_get_output(u->bev), ex->req_body, ex->req_body_len);
    if (u->connected)
        cn_upconn_read(u, 1);
    else /* the write event tells when the connection is made; TLS reads its handshake itself */
        bufferevent_enable(u->bev, u->own_read ? EV_WRITE : EV_READ | EV_WRITE);
    if (ex->req_done) {
        if (u->connected)
            gw_bev_flush(u->bev);
        c->state = GW_CONN_WAIT;
        gw_conn_timeouts(c, 0);
        return;
    }
    gw_exchange_read_body(ex);
}

void
gw_proxy_cancel(struct gw_exchange *ex)
{
    if (ex->up != NULL) {
        cn_pool_discard(ex->up);
        ex->up = NULL;
    }
}

/* The upstream's response was read to its end: its connection goes back to the pool when it may
 * carry another exchange. */
static void
up_release(struct gw_exchange *ex)
{
    struct cn_upconn *u = ex->up;
    int reusable = ex->resp.keep_alive && ex->resp_body != GW_BODY_UNTIL_EOF && ex->req_done;

    ex->resp_state = GW_RESP_DONE;
    ex->up = NULL;
    if (reusable) {
        u->connected = 1;
        cn_pool_release(u);
    } else {
        cn_pool_discard(u);
    }
}

/* The response has ended on the upstream side. */
static void
response_done(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;

    if (ex->client_chunked)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    gw_audit_exchange(ex); /* before the last bytes leave */
    gw_bev_flush(c->bev);
    up_release(ex);
    if (ex->close_delimited)
        ex->keep_alive = 0;
    gw_exchange_finish(ex);
}

/* Move response body bytes to the client. Returns 1 when the body ended, 0 for more, -1 when the
 * exchange was aborted. */
static int
relay_response(struct gw_exchange *ex)
{
    struct evbuffer *in = bufferevent_get_input(ex->up->bev);
    /* a body buffered for the response chain is kept decoded, in resp_buf */
    struct evbuffer *out = ex->resp_buffering ? ex->resp_buf : bufferevent_get_output(ex->c->bev);
    int done = 0;

    if (ex->resp_body == GW_BODY_LENGTH || ex->resp_body == GW_BODY_UNTIL_EOF) {
        size_t n = evbuffer_get_length(in);
        if (ex->resp_body == GW_BODY_LENGTH && n > ex->resp_left)
            n = (size_t)ex->resp_left;
        if (n > 0) {
            if (ex->client_chunked)
                evbuffer_add_printf(out, "%zx\r\n", n);
            gw_audit_body_in(ex, 1, in, n);
            evbuffer_remove_buffer(in, out, n);
            if (ex->client_chunked)
                evbuffer_add(out, "\r\n", 2);
        }
        if (ex->resp_body == GW_BODY_LENGTH) {
            ex->resp_left -= n;
            done = ex->resp_left == 0;
        }
    } else {
        while (!done && evbuffer_get_length(in) > 0) {
            struct evbuffer_iovec v;
            size_t n = 0;
            int rc;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            rc = gw_chunked_feed(&ex->resp_chunk, v.iov_base, v.iov_len, 0, &n);
            if (rc == GW_CHUNK_DATA) {
                if (ex->client_chunked)
                    evbuffer_add_printf(out, "%zx\r\n", n);
                gw_audit_body_in(ex, 1, in, n);
                evbuffer_remove_buffer(in, out, n);
                if (ex->client_chunked)
                    evbuffer_add(out, "\r\n", 2);
            } else if (rc == GW_CHUNK_FRAME || rc == GW_HTTP_AGAIN) {
                evbuffer_drain(in, n);
            } else if (rc == GW_CHUNK_DONE) {
                evbuffer_drain(in, n);
                done = 1;
            } else {
                gw_log(GW_LOG_INFO, "%s: malformed chunked body from upstream %s; aborted",
                       ex->request_id, ex->route->upstream.hostport);
                gw_exchange_abort(ex);
                return -1;
            }
        }
    }
    if (ex->resp_buffering &&
        evbuffer_get_length(out) > ex->c->snap->config->limits.max_buffered_body_bytes) {
        bad_response(ex, "the upstream's body exceeds max_buffered_body_bytes, the most a "
                     "route with transforms holds");
        return -1;
    }
    if (done || ex->resp_buffering)
        return done;
    gw_bev_flush(ex->c->bev);
    if (gw_client_pending(ex->c) > GW_OUT_HIGH) {
        cn_upconn_read(ex->up, 0);
        ex->up_paused = 1;
    }
    return 0;
}

void
gw_proxy_client_drained(struct gw_exchange *ex)
{
    if (ex->up == NULL || !ex->up_paused)
        return;
    ex->up_paused = 0;
    cn_upconn_read(ex->up, 1);
    if (ex->resp_state == GW_RESP_BODY && relay_response(ex) == 1)
        response_done(ex);
}

/* A small body that arrived with its head goes out with it, in one write (one TLS record). */
#define INLINE_BODY_MAX 16384

/* Write the response head for the client; `in` holds the upstream's bytes with the head's
 * head_len first. Returns how many body bytes were written along with the head (and so are to be
 * drained from `in` with the head). */
static size_t
write_response_head(struct gw_exchange *ex, struct evbuffer *in, size_t head_len,
                    const char *given, size_t given_len)
{
    struct gw_conn *c = ex->c;
    const struct gw_http_message *r = &ex->resp;
    struct sbuf b = {&ex->arena, NULL, 0, 0};
    char num[32];
    int client10 = ex->req.version_minor == 0;

    ex->resp_body = r->body;
    ex->resp_left = r->content_length;
    if (r->body == GW_BODY_CHUNKED || r->body == GW_BODY_UNTIL_EOF) {
        if (client10)
            ex->close_delimited = 1, ex->keep_alive = 0;
        else
            ex->client_chunked = 1;
    }
    if (!ex->req_done)
        ex->keep_alive = 0;
    size_t body = 0;
    if (given != NULL)
        body = given_len <= INLINE_BODY_MAX ? given_len : 0;
    else if (r->body == GW_BODY_LENGTH && r->content_length <= INLINE_BODY_MAX &&
             evbuffer_get_length(in) - head_len >= r->content_length)
        body = (size_t)r->content_length;
    b.cap = 512 + body;
    for (size_t i = 0; i < r->nheaders; i++)
        b.cap += r->headers[i].name_len + r->headers[i].value_len + 4;
    b.p = gw_arena_alloc(&ex->arena, b.cap);
    {
        int n = snprintf(num, sizeof num, "HTTP/1.1 %d ", r->status);
        sb_add(&b, num, (size_t)n);
    }
    if (r->reason_len > 0)
        sb_add(&b, r->reason, r->reason_len);
    else
        sb_str(&b, gw_status_text(r->status));
    sb_add(&b, "\r\n", 2);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct gw_http_header *h = &r->headers[i];
        if (gw_http_hop_by_hop(h) || name_is(h, "x-request-id") ||
            (name_is(h, "content-length") && r->body != GW_BODY_NONE) ||
            (r->nheaders > 1 && connection_listed(r, h)))
            continue;
        sb_add(&b, h->name, h->name_len);
        sb_add(&b, ": ", 2);
        sb_add(&b, h->value, h->value_len);
        sb_add(&b, "\r\n", 2);
    }
    if (r->body == GW_BODY_LENGTH) {
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)r->content_length);
        sb_header(&b, "Content-Length", num, (size_t)n);
    } else if (ex->client_chunked) {
        sb_str(&b, "Transfer-Encoding: chunked\r\n");
    }
    sb_str(&b, "Via: 1.1 ");
    sb_str(&b, c->snap->config->node);
    sb_str(&b, "\r\nX-Request-Id: ");
    sb_str(&b, ex->request_id);
    sb_add(&b, "\r\n", 2);
    if (!ex->keep_alive)
        sb_str(&b, "Connection: close\r\n");
    else if (client10)
        sb_str(&b, "Connection: keep-alive\r\n");
    sb_add(&b, "\r\n", 2);
    if (body > 0 && given != NULL) {
        sb_add(&b, given, body);
    } else if (body > 0) {
        struct evbuffer_ptr at;
        evbuffer_ptr_set(in, &at, head_len, EVBUFFER_PTR_SET);
        evbuffer_copyout_from(in, &at, b.p + b.len, body);
        gw_audit_body_in_mem(ex, 1, b.p + b.len, body);
        b.len += body;
        ex->resp_left -= body;
    }
    evbuffer_add(bufferevent_get_output(c->bev), b.p, b.len);
    if (given != NULL && body < given_len && ex->req.method != GW_METHOD_HEAD)
        evbuffer_add(bufferevent_get_output(c->bev), given, given_len);
    ex->status = r->status;
    ex->resp_started = 1;
    gw_audit_response_head(ex);
    return body;
}

/* The chunk framing of the body bytes that came with the head: checked before the head goes to
 * the client, so that a response malformed from its first chunk is a clean 502, not a cut one. */
static int
chunked_start_ok(struct evbuffer *in, size_t skip)
{
    struct gw_chunked ch;
    struct evbuffer_ptr ptr;
    struct evbuffer_iovec v[8];
    int nv;

    gw_chunked_init(&ch);
    if (evbuffer_ptr_set(in, &ptr, skip, EVBUFFER_PTR_SET) < 0)
        return 1;
    nv = evbuffer_peek(in, -1, &ptr, v, 8);
    for (int i = 0; i < nv && i < 8; i++) {
        const char *p = v[i].iov_base;
        size_t len = v[i].iov_len, n = 0;
        while (len > 0) {
            int rc = gw_chunked_feed(&ch, p, len, 0, &n);
            if (rc == GW_CHUNK_DONE)
                return 1;
            if (rc < 0 && rc != GW_HTTP_AGAIN)
                return 0;
            p += n;
            len -= n;
        }
    }
    return 1;
}

/* The response chain on a response whose head is in, up to head_len: a chain that needs the body
 * starts buffering it (returns 1: the head stays unwritten until the body has been read and
 * transformed); a chain on the head alone runs now (returns 0: write the head). Returns -1 after
 * answering a failure. */
static int
start_response_chain(struct gw_exchange *ex, struct evbuffer *in, const char *data,
                     size_t head_len)
{
    struct tf_message m;

    if (tf_chain_needs_body(ex->resp_chain) && ex->resp.body != GW_BODY_NONE) {
        char *head = gw_arena_strndup(&ex->arena, data, head_len);
        gw_http_rebase(&ex->resp, data, head, head_len);
        evbuffer_drain(in, head_len);
        ex->resp_buf = gw_pipeline_buffer(ex);
        ex->resp_buffering = 1;
        ex->resp_body = ex->resp.body;
        ex->resp_left = ex->resp.content_length;
        gw_chunked_init(&ex->resp_chunk);
        ex->resp_state = GW_RESP_BODY;
        if (ex->resp_body == GW_BODY_LENGTH && ex->resp_left == 0) {
            body_done(ex);
            return -1; /* answered */
        }
        return 1;
    }
    if (gw_pipeline_response(ex, &m) < 0)
        return -1;
    if (gw_pipeline_write_back(&m, &ex->resp) < 0) {
        bad_response(ex, "the response chain left more header fields than a head may have");
        return -1;
    }
    return 0;
}

/* A buffered response has been read whole: the upstream connection is done with, the chain runs,
 * and the transformed response goes to the client with a length. */
static void
transformed_response(struct gw_exchange *ex)
{
    struct tf_message m;

    ex->resp_buffering = 0;
    up_release(ex);
    if (gw_pipeline_response(ex, &m) < 0)
        return;
    if (gw_pipeline_write_back(&m, &ex->resp) < 0) {
        bad_response(ex, "the response chain left more header fields than a head may have");
        return;
    }
    ex->resp.body = GW_BODY_LENGTH;
    ex->resp.content_length = m.body_len;
    gw_audit_body_out(ex, 1, m.body != NULL ? m.body : "", m.body_len);
    write_response_head(ex, NULL, 0, m.body != NULL ? m.body : "", m.body_len);
    gw_audit_exchange(ex); /* before the answer leaves */
    gw_bev_flush(ex->c->bev);
    gw_exchange_finish(ex);
}

static void
body_done(struct gw_exchange *ex)
{
    if (ex->resp_buffering)
        transformed_response(ex);
    else
        response_done(ex);
}

static void
bad_response(struct gw_exchange *ex, const char *detail)
{
    gw_log(GW_LOG_INFO, "%s: upstream %s: %s", ex->request_id, ex->route->upstream.hostport, detail);
    gw_proxy_cancel(ex);
    ex->keep_alive = ex->keep_alive && ex->req_done;
    gw_exchange_problem(ex, 502, "bad-upstream-response", detail, NULL);
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
    struct gw_exchange *ex = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (ex->resp_state == GW_RESP_HEAD) {
        const struct gw_limits *lim = &ex->c->snap->config->limits;
        struct gw_http_limits hl = {.max_head_bytes = lim->max_header_bytes * 4,
                                    .max_headers = GW_HTTP_MAX_HEADERS,
                                    .max_target_bytes = lim->max_target_bytes};
        size_t len = evbuffer_get_length(in), head_len = 0;
        size_t n = len <= hl.max_head_bytes ? len : hl.max_head_bytes + 1;
        const char *data;
        int rc;

        if (len == 0)
            return;
        data = (const char *)evbuffer_pullup(in, (ssize_t)n);
        rc = gw_http_parse_response(&ex->up_hp, data, n, &hl, ex->req.method, &ex->resp,
                                    &head_len);
        if (rc == GW_HTTP_AGAIN)
            return;
        if (rc != GW_HTTP_OK) {
            bad_response(ex, "the upstream's response is malformed or ambiguous");
            return;
        }
        ex->m_up_head = gw_mono_us();
        ex->up_status = ex->resp.status;
        if (ex->resp.status >= 100 && ex->resp.status < 200) {
            if (ex->resp.status == 101) {
                bad_response(ex, "the upstream switched protocols, which is not supported");
                return;
            }
            /* interim responses: 100 Continue was answered by us already */
            evbuffer_drain(in, head_len);
            gw_http_parser_init(&ex->up_hp);
            continue;
        }
        if (ex->resp.body == GW_BODY_CHUNKED && len > head_len &&
            !chunked_start_ok(in, head_len)) {
            bad_response(ex, "the upstream's chunked body is malformed");
            return;
        }
        if (ex->resp_chain != NULL) {
            rc = start_response_chain(ex, in, data, head_len);
            if (rc < 0)
                return;
            if (rc > 0)
                continue; /* buffering: the body follows */
        }
        head_len += write_response_head(ex, in, head_len, NULL, 0);
        evbuffer_drain(in, head_len);
        gw_chunked_init(&ex->resp_chunk);
        if (ex->resp_body == GW_BODY_NONE ||
            (ex->resp_body == GW_BODY_LENGTH && ex->resp_left == 0)) {
            response_done(ex);
            return;
        }
        ex->resp_state = GW_RESP_BODY;
    }
    if (ex->resp_state == GW_RESP_BODY && relay_response(ex) == 1)
        body_done(ex);
}

static void
up_write_cb(struct bufferevent *bev, void *arg)
{
    struct gw_exchange *ex = arg;
    struct gw_conn *c = ex->c;

    gw_bev_drained(bev, ex->route->upstream.kind != PT_UP_HTTPS);
    if (ex->client_paused && c->state == GW_CONN_BODY) {
        ex->client_paused = 0;
        gw_conn_read(c, 1);
        gw_exchange_relay_request(ex);
    }
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct gw_exchange *ex = arg;
    const struct pt_upstream *up = &ex->route->upstream;
    char detail[384];

    if (what & BEV_EVENT_CONNECTED) {
        ex->up->connected = 1;
        set_up_timeouts(ex, 0);
        cn_upconn_read(ex->up, 1);
        return;
    }
    if ((what & BEV_EVENT_EOF) && ex->resp_state == GW_RESP_BODY &&
        ex->resp_body == GW_BODY_UNTIL_EOF) {
        if (relay_response(ex) >= 0)
            body_done(ex);
        return;
    }
    if (ex->resp_state != GW_RESP_HEAD) {
        gw_log(GW_LOG_INFO, "%s: upstream %s closed in the middle of the response; aborted",
               ex->request_id, up->hostport);
        gw_exchange_abort(ex);
        return;
    }
    /* a pooled connection the upstream closed just as we reused it: try once more on a fresh one
     * when nothing of the request is lost (no body) */
    if (ex->up_reused && !ex->retried && !(what & BEV_EVENT_TIMEOUT) &&
        ex->req.body == GW_BODY_NONE && evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        gw_proxy_cancel(ex);
        ex->retried = 1;
        gw_proxy_start(ex);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (!ex->up->connected)
            snprintf(detail, sizeof detail, "connecting to %s timed out", up->hostport);
        else
            snprintf(detail, sizeof detail, "%s did not answer in time", up->hostport);
        gw_proxy_cancel(ex);
        gw_exchange_problem(ex, 504, "upstream-timeout", detail, NULL);
        return;
    }
    if (!ex->up->connected) {
        unsigned long e = up->kind == PT_UP_HTTPS ? bufferevent_get_openssl_error(bev) : 0;
        int err = EVUTIL_SOCKET_ERROR();
        if (e != 0) {
            char buf[200];
            SSL *ssl = bufferevent_openssl_get_ssl(bev);
            long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
            ERR_error_string_n(e, buf, sizeof buf);
            snprintf(detail, sizeof detail, "TLS with %s failed: %s%s%s", up->hostport, buf,
                     vr != X509_V_OK ? ": " : "",
                     vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
        } else {
            snprintf(detail, sizeof detail, "cannot connect to %s: %s", up->hostport,
                     err ? strerror(err) : "connection closed");
        }
    } else {
        snprintf(detail, sizeof detail, "%s closed the connection before answering",
                 up->hostport);
    }
    gw_log(GW_LOG_INFO, "%s: %s", ex->request_id, detail);
    gw_proxy_cancel(ex);
    gw_exchange_problem(ex, 502, "upstream-unavailable", detail, NULL);
}
