/* delivery.h: store-and-forward to HTTP, for routes with "delivery": "async".
 *
 * A worker puts the request (after its request chain, read whole) into the node's delivery log, a
 * write-ahead log of its own (base/wal.h), and answers 202 with the delivery's id (the request's
 * id). The delivery thread reads the log in order and sends each request to the route's upstream
 * (a URL or a set, through the http connector on its own event loop), with an `Idempotency-Key`
 * carrying the id: again after a failure, with exponential backoff and jitter, in order per partner
 * unless the route says otherwise; after its attempts or its age it goes to the dead-letter topic
 * through the Kafka outbox (kafka_outbox.h), with the last error. Each outcome is written to the
 * log too, so that a restart does not deliver again what was delivered; the trim point follows the
 * deliveries that ended, in log order. `GET` on a `deliveries:` route tells a partner where one
 * of its deliveries stands.
 */
#ifndef CN_DELIVERY_H
#define CN_DELIVERY_H

#include <stdint.h>

#include <jansson.h>

#include "exchange_t.h"
#include "json_loc.h"
#include "kafka_outbox.h"

/* "connectors.delivery" in portico.json. */
struct cn_delivery_conf {
    struct cn_outbox_conf log; /* the log: dir (default "deliveries"), ring_dir, ring_bytes, ... */
    int max_in_flight;         /* attempts under way at once, at most (default 64) */
    int statuses;              /* how many ended deliveries GET still tells (default 100000) */
};

/* Read obj (at path; NULL: the defaults). Returns the number of errors reported. */
int cn_delivery_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                          struct cn_delivery_conf *out);
void cn_delivery_conf_free(struct cn_delivery_conf *d);
int cn_delivery_conf_same(const struct cn_delivery_conf *a, const struct cn_delivery_conf *b);

/* Start the node's deliveries (once; later calls hand the snapshot over) when a route of snap
 * delivers asynchronously or an earlier run left deliveries in the log. settings: what an
 * exchange of snap reads (its ex_settings); obs: the observers of the attempts (the audit; made
 * for the delivery thread, kept until cn_delivery_close). Before the workers see snap, at start
 * and on each reload. 0, or -1 with a message in err. */
int cn_delivery_open(const struct cn_delivery_conf *conf, struct pt_snapshot *snap,
                     const struct ex_settings *settings, const struct ex_observers *obs,
                     char *err, size_t errlen);
/* Stop after what is under way ended or flush_ms went by; what waits stays in the log. */
void cn_delivery_close(int flush_ms);

/* A delivery's standing, for GET (the status table). */
enum cn_delivery_state { CN_DV_UNKNOWN, CN_DV_PENDING, CN_DV_DELIVERED, CN_DV_DEAD };

#endif
