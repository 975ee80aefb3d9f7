/* kafka.c: the connector that produces a route's requests to a Kafka topic ("kafka://topic").
 *
 * The request, after its request chain, is read whole (the gateway buffers it, bounded by
 * max_buffered_body_bytes) and produced to the topic by the worker's own librdkafka producer
 * (idempotent, acks=all): the body is the message's value, its key the partner's id, a request
 * field's value or a string at a JSON pointer into the body, and the request's content type, id,
 * partner and route (and the fields the route lists) go as message headers. The exchange is
 * answered when Kafka has said (ack "kafka"): 202 with the topic, partition and offset; 503 with
 * Retry-After when Kafka could not take the message within connectors.kafka.timeout_ms (it is then
 * not in the topic); 504 when the time ran out while it was on its way (it may be there).
 *
 * The producer's delivery reports come back on the worker's loop: librdkafka writes to a pipe
 * when its queue has events, the loop watches the pipe and serves the queue. A message whose
 * exchange ended first (the client went away) is still reported; only its answer is dropped.
 *
 * With ack "local" the message goes to the node's outbox instead (kafka_outbox.h) and the answer
 * is 202 at once: the outbox's shipper brings it to the topic.
 */
#include "connector.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "conf_table.h"
#include "http_parser.h"
#include "json_pointer.h"
#include "log.h"
#include "snapshot.h"

#define KAFKA_MAX_FIELDS 32

enum kafka_key { KEY_PARTNER, KEY_FIELD, KEY_POINTER, KEY_NONE };
enum kafka_ack { ACK_KAFKA, ACK_LOCAL };

/* A route's "kafka" object, compiled. */
struct kafka_route {
    enum kafka_ack ack;
    enum kafka_key key;
    char *key_field;          /* KEY_FIELD: the field's name */
    struct gw_jptr pointer;   /* KEY_POINTER: the pointer (compiled at load) */
    char **fields;            /* request fields passed on as message headers */
    size_t nfields;
};

/* What portico.json's "connectors.kafka" says ("embedded": the audit's development broker). */
static char *embedded_bootstrap; /* (set before the workers start, read by them) */
/* The node's outbox for ack "local" (started before a snapshot that needs it reaches a worker). */
static struct cn_outbox *_Atomic outbox;

struct kafka_worker {
    struct event_base *base;
    rd_kafka_t *rk;           /* made at the worker's first message */
    int fds[2];               /* librdkafka writes to fds[1] when its queue has events */
    struct event *ev;
};

/* A message on its way, until its delivery report (which may come after its exchange ended). */
struct kafka_msg {
    struct gw_exchange *ex;   /* NULL: the exchange went away */
};

void
cn_kafka_use_embedded(const char *bootstrap)
{
    free(embedded_bootstrap);
    embedded_bootstrap = bootstrap != NULL ? strdup(bootstrap) : NULL;
}

/* ---- the settings ---- */

/* "kafka": librdkafka's properties, passed through; each must be a string. */
static void
props_load(const struct gw_jctx *c, const json_t *obj, const char *path,
           const struct gw_conf_key *key, void *base)
{
    json_t *k = gw_jctx_string_map(c, obj, path, key->name, "a librdkafka property");

    ((struct cn_kafka_conf *)base)->props = json_incref(k);
}

/* "outbox": the store-and-forward log's settings (read, with their defaults, when absent too). */
static void
outbox_load(const struct gw_jctx *c, const json_t *obj, const char *path,
            const struct gw_conf_key *key, void *base)
{
    char p[GW_JPATH_MAX];

    cn_outbox_conf_load(c, gw_jctx_get(c, obj, path, key->name, JSON_OBJECT, 0),
                        gw_jpath_key(p, sizeof p, path, key->name), "outbox",
                        &((struct cn_kafka_conf *)base)->outbox);
}

int
cn_kafka_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                   struct cn_kafka_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct cn_kafka_conf, brokers, NULL), .flags = GW_CONF_REQUIRED },
        { GW_KEY_INT(struct cn_kafka_conf, timeout_ms, 100, 300000, 5000) },
        { GW_KEY_OTHER("kafka", props_load) },
        { GW_KEY_OTHER("outbox", outbox_load) },
        GW_KEY_END,
    };

    if (obj == NULL)
        return 0;
    if (gw_conf_read(c, obj, path, keys, out, NULL) > 0 || out->brokers == NULL)
        return -1;
    out->on = 1;
    return 1;
}

void
cn_kafka_conf_free(struct cn_kafka_conf *k)
{
    free(k->brokers);
    json_decref(k->props);
    cn_outbox_conf_free(&k->outbox);
    memset(k, 0, sizeof *k);
}

int
cn_kafka_conf_same(const struct cn_kafka_conf *a, const struct cn_kafka_conf *b)
{
    return a->on == b->on && a->timeout_ms == b->timeout_ms &&
           cn_outbox_conf_same(&a->outbox, &b->outbox) &&
           ((a->brokers == NULL && b->brokers == NULL) ||
            (a->brokers != NULL && b->brokers != NULL && strcmp(a->brokers, b->brokers) == 0)) &&
           ((a->props == NULL && b->props == NULL) ||
            (a->props != NULL && b->props != NULL && json_equal(a->props, b->props)));
}

/* ---- a route ---- */

static void
route_free(void *p)
{
    struct kafka_route *k = p;

    free(k->key_field);
    gw_jptr_free(&k->pointer);
    for (size_t i = 0; i < k->nfields; i++)
        free(k->fields[i]);
    free(k->fields);
    free(k);
}

static int
kafka_compile(const struct gw_jctx *c, const json_t *route, const char *path, struct pt_route *r)
{
    static const char *const keys[] = { "ack", "key", "fields", NULL };
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX], fpath[GW_JPATH_MAX];
    json_t *obj = gw_jctx_get(c, route, path, "kafka", JSON_OBJECT, 0), *list;
    struct kafka_route *k = calloc(1, sizeof *k);
    const char *key, *ack;
    int bad = 0;

    if (k == NULL) {
        gw_jctx_error(c, path, "out of memory");
        return -1;
    }
    gw_jpath_key(kpath, sizeof kpath, path, "kafka");
    if (obj != NULL && gw_jctx_check_keys(c, obj, kpath, keys) > 0)
        bad = 1;
    ack = obj != NULL ? gw_jctx_string(c, obj, kpath, "ack", 0) : NULL;
    if (ack != NULL && strcmp(ack, "local") == 0) {
        k->ack = ACK_LOCAL;
    } else if (ack != NULL && strcmp(ack, "kafka") != 0) {
        gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, kpath, "ack"),
                      "\"%s\" is not an acknowledgement (\"kafka\": 202 once Kafka has the "
                      "message; \"local\": once the node's outbox has it)", ack);
        bad = 1;
    }
    key = obj != NULL ? gw_jctx_string(c, obj, kpath, "key", 0) : NULL;
    if (key == NULL || strcmp(key, "partner") == 0) {
        k->key = KEY_PARTNER;
    } else if (strcmp(key, "none") == 0) {
        k->key = KEY_NONE;
    } else if (strncmp(key, "field:", 6) == 0 && gw_http_token_valid(key + 6, strlen(key + 6))) {
        k->key = KEY_FIELD;
        k->key_field = strdup(key + 6);
    } else if (strncmp(key, "pointer:", 8) == 0 && key[8] == '/' &&
               gw_jptr_compile(key + 8, &k->pointer) == 0) {
        k->key = KEY_POINTER;
    } else {
        gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, kpath, "key"),
                      "expected \"partner\", \"none\", \"field:NAME\" or \"pointer:/json/pointer\", "
                      "got \"%s\"", key);
        bad = 1;
    }
    list = obj != NULL ? gw_jctx_string_list(c, obj, kpath, "fields", 0, 0) : NULL;
    if (list != NULL && gw_jlist_size(list) > KAFKA_MAX_FIELDS) {
        gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, kpath, "fields"),
                      "at most %d fields", KAFKA_MAX_FIELDS);
        bad = 1;
    } else if (list != NULL && (k->fields = calloc(gw_jlist_size(list), sizeof *k->fields)) != NULL) {
        gw_jpath_key(fpath, sizeof fpath, kpath, "fields");
        for (size_t i = 0; i < gw_jlist_size(list); i++) {
            const char *f = gw_jlist_at(list, i, fpath, ipath, sizeof ipath);
            if (!gw_http_token_valid(f, strlen(f))) {
                gw_jctx_error(c, ipath, "\"%s\" is not a field name", f);
                bad = 1;
            } else if ((k->fields[k->nfields] = strdup(f)) != NULL) {
                k->nfields++;
            }
        }
    }
    if (json_object_get(route, "timeout_ms") != NULL) {
        gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, path, "timeout_ms"),
                      "a kafka:// route waits connectors.kafka.timeout_ms for Kafka (the producer's "
                      "delivery timeout, one per topic)");
        bad = 1;
    }
    if (bad) {
        route_free(k);
        return -1;
    }
    r->whole_body = 1;
    r->cn_conf = k;
    r->cn_conf_free = route_free;
    return 0;
}

/* ---- the worker's producer ---- */

static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 4) /* warnings and worse; the rest is librdkafka's own business */
        gw_log(GW_LOG_WARN, "kafka connector: %s: %s", fac, buf);
}

static void answer(struct gw_exchange *ex, const rd_kafka_message_t *m);

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_msg *km = m->_private;

    (void)rk;
    (void)opaque;
    if (km == NULL)
        return;
    if (km->ex != NULL) {
        struct gw_exchange *ex = km->ex;
        ex->up = NULL;
        GW_LOG_IN(&ex->log, answer(ex, m));
    }
    free(km);
}

static void
queue_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kafka_worker *w = arg;
    char buf[64];

    (void)what;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    while (rd_kafka_poll(w->rk, 0) > 0)
        ;
}

static int
set_prop(rd_kafka_conf_t *kc, const char *k, const char *v)
{
    char e[256];

    if (rd_kafka_conf_set(kc, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        gw_log(GW_LOG_ERROR, "kafka connector: %s: %s", k, e);
        return -1;
    }
    return 0;
}

/* The worker's producer for conf, made at its first message. NULL when it cannot be (logged). */
static rd_kafka_t *
producer(struct kafka_worker *w, const struct cn_kafka_conf *conf)
{
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "2"},
        {"partitioner", "murmur2_random"}, /* the Java client's: same key, same partition */
        {"reconnect.backoff.max.ms", "1000"},
    };
    const char *brokers = conf->brokers;
    rd_kafka_conf_t *kc;
    rd_kafka_queue_t *q;
    char e[512], tmo[16];
    const char *k;
    json_t *v;

    if (w->rk != NULL)
        return w->rk;
    if (strcmp(brokers, "embedded") == 0 && (brokers = embedded_bootstrap) == NULL) {
        gw_log(GW_LOG_ERROR, "kafka connector: brokers \"embedded\" but no embedded broker runs "
               "(audit.brokers is not \"embedded\")");
        return NULL;
    }
    kc = rd_kafka_conf_new();
    snprintf(tmo, sizeof tmo, "%d", conf->timeout_ms);
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (set_prop(kc, defaults[i][0], defaults[i][1]) < 0)
            goto fail;
    if (set_prop(kc, "bootstrap.servers", brokers) < 0 || set_prop(kc, "message.timeout.ms", tmo) < 0)
        goto fail;
    if (conf->props != NULL)
        json_object_foreach(conf->props, k, v)
            if (set_prop(kc, k, json_string_value(v)) < 0)
                goto fail;
    rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
    rd_kafka_conf_set_log_cb(kc, kafka_log_cb);
    if ((w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e)) == NULL) {
        gw_log(GW_LOG_ERROR, "kafka connector: cannot create the producer: %s", e);
        goto fail;
    }
    q = rd_kafka_queue_get_main(w->rk);
    rd_kafka_queue_io_event_enable(q, w->fds[1], "1", 1);
    rd_kafka_queue_destroy(q);
    /* the pipe hears of a queue that was empty: serve what came before it was set (a broker
     * down at once), or the loop would never be woken for this producer */
    while (rd_kafka_poll(w->rk, 0) > 0)
        ;
    return w->rk;
fail:
    rd_kafka_conf_destroy(kc);
    return NULL;
}

static void *
kafka_worker_new(struct event_base *base, size_t max_idle, int idle_ms)
{
    struct kafka_worker *w = calloc(1, sizeof *w);

    (void)max_idle;
    (void)idle_ms;
    if (w == NULL)
        return NULL;
    w->base = base;
    if (pipe2(w->fds, O_NONBLOCK | O_CLOEXEC) < 0 ||
        (w->ev = event_new(base, w->fds[0], EV_READ | EV_PERSIST, queue_cb, w)) == NULL ||
        event_add(w->ev, NULL) < 0) {
        if (w->ev != NULL)
            event_free(w->ev);
        free(w);
        return NULL;
    }
    return w;
}

static void
kafka_worker_free(void *state)
{
    struct kafka_worker *w = state;

    if (w->rk != NULL) {
        /* what is still on its way has no exchange left to answer: give it up */
        rd_kafka_purge(w->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(w->rk, 1000);
        rd_kafka_destroy(w->rk);
    }
    event_free(w->ev);
    close(w->fds[0]);
    close(w->fds[1]);
    free(w);
}

/* ---- an exchange ---- */

/* The message key: the partner's id, a field's value or a string (or number) in the body. */
static const char *
message_key(struct gw_exchange *ex, const struct kafka_route *k, size_t *len)
{
    const struct gw_http_header *h;
    json_t *doc, *v;
    const char *s = NULL;

    *len = 0;
    switch (k->key) {
    case KEY_PARTNER:
        s = ex->partner != NULL ? ex->partner->id : NULL;
        *len = s != NULL ? strlen(s) : 0;
        return s;
    case KEY_FIELD:
        if ((h = gw_http_find_header(&ex->req, k->key_field)) == NULL)
            return NULL;
        *len = h->value_len;
        return h->value;
    case KEY_POINTER:
        if (ex->req_body == NULL ||
            (doc = json_loadb(ex->req_body, ex->req_body_len, JSON_DECODE_ANY, NULL)) == NULL)
            return NULL;
        v = gw_jptr_get(&k->pointer, doc);
        if (json_is_string(v))
            s = gw_arena_strndup(&ex->arena, json_string_value(v), json_string_length(v));
        else if (json_is_integer(v))
            s = gw_arena_printf(&ex->arena, "%lld", (long long)json_integer_value(v));
        json_decref(doc);
        *len = s != NULL ? strlen(s) : 0;
        return s;
    case KEY_NONE:
        break;
    }
    return NULL;
}

#define MAX_HEADERS (4 + KAFKA_MAX_FIELDS)

static void
add_header(struct cn_kafka_header *hs, size_t *n, const char *name, const char *v, size_t len)
{
    if (v != NULL)
        hs[(*n)++] = (struct cn_kafka_header){name, v, len};
}

/* The message's headers: the request's content type, id, partner and route, and the fields the
 * route lists. Returns how many (at most MAX_HEADERS). */
static size_t
message_headers(struct gw_exchange *ex, const struct kafka_route *k, struct cn_kafka_header *hs)
{
    const struct gw_http_header *h = gw_http_find_header(&ex->req, "content-type");
    size_t n = 0;

    if (h != NULL)
        add_header(hs, &n, "content-type", h->value, h->value_len);
    add_header(hs, &n, "request-id", ex->request_id, strlen(ex->request_id));
    if (ex->partner != NULL)
        add_header(hs, &n, "partner-id", ex->partner->id, strlen(ex->partner->id));
    if (ex->route->name != NULL)
        add_header(hs, &n, "route", ex->route->name, strlen(ex->route->name));
    for (size_t i = 0; i < k->nfields; i++)
        if ((h = gw_http_find_header(&ex->req, k->fields[i])) != NULL)
            add_header(hs, &n, k->fields[i], h->value, h->value_len);
    return n;
}

/* ack "local": into the outbox, and 202 at once. */
static void
store(struct gw_exchange *ex, const char *key, size_t keylen, const struct cn_kafka_header *hs,
      size_t nh)
{
    struct cn_outbox *o = atomic_load(&outbox);
    const char *topic = ex->route->upstream.target;
    struct cn_outbox_msg m = {topic, key, keylen, hs, nh, ex->req_body, ex->req_body_len};
    char body[512];
    int n, rc;

    if (o == NULL) {
        ex->api->problem(ex, 503, "upstream-unavailable", "the node's outbox is not open (see "
                         "the gateway's log)", "Retry-After: 5\r\n");
        return;
    }
    ex->m_forwarded = gw_mono_us();
    rc = cn_outbox_put(o, &m);
    ex->m_up_head = gw_mono_us();
    if (rc == CN_OUTBOX_TOO_LARGE) {
        ex->api->problem(ex, 413, "payload-too-large", "the message is larger than the node's "
                         "outbox takes (half of connectors.kafka.outbox.ring_bytes), or a header "
                         "or the key is longer than 65535 bytes", NULL);
        return;
    }
    if (rc == CN_OUTBOX_FULL) {
        ex->api->problem(ex, 503, "upstream-unavailable", "the node's outbox is full "
                         "(connectors.kafka.outbox.max_bytes wait for Kafka)", "Retry-After: 5\r\n");
        return;
    }
    n = snprintf(body, sizeof body, "{\"topic\":\"%s\",\"ack\":\"local\",\"request_id\":\"%s\"}",
                 topic, ex->request_id);
    ex->api->respond(ex, 202, "application/json", body, (size_t)n, NULL);
}

static void
answer(struct gw_exchange *ex, const rd_kafka_message_t *m)
{
    const char *topic = ex->route->upstream.target;
    char body[512], detail[384];
    int n;

    ex->m_up_head = gw_mono_us();
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ex->up_partition = (int)m->partition;
        ex->up_offset = m->offset;
        n = snprintf(body, sizeof body, "{\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,"
                     "\"request_id\":\"%s\"}", topic, (int)m->partition, (long long)m->offset,
                     ex->request_id);
        ex->api->respond(ex, 202, "application/json", body, (size_t)n, NULL);
        return;
    }
    if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED) {
        snprintf(detail, sizeof detail, "Kafka did not confirm the message in time (%s): it may "
                 "or may not be in topic \"%s\"", rd_kafka_err2str(m->err), topic);
        ex->api->problem(ex, 504, "upstream-timeout", detail, NULL);
        return;
    }
    snprintf(detail, sizeof detail, "Kafka did not take the message for topic \"%s\" (%s); it is "
             "not in the topic", topic, rd_kafka_err2str(m->err));
    ex->api->problem(ex, 503, "upstream-unavailable", detail, "Retry-After: 5\r\n");
}

static void
kafka_start(struct gw_exchange *ex)
{
    struct kafka_worker *w = ex->up_worker;
    const struct kafka_route *k = ex->route->cn_conf;
    const struct cn_kafka_conf *conf = ex->set->kafka;
    struct cn_kafka_header hv[MAX_HEADERS];
    struct kafka_msg *km;
    rd_kafka_headers_t *hs;
    rd_kafka_resp_err_t err;
    const char *key;
    size_t keylen, nh;
    char detail[256];

    ex->api->request_body(ex, NULL); /* (read whole already: only watch the client) */
    ex->target = &ex->route->upstream;
    ex->up_partition = -1;
    key = message_key(ex, k, &keylen);
    nh = message_headers(ex, k, hv);
    if (k->ack == ACK_LOCAL) {
        store(ex, key, keylen, hv, nh);
        return;
    }
    if (conf == NULL || !conf->on || producer(w, conf) == NULL) {
        ex->api->problem(ex, 503, "upstream-unavailable", "the Kafka producer cannot be made "
                         "(see the gateway's log)", "Retry-After: 5\r\n");
        return;
    }
    if ((km = calloc(1, sizeof *km)) == NULL) {
        ex->api->problem(ex, 503, "upstream-unavailable", "out of memory", "Retry-After: 1\r\n");
        return;
    }
    hs = rd_kafka_headers_new(nh);
    for (size_t i = 0; i < nh; i++)
        rd_kafka_header_add(hs, hv[i].name, -1, hv[i].value, (ssize_t)hv[i].len);
    ex->m_forwarded = gw_mono_us();
    err = rd_kafka_producev(w->rk, RD_KAFKA_V_TOPIC(ex->route->upstream.target),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE((void *)ex->req_body, ex->req_body_len),
                            RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_HEADERS(hs),
                            RD_KAFKA_V_OPAQUE(km), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hs);
        free(km);
        snprintf(detail, sizeof detail, "Kafka's producer took no message for topic \"%s\": %s",
                 ex->route->upstream.target, rd_kafka_err2str(err));
        ex->api->problem(ex, 503, "upstream-unavailable", detail, "Retry-After: 1\r\n");
        return;
    }
    km->ex = ex;
    ex->up = km;
}

static void
kafka_cancel(struct gw_exchange *ex)
{
    struct kafka_msg *km = ex->up;

    if (km != NULL) /* its report comes later: it answers no one */
        km->ex = NULL;
    ex->up = NULL;
}

const struct cn_ops cn_kafka = {
    .name = "kafka",
    .slot = 2,
    .compile = kafka_compile,
    .worker_new = kafka_worker_new,
    .worker_free = kafka_worker_free,
    .start = kafka_start,
    .cancel = kafka_cancel,
};

/* ---- the outbox ---- */

/* Does a route of snap acknowledge from the outbox? */
static int
needs_outbox(const struct pt_snapshot *snap)
{
    for (size_t i = 0; i < snap->nroutes; i++) {
        const struct pt_route *r = snap->routes[i];
        if ((r->connector == &cn_kafka &&
             ((const struct kafka_route *)r->cn_conf)->ack == ACK_LOCAL) ||
            r->connector == &cn_delivery) /* (its dead letters) */
            return 1;
    }
    return 0;
}

int
cn_kafka_outbox_open(const struct pt_snapshot *snap, const struct cn_kafka_conf *conf, char *err,
                     size_t errlen)
{
    const char *brokers;
    struct cn_outbox *o;
    char path[4096];

    if (atomic_load(&outbox) != NULL || !conf->on)
        return 0;
    snprintf(path, sizeof path, "%s/checkpoint", conf->outbox.dir);
    if (!needs_outbox(snap) && access(path, F_OK) != 0)
        return 0; /* no route needs it, and no earlier run left one to ship */
    brokers = strcmp(conf->brokers, "embedded") == 0 ? embedded_bootstrap : conf->brokers;
    if (brokers == NULL) {
        snprintf(err, errlen, "kafka outbox: brokers \"embedded\" but no embedded broker runs "
                 "(audit.brokers is not \"embedded\")");
        return -1;
    }
    if ((o = cn_outbox_start(&conf->outbox, brokers, conf->props, err, errlen)) == NULL)
        return -1;
    atomic_store(&outbox, o);
    return 0;
}

struct cn_outbox *
cn_kafka_outbox(void)
{
    return atomic_load(&outbox);
}

void
cn_kafka_outbox_close(int flush_ms)
{
    cn_outbox_stop(atomic_exchange(&outbox, NULL), flush_ms);
}
