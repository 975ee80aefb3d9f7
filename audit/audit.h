/* audit.h: the node's audit log: events appended to the write-ahead log, shipped to Kafka.
 *
 * One au_log per process, started by `portico serve` before the workers and stopped after them.
 * Workers append events (au_log_append) from their own threads; a shipper thread of the log's own
 * produces them to Kafka through librdkafka (idempotent, acks=all, keyed by partner) and trims the
 * write-ahead log as Kafka acknowledges them. Nothing here blocks a worker on the network or the
 * disk: appending is a copy into a mapped file under a short lock.
 */
#ifndef AU_AUDIT_H
#define AU_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct gw_jctx;

enum au_full_policy {
    AU_FULL_REJECT = 0, /* new exchanges get 503 while the log is full */
    AU_FULL_DROP,       /* events are dropped, counted and logged loudly */
};

/* The "audit" section of portico.json, validated (README.md, "Audit"). */
struct au_conf {
    char *brokers;           /* "embedded", or a bootstrap list for librdkafka */
    char *topic;             /* default "portico.audit" */
    char *dir;               /* the write-ahead log's folder, resolved; default "<config dir>/audit" */
    char *ring_dir;          /* where the log's memory ring is (a tmpfs folder), default /dev/shm */
    uint64_t ring_bytes;     /* its size, default 64 MiB */
    uint64_t max_bytes;      /* the log's bound, default 1 GiB */
    int fsync_ms;            /* fdatasync period, default 1000; 0: after every shipper turn */
    enum au_full_policy when_full;
    json_t *kafka;           /* librdkafka properties passed through (strings), or NULL */
};

/* Read and check the section at "audit" (obj may be NULL: audit is off, *out zeroed, returns 0).
 * Problems go through c with file:line:column. Returns 1 when audit is on, 0 off, -1 on error. */
int au_conf_load(const struct gw_jctx *c, const json_t *obj, struct au_conf *out);
void au_conf_free(struct au_conf *conf);
/* Do two sections start the same log (a reload cannot change it)? */
int au_conf_same(const struct au_conf *a, const struct au_conf *b);

/* An event as the gateway wrote it (audit/event.h): canonical text without its chain members, and
 * the offsets where they go. */
struct au_event_text {
    const char *p;
    size_t len;
    size_t hash_at;  /* after "config" */
    size_t prev_at;  /* after "path" */
    size_t seq_at;   /* after "route" */
};

struct au_log;

/* Open the write-ahead log, start the embedded broker when configured, and the shipper thread.
 * Returns NULL with a message in err. */
struct au_log *au_log_start(const struct au_conf *conf, const char *node, char *err,
                            size_t errlen);

/* Stop: ship what the log holds for up to flush_ms, record how far Kafka got, sync, close. What
 * was not shipped stays in the log for the next start. NULL is a no-op. */
void au_log_stop(struct au_log *l, int flush_ms);

/* Chain the event (node sequence, previous hash, its own hash) and append it to the log. Returns 0,
 * or -1 when it could not be written (the log is full): it is then counted as dropped. */
int au_log_append(struct au_log *l, const char *key, size_t keylen, const struct au_event_text *ev);

/* The bootstrap servers the log ships to (the embedded broker's address with "embedded"). */
const char *au_log_brokers(const struct au_log *l);

/* With the reject policy: is the log too full to take new exchanges? */
int au_log_refusing(const struct au_log *l);

/* Counters for the log at exit and for metrics. */
struct au_stats {
    uint64_t appended, dropped, shipped, wal_bytes;
    int64_t oldest_ms;       /* how long the oldest event not yet in Kafka has waited; 0: none */
};
void au_log_stats(const struct au_log *l, struct au_stats *s);

#endif
