/* kafka_outbox_recover.c: the outbox's marks and its read-back (see kafka_outbox.h).
 *
 * The marks file (`offsets` in the log's folder) has a line per topic the log has produced to:
 *   <topic> <partitions> <mark of partition 0> <mark of partition 1> ...
 * written whole to offsets.tmp, synced and renamed over the old one.
 */
#include "kafka_outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

#define ASK_MS 5000         /* how long a broker may take over one question */
#define READ_BACK_MS 30000  /* the read-back, at most; then it is tried again */

/* ---- the marks ---- */

static void
marks_path(const struct cn_outbox *o, char *path, size_t n, const char *suffix)
{
    snprintf(path, n, "%s/offsets%s", o->conf.dir, suffix);
}

int
ob_marks_load(struct cn_outbox *o, char *err, size_t errlen)
{
    char path[4096], *line = NULL;
    size_t cap = 0;
    FILE *f;
    int lineno = 0;

    marks_path(o, path, sizeof path, "");
    if ((f = fopen(path, "re")) == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) > 0) {
        char *p = line, *end, *name;
        struct ob_topic *t;
        long n;
        int ti;

        lineno++;
        name = p;
        if ((p = strchr(p, ' ')) == NULL)
            goto bad;
        ti = ob_topic_at(o, name, (size_t)(p - name)); /* (may move o->topics) */
        t = &o->topics[ti];
        n = strtol(p, &end, 10);
        if (end == p || n < 0 || n > 1000000)
            goto bad;
        t->mark = gw_xrealloc(t->mark, (size_t)(n > 0 ? n : 1) * sizeof *t->mark);
        t->nparts = (int32_t)n;
        t->used = 1;
        for (long i = 0; i < n; i++) {
            p = end;
            t->mark[i] = strtoll(p, &end, 10);
            if (end == p || t->mark[i] < 0)
                goto bad;
        }
    }
    free(line);
    fclose(f);
    return 0;
bad:
    snprintf(err, errlen, "%s:%d: not a line of marks (topic, partitions, offsets); the file "
             "is the outbox's own, remove it only with the whole folder", path, lineno);
    free(line);
    fclose(f);
    return -1;
}

int
ob_marks_save(struct cn_outbox *o)
{
    char tmp[4096], path[4096];
    FILE *f;
    int ok;

    marks_path(o, tmp, sizeof tmp, ".tmp");
    marks_path(o, path, sizeof path, "");
    if ((f = fopen(tmp, "we")) == NULL)
        goto fail;
    for (size_t i = 0; i < o->ntopics; i++) {
        const struct ob_topic *t = &o->topics[i];
        if (!t->used)
            continue;
        fprintf(f, "%s %" PRId32, t->name, t->nparts);
        for (int32_t p = 0; p < t->nparts; p++)
            fprintf(f, " %" PRId64, t->mark[p]);
        fputc('\n', f);
    }
    ok = fflush(f) == 0 && fdatasync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok || rename(tmp, path) < 0)
        goto fail;
    return 0;
fail:
    gw_log(GW_LOG_ERROR, "kafka outbox: cannot write %s: %s", path, strerror(errno));
    return -1;
}

/* ---- a topic's first message ---- */

/* How many partitions the topic has (0: it does not exist yet), or -1: no answer. */
static int32_t
partitions(rd_kafka_t *rk, const char *name)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;
    int32_t n = -1;

    if (rkt == NULL)
        return -1;
    e = rd_kafka_metadata(rk, 0, rkt, &md, ASK_MS);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
        if (md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        else if (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            n = 0;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

int
ob_topic_first(struct cn_outbox *o, struct ob_topic *t)
{
    int32_t n = partitions(o->rk, t->name);
    int64_t *mark;

    if (n < 0)
        return -1;
    mark = gw_xcalloc((size_t)(n > 0 ? n : 1), sizeof *mark);
    for (int32_t p = 0; p < n; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(o->rk, t->name, p, &lo, &hi, ASK_MS) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            free(mark);
            return -1;
        }
        mark[p] = hi;
    }
    free(t->mark);
    t->mark = mark;
    t->nparts = n;
    t->used = 1;
    if (ob_marks_save(o) < 0) {
        t->used = 0; /* not kept: a crash now would leave no place to read back from */
        return -1;
    }
    return 0;
}

/* ---- the read-back ---- */

/* A partition being read back: up to its end when the read-back began. */
struct reading {
    const char *topic;
    int32_t partition;
    int64_t end;
    int done;
};

static int
found_cmp(const void *a, const void *b)
{
    const struct ob_found *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The record number m carries when this log produced it, else 0. */
static uint64_t
ours(const struct cn_outbox *o, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hs;
    const void *v;
    size_t n, idn = strlen(o->id);
    char num[24];

    if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hs, OB_HEADER, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        n <= idn + 1 || n - idn - 1 >= sizeof num || memcmp(v, o->id, idn) != 0 ||
        ((const char *)v)[idn] != ':')
        return 0;
    memcpy(num, (const char *)v + idn + 1, n - idn - 1);
    num[n - idn - 1] = '\0';
    return strtoull(num, NULL, 10);
}

/* The partitions to read: of each topic the records in [from, limit) go to, from its marks to
 * its end. Returns how many, or -1: no answer. */
static int
plan(struct cn_outbox *o, rd_kafka_t *rk, uint64_t from, uint64_t limit, struct reading **out,
     rd_kafka_topic_partition_list_t *l)
{
    unsigned char *need = gw_xcalloc(o->ntopics + 1, 1);
    struct reading *rd = NULL;
    struct gw_wal_rec r;
    struct ob_frame f;
    size_t nneed = o->ntopics;
    int n = 0;

    for (uint64_t at = from; at < limit && gw_wal_read(o->wal, at, &r) == 1; at = r.next) {
        if (ob_frame_read(r.value, r.len, &f) < 0)
            continue;
        int ti = ob_topic_at(o, f.topic, f.topic_len);
        if ((size_t)ti >= nneed) {
            need = gw_xrealloc(need, (size_t)ti + 1);
            memset(need + nneed, 0, (size_t)ti + 1 - nneed);
            nneed = (size_t)ti + 1;
        }
        need[ti] = 1;
    }
    for (size_t i = 0; i < o->ntopics && i < nneed; i++) {
        const struct ob_topic *t = &o->topics[i];
        int32_t np;
        if (!need[i] || !t->used) /* never produced to: nothing of ours there */
            continue;
        if ((np = partitions(rk, t->name)) < 0)
            goto fail;
        for (int32_t p = 0; p < np; p++) {
            int64_t lo, hi, start = p < t->nparts ? t->mark[p] : 0;
            if (rd_kafka_query_watermark_offsets(rk, t->name, p, &lo, &hi, ASK_MS) !=
                RD_KAFKA_RESP_ERR_NO_ERROR)
                goto fail;
            if (start < lo)
                start = lo;
            if (start >= hi)
                continue;
            rd = gw_xrealloc(rd, (size_t)(n + 1) * sizeof *rd);
            rd[n++] = (struct reading){.topic = t->name, .partition = p, .end = hi};
            rd_kafka_topic_partition_list_add(l, t->name, p)->offset = start;
        }
    }
    free(need);
    *out = rd;
    return n;
fail:
    free(need);
    free(rd);
    return -1;
}

static struct reading *
reading_of(struct reading *rd, int n, const rd_kafka_message_t *m)
{
    const char *name = rd_kafka_topic_name(m->rkt);

    for (int i = 0; i < n; i++)
        if (rd[i].partition == m->partition && strcmp(rd[i].topic, name) == 0)
            return &rd[i];
    return NULL;
}

int
ob_recover(struct cn_outbox *o, uint64_t limit)
{
    static const char *const defaults[][2] = {
        {"group.id", "portico-outbox-readback"}, /* (librdkafka wants one; nothing is committed) */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
    };
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk = NULL;
    struct reading *rd = NULL;
    int n = 0, left, rc = -1;
    uint64_t scanned = 0;
    int64_t until;
    char e[512];

    free(o->found);
    o->found = NULL;
    o->nfound = o->found_at = 0;
    if (gw_wal_acked(o->wal) >= limit) {
        rc = 0; /* nothing waits: nothing to look for */
        goto out;
    }
    if ((kc = ob_kafka_conf(o, defaults, sizeof defaults / sizeof defaults[0])) == NULL)
        goto out;
    if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof e)) == NULL) {
        gw_log(GW_LOG_ERROR, "kafka outbox: cannot create the read-back's consumer: %s", e);
        rd_kafka_conf_destroy(kc);
        goto out;
    }
    if ((n = plan(o, rk, gw_wal_acked(o->wal), limit, &rd, l)) < 0)
        goto out;
    if (n > 0 && rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto out;
    until = ob_now_ms() + READ_BACK_MS;
    for (left = n; left > 0 && ob_now_ms() < until;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        struct reading *r;
        uint64_t seq;

        if (m == NULL)
            continue;
        if ((r = reading_of(rd, n, m)) != NULL && !r->done) {
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && (seq = ours(o, m)) != 0) {
                o->found = gw_xrealloc(o->found, (o->nfound + 1) * sizeof *o->found);
                o->found[o->nfound++] = (struct ob_found){seq, m->partition, m->offset};
            }
            scanned += m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset + 1 >= r->end)) {
                r->done = 1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (left > 0) {
        gw_log(GW_LOG_WARN, "kafka outbox: reading back what the last run sent did not end "
               "within %d s (%d partitions left); trying again", READ_BACK_MS / 1000, left);
        goto out;
    }
    qsort(o->found, o->nfound, sizeof *o->found, found_cmp);
    if (n > 0)
        gw_log(GW_LOG_INFO, "kafka outbox: read back %" PRIu64 " messages from %d partitions: "
               "%zu of the log's records are in Kafka already and are not sent again", scanned, n,
               o->nfound);
    rc = 0;
out:
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(l);
    free(rd);
    return rc;
}
