/* upstream_set.h: upstream sets, the named groups of http(s) targets a route's exchanges are
 * spread over.
 *
 * A set is declared under "upstreams" by name, in portico.json (for every route) or in a bundle's
 * partner.json (for its own routes, found first), and a route's "upstream" names it:
 *
 *   "upstreams": { "orders": { "targets": [ { "url": "http://10.0.0.1:8080", "weight": 2 },
 *                                           "http://10.0.0.2:8080" ],
 *                              "balance": "round_robin" } }
 *
 * A target is an upstream URL (pt_upstream_parse: http or https, resolved at load) with a weight
 * (1 to 1000, default 1). Round robin is smooth and weighted, as nginx's: over one turn of the sum
 * of the weights each target gets its weight's share, spread out rather than in runs. The turn is
 * worked out at load; the workers share one counter into it. Least outstanding sends each exchange
 * to the target with the fewest exchanges under way for its weight (counted across the workers;
 * ties go round the targets), so a slow target gets fewer. Hash keeps the exchanges of one key (the
 * partner's id, or a request field's value) on one target: each target has points on a ring (about
 * 160 per target, as many more as its weight says), a key goes to the first point after its own
 * hash, and a target taken off the ring moves only the keys it had (a set without it has the same
 * points for the others). An exchange without the key goes round robin.
 *
 * Outlier ejection (a circuit breaker per target, on by default in a set of two or more): after
 * `consecutive_failures` failures in a row (cannot connect, closed or timed out before answering,
 * or a 5xx) a target gets no exchanges for `base_ejection_ms` times the number of its ejections in
 * a row (at most ten); then one exchange tries it (half-open): a success brings it back, a failure
 * ejects it again, for longer. At most `max_ejection_percent` of the targets (at least one) are out
 * at once. A target with max_connections takes no more exchanges while it has that many under
 * way (each holds one connection; idle pooled ones do not count). With "health", a target whose
 * checks fail unhealthy_threshold times in a row gets nothing until they pass healthy_threshold
 * times (the http connector runs them, connectors/http_health.c). When no target can take the
 * exchange (out, unhealthy, or at its maximum), pick returns NULL.
 */
#ifndef PT_UPSTREAM_SET_H
#define PT_UPSTREAM_SET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "json_loc.h"
#include "partner.h"

#define PT_SET_MAX_TARGETS 64
#define PT_SET_MAX_WEIGHT 1000
#define PT_SET_MAX_REPLAY (1024 * 1024) /* retries' replay_bytes at most */

enum pt_balance { PT_BALANCE_ROUND_ROBIN, PT_BALANCE_LEAST_OUTSTANDING, PT_BALANCE_HASH };

/* A point of the hash ring: a target's, where its hash falls. */
struct pt_ring_point {
    uint64_t hash;
    uint16_t target;
};

struct pt_target {
    struct pt_upstream up;   /* first: a target is found from its upstream */
    unsigned weight;
    int max_conns;           /* exchanges under way at most (each holds a connection); 0: any */
    _Atomic int outstanding; /* exchanges under way (counted when the set counts) */
    _Atomic int fails;       /* failures in a row */
    _Atomic int ejections;   /* ejections in a row (a success after one ends the row) */
    _Atomic int64_t out_until; /* monotonic ms: ejected until then */
    _Atomic int healthy;     /* the active health checks' verdict (1 without them) */
    _Atomic uint64_t ejected_total; /* ejections since the set was loaded (metrics) */
    int named;               /* its host is a name, not an address: looked up every resolve_ms */
};

/* Retries on another target (the http connector decides when an exchange may be retried). */
struct pt_retry {             /* "retries" (its fields are named as its keys) */
    unsigned attempts;       /* tries in all, the first included (1: no retry) */
    unsigned budget_percent; /* retries at most this share of the exchanges of the last 10 s */
    uint64_t replay_bytes;   /* a request body up to this size is kept whole so that it can be
                              * sent again (0: none) */
    /* the budget's counts: of the current 10 s window, and of the one before (the share is of
     * both, so that it does not start over at each turn) */
    _Atomic int64_t window;  /* monotonic s / 10 */
    _Atomic int requests, retries, prev_requests, prev_retries;
    _Atomic uint64_t retried_total; /* retries since the set was loaded (metrics) */
};

/* Active health checks ("health"): one worker sends each target a request every interval. */
struct pt_health {
    int on;                  /* "health" was given */
    int method;              /* enum gw_http_method: GET, HEAD or OPTIONS */
    char *path;              /* the request target, from "/" */
    uint64_t statuses[10];   /* the healthy statuses, a bit each from 0 to 639 (default: 2xx, 3xx) */
    char *body_contains;     /* the answer's body must hold this (NULL: any body) */
    int64_t interval_ms, timeout_ms;
    unsigned healthy_threshold, unhealthy_threshold; /* checks in a row that change the state */
};

struct pt_outlier {           /* "outlier" (its fields are named as its keys) */
    unsigned consecutive_failures; /* 0: no ejection */
    int64_t base_ejection_ms;
    unsigned max_ejection_percent;
};

struct pt_upset {
    char *name;
    struct pt_target *targets;
    size_t ntargets;
    enum pt_balance balance;
    uint16_t *turn;            /* one turn of the round robin: target indexes, sum of weights long */
    size_t nturn;
    _Atomic uint64_t next;     /* the workers' shared place in the turn */
    struct pt_ring_point *ring;/* hash: the targets' points, by hash */
    size_t nring;
    char *hash_field;          /* hash: the request field whose value is the key (looked up
                                * without regard to case), or NULL: the partner's id */
    struct pt_outlier outlier;
    struct pt_retry retry;
    struct pt_health health;
    int64_t resolve_ms;        /* how often the targets' names are looked up again */
    int counting;              /* outstanding is kept (least outstanding, or a max_connections) */
};

/* Read the "upstreams" object of root (absent: none) into *sets (*n of them, malloc'd). Every
 * problem is reported at its JSON path; the sets without problems are kept, so that routes naming
 * a bad one are not reported again. Returns 0, or -1 when something was reported. */
int pt_upsets_load(const struct gw_jctx *c, const json_t *root, struct pt_upset ***sets,
                   size_t *n);
void pt_upsets_free(struct pt_upset **sets, size_t n);

/* The set called name among sets[0..n), or NULL. */
struct pt_upset *pt_upset_find(struct pt_upset *const *sets, size_t n, const char *name);

/* The target the next exchange goes to (key: what a hash set hashes, NULL when the exchange has
 * none); pt_upset_done() when its exchange is over with it. */
const struct pt_upstream *pt_upset_pick(struct pt_upset *s, const char *key, size_t keylen);
void pt_upset_done(struct pt_upset *s, const struct pt_upstream *target);

/* How the exchange fared with its target: ok (an answer that is not 5xx) or not (see above). */
void pt_upset_result(struct pt_upset *s, const struct pt_upstream *target, int ok);

/* An exchange starts on the set (it counts in the retry budget's window). */
void pt_upset_started(struct pt_upset *s);
/* May an exchange that failed on its try `tries` (0: the first) be tried again, within attempts
 * (the route's, or the set's) and the budget? Counts the retry when it may. */
int pt_upset_may_retry(struct pt_upset *s, unsigned attempts, unsigned tries);

/* The active health checks' verdict on target i: healthy or not. A healthy verdict also ends an
 * ejection (the target answered its check, as Envoy does by default). */
void pt_upset_set_health(struct pt_upset *s, size_t i, int healthy);
/* Does the answer (status, body) pass the set's health check? */
int pt_upset_health_ok(const struct pt_upset *s, int status, const char *body, size_t len);

/* When pick found every target out: milliseconds until the first comes back (at least 1). */
int64_t pt_upset_back_in_ms(const struct pt_upset *s);

#endif
