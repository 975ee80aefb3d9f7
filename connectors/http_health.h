/* http_health.h: the active health checks of upstream sets.
 *
 * Each set with "health" is checked by one worker, not by every one: the sets of a snapshot are
 * dealt out to the workers in turn (the k-th set to worker k mod n). Every interval_ms that worker
 * sends each target of the set the check's request on a new connection ("Connection: close") and
 * reads the answer: a status among the set's statuses (and, with body_contains, that text in the
 * first 64 KiB of the body) within timeout_ms is a pass, anything else a failure.
 * unhealthy_threshold failures in a row take the target out of the set's choice, healthy_threshold
 * passes in a row bring it back (and end an outlier ejection); the workers read the verdict through
 * the set (pt_upset_set_health). A target starts as healthy, or as it was in the snapshot before
 * when the set and the target are the same (a reload forgets nothing it knew).
 *
 * The same worker looks up the names of the set's targets again every resolve_ms (evdns, on its
 * loop, base/resolve.h): a new address is written into the target (pt_upstream_set_addr), new
 * connections go there and pooled ones to the old address are dropped; a failed lookup keeps the
 * address there was (and says so in the log).
 */
#ifndef CN_HTTP_HEALTH_H
#define CN_HTTP_HEALTH_H

#include "http_pool.h"
#include "snapshot.h"

/* The checks a worker runs for a snapshot. */
struct cn_checks;
/* A worker's resolver (evdns), kept from one snapshot to the next. */
struct cn_dns;

/* Start the checks of the sets of snap that fall to worker `worker` of n, on the pool's loop
 * (connections are the pool's kind, not pooled); prev (or NULL) is the snapshot before, whose
 * verdicts carry over. Sets with named targets look them up again every resolve_ms through *dns
 * (made when first needed, told of new nameservers). NULL when none falls to the worker (or
 * memory ran out: logged). */
struct cn_checks *cn_checks_start(struct cn_pool *pool, struct cn_dns **dns,
                                  struct pt_snapshot *snap, const struct pt_snapshot *prev,
                                  int worker, int n);

/* The worker's resolver goes, when its loop has stopped (NULL: nothing). */
void cn_dns_free(struct cn_dns *d);

/* Stop them, closing what is under way (NULL: nothing). */
void cn_checks_stop(struct cn_checks *c);

#endif
