/* kafka_outbox_int.h: the outbox's insides, shared by kafka_outbox.c (appending, shipping) and
 * kafka_outbox_recover.c (the partitions' marks and the read-back after a crash). */
#ifndef CN_KAFKA_OUTBOX_INT_H
#define CN_KAFKA_OUTBOX_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "kafka_outbox.h"
#include "wal.h"

#define OB_HEADER "portico-outbox" /* "<log identity in hex>:<record number>" */

/* A topic the log's records go to. Its marks: per partition, the offset from which messages of
 * the log may be there that the checkpoint does not cover (the read-back starts there). */
struct ob_topic {
    char *name;
    rd_kafka_topic_t *rkt;    /* the producer's handle (NULL while there is no producer) */
    int used;                 /* marked: the partitions' ends were kept before its first message */
    int32_t nparts;
    int64_t *mark;
};

/* A record the read-back found in Kafka already. */
struct ob_found {
    uint64_t seq;
    int32_t partition;
    int64_t offset;
};

/* A record on its way, in log order. */
struct ob_flight {
    uint64_t next, seq;
    int64_t offset;
    int32_t partition;
    int topic;
    int done;
};

/* A record's frame, read back: the topic, the headers (an encoded run) and the message. */
struct ob_frame {
    const char *topic;
    size_t topic_len;
    int has_key;
    unsigned nheaders;
    const unsigned char *headers;
    const char *value;
    size_t len;
};

struct cn_outbox {
    struct cn_outbox_conf conf;
    char *brokers;
    json_t *props;
    struct gw_wal *wal;
    char id[17];              /* the log's identity in hex, the header's first part */
    rd_kafka_t *rk;
    pthread_t thread;
    int started;
    atomic_int stopping;
    int flush_ms;
    /* the shipper's (its thread only) */
    struct ob_flight *ring;
    uint64_t head, tail;      /* ring counters: [tail, head) are in flight */
    uint64_t ship;            /* the next log position to produce */
    uint64_t acked_lsn, acked_seq;
    int restart;              /* a delivery failed for good: start again from the trim point */
    int recovered;            /* the read-back is done: shipping may start */
    int64_t retry_at;         /* the brokers did not answer: not before then */
    struct ob_topic *topics;
    size_t ntopics;
    int marks_dirty;
    struct ob_found *found;   /* by seq */
    size_t nfound, found_at;
    int64_t last_warn;
    /* counters */
    atomic_uint_fast64_t appended, shipped, refused;
};

int64_t ob_now_ms(void);
int ob_frame_read(const char *p, size_t n, struct ob_frame *f);
/* The topic named so (added when new). -1: out of memory. */
int ob_topic_at(struct cn_outbox *o, const char *name, size_t len);
/* librdkafka's settings for the outbox's brokers (type's defaults first). NULL: logged. */
rd_kafka_conf_t *ob_kafka_conf(const struct cn_outbox *o, const char *const (*defaults)[2],
                               size_t n);

/* kafka_outbox_recover.c */
int ob_marks_load(struct cn_outbox *o, char *err, size_t errlen);
int ob_marks_save(struct cn_outbox *o);
/* Keep the ends of t's partitions before its first message. 0, or -1: the brokers did not
 * answer (try again later). */
int ob_topic_first(struct cn_outbox *o, struct ob_topic *t);
/* Find the records of [acked, ship limit) that are in Kafka already (o->found). 0, or -1: the
 * brokers did not answer (try again later). */
int ob_recover(struct cn_outbox *o, uint64_t limit);

#endif
