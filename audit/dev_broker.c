/* dev_broker.c: the development Kafka broker (librdkafka's mock cluster).
 *
 * The mock cluster needs an rd_kafka_t for its bookkeeping and logging; a producer handle with no
 * bootstrap servers serves, it never connects anywhere. The cluster runs in its own thread, and
 * every call made on it here (topic creation, down, up) is handed to that thread and waited for,
 * so they are safe from any thread.
 */
#include "dev_broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define AU_DEV_BROKER_ID 1
#define AU_DEV_MAX_PARTITIONS 10000

struct au_dev_broker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char *bootstraps;
    char *addr_file; /* NULL when none was asked for */
};

/* librdkafka's own lines: warnings and worse only, one line each, tagged as ours. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= LOG_WARNING)
        fprintf(stderr, "portico: kafka-dev: %s: %s\n", fac, buf);
}

/* Write "ADDR\n" to path through path.tmp.PID and a rename, so that a reader sees no file or all
 * of it (durability does not matter: the address dies with the process). Returns 0 or -1 (err
 * set). */
static int
write_addr_file(const char *path, const char *addr, char *err, size_t errlen)
{
    char *tmp = NULL;
    FILE *f = NULL;
    int rc;

    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        tmp = NULL;
        snprintf(err, errlen, "kafka-dev: %s: out of memory", path);
        goto fail;
    }
    if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", addr) < 0) {
        snprintf(err, errlen, "kafka-dev: %s: %s", tmp, strerror(errno));
        goto fail;
    }
    rc = fclose(f);
    f = NULL;
    if (rc != 0) {
        snprintf(err, errlen, "kafka-dev: %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "kafka-dev: %s: %s", path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;

fail:
    if (f != NULL)
        fclose(f);
    if (tmp != NULL)
        unlink(tmp);
    free(tmp);
    return -1;
}

/* The handle the cluster lives on: a producer that knows no broker, logging through log_cb. */
static rd_kafka_t *
new_handle(char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "client.id", "portico-kafka-dev", errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka-dev: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr); /* takes conf on success */
    if (rk == NULL) {
        snprintf(err, errlen, "kafka-dev: %s", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

struct au_dev_broker *
au_dev_broker_start(const char *const *topics, int partitions, const char *addr_file, char *err,
                    size_t errlen)
{
    struct au_dev_broker *b = calloc(1, sizeof *b);
    rd_kafka_resp_err_t rerr;

    if (b == NULL) {
        snprintf(err, errlen, "kafka-dev: out of memory");
        return NULL;
    }
    if (partitions < 1 || partitions > AU_DEV_MAX_PARTITIONS) {
        snprintf(err, errlen, "kafka-dev: partitions must be 1 to %d, not %d",
                 AU_DEV_MAX_PARTITIONS, partitions);
        goto fail;
    }
    if ((b->rk = new_handle(err, errlen)) == NULL)
        goto fail;
    if ((b->mc = rd_kafka_mock_cluster_new(b->rk, 1)) == NULL) {
        snprintf(err, errlen, "kafka-dev: could not start the mock cluster (no loopback port?)");
        goto fail;
    }
    if ((b->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(b->mc))) == NULL) {
        snprintf(err, errlen, "kafka-dev: out of memory");
        goto fail;
    }
    for (size_t i = 0; topics != NULL && topics[i] != NULL; i++) {
        if (topics[i][0] == '\0' || strlen(topics[i]) > 249) {
            snprintf(err, errlen, "kafka-dev: \"%s\" is not a topic name", topics[i]);
            goto fail;
        }
        rerr = rd_kafka_mock_topic_create(b->mc, topics[i], partitions, 1);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "kafka-dev: topic %s: %s", topics[i], rd_kafka_err2str(rerr));
            goto fail;
        }
    }
    if (addr_file != NULL) {
        if (write_addr_file(addr_file, b->bootstraps, err, errlen) != 0)
            goto fail;
        if ((b->addr_file = strdup(addr_file)) == NULL) {
            unlink(addr_file);
            snprintf(err, errlen, "kafka-dev: out of memory");
            goto fail;
        }
    }
    return b;

fail:
    au_dev_broker_stop(b);
    return NULL;
}

const char *
au_dev_broker_bootstraps(const struct au_dev_broker *b)
{
    return b->bootstraps;
}

int
au_dev_broker_set_up(struct au_dev_broker *b, int up)
{
    rd_kafka_resp_err_t rerr = up ? rd_kafka_mock_broker_set_up(b->mc, AU_DEV_BROKER_ID)
                                  : rd_kafka_mock_broker_set_down(b->mc, AU_DEV_BROKER_ID);

    return rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

void
au_dev_broker_stop(struct au_dev_broker *b)
{
    if (b == NULL)
        return;
    if (b->addr_file != NULL)
        unlink(b->addr_file);
    if (b->mc != NULL)
        rd_kafka_mock_cluster_destroy(b->mc);
    if (b->rk != NULL)
        rd_kafka_destroy(b->rk);
    free(b->addr_file);
    free(b->bootstraps);
    free(b);
}
