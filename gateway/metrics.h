/* metrics.h: Prometheus metrics (text exposition format, version 0.0.4).
 *
 * Exchanges are counted by an observer (connectors/exchange_t.h, struct ex_observer) with a table
 * per worker: each worker writes only its own, with plain stores, and the scrape (the admin
 * thread) reads them all and sums them, so that nothing on the request path takes a lock or an
 * atomic read-modify-write. A table has a fixed number of series (partner, route, status class,
 * outcome) and of routes (the latency histograms): its label sets are the configuration's, never
 * a request's path or id; a worker that fills its table counts the rest under route "_other".
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "exchange_t.h"

struct gw_metrics;
struct pt_snapshot;

extern const struct ex_observer gw_metrics_observer;

struct gw_metrics *gw_metrics_new(int workers);
void gw_metrics_free(struct gw_metrics *m);
/* What worker i registers gw_metrics_observer with. */
void *gw_metrics_worker(struct gw_metrics *m, int i);

/* What the process says of itself at a scrape (the admin thread gathers it). */
struct gw_metrics_process {
    const char *version;          /* Portico's */
    const char *config_version;
    const struct pt_snapshot *snap; /* served now: its certificates and upstream targets */
    double config_loaded;         /* UTC seconds */
    double started;               /* UTC seconds */
    uint64_t reloads_ok, reloads_refused;
    uint64_t connections;
    uint64_t tls_full, tls_resumed;   /* TLS handshakes completed */
    int ready;
    int audit;                    /* the audit is on: the next four say how it goes */
    uint64_t audit_written, audit_shipped, audit_dropped, audit_log_bytes;
    double audit_oldest;          /* seconds the oldest event not yet in Kafka has waited */
    int cluster;                  /* cluster.redis is on: the next three say how it goes */
    int redis_away;               /* a worker finds Redis away now */
    int cluster_nodes;            /* the live nodes last counted */
    uint64_t limits_local;        /* requests whose shared limits the node decided alone */
};

/* One partner's exchanges, summed, as a JSON object into b (GET /partners/{id}). */
void gw_metrics_partner(const struct gw_metrics *m, const char *id, struct gw_buf *b);

/* The exposition of everything into b. */
void gw_metrics_write(const struct gw_metrics *m, const struct gw_metrics_process *p,
                      struct gw_buf *b);

#endif
