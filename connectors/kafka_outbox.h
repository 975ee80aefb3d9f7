/* kafka_outbox.h: store-and-forward to Kafka, for kafka:// routes with ack "local".
 *
 * The node's outbox is a write-ahead log of its own (base/wal.h, the audit log's machinery, in its
 * own folder): a worker appends the message (topic, key, headers, value) and answers 202 at once;
 * a shipper thread produces the log's records to their topics in order, with an idempotent
 * producer that never gives up, and trims the log behind Kafka's acknowledgements.
 *
 * Exactly once across a crash: each message carries the header `portico-outbox` (the log's
 * identity and the record's number). The shipper keeps, per partition it produced to, the offset
 * after the last message of the acknowledged prefix (the `offsets` file, written after each sync
 * of the checkpoint, and the partitions' ends before a topic's first message). On start, and
 * after its producer was restarted, it reads each partition from there to its end and skips the
 * records it finds: those the last run delivered without living to move its checkpoint.
 */
#ifndef CN_KAFKA_OUTBOX_H
#define CN_KAFKA_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "json_loc.h"

/* "connectors.kafka.outbox" in portico.json. */
struct cn_outbox_conf {
    char *dir;            /* the log's folder ("outbox") */
    char *ring_dir;       /* where its ring of fresh records is (a memory file system) */
    uint64_t ring_bytes;  /* the ring's size: a record is at most half of it */
    uint64_t max_bytes;   /* messages waiting for Kafka, at most (then 503) */
    int fsync_ms;         /* how often the log is synced to disk */
};

/* Read obj (at path; NULL: the defaults; dir: the folder's default, beside the document). Returns
 * the number of errors reported. The delivery log's settings are read the same way. */
int cn_outbox_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                        const char *dir, struct cn_outbox_conf *out);
void cn_outbox_conf_free(struct cn_outbox_conf *o);
int cn_outbox_conf_same(const struct cn_outbox_conf *a, const struct cn_outbox_conf *b);

/* A Kafka message header: a name and a value of len bytes. */
struct cn_kafka_header {
    const char *name;
    const char *value;
    size_t len;
};

/* A message to store and forward. key NULL: none (Kafka's null key). */
struct cn_outbox_msg {
    const char *topic;
    const char *key;
    size_t keylen;
    const struct cn_kafka_header *headers;
    size_t nheaders;
    const char *value;
    size_t len;
};

struct cn_outbox;

/* Open the log in conf->dir and start its shipper to brokers (a bootstrap list) with librdkafka
 * properties props (strings; may be NULL). NULL with a message in err. */
struct cn_outbox *cn_outbox_start(const struct cn_outbox_conf *conf, const char *brokers,
                                  const json_t *props, char *err, size_t errlen);
/* Ship for up to flush_ms what waits, then stop; what is left stays in the log for the next
 * start. NULL is let be. */
void cn_outbox_stop(struct cn_outbox *o, int flush_ms);

enum { CN_OUTBOX_OK = 0, CN_OUTBOX_FULL = -1, CN_OUTBOX_TOO_LARGE = -2 };
/* Append m to the log (any thread): once CN_OUTBOX_OK is returned, the message survives a crash
 * of the process and reaches its topic once. CN_OUTBOX_FULL: max_bytes wait already;
 * CN_OUTBOX_TOO_LARGE: a record is at most half the ring (or the topic, a header or the key is
 * too long for the record's frame). */
int cn_outbox_put(struct cn_outbox *o, const struct cn_outbox_msg *m);

struct cn_outbox_stats {
    uint64_t appended, shipped, refused, waiting_bytes;
};
void cn_outbox_stats(const struct cn_outbox *o, struct cn_outbox_stats *s);

#endif
