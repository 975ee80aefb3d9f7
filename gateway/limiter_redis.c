/* limiter_redis.c: limits counted across nodes in Redis (see limiter.h, cluster.h).
 *
 * Each worker has its own connection to the master (hiredis's async API on the worker's loop:
 * nothing blocks). One script call decides a request whole: it reads the rate's and the quotas'
 * counters of the route's set and the caller's, refuses with the first that is spent, else counts
 * the request in all of them, by Redis's own clock; so a request is one round trip, pipelined
 * with the worker's others. The same call takes a lease when a set's is spent: requests counted
 * ahead that the node then admits on its own (below), so that under load only one request in
 * many asks. The figure is exact but for what the leases hold (cluster.redis.lease_ms, 0: none)
 * and the node clocks' disagreement at a day's or month's turn, which names the period.
 *
 * A request waits for the answer at most cluster.redis.timeout_ms (one timer per worker over its
 * questions, which all wait as long, in the order asked). Without an answer in time, or with
 * Redis away, the node decides alone on its share (and once a question went unanswered past its
 * time, the worker asks no more until an answer comes: the requests meanwhile wait for nothing):
 * each request counts as many times as there are nodes (the live ones it last saw, or
 * fallback_nodes), over the counts Redis last gave it, so the nodes together stay within about
 * the limit while Redis is away (partners/README.md, "Limits across nodes": the bound). A lease
 * in hand is spent first.
 */
#include "limiter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "clock.h"
#include "cluster.h"
#include "log.h"
#include "redis_events.h"
#include "text.h"

/* KEYS: each set's key prefix. ARGV: the day's and the month's numbers, whether the counts are
 * wanted ("1") or not ("0"), then per set: the rate's emission interval and tolerance (µs; 0: no
 * rate), the day's and the month's request quotas and the day's and the month's bytes quotas (0:
 * none), and how many requests to take (a lease: up to that many, as many as every limit of the
 * set allows, at least one). Returns {0, then per set the requests taken, then (when wanted) per
 * set the day's and the month's request counts and bytes}, or {1, set (1-based), kind (1 rate,
 * 2 day, 3 month, 4 bytes a day, 5 bytes a month), the rate's wait in µs or the count}. Bytes are
 * added when an exchange is over (INCRBY, limiter's charge), so they are only read here. */
static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local day, month, want = ARGV[1], ARGV[2], ARGV[3]\n"
    "local function count(k) return tonumber(redis.call('GET', k) or '0') end\n"
    "local take = {}\n"
    "for i = 1, #KEYS do\n"
    "  local a, k = 4 + (i - 1) * 7, KEYS[i]\n"
    "  local T, tau = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  local pd, pm = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "  local bd, bm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])\n"
    "  local n = tonumber(ARGV[a + 6])\n"
    "  if bd > 0 then local c = count(k .. ':bd:' .. day) if c >= bd then return {1, i, 4, c} end end\n"
    "  if bm > 0 then local c = count(k .. ':bm:' .. month) if c >= bm then return {1, i, 5, c} end end\n"
    "  if pd > 0 then\n"
    "    local c = count(k .. ':d:' .. day)\n"
    "    if c >= pd then return {1, i, 2, c} end\n"
    "    if pd - c < n then n = pd - c end\n"
    "  end\n"
    "  if pm > 0 then\n"
    "    local c = count(k .. ':m:' .. month)\n"
    "    if c >= pm then return {1, i, 3, c} end\n"
    "    if pm - c < n then n = pm - c end\n"
    "  end\n"
    "  if T > 0 then\n"
    "    local tat = count(k .. ':r')\n"
    "    if tat < now then tat = now end\n"
    "    if tat - now > tau then return {1, i, 1, tat - now - tau} end\n"
    "    local r = math.floor((now + tau - tat) / T) + 1\n"
    "    if r < n then n = r end\n"
    "  end\n"
    "  take[i] = n\n"
    "end\n"
    "local out, counts = {0}, {}\n"
    "for i = 1, #KEYS do\n"
    "  local a, k, n = 4 + (i - 1) * 7, KEYS[i], take[i]\n"
    "  local T, pd, pm = tonumber(ARGV[a]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "  local bd, bm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])\n"
    "  local d, m, xd, xm = 0, 0, 0, 0\n"
    "  if pd > 0 then\n"
    "    d = redis.call('INCRBY', k .. ':d:' .. day, n)\n"
    "    if d == n then redis.call('EXPIRE', k .. ':d:' .. day, 172800) end\n"
    "  end\n"
    "  if pm > 0 then\n"
    "    m = redis.call('INCRBY', k .. ':m:' .. month, n)\n"
    "    if m == n then redis.call('EXPIRE', k .. ':m:' .. month, 2764800) end\n"
    "  end\n"
    "  if want == '1' and bd > 0 then xd = count(k .. ':bd:' .. day) end\n"
    "  if want == '1' and bm > 0 then xm = count(k .. ':bm:' .. month) end\n"
    "  if T > 0 then\n"
    "    local tat = count(k .. ':r')\n"
    "    if tat < now then tat = now end\n"
    "    tat = tat + n * T\n"
    "    redis.call('SET', k .. ':r', string.format('%.0f', tat), 'PX',"
    " math.floor((tat - now) / 1000) + 1000)\n"
    "  end\n"
    "  out[#out + 1] = n\n"
    "  counts[#counts + 1] = d\n"
    "  counts[#counts + 1] = m\n"
    "  counts[#counts + 1] = xd\n"
    "  counts[#counts + 1] = xm\n"
    "end\n"
    "if want == '1' then for _, c in ipairs(counts) do out[#out + 1] = c end end\n"
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
    struct gw_limit_state *states[2];           /* (kept until exit: the sets may go first) */
    const struct gw_limits_args *args[2];       /* the figures asked under */
    int caller[2];                 /* sets[i] is the caller's (else the route's) */
    int asking[2];                 /* it asks for sets[i]'s lease */
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
    int64_t counts_at;             /* when Redis's counts were last asked for (once a second:
                                    * the local share goes on from them) */
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

/* ---- leases ----
 *
 * A node takes requests ahead from Redis for a set and admits on its own until they are spent:
 * the question that finds a set's lease empty asks for n (up to n: as many as each of the set's
 * limits allows), one lease question at a time per set and node (the others meanwhile ask for
 * their own request only). n is sized so that the leases of all the nodes together hold at most
 * lease_ms of the set's rate, and lease_ms / 100,000 of each of its quotas: what the nodes took
 * ahead is counted in Redis already, so none of it lets a limit be passed but in time: at most
 * that much more than the limit allows in a window, and at most that much unspent (a node that
 * stops, a UTC day that ends, figures that change, drop their lease). A set with bytes quotas
 * takes no lease (bytes are charged after the fact: each request asks). */

#define LEASE_DAY(v) ((v) >> 40)
#define LEASE_LEFT(v) ((v) & ((1ULL << 40) - 1))

static uint64_t
lease_size(const struct pt_limits *l)
{
    uint64_t ms = (uint64_t)gw_cluster_conf()->lease_ms, n = 1ULL << 30;

    if (ms == 0 || l->bytes_per_day > 0 || l->bytes_per_month > 0)
        return 1;
    if (l->rate > 0 && (uint64_t)l->rate * ms / 1000 < n)
        n = (uint64_t)l->rate * ms / 1000;
    if (l->per_day > 0 && l->per_day / 100000 * ms < n)
        n = l->per_day / 100000 * ms;
    if (l->per_month > 0 && l->per_month / 100000 * ms < n)
        n = l->per_month / 100000 * ms;
    n /= (uint64_t)gw_limits_share();
    return n > 1 ? n : 1;
}

/* One request from the set's lease, taken under args on UTC day `day`: 1, or 0 (none left). */
static int
lease_take(struct gw_lease *ls, const struct gw_limits_args *args, uint64_t day)
{
    uint64_t v = atomic_load_explicit(&ls->left, memory_order_acquire);

    if (atomic_load_explicit(&ls->under, memory_order_relaxed) != args)
        return 0;
    do {
        if (LEASE_LEFT(v) == 0 || LEASE_DAY(v) != day)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&ls->left, &v, v - 1, memory_order_acq_rel,
                                                    memory_order_acquire));
    return 1;
}

/* n more requests in the set's lease, taken under args on day `day` (what was left from another
 * day or other figures is dropped). */
static void
lease_add(struct gw_lease *ls, const struct gw_limits_args *args, uint64_t day, uint64_t n)
{
    uint64_t v, to;

    if (n == 0)
        return;
    if (atomic_exchange_explicit(&ls->under, args, memory_order_relaxed) != args)
        atomic_store_explicit(&ls->left, 0, memory_order_relaxed);
    v = atomic_load_explicit(&ls->left, memory_order_relaxed);
    do
        to = (LEASE_DAY(v) == day ? v : day << 40) + n;
    while (!atomic_compare_exchange_weak_explicit(&ls->left, &v, to, memory_order_acq_rel,
                                                  memory_order_relaxed));
}

/* Every shared set of the exchange gives it a request from its lease: 1 (admitted), else 0 with
 * nothing taken. */
static int
leased(struct gw_exchange *ex, const struct pt_limits *const sets[2], int n,
       const struct gw_limits_args *const args[2], uint64_t day)
{
    int i;

    for (i = 0; i < n; i++)
        if (!lease_take(gw_limits_lease(sets[i]->state), args[i], day))
            break;
    if (i == n) {
        gw_limits_admitted(ex);
        return 1;
    }
    while (i-- > 0) /* given back: the question counts it in every set */
        lease_add(gw_limits_lease(sets[i]->state), args[i], day, 1);
    return 0;
}

/* The question is answered (or never will be): its sets may ask for leases again. */
static void
asked(struct call *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->asking[i]) {
            atomic_store_explicit(&gw_limits_lease(c->states[i])->asking, 0,
                                  memory_order_release);
            c->asking[i] = 0;
        }
}

/* ---- going on ---- */

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

/* Redis took got[i] requests of each set: the exchange (if it still waits) uses one of each,
 * the rest go to the sets' leases. */
static void
granted(struct call *c, const redisReply *r, const uint64_t got[2])
{
    int64_t day, month, to_day, to_month;
    int used = c->ex != NULL;

    gw_limits_periods(&day, &month, &to_day, &to_month);
    for (int i = 0; i < c->n; i++)
        lease_add(gw_limits_lease(c->states[i]), c->args[i], (uint64_t)day, got[i] - used);
    if (r->elements == 1 + 5 * (size_t)c->n) /* the counts, for the local share */
        for (int i = 0; i < c->n; i++) {
            uint64_t counts[4];
            for (int j = 0; j < 4; j++)
                counts[j] = (uint64_t)r->element[1 + c->n + 4 * i + j]->integer;
            gw_limits_seen(c->states[i], counts);
        }
}

static void
reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct call *c = priv;
    struct gw_exchange *ex = c->ex;
    redisReply *r = reply;
    struct gw_refusal why;
    uint64_t got[2] = {0, 0};
    int ok = 0, refused = 0;

    (void)ac;
    c->rl->outstanding--;
    asked(c);
    if (r != NULL && c->rl->stalled) { /* it answers again */
        c->rl->stalled = 0;
        set_away(c->rl, 0, "");
    }
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0)
                goto odd;
        if (r->element[0]->integer == 0 &&
            (r->elements == 1 + (size_t)c->n || r->elements == 1 + 5 * (size_t)c->n)) {
            ok = 1;
            for (int i = 0; i < c->n; i++)
                if ((got[i] = (uint64_t)r->element[1 + i]->integer) < 1)
                    ok = 0;
        } else if (r->element[0]->integer == 1 && r->elements == 4 &&
                   r->element[1]->integer >= 1 && r->element[1]->integer <= c->n &&
                   r->element[2]->integer >= 1 && r->element[2]->integer <= 5) {
            refused = 1;
        }
    }
odd:
    if (ok)
        granted(c, r, got);
    if (ex == NULL) {
        free(c);
        return;
    }
    TAILQ_REMOVE(&c->rl->waiting, c, q);
    ex->limits_call = NULL;
    ex->c->state = GW_CONN_HEAD;
    if (ok) {
        free(c);
        gw_limits_admitted(ex);
        gw_request_admitted(ex);
        return;
    }
    if (refused) {
        static const enum gw_limit_kind kinds[] = {GW_LIMIT_RATE, GW_LIMIT_DAY, GW_LIMIT_MONTH,
                                                   GW_LIMIT_BYTES_DAY, GW_LIMIT_BYTES_MONTH};
        int i = (int)r->element[1]->integer - 1;
        gw_limits_refusal(c->sets[i], kinds[r->element[2]->integer - 1], r->element[3]->integer,
                          &why);
        gw_limits_refuse(ex, c->caller[i], &why);
        free(c);
        return;
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        gw_log(GW_LOG_ERROR, "limits: Redis: %s", r->str);
    else if (r != NULL)
        gw_log(GW_LOG_ERROR, "limits: Redis: an answer the script does not give (type %d)",
               r->type);
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
    if (gw_redis_attach(rl->ac, rl->w->base) < 0) {
        redisAsyncFree(rl->ac);
        rl->ac = NULL;
        rl->retry_us = gw_mono_us() + 1000000;
        return NULL;
    }
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
    const struct pt_limits *cl = ex->caller_limits, *sets[2];
    struct gw_limits_redis *rl;
    redisAsyncContext *ac;
    struct call *c;
    const struct gw_limits_args *args[2];
    char cmd[2 * (420 + 7 * 28) + 256];
    static _Thread_local char periods_resp[64];
    static _Thread_local size_t periods_len;
    static _Thread_local int64_t periods_day = -1, periods_month = -1;
    int64_t day, month, to_day, to_month, now;
    int n = 0, caller[2] = {0, 0}, quotas = 0;
    size_t o;

    if (gw_limits_shared(&ex->route->limits))
        sets[n++] = &ex->route->limits;
    if (cl != NULL && gw_limits_shared(cl)) {
        caller[n] = 1;
        sets[n++] = cl;
    }
    for (int i = 0; i < n; i++)
        args[i] = gw_limits_args(sets[i], gw_cluster_conf()->prefix);
    gw_limits_periods(&day, &month, &to_day, &to_month);
    if (leased(ex, sets, n, args, (uint64_t)day))
        return 0;
    pthread_once(&sha_once, sha_init);
    if ((rl = worker_state(ex->c->w)) == NULL || (ac = connection(rl)) == NULL ||
        (rl->stalled && rl->outstanding > 0) || (c = calloc(1, sizeof *c)) == NULL) {
        atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
        return gw_limits_take(ex, GW_TAKE_SHARED, gw_limits_share());
    }
    c->n = n;
    /* EVALSHA sha numkeys key... day month want (figures lease)...: RESP written from parts made
     * once */
    o = (size_t)sprintf(cmd, "*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n%d\r\n",
                        3 + n + 3 + 7 * n, script_sha, n);
    for (int i = 0; i < n; i++) {
        const struct pt_limits *l = sets[i];
        c->sets[i] = l;
        c->states[i] = l->state;
        c->args[i] = args[i];
        c->caller[i] = caller[i];
        memcpy(cmd + o, args[i]->key, args[i]->key_len);
        o += args[i]->key_len;
        quotas |= l->per_day > 0 || l->per_month > 0 || l->bytes_per_day > 0 ||
                  l->bytes_per_month > 0;
    }
    if (day != periods_day || month != periods_month) {
        char d[24], m[24];
        int dl = snprintf(d, sizeof d, "%lld", (long long)day);
        int ml = snprintf(m, sizeof m, "%lld", (long long)month);
        periods_len = (size_t)snprintf(periods_resp, sizeof periods_resp,
                                       "$%d\r\n%s\r\n$%d\r\n%s\r\n", dl, d, ml, m);
        periods_day = day;
        periods_month = month;
    }
    memcpy(cmd + o, periods_resp, periods_len);
    o += periods_len;
    now = gw_mono_us();
    if (quotas && now - rl->counts_at >= 1000000) {
        rl->counts_at = now;
        memcpy(cmd + o, "$1\r\n1\r\n", 7);
    } else {
        memcpy(cmd + o, "$1\r\n0\r\n", 7);
    }
    o += 7;
    for (int i = 0; i < n; i++) {
        struct gw_lease *ls = gw_limits_lease(c->states[i]);
        uint64_t want = lease_size(sets[i]);
        char num[24];
        int expect = 0;
        if (want > 1 &&
            atomic_compare_exchange_strong_explicit(&ls->asking, &expect, 1,
                                                    memory_order_acq_rel, memory_order_relaxed))
            c->asking[i] = 1;
        else
            want = 1;
        memcpy(cmd + o, args[i]->figs_resp, args[i]->figs_len);
        o += args[i]->figs_len;
        snprintf(num, sizeof num, "%llu", (unsigned long long)want);
        o += (size_t)sprintf(cmd + o, "$%zu\r\n%s\r\n", strlen(num), num);
    }
    c->ex = ex;
    c->rl = rl;
    c->deadline_us = gw_mono_us() + (int64_t)gw_cluster_conf()->timeout_ms * 1000;
    if (redisAsyncFormattedCommand(ac, reply_cb, c, cmd, o) != REDIS_OK) {
        asked(c);
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
