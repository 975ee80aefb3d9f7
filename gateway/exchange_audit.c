/* exchange_audit.c: an exchange's audit event (DESIGN.md, step 9; audit/README.md).
 *
 * The engine calls gw_audit_exchange() where an answer is complete and before its last bytes are
 * flushed (gw_exchange_respond, the proxy's response_done and transformed_response), and again,
 * as a no-op or as the only call, when an exchange ends without an answer (the connection was
 * lost). Bodies are hashed as they pass through the engine, before and after transforms, with no
 * copy.
 */
#include "exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/buffer.h>

#include "audit.h"
#include "capture.h"
#include "chain.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "partner.h"
#include "snapshot.h"

int64_t
gw_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
gw_audit_start(struct gw_exchange *ex)
{
    ex->t_received = wall_us();
    ex->m_received = gw_mono_us();
}

static enum au_capture_mode
capture_mode(const struct gw_exchange *ex)
{
    return ex->route != NULL ? au_capture_mode(ex->route->capture) : AU_CAPTURE_DIGEST;
}

/* Capture "body": keep a copy of what passes, up to the route's cap (the arena grows it). */
static void
copy_body(struct gw_exchange *ex, struct gw_audit_body *b, const void *p, size_t n, int reset)
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

void
gw_audit_body_in_mem(struct gw_exchange *ex, int resp, const void *p, size_t n)
{
    struct gw_audit_body *b = resp ? &ex->au_resp : &ex->au_req;
    enum au_capture_mode mode;

    if (ex->c->w->audit == NULL || n == 0)
        return;
    b->bytes += n;
    if ((mode = capture_mode(ex)) == AU_CAPTURE_NONE)
        return;
    if (!b->hashing) {
        au_sha256_init(&b->md);
        b->hashing = 1;
    }
    au_sha256_update(&b->md, p, n);
    if (mode == AU_CAPTURE_BODY)
        copy_body(ex, b, p, n, 0);
}

void
gw_audit_body_in(struct gw_exchange *ex, int resp, struct evbuffer *src, size_t n)
{
    struct evbuffer_iovec v[16];
    struct evbuffer_ptr at;

    if (ex->c->w->audit == NULL || n == 0)
        return;
    evbuffer_ptr_set(src, &at, 0, EVBUFFER_PTR_SET);
    while (n > 0) {
        int nv = evbuffer_peek(src, (ev_ssize_t)n, &at, v, 16);
        if (nv <= 0)
            break;
        for (int i = 0; i < nv && i < 16 && n > 0; i++) {
            size_t k = v[i].iov_len < n ? v[i].iov_len : n;
            gw_audit_body_in_mem(ex, resp, v[i].iov_base, k);
            n -= k;
            evbuffer_ptr_set(src, &at, k, EVBUFFER_PTR_ADD);
        }
    }
}

void
gw_audit_body_out(struct gw_exchange *ex, int resp, const void *p, size_t n)
{
    struct gw_audit_body *b = resp ? &ex->au_resp : &ex->au_req;
    enum au_capture_mode mode;

    if (ex->c->w->audit == NULL)
        return;
    b->transformed = 1;
    b->bytes_out = n;
    if ((mode = capture_mode(ex)) == AU_CAPTURE_NONE)
        return;
    au_sha256_once(p, n, b->sha_out);
    if (mode == AU_CAPTURE_BODY) /* the capture is of the body as it goes on */
        copy_body(ex, b, p, n, 1);
}

/* SHA-256 of no bytes */
static const unsigned char sha_empty[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

static void
finish_body(struct gw_audit_body *b, enum au_capture_mode mode, struct au_body *out)
{
    out->captured = AU_CAPTURED_NONE;
    if (mode == AU_CAPTURE_NONE) {
        out->bytes = b->bytes;
        out->bytes_out = b->transformed ? b->bytes_out : b->bytes;
        return; /* no digests */
    }
    if (b->hashing)
        au_sha256_final(&b->md, b->sha);
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

void
gw_audit_response_head(struct gw_exchange *ex)
{
    const struct gw_http_header *h;

    if (ex->c->w->audit != NULL && capture_mode(ex) == AU_CAPTURE_BODY &&
        (h = gw_http_find_header(&ex->resp, "content-type")) != NULL)
        ex->resp_type = gw_arena_strndup(&ex->arena, h->value, h->value_len);
}

/* Capture "body": the copy, redacted as the route says, into the event (text in the arena). */
static void
capture(struct gw_exchange *ex, const struct gw_audit_body *b, const char *type,
        struct au_body *out)
{
    const struct pt_route *r = ex->route;
    struct au_buf buf = {0};

    out->captured = au_capture_body(r->capture, &ex->c->snap->config->tf_limits, type,
                                    type != NULL ? strlen(type) : 0, b->copy ? b->copy : "",
                                    b->copy_len, !b->cut, &buf, &out->truncated);
    if (buf.oom) {
        out->captured = AU_CAPTURED_WITHHELD;
    } else if (buf.len > 0) {
        out->text = gw_arena_strndup(&ex->arena, buf.p, buf.len);
        out->text_len = buf.len;
    }
    out->truncated |= b->cut && out->captured != AU_CAPTURED_WITHHELD;
    au_buf_free(&buf);
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

static const char *
outcome(const struct gw_exchange *ex, int complete)
{
    if (ex->status == 0 || !complete)
        return "error";
    if (ex->reason == NULL)
        return "ok";
    return ex->status < 500 || ex->status == 503 ? "refused" : "error";
}

static void
event_id(struct gw_worker *w, unsigned char id[16])
{
    uint64_t a = gw_worker_random(w), b = gw_worker_random(w);

    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

static int
audit(struct gw_exchange *ex, int complete)
{
    struct gw_conn *c = ex->c;
    struct gw_worker *w = c->w;
    const struct pt_partner *p = c->peer.partner;
    const struct pt_route *r = ex->route;
    struct au_event e = {0};
    struct au_event_text t;
    enum au_capture_mode mode;
    int64_t now;
    const char *key;

    if (w->audit == NULL || ex->audited)
        return 0;
    ex->audited = 1;
    now = gw_mono_us();
    e.kind = "exchange";
    event_id(w, e.id);
    e.node = c->snap->config->node;
    e.config = c->snap->version;
    e.request_id = ex->request_id[0] ? ex->request_id : NULL;
    e.received_us = ex->t_received;
    e.forwarded_us = ex->m_forwarded ? ex->t_received + (uint64_t)(ex->m_forwarded - ex->m_received)
                                     : 0;
    e.responded_us = ex->t_received + (uint64_t)(now - ex->m_received);
    e.partner = p != NULL ? p->id : NULL;
    if (gw_conn_cert_info(c) != NULL) {
        e.subject = c->cert_subject;
        e.issuer = c->cert_issuer;
        e.serial = c->cert_serial;
        e.fingerprint = c->cert_fp;
    }
    e.client_addr = c->peer_ip;
    e.client_port = c->peer_port;
    e.route = r != NULL ? r->name : NULL;
    if (ex->head != NULL) { /* the head was parsed and kept: its fields point into it */
        e.method = gw_arena_strndup(&ex->arena, ex->req.method_str, ex->req.method_len);
        e.path = ex->req.path;
        e.path_len = ex->req.path_len;
    }
    e.status = ex->status;
    e.outcome = outcome(ex, complete);
    e.reason = !complete ? "connection-lost" : ex->reason;
    if (r != NULL && ex->m_forwarded && r->upstream.hostport != NULL) {
        e.up_addr = r->upstream.hostport;
        e.up_status = ex->up_status;
        e.up_latency_us = ex->m_up_head ? ex->m_up_head - ex->m_forwarded : -1;
    }
    e.latency_us = now - ex->m_received;
    mode = capture_mode(ex);
    finish_body(&ex->au_req, mode, &e.req);
    finish_body(&ex->au_resp, mode, &e.resp);
    if (mode == AU_CAPTURE_BODY) {
        e.capture_body = 1;
        capture(ex, &ex->au_req, request_type(ex), &e.req);
        capture(ex, &ex->au_resp, ex->local_type != NULL ? ex->local_type : ex->resp_type,
                &e.resp);
    }
    e.chain_req = applied(ex, ex->req_chain, ex->req_applied, &e.nchain_req);
    e.chain_resp = applied(ex, ex->resp_chain, ex->resp_applied, &e.nchain_resp);
    if (au_event_write(&e, w->au_text, &t) < 0) {
        gw_log(GW_LOG_ERROR, "%s: audit: out of memory writing the event", ex->request_id);
        return -1;
    }
    if (t.len > AU_EVENT_MAX && e.capture_body) {
        /* bodies too large for one Kafka message: the event goes without them (and a body
         * withheld says nothing of a cut: audit/README.md) */
        e.req.captured = e.resp.captured = AU_CAPTURED_WITHHELD;
        e.req.truncated = e.resp.truncated = 0;
        if (au_event_write(&e, w->au_text, &t) < 0)
            return -1;
    }
    key = e.partner != NULL ? e.partner : "-";
    return au_log_append(w->audit, key, strlen(key), &t);
}

int
gw_audit_exchange(struct gw_exchange *ex)
{
    return audit(ex, 1);
}

void
gw_audit_exchange_lost(struct gw_exchange *ex)
{
    audit(ex, 0);
}

void
gw_audit_handshake(struct gw_conn *c, unsigned long ssl_err)
{
    struct gw_worker *w = c->w;
    struct au_event e = {0};
    struct au_event_text t;
    int64_t now = gw_mono_us();

    if (w->audit == NULL)
        return;
    e.kind = "handshake";
    event_id(w, e.id);
    e.node = c->snap->config->node;
    e.config = c->snap->version;
    e.responded_us = wall_us();
    e.received_us = e.responded_us - (uint64_t)(now - c->t_accept);
    if (gw_conn_cert_info(c) != NULL) {
        e.subject = c->cert_subject;
        e.issuer = c->cert_issuer;
        e.serial = c->cert_serial;
        e.fingerprint = c->cert_fp[0] ? c->cert_fp : NULL;
    }
    e.client_addr = c->peer_ip;
    e.client_port = c->peer_port;
    e.outcome = "refused";
    e.reason = gw_tls_peer_code(&c->peer, ssl_err);
    e.latency_us = now - c->t_accept;
    if (au_event_write(&e, w->au_text, &t) == 0)
        au_log_append(w->audit, "-", 1, &t);
}
