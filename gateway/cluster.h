/* cluster.h: the node's part in a cluster that shares Redis (cluster.redis, cluster_conf.h).
 *
 * A thread of its own follows the cluster: it finds the Redis master (the one address given; the
 * sentinels' answer for the master's name; in a cluster, the node that owns the prefix's hash
 * slot, from its MOVED answer), says every second that this node is alive (a sorted set of
 * nodes by last beat) and counts the live ones, and follows the consumer store: every record
 * the admin API writes is kept in a hash and published; the thread applies what is published
 * (consumer_store.h), and reads the whole hash again each time it (re)connects, so that nothing
 * published while it was away is missed. The workers talk to the master themselves
 * (limiter_redis.c), never blocking: they read where it is here.
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include <stddef.h>

#include "cluster_conf.h"

/* Start following (conf must outlive it). 0, or -1 with a message in err. Without cluster.redis
 * nothing starts and everything stays local. */
int gw_cluster_start(const struct gw_redis_conf *conf, const char *node, char *err,
                     size_t errlen);
void gw_cluster_stop(void);

/* Is the cluster on (cluster.redis given)? */
int gw_cluster_on(void);
const struct gw_redis_conf *gw_cluster_conf(void);

/* The master's address now: its generation (changes with it; 0: none known yet). */
unsigned gw_cluster_master(char ip[46], int *port);

/* The live nodes it last counted (at least 1). */
int gw_cluster_nodes(void);

/* Keep a consumer store record (field "c:<id>" or "k:<kid>") in Redis and publish it; waits for
 * Redis at most a second or two (the admin thread calls it). 0, or -1 with a message in err. */
int gw_cluster_store_write(const char *field, const char *json, char *err, size_t errlen);

#endif
