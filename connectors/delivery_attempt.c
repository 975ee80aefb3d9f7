/* delivery_attempt.c: one attempt of a stored request at its upstream (see delivery_int.h).
 *
 * The delivery thread is a client of the http connector as a worker's connection is: an attempt
 * is an exchange of its own, made from the record (the head parsed again, the body at hand), with
 * an exchange API that keeps the answer's status and drops its body. The connector picks the
 * set's target, retries on another when that is safe, ejects failing targets and keeps its pool,
 * as for any exchange.
 */
#include "delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "snapshot.h"

struct dv_attempt {
    struct gw_exchange ex;
    struct ex_client client;
    struct ex_cert cert;
    struct event *fin;        /* the end, told on the loop */
    dv_attempt_done_fn *done;
    void *arg;
    int status;               /* the upstream's answer; 0: none */
    char error[160];
    int ended;
};

#define ATTEMPT(e) ((struct dv_attempt *)(void *)(e))

static void
attempt_free(struct dv_attempt *a)
{
    event_free(a->fin);
    pt_snapshot_unref(a->ex.snap);
    gw_arena_free(&a->ex.arena);
    free(a);
}

static void
fin_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dv_attempt *a = arg;
    struct gw_exchange *ex = &a->ex;
    const struct ex_observers *o = ex->obs;

    (void)fd;
    (void)what;
    a->done(a->arg, ex, a->status, a->error[0] != '\0' ? a->error : NULL);
    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->finished != NULL)
            GW_LOG_IN(&ex->log, o->ops[i]->finished(ex, o->state[i], ex->obs_data[i], 1));
    attempt_free(a);
}

/* n body bytes at p to the observers that want them (resp: the response's). */
static void
publish_body(struct gw_exchange *ex, int resp, const void *p, size_t n)
{
    const struct ex_observers *o = ex->obs;

    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->body_in != NULL)
            o->ops[i]->body_in(ex, ex->obs_data[i], resp, p, n);
}

static void
end(struct gw_exchange *ex, const char *error)
{
    struct dv_attempt *a = ATTEMPT(ex);

    if (a->ended)
        return;
    a->ended = 1;
    if (error != NULL)
        snprintf(a->error, sizeof a->error, "%s", error);
    event_active(a->fin, EV_TIMEOUT, 0);
}

/* ---- the exchange API, as the delivery thread lends it ---- */

static void
api_respond(struct gw_exchange *ex, int status, const char *content_type, const char *body,
            size_t body_len, const char *extra_headers)
{
    (void)content_type;
    (void)body;
    (void)body_len;
    (void)extra_headers;
    ATTEMPT(ex)->status = status;
    ex->status = status;
    end(ex, NULL);
}

static void
api_problem(struct gw_exchange *ex, int status, const char *code, const char *detail,
            const char *extra_headers)
{
    char e[160];

    (void)extra_headers;
    /* the connector's own answer (502, 503, 504): the upstream said nothing, or nothing whole */
    snprintf(e, sizeof e, "%s (%d): %s", code, status, detail);
    ATTEMPT(ex)->status = 0;
    ex->status = status;
    ex->reason = code;
    end(ex, e);
}

static void
api_abort(struct gw_exchange *ex)
{
    ex->status = 0;
    end(ex, "the upstream's answer broke off");
}

static void
api_request_body(struct gw_exchange *ex, struct evbuffer *sink)
{
    /* the body went with the head and there is no more: the connector is told so at once (on a
     * pooled connection, that is what sends what it wrote) */
    if (sink != NULL)
        cn_http.request_data(ex);
}

static void
api_request_drained(struct gw_exchange *ex)
{
    (void)ex;
}

static int
api_response_head(struct gw_exchange *ex, struct evbuffer *in, size_t head_len,
                  size_t *inline_body)
{
    const struct ex_observers *o = ex->obs;

    ATTEMPT(ex)->status = ex->status = ex->resp.status;
    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->response_head != NULL)
            o->ops[i]->response_head(ex, ex->obs_data[i]);
    evbuffer_drain(in, head_len);
    *inline_body = 0;
    return 1; /* the body is read to its end, and dropped */
}

static void
api_response_body(struct gw_exchange *ex, struct evbuffer *in, size_t n)
{
    if (n > 0 && ex->obs->n > 0)
        publish_body(ex, 1, evbuffer_pullup(in, (ssize_t)n), n);
    evbuffer_drain(in, n);
}

static int
api_response_sent(struct gw_exchange *ex)
{
    (void)ex;
    return 0;
}

static void
api_response_end(struct gw_exchange *ex)
{
    end(ex, NULL);
}

static const struct ex_cert *
api_cert(struct gw_exchange *ex)
{
    struct dv_attempt *a = ATTEMPT(ex);
    return a->cert.subject != NULL && a->cert.subject[0] != '\0' ? &a->cert : NULL;
}

static const struct ex_api dv_api = {
    .respond = api_respond,
    .problem = api_problem,
    .abort = api_abort,
    .request_body = api_request_body,
    .request_drained = api_request_drained,
    .response_head = api_response_head,
    .response_body = api_response_body,
    .response_sent = api_response_sent,
    .response_end = api_response_end,
    .cert = api_cert,
};

/* ---- an attempt ---- */

struct dv_attempt *
dv_attempt_start(struct event_base *base, struct pt_snapshot *snap,
                 const struct ex_settings *set, const struct pt_route *route, void *http,
                 const struct ex_observers *obs, const struct dv_rec *m, dv_attempt_done_fn *done,
                 void *arg)
{
    struct dv_attempt *a = calloc(1, sizeof *a);
    struct gw_exchange *ex;
    struct gw_http_parser p;
    struct gw_http_limits lim = {
        .max_head_bytes = m->head_len + 1,
        .max_headers = GW_HTTP_MAX_HEADERS,
        .max_target_bytes = m->head_len,
        .underscores = GW_UNDERSCORES_PASS,
    };
    size_t hl;

    if (a == NULL || (a->fin = event_new(base, -1, 0, fin_cb, a)) == NULL) {
        free(a);
        return NULL;
    }
    a->done = done;
    a->arg = arg;
    ex = &a->ex;
    gw_arena_init(&ex->arena);
    ex->api = &dv_api;
    ex->obs = obs;
    ex->set = set;
    ex->snap = pt_snapshot_ref(snap);
    ex->route = route;
    ex->partner = m->partner[0] != '\0' ? pt_snapshot_partner(snap, m->partner) : NULL;
    snprintf(a->client.ip, sizeof a->client.ip, "%s", m->ip);
    a->client.tls = m->tls != 0;
    a->client.trusted = m->trusted != 0;
    ex->client = &a->client;
    a->cert.subject = gw_arena_strndup(&ex->arena, m->subject, strlen(m->subject));
    snprintf(a->cert.fingerprint, sizeof a->cert.fingerprint, "%s", m->fingerprint);
    snprintf(ex->request_id, sizeof ex->request_id, "%s", m->id);
    ex->log = (struct gw_log_ctx){ex->request_id, ex->partner != NULL ? ex->partner->id : NULL,
                                  a->client.ip};
    ex->head = gw_arena_strndup(&ex->arena, m->head, m->head_len);
    ex->head_len = m->head_len;
    gw_http_parser_init(&p);
    if (gw_http_parse_request(&p, ex->head, ex->head_len, &lim, &ex->req, &hl) != GW_HTTP_OK) {
        static const struct ex_observers none;
        snprintf(a->error, sizeof a->error, "the stored request head does not parse");
        ex->obs = &none; /* (nothing to audit: no request) */
        a->ended = 1;
        event_active(a->fin, EV_TIMEOUT, 0);
        return a;
    }
    ex->req_body = m->body;
    ex->req_body_len = m->body_len;
    ex->req_done = 1;
    ex->max_body = m->body_len;
    ex->up_worker = http;
    ex->up_partition = -1;
    ex->t_received = gw_wall_us();
    ex->m_received = gw_mono_us();
    for (size_t i = 0; i < obs->n; i++)
        if (obs->ops[i]->received != NULL)
            obs->ops[i]->received(ex, obs->state[i], &ex->obs_data[i]);
    publish_body(ex, 0, m->body, m->body_len);
    GW_LOG_IN(&ex->log, cn_http.start(ex));
    return a;
}

void
dv_attempt_cancel(struct dv_attempt *a)
{
    if (!a->ended && cn_http.cancel != NULL)
        cn_http.cancel(&a->ex);
    attempt_free(a); /* (an ended one's fin event is freed unseen) */
}
