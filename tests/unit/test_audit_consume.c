/* test_audit_consume.c: the audit topic read back from the development broker (a librdkafka mock
 * cluster in this process): audit/consume.c to the end, from a time, with a group, following, and
 * against brokers that cannot be reached; then `portico audit tail | report | verify` end to end.
 * Every wait is bounded; an alarm ends the whole run if something hangs anyway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "audit_cmd.h"
#include "consume.h"
#include "dev_broker.h"
#include "jsonw.h"

#define NPART 3
#define TS0 1796232490000LL /* 2026-12-02T17:28:10Z */

static struct au_dev_broker *broker;
static rd_kafka_t *producer;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
produce(const char *topic, int32_t partition, const char *key, const char *value, int64_t ts)
{
    rd_kafka_resp_err_t e;

    e = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void
flush_all(void)
{
    assert_int_equal(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* The producer's complaints while the broker is down are expected. */
static void
quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

static int
setup(void **state)
{
    static const char *const topics[] = {"t.read", "t.since", "t.group", "t.follow",
                                         "t.cli",  "t.empty", NULL};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];

    (void)state;
    alarm(240);
    broker = au_dev_broker_start(topics, NPART, NULL, err, sizeof err);
    if (broker == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    rd_kafka_conf_set_log_cb(conf, quiet);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", au_dev_broker_bootstraps(broker), err,
                          sizeof err) != RD_KAFKA_CONF_OK ||
        (producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err)) == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    rd_kafka_destroy(producer);
    au_dev_broker_stop(broker);
    return 0;
}

/* Three messages in each partition of topic, "P:I", keyed "kP", one second apart. */
static void
fill(const char *topic)
{
    char v[32], k[16];

    for (int i = 0; i < 3; i++) {
        for (int p = 0; p < NPART; p++) {
            snprintf(v, sizeof v, "%d:%d", p, i);
            snprintf(k, sizeof k, "k%d", p);
            produce(topic, p, k, v, TS0 + (i * NPART + p) * 1000);
        }
    }
    flush_all();
}

static struct au_consumer *
open_with(const char *topic, const char *group, int64_t since_ms, int follow, const json_t *props)
{
    struct au_consume_opts o = {.brokers = au_dev_broker_bootstraps(broker),
                                .topic = topic,
                                .props = props,
                                .group = group,
                                .since_ms = since_ms,
                                .follow = follow,
                                .timeout_ms = 20000};
    struct au_consumer *c;
    char err[512];

    c = au_consume_open(&o, err, sizeof err);
    if (c == NULL)
        fail_msg("open %s: %s", topic, err);
    return c;
}

static struct au_consumer *
open_topic(const char *topic, const char *group, int64_t since_ms, int follow)
{
    return open_with(topic, group, since_ms, follow, NULL);
}

/* Read to the end; returns how many messages came, checking each "P:I" against its place. */
static int
read_to_end(struct au_consumer *c, int64_t *next_offset)
{
    int64_t deadline = mono_ms() + 40000;
    struct au_msg m;
    char err[512], want[32];
    int n = 0, rc;

    while ((rc = au_consume_next(c, &m, 500, err, sizeof err)) != AU_CONSUME_END) {
        if (rc == AU_CONSUME_ERROR)
            fail_msg("next: %s", err);
        if (mono_ms() > deadline)
            fail_msg("no end after 40 s");
        if (rc != AU_CONSUME_MSG)
            continue;
        assert_true(m.partition >= 0 && m.partition < NPART);
        if (next_offset != NULL) {
            assert_int_equal(m.offset, next_offset[m.partition]);
            next_offset[m.partition]++;
        }
        snprintf(want, sizeof want, "%d:%lld", m.partition, (long long)m.offset);
        assert_int_equal(m.len, strlen(want));
        assert_memory_equal(m.value, want, m.len);
        assert_int_equal(m.key_len, 2);
        assert_int_equal(m.key[1], '0' + m.partition);
        assert_int_equal(m.timestamp_ms, TS0 + (m.offset * NPART + m.partition) * 1000);
        n++;
    }
    return n;
}

static void
test_read_to_end(void **state)
{
    int64_t next[NPART] = {0};
    struct au_consumer *c;

    (void)state;
    fill("t.read");
    c = open_topic("t.read", NULL, -1, 0);
    assert_int_equal(read_to_end(c, next), 3 * NPART);
    au_consume_close(c);
    /* a second reader without a group starts from the beginning again: nothing was committed */
    c = open_topic("t.read", NULL, -1, 0);
    assert_int_equal(read_to_end(c, NULL), 3 * NPART);
    au_consume_close(c);
}

static void
test_empty(void **state)
{
    struct au_consumer *c;
    int64_t t0 = mono_ms();

    (void)state;
    c = open_topic("t.empty", NULL, -1, 0);
    assert_int_equal(read_to_end(c, NULL), 0);
    assert_true(mono_ms() - t0 < 10000);
    au_consume_close(c);
}

/* The mock cluster does not look offsets up by time: every message comes, the caller filters.
 * A broker that does would leave out the earlier ones; both keep every later one. */
static void
test_since(void **state)
{
    struct au_consumer *c;
    int n;

    (void)state;
    fill("t.since");
    c = open_topic("t.since", NULL, TS0 + 4000, 0);
    n = read_to_end(c, NULL);
    assert_true(n >= 3 * NPART - 4 && n <= 3 * NPART);
    au_consume_close(c);
}

/* After the last member leaves, the mock cluster waits the member's session less a second
 * before a new one gets partitions (consume.c, make_conf): with the reader's own 6 s session, the
 * second run reads within about 5 s, not 44. */
static void
test_group(void **state)
{
    struct au_consumer *c;
    int64_t t0;

    (void)state;
    fill("t.group");
    c = open_topic("t.group", "portico-test", -1, 0);
    assert_int_equal(read_to_end(c, NULL), 3 * NPART);
    au_consume_close(c);
    /* the group goes on where it stopped: only what came since */
    produce("t.group", 1, "k1", "1:3", TS0 + (3 * NPART + 1) * 1000);
    flush_all();
    t0 = mono_ms();
    c = open_topic("t.group", "portico-test", -1, 0);
    assert_int_equal(read_to_end(c, NULL), 1);
    au_consume_close(c);
    if (mono_ms() - t0 > 9000)
        fail_msg("the second run of the group took %lld ms", (long long)(mono_ms() - t0));
}

static void
test_follow(void **state)
{
    struct au_consumer *c;
    struct au_msg m;
    char err[512];
    int n = 0, rc;
    int64_t deadline = mono_ms() + 20000;

    (void)state;
    fill("t.follow");
    c = open_topic("t.follow", NULL, -1, 1);
    while (n < 3 * NPART && mono_ms() < deadline)
        if ((rc = au_consume_next(c, &m, 500, err, sizeof err)) == AU_CONSUME_MSG)
            n++;
        else
            assert_int_equal(rc, AU_CONSUME_AGAIN); /* never the end when following */
    assert_int_equal(n, 3 * NPART);
    assert_int_equal(au_consume_next(c, &m, 300, err, sizeof err), AU_CONSUME_AGAIN);
    produce("t.follow", 2, "k2", "2:3", TS0 + (3 * NPART + 2) * 1000);
    flush_all();
    while ((rc = au_consume_next(c, &m, 500, err, sizeof err)) == AU_CONSUME_AGAIN &&
           mono_ms() < deadline)
        ;
    assert_int_equal(rc, AU_CONSUME_MSG);
    assert_int_equal(m.partition, 2);
    assert_int_equal(m.offset, 3);
    au_consume_close(c);
}

/* Nothing listens on port 1: a clear error within the timeout, not a hang. */
static void
test_unreachable(void **state)
{
    struct au_consume_opts o = {
        .brokers = "127.0.0.1:1", .topic = "t.read", .since_ms = -1, .timeout_ms = 1500};
    int64_t t0 = mono_ms();
    char err[512];

    (void)state;
    assert_null(au_consume_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "cannot reach the Kafka brokers at 127.0.0.1:1 within 2 s"));
    assert_true(mono_ms() - t0 < 6000);
}

static volatile sig_atomic_t stop_flag;

static int notices;
static char notice_text[512];

static void
notice(const char *msg)
{
    notices++;
    snprintf(notice_text, sizeof notice_text, "%s", msg);
}

static void *
stop_later(void *arg)
{
    (void)arg;
    usleep(700 * 1000);
    stop_flag = 1;
    return NULL;
}

/* Following waits for unreachable brokers, saying so once, until told to stop. */
static void
test_follow_stop(void **state)
{
    struct au_consume_opts o = {.brokers = "127.0.0.1:1",
                                .topic = "t.read",
                                .since_ms = -1,
                                .follow = 1,
                                .timeout_ms = 200,
                                .stop = &stop_flag,
                                .notice = notice};
    int64_t t0 = mono_ms();
    pthread_t th;
    char err[512];

    (void)state;
    stop_flag = 0;
    assert_int_equal(pthread_create(&th, NULL, stop_later, NULL), 0);
    assert_null(au_consume_open(&o, err, sizeof err));
    pthread_join(th, NULL);
    assert_string_equal(err, "");
    assert_true(mono_ms() - t0 >= 700 && mono_ms() - t0 < 5000);
    assert_int_equal(notices, 1);
    assert_non_null(strstr(notice_text, "cannot reach the Kafka brokers at 127.0.0.1:1"));
}

/* A broker taken down: bounded failure, and reading works again once it is back. */
static void
test_broker_down(void **state)
{
    struct au_consume_opts o = {.brokers = au_dev_broker_bootstraps(broker),
                                .topic = "t.read",
                                .since_ms = -1,
                                .timeout_ms = 1500};
    struct au_consumer *c;
    int64_t t0 = mono_ms();
    char err[512];

    (void)state;
    assert_int_equal(au_dev_broker_set_up(broker, 0), 0);
    c = au_consume_open(&o, err, sizeof err);
    if (c != NULL) { /* metadata may have come from a connection not yet closed */
        struct au_msg m;
        int rc;
        while ((rc = au_consume_next(c, &m, 500, err, sizeof err)) == AU_CONSUME_MSG ||
               rc == AU_CONSUME_AGAIN)
            assert_true(mono_ms() - t0 < 10000);
        assert_true(rc == AU_CONSUME_ERROR || rc == AU_CONSUME_END);
        au_consume_close(c);
    }
    assert_true(mono_ms() - t0 < 10000);
    assert_int_equal(au_dev_broker_set_up(broker, 1), 0);
    c = open_topic("t.read", NULL, -1, 0);
    assert_int_equal(read_to_end(c, NULL), 3 * NPART);
    au_consume_close(c);
}

/* --- the commands --- */

/* An event of node gw-1 chained to *prev (updated), as the gateway writes it (the members the
 * commands look at). */
static char *
event(int seq, unsigned char prev[32], const char *partner, int status, const char *outcome,
      int latency_us)
{
    struct gw_buf b = {0};
    char id[33], prevhex[65], hash[65], received[32];
    json_t *ev;
    char *s;

    for (int i = 0; i < 32; i++)
        snprintf(prevhex + 2 * i, 3, "%02x", prev[i]);
    snprintf(id, sizeof id, "%032x", seq);
    snprintf(received, sizeof received, "2026-12-02T17:%02d:00.000Z", seq);
    ev =
        json_pack("{s:i,s:s,s:s,s:s,s:i,s:s,s:{s:s},s:s,s:s,s:s,s:s,s:i,s:s,s:n,s:i,s:{s:i},"
                  "s:{s:i}}",
                  "v", 1, "id", id, "kind", "exchange", "node", "gw-1", "seq", seq, "prev", prevhex,
                  "time", "received", received, "partner", partner, "route", "orders", "method",
                  "POST", "path", "/v1/orders", "status", status, "outcome", outcome, "reason",
                  "latency_us", latency_us, "request", "bytes", 100, "response", "bytes_out", 10);
    assert_non_null(ev);
    assert_int_equal(au_json_canon(&b, ev, "hash"), 0);
    au_chain_hash(prev, b.p, b.len, prev);
    gw_buf_free(&b);
    for (int i = 0; i < 32; i++)
        snprintf(hash + 2 * i, 3, "%02x", prev[i]);
    json_object_set_new(ev, "hash", json_string(hash));
    s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return s;
}

/* Run `portico audit ARGS...` with standard output in out. Returns the exit status. */
static int
cli(char *out, size_t outlen, ...)
{
    char *argv[32] = {"audit"};
    int argc = 1, saved, rc;
    FILE *tmp = tmpfile();
    size_t n;
    va_list ap;

    assert_non_null(tmp);
    va_start(ap, outlen);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    fflush(stdout);
    saved = dup(1);
    dup2(fileno(tmp), 1);
    rc = au_cmd_audit(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, outlen - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return rc;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void
test_commands(void **state)
{
    static const char *const partners[] = {"acme", "bolt"};
    unsigned char prev[32] = {0};
    const char *bs = au_dev_broker_bootstraps(broker);
    static char out[65536];
    char *ev;

    (void)state;
    /* 10 events: bolt's (odd seq) in partition 1, acme's in 0; the 7th failed */
    for (int seq = 1; seq <= 10; seq++) {
        const char *p = partners[seq % 2];
        ev = event(seq, prev, p, seq == 7 ? 502 : 200, seq == 7 ? "error" : "ok", seq * 1000);
        produce("t.cli", seq % 2, p, ev, TS0 + seq);
        free(ev);
    }
    flush_all();

    assert_int_equal(cli(out, sizeof out, "verify", "-b", bs, "-t", "t.cli", NULL), 0);
    assert_non_null(strstr(out, "node gw-1: 10 events, seq 1 to 10: clean"));
    assert_int_equal(cli(out, sizeof out, "verify", "--json", "-b", bs, "-t", "t.cli", NULL), 0);
    assert_non_null(strstr(out, "\"clean\": true"));

    assert_int_equal(cli(out, sizeof out, "tail", "-b", bs, "-t", "t.cli", NULL), 0);
    assert_int_equal(count_lines(out), 10);
    assert_int_equal(cli(out, sizeof out, "tail", "-b", bs, "-t", "t.cli", "--partner", "bolt",
                         "--status", "5xx", "--format", "table", NULL),
                     0);
    assert_int_equal(count_lines(out), 2); /* the header and seq 7 */
    assert_non_null(strstr(out, "2026-12-02T17:07:00.000Z  bolt"));
    assert_non_null(strstr(out, "502  error"));
    assert_int_equal(cli(out, sizeof out, "tail", "-b", bs, "-t", "t.cli", "--since",
                         "2026-12-02T17:09:00Z", NULL),
                     0);
    assert_int_equal(count_lines(out), 2);

    assert_int_equal(cli(out, sizeof out, "report", "-b", bs, "-t", "t.cli", NULL), 0);
    assert_non_null(strstr(out, "acme     orders"));
    assert_non_null(strstr(out, "TOTAL"));
    assert_int_equal(cli(out, sizeof out, "report", "--json", "-b", bs, "-t", "t.cli", "--until",
                         "2026-12-02T17:05:00Z", NULL),
                     0);
    assert_non_null(strstr(out, "\"events\": 4"));
    assert_non_null(strstr(out, "\"until\": \"2026-12-02T17:05:00.000Z\""));

    /* a replay is fine; an 11th event whose prev is not seq 10's hash is not */
    memset(prev, 7, sizeof prev);
    ev = event(11, prev, "acme", 200, "ok", 1);
    produce("t.cli", 1, "acme", ev, TS0 + 11);
    free(ev);
    produce("t.cli", 0, "acme", "not json", TS0 + 12);
    flush_all();
    assert_int_equal(cli(out, sizeof out, "verify", "-b", bs, "-t", "t.cli", NULL), 1);
    assert_non_null(strstr(out, "broken link: seq 11 at 1:5"));
    assert_non_null(strstr(out, "0:5: not JSON"));
    assert_non_null(strstr(out, "result: NOT CLEAN: 2 findings"));

    /* usage and connection errors */
    assert_int_equal(cli(out, sizeof out, "verify", "--group", "g", "-b", bs, NULL), 2);
    assert_int_equal(cli(out, sizeof out, "tail", "--since", "yesterday", "-b", bs, NULL), 2);
    assert_int_equal(cli(out, sizeof out, "tail", "--group", "g", "--since", "1h", "-b", bs, NULL),
                     2);
    assert_int_equal(cli(out, sizeof out, "verify", NULL), 2);
    assert_int_equal(cli(out, sizeof out, "verify", "-b", "127.0.0.1:1", "--timeout", "1", NULL),
                     2);
    assert_int_equal(cli(out, sizeof out, "frobnicate", NULL), 2);
    assert_int_equal(cli(out, sizeof out, "tail", "--frobnicate", NULL), 2);
    assert_int_equal(cli(out, sizeof out, "tail", "-b", NULL), 2);
    assert_int_equal(cli(out, sizeof out, "tail", "--status", "6xx", "-b", bs, NULL), 2);
    assert_int_equal(
        cli(out, sizeof out, "report", "--since", "1h", "--until", "2h", "-b", bs, NULL), 2);
    assert_int_equal(cli(out, sizeof out, "help", NULL), 0);
    assert_non_null(strstr(out, "usage: portico audit tail"));
}

/* -c FILE: the audit section, with "embedded" read from the broker.addr the gateway writes.
 * The files are removed before anything is asserted, so a failure leaves nothing behind. */
static void
test_config(void **state)
{
    char dir[] = "/tmp/portico-audit-test-XXXXXX", logs[64], addr[96], config[96];
    static char out[4096];
    int rc_ok, rc_prop, rc_x, listed;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(addr, sizeof addr, "%s/broker.addr", logs);
    snprintf(config, sizeof config, "%s/portico.json", dir);
    mkdir(logs, 0700);
    if ((f = fopen(addr, "w")) != NULL) {
        fprintf(f, "%s\n", au_dev_broker_bootstraps(broker));
        fclose(f);
    }
    if ((f = fopen(config, "w")) != NULL) {
        fprintf(f, "{\"node\": \"gw-1\", \"audit\": {\"brokers\": \"embedded\", \"dir\": "
                   "\"logs\", \"topic\": \"t.read\", \"kafka\": {\"client.id\": \"x\"}}}\n");
        fclose(f);
    }
    /* t.read holds "P:I" texts, no event */
    rc_ok = cli(out, sizeof out, "verify", "-c", config, "-X", "fetch.wait.max.ms=50", NULL);
    listed = strstr(out, "9 messages are not an audit event:") != NULL;
    rc_prop = cli(out, sizeof out, "verify", "-c", config, "-X", "no.such.property=1", NULL);
    rc_x = cli(out, sizeof out, "verify", "-c", config, "-X", "novalue", NULL);
    unlink(config);
    unlink(addr);
    rmdir(logs);
    rmdir(dir);
    assert_int_equal(rc_ok, 1);
    assert_true(listed);
    assert_int_equal(rc_prop, 2);
    assert_int_equal(rc_x, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_to_end), cmocka_unit_test(test_empty),
        cmocka_unit_test(test_since),       cmocka_unit_test(test_group),
        cmocka_unit_test(test_follow),      cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_follow_stop), cmocka_unit_test(test_broker_down),
        cmocka_unit_test(test_commands),    cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
