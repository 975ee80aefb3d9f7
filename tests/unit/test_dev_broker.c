/* test_dev_broker.c: the development broker with real librdkafka clients: 100 keyed messages come
 * back complete and in order per key, a topic nobody declared is created on use, a message sent
 * while the broker is down waits and is delivered once it is up (and what was there before is
 * kept), and the address file appears and goes. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "dev_broker.h"

#define TOPIC "portico.audit"
#define NPART 4
#define NMSG 100
#define WAIT_MS 15000 /* the bound of every wait for the broker */

/* One message as read back. */
struct got {
    char key[32];
    char value[64];
    int32_t partition;
    int64_t offset;
};

/* Delivery reports of one producer. */
struct reports {
    int ok, failed;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The clients' own log lines: the refused connections while the broker is down are expected. */
static void
quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct reports *r = opaque;

    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        r->ok++;
    else
        r->failed++;
}

/* A client configuration: bootstraps, then the properties in kv (ended by {NULL, NULL}). */
static rd_kafka_conf_t *
conf_new(const char *bootstraps, const char *const (*kv)[2])
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];

    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr),
        RD_KAFKA_CONF_OK);
    for (size_t i = 0; kv[i][0] != NULL; i++)
        assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr),
                         RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    return conf;
}

/* The gateway's kind of producer: idempotent, acks=all, never giving a message up, reconnecting
 * quickly once the broker is back. */
static rd_kafka_t *
producer_new(const char *bootstraps, struct reports *r)
{
    static const char *const kv[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "5"},
        {"message.timeout.ms", "0"},
        {"reconnect.backoff.max.ms", "200"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = conf_new(bootstraps, kv);
    rd_kafka_t *rk;
    char errstr[256];

    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, r);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    return rk;
}

static void
produce(rd_kafka_t *rk, const char *topic, const char *key, const char *value)
{
    rd_kafka_resp_err_t e;

    e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Read every partition of topic from the beginning until each reports its end (or WAIT_MS).
 * Returns the number of messages stored in out (at most max). */
static size_t
consume_all(const char *bootstraps, const char *topic, struct got *out, size_t max)
{
    static const char *const kv[][2] = {
        {"group.id", "test-dev-broker"},
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {NULL, NULL},
    };
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
    rd_kafka_conf_t *conf = conf_new(bootstraps, kv);
    int64_t end = now_ms() + WAIT_MS;
    rd_kafka_message_t *m;
    char errstr[256];
    rd_kafka_t *rk;
    size_t n = 0;
    int eofs = 0;

    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    for (int32_t p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    while (eofs < NPART && now_ms() < end) {
        if ((m = rd_kafka_consumer_poll(rk, 200)) == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && n < max) {
            snprintf(out[n].key, sizeof out[n].key, "%.*s", (int)m->key_len, (char *)m->key);
            snprintf(out[n].value, sizeof out[n].value, "%.*s", (int)m->len, (char *)m->payload);
            out[n].partition = m->partition;
            out[n].offset = m->offset;
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(eofs, NPART);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

/* Poll rk until want reports arrived or ms passed. Returns the reports seen. */
static int
wait_reports(rd_kafka_t *rk, const struct reports *r, int want, int ms)
{
    int64_t end = now_ms() + ms;

    while (r->ok + r->failed < want && now_ms() < end)
        rd_kafka_poll(rk, 50);
    return r->ok + r->failed;
}

static int
setup(void **state)
{
    const char *const topics[] = {TOPIC, NULL};
    char err[256];

    *state = au_dev_broker_start(topics, NPART, NULL, err, sizeof err);
    if (*state == NULL)
        fprintf(stderr, "%s\n", err);
    return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    au_dev_broker_stop(*state);
    return 0;
}

/* 100 keyed messages: all delivered, all read back once, each key's messages in order, each key
 * on one partition. */
static void
test_round_trip(void **state)
{
    const char *bs = au_dev_broker_bootstraps(*state);
    struct got *got = calloc(NMSG + 10, sizeof *got);
    struct reports r = {0};
    int seen[NMSG] = {0}, last[5], part_of[5];
    char key[32], value[64];
    rd_kafka_t *rk;
    size_t n;

    assert_non_null(got);
    rk = producer_new(bs, &r);
    for (int i = 0; i < NMSG; i++) {
        snprintf(key, sizeof key, "partner-%d", i % 5);
        snprintf(value, sizeof value, "{\"seq\":%d}", i);
        produce(rk, TOPIC, key, value);
    }
    assert_int_equal(rd_kafka_flush(rk, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(wait_reports(rk, &r, NMSG, WAIT_MS), NMSG);
    assert_int_equal(r.ok, NMSG);
    rd_kafka_destroy(rk);

    n = consume_all(bs, TOPIC, got, NMSG + 10);
    assert_int_equal(n, NMSG);
    for (int k = 0; k < 5; k++) {
        last[k] = -1;
        part_of[k] = -1;
    }
    for (size_t j = 0; j < n; j++) {
        int seq = -1, k;

        assert_int_equal(sscanf(got[j].value, "{\"seq\":%d}", &seq), 1);
        assert_in_range(seq, 0, NMSG - 1);
        assert_int_equal(seen[seq]++, 0);
        k = seq % 5;
        snprintf(key, sizeof key, "partner-%d", k);
        assert_string_equal(got[j].key, key);
        assert_true(seq > last[k]); /* in the order produced, per key */
        last[k] = seq;
        if (part_of[k] < 0)
            part_of[k] = got[j].partition;
        assert_int_equal(got[j].partition, part_of[k]);
    }
    free(got);
}

/* A topic not given at start is created by the first client that names it. */
static void
test_auto_create(void **state)
{
    const char *bs = au_dev_broker_bootstraps(*state);
    struct reports r = {0};
    struct got got[4];
    rd_kafka_t *rk = producer_new(bs, &r);

    produce(rk, "not.declared", "k", "v");
    assert_int_equal(rd_kafka_flush(rk, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(wait_reports(rk, &r, 1, WAIT_MS), 1);
    assert_int_equal(r.ok, 1);
    rd_kafka_destroy(rk);
    assert_int_equal(consume_all(bs, "not.declared", got, 4), 1);
    assert_string_equal(got[0].key, "k");
    assert_string_equal(got[0].value, "v");
}

/* Down: a message waits (not delivered, not failed); up: it is delivered, after the one sent
 * before, which the outage kept. */
static void
test_down_up(void **state)
{
    struct au_dev_broker *b = *state;
    const char *bs = au_dev_broker_bootstraps(b);
    struct reports r = {0};
    struct got got[8];
    rd_kafka_t *rk = producer_new(bs, &r);

    produce(rk, "outage", "k", "before");
    assert_int_equal(rd_kafka_flush(rk, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(wait_reports(rk, &r, 1, WAIT_MS), 1);

    assert_int_equal(au_dev_broker_set_up(b, 0), 0);
    produce(rk, "outage", "k", "during");
    assert_int_equal(wait_reports(rk, &r, 2, 1500), 1); /* still waiting after 1.5 s */

    assert_int_equal(au_dev_broker_set_up(b, 1), 0);
    assert_int_equal(rd_kafka_flush(rk, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(wait_reports(rk, &r, 2, WAIT_MS), 2);
    assert_int_equal(r.ok, 2);
    rd_kafka_destroy(rk);

    assert_int_equal(consume_all(bs, "outage", got, 8), 2);
    assert_string_equal(got[0].value, "before");
    assert_string_equal(got[1].value, "during");
    assert_int_equal(got[1].offset, got[0].offset + 1);
}

/* The address file holds the bootstrap address and is gone after stop; bad arguments fail with
 * a message. */
static void
test_addr_file(void **state)
{
    char dir[] = "/tmp/portico-dev-broker-XXXXXX", path[256], bad[300], line[64] = "", err[256];
    const char *const topics[] = {"a", "b", NULL};
    struct au_dev_broker *b;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/broker.addr", dir);
    b = au_dev_broker_start(topics, 2, path, err, sizeof err);
    assert_non_null(b);
    assert_non_null(f = fopen(path, "r"));
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_int_equal(strncmp(line, "127.0.0.1:", 10), 0);
    assert_int_equal(strcspn(line, "\n"), strlen(au_dev_broker_bootstraps(b)));
    assert_int_equal(strncmp(line, au_dev_broker_bootstraps(b), strcspn(line, "\n")), 0);
    au_dev_broker_stop(b);
    assert_int_not_equal(access(path, F_OK), 0);

    snprintf(bad, sizeof bad, "%s/missing/broker.addr", dir);
    assert_null(au_dev_broker_start(topics, 2, bad, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    assert_null(au_dev_broker_start(topics, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "partitions"));
    assert_int_equal(rmdir(dir), 0); /* nothing left behind, not even a temporary file */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_up, setup, teardown),
        cmocka_unit_test(test_addr_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    rd_kafka_wait_destroyed(5000); /* librdkafka's threads gone before the leak check */
    return rc;
}
