/* cluster_conf.h: portico.json's "cluster": { "redis": {...} }, where nodes share their limits'
 * counters and the consumers made at run time (cluster.h). Without it everything is local. */
#ifndef GW_CLUSTER_CONF_H
#define GW_CLUSTER_CONF_H

#include <jansson.h>

#include "json_loc.h"

enum gw_redis_mode { GW_REDIS_STANDALONE, GW_REDIS_SENTINEL, GW_REDIS_CLUSTER };

struct gw_redis_conf {
    int on;
    enum gw_redis_mode mode;
    char **addresses;      /* "ip:port" (names resolved once, at load): the server, the
                            * sentinels, or some of the cluster's nodes */
    size_t naddresses;
    char *master;          /* sentinel: the master's name */
    char *password;        /* from password_file (NULL: no AUTH) */
    char *prefix;          /* of every key and the channel; a hash tag ("{portico}") so that a
                            * cluster keeps them in one slot */
    int timeout_ms;        /* the longest a request waits for Redis, then the local share */
    int fallback_nodes;    /* the local share is a limit / this (0: the live nodes last seen) */
    int lease_ms;          /* leases (limiter_redis.c): the nodes together take ahead from Redis
                            * at most this many ms of a limit's rate and as many
                            * hundred-thousandths of its quotas (0: every request asks) */
    char *text;            /* the section as compact JSON, sorted: a reload may not change it */
};

/* Read obj (cluster.redis at path; NULL: off) into r. */
void gw_redis_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                        struct gw_redis_conf *r);
void gw_redis_conf_free(struct gw_redis_conf *r);

/* "cluster" of the document root. */
void gw_cluster_conf_load(const struct gw_jctx *c, const json_t *root, struct gw_redis_conf *r);

/* "ip:port" into ip (46 bytes) and *port: 0, or -1. */
int gw_redis_split(const char *addr, char ip[46], int *port);

#endif
