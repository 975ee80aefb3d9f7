/* cluster.c: following the cluster through Redis (see cluster.h). */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "consumer_store.h"
#include "log.h"

#define BEAT_MS 1000
#define NODE_TTL_MS 5000

static struct {
    const struct gw_redis_conf *conf;
    char node[128];
    char channel[160], store_key[160], nodes_key[160];
    pthread_t thread;
    int running;
    struct event_base *base;
    struct event *tick, *stop_ev;
    int stop_fd;
    redisContext *cmd;            /* the thread's: beats, reads of the store */
    redisAsyncContext *sub;       /* the thread's: the store's channel */
    int sub_up;
    pthread_mutex_t lock;         /* master, and the admin thread's context */
    char master_ip[46];
    int master_port;
    _Atomic unsigned master_gen;
    _Atomic int nodes;
    redisContext *writer;         /* the admin thread's */
    int warned;
} C = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_fd = -1};

int
gw_cluster_on(void)
{
    return C.conf != NULL;
}

const struct gw_redis_conf *
gw_cluster_conf(void)
{
    return C.conf;
}

unsigned
gw_cluster_master(char ip[46], int *port)
{
    unsigned gen;

    pthread_mutex_lock(&C.lock);
    gen = atomic_load(&C.master_gen);
    memcpy(ip, C.master_ip, sizeof C.master_ip);
    *port = C.master_port;
    pthread_mutex_unlock(&C.lock);
    return gen;
}

int
gw_cluster_nodes(void)
{
    int n = atomic_load_explicit(&C.nodes, memory_order_relaxed);

    return n > 0 ? n : 1;
}

/* ---- synchronous calls (this thread and the admin's) ---- */

static redisContext *
connect_to(const char *ip, int port, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(ip, port, tv);
    redisReply *r;

    if (c == NULL || c->err) {
        if (c != NULL)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (C.conf->password != NULL) {
        r = redisCommand(c, "AUTH %s", C.conf->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

static void
set_master(const char *ip, int port)
{
    pthread_mutex_lock(&C.lock);
    if (strcmp(ip, C.master_ip) != 0 || port != C.master_port || atomic_load(&C.master_gen) == 0) {
        snprintf(C.master_ip, sizeof C.master_ip, "%s", ip);
        C.master_port = port;
        atomic_fetch_add(&C.master_gen, 1);
        gw_log(GW_LOG_INFO, "cluster: Redis master at %s:%d", ip, port);
    }
    pthread_mutex_unlock(&C.lock);
}

/* Where the master is now: 0 (set_master said it), or -1. */
static int
find_master(void)
{
    const struct gw_redis_conf *rc = C.conf;
    char ip[46];
    int port;

    for (size_t i = 0; i < rc->naddresses; i++) {
        redisContext *c;
        redisReply *r;
        if (gw_redis_split(rc->addresses[i], ip, &port) < 0)
            continue;
        if (rc->mode == GW_REDIS_STANDALONE) {
            set_master(ip, port);
            return 0;
        }
        if ((c = connect_to(ip, port, 500)) == NULL)
            continue;
        if (rc->mode == GW_REDIS_SENTINEL) {
            r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", rc->master);
            if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                r->element[0]->type == REDIS_REPLY_STRING) {
                set_master(r->element[0]->str, atoi(r->element[1]->str));
                freeReplyObject(r);
                redisFree(c);
                return 0;
            }
        } else { /* cluster: whoever owns the prefix's slot says so (MOVED slot ip:port) */
            r = redisCommand(c, "EXISTS %s", C.store_key);
            if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "MOVED ", 6) == 0) {
                const char *at = strrchr(r->str, ' ');
                if (at != NULL && gw_redis_split(at + 1, ip, &port) == 0)
                    set_master(ip, port);
                freeReplyObject(r);
                redisFree(c);
                return 0;
            }
            if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
                set_master(ip, port);
                freeReplyObject(r);
                redisFree(c);
                return 0;
            }
        }
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c);
    }
    return -1;
}

static void
drop_cmd(void)
{
    if (C.cmd != NULL)
        redisFree(C.cmd);
    C.cmd = NULL;
}

/* Read the whole store hash and apply it (after (re)subscribing). */
static int
resync(void)
{
    redisReply *r = redisCommand(C.cmd, "HGETALL %s", C.store_key);
    size_t n = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r != NULL)
            freeReplyObject(r);
        drop_cmd();
        return -1;
    }
    /* consumers before keys: "c:" sorts before "k:" */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                r->element[i]->str[0] == (pass == 0 ? 'c' : 'k') &&
                gw_cstore_apply(r->element[i + 1]->str) == 0)
                n++;
    freeReplyObject(r);
    gw_log(GW_LOG_INFO, "cluster: consumer store read from Redis (%zu records)", n);
    return 0;
}

/* ---- the store's channel ---- */

static void
sub_message(redisAsyncContext *ac, void *reply, void *arg)
{
    redisReply *r = reply;

    (void)ac;
    (void)arg;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    if (r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "subscribe") == 0) {
        if (C.cmd != NULL && resync() == 0)
            C.sub_up = 1;
        else if (C.sub != NULL)
            redisAsyncDisconnect(C.sub); /* again at the next beat */
        return;
    }
    if (r->element[2]->type == REDIS_REPLY_STRING && gw_cstore_apply(r->element[2]->str) < 0)
        gw_log(GW_LOG_WARN, "cluster: a consumer store record from Redis is not one, left out");
}

static void
sub_disconnected(const redisAsyncContext *ac, int status)
{
    (void)ac;
    (void)status;
    C.sub = NULL; /* hiredis frees it */
    C.sub_up = 0;
}

static void
sub_connected(const redisAsyncContext *ac, int status)
{
    (void)ac;
    if (status != REDIS_OK) /* freed by hiredis, without a disconnect call */
        C.sub = NULL;
}

static void
subscribe(void)
{
    char ip[46];
    int port;

    if (gw_cluster_master(ip, &port) == 0 || (C.sub = redisAsyncConnect(ip, port)) == NULL)
        return;
    if (C.sub->err) {
        redisAsyncFree(C.sub);
        C.sub = NULL;
        return;
    }
    redisLibeventAttach(C.sub, C.base);
    redisAsyncSetConnectCallback(C.sub, sub_connected);
    redisAsyncSetDisconnectCallback(C.sub, sub_disconnected);
    if (C.conf->password != NULL)
        redisAsyncCommand(C.sub, NULL, NULL, "AUTH %s", C.conf->password);
    redisAsyncCommand(C.sub, sub_message, NULL, "SUBSCRIBE %s", C.channel);
}

/* ---- the beat ---- */

static void
beat(void)
{
    struct timespec ts;
    long long now;
    redisReply *r;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    redisAppendCommand(C.cmd, "ZADD %s %lld %s", C.nodes_key, now, C.node);
    redisAppendCommand(C.cmd, "ZREMRANGEBYSCORE %s -inf %lld", C.nodes_key, now - NODE_TTL_MS);
    redisAppendCommand(C.cmd, "ZCARD %s", C.nodes_key);
    for (int i = 0; i < 3; i++) {
        if (redisGetReply(C.cmd, (void **)&r) != REDIS_OK || r == NULL) {
            drop_cmd();
            return;
        }
        if (i == 2 && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            atomic_store(&C.nodes, (int)r->integer);
        freeReplyObject(r);
    }
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
    char ip[46];
    int port;

    (void)fd;
    (void)what;
    (void)arg;
    if (C.cmd == NULL) {
        if (find_master() < 0 || gw_cluster_master(ip, &port) == 0 ||
            (C.cmd = connect_to(ip, port, 1000)) == NULL) {
            if (!C.warned++)
                gw_log(GW_LOG_WARN, "cluster: Redis is away; limits hold a local share, "
                       "run-time consumers wait for it");
            if (C.sub != NULL)
                redisAsyncDisconnect(C.sub);
            return;
        }
        if (C.warned)
            gw_log(GW_LOG_INFO, "cluster: Redis is back");
        C.warned = 0;
        if (C.sub != NULL) /* to a master that may have moved: anew */
            redisAsyncDisconnect(C.sub);
    }
    beat();
    if (C.cmd != NULL && C.sub == NULL)
        subscribe();
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t v;

    (void)what;
    (void)arg;
    if (read(fd, &v, sizeof v) < 0) {
        /* nothing: the loop stops anyway */
    }
    event_base_loopbreak(C.base);
}

static void *
follow(void *arg)
{
    (void)arg;
    tick(-1, 0, NULL);
    event_base_dispatch(C.base);
    if (C.sub != NULL)
        redisAsyncFree(C.sub);
    C.sub = NULL;
    drop_cmd();
    return NULL;
}

int
gw_cluster_start(const struct gw_redis_conf *conf, const char *node, char *err, size_t errlen)
{
    struct timeval every = {BEAT_MS / 1000, (BEAT_MS % 1000) * 1000};

    if (!conf->on)
        return 0;
    C.conf = conf;
    snprintf(C.node, sizeof C.node, "%s", node);
    snprintf(C.channel, sizeof C.channel, "%s:store:changes", conf->prefix);
    snprintf(C.store_key, sizeof C.store_key, "%s:store", conf->prefix);
    snprintf(C.nodes_key, sizeof C.nodes_key, "%s:nodes", conf->prefix);
    atomic_store(&C.nodes, 1);
    if ((C.base = event_base_new()) == NULL || (C.stop_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
        (C.tick = event_new(C.base, -1, EV_PERSIST, tick, NULL)) == NULL ||
        (C.stop_ev = event_new(C.base, C.stop_fd, EV_READ, stop_cb, NULL)) == NULL) {
        snprintf(err, errlen, "cluster: out of memory");
        return -1;
    }
    event_add(C.tick, &every);
    event_add(C.stop_ev, NULL);
    if (pthread_create(&C.thread, NULL, follow, NULL) != 0) {
        snprintf(err, errlen, "cluster: cannot start its thread");
        return -1;
    }
    C.running = 1;
    return 0;
}

void
gw_cluster_stop(void)
{
    uint64_t one = 1;

    if (C.running) {
        if (write(C.stop_fd, &one, sizeof one) < 0)
            gw_log(GW_LOG_ERROR, "cluster: cannot stop its thread");
        pthread_join(C.thread, NULL);
        C.running = 0;
    }
    if (C.tick != NULL)
        event_free(C.tick);
    if (C.stop_ev != NULL)
        event_free(C.stop_ev);
    if (C.base != NULL)
        event_base_free(C.base);
    if (C.stop_fd >= 0)
        close(C.stop_fd);
    pthread_mutex_lock(&C.lock);
    if (C.writer != NULL)
        redisFree(C.writer);
    C.writer = NULL;
    pthread_mutex_unlock(&C.lock);
    C.tick = C.stop_ev = NULL;
    C.base = NULL;
    C.stop_fd = -1;
    C.conf = NULL;
}

/* HSET and PUBLISH in one step: no node reads the hash without the change nor misses it. */
static const char store_script[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('PUBLISH', ARGV[3], ARGV[2]) return 1";

int
gw_cluster_store_write(const char *field, const char *json, char *err, size_t errlen)
{
    char ip[46];
    int port, rc = -1;
    redisReply *r = NULL;

    pthread_mutex_lock(&C.lock);
    memcpy(ip, C.master_ip, sizeof ip);
    port = C.master_port;
    pthread_mutex_unlock(&C.lock);
    for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
        if (C.writer == NULL && (port == 0 || (C.writer = connect_to(ip, port, 2000)) == NULL)) {
            snprintf(err, errlen, "Redis (%s:%d) is away: the consumer store cannot be written",
                     port != 0 ? ip : "-", port);
            return -1;
        }
        r = redisCommand(C.writer, "EVAL %s 1 %s %s %s %s", store_script, C.store_key, field,
                         json, C.channel);
        if (r != NULL && r->type == REDIS_REPLY_INTEGER)
            rc = 0;
        else if (r != NULL && r->type == REDIS_REPLY_ERROR)
            snprintf(err, errlen, "Redis refused the consumer store's write: %s", r->str);
        else
            snprintf(err, errlen, "Redis (%s:%d) did not answer", ip, port);
        if (r != NULL)
            freeReplyObject(r);
        if (rc < 0) {
            redisFree(C.writer);
            C.writer = NULL;
        }
    }
    return rc;
}
