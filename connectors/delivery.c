/* delivery.c: the delivery thread and its log (see delivery.h).
 *
 * The thread runs an event loop of its own, with the http connector's state for it (a pool, as a
 * worker has). Every tick it reads the records appended since, in log order, into deliveries in
 * memory (at most MAX_ITEMS; the log keeps the rest): a message becomes a delivery, waiting behind
 * the one before it of its partner on its route when the route is ordered; an outcome (written by
 * a run that ended before its checkpoint) ends the delivery it names. Deliveries that are due start
 * an attempt, at most max_in_flight at once. The trim point moves over the prefix of records whose
 * deliveries ended.
 */
#include "delivery_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alloc.h"
#include "clock.h"
#include "conf_table.h"
#include "log.h"
#include "snapshot.h"
#include "text.h"
#include "wal.h"

#define MAX_ITEMS 65536         /* deliveries in memory, at most */
#define TICK_MS 10
#define ACK_EVERY_MS 100
#define DEAD_RETRY_MS 5000      /* a dead letter the outbox could not take is tried again */
#define QUEUES 4096

struct queue;

struct item {
    uint64_t next;              /* the log position after its record */
    char *raw;                  /* the record's copy (NULL for an outcome) */
    struct dv_rec m;
    int ended;
    int attempts;
    int status;                 /* the last attempt's answer; 0: none */
    char error[160];
    struct event *timer;        /* its next attempt (or dead letter) */
    struct queue *q;            /* ordered: its partner's queue on its route */
    struct item *qnext;
    struct dv_attempt *att;     /* under way */
    int dead;                   /* its dead letter is to be written */
};

struct queue {
    char *key;
    struct item *head, *tail;
    struct queue *hnext;
};

struct dv {
    struct cn_delivery_conf conf;
    struct gw_wal *wal;
    pthread_t thread;
    int started;
    atomic_int stopping;
    int flush_ms;
    struct event_base *base;
    struct event *tick;
    void *http;
    struct pt_snapshot *_Atomic next_snap;
    const struct ex_settings *_Atomic next_set;
    /* the thread's */
    struct pt_snapshot *snap;
    const struct ex_settings *set;
    const struct ex_observers *obs; /* the delivery thread's (the audit) */
    struct item **ring;         /* [tail, head) in log order */
    uint64_t head, tail;
    uint64_t readpos, start_end;/* the next record to read; the log's end when opened */
    uint64_t acked;
    int acked_dirty;
    int in_flight;
    struct item **ready;        /* due, waiting for room */
    size_t nready, ready_cap;
    struct queue *queues[QUEUES];
    int64_t last_ack, last_sync, deadline;
};

static struct dv *_Atomic the;

/* ---- settings ---- */

/* "log": the delivery log's settings (read, with their defaults, when absent too). */
static void
log_load(const struct gw_jctx *c, const json_t *obj, const char *path,
         const struct gw_conf_key *key, void *base)
{
    char p[GW_JPATH_MAX];

    cn_outbox_conf_load(c, obj != NULL ? gw_jctx_get(c, obj, path, key->name, JSON_OBJECT, 0)
                                       : NULL,
                        gw_jpath_key(p, sizeof p, path, key->name), "deliveries",
                        &((struct cn_delivery_conf *)base)->log);
}

int
cn_delivery_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                      struct cn_delivery_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_INT(struct cn_delivery_conf, max_in_flight, 1, 10000, 64) },
        { GW_KEY_INT(struct cn_delivery_conf, statuses, 0, 10000000, 100000) },
        { GW_KEY_OTHER("log", log_load) },
        GW_KEY_END,
    };
    int bad = gw_conf_read(c, obj, path, keys, out, NULL);

    if (obj == NULL) /* (an OTHER row's reader is called only for a section that is there) */
        log_load(c, NULL, path, &keys[2], out);
    return bad;
}

void
cn_delivery_conf_free(struct cn_delivery_conf *d)
{
    cn_outbox_conf_free(&d->log);
    memset(d, 0, sizeof *d);
}

int
cn_delivery_conf_same(const struct cn_delivery_conf *a, const struct cn_delivery_conf *b)
{
    return cn_outbox_conf_same(&a->log, &b->log) && a->max_in_flight == b->max_in_flight &&
           a->statuses == b->statuses;
}

/* ---- putting ---- */

struct fill_arg {
    const char *p;
    size_t n;
};

static size_t
fill(void *arg, uint64_t seq, const unsigned char prev[32], struct gw_wal_piece *part,
     unsigned char hash[32])
{
    const struct fill_arg *a = arg;

    (void)seq;
    (void)prev;
    memset(hash, 0, 32);
    part[0] = (struct gw_wal_piece){a->p, a->n};
    return 1;
}

static int
append(struct dv *d, const char *p, size_t n)
{
    struct fill_arg a = {p, n};
    return gw_wal_append(d->wal, 0, n, fill, &a);
}

int
dv_put(const struct gw_exchange *ex)
{
    struct dv *d = atomic_load(&the);
    struct dv_status s = {.state = CN_DV_PENDING};
    size_t n;
    char *rec;
    int rc;

    if (d == NULL)
        return -2;
    if ((rec = dv_message_record(ex, &n)) == NULL || n + 64 > d->conf.log.ring_bytes / 2) {
        free(rec);
        return -3;
    }
    snprintf(s.route, sizeof s.route, "%s", ex->route->name);
    dv_status_set(ex->request_id, ex->partner != NULL ? ex->partner->id : NULL, &s);
    rc = append(d, rec, n);
    free(rec);
    if (rc < 0) {
        s.state = CN_DV_UNKNOWN;
        dv_status_set(ex->request_id, ex->partner != NULL ? ex->partner->id : NULL, &s);
    }
    return rc;
}

/* ---- the deliveries ---- */

static int64_t
now_ms(void)
{
    return gw_mono_us() / 1000;
}

static const struct pt_route *
route_of(const struct dv *d, const struct dv_rec *m)
{
    for (size_t i = 0; d->snap != NULL && i < d->snap->nroutes; i++) {
        const struct pt_route *r = d->snap->routes[i];
        const char *owner = r->owner != NULL ? r->owner->id : "";
        if (strcmp(r->name, m->route) == 0 && strcmp(owner, m->owner) == 0 &&
            (r->connector == &cn_delivery || r->connector == &cn_http))
            return r;
    }
    return NULL;
}

static const struct dv_route *
options(const struct pt_route *r)
{
    static const struct dv_route dflt = {10, 86400000, 1000, 300000, 1, "portico.dead-letters"};
    return r != NULL && r->connector == &cn_delivery ? r->cn_conf : &dflt;
}

static void
status_of(const struct item *it, enum cn_delivery_state st)
{
    struct dv_status s = {.state = st, .status = it->status, .attempts = it->attempts};

    snprintf(s.error, sizeof s.error, "%s", it->error);
    snprintf(s.route, sizeof s.route, "%s", it->m.route);
    dv_status_set(it->m.id, it->m.partner, &s);
}

static void make_due(struct dv *d, struct item *it, int64_t at);

/* The delivery ended: written down, and the next of its queue may go. */
static void
finish(struct dv *d, struct item *it, enum cn_delivery_state st, int write)
{
    char *rec;
    size_t n;

    it->ended = 1;
    status_of(it, st);
    if (write && (rec = dv_outcome_record(it->m.id, st, it->status, it->attempts, it->error,
                                          &n)) != NULL) {
        if (append(d, rec, n) < 0)
            gw_log(GW_LOG_WARN, "delivery %s: the log is full, its outcome is not written: a "
                   "restart before the checkpoint passes it would deliver it again", it->m.id);
        free(rec);
    }
    if (it->q != NULL && it->q->head == it) { /* the next of the queue may go */
        it->q->head = it->qnext;
        if (it->q->head == NULL)
            it->q->tail = NULL;
        else
            make_due(d, it->q->head, 0);
    } else if (it->q != NULL) { /* ended before its turn (an outcome the last run wrote) */
        struct item *p = it->q->head;
        while (p != NULL && p->qnext != it)
            p = p->qnext;
        if (p != NULL) {
            p->qnext = it->qnext;
            if (it->q->tail == it)
                it->q->tail = p;
        }
    }
    it->q = NULL;
}

/* The dead letter: the message to the route's dead-letter topic through the Kafka outbox. */
static void
dead_letter(struct dv *d, struct item *it)
{
    const struct dv_route *o = options(route_of(d, &it->m));
    struct cn_outbox *ob = cn_kafka_outbox();
    char attempts[16], status[16];
    struct cn_kafka_header hs[6];
    size_t nh = 0;
    int rc;

    snprintf(attempts, sizeof attempts, "%d", it->attempts);
    snprintf(status, sizeof status, "%d", it->status);
    hs[nh++] = (struct cn_kafka_header){"delivery-id", it->m.id, strlen(it->m.id)};
    hs[nh++] = (struct cn_kafka_header){"route", it->m.route, strlen(it->m.route)};
    if (it->m.partner[0] != '\0')
        hs[nh++] = (struct cn_kafka_header){"partner-id", it->m.partner, strlen(it->m.partner)};
    hs[nh++] = (struct cn_kafka_header){"error", it->error, strlen(it->error)};
    hs[nh++] = (struct cn_kafka_header){"attempts", attempts, strlen(attempts)};
    hs[nh++] = (struct cn_kafka_header){"status", status, strlen(status)};
    struct cn_outbox_msg msg = {o->dead_letter, it->m.partner[0] != '\0' ? it->m.partner : NULL,
                                strlen(it->m.partner), hs, nh, it->m.body, it->m.body_len};
    rc = ob != NULL ? cn_outbox_put(ob, &msg) : CN_OUTBOX_FULL;
    if (rc == CN_OUTBOX_FULL) {
        gw_log(GW_LOG_WARN, "delivery %s: the Kafka outbox %s; the dead letter is tried again "
               "in %d s", it->m.id, ob != NULL ? "is full" : "is not open", DEAD_RETRY_MS / 1000);
        make_due(d, it, now_ms() + DEAD_RETRY_MS);
        return;
    }
    if (rc == CN_OUTBOX_TOO_LARGE)
        gw_log(GW_LOG_ERROR, "delivery %s: too large for the outbox's dead-letter topic %s: "
               "dropped", it->m.id, o->dead_letter);
    gw_log(GW_LOG_WARN, "delivery %s (route %s) is dead after %d attempts: %s; in the "
           "dead-letter topic %s", it->m.id, it->m.route, it->attempts, it->error,
           o->dead_letter);
    finish(d, it, CN_DV_DEAD, 1);
}

static void start_one(struct dv *d, struct item *it);

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct item *it = arg;
    struct dv *d = atomic_load(&the);

    (void)fd;
    (void)what;
    if (it->ended)
        return;
    if (it->dead)
        dead_letter(d, it);
    else
        start_one(d, it);
}

/* Due at `at` (monotonic ms; 0: now): its timer starts it then. */
static void
make_due(struct dv *d, struct item *it, int64_t at)
{
    int64_t wait = at == 0 ? 0 : at - now_ms();
    struct timeval tv = {wait > 0 ? wait / 1000 : 0, wait > 0 ? (wait % 1000) * 1000 : 0};

    if (it->timer == NULL)
        it->timer = evtimer_new(d->base, timer_cb, it);
    evtimer_add(it->timer, &tv);
}

/* What the attempt's audit event says of the delivery. */
static void
tell(struct gw_exchange *ex, const struct item *it, const char *outcome, int64_t next_ms,
     const char *dead_letter)
{
    struct ex_delivery *x = gw_arena_alloc(&ex->arena, sizeof *x);

    *x = (struct ex_delivery){.id = it->m.id, .attempt = it->attempts, .outcome = outcome,
                              .accepted_us = it->m.accepted_us,
                              .next_us = next_ms > 0 ? gw_wall_us() + (uint64_t)next_ms * 1000 : 0,
                              .dead_letter = dead_letter};
    ex->delivery = x;
}

static void
attempt_done(void *arg, struct gw_exchange *ex, int status, const char *error)
{
    struct item *it = arg;
    struct dv *d = atomic_load(&the);
    const struct dv_route *o = options(route_of(d, &it->m));
    int64_t age_ms = (int64_t)((uint64_t)time(NULL) * 1000 - it->m.accepted_us / 1000);
    int64_t back;
    unsigned r;

    d->in_flight--;
    it->att = NULL;
    it->attempts++;
    it->status = status;
    if (status >= 200 && status < 400) {
        it->error[0] = '\0';
        tell(ex, it, "delivered", 0, NULL);
        finish(d, it, CN_DV_DELIVERED, 1);
        return;
    }
    if (error != NULL)
        snprintf(it->error, sizeof it->error, "%s", error);
    else
        snprintf(it->error, sizeof it->error, "the upstream answered %d", status);
    if (status != 0 && status != 408 && status != 425 && status != 429 && status < 500) {
        it->dead = 1; /* the upstream refused it: another attempt would be refused too */
    } else if (it->attempts >= o->attempts || age_ms >= o->max_age_ms) {
        it->dead = 1;
    }
    if (it->dead) {
        tell(ex, it, "dead", 0, o->dead_letter);
        dead_letter(d, it);
        return;
    }
    /* exponential, with jitter: half the step, plus a random part of the other half */
    back = (int64_t)o->backoff_ms << (it->attempts - 1 < 20 ? it->attempts - 1 : 20);
    if (back > o->max_backoff_ms)
        back = o->max_backoff_ms;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (unsigned)rand();
    back = back / 2 + (int64_t)(r % (unsigned)(back / 2 + 1));
    tell(ex, it, "retry", back, NULL);
    status_of(it, CN_DV_PENDING);
    make_due(d, it, now_ms() + back);
}

/* Start an attempt now, or when there is room. */
static void
start_one(struct dv *d, struct item *it)
{
    const struct pt_route *r;

    if (it->ended || it->att != NULL)
        return;
    if (d->in_flight >= d->conf.max_in_flight || atomic_load(&d->stopping)) {
        if (d->nready == d->ready_cap) {
            d->ready_cap = d->ready_cap ? 2 * d->ready_cap : 256;
            d->ready = gw_xrealloc(d->ready, d->ready_cap * sizeof *d->ready);
        }
        d->ready[d->nready++] = it;
        return;
    }
    if ((r = route_of(d, &it->m)) == NULL) {
        snprintf(it->error, sizeof it->error, "route %s is not in the configuration any more",
                 it->m.route);
        it->dead = 1;
        dead_letter(d, it);
        return;
    }
    it->att = dv_attempt_start(d->base, d->snap, d->set, r, d->http, d->obs, &it->m,
                               attempt_done, it);
    if (it->att == NULL) {
        make_due(d, it, now_ms() + 1000);
        return;
    }
    d->in_flight++;
}

static void
start_ready(struct dv *d)
{
    size_t i = 0, n = d->nready;

    while (i < n && d->in_flight < d->conf.max_in_flight && !atomic_load(&d->stopping)) {
        struct item *it = d->ready[i++];
        start_one(d, it);
    }
    if (i == 0)
        return;
    memmove(d->ready, d->ready + i, (d->nready - i) * sizeof *d->ready);
    d->nready -= i;
}

static struct queue *
queue_of(struct dv *d, const struct dv_rec *m)
{
    size_t n = strlen(m->owner) + strlen(m->route) + strlen(m->partner) + 3;
    char *key = gw_xmalloc(n);
    struct queue **p;

    snprintf(key, n, "%s\x1f%s\x1f%s", m->owner, m->route, m->partner);
    for (p = &d->queues[gw_str_hash(key) % QUEUES]; *p != NULL && strcmp((*p)->key, key) != 0; p = &(*p)->hnext)
        ;
    if (*p == NULL) {
        *p = gw_xcalloc(1, sizeof **p);
        (*p)->key = key;
    } else {
        free(key);
    }
    return *p;
}

/* An outcome the last run wrote: the delivery it names ended then. */
static void
ended_before(struct dv *d, const struct dv_rec *o)
{
    for (uint64_t i = d->head; i-- > d->tail;) {
        struct item *it = d->ring[i % MAX_ITEMS];
        if (it->raw != NULL && !it->ended && strcmp(it->m.id, o->id) == 0) {
            it->status = o->status;
            it->attempts = o->attempts;
            snprintf(it->error, sizeof it->error, "%s", o->error);
            if (it->timer != NULL)
                evtimer_del(it->timer);
            finish(d, it, o->outcome == CN_DV_DEAD ? CN_DV_DEAD : CN_DV_DELIVERED, 0);
            return;
        }
    }
}

static void
read_new(struct dv *d)
{
    struct gw_wal_rec r;

    while (d->head - d->tail < MAX_ITEMS && gw_wal_read(d->wal, d->readpos, &r) == 1) {
        struct item *it = gw_xcalloc(1, sizeof *it);
        struct dv_rec rec;
        char *raw = gw_xmalloc(r.len + 1);

        memcpy(raw, r.value, r.len);
        it->next = r.next;
        d->ring[d->head++ % MAX_ITEMS] = it;
        if (dv_record_read(raw, r.len, &rec) < 0 || rec.kind != DV_REC_MESSAGE) {
            if (rec.kind == DV_REC_OUTCOME && d->readpos < d->start_end)
                ended_before(d, &rec);
            else if (rec.kind != DV_REC_OUTCOME)
                gw_log(GW_LOG_ERROR, "deliveries: record %" PRIu64 " is not one; skipped", r.seq);
            free(raw);
            it->ended = 1;
            d->readpos = r.next;
            continue;
        }
        d->readpos = r.next;
        it->raw = raw;
        it->m = rec;
        status_of(it, CN_DV_PENDING);
        if (options(route_of(d, &it->m))->ordered) {
            it->q = queue_of(d, &it->m);
            if (it->q->tail != NULL) {
                it->q->tail->qnext = it;
                it->q->tail = it;
                continue; /* behind the one before it */
            }
            it->q->head = it->q->tail = it;
        }
        make_due(d, it, 0);
    }
}

/* Move the trim point over the records whose deliveries ended, in log order. */
static void
advance(struct dv *d)
{
    while (d->tail < d->head && d->ring[d->tail % MAX_ITEMS]->ended &&
           d->ring[d->tail % MAX_ITEMS]->att == NULL) {
        struct item *it = d->ring[d->tail++ % MAX_ITEMS];
        d->acked = it->next;
        d->acked_dirty = 1;
        if (it->timer != NULL)
            event_free(it->timer);
        free(it->raw);
        free(it);
    }
}

static void
checkpoint(struct dv *d)
{
    static const unsigned char zero[32];

    if (d->acked_dirty)
        gw_wal_ack(d->wal, d->acked, 0, zero);
    d->acked_dirty = 0;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dv *d = arg;
    struct pt_snapshot *s = atomic_exchange(&d->next_snap, NULL);
    int64_t now = now_ms();

    (void)fd;
    (void)what;
    if (s != NULL) {
        pt_snapshot_unref(d->snap);
        d->snap = s;
        d->set = atomic_load(&d->next_set);
    }
    if (atomic_load(&d->stopping)) {
        if (d->deadline == 0)
            d->deadline = now + d->flush_ms;
        if (d->in_flight == 0 || now >= d->deadline) {
            event_base_loopbreak(d->base);
            return;
        }
    } else {
        read_new(d);
        start_ready(d);
    }
    gw_wal_flush_some(d->wal);
    advance(d);
    if (now - d->last_ack >= ACK_EVERY_MS) {
        checkpoint(d);
        d->last_ack = now;
    }
    if (now - d->last_sync >= d->conf.log.fsync_ms) {
        gw_wal_flush(d->wal);
        gw_wal_sync(d->wal);
        d->last_sync = now;
    }
}

static void *
delivery_main(void *arg)
{
    struct dv *d = arg;

    pthread_setname_np(pthread_self(), "portico-deliver");
    event_base_dispatch(d->base);
    /* what is under way is given up: it is delivered again after the next start */
    for (uint64_t i = d->tail; i < d->head; i++) {
        struct item *it = d->ring[i % MAX_ITEMS];
        if (it->att != NULL) {
            dv_attempt_cancel(it->att);
            it->att = NULL;
        }
    }
    advance(d);
    checkpoint(d);
    gw_wal_flush(d->wal);
    gw_wal_sync(d->wal);
    return NULL;
}

/* ---- start and stop ---- */

static int
needs_deliveries(const struct pt_snapshot *snap)
{
    for (size_t i = 0; i < snap->nroutes; i++)
        if (snap->routes[i]->connector == &cn_delivery)
            return 1;
    return 0;
}

static void
dv_free(struct dv *d)
{
    for (uint64_t i = d->tail; i < d->head; i++) {
        struct item *it = d->ring[i % MAX_ITEMS];
        if (it->timer != NULL)
            event_free(it->timer);
        free(it->raw);
        free(it);
    }
    for (size_t i = 0; i < QUEUES; i++)
        for (struct queue *q = d->queues[i], *n; q != NULL; q = n) {
            n = q->hnext;
            free(q->key);
            free(q);
        }
    if (d->http != NULL)
        cn_http.worker_free(d->http);
    if (d->tick != NULL)
        event_free(d->tick);
    if (d->base != NULL)
        event_base_free(d->base);
    gw_wal_close(d->wal);
    pt_snapshot_unref(d->snap);
    pt_snapshot_unref(atomic_load(&d->next_snap));
    free(d->ring);
    free(d->ready);
    cn_delivery_conf_free(&d->conf);
    free(d);
    dv_status_free();
}

int
cn_delivery_open(const struct cn_delivery_conf *conf, struct pt_snapshot *snap,
                 const struct ex_settings *settings, const struct ex_observers *obs, char *err,
                 size_t errlen)
{
    struct dv *d = atomic_load(&the);
    char path[4096];

    if (d != NULL) { /* running: the next snapshot */
        atomic_store(&d->next_set, settings);
        pt_snapshot_unref(atomic_exchange(&d->next_snap, pt_snapshot_ref(snap)));
        return 0;
    }
    snprintf(path, sizeof path, "%s/checkpoint", conf->log.dir);
    if (!needs_deliveries(snap) && access(path, F_OK) != 0)
        return 0;
    d = gw_xcalloc(1, sizeof *d);
    d->conf = *conf;
    d->conf.log.dir = gw_xstrdup(conf->log.dir);
    d->conf.log.ring_dir = gw_xstrdup(conf->log.ring_dir);
    d->ring = gw_xcalloc(MAX_ITEMS, sizeof *d->ring);
    dv_status_init((size_t)conf->statuses);
    if ((d->wal = gw_wal_open("deliveries", d->conf.log.dir, d->conf.log.max_bytes,
                              d->conf.log.ring_dir, (size_t)d->conf.log.ring_bytes, err,
                              errlen)) == NULL)
        goto fail;
    d->readpos = d->acked = gw_wal_acked(d->wal);
    d->start_end = gw_wal_end(d->wal);
    d->snap = pt_snapshot_ref(snap);
    d->set = settings;
    d->obs = obs;
    d->last_ack = d->last_sync = now_ms();
    if ((d->base = event_base_new()) == NULL ||
        (d->http = cn_http.worker_new(d->base, 64, 60000)) == NULL ||
        (d->tick = event_new(d->base, -1, EV_PERSIST, tick_cb, d)) == NULL ||
        event_add(d->tick, &(struct timeval){0, TICK_MS * 1000}) < 0) {
        snprintf(err, errlen, "deliveries: cannot make the delivery thread's event loop");
        goto fail;
    }
    atomic_store(&the, d);
    if (pthread_create(&d->thread, NULL, delivery_main, d) != 0) {
        atomic_store(&the, NULL);
        snprintf(err, errlen, "deliveries: cannot start the delivery thread");
        goto fail;
    }
    d->started = 1;
    gw_log(GW_LOG_INFO, "deliveries: log %s (%" PRIu64 " records left by the last run)",
           d->conf.log.dir, gw_wal_opened_records(d->wal));
    return 0;
fail:
    dv_free(d);
    return -1;
}

void
cn_delivery_close(int flush_ms)
{
    struct dv *d = atomic_load(&the);

    if (d == NULL)
        return;
    d->flush_ms = flush_ms;
    atomic_store(&d->stopping, 1);
    pthread_join(d->thread, NULL);
    atomic_store(&the, NULL);
    dv_free(d);
}
