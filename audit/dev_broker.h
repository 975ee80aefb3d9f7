/* dev_broker.h: the development Kafka broker, librdkafka's mock cluster inside this process.
 *
 * One broker on a loopback port that speaks the real Kafka protocol (produce, idempotent produce,
 * fetch, consumer groups, metadata with automatic topic creation), keeping everything in memory.
 * For development and tests only: nothing is written to disk and nothing survives the process.
 * It can be taken down and back up to show how producers ride out a broker outage.
 */
#ifndef AU_DEV_BROKER_H
#define AU_DEV_BROKER_H

#include <stddef.h>

struct au_dev_broker;

/* Start a mock cluster of one broker (id 1) on 127.0.0.1 and an ephemeral port. Each topic in
 * `topics` (NULL-terminated, may be NULL) is created with `partitions` partitions (1 to 10000);
 * any other topic a client asks for is created on its first metadata request, with the mock's
 * fixed default of 4 partitions. When `addr_file` is not NULL, the bootstrap address
 * ("127.0.0.1:PORT" and a newline) is written to it through a temporary file and a rename, so a
 * reader never sees half of it. librdkafka's warnings and errors go to stderr as
 * "portico: kafka-dev: ...". Returns the broker, to be stopped by au_dev_broker_stop(), or NULL
 * with a message in err. */
struct au_dev_broker *au_dev_broker_start(const char *const *topics, int partitions,
                                          const char *addr_file, char *err, size_t errlen);

/* The bootstrap address, "127.0.0.1:PORT"; valid until au_dev_broker_stop(). */
const char *au_dev_broker_bootstraps(const struct au_dev_broker *b);

/* Take the broker down (up = 0: its client connections are closed and its listening socket too, so
 * connections are refused) or back up (up = 1: it listens again on the same port). Topics,
 * messages and committed offsets are kept. Returns 0, or -1 if librdkafka refused. */
int au_dev_broker_set_up(struct au_dev_broker *b, int up);

/* Stop the broker, drop its data and remove the address file it wrote. NULL is allowed. */
void au_dev_broker_stop(struct au_dev_broker *b);

#endif
