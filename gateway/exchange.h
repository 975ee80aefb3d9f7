/* exchange.h: a client connection and the exchange (one request and its response) on it.
 *
 * gateway/http_conn.c owns the client side (accept, TLS, head, request body, local answers) and
 * gateway/proxy.c the upstream side (connect, forward, response). An exchange owns an arena for
 * everything that dies with it.
 */
#ifndef GW_EXCHANGE_H
#define GW_EXCHANGE_H

/* Output above this pauses reading the other side; below the low mark it resumes. */
#define GW_OUT_HIGH (1024 * 1024)
#define GW_OUT_LOW (256 * 1024)
/* A plain connection idle this long gives its bufferevent back and waits on a bare event: idle
 * keep-alive connections then cost a few hundred bytes (nginx-like), busy ones nothing extra. */
#define GW_IDLE_SHRINK_MS 1000

#include <stdint.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "transform.h"

#include "arena.h"
#include "http_chunked.h"
#include "http_parser.h"
#include "http_pool.h"
#include "jsonw.h"
#include "sockio.h"
#include "tls.h"
#include "worker.h"

struct tf_chain;

/* A body as the audit sees it: its bytes before and after transforms, hashed as they pass. */
struct gw_audit_body {
    uint64_t bytes, bytes_out;
    struct au_sha256 md;             /* the body as received, hashed as it passes */
    unsigned char sha[32], sha_out[32];
    unsigned transformed : 1;        /* bytes_out and sha_out differ from what came in */
    unsigned cut : 1;                /* the captured copy stopped at the route's cap */
    unsigned hashing : 1;            /* md has begun */
    char *copy;                      /* capture "body": the body as it goes on, up to the cap */
    size_t copy_len, copy_cap;
};

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
    int is_tls;
    struct gw_tls_peer peer;
    char peer_ip[46];
    int peer_port;
    int64_t t_accept;        /* monotonic µs */
    int peer_trusted;        /* peer address is a trusted proxy */
    char *cert_subject;      /* of an identified partner's certificate, computed once */
    char *cert_issuer;
    char cert_serial[72];    /* hex */
    char cert_fp[65];
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

enum gw_resp_state { GW_RESP_NONE, GW_RESP_HEAD, GW_RESP_BODY, GW_RESP_DONE };

struct gw_exchange {
    struct gw_conn *c;
    struct gw_arena arena;           /* kept across exchanges of a worker's cache */
    char *head;                      /* the request head, copied into the arena */
    size_t head_len;
    const struct pt_route *route;
    char request_id[129];
    uint64_t max_body;
    /* request body, client to upstream */
    uint64_t req_left;               /* GW_BODY_LENGTH: bytes still to read */
    struct gw_chunked req_chunk;
    unsigned req_done : 1;           /* request body read completely */
    unsigned keep_alive : 1;         /* the client connection may carry another request */
    unsigned resp_started : 1;       /* response bytes have gone to the client */
    unsigned client_chunked : 1;     /* we chunk the response body for the client */
    unsigned close_delimited : 1;    /* the response body ends when we close */
    unsigned up_reused : 1;
    unsigned retried : 1;
    unsigned client_paused : 1;      /* client reads paused for backpressure */
    unsigned up_paused : 1;          /* upstream reads paused for backpressure */
    /* upstream */
    struct cn_upconn *up;
    struct gw_http_parser up_hp;
    enum gw_resp_state resp_state;
    enum gw_http_body resp_body;
    uint64_t resp_left;
    struct gw_chunked resp_chunk;
    int status;                      /* status sent to the client */
    /* transforms (gateway/pipeline.c) */
    const struct tf_chain *req_chain;  /* the route's chains, else the partner's defaults */
    const struct tf_chain *resp_chain;
    struct evbuffer *req_buf;        /* a body buffered for a chain that needs it */
    struct evbuffer *resp_buf;
    /* the request's fields as the partner sent them, kept when the request chain is about to
     * replace ex->req's and a response chain will read them (NULL: ex->req's are still those) */
    const struct gw_http_header *req_sent;
    size_t nreq_sent;
    const char *req_body;            /* the transformed request body, sent after the head */
    size_t req_body_len;
    uint32_t req_applied;            /* bit per chain step that ran */
    uint32_t resp_applied;
    unsigned req_buffering : 1;      /* the request body goes to req_buf, not upstream */
    unsigned resp_buffering : 1;
    /* audit (gateway/exchange_audit.c) */
    unsigned audited : 1;            /* its event is written */
    uint64_t t_received;             /* UTC, µs since the epoch */
    int64_t m_received, m_forwarded, m_up_head; /* monotonic µs; 0: not reached */
    const char *reason;              /* the problem code of an answer made here */
    const char *local_type;          /* the Content-Type of an answer made here */
    const char *resp_type;           /* capture "body": the upstream's Content-Type */
    int up_status;
    struct gw_audit_body au_req, au_resp;
    struct gw_exchange *next_free;
    /* the two large message heads come last: a new exchange clears everything before them, and
     * the parsers fill them in */
    struct gw_http_message req;      /* points into head */
    struct gw_http_message resp;     /* the upstream's response head (points into its input) */
};

/* http_conn.c */
/* Response bytes queued for the client and not yet written (for TLS, in the filter and in the
 * socket below it). */
size_t gw_client_pending(struct gw_conn *c);
/* Reading the client on or off, and its read timeout (0: none); the write timeout is send_ms. */
void gw_conn_read(struct gw_conn *c, int on);
void gw_conn_timeouts(struct gw_conn *c, int read_ms);

/* The worker's generator of ids (xoroshiro128+, seeded from getrandom): unique, not secret. */
uint64_t gw_worker_random(struct gw_worker *w);
/* The reason phrase for a status ("Bad Gateway"), "" for an unknown one. */
const char *gw_status_text(int status);
void gw_conn_accept(struct gw_worker *w, size_t listener_index, int fd, struct sockaddr *sa,
                    int salen);
void gw_conn_close_idle(struct gw_worker *w); /* graceful stop: close connections between requests */
void gw_conn_free(struct gw_conn *c);

/* Send a complete locally made response (problem or mock) and finish the exchange. */
void gw_exchange_respond(struct gw_exchange *ex, int status, const char *content_type,
                         const char *body, size_t body_len, const char *extra_headers);
/* An RFC 9457 problem response: type "urn:portico:problem:<code>". */
void gw_exchange_problem(struct gw_exchange *ex, int status, const char *code, const char *detail,
                         const char *extra_headers);
/* The response is complete on the client side: next request or close. May free the conn. */
void gw_exchange_finish(struct gw_exchange *ex);
/* Something broke after the response started: close the client connection now. */
void gw_exchange_abort(struct gw_exchange *ex);
/* The exchange takes the request body now: answer 100-continue if asked, read it under
 * client_body_ms and relay what has arrived. */
void gw_exchange_read_body(struct gw_exchange *ex);
/* Move request body bytes from the client to the upstream (or into req_buf while the request
 * chain waits for the whole body), as far as they have arrived. */
int gw_exchange_relay_request(struct gw_exchange *ex);

/* An RFC 9457 problem with extra members: "errors" (a JSON array, reference taken) when not NULL. */
void gw_exchange_problem_errors(struct gw_exchange *ex, int status, const char *code,
                                const char *detail, const char *extra_headers, json_t *errors);
/* Hand the exchange to its connector (mock, kafka or the upstream proxy). */
void gw_exchange_dispatch(struct gw_exchange *ex);

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

/* exchange_audit.c: the exchange's audit event */
/* Hash n body bytes that are about to leave the front of src (resp: the response's, else the
 * request's), as they came in. */
void gw_audit_body_in(struct gw_exchange *ex, int resp, struct evbuffer *src, size_t n);
void gw_audit_body_in_mem(struct gw_exchange *ex, int resp, const void *p, size_t n);
/* The response head is in ex->resp (it may point into buffers that change: copy what is kept). */
void gw_audit_response_head(struct gw_exchange *ex);
/* The body a chain (or the gateway) made, as it goes out. */
void gw_audit_body_out(struct gw_exchange *ex, int resp, const void *p, size_t n);
/* Write the exchange's event to the audit log: once, before the last byte of the answer leaves.
 * Returns 0, or -1 when the log refused it (full). */
int gw_audit_exchange(struct gw_exchange *ex);
/* The exchange ends without its answer complete (the connection was lost or cut): its event
 * says so, if it was not written yet. */
void gw_audit_exchange_lost(struct gw_exchange *ex);
/* A TLS handshake refused for a certificate reason (gw_tls_peer_code(ssl_err) not NULL). */
void gw_audit_handshake(struct gw_conn *c, unsigned long ssl_err);
/* Set the exchange's clocks at its first byte. */
void gw_audit_start(struct gw_exchange *ex);
int64_t gw_mono_us(void);

/* proxy.c */
/* The subject (RFC 2253) of the connection's client certificate (or of the one its handshake was
 * refused for), computed once; NULL without one. c->cert_issuer, cert_serial and cert_fp are set
 * along with it. */
const char *gw_conn_cert_info(struct gw_conn *c);
void gw_proxy_start(struct gw_exchange *ex);
/* Client output drained below the watermark: resume reading the upstream. */
void gw_proxy_client_drained(struct gw_exchange *ex);
/* Drop the upstream side of an exchange (client went away). */
void gw_proxy_cancel(struct gw_exchange *ex);

#endif
