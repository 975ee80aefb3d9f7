/* exchange_t.h: the exchange's types, and nothing else (HAProxy's -t.h habit): one request and
 * its response as the gateway, the connectors and the observers see them.
 *
 * The gateway owns an exchange (gateway/exchange.h: the client connection, the exchange API);
 * the floors below it read the exchange's fields and act on it only through the functions the
 * gateway lends them in struct ex_api, so that no include climbs from connectors/ or audit/ to
 * gateway/. An exchange owns an arena for everything that dies with it.
 */
#ifndef EX_EXCHANGE_T_H
#define EX_EXCHANGE_T_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "http_chunked.h"
#include "http_parser.h"
#include "log.h"

/* Output above this pauses reading the other side; below the low mark it resumes. */
#define GW_OUT_HIGH (1024 * 1024)
#define GW_OUT_LOW (256 * 1024)
/* How many observers a worker may have (struct ex_observer). */
#define EX_MAX_OBSERVERS 4

struct evbuffer;
struct gw_conn;
struct gw_exchange;
struct pt_partner;
struct tf_signature;
struct pt_consumer;
struct pt_plan;
struct pt_limits;
struct pt_route;
struct pt_snapshot;
struct tf_chain;
struct cn_ops;
struct cn_kafka_conf;

/* What of the gateway's configuration an exchange's connector and observers read; the gateway
 * fills it once per snapshot (gateway/config.h holds it). */
struct ex_settings {
    const char *node;                 /* the node's name: Via, audit events */
    const char *config_version;       /* the snapshot's version: audit events */
    int upstream_connect_ms, upstream_response_ms, send_ms;
    size_t max_header_bytes, max_target_bytes;
    uint64_t max_buffered_body_bytes;
    const struct tf_limits *tf_limits;
    const struct cn_kafka_conf *kafka; /* the kafka connector's brokers (connector.h) */
};

/* The client certificate of a connection (its partner's, or the one its handshake was refused
 * for), in words: computed once, when first asked for. */
struct ex_cert {
    char *subject;      /* RFC 2253 */
    char *issuer;
    char serial[72];    /* hex */
    char fingerprint[65]; /* SHA-256 of the DER, hex; "" when it could not be computed */
};

/* The client of an exchange, as its connection knows it. */
struct ex_client {
    char ip[46];
    int port;
    unsigned tls : 1;     /* the connection is TLS */
    unsigned trusted : 1; /* the peer address is a trusted proxy */
};

/* One try of an exchange at its backend (http: a target of its set, or the route's URL), as the
 * audit event's upstream.tries tells it. */
struct ex_try {
    const char *addr;        /* host:port */
    const char *error;       /* why it gave no answer, or broke off ("connect-failed", "tls-failed",
                              * "closed", "timeout", "bad-response", "cut"); NULL: none */
    int status;              /* its answer's status; 0: none */
    int64_t m_start, m_end;  /* monotonic µs; m_end 0: no answer head */
};
/* The tries an exchange keeps (the set's attempts, and a stale pooled connection's second go). */
#define EX_MAX_TRIES 8

/* An exchange that is part of an asynchronous delivery (connectors/delivery.h): the request that
 * was accepted (attempt 0), or an attempt of the delivery thread's. */
struct ex_delivery {
    const char *id;          /* the delivery's id (the accepted request's id) */
    int attempt;             /* 0: the accepting exchange; 1, 2 ...: the attempts */
    const char *outcome;     /* "accepted", "delivered", "retry" or "dead" */
    uint64_t accepted_us;    /* UTC µs */
    uint64_t next_us;        /* "retry": when the next attempt is due (UTC µs) */
    const char *dead_letter; /* "dead": the topic it went to */
};

/* Where a response is, on the connector's side. */
enum gw_resp_state { GW_RESP_NONE, GW_RESP_HEAD, GW_RESP_BODY, GW_RESP_DONE };

struct gw_exchange {
    struct gw_conn *c;               /* the gateway's (opaque below it) */
    const struct ex_api *api;        /* what the gateway lends connectors and observers */
    const struct ex_settings *set;
    const struct ex_client *client;
    struct pt_snapshot *snap;        /* the connection's (it holds a reference) */
    const struct pt_partner *partner;/* the identified partner, or NULL */
    const struct pt_consumer *consumer; /* the consumer its API key identified, or NULL */
    const char *key_id;              /* that key's id (never the key), or NULL */
    const struct pt_plan *plan;      /* the caller's plan (the consumer's, or the partner's) */
    struct gw_arena arena;           /* kept across exchanges of a worker's cache */
    char *head;                      /* the request head, copied into the arena */
    size_t head_len;
    const struct pt_route *route;
    char request_id[129];
    uint64_t max_body;
    /* request body, client to connector */
    uint64_t req_left;               /* GW_BODY_LENGTH: bytes still to read */
    struct gw_chunked req_chunk;
    struct evbuffer *req_sink;       /* where the connector takes the request body (re-framed) */
    unsigned req_done : 1;           /* request body read completely */
    unsigned keep_alive : 1;         /* the client connection may carry another request */
    unsigned resp_started : 1;       /* response bytes have gone to the client */
    unsigned client_chunked : 1;     /* we chunk the response body for the client */
    unsigned close_delimited : 1;    /* the response body ends when we close */
    unsigned up_reused : 1;
    unsigned retried : 1;             /* a stale pooled connection was tried again */
    unsigned char retries;           /* http: targets of a set tried after the first */
    unsigned char ntries;            /* tries[0..ntries): each try at the backend */
    struct ex_try *tries;            /* (in the arena; NULL before the first) */
    unsigned client_paused : 1;      /* client reads paused for backpressure */
    unsigned up_paused : 1;          /* the connector's reads paused for backpressure */
    /* the connector's side */
    void *up;                        /* its state for this exchange (http: the pooled connection) */
    void *up_worker;                 /* its state for this worker (http: the pool) */
    const struct pt_upstream *target;/* http: where this exchange went (the route's URL, or the
                                      * target its set picked), NULL before */
    struct gw_http_parser up_hp;     /* http: the response head's parser */
    enum gw_resp_state resp_state;
    enum gw_http_body resp_body;     /* the response body's framing as the connector reads it */
    uint64_t resp_left;
    struct gw_chunked resp_chunk;
    int status;                      /* status sent to the client */
    /* transforms (gateway/pipeline.c) */
    const struct tf_chain *req_chain;  /* the route's chains, else the partner's defaults */
    const struct tf_chain *resp_chain;
    const char *tf_failed;           /* the step that failed the exchange, or NULL */
    unsigned tf_failed_resp : 1;     /* ... in the response chain */
    void *limits_held[2];            /* the gateway's: limit states it holds a request under way
                                      * in (gateway/limiter.c) */
    const struct pt_limits *caller_limits; /* the caller's limits (its partner's or consumer's),
                                      * set when it was admitted, or NULL */
    void *limits_call;               /* the gateway's: the question to Redis it waits on */
    unsigned limits_admitted : 1;    /* its limits said yes: its body bytes count in them */
    unsigned resp_made_set : 1;      /* a chain (or the gateway) made the response body */
    uint64_t body_bytes[2];          /* body bytes as they came: request [0], response [1] */
    uint64_t resp_made;              /* the size of the response body made */
    struct evbuffer *req_buf;        /* a body buffered for a chain that needs it */
    struct evbuffer *resp_buf;
    /* the request's fields as the partner sent them, kept when the request chain is about to
     * replace ex->req's and a response chain will read them (NULL: ex->req's are still those) */
    const struct gw_http_header *req_sent;
    size_t nreq_sent;
    const char *req_body;            /* the transformed request body, sent after the head */
    size_t req_body_len;
    struct tf_signature *signatures; /* what the chains' signature steps verified or made,
                                      * newest first (transforms/transform.h), or NULL */
    uint32_t req_applied;            /* bit per chain step that ran */
    uint32_t resp_applied;
    unsigned req_buffering : 1;      /* the request body goes to req_buf, not to the connector */
    unsigned req_replay : 1;         /* ... kept as it is for a retry, not for a chain */
    unsigned resp_buffering : 1;
    const struct ex_delivery *delivery; /* an asynchronous delivery's, or NULL */
    void *idem;                      /* the gateway's: the exchange's part in its route's
                                      * idempotent receiver (gateway/idempotency.c), or NULL */
    /* what observers read (the audit's event, metrics, the access log) */
    uint64_t t_received;             /* UTC, µs since the epoch */
    int64_t m_received, m_forwarded, m_up_head; /* monotonic µs; 0: not reached */
    const char *reason;              /* the problem code of an answer made here */
    const char *reason_detail;       /* more about it for the log and the audit, never the client
                                      * (a certificate that fits no partner: which constraint
                                      * failed), or NULL; the connection's */
    const char *local_type;          /* the Content-Type of an answer made here */
    int up_status;
    int up_partition;                /* kafka: the partition the message went to; -1: none */
    int64_t up_offset;               /* ... and its offset there */
    struct gw_log_ctx log;           /* its log lines' context: request id, partner, client */
    const struct ex_observers *obs;  /* the worker's observers */
    void *obs_data[EX_MAX_OBSERVERS];/* each one's state for this exchange */
    struct gw_exchange *next_free;
    /* the two large message heads come last: a new exchange clears everything before them, and
     * the parsers fill them in */
    struct gw_http_message req;      /* points into head */
    struct gw_http_message resp;     /* the response head (points into the connector's input) */
};

/* An observer of exchanges (after h2o's loggers): the gateway publishes what happens to each
 * exchange to the observers registered at start, in order; the audit's event (audit/), and later
 * metrics and the access log, are observers. The gateway knows nothing of what they write. Every
 * member may be NULL. */
/* A TLS handshake refused for a certificate reason. */
struct ex_handshake {
    const struct ex_client *client;
    const struct ex_cert *cert;      /* the refused certificate in words, or NULL */
    const struct ex_settings *set;
    int64_t m_accept;                /* monotonic µs of the accept */
    const char *reason;              /* why, as a code ("certificate-expired", ...) */
    const char *detail;              /* certificate-no-partner, certificate-ambiguous: which
                                      * identity constraint failed, in words; else NULL */
};

struct ex_observer {
    const char *name;
    /* A worker's state (conf: what it was registered with), made on the worker's thread. */
    void *(*worker_new)(void *conf);
    void (*worker_free)(void *state);
    /* Why no exchange may be taken now (a 503 "<name>-unavailable" answers it), or NULL. */
    const char *(*busy)(void *state);
    /* The first byte of a request head arrived: *data is the observer's for this exchange
     * (allocate it from ex->arena). */
    void (*received)(struct gw_exchange *ex, void *state, void **data);
    /* n body bytes as they came in (resp: the response's, else the request's). */
    void (*body_in)(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n);
    /* The whole body a chain (or the gateway) made, as it goes out. */
    void (*body_out)(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n);
    /* The response head is in ex->resp (it may point into buffers that change). */
    void (*response_head)(struct gw_exchange *ex, void *data);
    /* The answer is complete and its last bytes are about to leave (complete = 1), or the
     * exchange ends without one (0: the connection was lost or cut). Called once with 1 at the
     * most, and with 0 at the end of every exchange. */
    void (*finished)(struct gw_exchange *ex, void *state, void *data, int complete);
    void (*handshake)(const struct ex_handshake *h, void *state);
};

/* A worker's observers, with their states. */
struct ex_observers {
    size_t n;
    const struct ex_observer *ops[EX_MAX_OBSERVERS];
    void *state[EX_MAX_OBSERVERS];
};

/* The exchange API: what the gateway does for a connector. A call that answers or aborts ends
 * the connector's part: it must have let go of its own state first (cancel semantics), and must
 * not touch the exchange after the call. */
struct ex_api {
    /* A complete response made by the connector itself (a mock's), then the exchange finishes. */
    void (*respond)(struct gw_exchange *ex, int status, const char *content_type,
                    const char *body, size_t body_len, const char *extra_headers);
    /* An RFC 9457 problem answer ("urn:portico:problem:<code>"), with extra_headers (complete
     * lines, or NULL); once the response has started the client connection is cut instead. */
    void (*problem)(struct gw_exchange *ex, int status, const char *code, const char *detail,
                    const char *extra_headers);
    /* Something broke after the response started: the client connection closes now. */
    void (*abort)(struct gw_exchange *ex);
    /* The request head is on its way: the body (if any) goes into `sink`, re-framed, as it
     * arrives (100-continue answered if asked); the connector hears of it through its ops'
     * request_data. sink NULL: the connector takes no body (what the client sends waits, and
     * the connection closes after the answer); the client is only watched for going away. */
    void (*request_body)(struct gw_exchange *ex, struct evbuffer *sink);
    /* The sink was written out below the low mark: the client is read again. */
    void (*request_drained)(struct gw_exchange *ex);
    /* The response head is parsed into ex->resp and sits in `in` up to head_len (ex->resp may
     * point into it). Returns -1 when answered otherwise (a chain failed: the connector was
     * cancelled first), 0 when the head went to the client (with *inline_body bytes of the body
     * that followed it in `in`; head and those bytes are drained), 1 when a response chain
     * holds it until the whole body is read (the head is drained). */
    int (*response_head)(struct gw_exchange *ex, struct evbuffer *in, size_t head_len,
                         size_t *inline_body);
    /* n bytes of body (unframed) at the front of `in` go to the client (or to the response
     * chain's buffer). */
    void (*response_body)(struct gw_exchange *ex, struct evbuffer *in, size_t n);
    /* After a batch of response_body: 0 to go on, 1 when the client is behind (the connector
     * stops reading until its ops' drained), -1 when the exchange was answered (a buffered body
     * grew past its limit: the connector was cancelled first). */
    int (*response_sent)(struct gw_exchange *ex);
    /* The response body ended (the connector is done with its side). */
    void (*response_end)(struct gw_exchange *ex);
    /* The client's certificate in words, or NULL without one. */
    const struct ex_cert *(*cert)(struct gw_exchange *ex);
};

/* How an exchange ended, as the audit, the metrics and the access log say it: ok (answered by
 * the upstream or the gateway without a problem), refused (the gateway refused it: 4xx, 503) or
 * error (the gateway or the upstream failed: 5xx, no answer, an answer cut short). */
enum ex_outcome { EX_OUTCOME_OK, EX_OUTCOME_REFUSED, EX_OUTCOME_ERROR };

static inline enum ex_outcome
ex_outcome(const struct gw_exchange *ex, int complete)
{
    if (ex->status == 0 || !complete)
        return EX_OUTCOME_ERROR;
    if (ex->reason == NULL)
        return EX_OUTCOME_OK;
    return ex->status < 500 || ex->status == 503 ? EX_OUTCOME_REFUSED : EX_OUTCOME_ERROR;
}

static inline const char *
ex_outcome_name(enum ex_outcome o)
{
    return o == EX_OUTCOME_OK ? "ok" : o == EX_OUTCOME_REFUSED ? "refused" : "error";
}

#endif
