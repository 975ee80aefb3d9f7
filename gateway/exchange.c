/* exchange.c: the exchange API (exchange.h; lent to connectors as struct ex_api).
 *
 * Answers made here (problems, a connector's own response), the request body on its way from the
 * client to the connector's sink (re-framed when chunked, or buffered whole for a request chain),
 * and the response on its way from the connector to the client: the head rewritten (hop-by-hop
 * fields gone, our framing, Via and X-Request-Id), the body framed for the client (chunked for an
 * HTTP/1.1 client when its length is not known, close-delimited for HTTP/1.0) or buffered whole
 * for a response chain, with backpressure both ways. Every answer is audited before its last bytes
 * leave.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "buf.h"
#include "chain.h"
#include "idempotency.h"
#include "log.h"

/* A small body that arrived with its head goes out with it, in one write (one TLS record). */
#define INLINE_BODY_MAX 16384

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
    gw_idem_answer(ex, status, content_type, extra_headers, body, body_len);
    int send = ex->req.method == GW_METHOD_HEAD ? 0 : (int)body_len;
    /* head and body in one piece: one write, one TLS record */
    char *msg = gw_arena_printf(&ex->arena,
                                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                                "X-Request-Id: %s\r\n%s%s\r\n",
                                status, gw_http_status_text(status), content_type, body_len,
                                ex->request_id[0] ? ex->request_id : "-",
                                extra_headers ? extra_headers : "",
                                !ex->keep_alive                ? "Connection: close\r\n"
                                : ex->req.version_minor == 0 ? "Connection: keep-alive\r\n"
                                                               : "");
    size_t n = strlen(msg);
    if (send > 0) { /* the body may hold NULs (a mock's file): copied, not printed */
        char *all = gw_arena_alloc(&ex->arena, n + (size_t)send);
        memcpy(all, msg, n);
        memcpy(all + n, body, (size_t)send);
        msg = all;
        n += (size_t)send;
    }
    evbuffer_add(out, msg, n);
    ex->resp_started = 1;
    ex->local_type = content_type;
    gw_obs_body_out(ex, 1, body, body_len);
    gw_obs_finished(ex, 1); /* before the answer leaves */
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
        gw_exchange_set_request_id(ex);
    ex->reason = code;
    snprintf(type, sizeof type, "urn:portico:problem:%s", code);
    j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", gw_http_status_text(status),
                  "status", status, "detail", detail ? detail : "", "request_id", ex->request_id);
    if (j != NULL && errors != NULL)
        json_object_set(j, "errors", errors);
    json_decref(errors);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    gw_log(status >= 500 ? GW_LOG_INFO : GW_LOG_DEBUG, "%d %s: %s", status, code,
           detail ? detail : "");
    gw_exchange_respond(ex, status, "application/problem+json", body ? body : "{}",
                        body ? strlen(body) : 2, extra_headers);
    free(body);
}

void
gw_exchange_finish(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    int keep = ex->keep_alive && ex->req_done && !atomic_load(&c->w->stopping);

    gw_conn_release_exchange(ex);
    if (!keep) {
        gw_conn_start_closing(c);
        return;
    }
    c->state = GW_CONN_IDLE;
    gw_http_parser_init(&c->hp);
    gw_conn_timeouts(c, gw_conn_idle_ms(c));
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

/* ---- the connector ---- */

void
gw_exchange_dispatch(struct gw_exchange *ex)
{
    if (ex->route->idem != NULL && gw_idem_begin(ex) != 0)
        return; /* answered from a first request, or waits for it */
    gw_exchange_start(ex);
}

void
gw_exchange_start(struct gw_exchange *ex)
{
    const struct cn_ops *ops = ex->route->connector;

    ex->up_worker = ex->c->w->cn_state[ops->slot];
    ops->start(ex);
}

void
gw_exchange_cancel(struct gw_exchange *ex)
{
    if (ex->route != NULL && ex->route->connector != NULL && ex->route->connector->cancel != NULL)
        ex->route->connector->cancel(ex);
}

void
gw_exchange_client_drained(struct gw_exchange *ex)
{
    if (ex->up_paused)
        ex->route->connector->drained(ex);
}

/* The response from the connector is not one to relay: drop its side, answer 502. */
static void
bad_response(struct gw_exchange *ex, const char *detail)
{
    const struct pt_upstream *up = ex->target != NULL ? ex->target : &ex->route->upstream;

    gw_log(GW_LOG_INFO, "upstream %s: %s", up->hostport ? up->hostport : up->url, detail);
    gw_exchange_cancel(ex);
    gw_exchange_problem(ex, 502, "bad-upstream-response", detail, NULL);
}

const struct ex_cert *
gw_conn_cert(struct gw_conn *c)
{
    SSL *ssl = c->client.tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;

    return c->client.tls ? gw_tls_cert_words(ssl, &c->peer, &c->cert) : NULL;
}

/* ---- the request body ---- */

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

static void
request_body(struct gw_exchange *ex, struct evbuffer *sink)
{
    struct gw_conn *c = ex->c;
    const struct cn_ops *ops = ex->route->connector;

    ex->req_sink = sink;
    if (ex->req_done || sink == NULL) {
        if (sink != NULL && ops->request_data != NULL)
            ops->request_data(ex);
        c->state = GW_CONN_WAIT;
        gw_conn_timeouts(c, 0);
        return;
    }
    gw_exchange_read_body(ex);
}

static void
request_drained(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;

    if (ex->client_paused && c->state == GW_CONN_BODY) {
        ex->client_paused = 0;
        gw_conn_read(c, 1);
        gw_exchange_relay_request(ex);
    }
}

/* A request body the client framed badly or too large: the connector's side goes, the problem
 * is answered. */
static int
body_refused(struct gw_exchange *ex, int rc)
{
    gw_exchange_cancel(ex);
    ex->keep_alive = 0;
    if (rc == GW_HTTP_E_BODY_TOO_BIG)
        gw_exchange_problem(ex, 413, "body-too-large",
                            ex->req_buffering ? "the chunked body exceeds max_buffered_body_bytes, "
                                                "the most a route with transforms holds"
                                              : "the chunked body exceeds max_body_bytes",
                            NULL);
    else
        gw_exchange_problem(ex, 400, "bad-request", "malformed chunked body", NULL);
    return -1;
}

int
gw_exchange_relay_request(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    /* a body buffered for the request chain is kept decoded; one streamed on is re-framed */
    struct evbuffer *out = ex->req_buffering ? ex->req_buf : ex->req_sink;
    int frame = !ex->req_buffering;

    if (ex->req.body == GW_BODY_LENGTH) {
        size_t n = evbuffer_get_length(in);
        if (n > ex->req_left)
            n = (size_t)ex->req_left;
        if (n > 0) {
            gw_obs_body_in(ex, 0, in, n);
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
                gw_obs_body_in(ex, 0, in, n);
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
                return body_refused(ex, rc);
            }
        }
    }
    if (ex->req_buffering) {
        if (ex->req_done) { /* the whole body is here: transform it, then on to the connector */
            ex->req_buffering = 0;
            if (ex->req_replay) { /* kept as it came, for a retry (the chain ran before) */
                ex->req_body_len = evbuffer_get_length(ex->req_buf);
                ex->req_body = (const char *)evbuffer_pullup(ex->req_buf, -1);
                gw_exchange_dispatch(ex);
            } else if (gw_pipeline_request(ex) == 0) {
                gw_exchange_dispatch(ex);
            }
        }
        return 0;
    }
    if (ex->route->connector->request_data != NULL)
        ex->route->connector->request_data(ex);
    if (!ex->req_done && evbuffer_get_length(out) > GW_OUT_HIGH) {
        gw_conn_read(c, 0);
        ex->client_paused = 1;
    }
    return 0;
}

/* ---- the response ---- */

/* Write the response head for the client; `in` holds the connector's bytes with the head's
 * head_len first (NULL: the body is `given`). Returns how many body bytes were written along with
 * the head (and so are to be drained from `in` with the head). */
static size_t
write_response_head(struct gw_exchange *ex, struct evbuffer *in, size_t head_len,
                    const char *given, size_t given_len)
{
    struct gw_conn *c = ex->c;
    const struct gw_http_message *r = &ex->resp;
    struct gw_buf b;
    char num[32];
    int client10 = ex->req.version_minor == 0;
    size_t body = 0, cap = 512;

    if (r->body == GW_BODY_CHUNKED || r->body == GW_BODY_UNTIL_EOF) {
        if (client10)
            ex->close_delimited = 1, ex->keep_alive = 0;
        else
            ex->client_chunked = 1;
    }
    if (!ex->req_done)
        ex->keep_alive = 0;
    if (given != NULL)
        body = given_len <= INLINE_BODY_MAX ? given_len : 0;
    else if (r->body == GW_BODY_LENGTH && r->content_length <= INLINE_BODY_MAX &&
             evbuffer_get_length(in) - head_len >= r->content_length)
        body = (size_t)r->content_length;
    cap += body;
    for (size_t i = 0; i < r->nheaders; i++)
        cap += r->headers[i].name_len + r->headers[i].value_len + 4;
    gw_arena_buf(&b, &ex->arena, cap);
    gw_buf_add(&b, num, (size_t)snprintf(num, sizeof num, "HTTP/1.1 %d ", r->status));
    if (r->reason_len > 0)
        gw_buf_add(&b, r->reason, r->reason_len);
    else
        gw_buf_adds(&b, gw_http_status_text(r->status));
    gw_buf_add(&b, "\r\n", 2);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct gw_http_header *h = &r->headers[i];
        if (gw_http_hop_by_hop(h) || gw_http_token_eq(h->name, h->name_len, "x-request-id") ||
            (r->body != GW_BODY_NONE &&
             gw_http_token_eq(h->name, h->name_len, "content-length")) ||
            (r->nheaders > 1 && gw_http_connection_listed(r, h)))
            continue;
        gw_http_put_field(&b, h->name, h->name_len, h->value, h->value_len);
    }
    if (r->body == GW_BODY_LENGTH) {
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)r->content_length);
        gw_http_put_field(&b, "Content-Length", 14, num, (size_t)n);
    } else if (ex->client_chunked) {
        gw_buf_adds(&b, "Transfer-Encoding: chunked\r\n");
    }
    gw_buf_adds(&b, "Via: 1.1 ");
    gw_buf_adds(&b, ex->set->node);
    gw_buf_adds(&b, "\r\nX-Request-Id: ");
    gw_buf_adds(&b, ex->request_id);
    gw_buf_add(&b, "\r\n", 2);
    if (!ex->keep_alive)
        gw_buf_adds(&b, "Connection: close\r\n");
    else if (client10)
        gw_buf_adds(&b, "Connection: keep-alive\r\n");
    gw_buf_add(&b, "\r\n", 2);
    if (body > 0 && given != NULL) {
        gw_buf_add(&b, given, body);
    } else if (body > 0 && gw_buf_reserve(&b, body) == 0) {
        struct evbuffer_ptr at;
        evbuffer_ptr_set(in, &at, head_len, EVBUFFER_PTR_SET);
        evbuffer_copyout_from(in, &at, b.p + b.len, body);
        gw_obs_body_in_mem(ex, 1, b.p + b.len, body);
        b.len += body;
    }
    evbuffer_add(bufferevent_get_output(c->bev), b.p, b.len);
    if (given != NULL && body < given_len && ex->req.method != GW_METHOD_HEAD)
        evbuffer_add(bufferevent_get_output(c->bev), given, given_len);
    ex->status = r->status;
    ex->resp_started = 1;
    gw_obs_response_head(ex);
    return body;
}

static int
response_head(struct gw_exchange *ex, struct evbuffer *in, size_t head_len, size_t *inline_body)
{
    const char *data = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
    struct tf_message m;

    *inline_body = 0;
    /* the head is held until the body is read whole: for a chain that needs the body (it is
     * transformed then), or for an answer kept for the repeats of its message (idempotency.h) */
    if (gw_idem_owner(ex) || (ex->resp_chain != NULL && tf_chain_needs_body(ex->resp_chain) &&
                              ex->resp.body != GW_BODY_NONE)) {
        char *head = gw_arena_strndup(&ex->arena, data, head_len);
        gw_http_rebase(&ex->resp, data, head, head_len);
        evbuffer_drain(in, head_len);
        ex->resp_buf = gw_pipeline_buffer(ex);
        ex->resp_buffering = 1;
        return 1;
    }
    if (ex->resp_chain != NULL) {
        /* a chain on the head alone runs now */
        if (gw_pipeline_response(ex, &m) < 0)
            return -1;
        if (gw_pipeline_write_back(&m, &ex->resp) < 0) {
            bad_response(ex, "the response chain left more header fields than a head may have");
            return -1;
        }
    }
    *inline_body = write_response_head(ex, in, head_len, NULL, 0);
    evbuffer_drain(in, head_len + *inline_body);
    return 0;
}

static void
response_body(struct gw_exchange *ex, struct evbuffer *in, size_t n)
{
    /* a body buffered for the response chain is kept decoded, in resp_buf */
    struct evbuffer *out = ex->resp_buffering ? ex->resp_buf : bufferevent_get_output(ex->c->bev);

    if (ex->client_chunked && !ex->resp_buffering)
        evbuffer_add_printf(out, "%zx\r\n", n);
    gw_obs_body_in(ex, 1, in, n);
    evbuffer_remove_buffer(in, out, n);
    if (ex->client_chunked && !ex->resp_buffering)
        evbuffer_add(out, "\r\n", 2);
}

/* A buffered response past its bound: 502. Returns -1 then, else 0. */
static int
buffered_too_large(struct gw_exchange *ex)
{
    if (evbuffer_get_length(ex->resp_buf) <= ex->set->max_buffered_body_bytes)
        return 0;
    bad_response(ex, "the upstream's body exceeds max_buffered_body_bytes, the most a route with "
                     "transforms holds");
    return -1;
}

static int
response_sent(struct gw_exchange *ex)
{
    if (ex->resp_buffering)
        return buffered_too_large(ex);
    gw_bev_flush(ex->c->bev);
    if (gw_client_pending(ex->c) > GW_OUT_HIGH) {
        ex->up_paused = 1;
        return 1;
    }
    return 0;
}

/* A buffered response has been read whole: the chain runs, and the transformed response goes to
 * the client with a length. */
static void
transformed_response(struct gw_exchange *ex)
{
    struct tf_message m;

    ex->resp_buffering = 0;
    if (gw_pipeline_response(ex, &m) < 0)
        return;
    if (gw_pipeline_write_back(&m, &ex->resp) < 0) {
        bad_response(ex, "the response chain left more header fields than a head may have");
        return;
    }
    ex->resp.body = GW_BODY_LENGTH;
    ex->resp.content_length = m.body_len;
    gw_idem_answer_msg(ex, &ex->resp, m.body != NULL ? m.body : "", m.body_len);
    gw_obs_body_out(ex, 1, m.body != NULL ? m.body : "", m.body_len);
    write_response_head(ex, NULL, 0, m.body != NULL ? m.body : "", m.body_len);
    gw_obs_finished(ex, 1); /* before the answer leaves */
    gw_bev_flush(ex->c->bev);
    gw_exchange_finish(ex);
}

static void
response_end(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;

    if (ex->resp_buffering) {
        if (buffered_too_large(ex) == 0)
            transformed_response(ex);
        return;
    }
    if (ex->client_chunked)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    gw_obs_finished(ex, 1); /* before the last bytes leave */
    gw_bev_flush(c->bev);
    if (ex->close_delimited)
        ex->keep_alive = 0;
    gw_exchange_finish(ex);
}


static const struct ex_cert *
api_cert(struct gw_exchange *ex)
{
    return gw_conn_cert(ex->c);
}

const struct ex_api gw_exchange_api = {
    .respond = gw_exchange_respond,
    .problem = gw_exchange_problem,
    .abort = gw_exchange_abort,
    .request_body = request_body,
    .request_drained = request_drained,
    .response_head = response_head,
    .response_body = response_body,
    .response_sent = response_sent,
    .response_end = response_end,
    .cert = api_cert,
};
