/* request.c: a request whose head was read: its id, the checks of its target, the route, the
 * partner's admission, the request chain (with the body read whole first when the chain needs
 * it), then the route's connector (exchange.c: gw_exchange_dispatch). A head the parser refused
 * is answered here too.
 */
#include "exchange.h"

#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "key_auth.h"
#include "limiter.h"
#include "log.h"
#include "router.h"
#include "text.h"

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

void
gw_exchange_set_request_id(struct gw_exchange *ex)
{
    const struct gw_http_header *h;

    if (ex->client->trusted && (h = gw_http_find_header(&ex->req, "x-request-id")) != NULL &&
        request_id_ok(h->value, h->value_len)) {
        memcpy(ex->request_id, h->value, h->value_len);
        ex->request_id[h->value_len] = '\0';
        return;
    }
    snprintf(ex->request_id, sizeof ex->request_id, "%016llx%016llx",
             (unsigned long long)gw_worker_random(ex->c->w), (unsigned long long)gw_worker_random(ex->c->w));
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
                int hi = i + 2 < n ? gw_hexval(p[i + 1]) : -1, lo = i + 2 < n ? gw_hexval(p[i + 2]) : -1;
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

void
gw_request_refused(struct gw_exchange *ex, int rc)
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

/* The caller is the connection's partner: its limits and plan go with the exchange. */
static void
caller_partner(struct gw_exchange *ex, const struct pt_partner *p)
{
    ex->caller_limits = pt_limits_any(&p->limits) ? &p->limits : NULL;
    ex->plan = p->plan;
}

/* Is the caller allowed on the route: its partner (a client certificate) or, on a route that
 * takes keys, its consumer (an API key: key_auth.c)? Answers the problem itself when not. */
static int
admit(struct gw_exchange *ex)
{
    const struct pt_route *r = ex->route;
    const struct pt_partner *p = ex->partner;
    char detail[256];

    if (r->access == PT_ACCESS_PUBLIC) {
        if (p != NULL)
            caller_partner(ex, p);
        return 0;
    }
    if (r->auth & PT_AUTH_KEY && (p == NULL || !(r->auth & PT_AUTH_MTLS)))
        return gw_key_admit(ex);
    if (p == NULL) {
        /* which constraint failed: the log and the audit are told, the client is not */
        if (ex->client->tls && (ex->reason_detail = ex->c->peer.mismatch) != NULL) {
            if (ex->request_id[0] == '\0')
                gw_exchange_set_request_id(ex);
            GW_LOG_IN(&ex->log, gw_log(GW_LOG_INFO, "%s: %s", gw_tls_peer_reason(&ex->c->peer),
                                       ex->reason_detail));
        }
        gw_exchange_problem(ex, 401, "partner-unidentified",
                            ex->client->tls ? gw_tls_peer_reason(&ex->c->peer)
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
    if (r->auth & PT_AUTH_KEY)
        gw_key_strip(ex); /* a key beside the certificate is not the upstream's either */
    caller_partner(ex, p);
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

/* The request chain (or the connector: kafka) needs the whole body: read it into req_buf (bounded
 * by the buffered body limit), then run the chain and dispatch (gw_exchange_relay_request). */
static void
buffer_request(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    uint64_t max = c->snap->config->limits.max_buffered_body_bytes;

    if (ex->req.body == GW_BODY_LENGTH && ex->req.content_length > max) {
        ex->keep_alive = 0;
        gw_exchange_problem(ex, 413, "body-too-large",
                            "the body exceeds max_buffered_body_bytes, the most a route with "
                            "transforms (or to Kafka) holds", NULL);
        return;
    }
    if (max < ex->max_body)
        ex->max_body = max;
    ex->req_buf = gw_pipeline_buffer(ex);
    ex->req_buffering = 1;
    gw_exchange_read_body(ex);
}

/* The route may retry the request on another target (its set's replay_bytes): a body of known
 * length up to that size is read whole first and kept, so that a second try can send it again. */
static int
keep_for_retry(struct gw_exchange *ex)
{
    const struct gw_http_message *q = &ex->req;

    if (q->body != GW_BODY_LENGTH || q->content_length > ex->route->replay_max ||
        q->content_length > ex->c->snap->config->limits.max_buffered_body_bytes)
        return 0;
    ex->req_buf = gw_pipeline_buffer(ex);
    ex->req_buffering = 1;
    ex->req_replay = 1;
    gw_exchange_read_body(ex);
    return 1;
}

void
gw_request_handle(struct gw_exchange *ex)
{
    struct gw_conn *c = ex->c;
    struct gw_http_message *req = &ex->req;
    const struct gw_limits *lim = &c->snap->config->limits;
    unsigned allowed = 0;
    const char *busy, *who;
    char code[64];
    int rc;

    c->nrequests++;
    c->w->requests++;
    ex->keep_alive = req->keep_alive && c->nrequests < lim->max_keepalive_requests;
    ex->req_done = req->body == GW_BODY_NONE;
    ex->req_left = req->body == GW_BODY_LENGTH ? req->content_length : 0;
    if (req->body == GW_BODY_LENGTH && req->content_length == 0)
        ex->req_done = 1;
    gw_chunked_init(&ex->req_chunk);
    gw_exchange_set_request_id(ex);

    if ((busy = gw_observers_busy(ex->obs, &who)) != NULL) {
        /* an observer that must see every exchange cannot take one now (the audit log is full) */
        snprintf(code, sizeof code, "%s-unavailable", who);
        ex->keep_alive = 0;
        gw_exchange_problem(ex, 503, gw_arena_strndup(&ex->arena, code, strlen(code)), busy,
                            "Retry-After: 5\r\n");
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
    if (admit(ex) < 0 || (rc = gw_limits_admit(ex)) < 0)
        return;
    if (rc > 0) { /* Redis is asked (limiter_redis.c goes on with it) */
        c->state = GW_CONN_WAIT;
        return;
    }
    gw_request_admitted(ex);
}

void
gw_request_admitted(struct gw_exchange *ex)
{
    gw_pipeline_select(ex);
    if ((tf_chain_needs_body(ex->req_chain) || ex->route->whole_body) && !ex->req_done) {
        buffer_request(ex);
        return;
    }
    if (ex->req_chain != NULL && gw_pipeline_request(ex) < 0)
        return;
    if (!ex->req_done && keep_for_retry(ex))
        return;
    gw_exchange_dispatch(ex);
}

/* Fields that claim an identity from outside (X-Partner-*, X-Consumer-*, X-Client-Cert*, any case) leave the
 * request before anything reads it, routes, transforms and templates included: the only identity
 * is the verified certificate's, which the gateway writes itself (DESIGN, security rules). */
void
gw_request_drop_identity_claims(struct gw_http_message *m)
{
    size_t k = 0;

    for (size_t i = 0; i < m->nheaders; i++)
        if (!gw_http_identity_claim(m->headers[i].name, m->headers[i].name_len))
            m->headers[k++] = m->headers[i];
    m->nheaders = k;
}
