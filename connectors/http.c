/* http.c: the connector to HTTP(S) upstreams ("http://", "https://").
 *
 * Takes a pooled (or new) connection to the route's upstream from this worker's pool
 * (http_pool.h; outbound mTLS through the route's client context), writes the rewritten request
 * head (hop-by-hop fields gone, forwarding and partner fields set by us, never by the client),
 * takes the request body the exchange relays into the connection's output, parses the response
 * head strictly, decodes the response body's framing and hands head and body to the exchange
 * (ex->api), which writes them for the client. The connection goes back to the pool when both
 * messages ended cleanly.
 */
#include "connector.h"
#include "consumer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "buf.h"
#include "clock.h"
#include "http_health.h"
#include "http_pool.h"
#include "log.h"
#include "sockio.h"
#include "upstream_set.h"

/* A worker's state: its connection pool, and the health checks that fall to it. */
struct http_worker {
    struct cn_pool *pool;
    struct cn_checks *checks;
    struct cn_dns *dns;        /* the resolver of the sets' names (made when first needed) */
};

static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_write_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);
static void http_start(struct gw_exchange *ex);

static int
name_is(const struct gw_http_header *h, const char *lower)
{
    return gw_http_token_eq(h->name, h->name_len, lower);
}

static void
add_target(struct gw_buf *b, const struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct gw_http_message *q = &ex->req;
    const char *base = ex->target->path;

    if (base == NULL || base[0] == '\0') {
        gw_buf_add(b, q->target, q->target_len);
        return;
    }
    gw_buf_adds(b, base);
    if (r->match == PT_PATH_PREFIX && q->path_len >= r->path_len) {
        const char *rest = q->path + r->path_len;
        size_t n = q->path_len - r->path_len;
        size_t bl = strlen(base);
        if (bl > 0 && base[bl - 1] == '/' && n > 0 && rest[0] == '/')
            rest++, n--;
        else if (bl > 0 && base[bl - 1] != '/' && n > 0 && rest[0] != '/')
            gw_buf_addc(b, '/');
        gw_buf_add(b, rest, n);
    }
    if (q->query != NULL) {
        gw_buf_addc(b, '?');
        gw_buf_add(b, q->query, q->query_len);
    }
}

/* One forwarding list field as a single line: a trusted proxy's values, in order, then ours. */
static void
add_forwarding(struct gw_buf *b, const struct gw_http_message *q, int trusted, const char *name,
               const char *ours)
{
    gw_buf_adds(b, name);
    gw_buf_add(b, ": ", 2);
    for (size_t i = 0; trusted && i < q->nheaders; i++) {
        const struct gw_http_header *h = &q->headers[i];
        if (h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0) {
            gw_buf_add(b, h->value, h->value_len);
            gw_buf_add(b, ", ", 2);
        }
    }
    gw_buf_adds(b, ours);
    gw_buf_add(b, "\r\n", 2);
}

static void
add_field(struct gw_buf *b, const char *name, const char *value)
{
    gw_http_put_field(b, name, strlen(name), value, strlen(value));
}

static void
write_request_head(struct gw_exchange *ex, struct evbuffer *out)
{
    const struct ex_client *cl = ex->client;
    const struct gw_http_message *q = &ex->req;
    const char *proto = cl->tls ? "https" : "http";
    int v6 = strchr(cl->ip, ':') != NULL;
    struct gw_buf b;
    char num[32], elem[80];
    int xfp = 0;

    gw_arena_buf(&b, &ex->arena, ex->head_len + 1024);
    gw_buf_add(&b, q->method_str, q->method_len);
    gw_buf_addc(&b, ' ');
    add_target(&b, ex);
    gw_buf_adds(&b, " HTTP/1.1\r\nHost: ");
    gw_buf_adds(&b, ex->target->hostport);
    gw_buf_add(&b, "\r\n", 2);
    for (size_t i = 0; i < q->nheaders; i++) {
        const struct gw_http_header *h = &q->headers[i];
        if (gw_http_hop_by_hop(h) || name_is(h, "host") || name_is(h, "content-length") ||
            name_is(h, "expect") || name_is(h, "x-request-id") || name_is(h, "x-forwarded-host") ||
            gw_http_identity_claim(h->name, h->name_len))
            continue;
        /* forwarding fields are written below, a trusted proxy's kept and appended to */
        if (name_is(h, "x-forwarded-for") || name_is(h, "forwarded"))
            continue;
        if (name_is(h, "x-forwarded-proto")) {
            if (!cl->trusted)
                continue;
            xfp = 1;
        }
        if (q->nheaders > 1 && gw_http_connection_listed(q, h))
            continue;
        gw_http_put_field(&b, h->name, h->name_len, h->value, h->value_len);
    }
    add_forwarding(&b, q, cl->trusted, "X-Forwarded-For", cl->ip);
    snprintf(elem, sizeof elem, v6 ? "for=\"[%s]\";proto=%s" : "for=%s;proto=%s", cl->ip, proto);
    add_forwarding(&b, q, cl->trusted, "Forwarded", elem);
    if (!xfp)
        add_field(&b, "X-Forwarded-Proto", proto);
    if (q->host != NULL)
        gw_http_put_field(&b, "X-Forwarded-Host", 16, q->host, q->host_len);
    gw_buf_adds(&b, "Via: 1.1 ");
    gw_buf_adds(&b, ex->set->node);
    gw_buf_add(&b, "\r\n", 2);
    add_field(&b, "X-Request-Id", ex->request_id);
    if (ex->partner != NULL) {
        const struct ex_cert *cert = ex->api->cert(ex);
        add_field(&b, "X-Partner-Id", ex->partner->id);
        if (cert != NULL) {
            add_field(&b, "X-Partner-Subject", cert->subject);
            add_field(&b, "X-Partner-Fingerprint", cert->fingerprint);
        }
    }
    if (ex->consumer != NULL) { /* the API key's consumer (never the key: it left the request) */
        add_field(&b, "X-Consumer-Id", ex->consumer->id);
        if (ex->plan != NULL)
            add_field(&b, "X-Consumer-Plan", ex->plan->name);
    }
    if (q->body == GW_BODY_LENGTH) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)q->content_length);
        add_field(&b, "Content-Length", num);
    } else if (q->body == GW_BODY_CHUNKED) {
        gw_buf_adds(&b, "Transfer-Encoding: chunked\r\n");
    }
    gw_buf_add(&b, "\r\n", 2);
    evbuffer_add(out, b.p, b.len);
}

/* The read timeout is the route's time to answer, or a try's (try_timeout_ms) within what is
 * left of the route's since the first try. */
static void
set_up_timeouts(struct gw_exchange *ex, int connecting)
{
    const struct pt_route *r = ex->route;
    const struct ex_settings *s = ex->set;
    int rms = r->timeout_ms > 0 ? r->timeout_ms : s->upstream_response_ms;
    int wms = connecting ? s->upstream_connect_ms : s->send_ms;

    if (r->try_timeout_ms > 0) {
        int64_t left = rms;
        if (ex->ntries > 1)
            left -= (gw_mono_us() - ex->tries[0].m_start) / 1000;
        rms = r->try_timeout_ms < left ? r->try_timeout_ms : left > 0 ? (int)left : 1;
    }
    cn_upconn_timeouts(ex->up, rms, wms);
}

/* A try begins at the exchange's target (kept for the audit's upstream.tries). */
static void
try_begin(struct gw_exchange *ex, int64_t now)
{
    struct ex_try *t;

    if (ex->tries == NULL &&
        (ex->tries = gw_arena_alloc(&ex->arena, EX_MAX_TRIES * sizeof *ex->tries)) == NULL)
        return;
    if (ex->ntries == EX_MAX_TRIES)
        return;
    t = &ex->tries[ex->ntries++];
    t->addr = ex->target->hostport;
    t->error = NULL;
    t->status = 0;
    t->m_start = now;
    t->m_end = 0;
}

/* The try under way ended: with an answer's status, or with an error (a code, see ex_try). */
static void
try_end(struct gw_exchange *ex, int status, const char *error)
{
    struct ex_try *t = ex->ntries > 0 ? &ex->tries[ex->ntries - 1] : NULL;

    if (t == NULL || (t->error != NULL && error != NULL))
        return;
    if (status > 0) {
        t->status = status;
        t->m_end = ex->m_up_head;
    } else if (t->m_end == 0) {
        t->m_end = gw_mono_us();
    }
    if (error != NULL)
        t->error = error;
}

/* The exchange is done with its target's connection (a set counts what is under way). */
static void
target_done(struct gw_exchange *ex)
{
    if (ex->route->upset != NULL)
        pt_upset_done(ex->route->upset, ex->target);
}

/* How the exchange fared with its target, for the set's outlier ejection. */
static void
target_result(struct gw_exchange *ex, int ok)
{
    if (ex->route->upset != NULL)
        pt_upset_result(ex->route->upset, ex->target, ok);
}

static void
http_cancel(struct gw_exchange *ex)
{
    if (ex->up != NULL) {
        cn_pool_discard(ex->up);
        ex->up = NULL;
        target_done(ex);
    }
}

/* Is the whole request body at hand to be sent again: none, or kept (a chain's, or the route's
 * replay buffer)? */
static int
body_at_hand(const struct gw_exchange *ex)
{
    const struct gw_http_message *q = &ex->req;

    return q->body == GW_BODY_NONE || ex->req_body != NULL ||
           (q->body == GW_BODY_LENGTH && q->content_length == 0);
}

/* May the request go again after its bytes may have left: nothing of it is lost (its body is at
 * hand), and going twice is harmless (an idempotent method, or an Idempotency-Key)? */
static int
may_resend(const struct gw_exchange *ex)
{
    enum gw_http_method m = ex->req.method;

    return body_at_hand(ex) &&
           (m == GW_METHOD_GET || m == GW_METHOD_HEAD || m == GW_METHOD_OPTIONS ||
            m == GW_METHOD_PUT || m == GW_METHOD_DELETE ||
            gw_http_find_header(&ex->req, "idempotency-key") != NULL);
}

/* May the failed try go to another target of the set? Nothing of the request may be lost (its
 * body is at hand); if its bytes may have left (sent), it must be safe to send again (above);
 * within the attempts (the route's, or the set's) and the budget. */
static int
retry_elsewhere(struct gw_exchange *ex, int sent)
{
    const struct pt_route *r = ex->route;

    if (r->upset == NULL || !body_at_hand(ex) || (sent && !may_resend(ex)))
        return 0;
    return pt_upset_may_retry(r->upset, r->attempts ? r->attempts : r->upset->retry.attempts,
                              ex->retries);
}

/* Try the exchange again on another target, after the failure told in detail. */
static void
try_elsewhere(struct gw_exchange *ex, const char *detail)
{
    gw_log(GW_LOG_INFO, "%s; trying another target of upstream set \"%s\"", detail,
           ex->route->upset->name);
    http_cancel(ex);
    ex->retries++;
    http_start(ex);
}

/* Drop the upstream and answer 502 (the response is not one to relay). */
static void
bad_response(struct gw_exchange *ex, const char *detail)
{
    gw_log(GW_LOG_INFO, "upstream %s: %s", ex->target->hostport, detail);
    try_end(ex, 0, "bad-response");
    http_cancel(ex);
    ex->api->problem(ex, 502, "bad-upstream-response", detail, NULL);
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
    target_done(ex);
    if (reusable) {
        u->connected = 1;
        cn_pool_release(u);
    } else {
        cn_pool_discard(u);
    }
}

static void
body_done(struct gw_exchange *ex)
{
    up_release(ex);
    ex->api->response_end(ex);
}

/* Hand the response body bytes that have arrived to the exchange. Returns 1 when the body ended,
 * 0 for more, -1 when the exchange was answered or aborted. */
static int
relay_response(struct gw_exchange *ex)
{
    struct cn_upconn *u = ex->up;
    struct evbuffer *in = bufferevent_get_input(u->bev);
    int done = 0, rc;

    if (ex->resp_body == GW_BODY_LENGTH || ex->resp_body == GW_BODY_UNTIL_EOF) {
        size_t n = evbuffer_get_length(in);
        if (ex->resp_body == GW_BODY_LENGTH && n > ex->resp_left)
            n = (size_t)ex->resp_left;
        if (n > 0)
            ex->api->response_body(ex, in, n);
        if (ex->resp_body == GW_BODY_LENGTH) {
            ex->resp_left -= n;
            done = ex->resp_left == 0;
        }
    } else {
        while (!done && evbuffer_get_length(in) > 0) {
            struct evbuffer_iovec v;
            size_t n = 0;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            rc = gw_chunked_feed(&ex->resp_chunk, v.iov_base, v.iov_len, 0, &n);
            if (rc == GW_CHUNK_DATA) {
                ex->api->response_body(ex, in, n);
            } else if (rc == GW_CHUNK_FRAME || rc == GW_HTTP_AGAIN) {
                evbuffer_drain(in, n);
            } else if (rc == GW_CHUNK_DONE) {
                evbuffer_drain(in, n);
                done = 1;
            } else {
                gw_log(GW_LOG_INFO, "malformed chunked body from upstream %s; aborted",
                       ex->target->hostport);
                try_end(ex, 0, "bad-response");
                http_cancel(ex);
                ex->api->abort(ex);
                return -1;
            }
        }
    }
    if (done)
        return 1;
    rc = ex->api->response_sent(ex);
    if (rc > 0)
        cn_upconn_read(u, 0); /* until drained */
    return rc < 0 ? -1 : 0;
}

static void
http_drained(struct gw_exchange *ex)
{
    if (ex->up == NULL || !ex->up_paused)
        return;
    ex->up_paused = 0;
    cn_upconn_read(ex->up, 1);
    if (ex->resp_state == GW_RESP_BODY && relay_response(ex) == 1)
        body_done(ex);
}

static void
http_request_data(struct gw_exchange *ex)
{
    struct cn_upconn *u = ex->up;

    if (u->connected)
        gw_bev_flush(u->bev);
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

/* Read the response head: returns 1 when the body follows (resp_state is BODY), 0 for more
 * bytes, -1 when the exchange was answered or ended. */
static int
read_head(struct gw_exchange *ex, struct evbuffer *in)
{
    const struct ex_settings *s = ex->set;
    struct gw_http_limits hl = {.max_head_bytes = s->max_header_bytes * 4,
                                .max_headers = GW_HTTP_MAX_HEADERS,
                                .max_target_bytes = s->max_target_bytes};

    while (ex->resp_state == GW_RESP_HEAD) {
        size_t len = evbuffer_get_length(in), head_len = 0, inline_body = 0;
        size_t n = len <= hl.max_head_bytes ? len : hl.max_head_bytes + 1;
        const char *data;
        int rc;

        if (len == 0)
            return 0;
        data = (const char *)evbuffer_pullup(in, (ssize_t)n);
        rc = gw_http_parse_response(&ex->up_hp, data, n, &hl, ex->req.method, &ex->resp,
                                    &head_len);
        if (rc == GW_HTTP_AGAIN)
            return 0;
        if (rc != GW_HTTP_OK) {
            bad_response(ex, "the upstream's response is malformed or ambiguous");
            return -1;
        }
        ex->m_up_head = gw_mono_us();
        ex->up_status = ex->resp.status;
        if (ex->resp.status >= 100 && ex->resp.status < 200) {
            if (ex->resp.status == 101) {
                bad_response(ex, "the upstream switched protocols, which is not supported");
                return -1;
            }
            /* interim responses: 100 Continue was answered by us already */
            evbuffer_drain(in, head_len);
            gw_http_parser_init(&ex->up_hp);
            continue;
        }
        target_result(ex, ex->resp.status < 500);
        try_end(ex, ex->resp.status, NULL);
        if (ex->resp.body == GW_BODY_CHUNKED && len > head_len &&
            !chunked_start_ok(in, head_len)) {
            bad_response(ex, "the upstream's chunked body is malformed");
            return -1;
        }
        ex->resp_body = ex->resp.body;
        ex->resp_left = ex->resp.content_length;
        gw_chunked_init(&ex->resp_chunk);
        rc = ex->api->response_head(ex, in, head_len, &inline_body);
        if (rc < 0)
            return -1;
        ex->resp_left -= inline_body;
        if (ex->resp_body == GW_BODY_NONE ||
            (ex->resp_body == GW_BODY_LENGTH && ex->resp_left == 0)) {
            body_done(ex);
            return -1;
        }
        ex->resp_state = GW_RESP_BODY;
    }
    return 1;
}

static void
up_read(struct bufferevent *bev, void *arg)
{
    struct gw_exchange *ex = arg;

    if (ex->resp_state == GW_RESP_HEAD && read_head(ex, bufferevent_get_input(bev)) <= 0)
        return;
    if (ex->resp_state == GW_RESP_BODY && relay_response(ex) == 1)
        body_done(ex);
}

static void
up_write(struct bufferevent *bev, void *arg)
{
    struct gw_exchange *ex = arg;

    gw_bev_drained(bev, ex->target->kind != PT_UP_HTTPS);
    if (ex->client_paused)
        ex->api->request_drained(ex);
}

/* Why the connection failed before the response began, in words, into detail; returns it as a
 * code (struct ex_try's error). */
static const char *
failure(struct gw_exchange *ex, struct bufferevent *bev, char *detail, size_t len)
{
    const struct pt_upstream *up = ex->target;
    struct cn_upconn *u = ex->up;

    if (u->connected) {
        snprintf(detail, len, "%s closed the connection before answering", up->hostport);
        return "closed";
    }
    unsigned long e = up->kind == PT_UP_HTTPS ? bufferevent_get_openssl_error(bev) : 0;
    int err = EVUTIL_SOCKET_ERROR();
    if (e != 0) {
        char buf[200];
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(detail, len, "TLS with %s failed: %s%s%s", up->hostport, buf,
                 vr != X509_V_OK ? ": " : "",
                 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
        return "tls-failed";
    }
    snprintf(detail, len, "cannot connect to %s: %s", up->hostport,
             err ? strerror(err) : "connection closed");
    return "connect-failed";
}

static void
up_event(struct bufferevent *bev, short what, void *arg)
{
    struct gw_exchange *ex = arg;
    struct cn_upconn *u = ex->up;
    const struct pt_upstream *up = ex->target;
    char detail[384];

    if (what & BEV_EVENT_CONNECTED) {
        u->connected = 1;
        set_up_timeouts(ex, 0);
        cn_upconn_read(u, 1);
        return;
    }
    if ((what & BEV_EVENT_EOF) && ex->resp_state == GW_RESP_BODY &&
        ex->resp_body == GW_BODY_UNTIL_EOF) {
        if (relay_response(ex) >= 0)
            body_done(ex);
        return;
    }
    if (ex->resp_state != GW_RESP_HEAD) {
        gw_log(GW_LOG_INFO, "upstream %s closed in the middle of the response; aborted",
               up->hostport);
        target_result(ex, 0);
        try_end(ex, 0, "cut");
        http_cancel(ex);
        ex->api->abort(ex);
        return;
    }
    /* a pooled connection the upstream closed just as we reused it: try once more on a fresh one
     * to the same target, when the request may go again (the upstream may have taken it before
     * closing: a POST never goes twice) */
    if (ex->up_reused && !ex->retried && !(what & BEV_EVENT_TIMEOUT) && may_resend(ex) &&
        evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        try_end(ex, 0, "closed");
        http_cancel(ex);
        ex->retried = 1;
        http_start(ex);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (!u->connected)
            snprintf(detail, sizeof detail, "connecting to %s timed out", up->hostport);
        else
            snprintf(detail, sizeof detail, "%s did not answer in time", up->hostport);
        target_result(ex, 0);
        try_end(ex, 0, "timeout");
        if (retry_elsewhere(ex, u->connected)) {
            try_elsewhere(ex, detail);
            return;
        }
        http_cancel(ex);
        ex->api->problem(ex, 504, "upstream-timeout", detail, NULL);
        return;
    }
    try_end(ex, 0, failure(ex, bev, detail, sizeof detail));
    target_result(ex, 0);
    if (retry_elsewhere(ex, u->connected)) {
        try_elsewhere(ex, detail);
        return;
    }
    gw_log(GW_LOG_INFO, "%s", detail);
    http_cancel(ex);
    ex->api->problem(ex, 502, "upstream-unavailable", detail, NULL);
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
    GW_LOG_IN(&((struct gw_exchange *)arg)->log, up_read(bev, arg));
}

static void
up_write_cb(struct bufferevent *bev, void *arg)
{
    GW_LOG_IN(&((struct gw_exchange *)arg)->log, up_write(bev, arg));
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    GW_LOG_IN(&((struct gw_exchange *)arg)->log, up_event(bev, what, arg));
}

/* The target of the route's set for this exchange: a hash set hashes the partner's id or the
 * configured request field's value (none: the set goes round robin). */
static const struct pt_upstream *
pick_target(const struct gw_exchange *ex, struct pt_upset *s)
{
    const struct gw_http_header *h;

    if (ex->retries > 0) { /* a retry: round robin, away from the target that failed */
        const struct pt_upstream *t = NULL;
        for (size_t i = 0; i < s->ntargets && (t == NULL || t == ex->target); i++) {
            if (t != NULL)
                pt_upset_done(s, t);
            t = pt_upset_pick(s, NULL, 0);
        }
        return t;
    }
    if (!ex->retried) /* (a stale pooled connection's second go is the same exchange) */
        pt_upset_started(s);
    if (s->balance != PT_BALANCE_HASH)
        return pt_upset_pick(s, NULL, 0);
    if (s->hash_field == NULL)
        return ex->partner != NULL && ex->partner->id != NULL
                   ? pt_upset_pick(s, ex->partner->id, strlen(ex->partner->id))
                   : pt_upset_pick(s, NULL, 0);
    h = gw_http_find_header(&ex->req, s->hash_field);
    return pt_upset_pick(s, h != NULL ? h->value : NULL, h != NULL ? h->value_len : 0);
}

static void
http_start(struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct pt_upstream *up = r->upset != NULL ? pick_target(ex, r->upset) : &r->upstream;
    struct cn_upconn *u;
    int reused = 0;
    char detail[256], retry[48];

    if (up == NULL) { /* every target of the set is out or full */
        int64_t ms = pt_upset_back_in_ms(r->upset);
        snprintf(detail, sizeof detail, "no target of upstream set \"%s\" can take an exchange "
                 "now (each is out after failures, or at its max_connections)", r->upset->name);
        snprintf(retry, sizeof retry, "Retry-After: %lld\r\n", (long long)((ms + 999) / 1000));
        ex->api->problem(ex, 503, "upstream-unavailable", detail, retry);
        return;
    }
    ex->target = up;
    ex->m_forwarded = gw_mono_us();
    try_begin(ex, ex->m_forwarded);
    u = cn_pool_acquire(((struct http_worker *)ex->up_worker)->pool, ex->snap, up, &reused);
    if (u == NULL) {
        snprintf(detail, sizeof detail, "cannot connect to %s: %s", up->hostport, strerror(errno));
        try_end(ex, 0, "connect-failed");
        target_done(ex);
        ex->api->problem(ex, 502, "upstream-unavailable", detail, NULL);
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
    if (ex->req_body_len > 0) /* transformed by the request chain */
        evbuffer_add(bufferevent_get_output(u->bev), ex->req_body, ex->req_body_len);
    if (u->connected)
        cn_upconn_read(u, 1);
    else /* the write event tells when the connection is made; TLS reads its handshake itself */
        bufferevent_enable(u->bev, u->own_read ? EV_WRITE : EV_READ | EV_WRITE);
    ex->api->request_body(ex, bufferevent_get_output(u->bev));
}

static void *
http_worker_new(struct event_base *base, size_t max_idle, int idle_ms)
{
    struct http_worker *w = calloc(1, sizeof *w);

    if (w != NULL && (w->pool = cn_pool_new(base, max_idle, idle_ms)) == NULL) {
        free(w);
        w = NULL;
    }
    return w;
}

static void
http_worker_free(void *state)
{
    struct http_worker *w = state;

    cn_checks_stop(w->checks);
    cn_dns_free(w->dns);
    cn_pool_free(w->pool);
    free(w);
}

static void
http_snapshot(void *state, struct pt_snapshot *snap, const struct pt_snapshot *prev, int worker,
              int n)
{
    struct http_worker *w = state;
    struct cn_checks *next = cn_checks_start(w->pool, &w->dns, snap, prev, worker, n);

    cn_checks_stop(w->checks);
    w->checks = next;
}

const struct cn_ops cn_http = {
    .name = "http",
    .slot = 0,
    .worker_new = http_worker_new,
    .worker_free = http_worker_free,
    .snapshot = http_snapshot,
    .start = http_start,
    .request_data = http_request_data,
    .drained = http_drained,
    .cancel = http_cancel,
};
