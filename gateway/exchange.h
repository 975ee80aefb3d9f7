/* exchange.h: a client connection, and the exchange API (one request and its response on it).
 *
 * The exchange's types are connectors/exchange_t.h, shared with the connectors and observers
 * below; this header adds the client connection, which only the gateway knows, and the exchange
 * API. gateway/http_conn.c owns the connection (accept, TLS, reading heads, keep-alive),
 * gateway/request.c a request's routing and admission, gateway/exchange.c the exchange API: local answers, the request body towards the connector, the
 * response from the connector to the client. The API reaches the connectors as struct ex_api
 * (gw_exchange_api); a route's connector is reached through its ops (connectors/connector.h).
 */
#ifndef GW_EXCHANGE_H
#define GW_EXCHANGE_H

/* A plain connection idle this long gives its bufferevent back and waits on a bare event: idle
 * keep-alive connections then cost a few hundred bytes (nginx-like), busy ones nothing extra. */
#define GW_IDLE_SHRINK_MS 1000

#include <stdint.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "clock.h"
#include "connector.h"
#include "exchange_t.h"
#include "sockio.h"
#include "tls.h"
#include "transform.h"
#include "worker.h"

enum gw_conn_state {
    GW_CONN_HANDSHAKE, /* TLS handshake in progress */
    GW_CONN_IDLE,      /* between requests */
    GW_CONN_HEAD,      /* reading a request head */
    GW_CONN_BODY,      /* reading the request body */
    GW_CONN_WAIT,      /* request read; the response is under way */
    GW_CONN_CLOSING,   /* flushing the last response, then close */
};

struct gw_conn {
    struct gw_worker *w;
    struct bufferevent *bev;
    struct pt_snapshot *snap;
    const struct gw_listener_conf *lconf;
    enum gw_conn_state state;
    struct ex_client client; /* address, TLS or not, trusted proxy or not */
    struct gw_log_ctx log;   /* its log lines' context between exchanges (client, partner) */
    struct gw_tls_peer peer;
    int64_t t_accept;        /* monotonic µs */
    struct ex_cert cert;     /* the client certificate in words, computed once (gw_conn_cert) */
    unsigned nrequests;
    struct gw_http_parser hp;
    struct gw_exchange *ex;  /* the current exchange, or NULL when idle */
    int fd;
    /* the deadline of a request head, or the step of a closing connection */
    struct event ev;
    /* plain connections are read by this event, not by their bufferevent: one readv per read,
     * without the FIONREAD ioctl libevent makes first, and the watch that outlives the
     * bufferevent of a shrunk idle connection */
    struct event rev;
    int read_ms;             /* the read timeout in force (0: none) */
    unsigned lingering : 1;  /* closing: our side shut, reading what the client still sends */
    TAILQ_ENTRY(gw_conn) link;
};

/* http_conn.c: the client connection */
/* Response bytes queued for the client and not yet written (for TLS, in the filter and in the
 * socket below it). */
size_t gw_client_pending(struct gw_conn *c);
/* Reading the client on or off, and its read timeout (0: none); the write timeout is send_ms. */
void gw_conn_read(struct gw_conn *c, int on);
void gw_conn_timeouts(struct gw_conn *c, int read_ms);
/* The keep-alive read timeout of an idle connection. */
int gw_conn_idle_ms(const struct gw_conn *c);
/* The exchange is over (answered, or the connection goes): back to the worker's cache. */
void gw_conn_release_exchange(struct gw_exchange *ex);
/* Closing: flush the last response, shut our side, linger, free. */
void gw_conn_start_closing(struct gw_conn *c);

/* The worker's generator of ids (xoroshiro128+, seeded from getrandom): unique, not secret. */
uint64_t gw_worker_random(struct gw_worker *w);
/* The exchange's request id: a trusted proxy's X-Request-Id, else a new one. */
void gw_exchange_set_request_id(struct gw_exchange *ex);
void gw_conn_accept(struct gw_worker *w, size_t listener_index, int fd, struct sockaddr *sa,
                    int salen);
void gw_conn_close_idle(struct gw_worker *w); /* graceful stop: close connections between requests */
void gw_conn_free(struct gw_conn *c);

/* exchange.c: the exchange API */
/* What connectors are lent (exchange_t.h): these functions, as a table. */
extern const struct ex_api gw_exchange_api;
/* Send a complete locally made response and finish the exchange. */
void gw_exchange_respond(struct gw_exchange *ex, int status, const char *content_type,
                         const char *body, size_t body_len, const char *extra_headers);
/* An RFC 9457 problem response: type "urn:portico:problem:<code>". */
void gw_exchange_problem(struct gw_exchange *ex, int status, const char *code, const char *detail,
                         const char *extra_headers);
/* An RFC 9457 problem with extra members: "errors" (a JSON array, reference taken) when not NULL. */
void gw_exchange_problem_errors(struct gw_exchange *ex, int status, const char *code,
                                const char *detail, const char *extra_headers, json_t *errors);
/* The response is complete on the client side: next request or close. May free the conn. */
void gw_exchange_finish(struct gw_exchange *ex);
/* Something broke after the response started: close the client connection now. */
void gw_exchange_abort(struct gw_exchange *ex);
/* The exchange takes the request body now into ex->req_buf or the connector's sink: answer
 * 100-continue if asked, read it under client_body_ms and relay what has arrived. */
void gw_exchange_read_body(struct gw_exchange *ex);
/* Move request body bytes from the client to the connector's sink (or into req_buf while the
 * request chain waits for the whole body), as far as they have arrived. */
int gw_exchange_relay_request(struct gw_exchange *ex);
/* Hand the exchange to its route's connector. */
void gw_exchange_dispatch(struct gw_exchange *ex);
/* The connector starts (the idempotent receiver let the exchange go on). */
void gw_exchange_start(struct gw_exchange *ex);
/* Drop the connector's side, if it has one (the exchange ends or answers otherwise). */
void gw_exchange_cancel(struct gw_exchange *ex);
/* The client took its output: a connector paused for it goes on. */
void gw_exchange_client_drained(struct gw_exchange *ex);
/* The connection's client certificate in words (computed once), or NULL without one. */
const struct ex_cert *gw_conn_cert(struct gw_conn *c);

/* request.c: a request head read: checked, routed, admitted, its chains run, dispatched */
void gw_request_handle(struct gw_exchange *ex);
/* ... admitted (its limits said yes): its chain, its body, its connector. */
void gw_request_admitted(struct gw_exchange *ex);
/* A head the parser refused (rc: GW_HTTP_E_*), answered. */
void gw_request_refused(struct gw_exchange *ex, int rc);
/* Remove the fields that claim an identity (X-Partner-*, X-Client-Cert*). */
void gw_request_drop_identity_claims(struct gw_http_message *m);

/* pipeline.c: the transform chains of an exchange */
/* A buffer for a body a chain needs whole, freed with the exchange. */
struct evbuffer *gw_pipeline_buffer(struct gw_exchange *ex);
/* Pick the chains: the route's, else the identified partner's defaults. */
void gw_pipeline_select(struct gw_exchange *ex);
/* Run the request chain on ex->req (and the buffered body, if any); on success the transformed
 * head is back in ex->req (framed by Content-Length when the body was buffered) and the body in
 * ex->req_body. Returns 0, or -1 after answering the problem. */
int gw_pipeline_request(struct gw_exchange *ex);
/* Run the response chain on ex->resp (whose head must not point into buffers that change) and
 * the buffered body, if any, into m. Returns 0, or -1 after answering the problem (the upstream
 * must be detached first). */
int gw_pipeline_response(struct gw_exchange *ex, struct tf_message *m);
/* Put a transformed message's status and headers back into an HTTP message (m's fields stay in
 * the exchange's arena). Returns 0, or -1 when there are more fields than a head may have. */
int gw_pipeline_write_back(const struct tf_message *m, struct gw_http_message *msg);

/* observers.c: the exchange's events, to the worker's observers (exchange_t.h) */
/* Register an observer (its worker state made from conf). 0, or -1 when full or it failed. */
int gw_observers_add(struct ex_observers *o, const struct ex_observer *ops, void *conf);
void gw_observers_free(struct ex_observers *o);
/* Why an observer takes no exchange now (*who: its name), or NULL. */
const char *gw_observers_busy(const struct ex_observers *o, const char **who);
/* The first byte of a head: the exchange's clocks start, observers make their state. */
void gw_obs_received(struct gw_exchange *ex);
/* n body bytes about to leave the front of src (resp: the response's, else the request's), as
 * they came in; or n bytes at p. */
void gw_obs_body_in(struct gw_exchange *ex, int resp, struct evbuffer *src, size_t n);
void gw_obs_body_in_mem(struct gw_exchange *ex, int resp, const void *p, size_t n);
/* The body a chain (or the gateway) made, as it goes out. */
void gw_obs_body_out(struct gw_exchange *ex, int resp, const void *p, size_t n);
/* The response head is in ex->resp (it may point into buffers that change). */
void gw_obs_response_head(struct gw_exchange *ex);
/* The answer is complete, before its last bytes leave (1); the exchange ends (0). */
void gw_obs_finished(struct gw_exchange *ex, int complete);
/* A TLS handshake refused for a certificate reason (gw_tls_peer_code(ssl_err) not NULL). */
void gw_obs_handshake(struct gw_conn *c, unsigned long ssl_err);

#endif
