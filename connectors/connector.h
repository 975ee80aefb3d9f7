/* connector.h: the ways an exchange reaches its backend, behind one vtable.
 *
 * After nginx's upstream callbacks and h2o's handlers. A connector compiles a route's upstream
 * when the snapshot is loaded (the route then holds its ops and what was compiled), keeps state
 * per worker (the http connector's pool), and drives an exchange's backend side: it starts when
 * the request is admitted and transformed, is told when request body bytes arrive and when the
 * client has taken its output, and is cancelled when the exchange ends early. Everything it does
 * to the exchange goes through ex->api (exchange_t.h).
 *
 * Return convention: compile returns 0, or -1 after reporting the problem through c (a route with
 * an error is never served); the exchange callbacks return nothing, and a connector that answers
 * (through ex->api) has let go of its own side first.
 */
#ifndef CN_CONNECTOR_H
#define CN_CONNECTOR_H

#include <jansson.h>

#include "exchange_t.h"
#include "json_loc.h"
#include "kafka_outbox.h"
#include "partner.h"

struct event_base;

struct cn_ops {
    const char *name;
    unsigned slot; /* its place in cn_all[], and in a worker's states */
    /* Check and compile a route's upstream (r->upstream is parsed; `route` is the route's JSON
     * object at `path`, for the connector's own keys). Sets r->cn_conf and r->cn_conf_free when
     * there is something to keep. NULL: nothing to check. */
    int (*compile)(const struct gw_jctx *c, const json_t *route, const char *path,
                   struct pt_route *r);
    /* Per worker state (NULL: none), made on the worker's loop and freed when it stops. */
    void *(*worker_new)(struct event_base *base, size_t max_idle, int idle_ms);
    void (*worker_free)(void *state);
    /* The worker's snapshot is snap now (at start, and after each reload; prev: the one before,
     * still held, or NULL), on the worker's loop: what the connector runs for a snapshot moves
     * to it (the http connector's health checks). worker: this worker's index, of n. NULL: none. */
    void (*snapshot)(void *state, struct pt_snapshot *snap, const struct pt_snapshot *prev,
                     int worker, int n);
    /* Take the admitted exchange to the backend (ex->up_worker is this worker's state). */
    void (*start)(struct gw_exchange *ex);
    /* Request body bytes were added to the sink given to ex->api->request_body. NULL: none. */
    void (*request_data)(struct gw_exchange *ex);
    /* The client took its output after ex->api->response_sent said it was behind. */
    void (*drained)(struct gw_exchange *ex);
    /* Drop the backend side now, saying nothing (the exchange ends or answers otherwise). */
    void (*cancel)(struct gw_exchange *ex);
};

extern const struct cn_ops cn_http, cn_mock, cn_kafka, cn_delivery, cn_deliveries;

/* The kafka connector's settings: portico.json's "connectors.kafka" (kafka.c), or, without it,
 * the audit section's brokers and properties. A reload cannot change them (the workers' producers
 * keep theirs). */
struct cn_kafka_conf {
    int on;                  /* there are brokers to produce to */
    char *brokers;           /* a bootstrap list, or "embedded" (the audit's development broker) */
    int timeout_ms;          /* how long a message may take to be acknowledged (default 5000) */
    json_t *props;           /* librdkafka properties passed through (strings), or NULL */
    struct cn_outbox_conf outbox; /* the store-and-forward log (ack "local") */
};

/* Read "connectors.kafka" (obj at path; NULL: absent, *out left as it is, returns 0). Returns 1,
 * or -1 after reporting. */
int cn_kafka_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                       struct cn_kafka_conf *out);
void cn_kafka_conf_free(struct cn_kafka_conf *k);
int cn_kafka_conf_same(const struct cn_kafka_conf *a, const struct cn_kafka_conf *b);
/* The embedded broker's bootstrap address, for brokers "embedded" (before the workers start). */
void cn_kafka_use_embedded(const char *bootstrap);
/* Start the node's outbox (ack "local") when a route of snap needs it or an earlier run left one
 * in its folder (to ship what waits there); once started it stays until cn_kafka_outbox_close.
 * Before the workers see snap (at start and on each reload). 0, or -1 with a message in err. */
int cn_kafka_outbox_open(const struct pt_snapshot *snap, const struct cn_kafka_conf *conf,
                         char *err, size_t errlen);
/* Ship what waits for up to flush_ms, then stop (after the workers). */
void cn_kafka_outbox_close(int flush_ms);
/* The node's outbox, or NULL when it is not open (dead letters go through it). */
struct cn_outbox *cn_kafka_outbox(void);

/* How many connectors there are (the slots of cn_all[]). */
#define CN_MAX 5

/* Every connector, for the gateway's per-worker state (NULL-terminated). */
extern const struct cn_ops *const cn_all[];

/* The route's connector, by its upstream's scheme, compiled: the struct pt_load_conf hook that
 * partners/ calls for each route. Returns 0, or -1 after reporting. */
int cn_route_compile(const struct gw_jctx *c, const json_t *route, const char *path,
                     struct pt_route *r);

#endif
