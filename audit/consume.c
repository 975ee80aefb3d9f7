/* consume.c: see consume.h.
 *
 * librdkafka reconnects on its own and never gives up, so every wait here is cut in slices: the
 * stop flag is looked at between them, and without follow a deadline turns a silent cluster into
 * an error. librdkafka's own log lines are kept, not printed (they repeat every reconnect), and the
 * last error among them is what an error message quotes; with the `debug` property they are
 * printed.
 */
#include "consume.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"

#define SLICE_MS 200

struct au_consumer {
    rd_kafka_t *rk;
    rd_kafka_message_t *msg; /* handed out last */
    char *topic, *brokers, *group;
    unsigned char *eof; /* per partition: read to its end */
    int32_t npart;
    int follow, timeout_ms, debug;
    volatile sig_atomic_t *stop;
    void (*notice)(const char *msg);
    int64_t progress_ms; /* the last message or partition end */
    pthread_mutex_t lock;
    char last_error[512]; /* librdkafka's last error line, under lock */
};

static int64_t
now_ms(void)
{
    return gw_mono_us() / 1000;
}

static int
stopped(const struct au_consumer *c)
{
    return c->stop != NULL && *c->stop;
}

/* From librdkafka's threads. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct au_consumer *c = rd_kafka_opaque(rk);

    if (c->debug)
        fprintf(stderr, "portico: audit: kafka: %s: %s\n", fac, buf);
    if (level > LOG_ERR)
        return;
    if (strncmp(buf, "[thrd:", 6) == 0 && strstr(buf, "]: ") != NULL)
        buf = strstr(buf, "]: ") + 3; /* which thread says it is no help to the reader */
    pthread_mutex_lock(&c->lock);
    snprintf(c->last_error, sizeof c->last_error, "%s", buf);
    pthread_mutex_unlock(&c->lock);
}

/* "; last error: ..." when librdkafka logged one, else "". */
static void
last_error(struct au_consumer *c, char *out, size_t outlen)
{
    pthread_mutex_lock(&c->lock);
    if (c->last_error[0] != '\0')
        snprintf(out, outlen, " (last error: %s)", c->last_error);
    else
        out[0] = '\0';
    pthread_mutex_unlock(&c->lock);
}

static int
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
    char e[512];

    if (rd_kafka_conf_set(conf, name, value, e, sizeof e) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(err, errlen, "kafka property %s: %s", name, e);
    return -1;
}

/* Our defaults, then the caller's properties, then what this reader cannot do without.
 *
 * With a group, the session is 6 s (the least Kafka's group.min.session.timeout.ms lets in by
 * default) instead of librdkafka's 45: a reader is a short-lived command, and the session bounds
 * how long its partitions wait for a next run. A run that ends leaves the group (close_group), and
 * a Kafka broker rebalances at once; librdkafka's mock cluster (`portico kafka-dev`, the embedded
 * broker) instead holds the group in "joining" for the leaving member's session less a second
 * before a new member gets anything (rdkafka_mock_cgrp.c, rd_kafka_mock_cgrp_rebalance, 2.0.2):
 * 44 s with librdkafka's default, 5 s with ours. */
static rd_kafka_conf_t *
make_conf(struct au_consumer *c, const struct au_consume_opts *o, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *name;
    json_t *val;

    if (conf_set(conf, "client.id", "portico-audit", err, errlen) < 0 ||
        conf_set(conf, "auto.offset.reset", "earliest", err, errlen) < 0 ||
        conf_set(conf, "allow.auto.create.topics", "false", err, errlen) < 0 ||
        conf_set(conf, "log.connection.close", "false", err, errlen) < 0)
        goto fail;
    if (o->group != NULL && (conf_set(conf, "session.timeout.ms", "6000", err, errlen) < 0 ||
                             conf_set(conf, "heartbeat.interval.ms", "2000", err, errlen) < 0))
        goto fail;
    json_object_foreach((json_t *)o->props, name, val)
    {
        if (!json_is_string(val)) {
            snprintf(err, errlen, "kafka property %s: the value must be a string", name);
            goto fail;
        }
        if (conf_set(conf, name, json_string_value(val), err, errlen) < 0)
            goto fail;
        if (strcmp(name, "debug") == 0)
            c->debug = 1;
    }
    if (conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) < 0 ||
        conf_set(conf, "enable.partition.eof", "true", err, errlen) < 0)
        goto fail;
    /* librdkafka 2.0 wants a group.id even to assign partitions by hand; nothing is committed */
    if (o->group != NULL ? conf_set(conf, "group.id", o->group, err, errlen) < 0
                         : (conf_set(conf, "group.id", "portico-audit-reader", err, errlen) < 0 ||
                            conf_set(conf, "enable.auto.commit", "false", err, errlen) < 0 ||
                            conf_set(conf, "enable.auto.offset.store", "false", err, errlen) < 0))
        goto fail;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;

fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Is a metadata or topic error worth waiting out? */
static int
transient(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
           e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e == RD_KAFKA_RESP_ERR__RESOLVE ||
           e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
           e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || e == RD_KAFKA_RESP_ERR__WAIT_COORD;
}

/* One metadata request for the topic: 1 with c->npart set, 0 to try again, -1 on an error. */
static int
metadata_once(struct au_consumer *c, rd_kafka_topic_t *rkt, int slice, rd_kafka_resp_err_t *why,
              char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 0, rkt, &md, slice);
    int rc = 0;

    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
        e = md->topics[0].err;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
            c->npart = md->topics[0].partition_cnt;
            rc = 1;
        } else if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART; /* not created yet */
        }
    }
    if (rc == 0 && !transient(e) && e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        snprintf(err, errlen, "topic %s on %s: %s", c->topic, c->brokers, rd_kafka_err2str(e));
        rc = -1;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    *why = e;
    return rc;
}

/* Why the topic's partitions could not be had, in err. */
static void
no_partitions(struct au_consumer *c, rd_kafka_resp_err_t why, char *err, size_t errlen)
{
    char last[600];

    last_error(c, last, sizeof last);
    if (why == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        snprintf(err, errlen, "topic %s does not exist on %s", c->topic, c->brokers);
    else
        snprintf(err, errlen, "cannot reach the Kafka brokers at %s within %d s%s", c->brokers,
                 (c->timeout_ms + 999) / 1000, last);
}

/* The topic's partition count, waited for: until timeout_ms, or until *stop with follow (saying
 * once, through notice, that it takes long). */
static int
find_partitions(struct au_consumer *c, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
    int64_t deadline = now_ms() + c->timeout_ms, start;
    rd_kafka_resp_err_t why = RD_KAFKA_RESP_ERR__TIMED_OUT;
    int rc = 0, slice;

    if (rkt == NULL) {
        snprintf(err, errlen, "topic %s: %s", c->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    while (rc == 0 && !stopped(c)) {
        start = now_ms();
        if (start >= deadline && !c->follow)
            break;
        if (start >= deadline && c->notice != NULL) {
            no_partitions(c, why, err, errlen);
            c->notice(err);
            c->notice = NULL;
            snprintf(err, errlen, "%s", "");
        }
        slice = deadline - start < 1000 && deadline > start ? (int)(deadline - start) : 1000;
        if ((rc = metadata_once(c, rkt, slice, &why, err, errlen)) == 0 && now_ms() - start < 100)
            poll(NULL, 0, 100); /* refused at once: do not spin */
    }
    rd_kafka_topic_destroy(rkt);
    if (rc != 0 || stopped(c))
        return rc == 1 ? 0 : -1;
    no_partitions(c, why, err, errlen);
    return -1;
}

/* Where each partition starts, in l (partitions 0 to npart-1, in order): from since_ms where the
 * brokers can look it up, else from the beginning. A broker that answers "no message that late"
 * (-1) for a partition is asked again for time 0: when it then finds an offset, it does look
 * offsets up by time and the partition is started at its end; when not (librdkafka's mock cluster
 * answers -1 to every time), at its beginning. */
static void
start_offsets(struct au_consumer *c, int64_t since_ms, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_topic_partition_list_t *probe = NULL;
    rd_kafka_resp_err_t e;

    for (int32_t p = 0; p < c->npart; p++)
        rd_kafka_topic_partition_list_add(l, c->topic, p)->offset =
            since_ms >= 0 ? since_ms : RD_KAFKA_OFFSET_BEGINNING;
    if (since_ms < 0)
        return;
    if (rd_kafka_offsets_for_times(c->rk, l, c->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto beginning;
    probe = rd_kafka_topic_partition_list_new(c->npart);
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR || l->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(probe, c->topic, l->elems[i].partition)->offset = 0;
    if (probe->cnt == 0)
        goto out;
    e = rd_kafka_offsets_for_times(c->rk, probe, c->timeout_ms);
    for (int i = 0; i < probe->cnt; i++) {
        const rd_kafka_topic_partition_t *t = &probe->elems[i];
        int supported = e == RD_KAFKA_RESP_ERR_NO_ERROR && !t->err && t->offset >= 0;
        l->elems[t->partition].offset = supported ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
        l->elems[t->partition].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    goto out;

beginning:
    for (int i = 0; i < l->cnt; i++) {
        l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        l->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
out:
    if (probe != NULL)
        rd_kafka_topic_partition_list_destroy(probe);
}

/* Subscribe with the group, or assign every partition. Returns 0 or -1. */
static int
start(struct au_consumer *c, int64_t since_ms, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->npart);
    rd_kafka_resp_err_t e;

    if (c->group != NULL) {
        rd_kafka_topic_partition_list_add(l, c->topic, RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(c->rk, l);
    } else {
        start_offsets(c, since_ms, l);
        e = rd_kafka_assign(c->rk, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    snprintf(err, errlen, "topic %s: cannot %s: %s", c->topic,
             c->group != NULL ? "subscribe" : "assign its partitions", rd_kafka_err2str(e));
    return -1;
}

struct au_consumer *
au_consume_open(const struct au_consume_opts *o, char *err, size_t errlen)
{
    struct au_consumer *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf;
    char e[512];

    snprintf(err, errlen, "%s", "");
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->follow = o->follow;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    c->stop = o->stop;
    c->notice = o->notice;
    c->topic = strdup(o->topic);
    c->brokers = strdup(o->brokers);
    c->group = o->group != NULL ? strdup(o->group) : NULL;
    if (c->topic == NULL || c->brokers == NULL || (o->group != NULL && c->group == NULL)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((conf = make_conf(c, o, err, errlen)) == NULL)
        goto fail;
    if ((c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e)) == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: %s", e);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    if (find_partitions(c, err, errlen) < 0)
        goto fail;
    if ((c->eof = calloc((size_t)c->npart, 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (start(c, o->since_ms, err, errlen) < 0)
        goto fail;
    c->progress_ms = now_ms();
    return c;

fail:
    au_consume_close(c);
    return NULL;
}

static void
mark_end(struct au_consumer *c, int32_t partition, int at_end)
{
    unsigned char *eof;

    if (partition < 0)
        return;
    if (partition >= c->npart) { /* partitions were added to the topic */
        if ((eof = realloc(c->eof, (size_t)partition + 1)) == NULL)
            return;
        memset(eof + c->npart, 0, (size_t)(partition + 1 - c->npart));
        c->eof = eof;
        c->npart = partition + 1;
    }
    c->eof[partition] = (unsigned char)at_end;
}

/* Every partition read is at its end: all of them, or all of the group's assignment. */
static int
all_at_end(struct au_consumer *c, int *ended, int *assigned)
{
    rd_kafka_topic_partition_list_t *l = NULL;

    *ended = *assigned = 0;
    if (c->group == NULL) {
        for (int32_t p = 0; p < c->npart; p++)
            *ended += c->eof[p];
        *assigned = c->npart;
    } else if (rd_kafka_assignment(c->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < l->cnt; i++)
            *ended += l->elems[i].partition < c->npart && c->eof[l->elems[i].partition];
        *assigned = l->cnt;
        rd_kafka_topic_partition_list_destroy(l);
    }
    return *assigned > 0 && *ended == *assigned;
}

/* Without follow, nothing for timeout_ms: say what we were waiting for. */
static int
stalled(struct au_consumer *c, char *err, size_t errlen)
{
    char last[600];
    int ended, assigned;

    last_error(c, last, sizeof last);
    all_at_end(c, &ended, &assigned);
    if (c->group != NULL && assigned == 0)
        snprintf(err, errlen,
                 "consumer group %s got no partition of %s within %d s (do other "
                 "members hold them all?)%s",
                 c->group, c->topic, (c->timeout_ms + 999) / 1000, last);
    else
        snprintf(err, errlen,
                 "the Kafka brokers at %s sent nothing for %d s (%d of %d "
                 "partitions read to their end)%s",
                 c->brokers, (c->timeout_ms + 999) / 1000, ended, assigned, last);
    return AU_CONSUME_ERROR;
}

/* An error the brokers will not get over by themselves. */
static int
hopeless(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           e == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT ||
           e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
           e == RD_KAFKA_RESP_ERR__AUTHENTICATION;
}

#define CONTINUE 100

/* What one polled message means: AU_CONSUME_*, or CONTINUE. Takes km. */
static int
take(struct au_consumer *c, rd_kafka_message_t *km, struct au_msg *m, char *err, size_t errlen)
{
    rd_kafka_timestamp_type_t tt;
    char why[512];
    int ended, assigned;

    if (km->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        mark_end(c, km->partition, 1);
        c->progress_ms = now_ms();
        rd_kafka_message_destroy(km);
        return !c->follow && all_at_end(c, &ended, &assigned) ? AU_CONSUME_END : CONTINUE;
    }
    if (km->err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(c->rk, why, sizeof why);
        snprintf(err, errlen, "kafka: %s", why);
        rd_kafka_message_destroy(km);
        return AU_CONSUME_ERROR;
    }
    if (km->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_resp_err_t e = km->err;
        snprintf(why, sizeof why, "%s", rd_kafka_message_errstr(km));
        rd_kafka_message_destroy(km);
        if (!c->follow && hopeless(e)) {
            snprintf(err, errlen, "topic %s on %s: %s%s", c->topic, c->brokers, why,
                     e == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT
                         ? " (the brokers' group.min.session.timeout.ms is above the 6 s a "
                           "group reader asks for: give one with -X session.timeout.ms=MS)"
                         : "");
            return AU_CONSUME_ERROR;
        }
        pthread_mutex_lock(&c->lock);
        snprintf(c->last_error, sizeof c->last_error, "%s", why);
        pthread_mutex_unlock(&c->lock);
        return CONTINUE;
    }
    mark_end(c, km->partition, 0);
    c->progress_ms = now_ms();
    c->msg = km;
    *m = (struct au_msg){.partition = km->partition,
                         .offset = km->offset,
                         .key = km->key,
                         .key_len = km->key_len,
                         .value = km->payload,
                         .len = km->len};
    m->timestamp_ms = rd_kafka_message_timestamp(km, &tt);
    if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
        m->timestamp_ms = -1;
    return AU_CONSUME_MSG;
}

int
au_consume_next(struct au_consumer *c, struct au_msg *m, int wait_ms, char *err, size_t errlen)
{
    int64_t deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0), left;
    rd_kafka_message_t *km;
    int rc;

    if (c->msg != NULL) {
        rd_kafka_message_destroy(c->msg);
        c->msg = NULL;
    }
    for (;;) {
        if (stopped(c))
            return AU_CONSUME_AGAIN;
        left = deadline - now_ms();
        km = rd_kafka_consumer_poll(c->rk, (int)(left > SLICE_MS ? SLICE_MS : left > 0 ? left : 0));
        if (km != NULL && (rc = take(c, km, m, err, errlen)) != CONTINUE)
            return rc;
        if (!c->follow && now_ms() - c->progress_ms > c->timeout_ms)
            return stalled(c, err, errlen);
        if (now_ms() >= deadline)
            return AU_CONSUME_AGAIN;
    }
}

/* Leave the group within timeout_ms, serving the rebalance the leaving brings. */
static void
close_group(struct au_consumer *c)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    int64_t deadline = now_ms() + c->timeout_ms;
    rd_kafka_error_t *error;
    rd_kafka_event_t *ev;

    if ((error = rd_kafka_consumer_close_queue(c->rk, q)) != NULL) {
        rd_kafka_error_destroy(error);
        goto out;
    }
    while (!rd_kafka_consumer_closed(c->rk) && now_ms() < deadline) {
        if ((ev = rd_kafka_queue_poll(q, SLICE_MS)) == NULL)
            continue;
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
            if (strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE") == 0)
                rd_kafka_error_destroy(
                    rd_kafka_incremental_unassign(c->rk, rd_kafka_event_topic_partition_list(ev)));
            else
                rd_kafka_assign(c->rk, NULL);
        }
        rd_kafka_event_destroy(ev);
    }
out:
    rd_kafka_queue_destroy(q);
}

void
au_consume_close(struct au_consumer *c)
{
    if (c == NULL)
        return;
    if (c->msg != NULL)
        rd_kafka_message_destroy(c->msg);
    if (c->rk != NULL) {
        if (c->group != NULL && c->eof != NULL)
            close_group(c);
        rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->eof);
    free(c->topic);
    free(c->brokers);
    free(c->group);
    free(c);
}
