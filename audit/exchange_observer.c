/* exchange_observer.c: an exchange's audit event (DESIGN.md, step 9; audit/README.md), as an
 * observer of exchanges (connectors/exchange_t.h: struct ex_observer).
 *
 * The gateway publishes "finished" where an answer is complete and before its last bytes are
 * flushed, and "finished" incomplete when an exchange ends (a no-op when its event is written, the
 * only one when the connection was lost). Bodies are hashed as they pass through the engine,
 * before and after transforms, with no copy. A refused handshake is an event of its own.
 */
#include "exchange_observer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "capture.h"
#include "chain.h"
#include "clock.h"
#include "consumer.h"
#include "event.h"
#include "jsonw.h"
#include "log.h"
#include "partner.h"
#include "upstream_set.h"

/* A body as the audit sees it: its bytes before and after transforms, hashed as they pass. */
struct body {
    uint64_t bytes, bytes_out;
    struct gw_sha256 md;             /* the body as received, hashed as it passes */
    unsigned char sha[32], sha_out[32];
    unsigned transformed : 1;        /* bytes_out and sha_out differ from what came in */
    unsigned cut : 1;                /* the captured copy stopped at the route's cap */
    unsigned hashing : 1;            /* md has begun */
    char *copy;                      /* capture "body": the body as it goes on, up to the cap */
    size_t copy_len, copy_cap;
};

/* The audit's part of one exchange (in its arena). */
struct au_exchange {
    struct body req, resp;
    unsigned audited : 1;            /* its event is written */
    const char *resp_type;           /* capture "body": the upstream's Content-Type */
};

/* A worker's: the node's log, the text of the event being written, the ids' generator. */
struct au_worker {
    struct au_log *log;
    struct gw_buf text;
    uint64_t rng[2];
};

static void *
worker_new(void *log)
{
    struct au_worker *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    w->log = log;
    if (getrandom(w->rng, sizeof w->rng, 0) != sizeof w->rng)
        w->rng[0] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL + (uint64_t)(uintptr_t)w,
        w->rng[1] = ~0ULL;
    return w;
}

static void
worker_free(void *state)
{
    struct au_worker *w = state;

    gw_buf_free(&w->text);
    free(w);
}

static const char *
busy(void *state)
{
    struct au_worker *w = state;

    return au_log_refusing(w->log) ? "the audit log is full: no exchange is taken until Kafka "
                                     "takes its events"
                                   : NULL;
}

/* xoroshiro128+: event ids need to be unique, not secret */
static void
event_id(struct au_worker *w, unsigned char id[16])
{
    for (int k = 0; k < 2; k++) {
        uint64_t s0 = w->rng[0], s1 = w->rng[1], r = s0 + s1;
        s1 ^= s0;
        w->rng[0] = ((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14);
        w->rng[1] = (s1 << 36) | (s1 >> 28);
        memcpy(id + 8 * k, &r, 8);
    }
}

static void
received(struct gw_exchange *ex, void *state, void **data)
{
    struct au_exchange *a = gw_arena_alloc(&ex->arena, sizeof *a);

    (void)state;
    memset(a, 0, sizeof *a);
    *data = a;
}

static enum au_capture_mode
capture_mode(const struct gw_exchange *ex)
{
    return ex->route != NULL ? au_capture_mode(ex->route->capture) : AU_CAPTURE_DIGEST;
}

/* Capture "body": keep a copy of what passes, up to the route's cap (the arena grows it). */
static void
copy_body(struct gw_exchange *ex, struct body *b, const void *p, size_t n, int reset)
{
    size_t max = au_capture_max(ex->route->capture), room, cap;

    if (reset) {
        b->copy_len = 0;
        b->cut = 0;
    }
    room = max - b->copy_len;
    if (n > room) {
        n = room;
        b->cut = 1;
    }
    if (n == 0)
        return;
    cap = b->copy_len + n;
    if (cap > b->copy_cap) { /* grow by doubling, from 1 KiB, up to the cap */
        size_t want = 1024;
        while (want < cap)
            want *= 2;
        if (want > max)
            want = max;
        char *q = gw_arena_alloc(&ex->arena, want);
        if (b->copy_len > 0)
            memcpy(q, b->copy, b->copy_len);
        b->copy = q;
        b->copy_cap = want;
    }
    memcpy(b->copy + b->copy_len, p, n);
    b->copy_len += n;
}

static void
body_in(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n)
{
    struct au_exchange *a = data;
    struct body *b = resp ? &a->resp : &a->req;
    enum au_capture_mode mode;

    if (n == 0)
        return;
    b->bytes += n;
    if ((mode = capture_mode(ex)) == AU_CAPTURE_NONE)
        return;
    if (!b->hashing) {
        gw_sha256_init(&b->md);
        b->hashing = 1;
    }
    gw_sha256_update(&b->md, p, n);
    if (mode == AU_CAPTURE_BODY)
        copy_body(ex, b, p, n, 0);
}

static void
body_out(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n)
{
    struct au_exchange *a = data;
    struct body *b = resp ? &a->resp : &a->req;
    enum au_capture_mode mode;

    b->transformed = 1;
    b->bytes_out = n;
    if ((mode = capture_mode(ex)) == AU_CAPTURE_NONE)
        return;
    gw_sha256_once(p, n, b->sha_out);
    if (mode == AU_CAPTURE_BODY) /* the capture is of the body as it goes on */
        copy_body(ex, b, p, n, 1);
}

/* SHA-256 of no bytes */
static const unsigned char sha_empty[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

static void
finish_body(struct body *b, enum au_capture_mode mode, struct au_body *out)
{
    out->captured = AU_CAPTURED_NONE;
    if (mode == AU_CAPTURE_NONE) {
        out->bytes = b->bytes;
        out->bytes_out = b->transformed ? b->bytes_out : b->bytes;
        return; /* no digests */
    }
    if (b->hashing)
        gw_sha256_final(&b->md, b->sha);
    else
        memcpy(b->sha, sha_empty, 32);
    if (!b->transformed) {
        b->bytes_out = b->bytes;
        memcpy(b->sha_out, b->sha, 32);
    }
    out->bytes = b->bytes;
    out->bytes_out = b->bytes_out;
    out->sha = b->sha;
    out->sha_out = b->sha_out;
}

/* The request's Content-Type (its head was kept), as a string in the arena, or NULL. */
static const char *
request_type(struct gw_exchange *ex)
{
    const struct gw_http_header *h =
        ex->head != NULL ? gw_http_find_header(&ex->req, "content-type") : NULL;
    return h != NULL ? gw_arena_strndup(&ex->arena, h->value, h->value_len) : NULL;
}

static void
response_head(struct gw_exchange *ex, void *data)
{
    struct au_exchange *a = data;
    const struct gw_http_header *h;

    if (capture_mode(ex) == AU_CAPTURE_BODY &&
        (h = gw_http_find_header(&ex->resp, "content-type")) != NULL)
        a->resp_type = gw_arena_strndup(&ex->arena, h->value, h->value_len);
}

/* Capture "body": the copy, redacted as the route says, into the event (text in the arena). */
static void
capture(struct gw_exchange *ex, const struct body *b, const char *type,
        struct au_body *out)
{
    const struct pt_route *r = ex->route;
    struct gw_buf buf = {0};

    out->captured = au_capture_body(r->capture, ex->set->tf_limits, type,
                                    type != NULL ? strlen(type) : 0, b->copy ? b->copy : "",
                                    b->copy_len, !b->cut, &buf, &out->truncated);
    if (buf.oom) {
        out->captured = AU_CAPTURED_WITHHELD;
    } else if (buf.len > 0) {
        out->text = gw_arena_strndup(&ex->arena, buf.p, buf.len);
        out->text_len = buf.len;
    }
    out->truncated |= b->cut && out->captured != AU_CAPTURED_WITHHELD;
    gw_buf_free(&buf);
}

/* The names of the chain steps that ran, in the exchange's arena. */
static const char *const *
applied(struct gw_exchange *ex, const struct tf_chain *ch, uint32_t bits, size_t *n)
{
    size_t size = tf_chain_size(ch);
    const char **v = gw_arena_alloc(&ex->arena, (size ? size : 1) * sizeof *v);

    *n = 0;
    for (size_t i = 0; i < size && i < 32; i++)
        if (bits & (1u << i))
            v[(*n)++] = tf_chain_step_name(ch, i);
    return v;
}

/* The exchange's tries at its upstream, for upstream.tries. */
static const struct au_try *
tries(struct gw_exchange *ex, size_t *n)
{
    struct au_try *t = gw_arena_alloc(&ex->arena, (ex->ntries + 1) * sizeof *t);

    *n = 0;
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < ex->ntries; i++) {
        const struct ex_try *x = &ex->tries[i];
        t[i].addr = x->addr;
        t[i].error = x->error;
        t[i].status = x->status;
        t[i].latency_us = x->m_end ? x->m_end - x->m_start : -1;
    }
    *n = ex->ntries;
    return t;
}

/* Who called, for billing: the consumer its API key identified (id and key id, never the key) and
 * the caller's plan, the consumer's before the partner's. */
static void
caller(const struct gw_exchange *ex, struct au_event *e)
{
    const struct pt_consumer *c = ex->consumer;
    const struct pt_partner *p = ex->partner;

    if (c != NULL) {
        e->consumer = c->id;
        e->key_id = ex->key_id;
    }
    if (ex->plan != NULL) /* the plan it was admitted with (a run-time consumer's is found by
                           * name in the snapshot, its own plan member stays NULL) */
        e->plan = ex->plan->name;
    else if (p != NULL && p->plan != NULL) /* refused before admission */
        e->plan = p->plan->name;
}

static void
finished(struct gw_exchange *ex, void *state, void *data, int complete)
{
    struct au_worker *w = state;
    struct au_exchange *a = data;
    const struct pt_partner *p = ex->partner;
    const struct pt_route *r = ex->route;
    const struct ex_cert *cert;
    struct au_event e = {0};
    struct au_event_text t;
    enum au_capture_mode mode;
    int64_t now;
    const char *key;

    if (a->audited)
        return;
    a->audited = 1;
    now = gw_mono_us();
    e.kind = ex->delivery != NULL && ex->delivery->attempt > 0 ? "delivery" : "exchange";
    e.delivery = ex->delivery;
    event_id(w, e.id);
    e.node = ex->set->node;
    e.config = ex->set->config_version;
    e.request_id = ex->request_id[0] ? ex->request_id : NULL;
    e.received_us = ex->t_received;
    e.forwarded_us = ex->m_forwarded ? ex->t_received + (uint64_t)(ex->m_forwarded - ex->m_received)
                                     : 0;
    e.responded_us = ex->t_received + (uint64_t)(now - ex->m_received);
    e.partner = p != NULL ? p->id : NULL;
    caller(ex, &e);
    if ((cert = ex->api->cert(ex)) != NULL) {
        e.subject = cert->subject;
        e.issuer = cert->issuer;
        e.serial = cert->serial;
        e.fingerprint = cert->fingerprint;
    }
    e.client_addr = ex->client->ip;
    e.client_port = ex->client->port;
    e.route = r != NULL ? r->name : NULL;
    if (ex->head != NULL) { /* the head was parsed and kept: its fields point into it */
        e.method = gw_arena_strndup(&ex->arena, ex->req.method_str, ex->req.method_len);
        e.path = ex->req.path;
        e.path_len = ex->req.path_len;
    }
    e.status = ex->status;
    e.outcome = ex_outcome_name(ex_outcome(ex, complete));
    e.reason = !complete ? "connection-lost" : ex->reason;
    e.detail = complete ? ex->reason_detail : NULL;
    e.up_latency_us = -1;
    e.up_partition = -1;
    if (r != NULL && ex->m_forwarded && ex->target != NULL) {
        /* an http target's host:port, or a kafka route's URL (then where the message went) */
        e.up_addr = ex->target->hostport != NULL ? ex->target->hostport : ex->target->url;
        if (ex->target->kind == PT_UP_KAFKA) {
            e.up_partition = ex->up_partition;
            e.up_offset = ex->up_offset;
        }
        e.up_status = ex->up_status;
        e.up_latency_us = ex->m_up_head ? ex->m_up_head - ex->m_forwarded : -1;
    }
    if (r != NULL && r->upset != NULL)
        e.up_set = r->upset->name;
    if (ex->tries != NULL || e.up_set != NULL)
        e.tries = tries(ex, &e.ntries);
    e.latency_us = now - ex->m_received;
    mode = capture_mode(ex);
    finish_body(&a->req, mode, &e.req);
    finish_body(&a->resp, mode, &e.resp);
    if (mode == AU_CAPTURE_BODY) {
        e.capture_body = 1;
        capture(ex, &a->req, request_type(ex), &e.req);
        capture(ex, &a->resp, ex->local_type != NULL ? ex->local_type : a->resp_type, &e.resp);
    }
    e.chain_req = applied(ex, ex->req_chain, ex->req_applied, &e.nchain_req);
    e.chain_resp = applied(ex, ex->resp_chain, ex->resp_applied, &e.nchain_resp);
    e.signatures = ex->signatures;
    if (au_event_write(&e, &w->text, &t) < 0) {
        gw_log(GW_LOG_ERROR, "audit: out of memory writing the event");
        return;
    }
    if (t.len > AU_EVENT_MAX && e.capture_body) {
        /* bodies too large for one Kafka message: the event goes without them (and a body
         * withheld says nothing of a cut: audit/README.md) */
        e.req.captured = e.resp.captured = AU_CAPTURED_WITHHELD;
        e.req.truncated = e.resp.truncated = 0;
        if (au_event_write(&e, &w->text, &t) < 0)
            return;
    }
    /* one caller's events in one partition, in order: a partner's as before, a consumer's when
     * it came without a partner */
    key = e.partner != NULL ? e.partner : e.consumer != NULL ? e.consumer : "-";
    au_log_append(w->log, key, strlen(key), &t);
}

static void
handshake(const struct ex_handshake *h, void *state)
{
    struct au_worker *w = state;
    struct au_event e = {0};
    struct au_event_text t;
    const struct ex_cert *cert = h->cert;
    int64_t now = gw_mono_us();

    e.kind = "handshake";
    event_id(w, e.id);
    e.node = h->set->node;
    e.config = h->set->config_version;
    e.responded_us = gw_wall_us();
    e.received_us = e.responded_us - (uint64_t)(now - h->m_accept);
    if (cert != NULL) {
        e.subject = cert->subject;
        e.issuer = cert->issuer;
        e.serial = cert->serial;
        e.fingerprint = cert->fingerprint[0] ? cert->fingerprint : NULL;
    }
    e.client_addr = h->client->ip;
    e.client_port = h->client->port;
    e.outcome = "refused";
    e.reason = h->reason;
    e.detail = h->detail;
    e.latency_us = now - h->m_accept;
    if (au_event_write(&e, &w->text, &t) == 0)
        au_log_append(w->log, "-", 1, &t);
}

const struct ex_observer au_exchange_observer = {
    .name = "audit",
    .worker_new = worker_new,
    .worker_free = worker_free,
    .busy = busy,
    .received = received,
    .body_in = body_in,
    .body_out = body_out,
    .response_head = response_head,
    .finished = finished,
    .handshake = handshake,
};
