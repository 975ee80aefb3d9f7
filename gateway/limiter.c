/* limiter.c: traffic limits counted for the whole node (see limiter.h). */
#include "limiter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "consumer.h"
#include "clock.h"
#include "cluster.h"
#include "limit_spec.h"
#include "log.h"

/* A count in a calendar period (its number: days or months since 1970). */
struct gw_count {
    _Atomic int64_t period;
    _Atomic uint64_t n;
};

/* On a cache line of its own: every worker writes it, nothing else should pay for that. */
struct __attribute__((aligned(64))) gw_limit_state {
    char *key;
    _Atomic int64_t tat_us;        /* GCRA: when the next request is due (monotonic µs) */
    _Atomic int inflight;          /* requests under way */
    struct gw_count day, month;    /* requests in the UTC day and month counted */
    struct gw_count bday, bmonth;  /* body bytes in them */
    struct gw_lease lease;         /* requests taken from Redis ahead (cluster.redis) */
    _Atomic(struct gw_limits_args *) args; /* its part of a Redis question, written once */
    struct gw_limits_args *retired;        /* earlier ones (the figures changed), freed at exit */
    struct gw_limit_state *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_limit_state *reg;

struct gw_limit_state *
gw_limits_state(const char *key)
{
    struct gw_limit_state *s;

    pthread_mutex_lock(&reg_lock);
    for (s = reg; s != NULL && strcmp(s->key, key) != 0; s = s->next)
        ;
    if (s == NULL) {
        if ((s = aligned_alloc(64, sizeof *s)) == NULL)
            abort(); /* (as gw_xcalloc does) */
        memset(s, 0, sizeof *s);
        s->key = gw_xstrdup(key);
        s->next = reg;
        reg = s;
    }
    pthread_mutex_unlock(&reg_lock);
    return s;
}

struct gw_lease *
gw_limits_lease(struct gw_limit_state *s)
{
    return &s->lease;
}

void
gw_limits_attach(struct pt_snapshot *s)
{
    char key[512];

    for (size_t i = 0; i < s->npartners; i++) {
        struct pt_partner *p = s->partners[i];
        if (!pt_limits_any(&p->limits))
            continue;
        snprintf(key, sizeof key, "partner:%s", p->id);
        p->limits.state = gw_limits_state(key);
    }
    for (size_t i = 0; i < s->consumers.n; i++) {
        struct pt_consumer *co = s->consumers.all[i];
        if (!pt_limits_any(&co->limits))
            continue;
        snprintf(key, sizeof key, "consumer:%s", co->id);
        co->limits.state = gw_limits_state(key);
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        struct pt_route *r = s->routes[i];
        if (!pt_limits_any(&r->limits))
            continue;
        snprintf(key, sizeof key, "route:%s:%s", r->owner != NULL ? r->owner->id : "",
                 r->name != NULL ? r->name : r->jpath);
        r->limits.state = gw_limits_state(key);
    }
}

/* RESP bulk strings: "$<len>\r\n<s>\r\n" into p. Returns the length written. */
static size_t
bulk(char *p, const char *str)
{
    size_t n = strlen(str);
    int k = sprintf(p, "$%zu\r\n", n);

    memcpy(p + k, str, n);
    memcpy(p + k + n, "\r\n", 2);
    return (size_t)k + n + 2;
}

const struct gw_limits_args *
gw_limits_args(const struct pt_limits *l, const char *prefix)
{
    struct gw_limit_state *s = l->state;
    struct gw_limits_args *a = atomic_load_explicit(&s->args, memory_order_acquire), *was;
    const uint64_t figs[6] = {l->rate > 0 ? 1000000ULL / l->rate : 0,
                              l->rate > 0 ? 1000000ULL * l->burst / l->rate : 0,
                              l->per_day, l->per_month, l->bytes_per_day, l->bytes_per_month};
    char key[400], num[24];

    if (a != NULL && memcmp(a->figs, figs, sizeof figs) == 0)
        return a;
    /* the first question with these figures: its parts written once */
    a = gw_xcalloc(1, sizeof *a);
    memcpy(a->figs, figs, sizeof figs);
    snprintf(key, sizeof key, "%s:l:%s", prefix, s->key);
    a->key_len = bulk(a->key, key);
    for (int i = 0; i < 6; i++) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)figs[i]);
        a->figs_len += bulk(a->figs_resp + a->figs_len, num);
    }
    was = atomic_exchange_explicit(&s->args, a, memory_order_acq_rel);
    if (was != NULL) { /* a worker may still read it: kept until exit */
        pthread_mutex_lock(&reg_lock);
        was->retired = s->retired;
        s->retired = was;
        pthread_mutex_unlock(&reg_lock);
    }
    return a;
}

void
gw_limits_free_all(void)
{
    pthread_mutex_lock(&reg_lock);
    while (reg != NULL) {
        struct gw_limit_state *s = reg;
        reg = s->next;
        free(atomic_load(&s->args));
        while (s->retired != NULL) {
            struct gw_limits_args *a = s->retired;
            s->retired = a->retired;
            free(a);
        }
        free(s->key);
        free(s);
    }
    pthread_mutex_unlock(&reg_lock);
}

/* ---- admission ---- */

/* Count one request in a calendar period's quota (the period's number now: `now`) as `cost`
 * (the local share: a node on its own counts each request as its share of the nodes). 0, or -1
 * when the quota is spent (nothing counted). */
static void
period_turn(struct gw_count *c, int64_t now)
{
    int64_t was = atomic_load_explicit(&c->period, memory_order_relaxed);

    /* a new period: the first to see it starts the count again (a request of the old period
     * counted at the turn is the error, one or two at most) */
    if (was != now && atomic_compare_exchange_strong(&c->period, &was, now))
        atomic_store_explicit(&c->n, 0, memory_order_relaxed);
}

static int
quota_take(struct gw_count *c, int64_t now, uint64_t max, uint64_t cost)
{
    period_turn(c, now);
    if (atomic_fetch_add_explicit(&c->n, cost, memory_order_relaxed) + cost > max) {
        atomic_fetch_sub_explicit(&c->n, cost, memory_order_relaxed);
        return -1;
    }
    return 0;
}

/* Bytes are counted once the exchange is over: a period's are spent when they reach max. */
static int
bytes_left(struct gw_count *c, int64_t now, uint64_t max)
{
    period_turn(c, now);
    return atomic_load_explicit(&c->n, memory_order_relaxed) < max;
}

/* GCRA: 0 when the request may come now (counted), else -1 with *wait_us. A share of n nodes
 * spaces requests n times wider, with the same tolerance in time (so 1/n of the burst). */
static int
rate_take(struct gw_limit_state *s, const struct pt_limits *l, int share, int64_t now,
          int64_t *wait_us)
{
    int64_t t = 1000000LL * share / l->rate, tau = 1000000LL * l->burst / l->rate;
    int64_t tat = atomic_load_explicit(&s->tat_us, memory_order_relaxed), next;

    do {
        int64_t from = tat > now ? tat : now;
        if (from - now > tau) {
            *wait_us = from - now - tau;
            return -1;
        }
        next = from + t;
    } while (!atomic_compare_exchange_weak_explicit(&s->tat_us, &tat, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 0;
}

/* The UTC day and month numbers of now, and the seconds to the next of each. The month's bounds
 * are worked out (gmtime_r, timegm: the costly part) once a month per thread. */
void
gw_limits_periods(int64_t *day, int64_t *month, int64_t *to_day, int64_t *to_month)
{
    static _Thread_local int64_t from = 1, to = 0, number;
    struct timespec ts;
    int64_t now;

    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    now = (int64_t)ts.tv_sec;
    if (now < from || now >= to) {
        time_t t = (time_t)now;
        struct tm tm;
        gmtime_r(&t, &tm);
        number = (int64_t)(tm.tm_year + 1900 - 1970) * 12 + tm.tm_mon;
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        from = (int64_t)timegm(&tm);
        tm.tm_mon++;
        to = (int64_t)timegm(&tm);
    }
    *day = now / 86400;
    *to_day = 86400 - now % 86400;
    *month = number;
    *to_month = to - now;
}

void
gw_limits_refusal(const struct pt_limits *l, enum gw_limit_kind kind, int64_t wait_us,
                  struct gw_refusal *r)
{
    int64_t day, month, to_day, to_month;

    switch (kind) {
    case GW_LIMIT_CONCURRENT:
        *r = (struct gw_refusal){"concurrency-limited", "concurrent", l->concurrent, 1, 1, ""};
        snprintf(r->what, sizeof r->what, "%u requests under way at once", l->concurrent);
        break;
    case GW_LIMIT_DAY:
        gw_limits_periods(&day, &month, &to_day, &to_month);
        *r = (struct gw_refusal){"quota-exceeded", "day", l->per_day, 86400, to_day, ""};
        snprintf(r->what, sizeof r->what, "%llu requests a day (UTC)",
                 (unsigned long long)l->per_day);
        break;
    case GW_LIMIT_MONTH:
        gw_limits_periods(&day, &month, &to_day, &to_month);
        *r = (struct gw_refusal){"quota-exceeded", "month", l->per_month, 31 * 86400, to_month, ""};
        snprintf(r->what, sizeof r->what, "%llu requests a month (UTC)",
                 (unsigned long long)l->per_month);
        break;
    case GW_LIMIT_BYTES_DAY:
        gw_limits_periods(&day, &month, &to_day, &to_month);
        *r = (struct gw_refusal){"quota-exceeded", "bytes-day", l->bytes_per_day, 86400, to_day,
                                 ""};
        snprintf(r->what, sizeof r->what, "%llu body bytes a day (UTC)",
                 (unsigned long long)l->bytes_per_day);
        break;
    case GW_LIMIT_BYTES_MONTH:
        gw_limits_periods(&day, &month, &to_day, &to_month);
        *r = (struct gw_refusal){"quota-exceeded", "bytes-month", l->bytes_per_month, 31 * 86400,
                                 to_month, ""};
        snprintf(r->what, sizeof r->what, "%llu body bytes a month (UTC)",
                 (unsigned long long)l->bytes_per_month);
        break;
    case GW_LIMIT_RATE:
        *r = (struct gw_refusal){"rate-limited", "rate", l->rate, 1, (wait_us + 999999) / 1000000,
                                 ""};
        if (r->retry < 1)
            r->retry = 1;
        snprintf(r->what, sizeof r->what, "%u requests a second, burst %u", l->rate, l->burst);
        break;
    }
}

/* One set of limits, the parts in `what` (GW_TAKE_*), each request counted as `share`. 0 when the
 * request may go on (its slot under way held: *held), else -1 with r. */
static int
take(const struct pt_limits *l, unsigned what, int share, struct gw_refusal *r, int *held)
{
    struct gw_limit_state *s = l->state;
    int64_t day, month, to_day, to_month, wait;
    int day_taken = 0;

    *held = 0;
    if (s == NULL)
        return 0;
    if (what & GW_TAKE_CONCURRENT && l->concurrent > 0) {
        int most = ((int)l->concurrent + share - 1) / share;
        if (atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed) + 1 > most) {
            atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
            gw_limits_refusal(l, GW_LIMIT_CONCURRENT, 0, r);
            return -1;
        }
        *held = 1;
    }
    if (!(what & GW_TAKE_SHARED))
        return 0;
    if (l->per_day > 0 || l->per_month > 0 || l->bytes_per_day > 0 || l->bytes_per_month > 0)
        gw_limits_periods(&day, &month, &to_day, &to_month);
    if (l->bytes_per_day > 0 && !bytes_left(&s->bday, day, l->bytes_per_day)) {
        gw_limits_refusal(l, GW_LIMIT_BYTES_DAY, 0, r);
        goto undo;
    }
    if (l->bytes_per_month > 0 && !bytes_left(&s->bmonth, month, l->bytes_per_month)) {
        gw_limits_refusal(l, GW_LIMIT_BYTES_MONTH, 0, r);
        goto undo;
    }
    if (l->per_day > 0) {
        if (quota_take(&s->day, day, l->per_day, (uint64_t)share) < 0) {
            gw_limits_refusal(l, GW_LIMIT_DAY, 0, r);
            goto undo;
        }
        day_taken = 1;
    }
    if (l->per_month > 0 &&
        quota_take(&s->month, month, l->per_month, (uint64_t)share) < 0) {
        gw_limits_refusal(l, GW_LIMIT_MONTH, 0, r);
        goto undo;
    }
    if (l->rate > 0 && rate_take(s, l, share, gw_mono_us(), &wait) < 0) {
        gw_limits_refusal(l, GW_LIMIT_RATE, wait, r);
        if (l->per_month > 0)
            atomic_fetch_sub_explicit(&s->month.n, (uint64_t)share, memory_order_relaxed);
        goto undo;
    }
    return 0;
undo:
    if (day_taken)
        atomic_fetch_sub_explicit(&s->day.n, (uint64_t)share, memory_order_relaxed);
    if (*held)
        atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
    *held = 0;
    return -1;
}

/* Undo what take() counted of the shared parts for a request another set then refused. */
static void
give_back(const struct pt_limits *l, int share)
{
    struct gw_limit_state *s = l->state;

    if (s == NULL)
        return;
    if (l->per_day > 0)
        atomic_fetch_sub_explicit(&s->day.n, (uint64_t)share, memory_order_relaxed);
    if (l->per_month > 0)
        atomic_fetch_sub_explicit(&s->month.n, (uint64_t)share, memory_order_relaxed);
    if (l->rate > 0)
        atomic_fetch_sub_explicit(&s->tat_us, 1000000LL * share / l->rate, memory_order_relaxed);
}

void
gw_limits_refuse(struct gw_exchange *ex, int caller, const struct gw_refusal *r)
{
    char headers[256], detail[288], whose[160];

    gw_limits_release(ex);
    if (!caller)
        snprintf(whose, sizeof whose, "route %s", ex->route->name);
    else if (ex->consumer != NULL)
        snprintf(whose, sizeof whose, "consumer %s", ex->consumer->id);
    else
        snprintf(whose, sizeof whose, "partner %s", ex->partner->id);
    snprintf(headers, sizeof headers,
             "Retry-After: %lld\r\nRateLimit-Policy: \"%s\";q=%llu;w=%lld\r\n"
             "RateLimit: \"%s\";r=0;t=%lld\r\n",
             (long long)r->retry, r->policy, (unsigned long long)r->quota, (long long)r->window,
             r->policy, (long long)r->retry);
    snprintf(detail, sizeof detail, "%s allows %s", whose, r->what);
    ex->reason_detail = gw_arena_strndup(&ex->arena, detail, strlen(detail));
    gw_exchange_problem(ex, 429, r->code, detail, headers);
}

static int
has_bytes(const struct pt_limits *l)
{
    return l != NULL && l->state != NULL && (l->bytes_per_day > 0 || l->bytes_per_month > 0);
}

void
gw_limits_admitted(struct gw_exchange *ex)
{
    ex->limits_admitted = has_bytes(&ex->route->limits) || has_bytes(ex->caller_limits);
}

int
gw_limits_take(struct gw_exchange *ex, unsigned what, int share)
{
    const struct pt_limits *rl = &ex->route->limits, *cl = ex->caller_limits;
    struct gw_refusal r;
    int held;

    if (take(rl, what, share, &r, &held) < 0) {
        gw_limits_refuse(ex, 0, &r);
        return -1;
    }
    if (held)
        ex->limits_held[0] = rl->state;
    if (cl == NULL) {
        if (what & GW_TAKE_SHARED)
            gw_limits_admitted(ex);
        return 0;
    }
    if (take(cl, what, share, &r, &held) < 0) {
        if (what & GW_TAKE_SHARED)
            give_back(rl, share); /* a refused request counts in no limit */
        gw_limits_refuse(ex, 1, &r);
        return -1;
    }
    if (held)
        ex->limits_held[1] = cl->state;
    if (what & GW_TAKE_SHARED)
        gw_limits_admitted(ex);
    return 0;
}

int
gw_limits_admit(struct gw_exchange *ex)
{
    const struct pt_limits *rl = &ex->route->limits, *cl = ex->caller_limits;
    int share;

    if (rl->state == NULL && (cl == NULL || cl->state == NULL))
        return 0;
    if (!gw_cluster_on())
        return gw_limits_take(ex, GW_TAKE_ALL, 1);
    /* across nodes: requests under way are counted by each node, for its share; the rest in
     * Redis (limiter_redis.c) */
    share = gw_limits_share();
    if (gw_limits_take(ex, GW_TAKE_CONCURRENT, share) < 0)
        return -1;
    if (!gw_limits_shared(rl) && (cl == NULL || !gw_limits_shared(cl)))
        return 0;
    return gw_limits_redis(ex);
}

int
gw_limits_share(void)
{
    const struct gw_redis_conf *rc = gw_cluster_conf();

    return rc != NULL && rc->fallback_nodes > 0 ? rc->fallback_nodes : gw_cluster_nodes();
}


static void
seen(struct gw_count *c, int64_t period, uint64_t n)
{
    atomic_store_explicit(&c->period, period, memory_order_relaxed);
    atomic_store_explicit(&c->n, n, memory_order_relaxed);
}

void
gw_limits_seen(struct gw_limit_state *s, const uint64_t counts[4])
{
    int64_t day, month, to_day, to_month;

    gw_limits_periods(&day, &month, &to_day, &to_month);
    seen(&s->day, day, counts[0]);
    seen(&s->month, month, counts[1]);
    seen(&s->bday, day, counts[2]);
    seen(&s->bmonth, month, counts[3]);
}

/* One set's body bytes of an exchange that is over, counted on the node (times share). */
static void
charge(const struct pt_limits *l, uint64_t bytes, int share)
{
    int64_t day, month, to_day, to_month;
    struct gw_limit_state *s = l->state;

    if (s == NULL || (l->bytes_per_day == 0 && l->bytes_per_month == 0) || bytes == 0)
        return;
    gw_limits_periods(&day, &month, &to_day, &to_month);
    period_turn(&s->bday, day);
    period_turn(&s->bmonth, month);
    atomic_fetch_add_explicit(&s->bday.n, bytes * (uint64_t)share, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bmonth.n, bytes * (uint64_t)share, memory_order_relaxed);
}

uint64_t
gw_limits_bytes(const struct gw_exchange *ex)
{
    return ex->body_bytes[0] + (ex->resp_made_set ? ex->resp_made : ex->body_bytes[1]);
}

const char *
gw_limits_key(const struct gw_limit_state *s)
{
    return s->key;
}

void
gw_limits_charge(struct gw_exchange *ex)
{
    const struct pt_limits *sets[2];
    uint64_t bytes;

    if (!ex->limits_admitted) /* (then it has a route) */
        return;
    ex->limits_admitted = 0; /* once */
    sets[0] = &ex->route->limits;
    sets[1] = ex->caller_limits;
    bytes = gw_limits_bytes(ex);
    if (!gw_cluster_on() || gw_limits_redis_charge(ex, sets, bytes) < 0)
        for (int i = 0; i < 2; i++)
            if (sets[i] != NULL)
                charge(sets[i], bytes, gw_cluster_on() ? gw_limits_share() : 1);
}

void
gw_limits_release(struct gw_exchange *ex)
{
    gw_limits_charge(ex); /* (done already unless the exchange ended without its observers) */
    for (int i = 0; i < 2; i++) {
        struct gw_limit_state *s = ex->limits_held[i];
        if (s != NULL)
            atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
        ex->limits_held[i] = NULL;
    }
    gw_limits_redis_cancel(ex);
}
