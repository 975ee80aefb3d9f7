/* limit_spec.h: a set of limits on traffic, as a partner's "limits" or a route's "limits" say it
 * (partners/README.md, "Limits"): a rate with a burst, requests under way at once, and requests
 * and body bytes per UTC calendar day and month. The gateway keeps the counters (gateway/limiter.h), found once
 * per snapshot and kept across reloads. */
#ifndef PT_LIMIT_SPEC_H
#define PT_LIMIT_SPEC_H

#include <stdint.h>

#include <jansson.h>

#include "json_loc.h"

struct gw_limit_state;

struct pt_limits {
    unsigned rate;            /* "requests_per_s": requests a second, on average; 0: none */
    unsigned burst;           /* "burst": requests over the rate that may come at once */
    unsigned concurrent;      /* "concurrent": requests under way at once; 0: none */
    uint64_t per_day;         /* "requests_per_day": a UTC calendar day's; 0: none */
    uint64_t per_month;       /* "requests_per_month": a UTC calendar month's; 0: none */
    uint64_t bytes_per_day;   /* "bytes_per_day": body bytes in and out a UTC day; 0: none */
    uint64_t bytes_per_month; /* "bytes_per_month": ... a UTC month; 0: none */
    struct gw_limit_state *state; /* the counters (the gateway's; NULL: not found yet) */
};

/* Does the set limit anything? */
static inline int
pt_limits_any(const struct pt_limits *l)
{
    return l->rate > 0 || l->concurrent > 0 || l->per_day > 0 || l->per_month > 0 ||
           l->bytes_per_day > 0 || l->bytes_per_month > 0;
}

/* The keys below, NULL-terminated (for a caller's unknown-key check). */
extern const char *const pt_limits_keys[];

/* The traffic keys of a "limits" object at path into l, over what l holds ("requests_per_s", "burst", "concurrent",
 * "requests_per_day", "requests_per_month", "bytes_per_day", "bytes_per_month"; the caller checks for unknown keys, as the object
 * may hold others). Returns the number of errors reported. */
int pt_limits_read(const struct gw_jctx *c, const json_t *obj, const char *path,
                   struct pt_limits *l);

/* obj's (at path) "limits" member, when given, over l: its unknown keys and bad figures
 * reported (for a set that holds nothing else: a route's, a plan's, a consumer's). Returns the
 * number of errors reported. */
int pt_limits_member(const struct gw_jctx *c, const json_t *obj, const char *path,
                     struct pt_limits *l);

#endif
