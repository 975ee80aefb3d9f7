/* limiter.h: the node's counters of the traffic limits partners, consumers, plans and routes set
 * (partners/limit_spec.h), and the admission they decide.
 *
 * Each set of limits has one state for the whole node (every worker counts into it with atomic
 * operations: one compare-and-swap for the rate, one add for a quota or the requests under way),
 * found by its key ("partner:acme", "route:acme:orders") when a snapshot is built and kept across
 * reloads, so that a reload neither resets a day's quota nor forgets the requests under way.
 *
 * The rate is GCRA (the generic cell rate algorithm, a token bucket counted by time): requests
 * come at most requests_per_s a second on average, burst more at once. A refused request is not
 * counted in any quota (Tyk counted them: tyk#1876). Quotas of requests and of body bytes are
 * per UTC calendar day and month. Without cluster.redis the counters live in memory (a restart
 * starts them again); with it, the rate and quotas are counted in Redis (limiter_redis.c), and
 * requests under way by each node for its share.
 */
#ifndef GW_LIMITER_H
#define GW_LIMITER_H

#include "exchange.h"
#include "snapshot.h"

/* The counters kept under key ("consumer:jane"), made on first use, kept until exit. */
struct gw_limit_state *gw_limits_state(const char *key);
const char *gw_limits_key(const struct gw_limit_state *s);

/* Find (or make) the states of every limit set in s. */
void gw_limits_attach(struct pt_snapshot *s);

/* The exchange's route limits and its caller's (ex->caller_limits): 0 when it may go on (what it
 * holds is released by gw_limits_release), -1 after answering 429 with Retry-After,
 * RateLimit-Policy and RateLimit and a problem saying which limit refused it, or 1 when Redis
 * is asked (cluster.redis): the exchange then waits (limiter_redis.c goes on with it). */
int gw_limits_admit(struct gw_exchange *ex);

/* The exchange is over (its answer complete and about to leave, or lost): its body bytes count
 * in its bytes quotas, before the caller can send another request. Once; gw_obs_finished. */
void gw_limits_charge(struct gw_exchange *ex);

/* The exchange ends: its requests under way are no more, an answer Redis owes it is dropped. */
void gw_limits_release(struct gw_exchange *ex);

/* Free every state (at exit, after the workers). */
void gw_limits_free_all(void);

/* ---- for limiter_redis.c ---- */

enum gw_limit_kind {
    GW_LIMIT_CONCURRENT, GW_LIMIT_RATE, GW_LIMIT_DAY, GW_LIMIT_MONTH, GW_LIMIT_BYTES_DAY,
    GW_LIMIT_BYTES_MONTH,
};
enum { GW_TAKE_CONCURRENT = 1, GW_TAKE_SHARED = 2, GW_TAKE_ALL = 3 }; /* shared: rate, quotas */

/* Why a limit refused: its policy's name, its quota and window (s), when to come back (s). */
struct gw_refusal {
    const char *code, *policy;
    uint64_t quota;
    int64_t window, retry;
    char what[96];
};

/* Does the set hold limits counted across nodes (a rate, quotas)? */
static inline int
gw_limits_shared(const struct pt_limits *l)
{
    return l->state != NULL && (l->rate > 0 || l->per_day > 0 || l->per_month > 0 ||
                                l->bytes_per_day > 0 || l->bytes_per_month > 0);
}

/* Count the parts `what` of both sets on this node, each request as `share`: 0, or -1 after
 * answering 429. */
int gw_limits_take(struct gw_exchange *ex, unsigned what, int share);
/* The local share: a limit over this many nodes (cluster.redis.fallback_nodes, or the live nodes
 * last seen). */
int gw_limits_share(void);
/* Why kind of l refused (wait_us: the rate's), and the 429 that says it (caller: the caller's
 * set, else the route's); what the exchange holds is released. */
void gw_limits_refusal(const struct pt_limits *l, enum gw_limit_kind kind, int64_t wait_us,
                       struct gw_refusal *r);
void gw_limits_refuse(struct gw_exchange *ex, int caller, const struct gw_refusal *r);
/* The UTC day and month numbers now, and the seconds to the next of each. */
void gw_limits_periods(int64_t *day, int64_t *month, int64_t *to_day, int64_t *to_month);
/* Redis's counts of a set's quotas (requests a day, a month, bytes a day, a month), kept for the
 * local share to go on from. */
void gw_limits_seen(struct gw_limit_state *s, const uint64_t counts[4]);
/* The exchange's shared limits said yes: its body bytes will count in the bytes quotas. */
void gw_limits_admitted(struct gw_exchange *ex);
/* The body bytes an exchange counts in bytes quotas: the request's as received, the response's
 * as sent. */
uint64_t gw_limits_bytes(const struct gw_exchange *ex);

/* Requests a node took from Redis ahead (a lease: counted there in the set's rate and quotas)
 * and admits on its own until they are spent (limiter_redis.c). One lease question at a time per
 * set and node. A lease is dropped when its UTC day is over and when the set's figures change. */
struct gw_lease {
    _Atomic uint64_t left;   /* the day it was taken (low 24 bits) << 40 | requests left */
    _Atomic(const struct gw_limits_args *) under; /* the figures it was taken under */
    _Atomic int asking;      /* a question for a lease is under way */
};
struct gw_lease *gw_limits_lease(struct gw_limit_state *s);

/* A set's part of a Redis question, as RESP bulk strings: its key, and its six figures (the
 * rate's interval and tolerance in µs, the quotas of requests and bytes a day and a month).
 * Written at its state's first question (again when the figures change), kept until exit. */
struct gw_limits_args {
    uint64_t figs[6];
    size_t key_len, figs_len;
    char key[420];
    char figs_resp[6 * 28];
    struct gw_limits_args *retired;
};
const struct gw_limits_args *gw_limits_args(const struct pt_limits *l, const char *prefix);

/* limiter_redis.c: ask Redis for the shared parts (1: the exchange waits; or 0 / -1 decided on
 * the node's share when Redis is away); drop the answer an ending exchange waits for; a worker's
 * connection freed. */
int gw_limits_redis(struct gw_exchange *ex);
void gw_limits_redis_cancel(struct gw_exchange *ex);
/* Count an exchange's body bytes in Redis (the sets with bytes quotas): 0, or -1 when Redis is
 * away (the node counts them, on its share). */
int gw_limits_redis_charge(const struct gw_exchange *ex, const struct pt_limits *const sets[2],
                           uint64_t bytes);
void gw_limits_redis_free(struct gw_worker *w);
/* For the metrics: requests decided on the local share, and whether a worker finds Redis away. */
void gw_limits_redis_stats(uint64_t *decided_locally, int *away);

#endif
