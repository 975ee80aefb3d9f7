/* observers.c: the exchange publishes what happens to it to the worker's observers
 * (connectors/exchange_t.h: struct ex_observer), in the order they were registered. */
#include "exchange.h"

#include <event2/buffer.h>

#include "limiter.h"

int
gw_observers_add(struct ex_observers *o, const struct ex_observer *ops, void *conf)
{
    void *state = ops->worker_new != NULL ? ops->worker_new(conf) : conf;

    if (o->n == EX_MAX_OBSERVERS || (ops->worker_new != NULL && state == NULL))
        return -1;
    o->ops[o->n] = ops;
    o->state[o->n++] = state;
    return 0;
}

void
gw_observers_free(struct ex_observers *o)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->worker_free != NULL)
            o->ops[i]->worker_free(o->state[i]);
    o->n = 0;
}

const char *
gw_observers_busy(const struct ex_observers *o, const char **who)
{
    for (size_t i = 0; i < o->n; i++) {
        const char *why = o->ops[i]->busy != NULL ? o->ops[i]->busy(o->state[i]) : NULL;
        if (why != NULL) {
            *who = o->ops[i]->name;
            return why;
        }
    }
    return NULL;
}

void
gw_obs_received(struct gw_exchange *ex)
{
    const struct ex_observers *o = ex->obs;

    ex->t_received = gw_wall_us();
    ex->m_received = gw_mono_us();
    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->received != NULL)
            o->ops[i]->received(ex, o->state[i], &ex->obs_data[i]);
}

/* Body bytes as they came in (out = 0) or as they go out (1), to each observer that wants them. */
static void
publish_body(struct gw_exchange *ex, int out, int resp, const void *p, size_t n)
{
    const struct ex_observers *o = ex->obs;

    for (size_t i = 0; i < o->n; i++) {
        void (*fn)(struct gw_exchange *, void *, int, const void *, size_t) =
            out ? o->ops[i]->body_out : o->ops[i]->body_in;
        if (fn != NULL)
            fn(ex, ex->obs_data[i], resp, p, n);
    }
}

void
gw_obs_body_in_mem(struct gw_exchange *ex, int resp, const void *p, size_t n)
{
    ex->body_bytes[resp != 0] += n;
    publish_body(ex, 0, resp, p, n);
}

void
gw_obs_body_in(struct gw_exchange *ex, int resp, struct evbuffer *src, size_t n)
{
    struct evbuffer_iovec v[16];
    struct evbuffer_ptr at;

    ex->body_bytes[resp != 0] += n;
    if (ex->obs->n == 0 || n == 0)
        return;
    evbuffer_ptr_set(src, &at, 0, EVBUFFER_PTR_SET);
    while (n > 0) {
        int nv = evbuffer_peek(src, (ev_ssize_t)n, &at, v, 16);
        if (nv <= 0)
            break;
        for (int i = 0; i < nv && i < 16 && n > 0; i++) {
            size_t k = v[i].iov_len < n ? v[i].iov_len : n;
            publish_body(ex, 0, resp, v[i].iov_base, k);
            n -= k;
            evbuffer_ptr_set(src, &at, k, EVBUFFER_PTR_ADD);
        }
    }
}

void
gw_obs_body_out(struct gw_exchange *ex, int resp, const void *p, size_t n)
{
    if (resp) {
        ex->resp_made_set = 1;
        ex->resp_made = n;
    }
    publish_body(ex, 1, resp, p, n);
}

void
gw_obs_response_head(struct gw_exchange *ex)
{
    const struct ex_observers *o = ex->obs;

    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->response_head != NULL)
            o->ops[i]->response_head(ex, ex->obs_data[i]);
}

void
gw_obs_finished(struct gw_exchange *ex, int complete)
{
    const struct ex_observers *o = ex->obs;

    gw_limits_charge(ex); /* before the answer leaves: the caller's next request sees the bytes */
    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->finished != NULL)
            o->ops[i]->finished(ex, o->state[i], ex->obs_data[i], complete);
}

void
gw_obs_handshake(struct gw_conn *c, unsigned long ssl_err)
{
    const struct ex_observers *o = &c->w->obs;
    struct ex_handshake h = {
        .client = &c->client,
        .cert = gw_conn_cert(c),
        .set = &c->snap->config->ex,
        .m_accept = c->t_accept,
        .reason = gw_tls_peer_code(&c->peer, ssl_err),
        .detail = c->peer.mismatch,
    };

    for (size_t i = 0; i < o->n; i++)
        if (o->ops[i]->handshake != NULL)
            o->ops[i]->handshake(&h, o->state[i]);
}
