/* limiter.h: the node's counters of the traffic limits partners and routes set
 * (partners/limit_spec.h), and the admission they decide.
 *
 * Each set of limits has one state for the whole node (every worker counts into it with atomic
 * operations: one compare-and-swap for the rate, one add for a quota or the requests under way),
 * found by its key ("partner:acme", "route:acme:orders") when a snapshot is built and kept across
 * reloads, so that a reload neither resets a day's quota nor forgets the requests under way.
 *
 * The rate is GCRA (the generic cell rate algorithm, a token bucket counted by time): requests
 * come at most requests_per_s a second on average, burst more at once. A refused request is not
 * counted in any quota (Tyk counted them: tyk#1876). Quotas are per UTC calendar day and month;
 * the counters live in memory (a restart starts them again; across nodes and restarts: Redis,
 * to come).
 */
#ifndef GW_LIMITER_H
#define GW_LIMITER_H

#include "exchange.h"
#include "snapshot.h"

/* The counters kept under key ("consumer:jane"), made on first use, kept until exit. */
struct gw_limit_state *gw_limits_state(const char *key);

/* Find (or make) the states of every limit set in s. */
void gw_limits_attach(struct pt_snapshot *s);

/* The exchange's route limits and its caller's (ex->caller_limits): 0 when it may go on (what it holds is released by
 * gw_limits_release), or -1 after answering 429 with Retry-After, RateLimit-Policy and RateLimit
 * and a problem saying which limit refused it. */
int gw_limits_admit(struct gw_exchange *ex);

/* The exchange ends: its requests under way are no more. */
void gw_limits_release(struct gw_exchange *ex);

/* Free every state (at exit, after the workers). */
void gw_limits_free_all(void);

#endif
