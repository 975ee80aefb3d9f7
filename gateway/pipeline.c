/* pipeline.c: the exchange's transform steps (DESIGN.md, steps 6 and 8).
 *
 * request.c buffers a request body when the request chain needs it and exchange.c does the same
 * for the response; this module turns an exchange's head and buffered body into a tf_message,
 * runs the chain (transforms/chain.h) with a tf_ctx over the exchange's arena, and puts the
 * result back into the head the rest of the engine writes. A failed step becomes an RFC 9457
 * problem with the transform's status, code, detail and errors.
 */
#include "exchange.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include <event2/buffer.h>

#include "chain.h"
#include "config.h"
#include "context.h"
#include "log.h"
#include "partner.h"
#include "snapshot.h"

/* The transform ABI's header and the parser's have the same layout: the request's fields are
 * handed to transforms without a copy. */
static_assert(sizeof(struct tf_header) == sizeof(struct gw_http_header) &&
                  offsetof(struct tf_header, name_len) ==
                      offsetof(struct gw_http_header, name_len) &&
                  offsetof(struct tf_header, value) == offsetof(struct gw_http_header, value) &&
                  offsetof(struct tf_header, value_len) ==
                      offsetof(struct gw_http_header, value_len),
              "tf_header and gw_http_header must match");

static void
free_evbuffer(void *buf)
{
    evbuffer_free(buf);
}

struct evbuffer *
gw_pipeline_buffer(struct gw_exchange *ex)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL)
        abort();
    gw_arena_cleanup(&ex->arena, free_evbuffer, b);
    return b;
}

void
gw_pipeline_select(struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct pt_partner *p = ex->partner;

    ex->req_chain = r->request != NULL ? r->request : p != NULL ? p->default_request : NULL;
    ex->resp_chain = r->response != NULL ? r->response : p != NULL ? p->default_response : NULL;
}

/* Fields a transform neither sees nor sets: hop-by-hop ones and the framing, which the engine
 * writes itself from what the body is after the chain. */
static int
engine_field(const struct gw_http_header *h)
{
    return gw_http_hop_by_hop(h) || gw_http_token_eq(h->name, h->name_len, "content-length");
}

static void
ctx_for(struct gw_exchange *ex, struct tf_ctx *x)
{
    struct gw_conn *c = ex->c;
    const struct pt_partner *p = ex->partner;
    const struct gw_http_message *q = &ex->req;
    const struct ex_cert *cert = gw_conn_cert(c);

    tf_ctx_init(x, &ex->arena, &c->snap->config->tf_limits);
    x->request_id = ex->request_id;
    x->route_name = ex->route->name;
    if (p != NULL) {
        x->partner_id = p->id;
        x->partner_name = p->name;
    }
    if (cert != NULL)
        x->cert_subject = cert->subject;
    x->partner = p;
    x->partners = (const struct pt_partner *const *)c->snap->partners;
    x->npartners = c->snap->npartners;
    x->signatures = ex->signatures;
    x->method = gw_arena_strndup(&ex->arena, q->method_str, q->method_len);
    x->path = gw_arena_strndup(&ex->arena, q->path, q->path_len);
    x->query = q->query != NULL ? gw_arena_strndup(&ex->arena, q->query, q->query_len) : "";
    x->scheme = c->client.tls ? "https" : "http";
    /* the fields as the partner sent them, in either chain (transforms/README.md, Templates) */
    if (ex->req_sent != NULL) {
        x->req_headers = (const struct tf_header *)ex->req_sent;
        x->nreq_headers = ex->nreq_sent;
    } else {
        x->req_headers = (const struct tf_header *)q->headers;
        x->nreq_headers = q->nheaders;
    }
}

/* Write-back is about to put the request chain's fields in ex->req: keep the partner's for the
 * response chain. Only the table is copied (the names and values point into ex->head, which lives
 * as long as the exchange), and only when a response chain will run. */
static void
keep_sent_fields(struct gw_exchange *ex)
{
    const struct gw_http_message *q = &ex->req;
    struct gw_http_header *h;

    if (ex->resp_chain == NULL || ex->req_sent != NULL)
        return;
    h = gw_arena_alloc(&ex->arena, q->nheaders * sizeof *h); /* not NULL, even for none */
    memcpy(h, q->headers, q->nheaders * sizeof *h);
    ex->req_sent = h;
    ex->nreq_sent = q->nheaders;
}

/* The message for a chain: msg's fields but the engine's, and the buffered body. */
static void
message_from(struct gw_exchange *ex, enum tf_phase phase, const struct gw_http_message *msg,
             struct evbuffer *body, struct tf_message *m)
{
    tf_message_init(m, phase);
    m->status = phase == TF_PHASE_RESPONSE ? msg->status : 0;
    m->cap = msg->nheaders + 8;
    m->headers = gw_arena_alloc(&ex->arena, m->cap * sizeof *m->headers);
    for (size_t i = 0; i < msg->nheaders; i++)
        if (!engine_field(&msg->headers[i]))
            memcpy(&m->headers[m->nheaders++], &msg->headers[i], sizeof *m->headers);
    if (body != NULL && evbuffer_get_length(body) > 0) {
        m->body_len = evbuffer_get_length(body);
        m->body = (char *)evbuffer_pullup(body, -1);
    }
}

int
gw_pipeline_write_back(const struct tf_message *m, struct gw_http_message *msg)
{
    size_t n = 0;

    /* a message without a body keeps its Content-Length (a HEAD response's names the size of
     * what a GET would get) */
    for (size_t i = 0; msg->body == GW_BODY_NONE && i < msg->nheaders; i++)
        if (gw_http_token_eq(msg->headers[i].name, msg->headers[i].name_len, "content-length"))
            msg->headers[n++] = msg->headers[i];
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *h = (const struct gw_http_header *)&m->headers[i];
        if (engine_field(h))
            continue; /* a plugin may not frame the message */
        if (n == GW_HTTP_MAX_HEADERS)
            return -1;
        msg->headers[n++] = *h;
    }
    msg->nheaders = n;
    if (m->phase == TF_PHASE_RESPONSE && m->status != msg->status) {
        msg->status = m->status;
        msg->reason = NULL; /* the upstream's reason phrase was for its own status */
        msg->reason_len = 0;
    }
    return 0;
}

/* Answer the problem a chain failed with. */
static int
chain_failed(struct gw_exchange *ex, struct tf_ctx *x, const char *phase)
{
    json_t *errors = x->err_errors;

    x->err_errors = NULL;
    ex->tf_failed = x->err_step != NULL ? x->err_step : "chain";
    ex->tf_failed_resp = strcmp(phase, "response") == 0;
    gw_log(GW_LOG_DEBUG, "%s chain of route %s: %d %s: %s", phase,
           ex->route->name, x->err_status, x->err_code ? x->err_code : "transform-failed",
           x->err_detail ? x->err_detail : "");
    ex->keep_alive = ex->keep_alive && ex->req_done;
    gw_exchange_problem_errors(ex, x->err_status, x->err_code ? x->err_code : "transform-failed",
                               x->err_detail, NULL, errors);
    return -1;
}

int
gw_pipeline_request(struct gw_exchange *ex)
{
    struct gw_http_message *q = &ex->req;
    struct tf_message m;
    struct tf_ctx x;

    ctx_for(ex, &x);
    message_from(ex, TF_PHASE_REQUEST, q, ex->req_buf, &m);
    int rc = tf_chain_run(ex->req_chain, &m, &x, &ex->req_applied);
    ex->signatures = x.signatures;
    if (rc < 0)
        return chain_failed(ex, &x, "request");
    keep_sent_fields(ex);
    if (gw_pipeline_write_back(&m, q) < 0) {
        x.fail(&x, 500, "transform-failed", NULL, "the request chain left more than %d fields",
               GW_HTTP_MAX_HEADERS);
        return chain_failed(ex, &x, "request");
    }
    if (ex->req_buf != NULL) {
        /* the body was read whole: it goes on with a length, whatever its framing was */
        q->body = m.body_len > 0 || q->body != GW_BODY_NONE ? GW_BODY_LENGTH : GW_BODY_NONE;
        q->content_length = m.body_len;
        ex->req_body = m.body;
        ex->req_body_len = m.body_len;
        gw_obs_body_out(ex, 0, m.body != NULL ? m.body : "", m.body_len);
    }
    return 0;
}

int
gw_pipeline_response(struct gw_exchange *ex, struct tf_message *m)
{
    struct tf_ctx x;

    ctx_for(ex, &x);
    message_from(ex, TF_PHASE_RESPONSE, &ex->resp, ex->resp_buf, m);
    int rc = tf_chain_run(ex->resp_chain, m, &x, &ex->resp_applied);
    ex->signatures = x.signatures;
    if (rc < 0)
        return chain_failed(ex, &x, "response");
    return 0;
}
