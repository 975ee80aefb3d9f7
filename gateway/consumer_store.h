/* consumer_store.h: consumers and API keys made or revoked at run time (the admin API), seen by
 * every worker, kept across restarts and reloads.
 *
 * consumers_dir's consumers are the snapshot's (partners/consumer.h); the store holds what the
 * admin API adds over them: new consumers, new keys (for either kind of consumer), and
 * revocations (of either kind of key). A key the store knows is decided by the store's record,
 * any other by the snapshot's. Without cluster.redis the store is kept in api_keys.store_file,
 * a JSON-lines journal written (and synced) before an admin call is answered, read again at
 * start; with it, in Redis (cluster.h), whence every node applies each change.
 *
 * Run-time consumers are never freed before exit: an exchange may hold one without a reference.
 */
#ifndef GW_CONSUMER_STORE_H
#define GW_CONSUMER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "consumer.h"

struct gw_limit_state;

/* A consumer made at run time. */
struct gw_rt_consumer {
    struct pt_consumer c;          /* c.plan stays NULL: its plan is found by name in the
                                    * snapshot an exchange runs with */
    struct gw_limit_state *state;  /* its limits' counters (gateway/limiter.h) */
};

/* What a key id stands for in the store. */
struct gw_key_record {
    struct pt_key key;
    char consumer[65];             /* its consumer's id */
    const struct gw_rt_consumer *rt; /* that consumer when made at run time, else NULL */
};

/* Read the journal (creating nothing yet). 0, or -1 with a message in err. */
int gw_cstore_open(const char *file, char *err, size_t errlen);
void gw_cstore_close(void);

/* Apply a record (a journal line; one read from Redis): 0, or -1 when it is not one. */
int gw_cstore_apply(const char *record);

/* The store's record of kid into *out: 1, or 0 when the store does not know it. */
int gw_cstore_key(const char *kid, struct gw_key_record *out);

/* The run-time consumer with this id, or NULL. */
const struct gw_rt_consumer *gw_cstore_consumer(const char *id);

/* Changes (the admin API's; they are journaled first). 0, or -1 with a message in err. */
int gw_cstore_add_consumer(const char *id, const char *name, const char *plan, char *err,
                           size_t errlen);
int gw_cstore_add_key(const char *consumer, const struct pt_key *k, char *err, size_t errlen);
/* The key stops working at `at` (s since the epoch): now, or after a rotation's overlap. k: the
 * key as known before (its hash is kept with the record). */
int gw_cstore_revoke(const char *consumer, const struct pt_key *k, int64_t at, char *err,
                     size_t errlen);

/* Every run-time consumer in the order made, then every key record by kid (under the store's lock:
 * the callbacks must not call the store). */
void gw_cstore_each(void (*consumer)(const struct gw_rt_consumer *, void *),
                    void (*key)(const struct gw_key_record *, void *), void *arg);

/* k, the store's record of a key consumers_dir's file holds too (f; NULL: none), with the file's
 * word over it where that is stricter: revoked there, or expiring sooner. (A key revoked in the
 * file by `portico consumer revoke` stays revoked after the admin API rotated it.) */
void gw_key_stricter(struct pt_key *k, const struct pt_key *f);

/* Is the key usable at now: 0, or the problem code ("key-revoked", "key-expired"). */
const char *gw_key_state(const struct pt_key *k, int64_t now);

#endif
