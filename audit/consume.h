/* consume.h: reading the audit topic (audit/consume.c), a small wrapper over a librdkafka
 * consumer for `portico audit tail | report | verify`.
 *
 * Without a consumer group, every partition of the topic is read from its beginning (or from a
 * time, where the brokers can look offsets up by time), nothing is committed, and
 * several readers never disturb each other. With a group, the topic is subscribed to and offsets
 * are committed, so that the next run goes on where this one stopped. Either way the reader stops
 * at the end of every partition, or follows the topic for new messages.
 */
#ifndef AU_CONSUME_H
#define AU_CONSUME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct au_consume_opts {
    const char *brokers; /* bootstrap.servers */
    const char *topic;
    const json_t *props;         /* librdkafka properties, an object of strings; NULL for none */
    const char *group;           /* a consumer group, or NULL */
    int64_t since_ms;            /* without a group: start from this time (ms since the epoch); < 0:
                                    from the beginning. Messages before it may still come (the caller
                                    filters): not every broker looks offsets up by time */
    int follow;                  /* wait for new messages instead of stopping at the end */
    int timeout_ms;              /* without follow: how long the brokers may keep us waiting */
    volatile sig_atomic_t *stop; /* when it turns non-zero, waits end early; may be NULL */
    /* with follow: called once when the brokers could not be reached within timeout_ms (the
       wait goes on), with what went wrong; may be NULL */
    void (*notice)(const char *msg);
};

/* A message, valid until the next au_consume_next() or au_consume_close(). */
struct au_msg {
    int32_t partition;
    int64_t offset;
    const char *key, *value; /* not NUL-terminated; NULL when absent */
    size_t key_len, len;
    int64_t timestamp_ms; /* -1 when the message has none */
};

enum {
    AU_CONSUME_ERROR = -1,
    AU_CONSUME_MSG = 0,   /* *m holds a message */
    AU_CONSUME_AGAIN = 1, /* nothing within the wait, or *stop was set */
    AU_CONSUME_END = 2,   /* every partition is read to its end (not with follow) */
};

struct au_consumer;

/* Connect, find the topic's partitions and start reading. Unreachable brokers or a missing topic
 * fail after timeout_ms with a message in err; with follow, unreachable brokers are waited for
 * until *stop (then NULL with err empty). Returns the consumer, or NULL. */
struct au_consumer *au_consume_open(const struct au_consume_opts *o, char *err, size_t errlen);

/* Wait up to wait_ms for the next message. Returns AU_CONSUME_MSG, AU_CONSUME_AGAIN,
 * AU_CONSUME_END, or AU_CONSUME_ERROR with a message in err: a fatal error from the brokers, or,
 * without follow, timeout_ms gone by with no message and no partition end. */
int au_consume_next(struct au_consumer *c, struct au_msg *m, int wait_ms, char *err, size_t errlen);

/* Leave the group (committing the offsets read) and free everything; NULL is allowed. The close
 * is bounded by the timeout given at open. */
void au_consume_close(struct au_consumer *c);

#endif
