/* limiter_redis.c: limits counted across nodes in Redis (see limiter.h, cluster.h).
 *
 * Each worker has its own connection to the master (hiredis's libevent adapter on the worker's
 * loop: nothing blocks). One script call decides a request whole: it reads the rate's and the
 * quotas' counters of the route's set and the caller's, refuses with the first that is spent,
 * else counts the request in all of them, by Redis's own clock; so a request is one round trip,
 * pipelined with the worker's others. The figure is exact (no lease, no batch): the only error is
 * the node clocks' disagreement at a day's or month's turn, which names the period.
 *
 * A request waits for the answer at most cluster.redis.timeout_ms (one timer per worker over its
 * questions, which all wait as long, in the order asked). Without an answer in time, or with
 * Redis away, the node decides alone on its share (and once a question went unanswered past its
 * time, the worker asks no more until an answer comes: the requests meanwhile wait for nothing): each request counts as many times as there
 * are nodes (the live ones it last saw, or fallback_nodes), over the counts Redis last gave it, so
 * the nodes together stay within about the limit while Redis is away (limits.md: the bound).
 */
#include "limiter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "clock.h"
#include "cluster.h"
#include "log.h"
#include "text.h"

/* KEYS: each set's key prefix. ARGV: the day's and the month's numbers, then per set: the rate's
 * emission interval and tolerance (µs; 0: no rate), the day's and the month's request quotas and
 * the day's and the month's bytes quotas (0: none). Returns {0, then per set the day's and the
 * month's request counts and bytes} or {1, set (1-based), kind (1 rate, 2 day, 3 month, 4 bytes a
 * day, 5 bytes a month), the rate's wait in µs or the count}. Bytes are added when an exchange
 * is over (INCRBY, limiter's charge), so they are only read here. */
static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local day, month = ARGV[1], ARGV[2]\n"
    "local function count(k) return tonumber(redis.call('GET', k) or '0') end\n"
    "for i = 1, #KEYS do\n"
    "  local a, k = 3 + (i - 1) * 6, KEYS[i]\n"
    "  local T, tau = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  local pd, pm = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "  local bd, bm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])\n"
    "  if bd > 0 then local c = count(k .. ':bd:' .. day) if c >= bd then return {1, i, 4, c} end end\n"
    "  if bm > 0 then local c = count(k .. ':bm:' .. month) if c >= bm then return {1, i, 5, c} end end\n"
    "  if pd > 0 then local c = count(k .. ':d:' .. day) if c >= pd then return {1, i, 2, c} end end\n"
    "  if pm > 0 then local c = count(k .. ':m:' .. month) if c >= pm then return {1, i, 3, c} end end\n"
    "  if T > 0 then\n"
    "    local tat = count(k .. ':r')\n"
    "    if tat < now then tat = now end\n"
    "    if tat - now > tau then return {1, i, 1, tat - now - tau} end\n"
    "  end\n"
    "end\n"
    "local out = {0}\n"
    "for i = 1, #KEYS do\n"
    "  local a, k = 3 + (i - 1) * 6, KEYS[i]\n"
    "  local T, pd, pm = tonumber(ARGV[a]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "  local bd, bm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])\n"
    "  local d, m, xd, xm = 0, 0, 0, 0\n"
    "  if pd > 0 then\n"
    "    d = redis.call('INCR', k .. ':d:' .. day)\n"
    "    if d == 1 then redis.call('EXPIRE', k .. ':d:' .. day, 172800) end\n"
    "  end\n"
    "  if pm > 0 then\n"
    "    m = redis.call('INCR', k .. ':m:' .. month)\n"
    "    if m == 1 then redis.call('EXPIRE', k .. ':m:' .. month, 2764800) end\n"
    "  end\n"
    "  if bd > 0 then xd = count(k .. ':bd:' .. day) end\n"
    "  if bm > 0 then xm = count(k .. ':bm:' .. month) end\n"
    "  if T > 0 then\n"
    "    local tat = count(k .. ':r')\n"
    "    if tat < now then tat = now end\n"
    "    tat = tat + T\n"
    "    redis.call('SET', k .. ':r', string.format('%.0f', tat), 'PX',"
    " math.floor((tat - now) / 1000) + 1000)\n"
    "  end\n"
    "  out[#out + 1] = d\n"
    "  out[#out + 1] = m\n"
    "  out[#out + 1] = xd\n"
    "  out[#out + 1] = xm\n"
    "end\n"
    "return out\n";

static char script_sha[41];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t fallbacks; /* requests decided on the local share */
static _Atomic int workers_away;   /* workers whose connection is away */

struct call {
    struct gw_exchange *ex;        /* NULL: it went on without the answer (or ended) */
    struct gw_limits_redis *rl;
    int64_t deadline_us;
    const struct pt_limits *sets[2];
    int caller[2];                 /* sets[i] is the caller's (else the route's) */
    int n;
    TAILQ_ENTRY(call) q;
};
TAILQ_HEAD(call_q, call);

struct gw_limits_redis {
    struct gw_worker *w;
    redisAsyncContext *ac;         /* NULL: none now */
    unsigned gen;                  /* the master's generation it was made for */
    int64_t retry_us;              /* no new connection before */
    int away;                      /* said in the log */
    int stalled;                   /* a question went unanswered past its time: until an answer
                                    * comes, no more are asked (a hung Redis would have them pile
                                    * up, and count them all when it woke) */
    int outstanding;               /* questions asked, not yet answered */
    struct call_q waiting;         /* in the order asked: the order of their deadlines */
    struct event *timer;
};

static void
sha_init(void)
{
    unsigned char d[20];
    unsigned int n = 0;

    EVP_Digest(script, sizeof script - 1, d, &n, EVP_sha1(), NULL);
    gw_hex_encode(script_sha, d, sizeof d);
    script_sha[40] = '\0';
}

void
gw_limits_redis_stats(uint64_t *decided_locally, int *away)
{
    *decided_locally = atomic_load_explicit(&fallbacks, memory_order_relaxed);
    *away = atomic_load_explicit(&workers_away, memory_order_relaxed) > 0;
}

static void
set_away(struct gw_limits_redis *rl, int away, const char *why)
{
    if (away == rl->away)
        return;
    rl->away = away;
    atomic_fetch_add(&workers_away, away ? 1 : -1);
    if (away)
        gw_log(GW_LOG_WARN, "limits: Redis away for worker %d (%s): each limit holds 1/%d here "
               "until it is back", rl->w->id, why, gw_limits_share());
    else
        gw_log(GW_LOG_INFO, "limits: Redis back for worker %d: counted across nodes again",
               rl->w->id);
}

/* ---- going on ---- */

static void
go_on(struct gw_exchange *ex)
{
    ex->limits_call = NULL;
    ex->c->state = GW_CONN_HEAD;
    gw_request_admitted(ex);
}

/* No answer (in time): the node's share decides. */
static void
alone(struct gw_exchange *ex)
{
    ex->limits_call = NULL;
    ex->c->state = GW_CONN_HEAD;
    atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
    if (gw_limits_take(ex, GW_TAKE_SHARED, gw_limits_share()) == 0)
        gw_request_admitted(ex);
}

static void
arm(struct gw_limits_redis *rl)
{
    struct call *first = TAILQ_FIRST(&rl->waiting);
    int64_t in;

    if (first == NULL)
        return;
    in = first->deadline_us - gw_mono_us();
    if (in < 0)
        in = 0;
    struct timeval tv = {(time_t)(in / 1000000), (suseconds_t)(in % 1000000)};
    evtimer_add(rl->timer, &tv);
}

/* The questions past their time go on alone; their answers, when they come, are dropped. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_limits_redis *rl = arg;
    int64_t now = gw_mono_us();
    struct call *c;

    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&rl->waiting)) != NULL && c->deadline_us <= now) {
        struct gw_exchange *ex = c->ex;
        TAILQ_REMOVE(&rl->waiting, c, q);
        c->ex = NULL;
        if (!rl->stalled) {
            rl->stalled = 1;
            set_away(rl, 1, "no answer within timeout_ms");
        }
        alone(ex);
    }
    arm(rl);
}

static void
reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct call *c = priv;
    struct gw_exchange *ex = c->ex;
    redisReply *r = reply;
    struct gw_refusal why;

    (void)ac;
    c->rl->outstanding--;
    if (r != NULL && c->rl->stalled) { /* it answers again */
        c->rl->stalled = 0;
        set_away(c->rl, 0, "");
    }
    if (ex == NULL) {
        free(c);
        return;
    }
    TAILQ_REMOVE(&c->rl->waiting, c, q);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
        if (r->element[0]->integer == 0 && r->elements == 1 + 4 * (size_t)c->n) {
            for (int i = 0; i < c->n; i++) {
                uint64_t counts[4];
                for (int j = 0; j < 4; j++)
                    counts[j] = (uint64_t)r->element[1 + 4 * i + j]->integer;
                gw_limits_seen(c->sets[i]->state, counts);
            }
            free(c);
            gw_limits_admitted(ex);
            go_on(ex);
            return;
        }
        if (r->element[0]->integer == 1 && r->elements == 4 && r->element[1]->integer >= 1 &&
            r->element[1]->integer <= c->n && r->element[2]->integer >= 1 &&
            r->element[2]->integer <= 5) {
            static const enum gw_limit_kind kinds[] = {GW_LIMIT_RATE, GW_LIMIT_DAY, GW_LIMIT_MONTH,
                                                       GW_LIMIT_BYTES_DAY,
                                                       GW_LIMIT_BYTES_MONTH};
            int i = (int)r->element[1]->integer - 1;
            gw_limits_refusal(c->sets[i], kinds[r->element[2]->integer - 1],
                              r->element[3]->integer, &why);
            ex->limits_call = NULL;
            ex->c->state = GW_CONN_HEAD;
            gw_limits_refuse(ex, c->caller[i], &why);
            free(c);
            return;
        }
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        gw_log(GW_LOG_ERROR, "limits: Redis: %s", r->str);
    free(c);
    alone(ex);
}

/* ---- the connection ---- */

static void
connected(const redisAsyncContext *ac, int status)
{
    struct gw_limits_redis *rl = ac->data;

    if (rl == NULL)
        return;
    if (status == REDIS_OK) {
        set_away(rl, 0, "");
        return;
    }
    /* hiredis frees the context without calling disconnected (it never was connected) */
    rl->ac = NULL;
    rl->retry_us = gw_mono_us() + 1000000;
    set_away(rl, 1, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void
disconnected(const redisAsyncContext *ac, int status)
{
    struct gw_limits_redis *rl = ac->data;

    if (rl == NULL)
        return;
    rl->ac = NULL; /* hiredis frees it */
    if (status != REDIS_OK) {
        rl->retry_us = gw_mono_us() + 1000000;
        set_away(rl, 1, ac->errstr[0] ? ac->errstr : "connection lost");
    }
}

/* The worker's connection to the master now, or NULL (away: not again within a second). */
static redisAsyncContext *
connection(struct gw_limits_redis *rl)
{
    char ip[46];
    int port;
    unsigned gen = gw_cluster_master(ip, &port);

    if (rl->ac != NULL && gen == rl->gen)
        return rl->ac;
    if (rl->ac != NULL) { /* the master moved */
        redisAsyncContext *old = rl->ac;
        rl->ac = NULL;
        old->data = NULL;
        redisAsyncSetDisconnectCallback(old, NULL);
        redisAsyncDisconnect(old); /* its questions' answers: NULL, so they go on alone */
    }
    if (gen == 0 || gw_mono_us() < rl->retry_us) {
        set_away(rl, 1, gen == 0 ? "no master known" : "reconnecting");
        return NULL;
    }
    rl->gen = gen;
    if ((rl->ac = redisAsyncConnect(ip, port)) == NULL || rl->ac->err) {
        set_away(rl, 1, rl->ac != NULL ? rl->ac->errstr : "out of memory");
        if (rl->ac != NULL)
            redisAsyncFree(rl->ac);
        rl->ac = NULL;
        rl->retry_us = gw_mono_us() + 1000000;
        return NULL;
    }
    rl->ac->data = rl;
    redisLibeventAttach(rl->ac, rl->w->base);
    redisAsyncSetConnectCallback(rl->ac, connected);
    redisAsyncSetDisconnectCallback(rl->ac, disconnected);
    if (gw_cluster_conf()->password != NULL)
        redisAsyncCommand(rl->ac, NULL, NULL, "AUTH %s", gw_cluster_conf()->password);
    redisAsyncCommand(rl->ac, NULL, NULL, "SCRIPT LOAD %s", script);
    return rl->ac;
}

static struct gw_limits_redis *
worker_state(struct gw_worker *w)
{
    if (w->redis == NULL) {
        struct gw_limits_redis *rl = calloc(1, sizeof *rl);
        if (rl == NULL)
            return NULL;
        rl->w = w;
        TAILQ_INIT(&rl->waiting);
        if ((rl->timer = evtimer_new(w->base, timer_cb, rl)) == NULL) {
            free(rl);
            return NULL;
        }
        w->redis = rl;
    }
    return w->redis;
}

/* ---- asking ---- */

int
gw_limits_redis(struct gw_exchange *ex)
{
    const struct pt_limits *cl = ex->caller_limits;
    struct gw_limits_redis *rl;
    redisAsyncContext *ac;
    struct call *c;
    const char *argv[3 + 2 + 2 + 12];
    size_t lens[sizeof argv / sizeof argv[0]];
    char keys[2][320], nums[3 + 12][24];
    int64_t day, month, to_day, to_month;
    int argc = 0, nk;

    pthread_once(&sha_once, sha_init);
    if ((rl = worker_state(ex->c->w)) == NULL || (ac = connection(rl)) == NULL ||
        (rl->stalled && rl->outstanding > 0) || (c = calloc(1, sizeof *c)) == NULL) {
        atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
        return gw_limits_take(ex, GW_TAKE_SHARED, gw_limits_share());
    }
    if (gw_limits_shared(&ex->route->limits))
        c->sets[c->n++] = &ex->route->limits;
    if (cl != NULL && gw_limits_shared(cl)) {
        c->caller[c->n] = 1;
        c->sets[c->n++] = cl;
    }
    gw_limits_periods(&day, &month, &to_day, &to_month);
    nk = c->n;
    argv[argc++] = "EVALSHA";
    argv[argc++] = script_sha;
    snprintf(nums[0], sizeof nums[0], "%d", nk);
    argv[argc++] = nums[0];
    for (int i = 0; i < nk; i++) {
        snprintf(keys[i], sizeof keys[i], "%s:l:%s", gw_cluster_conf()->prefix,
                 gw_limits_key(c->sets[i]->state));
        argv[argc++] = keys[i];
    }
    snprintf(nums[1], sizeof nums[1], "%lld", (long long)day);
    snprintf(nums[2], sizeof nums[2], "%lld", (long long)month);
    argv[argc++] = nums[1];
    argv[argc++] = nums[2];
    for (int i = 0; i < nk; i++) {
        const struct pt_limits *l = c->sets[i];
        char *n = nums[3 + 6 * i];
        snprintf(n, 24, "%lld", l->rate > 0 ? 1000000LL / l->rate : 0LL);
        snprintf(n + 24, 24, "%lld", l->rate > 0 ? 1000000LL * l->burst / l->rate : 0LL);
        snprintf(n + 48, 24, "%llu", (unsigned long long)l->per_day);
        snprintf(n + 72, 24, "%llu", (unsigned long long)l->per_month);
        snprintf(n + 96, 24, "%llu", (unsigned long long)l->bytes_per_day);
        snprintf(n + 120, 24, "%llu", (unsigned long long)l->bytes_per_month);
        for (int j = 0; j < 6; j++)
            argv[argc++] = n + 24 * j;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    c->ex = ex;
    c->rl = rl;
    c->deadline_us = gw_mono_us() + (int64_t)gw_cluster_conf()->timeout_ms * 1000;
    if (redisAsyncCommandArgv(ac, reply_cb, c, argc, argv, lens) != REDIS_OK) {
        free(c);
        atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
        return gw_limits_take(ex, GW_TAKE_SHARED, gw_limits_share());
    }
    ex->limits_call = c;
    rl->outstanding++;
    if (TAILQ_EMPTY(&rl->waiting)) {
        TAILQ_INSERT_TAIL(&rl->waiting, c, q);
        arm(rl);
    } else {
        TAILQ_INSERT_TAIL(&rl->waiting, c, q);
    }
    return 1;
}

int
gw_limits_redis_charge(const struct gw_exchange *ex, const struct pt_limits *const sets[2],
                       uint64_t bytes)
{
    struct gw_limits_redis *rl = ex->c->w->redis;
    int64_t day, month, to_day, to_month;
    char key[360];

    if (rl == NULL || rl->ac == NULL || rl->away)
        return -1;
    if (bytes == 0)
        return 0;
    gw_limits_periods(&day, &month, &to_day, &to_month);
    for (int i = 0; i < 2; i++) {
        const struct pt_limits *l = sets[i];
        for (int m = 0; l != NULL && l->state != NULL && m < 2; m++) {
            if ((m ? l->bytes_per_month : l->bytes_per_day) == 0)
                continue;
            snprintf(key, sizeof key, "%s:l:%s:%s:%lld", gw_cluster_conf()->prefix,
                     gw_limits_key(l->state), m ? "bm" : "bd", (long long)(m ? month : day));
            redisAsyncCommand(rl->ac, NULL, NULL, "INCRBY %s %llu", key,
                              (unsigned long long)bytes);
            redisAsyncCommand(rl->ac, NULL, NULL, "EXPIRE %s %d", key, m ? 2764800 : 172800);
        }
    }
    return 0;
}

void
gw_limits_redis_cancel(struct gw_exchange *ex)
{
    struct call *c = ex->limits_call;

    if (c == NULL)
        return;
    TAILQ_REMOVE(&c->rl->waiting, c, q);
    c->ex = NULL; /* freed with its answer */
    ex->limits_call = NULL;
}

void
gw_limits_redis_free(struct gw_worker *w)
{
    struct gw_limits_redis *rl = w->redis;

    if (rl == NULL)
        return;
    if (rl->ac != NULL) {
        redisAsyncContext *ac = rl->ac;
        rl->ac = NULL;
        redisAsyncSetDisconnectCallback(ac, NULL);
        redisAsyncFree(ac); /* the answers still owed: NULL, their calls freed */
    }
    if (rl->away)
        atomic_fetch_sub(&workers_away, 1);
    event_free(rl->timer);
    free(rl);
    w->redis = NULL;
}
