/* kafka_outbox.c: the outbox's settings, appending, and the shipper thread (see kafka_outbox.h).
 *
 * A record's payload is the message's key (the log's key), then its frame and value:
 *   version (1) | flags (1: a key) | topic length (1) | topic | header count (1) |
 *   per header: name length (1) | name | value length (2, little-endian) | value |
 *   the message's value.
 * The shipper produces records in log order, each pointing into the log (copied when it is still
 * in the ring); delivery reports come per partition, so the trim point moves over the prefix that
 * is acknowledged (as the audit's shipper does), and with it the partitions' marks.
 */
#include "kafka_outbox_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "conf_table.h"
#include "log.h"

#define RING_SIZE 65536       /* records in flight, at most */
#define ACK_EVERY_MS 100      /* how often the checkpoint follows Kafka's acknowledgements */
#define RETRY_MS 1000         /* brokers that did not answer are asked again after this */
#define MIN_LOG_BYTES (1ll << 20)
#define MIN_RING_BYTES (4ll << 20)
#define FRAME_MAX_HEADERS 255

int64_t
ob_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- settings ---- */

int
cn_outbox_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                    const char *dir, struct cn_outbox_conf *out)
{
    struct gw_conf_key keys[] = {
        { GW_KEY_PATH(struct cn_outbox_conf, dir, dir) },
        { GW_KEY_PATH(struct cn_outbox_conf, ring_dir, "/dev/shm") },
        { GW_KEY_INT(struct cn_outbox_conf, ring_bytes, MIN_RING_BYTES, 1ll << 32, 64ll << 20) },
        { GW_KEY_INT(struct cn_outbox_conf, max_bytes, MIN_LOG_BYTES, 1ll << 50, 1ll << 30) },
        { GW_KEY_INT(struct cn_outbox_conf, fsync_ms, 0, 3600000, 1000) },
        GW_KEY_END,
    };
    char p[GW_JPATH_MAX];
    int bad = gw_conf_read(c, obj, path, keys, out, NULL);

    if (out->ring_bytes % 4096 != 0) {
        gw_jctx_error(c, gw_jpath_key(p, sizeof p, path, "ring_bytes"),
                      "%llu is not a multiple of 4096 (the page size)",
                      (unsigned long long)out->ring_bytes);
        bad++;
    }
    return bad;
}

void
cn_outbox_conf_free(struct cn_outbox_conf *o)
{
    free(o->dir);
    free(o->ring_dir);
    memset(o, 0, sizeof *o);
}

static int
str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
cn_outbox_conf_same(const struct cn_outbox_conf *a, const struct cn_outbox_conf *b)
{
    return str_same(a->dir, b->dir) && str_same(a->ring_dir, b->ring_dir) &&
           a->ring_bytes == b->ring_bytes && a->max_bytes == b->max_bytes &&
           a->fsync_ms == b->fsync_ms;
}

/* ---- the frame ---- */

int
ob_frame_read(const char *p, size_t n, struct ob_frame *f)
{
    const unsigned char *u = (const unsigned char *)p, *end = u + n;

    if (n < 4 || u[0] != 1)
        return -1;
    f->has_key = u[1] & 1;
    f->topic_len = u[2];
    f->topic = (const char *)u + 3;
    u += 3 + f->topic_len;
    if (u >= end)
        return -1;
    f->nheaders = *u++;
    f->headers = u;
    for (unsigned i = 0; i < f->nheaders; i++) {
        if (u >= end || end - u < 1 + u[0] + 2)
            return -1;
        u += 1 + u[0];
        size_t vl = (size_t)u[0] | (size_t)u[1] << 8;
        if ((size_t)(end - u) < 2 + vl)
            return -1;
        u += 2 + vl;
    }
    f->value = (const char *)u;
    f->len = (size_t)(end - u);
    return 0;
}

/* ---- appending ---- */

struct fill_arg {
    const struct cn_outbox_msg *m;
    const char *frame;
    size_t frame_len;
};

static size_t
fill(void *arg, uint64_t seq, const unsigned char prev[32], struct gw_wal_piece *part,
     unsigned char hash[32])
{
    struct fill_arg *a = arg;

    (void)seq;
    (void)prev;
    memset(hash, 0, 32); /* no chain: the audit's is for events, a message is only delivered */
    part[0] = (struct gw_wal_piece){a->m->key, a->m->key != NULL ? a->m->keylen : 0};
    part[1] = (struct gw_wal_piece){a->frame, a->frame_len};
    part[2] = (struct gw_wal_piece){a->m->value, a->m->len};
    return 3;
}

/* m's frame (without its value) into a new buffer. NULL: a part is too long for it. */
static char *
frame_make(const struct cn_outbox_msg *m, size_t *len)
{
    size_t tl = strlen(m->topic), n = 4 + tl;
    unsigned char *f, *u;

    if (tl == 0 || tl > 255 || m->nheaders > FRAME_MAX_HEADERS ||
        (m->key != NULL && m->keylen > UINT16_MAX))
        return NULL;
    for (size_t i = 0; i < m->nheaders; i++) {
        size_t nl = strlen(m->headers[i].name);
        if (nl > 255 || m->headers[i].len > UINT16_MAX)
            return NULL;
        n += 3 + nl + m->headers[i].len;
    }
    u = f = gw_xmalloc(n);
    *u++ = 1;
    *u++ = m->key != NULL;
    *u++ = (unsigned char)tl;
    memcpy(u, m->topic, tl);
    u += tl;
    *u++ = (unsigned char)m->nheaders;
    for (size_t i = 0; i < m->nheaders; i++) {
        size_t nl = strlen(m->headers[i].name), vl = m->headers[i].len;
        *u++ = (unsigned char)nl;
        memcpy(u, m->headers[i].name, nl);
        u += nl;
        *u++ = (unsigned char)(vl & 0xff);
        *u++ = (unsigned char)(vl >> 8);
        memcpy(u, m->headers[i].value, vl);
        u += vl;
    }
    *len = n;
    return (char *)f;
}

int
cn_outbox_put(struct cn_outbox *o, const struct cn_outbox_msg *m)
{
    struct fill_arg a = {.m = m};
    size_t keylen = m->key != NULL ? m->keylen : 0;
    int rc;

    if ((a.frame = frame_make(m, &a.frame_len)) == NULL ||
        keylen + a.frame_len + m->len + 64 > o->conf.ring_bytes / 2) {
        free((char *)a.frame);
        return CN_OUTBOX_TOO_LARGE;
    }
    rc = gw_wal_append(o->wal, keylen, a.frame_len + m->len, fill, &a);
    free((char *)a.frame);
    if (rc == 0) {
        atomic_fetch_add(&o->appended, 1);
        return CN_OUTBOX_OK;
    }
    atomic_fetch_add(&o->refused, 1);
    return CN_OUTBOX_FULL;
}

void
cn_outbox_stats(const struct cn_outbox *o, struct cn_outbox_stats *s)
{
    s->appended = atomic_load(&o->appended);
    s->shipped = atomic_load(&o->shipped);
    s->refused = atomic_load(&o->refused);
    s->waiting_bytes = gw_wal_used(o->wal);
}

/* ---- topics ---- */

int
ob_topic_at(struct cn_outbox *o, const char *name, size_t len)
{
    struct ob_topic *t;

    for (size_t i = 0; i < o->ntopics; i++)
        if (strlen(o->topics[i].name) == len && memcmp(o->topics[i].name, name, len) == 0)
            return (int)i;
    o->topics = gw_xrealloc(o->topics, (o->ntopics + 1) * sizeof *o->topics);
    t = &o->topics[o->ntopics];
    memset(t, 0, sizeof *t);
    t->name = gw_xmalloc(len + 1);
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    return (int)o->ntopics++;
}

/* ---- the producer ---- */

static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level > 4 || strcmp(fac, "FAIL") == 0 || strcmp(fac, "REQTMOUT") == 0)
        return; /* an outage is told once by error_cb */
    gw_log(level <= 3 ? GW_LOG_ERROR : GW_LOG_WARN, "kafka outbox: %s: %s", fac, buf);
}

static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct cn_outbox *o = opaque;
    int64_t now = ob_now_ms();

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        o->restart = 1;
        gw_log(GW_LOG_ERROR, "kafka outbox: fatal: %s", reason);
        return;
    }
    if (now - o->last_warn < 10000)
        return;
    o->last_warn = now;
    gw_log(GW_LOG_WARN, "kafka outbox: %s (%" PRIu64 " bytes of messages wait in the log)",
           reason, gw_wal_used(o->wal));
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct cn_outbox *o = opaque;
    uint64_t slot = (uint64_t)(uintptr_t)m->_private;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return; /* taken back when stopping: still in the log */
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        gw_log(GW_LOG_ERROR, "kafka outbox: Kafka refused a message for %s: %s; shipping again "
               "from the log", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        o->restart = 1;
        return;
    }
    if (slot - o->tail < o->head - o->tail) {
        struct ob_flight *f = &o->ring[slot % RING_SIZE];
        f->partition = m->partition;
        f->offset = m->offset;
        f->done = 1;
    }
}

rd_kafka_conf_t *
ob_kafka_conf(const struct cn_outbox *o, const char *const (*defaults)[2], size_t n)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    char e[256];
    const char *k;
    json_t *v;

    for (size_t i = 0; i < n; i++)
        if (rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], e, sizeof e) != RD_KAFKA_CONF_OK)
            goto fail;
    if (rd_kafka_conf_set(kc, "bootstrap.servers", o->brokers, e, sizeof e) != RD_KAFKA_CONF_OK)
        goto fail;
    if (o->props != NULL)
        json_object_foreach(o->props, k, v)
            if (rd_kafka_conf_set(kc, k, json_string_value(v), e, sizeof e) != RD_KAFKA_CONF_OK)
                goto fail;
    rd_kafka_conf_set_opaque(kc, (void *)o);
    rd_kafka_conf_set_log_cb(kc, kafka_log_cb);
    return kc;
fail:
    gw_log(GW_LOG_ERROR, "kafka outbox: %s", e);
    rd_kafka_conf_destroy(kc);
    return NULL;
}

static int
producer_new(struct cn_outbox *o)
{
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "5"},
        {"message.timeout.ms", "0"}, /* never give up: the log holds what waits */
        {"partitioner", "murmur2_random"}, /* the Java client's: same key, same partition */
        {"queue.buffering.max.messages", "100000"},
        {"reconnect.backoff.max.ms", "1000"},
    };
    rd_kafka_conf_t *kc = ob_kafka_conf(o, defaults, sizeof defaults / sizeof defaults[0]);
    char e[512];

    if (kc == NULL)
        return -1;
    rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
    rd_kafka_conf_set_error_cb(kc, kafka_error_cb);
    if ((o->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e)) == NULL) {
        gw_log(GW_LOG_ERROR, "kafka outbox: cannot create the producer: %s", e);
        rd_kafka_conf_destroy(kc);
        return -1;
    }
    return 0;
}

static void
producer_free(struct cn_outbox *o)
{
    if (o->rk == NULL)
        return;
    rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(o->rk, 0);
    for (size_t i = 0; i < o->ntopics; i++)
        if (o->topics[i].rkt != NULL) {
            rd_kafka_topic_destroy(o->topics[i].rkt);
            o->topics[i].rkt = NULL;
        }
    rd_kafka_destroy(o->rk);
    o->rk = NULL;
}

/* ---- the shipper ---- */

/* Produce the record r as message `slot`: 0, or -1 when librdkafka's queue is full. */
static int
produce(struct cn_outbox *o, const struct gw_wal_rec *r, const struct ob_frame *f,
        struct ob_topic *t, uint64_t slot)
{
    rd_kafka_headers_t *hs = rd_kafka_headers_new(f->nheaders + 1);
    const unsigned char *u = f->headers;
    char pos[48];
    rd_kafka_resp_err_t err;

    for (unsigned i = 0; i < f->nheaders; i++) {
        const char *name = (const char *)u + 1;
        size_t nl = u[0], vl;
        u += 1 + nl;
        vl = (size_t)u[0] | (size_t)u[1] << 8;
        rd_kafka_header_add(hs, name, (ssize_t)nl, u + 2, (ssize_t)vl);
        u += 2 + vl;
    }
    snprintf(pos, sizeof pos, "%s:%" PRIu64, o->id, r->seq);
    rd_kafka_header_add(hs, OB_HEADER, -1, pos, -1);
    if (t->rkt == NULL)
        t->rkt = rd_kafka_topic_new(o->rk, t->name, NULL);
    err = rd_kafka_producev(o->rk, RD_KAFKA_V_RKT(t->rkt),
                            RD_KAFKA_V_MSGFLAGS(r->in_ring ? RD_KAFKA_MSG_F_COPY : 0),
                            RD_KAFKA_V_VALUE((void *)f->value, f->len),
                            RD_KAFKA_V_KEY((f->has_key ? r->key : NULL), /* (the macro casts) */
                                           (f->has_key ? r->keylen : 0)),
                            RD_KAFKA_V_HEADERS(hs), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)slot),
                            RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    rd_kafka_headers_destroy(hs);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        gw_log(GW_LOG_ERROR, "kafka outbox: cannot produce to %s: %s; trying again",
               t->name, rd_kafka_err2str(err));
        o->retry_at = ob_now_ms() + RETRY_MS;
    }
    return -1;
}

/* Is the record numbered seq in Kafka already (the read-back found it)? */
static const struct ob_found *
found(struct cn_outbox *o, uint64_t seq)
{
    while (o->found_at < o->nfound && o->found[o->found_at].seq < seq)
        o->found_at++;
    return o->found_at < o->nfound && o->found[o->found_at].seq == seq ? &o->found[o->found_at]
                                                                       : NULL;
}

/* Produce the records after `ship`, as far as the ring and librdkafka's queue take them. */
static void
ship_some(struct cn_outbox *o)
{
    struct gw_wal_rec r;
    struct ob_frame f;

    while (o->head - o->tail < RING_SIZE && gw_wal_read(o->wal, o->ship, &r) == 1) {
        struct ob_flight *fl = &o->ring[o->head % RING_SIZE];
        const struct ob_found *in;
        int ti;

        if (ob_frame_read(r.value, r.len, &f) < 0) {
            gw_log(GW_LOG_ERROR, "kafka outbox: record %" PRIu64 " is not a message; skipped",
                   r.seq);
            *fl = (struct ob_flight){.next = r.next, .seq = r.seq, .topic = -1, .done = 1};
        } else {
            ti = ob_topic_at(o, f.topic, f.topic_len);
            if (!o->topics[ti].used && ob_topic_first(o, &o->topics[ti]) < 0) {
                o->retry_at = ob_now_ms() + RETRY_MS;
                return;
            }
            *fl = (struct ob_flight){.next = r.next, .seq = r.seq, .topic = ti};
            if ((in = found(o, r.seq)) != NULL) { /* the last run delivered it */
                fl->partition = in->partition;
                fl->offset = in->offset;
                fl->done = 1;
            } else if (produce(o, &r, &f, &o->topics[ti], o->head) < 0) {
                return;
            }
        }
        o->head++;
        o->ship = r.next;
    }
}

/* Move the trim point over the records Kafka has acknowledged, in log order, and the marks of
 * their partitions past them. */
static int
advance(struct cn_outbox *o)
{
    int moved = 0;

    while (o->tail < o->head && o->ring[o->tail % RING_SIZE].done) {
        const struct ob_flight *f = &o->ring[o->tail % RING_SIZE];
        if (f->topic >= 0 && f->partition >= 0) {
            struct ob_topic *t = &o->topics[f->topic];
            if (f->partition >= t->nparts) {
                t->mark = gw_xrealloc(t->mark, (size_t)(f->partition + 1) * sizeof *t->mark);
                for (int32_t p = t->nparts; p <= f->partition; p++)
                    t->mark[p] = 0; /* a partition made since: all of it is new */
                t->nparts = f->partition + 1;
            }
            if (f->offset + 1 > t->mark[f->partition])
                t->mark[f->partition] = f->offset + 1;
            o->marks_dirty = 1;
        }
        o->acked_lsn = f->next;
        o->acked_seq = f->seq;
        o->tail++;
        moved = 1;
        atomic_fetch_add(&o->shipped, 1);
    }
    return moved;
}

static void
checkpoint(struct cn_outbox *o)
{
    static const unsigned char zero[32];

    gw_wal_ack(o->wal, o->acked_lsn, o->acked_seq, zero);
}

static void
restart_producer(struct cn_outbox *o)
{
    gw_log(GW_LOG_WARN, "kafka outbox: restarting the producer; shipping again from the log");
    producer_free(o);
    o->head = o->tail = 0;
    o->ship = o->acked_lsn;
    o->restart = 0;
    o->recovered = 0; /* what the old producer had sent may be there: read it back first */
    if (producer_new(o) < 0)
        o->retry_at = ob_now_ms() + RETRY_MS;
}

static void *
shipper_main(void *arg)
{
    struct cn_outbox *o = arg;
    int64_t last_ack = ob_now_ms(), last_sync = last_ack, deadline = 0;
    int dirty = 0;

    pthread_setname_np(pthread_self(), "portico-outbox");
    for (;;) {
        int64_t now = ob_now_ms();
        if (atomic_load(&o->stopping)) {
            if (deadline == 0)
                deadline = now + o->flush_ms;
            if ((o->tail == o->head && o->ship >= gw_wal_end(o->wal)) || now >= deadline)
                break;
        }
        if (o->restart && now >= o->retry_at)
            restart_producer(o);
        if (o->rk != NULL && !o->recovered && now >= o->retry_at) {
            if (ob_recover(o, gw_wal_end(o->wal)) == 0)
                o->recovered = 1;
            else
                o->retry_at = ob_now_ms() + RETRY_MS;
        }
        if (o->rk != NULL && o->recovered && !o->restart && now >= o->retry_at)
            ship_some(o);
        gw_wal_flush_some(o->wal);
        if (o->rk != NULL)
            rd_kafka_poll(o->rk, 10);
        else
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        dirty |= advance(o);
        now = ob_now_ms();
        int sync_due = now - last_sync >= o->conf.fsync_ms;
        if (now - last_ack >= ACK_EVERY_MS || sync_due) {
            if (dirty)
                checkpoint(o);
            dirty = 0;
            last_ack = now;
        }
        if (sync_due) {
            /* the marks follow the checkpoint to disk, never lead it: a read-back that starts
             * early finds more, one that started late would miss what the checkpoint missed */
            gw_wal_flush(o->wal);
            gw_wal_sync(o->wal);
            if (o->marks_dirty && ob_marks_save(o) == 0)
                o->marks_dirty = 0;
            last_sync = now;
        }
    }
    checkpoint(o);
    gw_wal_sync(o->wal);
    if (o->marks_dirty)
        ob_marks_save(o);
    return NULL;
}

/* ---- start and stop ---- */

struct cn_outbox *
cn_outbox_start(const struct cn_outbox_conf *conf, const char *brokers, const json_t *props,
                char *err, size_t errlen)
{
    struct cn_outbox *o = gw_xcalloc(1, sizeof *o);

    o->conf = *conf;
    o->conf.dir = gw_xstrdup(conf->dir);
    o->conf.ring_dir = gw_xstrdup(conf->ring_dir);
    o->brokers = gw_xstrdup(brokers);
    o->props = props != NULL ? json_deep_copy(props) : NULL;
    o->ring = gw_xcalloc(RING_SIZE, sizeof *o->ring);
    if ((o->wal = gw_wal_open("outbox", o->conf.dir, o->conf.max_bytes, o->conf.ring_dir,
                              (size_t)o->conf.ring_bytes, err, errlen)) == NULL)
        goto fail;
    snprintf(o->id, sizeof o->id, "%016" PRIx64, gw_wal_id(o->wal));
    o->acked_lsn = o->ship = gw_wal_acked(o->wal);
    if (ob_marks_load(o, err, errlen) < 0)
        goto fail;
    if (producer_new(o) < 0) {
        snprintf(err, errlen, "cannot create the Kafka producer (see the log)");
        goto fail;
    }
    if (pthread_create(&o->thread, NULL, shipper_main, o) != 0) {
        snprintf(err, errlen, "cannot start the outbox's shipper thread");
        goto fail;
    }
    o->started = 1;
    gw_log(GW_LOG_INFO, "kafka outbox: %s on %s (%" PRIu64 " messages, %" PRIu64 " bytes, left "
           "to ship by the last run)", o->conf.dir, o->brokers, gw_wal_opened_records(o->wal),
           gw_wal_used(o->wal));
    return o;
fail:
    cn_outbox_stop(o, 0);
    return NULL;
}

void
cn_outbox_stop(struct cn_outbox *o, int flush_ms)
{
    if (o == NULL)
        return;
    if (o->started) {
        o->flush_ms = flush_ms;
        atomic_store(&o->stopping, 1);
        pthread_join(o->thread, NULL);
        gw_log(GW_LOG_INFO, "kafka outbox: stopped: %" PRIu64 " messages taken, %" PRIu64
               " shipped; %" PRIu64 " bytes left in the log for the next start",
               (uint64_t)atomic_load(&o->appended), (uint64_t)atomic_load(&o->shipped),
               gw_wal_used(o->wal));
    }
    producer_free(o);
    gw_wal_close(o->wal); /* after the producer: its messages pointed into the log */
    for (size_t i = 0; i < o->ntopics; i++) {
        free(o->topics[i].name);
        free(o->topics[i].mark);
    }
    free(o->topics);
    free(o->found);
    free(o->ring);
    free(o->brokers);
    json_decref(o->props);
    cn_outbox_conf_free(&o->conf);
    free(o);
}
