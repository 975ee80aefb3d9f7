/* audit.c: the node's audit log: chaining, appending, and the shipper thread (see audit.h).
 *
 * The shipper reads the write-ahead log in order and produces each record to Kafka without a copy
 * (the payload stays in the mapped segment until Kafka acknowledged it). Delivery reports arrive
 * per partition, so out of the log's order across partitions: the records in flight sit in a ring
 * in log order, and the trim point moves over the prefix that is acknowledged. The producer's
 * message timeout is infinite: while the broker is away, librdkafka holds what it has, the log
 * holds the rest, and both go out in order when the broker is back.
 */
#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "dev_broker.h"
#include "jsonw.h"
#include "log.h"
#include "wal.h"

#define RING_SIZE 65536        /* records in flight, at most */
#define ACK_EVERY_MS 100       /* how often the checkpoint follows Kafka's acknowledgements */
#define REFUSE_HEADROOM (1u << 20) /* reject policy: room kept for exchanges already under way */
#define CHAIN_FIELDS 200       /* the bytes ,"hash":"..." ,"prev":"..." ,"seq":N take at most */
/* While the brokers seem out of reach (watch_brokers): how often one is asked for metadata, how
 * long the shipper waits for the answer, how long an outage lasts before it is told (a broker
 * that closed an idle connection is back within it), and how often it is summed up after that. */
#define PROBE_EVERY_MS 1000
#define PROBE_WAIT_MS 100
#define DOWN_GRACE_MS 2000
#define DOWN_NOTE_MS 60000

struct flight {
    uint64_t next;             /* the log position after the record */
    uint64_t seq;
    unsigned char hash[32];
    int done;
};

/* When an event was appended (oldest unshipped age, for metrics), in a ring by seq. */
#define AGE_RING 4096
struct appended_at {
    _Atomic uint64_t seq;
    _Atomic int64_t ms;         /* CLOCK_MONOTONIC_COARSE */
};

struct au_log {
    struct au_conf conf;
    char *node;
    struct gw_wal *wal;
    struct au_dev_broker *broker;
    char *bootstraps;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_t thread;
    int started;
    atomic_int stopping;
    int flush_ms;
    /* shipper's state (its thread only) */
    struct flight *ring;
    uint64_t head, tail;       /* ring counters: [tail, head) are in flight */
    uint64_t ship;             /* the next log position to produce */
    int restart;               /* a delivery failed for good: start again from the trim point */
    uint64_t acked_lsn, acked_seq;
    unsigned char acked_hash[32];
    /* the brokers' reachability (watch_brokers; the callbacks run on the thread that polls) */
    int64_t down_since;        /* the first sign of an outage (now_ms); 0: reachable */
    int64_t last_probe, last_note;
    int down_told;             /* the outage's warning was logged */
    int delivered;             /* Kafka acknowledged an event since down_since */
    char down_why[256];        /* librdkafka's latest word on it */
    uint64_t purged;           /* events producer_free took back from librdkafka */
    /* counters */
    atomic_uint_fast64_t appended, dropped, shipped;
    struct appended_at *ages;  /* AGE_RING of them */
    _Atomic uint64_t last_seq, acked_seq_pub; /* the last appended; the last Kafka acknowledged */
    int64_t started_ms;        /* CLOCK_MONOTONIC_COARSE */
    _Atomic int64_t last_drop_log;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- appending ---- */

struct fill_arg {
    struct au_log *l;
    const char *key;
    size_t keylen;
    const struct au_event_text *ev;
    char prevf[80], seqf[32], hashf[80]; /* the chain's members, pieces of the record */
};

/* `,"seq":N` at out (at most 27 bytes), without printf's parsing of a format per event. */
static size_t
seq_member(char *out, uint64_t seq)
{
    char digits[20], *d = digits + sizeof digits;
    size_t n;

    do
        *--d = (char)('0' + seq % 10);
    while ((seq /= 10) != 0);
    n = (size_t)(digits + sizeof digits - d);
    memcpy(out, ",\"seq\":", 7);
    memcpy(out + 7, d, n);
    return 7 + n;
}

/* `,"name":"<64 hex digits>"` at out (name: 4 letters), 74 bytes. */
static void
hash_member(char *out, const char *name, const unsigned char d[32])
{
    memcpy(out, ",\"", 2);
    memcpy(out + 2, name, 4);
    memcpy(out + 6, "\":\"", 3);
    gw_hex_encode(out + 9, d, 32);
    out[73] = '"';
}

/* The record: the key, then the event with its chain members in their sorted places. The hash
 * covers the previous hash and the event without "hash" (audit/README.md, "Canonical form"). */
static size_t
fill(void *arg, uint64_t seq, const unsigned char prev[32], struct gw_wal_piece *part,
     unsigned char hash[32])
{
    struct fill_arg *a = arg;
    const struct au_event_text *e = a->ev;
    struct appended_at *at = &a->l->ages[seq % AGE_RING];
    struct gw_sha256 sha;

    atomic_store_explicit(&at->ms, coarse_ms(), memory_order_relaxed);
    atomic_store_explicit(&at->seq, seq, memory_order_release);
    atomic_store_explicit(&a->l->last_seq, seq, memory_order_relaxed);

    hash_member(a->prevf, "prev", prev);
    part[0] = (struct gw_wal_piece){a->key, a->keylen};
    part[1] = (struct gw_wal_piece){e->p, e->hash_at};
    part[2] = (struct gw_wal_piece){a->hashf, 74}; /* filled below */
    part[3] = (struct gw_wal_piece){e->p + e->hash_at, e->prev_at - e->hash_at};
    part[4] = (struct gw_wal_piece){a->prevf, 74};
    part[5] = (struct gw_wal_piece){e->p + e->prev_at, e->seq_at - e->prev_at};
    part[6] = (struct gw_wal_piece){a->seqf, seq_member(a->seqf, seq)};
    part[7] = (struct gw_wal_piece){e->p + e->seq_at, e->len - e->seq_at};
    gw_sha256_init(&sha);
    gw_sha256_update(&sha, prev, 32);
    for (int i = 1; i < 8; i++)
        if (i != 2)
            gw_sha256_update(&sha, part[i].p, part[i].n);
    gw_sha256_final(&sha, hash);
    hash_member(a->hashf, "hash", hash);
    return 8;
}

int
au_log_append(struct au_log *l, const char *key, size_t keylen, const struct au_event_text *ev)
{
    struct fill_arg a = {.l = l, .key = key, .keylen = keylen, .ev = ev};
    int64_t now, last;

    if (gw_wal_append(l->wal, keylen, ev->len + CHAIN_FIELDS, fill, &a) == 0) {
        atomic_fetch_add(&l->appended, 1);
        return 0;
    }
    atomic_fetch_add(&l->dropped, 1);
    now = now_ms();
    last = atomic_load(&l->last_drop_log);
    if (now - last >= 1000 && atomic_compare_exchange_strong(&l->last_drop_log, &last, now))
        gw_log(GW_LOG_ERROR, "audit: the write-ahead log is full (%" PRIu64 " of %" PRIu64
               " bytes not yet in Kafka): events dropped, %" PRIu64 " so far",
               gw_wal_used(l->wal), gw_wal_max(l->wal), (uint64_t)atomic_load(&l->dropped));
    return -1;
}

/* Reject policy: the room kept for exchanges already under way. */
static uint64_t
headroom(const struct au_log *l)
{
    uint64_t max = gw_wal_max(l->wal);
    return max / 16 < REFUSE_HEADROOM ? max / 16 : REFUSE_HEADROOM;
}

const char *
au_log_brokers(const struct au_log *l)
{
    return l->bootstraps;
}

int
au_log_refusing(const struct au_log *l)
{
    return l->conf.when_full == AU_FULL_REJECT && gw_wal_tight(l->wal) &&
           gw_wal_room(l->wal) <= headroom(l);
}

/* How long the oldest event Kafka has not acknowledged has waited (0: none waits). One older than
 * the ring (or the last run's) counts from the oldest the ring still knows (or from the start):
 * a lower bound. */
static int64_t
oldest_unshipped_ms(const struct au_log *l)
{
    uint64_t acked = atomic_load_explicit(&l->acked_seq_pub, memory_order_relaxed);
    uint64_t last = atomic_load_explicit(&l->last_seq, memory_order_relaxed);
    const struct appended_at *at = &l->ages[(acked + 1) % AGE_RING];
    int64_t now = coarse_ms(), since = l->started_ms;

    if (last <= acked)
        return 0;
    if (atomic_load_explicit((_Atomic uint64_t *)&at->seq, memory_order_acquire) != acked + 1 &&
        last - acked >= AGE_RING)
        at = &l->ages[(last + 1) % AGE_RING]; /* overwritten: the oldest recorded */
    if (atomic_load_explicit((_Atomic uint64_t *)&at->seq, memory_order_acquire) > acked)
        since = atomic_load_explicit((_Atomic int64_t *)&at->ms, memory_order_relaxed);
    return now > since ? now - since : 0;
}

void
au_log_stats(const struct au_log *l, struct au_stats *s)
{
    s->appended = atomic_load(&l->appended);
    s->dropped = atomic_load(&l->dropped);
    s->shipped = atomic_load(&l->shipped);
    s->wal_bytes = gw_wal_used(l->wal);
    s->oldest_ms = oldest_unshipped_ms(l);
}

/* ---- the producer ---- */

/* Events in the log that Kafka has not acknowledged: the last run's and this run's. */
static uint64_t
events_waiting(const struct au_log *l)
{
    uint64_t in = gw_wal_opened_records(l->wal) + atomic_load(&l->appended);
    uint64_t out = atomic_load(&l->shipped);

    return in > out ? in - out : 0;
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct au_log *l = opaque;
    uint64_t slot = (uint64_t)(uintptr_t)m->_private;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        l->purged++; /* taken back by producer_free, and still in the log: no failure */
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* with an infinite message timeout only a permanent failure gets here: the record stays in
         * the log and the shipper starts again from the trim point after a pause */
        gw_log(GW_LOG_ERROR, "audit: Kafka refused an event: %s; retrying from the log",
               rd_kafka_err2str(m->err));
        l->restart = 1;
        return;
    }
    l->delivered = 1;
    if (slot - l->tail < l->head - l->tail)
        l->ring[slot % RING_SIZE].done = 1;
}

/* librdkafka's own lines, from its threads. A connection that fails ("FAIL") or requests that
 * time out with it ("REQTMOUT") come to kafka_error_cb too, where an outage is told once
 * (watch_brokers): here they are for debugging only. */
static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level > 4)
        return;
    if (strcmp(fac, "FAIL") == 0 || strcmp(fac, "REQTMOUT") == 0)
        gw_log(GW_LOG_DEBUG, "audit: kafka: %s: %s", fac, buf);
    else
        gw_log(level <= 3 ? GW_LOG_ERROR : GW_LOG_WARN, "audit: kafka: %s: %s", fac, buf);
}

static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct au_log *l = opaque;
    static _Thread_local int64_t last;
    int64_t now = now_ms();

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        l->restart = 1;
        gw_log(GW_LOG_ERROR, "audit: kafka: fatal: %s", reason);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__RESOLVE) {
        /* out of reach: expected, the log holds the events; watch_brokers tells it once */
        if (l->down_since == 0) {
            l->down_since = now;
            l->delivered = 0;
        }
        if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || l->down_why[0] == '\0')
            snprintf(l->down_why, sizeof l->down_why, "%s", reason);
        return;
    }
    if (now - last < 10000)
        return; /* anything else that repeats: once per ten seconds is enough */
    last = now;
    gw_log(GW_LOG_WARN, "audit: kafka: %s (%" PRIu64 " bytes of events wait in the log)", reason,
           gw_wal_used(l->wal));
}

static int
set_prop(rd_kafka_conf_t *kc, const char *k, const char *v, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(kc, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "audit.kafka: %s: %s", k, e);
        return -1;
    }
    return 0;
}

static int
producer_new(struct au_log *l, char *err, size_t errlen)
{
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "50"},           /* the log has the event already: batch more */
        {"message.timeout.ms", "0"},   /* never give up: the log holds what waits */
        {"partitioner", "murmur2_random"}, /* the Java client's: same key, same partition */
        {"queue.buffering.max.messages", "100000"},
        /* back within a second of the broker: librdkafka's default waits up to ten */
        {"reconnect.backoff.max.ms", "1000"},
    };
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    char e[512];
    const char *k;
    json_t *v;

    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (set_prop(kc, defaults[i][0], defaults[i][1], err, errlen) < 0)
            goto fail;
    if (set_prop(kc, "bootstrap.servers", l->bootstraps, err, errlen) < 0)
        goto fail;
    if (l->conf.kafka != NULL)
        json_object_foreach(l->conf.kafka, k, v)
            if (set_prop(kc, k, json_string_value(v), err, errlen) < 0)
                goto fail;
    rd_kafka_conf_set_opaque(kc, l);
    rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
    rd_kafka_conf_set_log_cb(kc, kafka_log_cb);
    rd_kafka_conf_set_error_cb(kc, kafka_error_cb);
    l->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
    if (l->rk == NULL) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", e);
        goto fail; /* rd_kafka_new frees kc only on success */
    }
    l->rkt = rd_kafka_topic_new(l->rk, l->conf.topic, NULL);
    if (l->rkt == NULL) {
        snprintf(err, errlen, "topic %s: %s", l->conf.topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
fail:
    rd_kafka_conf_destroy(kc);
    return -1;
}

/* Give up what librdkafka holds (it is all still in the log) and destroy the producer. */
static void
producer_free(struct au_log *l)
{
    if (l->rk == NULL)
        return;
    l->purged = 0;
    rd_kafka_purge(l->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(l->rk, 0);
    if (l->purged > 0)
        gw_log(GW_LOG_INFO, "audit: %" PRIu64 " events Kafka had not acknowledged were taken back "
               "from the producer; they stay in the write-ahead log and are shipped from there",
               l->purged);
    if (l->rkt != NULL)
        rd_kafka_topic_destroy(l->rkt);
    rd_kafka_destroy(l->rk);
    l->rk = NULL;
    l->rkt = NULL;
}

/* ---- the shipper ---- */

/* Produce the records after `ship`, as far as the ring and librdkafka's queue take them. */
static void
ship_some(struct au_log *l)
{
    struct gw_wal_rec r;

    while (l->head - l->tail < RING_SIZE && gw_wal_read(l->wal, l->ship, &r) == 1) {
        struct flight *f = &l->ring[l->head % RING_SIZE];
        /* a record still in the ring is copied (the ring is written over once the record is on
         * disk); one on disk is pointed to, until Kafka has it */
        if (rd_kafka_produce(l->rkt, RD_KAFKA_PARTITION_UA, r.in_ring ? RD_KAFKA_MSG_F_COPY : 0,
                             (void *)r.value, r.len, r.key, r.keylen,
                             (void *)(uintptr_t)l->head) != 0)
            break; /* queue full: later */
        f->next = r.next;
        f->seq = r.seq;
        memcpy(f->hash, r.hash, 32);
        f->done = 0;
        l->head++;
        l->ship = r.next;
    }
}

/* Move the trim point over the records Kafka has acknowledged, in log order. */
static int
advance(struct au_log *l)
{
    int moved = 0;

    while (l->tail < l->head && l->ring[l->tail % RING_SIZE].done) {
        const struct flight *f = &l->ring[l->tail % RING_SIZE];
        l->acked_lsn = f->next;
        l->acked_seq = f->seq;
        memcpy(l->acked_hash, f->hash, 32);
        l->tail++;
        moved = 1;
        atomic_fetch_add(&l->shipped, 1);
        atomic_store_explicit(&l->acked_seq_pub, f->seq, memory_order_relaxed);
    }
    return moved;
}

/* Does a broker answer? A metadata request for the topic, waited for PROBE_WAIT_MS at most. */
static int
brokers_answer(struct au_log *l)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;

    if (l->rk == NULL)
        return 0;
    e = rd_kafka_metadata(l->rk, 0, l->rkt, &md, PROBE_WAIT_MS);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Tell an outage of the brokers: kafka_error_cb notes its first sign, and here it is confirmed
 * by asking a broker (a delivery report is as good an answer), then told once as a warning, summed
 * up every DOWN_NOTE_MS and told over when a broker answers again. The events wait in the log
 * meanwhile, which is what the log is for: an outage is never logged as an error, and librdkafka's
 * reconnection attempts (one a second) are not logged at all. */
static void
watch_brokers(struct au_log *l, int64_t now)
{
    int back;

    if (l->down_since == 0)
        return;
    back = l->delivered;
    if (!back && now - l->last_probe >= PROBE_EVERY_MS) {
        back = brokers_answer(l);
        l->last_probe = now = now_ms();
    }
    if (back) {
        if (l->down_told)
            gw_log(GW_LOG_INFO, "audit: Kafka reachable again after %" PRId64 " s (%" PRIu64
                   " events still waiting in the write-ahead log)",
                   (now - l->down_since + 500) / 1000, events_waiting(l));
        l->down_since = 0;
        l->down_told = 0;
        l->down_why[0] = '\0';
        return;
    }
    if (!l->down_told && now - l->down_since >= DOWN_GRACE_MS) {
        gw_log(GW_LOG_WARN, "audit: Kafka unreachable (%s); events wait in the write-ahead log "
               "(%" PRIu64 " now) and go out when it is back", l->down_why, events_waiting(l));
        l->down_told = 1;
        l->last_note = now;
    } else if (l->down_told && now - l->last_note >= DOWN_NOTE_MS) {
        gw_log(GW_LOG_INFO, "audit: Kafka unreachable for %" PRId64 " s, %" PRIu64 " events "
               "waiting in the write-ahead log (%" PRIu64 " of %" PRIu64 " bytes)",
               (now - l->down_since + 500) / 1000, events_waiting(l), gw_wal_used(l->wal),
               gw_wal_max(l->wal));
        l->last_note = now;
    }
}

static void
restart_producer(struct au_log *l)
{
    char err[512];

    gw_log(GW_LOG_WARN, "audit: restarting the Kafka producer; shipping again from the log");
    producer_free(l);
    l->head = l->tail = 0;
    l->ship = l->acked_lsn;
    l->restart = 0;
    if (producer_new(l, err, sizeof err) < 0)
        gw_log(GW_LOG_ERROR, "audit: %s", err);
}

static void *
shipper_main(void *arg)
{
    struct au_log *l = arg;
    int64_t last_ack = now_ms(), last_sync = last_ack, deadline = 0, restart_at = 0;
    int dirty = 0;

    pthread_setname_np(pthread_self(), "portico-ship");
    for (;;) {
        int64_t now = now_ms();
        if (atomic_load(&l->stopping)) {
            if (deadline == 0)
                deadline = now + l->flush_ms;
            if ((l->tail == l->head && l->ship >= gw_wal_end(l->wal)) || now >= deadline)
                break;
        }
        if (l->restart && restart_at == 0)
            restart_at = now + 1000;
        if (restart_at != 0 && now >= restart_at) {
            restart_at = 0;
            restart_producer(l);
        }
        /* produce first, then copy to disk: what is not on disk yet is read from the ring, whose
         * pages stay mapped, and not through the segment's mapping, new pages every time. What
         * Kafka acknowledges before the next sync never goes to disk (gw_wal_ack): between syncs
         * the ring is copied out only when a quarter of it is in use */
        if (l->rk != NULL && restart_at == 0)
            ship_some(l);
        gw_wal_flush_some(l->wal);
        if (l->rk != NULL)
            rd_kafka_poll(l->rk, 10);
        else
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        dirty |= advance(l);
        now = now_ms();
        watch_brokers(l, now);
        int sync_due = now - last_sync >= l->conf.fsync_ms;
        if (now - last_ack >= ACK_EVERY_MS || sync_due) {
            if (dirty)
                gw_wal_ack(l->wal, l->acked_lsn, l->acked_seq, l->acked_hash);
            dirty = 0;
            last_ack = now;
        }
        if (sync_due) { /* what Kafka has not acknowledged yet goes to disk, and is synced */
            gw_wal_flush(l->wal);
            gw_wal_sync(l->wal);
            last_sync = now;
        }
    }
    if (dirty)
        gw_wal_ack(l->wal, l->acked_lsn, l->acked_seq, l->acked_hash);
    gw_wal_sync(l->wal);
    return NULL;
}

/* ---- start and stop ---- */

struct au_log *
au_log_start(const struct au_conf *conf, const char *node, char *err, size_t errlen)
{
    struct au_log *l = calloc(1, sizeof *l);
    char addr_file[4096];

    if (l == NULL)
        return NULL;
    l->conf = *conf;
    l->conf.brokers = strdup(conf->brokers);
    l->conf.topic = strdup(conf->topic);
    l->conf.dir = strdup(conf->dir);
    l->conf.ring_dir = strdup(conf->ring_dir);
    l->conf.kafka = conf->kafka ? json_deep_copy(conf->kafka) : NULL;
    l->node = strdup(node);
    l->ring = calloc(RING_SIZE, sizeof *l->ring);
    l->ages = calloc(AGE_RING, sizeof *l->ages);
    l->started_ms = coarse_ms();
    if (!l->conf.brokers || !l->conf.topic || !l->conf.dir || !l->conf.ring_dir || !l->node ||
        !l->ring || !l->ages) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((l->wal = gw_wal_open("audit", l->conf.dir, l->conf.max_bytes, l->conf.ring_dir,
                              (size_t)l->conf.ring_bytes, err, errlen)) == NULL)
        goto fail;
    gw_wal_watch(l->wal, 4 * headroom(l));
    l->acked_lsn = l->ship = gw_wal_acked(l->wal);
    gw_wal_chain_tail(l->wal, &l->acked_seq, l->acked_hash); /* replaced by the first ack */
    atomic_store(&l->last_seq, l->acked_seq);
    atomic_store(&l->acked_seq_pub, l->acked_seq > gw_wal_opened_records(l->wal)
                                        ? l->acked_seq - gw_wal_opened_records(l->wal) : 0);
    if (strcmp(l->conf.brokers, "embedded") == 0) {
        const char *topics[] = {l->conf.topic, NULL};
        snprintf(addr_file, sizeof addr_file, "%s/broker.addr", l->conf.dir);
        if ((l->broker = au_dev_broker_start(topics, 4, addr_file, err, errlen)) == NULL)
            goto fail;
        l->bootstraps = strdup(au_dev_broker_bootstraps(l->broker));
        gw_log(GW_LOG_WARN, "audit: embedded Kafka broker on %s, for development only: its "
               "events live in memory and are gone when the gateway stops", l->bootstraps);
    } else {
        l->bootstraps = strdup(l->conf.brokers);
    }
    if (l->bootstraps == NULL || producer_new(l, err, errlen) < 0)
        goto fail;
    if (pthread_create(&l->thread, NULL, shipper_main, l) != 0) {
        snprintf(err, errlen, "cannot start the shipper thread");
        goto fail;
    }
    l->started = 1;
    gw_log(GW_LOG_INFO, "audit: node %s, topic %s on %s, write-ahead log %s (%" PRIu64
           " bytes waiting)", l->node, l->conf.topic, l->bootstraps, l->conf.dir,
           gw_wal_used(l->wal));
    return l;
fail:
    au_log_stop(l, 0);
    return NULL;
}

void
au_log_stop(struct au_log *l, int flush_ms)
{
    struct au_stats s = {0};

    if (l == NULL)
        return;
    if (l->started) {
        l->flush_ms = flush_ms;
        atomic_store(&l->stopping, 1);
        pthread_join(l->thread, NULL);
    }
    producer_free(l); /* after the shipper, which polled it */
    if (l->started) {
        au_log_stats(l, &s);
        gw_log(GW_LOG_INFO, "audit: stopped: %" PRIu64 " events written, %" PRIu64
               " shipped, %" PRIu64 " dropped; %" PRIu64 " events (%" PRIu64 " bytes) left in "
               "the log for the next start", s.appended, s.shipped, s.dropped, events_waiting(l),
               s.wal_bytes);
    }
    au_dev_broker_stop(l->broker);
    gw_wal_close(l->wal); /* after the producer: its messages pointed into the log */
    free(l->ring);
    free(l->ages);
    free(l->bootstraps);
    free(l->node);
    au_conf_free(&l->conf);
    free(l);
}
