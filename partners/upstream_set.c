/* upstream_set.c: upstream sets (see upstream_set.h). */
#include "upstream_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "clock.h"
#include "conf_table.h"
#include "http_parser.h"
#include "resolve.h"

/* The names of enum pt_balance, for "balance". */
static const char *const balances[] = { "round_robin", "least_outstanding", "hash", NULL };

/* The sum of the targets' weights. */
static unsigned long
total_weight(const struct pt_upset *s)
{
    unsigned long total = 0;

    for (size_t i = 0; i < s->ntargets; i++)
        total += s->targets[i].weight;
    return total;
}

/* One turn of smooth weighted round robin: each step every target gains its weight, the one
 * ahead is picked and loses the sum. Over sum(weights) steps each target is picked weight times,
 * the picks of a heavy target spread between the others'. */
static int
make_turn(struct pt_upset *s)
{
    long cur[PT_SET_MAX_TARGETS] = {0};
    long total = (long)total_weight(s);

    if ((s->turn = malloc((size_t)total * sizeof *s->turn)) == NULL)
        return -1;
    s->nturn = (size_t)total;
    for (size_t k = 0; k < s->nturn; k++) {
        size_t best = 0;
        for (size_t i = 0; i < s->ntargets; i++) {
            cur[i] += s->targets[i].weight;
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= total;
        s->turn[k] = (uint16_t)best;
    }
    return 0;
}

/* 64-bit FNV-1a, then a finalizer that spreads every input bit over the result (MurmurHash3's). */
static uint64_t
hash64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static int
point_cmp(const void *a, const void *b)
{
    const struct pt_ring_point *x = a, *y = b;

    return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : (int)x->target - (int)y->target;
}

/* The hash ring: 160 points per target of the mean weight, in proportion to the weights (at least
 * one each: a target gets ceil(160 * n * weight / sum), at most 160 * n + n in all); a point's hash
 * is that of "URL#i", so a target's points do not depend on the others. */
static int
make_ring(struct pt_upset *s)
{
    unsigned long total = total_weight(s);

    if ((s->ring = malloc((161 * s->ntargets) * sizeof *s->ring)) == NULL)
        return -1;
    for (size_t i = 0; i < s->ntargets; i++) {
        size_t per = (160 * s->ntargets * s->targets[i].weight + total - 1) / total;
        for (size_t k = 0; k < per; k++) {
            char label[600];
            int len = snprintf(label, sizeof label, "%s#%zu", s->targets[i].up.url, k);
            s->ring[s->nring++] = (struct pt_ring_point){
                hash64(label, len > 0 && (size_t)len < sizeof label ? (size_t)len : 0),
                (uint16_t)i};
        }
    }
    qsort(s->ring, s->nring, sizeof *s->ring, point_cmp);
    return 0;
}

/* "hash_on": "partner" (the default) or "field:NAME". */
static int
load_hash_on(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_upset *s)
{
    char hpath[GW_JPATH_MAX];
    const char *on = gw_jctx_string(c, obj, path, "hash_on", 0);

    gw_jpath_key(hpath, sizeof hpath, path, "hash_on");
    if (on == NULL)
        return json_object_get(obj, "hash_on") != NULL ? -1 : 0;
    if (s->balance != PT_BALANCE_HASH) {
        gw_jctx_error(c, hpath, "only \"balance\": \"hash\" takes \"hash_on\" (this set's is "
                      "\"%s\")", balances[s->balance]);
        return -1;
    }
    if (strcmp(on, "partner") == 0)
        return 0;
    if (strncmp(on, "field:", 6) == 0 && gw_http_token_valid(on + 6, strlen(on + 6))) {
        return (s->hash_field = strdup(on + 6)) != NULL ? 0 : -1;
    }
    gw_jctx_error(c, hpath, "expected \"partner\" or \"field:NAME\" (NAME a request field's name), "
                  "got \"%s\"", on);
    return -1;
}

/* "outlier" and "retries": sections read through tables, as OTHER rows of the set's table. The
 * retries' default attempts (two tries in a set of two targets or more) is set by the caller. */
static void
read_section(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
             const struct gw_conf_key *table, void *base)
{
    char spath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, key, JSON_OBJECT, 0);

    gw_conf_read(c, v, gw_jpath_key(spath, sizeof spath, path, key), table, base, NULL);
}

static void
read_outlier(const struct gw_jctx *c, const json_t *obj, const char *path,
             const struct gw_conf_key *key, void *base)
{
    static const struct gw_conf_key table[] = {
        { GW_KEY_INT(struct pt_outlier, consecutive_failures, 0, 1000, 5) },
        { GW_KEY_INT(struct pt_outlier, base_ejection_ms, 100, 3600000, 10000) },
        { GW_KEY_INT(struct pt_outlier, max_ejection_percent, 1, 100, 50) },
        GW_KEY_END,
    };

    read_section(c, obj, path, key->name, table, &((struct pt_upset *)base)->outlier);
}

static void
read_retries(const struct gw_jctx *c, const json_t *obj, const char *path,
             const struct gw_conf_key *key, void *base)
{
    static const struct gw_conf_key table[] = {
        { GW_KEY_INT(struct pt_retry, attempts, 1, 5, 1), .flags = GW_CONF_KEEP },
        { GW_KEY_INT(struct pt_retry, budget_percent, 0, 100, 20) },
        { GW_KEY_INT(struct pt_retry, replay_bytes, 0, PT_SET_MAX_REPLAY, 65536) },
        GW_KEY_END,
    };

    read_section(c, obj, path, key->name, table, &((struct pt_upset *)base)->retry);
}

/* "statuses": [200, 204, ...] into the health check's bits (absent: every 2xx and 3xx). */
static void
read_statuses(const struct gw_jctx *c, const json_t *obj, const char *path,
              const struct gw_conf_key *key, void *base)
{
    struct pt_health *h = base;
    char spath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *arr = gw_jctx_get(c, obj, path, key->name, JSON_ARRAY, 0), *v;
    size_t i;

    if (arr == NULL) {
        for (int st = 200; st < 400; st++)
            h->statuses[st / 64] |= 1ULL << (st % 64);
        return;
    }
    gw_jpath_key(spath, sizeof spath, path, key->name);
    if (json_array_size(arr) == 0)
        gw_jctx_error(c, spath, "expected at least one status");
    json_array_foreach(arr, i, v) {
        json_int_t st = json_is_integer(v) ? json_integer_value(v) : 0;
        gw_jpath_index(ipath, sizeof ipath, spath, i);
        if (st < 100 || st > 599)
            gw_jctx_error(c, ipath, "expected a status from 100 to 599");
        else
            h->statuses[st / 64] |= 1ULL << (st % 64);
    }
}

/* A health check's request target: from "/", visible ASCII only. */
static int
path_valid(const char *p)
{
    if (p[0] != '/')
        return 0;
    for (; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static void
read_health(const struct gw_jctx *c, const json_t *obj, const char *path,
            const struct gw_conf_key *key, void *base)
{
    static const char *const methods[] = { "GET", "HEAD", "OPTIONS", NULL };
    static const struct gw_conf_key table[] = {
        { GW_KEY_STRING(struct pt_health, path, NULL), .flags = GW_CONF_REQUIRED },
        { GW_KEY_CHOICE(struct pt_health, method, methods, 0), .what = "GET, HEAD or OPTIONS" },
        { GW_KEY_OTHER("statuses", read_statuses) },
        { GW_KEY_STRING(struct pt_health, body_contains, NULL) },
        { GW_KEY_INT(struct pt_health, interval_ms, 100, 3600000, 5000) },
        { GW_KEY_INT(struct pt_health, timeout_ms, 10, 60000, 2000) },
        { GW_KEY_INT(struct pt_health, healthy_threshold, 1, 100, 2) },
        { GW_KEY_INT(struct pt_health, unhealthy_threshold, 1, 100, 3) },
        GW_KEY_END,
    };
    static const enum gw_http_method as_method[] = { GW_METHOD_GET, GW_METHOD_HEAD,
                                                     GW_METHOD_OPTIONS };
    struct pt_health *h = &((struct pt_upset *)base)->health;
    char hpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, key->name, JSON_OBJECT, 0);

    if (v == NULL)
        return;
    gw_jpath_key(hpath, sizeof hpath, path, key->name);
    if (gw_conf_read(c, v, hpath, table, h, NULL) > 0)
        return;
    h->on = 1;
    h->method = as_method[h->method];
    if (!path_valid(h->path))
        gw_jctx_error(c, gw_jpath_key(hpath, sizeof hpath, hpath, "path"),
                      "\"%s\" is not a request path (from \"/\", no spaces or controls)", h->path);
    else if (h->timeout_ms >= h->interval_ms)
        gw_jctx_error(c, gw_jpath_key(hpath, sizeof hpath, hpath, "timeout_ms"),
                      "%lld is not below interval_ms (%lld): a check ends before the next",
                      (long long)h->timeout_ms, (long long)h->interval_ms);
}

/* Target i of a set at tpath: a URL, or { "url": ..., "weight": ... }. */
static int
load_target(const struct gw_jctx *c, const json_t *v, const char *tpath, struct pt_target *t)
{
    static const char *const keys[] = { "url", "weight", "max_connections", NULL };
    char upath[GW_JPATH_MAX], err[512];
    const char *url;
    long long w = 1, max = 0;

    if (json_is_string(v)) {
        url = json_string_value(v);
        snprintf(upath, sizeof upath, "%s", tpath);
    } else if (json_is_object(v)) {
        if (gw_jctx_check_keys(c, v, tpath, keys) > 0 ||
            (url = gw_jctx_string(c, v, tpath, "url", 1)) == NULL ||
            gw_jctx_int(c, v, tpath, "weight", 1, PT_SET_MAX_WEIGHT, &w) < 0 ||
            gw_jctx_int(c, v, tpath, "max_connections", 1, 1000000, &max) < 0)
            return -1;
        gw_jpath_key(upath, sizeof upath, tpath, "url");
    } else {
        gw_jctx_error(c, tpath, "expected a URL or an object with \"url\" and \"weight\", got %s",
                      gw_json_type_name(v));
        return -1;
    }
    if (pt_upstream_parse(url, &t->up, err, sizeof err) < 0) {
        gw_jctx_error(c, upath, "%s", err);
        return -1;
    }
    if (t->up.kind != PT_UP_HTTP && t->up.kind != PT_UP_HTTPS) {
        gw_jctx_error(c, upath, "\"%s\": a set's targets are http:// or https:// URLs", url);
        pt_upstream_clear(&t->up);
        return -1;
    }
    t->weight = (unsigned)w;
    t->max_conns = (int)max;
    t->named = !gw_host_is_ip(t->up.host);
    return 0;
}

static void
upset_free(struct pt_upset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ntargets; i++)
        pt_upstream_clear(&s->targets[i].up);
    free(s->targets);
    free(s->turn);
    free(s->ring);
    free(s->hash_field);
    free(s->health.path);
    free(s->health.body_contains);
    free(s->name);
    free(s);
}

/* The set `name` at path, or NULL after reporting. */
static struct pt_upset *
load_set(const struct gw_jctx *c, const char *name, const json_t *obj, const char *path)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_OTHER("targets", NULL) }, /* first: what the others' defaults depend on */
        { GW_KEY_CHOICE(struct pt_upset, balance, balances, PT_BALANCE_ROUND_ROBIN),
          .what = "a balance (round_robin, least_outstanding or hash)" },
        { GW_KEY_OTHER("hash_on", NULL) },
        { GW_KEY_OTHER("outlier", read_outlier) },
        { GW_KEY_OTHER("retries", read_retries) },
        { GW_KEY_OTHER("health", read_health) },
        { GW_KEY_INT(struct pt_upset, resolve_ms, 1000, 86400000, 30000) },
        GW_KEY_END,
    };
    char tpath[GW_JPATH_MAX], apath[GW_JPATH_MAX];
    struct pt_upset *s;
    json_t *arr;
    size_t n;
    int bad = 0;

    if (!json_is_object(obj)) {
        gw_jctx_error(c, path, "expected an object with \"targets\", got %s", gw_json_type_name(obj));
        return NULL;
    }
    if (!pt_partner_id_valid(name)) {
        gw_jctx_error(c, path, "\"%s\" is not a set name ([a-z0-9][a-z0-9._-]*, at most 64)", name);
        return NULL;
    }
    if ((arr = gw_jctx_get(c, obj, path, "targets", JSON_ARRAY, 1)) == NULL)
        return NULL;
    gw_jpath_key(apath, sizeof apath, path, "targets");
    if ((n = json_array_size(arr)) == 0 || n > PT_SET_MAX_TARGETS) {
        gw_jctx_error(c, apath, "a set has 1 to %d targets, not %zu", PT_SET_MAX_TARGETS, n);
        return NULL;
    }
    if ((s = calloc(1, sizeof *s)) == NULL || (s->targets = calloc(n, sizeof *s->targets)) == NULL ||
        (s->name = strdup(name)) == NULL) {
        gw_jctx_error(c, path, "out of memory");
        upset_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        gw_jpath_index(tpath, sizeof tpath, apath, i);
        if (load_target(c, json_array_get(arr, i), tpath, &s->targets[s->ntargets]) < 0) {
            bad = 1;
            continue;
        }
        s->counting |= s->targets[s->ntargets].max_conns > 0;
        for (size_t j = 0; j < s->ntargets; j++)
            if (strcmp(s->targets[j].up.url, s->targets[s->ntargets].up.url) == 0) {
                gw_jctx_error(c, tpath, "\"%s\" is already target %zu of the set (give it a weight "
                              "instead)", s->targets[j].up.url, j);
                bad = 1;
            }
        s->ntargets++;
    }
    s->retry.attempts = n > 1 ? 2 : 1;
    bad |= gw_conf_read(c, obj, path, keys, s, NULL) > 0;
    bad |= load_hash_on(c, obj, path, s) < 0;
    s->counting |= s->balance == PT_BALANCE_LEAST_OUTSTANDING;
    if (bad || make_turn(s) < 0 || (s->balance == PT_BALANCE_HASH && make_ring(s) < 0)) {
        upset_free(s);
        return NULL;
    }
    atomic_init(&s->next, 0);
    for (size_t i = 0; i < s->ntargets; i++)
        atomic_init(&s->targets[i].healthy, 1);
    return s;
}

int
pt_upsets_load(const struct gw_jctx *c, const json_t *root, struct pt_upset ***sets, size_t *n)
{
    char path[GW_JPATH_MAX];
    json_t *obj = gw_jctx_get(c, root, "", "upstreams", JSON_OBJECT, 0), *v;
    const char *name;
    int rc = 0;

    *sets = NULL;
    *n = 0;
    if (obj == NULL)
        return json_object_get(root, "upstreams") != NULL ? -1 : 0;
    if ((*sets = calloc(json_object_size(obj) + 1, sizeof **sets)) == NULL) {
        gw_jctx_error(c, "upstreams", "out of memory");
        return -1;
    }
    json_object_foreach(obj, name, v) {
        struct pt_upset *s = load_set(c, name, v, gw_jpath_key(path, sizeof path, "upstreams", name));
        if (s == NULL)
            rc = -1;
        else
            (*sets)[(*n)++] = s;
    }
    return rc;
}

void
pt_upsets_free(struct pt_upset **sets, size_t n)
{
    for (size_t i = 0; i < n; i++)
        upset_free(sets[i]);
    free(sets);
}

struct pt_upset *
pt_upset_find(struct pt_upset *const *sets, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(sets[i]->name, name) == 0)
            return sets[i];
    return NULL;
}

/* Is target t out (ejected) at now (monotonic ms; 0 when the set ejects none)? */
static int
out(const struct pt_target *t, int64_t now)
{
    return now != 0 && atomic_load_explicit(&t->out_until, memory_order_relaxed) > now;
}

/* May t take an exchange: not out, and under its max_connections? */
static int
usable(const struct pt_target *t, int64_t now)
{
    return !out(t, now) && atomic_load_explicit(&t->healthy, memory_order_relaxed) &&
           (t->max_conns == 0 ||
                            atomic_load_explicit(&t->outstanding, memory_order_relaxed) <
                                t->max_conns);
}

/* Count an exchange on t, unless that would pass its max_connections (another worker was first). */
static int
reserve(struct pt_target *t)
{
    int n = atomic_load_explicit(&t->outstanding, memory_order_relaxed);

    do {
        if (t->max_conns > 0 && n >= t->max_conns)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&t->outstanding, &n, n + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return 1;
}

/* The usable target with the fewest exchanges under way for its weight (outstanding / weight,
 * compared as products), looked at from the round robin's next place so that ties go round. */
static struct pt_target *
least_outstanding(struct pt_upset *s, uint64_t k, int64_t now)
{
    size_t first = s->turn[k % s->nturn], best = SIZE_MAX;
    long best_n = 0;

    for (size_t j = 0; j < s->ntargets; j++) {
        size_t i = (first + j) % s->ntargets;
        long n = atomic_load_explicit(&s->targets[i].outstanding, memory_order_relaxed);
        if (!usable(&s->targets[i], now))
            continue;
        if (best == SIZE_MAX || n * (long)s->targets[best].weight < best_n * (long)s->targets[i].weight)
            best = i, best_n = n;
    }
    return best == SIZE_MAX ? NULL : &s->targets[best];
}

/* The first point of the ring at or after the key's hash (the ring goes round) whose target is
 * usable. */
static struct pt_target *
on_ring(struct pt_upset *s, const char *key, size_t keylen, int64_t now)
{
    uint64_t h = hash64(key, keylen);
    size_t lo = 0, hi = s->nring;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ring[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t j = 0; j < s->nring; j++) {
        struct pt_target *t = &s->targets[s->ring[(lo + j) % s->nring].target];
        if (usable(t, now))
            return t;
    }
    return NULL;
}

/* Monotonic milliseconds when the set ejects targets, else 0 (then none is ever out). */
static int64_t
ejecting_now(const struct pt_upset *s)
{
    return s->outlier.consecutive_failures != 0 && s->ntargets > 1 ? gw_mono_us() / 1000 : 0;
}

/* A usable target by the set's balance, or NULL. */
static struct pt_target *
choose(struct pt_upset *s, const char *key, size_t keylen, int64_t now)
{
    size_t in = 0;

    for (size_t i = 0; i < s->ntargets && in == 0; i++)
        in += usable(&s->targets[i], now);
    if (in == 0)
        return NULL;
    if (s->balance == PT_BALANCE_HASH && key != NULL)
        return on_ring(s, key, keylen, now);
    uint64_t k = atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);

    if (s->balance == PT_BALANCE_LEAST_OUTSTANDING)
        return least_outstanding(s, k, now);
    for (size_t j = 0; j < s->nturn; j++) {
        struct pt_target *t = &s->targets[s->turn[(k + j) % s->nturn]];
        if (usable(t, now))
            return t;
    }
    return NULL;
}

const struct pt_upstream *
pt_upset_pick(struct pt_upset *s, const char *key, size_t keylen)
{
    int64_t now = ejecting_now(s);

    /* a few tries: another worker may take a target's last connection between choice and count */
    for (int tries = 0; tries < 4; tries++) {
        struct pt_target *t = choose(s, key, keylen, now);
        if (t == NULL)
            return NULL;
        if (!s->counting || reserve(t))
            return &t->up;
    }
    return NULL;
}

void
pt_upset_result(struct pt_upset *s, const struct pt_upstream *target, int ok)
{
    struct pt_target *t = (struct pt_target *)(void *)target;
    int64_t now;
    size_t nout = 0, cap;
    int row, fails;

    if (ok) { /* (written only when it changes: the workers share these lines) */
        if (atomic_load_explicit(&t->fails, memory_order_relaxed) != 0)
            atomic_store_explicit(&t->fails, 0, memory_order_relaxed);
        if (atomic_load_explicit(&t->ejections, memory_order_relaxed) != 0 &&
            !out(t, ejecting_now(s))) /* back: the next ejection is a first one again */
            atomic_store_explicit(&t->ejections, 0, memory_order_relaxed);
        return;
    }
    if ((now = ejecting_now(s)) == 0)
        return;
    if (out(t, now))
        return; /* what was under way when it went out */
    fails = atomic_fetch_add_explicit(&t->fails, 1, memory_order_relaxed) + 1;
    row = atomic_load_explicit(&t->ejections, memory_order_relaxed);
    if (row == 0 && fails < (int)s->outlier.consecutive_failures)
        return; /* (after an ejection, its first answer decides) */
    for (size_t i = 0; i < s->ntargets; i++)
        nout += out(&s->targets[i], now);
    cap = s->ntargets * s->outlier.max_ejection_percent / 100;
    if (nout >= (cap > 0 ? cap : 1))
        return;
    atomic_store_explicit(&t->fails, 0, memory_order_relaxed);
    atomic_store_explicit(&t->ejections, row + 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->ejected_total, 1, memory_order_relaxed);
    atomic_store_explicit(&t->out_until, now + s->outlier.base_ejection_ms * (row < 10 ? row + 1 : 10),
                          memory_order_relaxed);
}

/* The budget's counts move to a new 10 s window (the current one's become the previous one's,
 * or nothing when a window passed without exchanges). At the turn two workers may count into the
 * window being moved: the budget is a share over time, and a count lost there changes nothing. */
static void
retry_window(struct pt_retry *r)
{
    int64_t w = gw_mono_us() / 10000000, old = atomic_load_explicit(&r->window, memory_order_relaxed);

    if (old != w && atomic_compare_exchange_strong(&r->window, &old, w)) {
        int last = w == old + 1;
        atomic_store_explicit(&r->prev_requests,
                              last ? atomic_load_explicit(&r->requests, memory_order_relaxed) : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&r->prev_retries,
                              last ? atomic_load_explicit(&r->retries, memory_order_relaxed) : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&r->requests, 0, memory_order_relaxed);
        atomic_store_explicit(&r->retries, 0, memory_order_relaxed);
    }
}

void
pt_upset_started(struct pt_upset *s)
{
    if (s->ntargets < 2)
        return;
    retry_window(&s->retry);
    atomic_fetch_add_explicit(&s->retry.requests, 1, memory_order_relaxed);
}

int
pt_upset_may_retry(struct pt_upset *s, unsigned attempts, unsigned tries)
{
    struct pt_retry *r = &s->retry;
    long requests, before, allowed;

    if (tries + 1 >= attempts || s->ntargets < 2)
        return 0;
    retry_window(r);
    requests = atomic_load_explicit(&r->requests, memory_order_relaxed) +
               atomic_load_explicit(&r->prev_requests, memory_order_relaxed);
    before = atomic_load_explicit(&r->prev_retries, memory_order_relaxed);
    /* the budget's share of the exchanges, and always a few (a quiet set may retry) */
    allowed = requests * (long)r->budget_percent / 100;
    if (allowed < 3 && r->budget_percent > 0)
        allowed = 3;
    if (before + atomic_fetch_add_explicit(&r->retries, 1, memory_order_relaxed) >= allowed) {
        atomic_fetch_sub_explicit(&r->retries, 1, memory_order_relaxed);
        return 0;
    }
    atomic_fetch_add_explicit(&r->retried_total, 1, memory_order_relaxed);
    return 1;
}

void
pt_upset_set_health(struct pt_upset *s, size_t i, int healthy)
{
    struct pt_target *t = &s->targets[i];

    atomic_store_explicit(&t->healthy, healthy, memory_order_relaxed);
    if (healthy && atomic_load_explicit(&t->out_until, memory_order_relaxed) != 0) {
        atomic_store_explicit(&t->fails, 0, memory_order_relaxed);
        atomic_store_explicit(&t->out_until, 0, memory_order_relaxed);
    }
}

int
pt_upset_health_ok(const struct pt_upset *s, int status, const char *body, size_t len)
{
    const struct pt_health *h = &s->health;

    if (status < 100 || status > 599 || !(h->statuses[status / 64] & (1ULL << (status % 64))))
        return 0;
    return h->body_contains == NULL ||
           (body != NULL && memmem(body, len, h->body_contains, strlen(h->body_contains)) != NULL);
}

int64_t
pt_upset_back_in_ms(const struct pt_upset *s)
{
    int64_t now = gw_mono_us() / 1000, first = INT64_MAX;

    for (size_t i = 0; i < s->ntargets; i++) {
        int64_t u = atomic_load_explicit(&s->targets[i].out_until, memory_order_relaxed);
        if (u > now && u - now < first)
            first = u - now;
    }
    if (first == INT64_MAX) /* none is out: unhealthy (the next check), or full */
        return s->health.on ? s->health.interval_ms : 1;
    return first;
}

void
pt_upset_done(struct pt_upset *s, const struct pt_upstream *target)
{
    struct pt_target *t = (struct pt_target *)(void *)target;

    if (s->counting)
        atomic_fetch_sub_explicit(&t->outstanding, 1, memory_order_relaxed);
}
