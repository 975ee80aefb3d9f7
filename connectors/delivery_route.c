/* delivery_route.c: the connectors of asynchronous delivery (see delivery.h): `delivery` takes a
 * route's request into the delivery log and answers 202 with its id; `deliveries` answers GET
 * deliveries/{id} with where a delivery of the calling partner stands. */
#include "delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "clock.h"
#include "conf_table.h"
#include "text.h"

/* ---- a route with "delivery": "async" ---- */

static void
route_free(void *p)
{
    struct dv_route *o = p;

    free(o->dead_letter);
    free(o);
}

static int
delivery_compile(const struct gw_jctx *c, const json_t *route, const char *path,
                 struct pt_route *r)
{
    static const char *const orders[] = {"none", "partner", NULL};
    static const struct gw_conf_key keys[] = {
        { GW_KEY_INT(struct dv_route, attempts, 1, 1000, 10) },
        { GW_KEY_INT(struct dv_route, max_age_ms, 1000, 30ll * 86400000, 86400000) },
        { GW_KEY_INT(struct dv_route, backoff_ms, 10, 3600000, 1000) },
        { GW_KEY_INT(struct dv_route, max_backoff_ms, 10, 86400000, 300000) },
        { .name = "order", .type = GW_CONF_CHOICE, GW_CONF_AT(struct dv_route, ordered),
          .choices = orders, .dflt = 1 },
        { GW_KEY_STRING(struct dv_route, dead_letter, "portico.dead-letters") },
        GW_KEY_END,
    };
    char apath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *obj = gw_jctx_get(c, route, path, "async", JSON_OBJECT, 0);
    struct dv_route *o = calloc(1, sizeof *o);
    int bad;

    if (o == NULL) {
        gw_jctx_error(c, path, "out of memory");
        return -1;
    }
    gw_jpath_key(apath, sizeof apath, path, "async");
    bad = gw_conf_read(c, obj, apath, keys, o, NULL);
    if (o->dead_letter != NULL && !pt_kafka_topic_valid(o->dead_letter)) {
        gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, apath, "dead_letter"),
                      "\"%s\" is not a Kafka topic (1 to 249 of A-Z a-z 0-9 . _ -)",
                      o->dead_letter);
        bad++;
    }
    if (bad > 0) {
        route_free(o);
        return -1;
    }
    r->whole_body = 1;
    r->cn_conf = o;
    r->cn_conf_free = route_free;
    return 0;
}

static void
delivery_start(struct gw_exchange *ex)
{
    struct ex_delivery *x;
    char body[384];
    int n, rc;

    ex->api->request_body(ex, NULL); /* (read whole already: only watch the client) */
    ex->target = &ex->route->upstream;
    ex->m_forwarded = gw_mono_us();
    rc = dv_put(ex);
    ex->m_up_head = gw_mono_us();
    if (rc == -3) {
        ex->api->problem(ex, 413, "payload-too-large", "the request is larger than the delivery "
                         "log takes (half of connectors.delivery.log.ring_bytes)", NULL);
        return;
    }
    if (rc < 0) {
        ex->api->problem(ex, 503, "upstream-unavailable", rc == -2 ? "the delivery log is not "
                         "open (see the gateway's log)" : "the delivery log is full "
                         "(connectors.delivery.log.max_bytes wait to be delivered)",
                         "Retry-After: 5\r\n");
        return;
    }
    x = gw_arena_alloc(&ex->arena, sizeof *x);
    *x = (struct ex_delivery){.id = ex->request_id, .attempt = 0, .outcome = "accepted",
                              .accepted_us = ex->t_received};
    ex->delivery = x; /* (its audit event says so) */
    n = snprintf(body, sizeof body, "{\"delivery_id\":\"%s\",\"state\":\"pending\"}",
                 ex->request_id);
    ex->api->respond(ex, 202, "application/json", body, (size_t)n, NULL);
}

const struct cn_ops cn_delivery = {
    .name = "delivery",
    .slot = 3,
    .compile = delivery_compile,
    .start = delivery_start,
};

/* ---- GET .../{id} on a "deliveries:" route ---- */

static void
deliveries_start(struct gw_exchange *ex)
{
    static const char *const states[] = {
        [CN_DV_UNKNOWN] = "unknown", [CN_DV_PENDING] = "pending",
        [CN_DV_DELIVERED] = "delivered", [CN_DV_DEAD] = "dead"};
    const struct gw_http_message *q = &ex->req;
    const char *slash = q->path + q->path_len, *id;
    struct dv_status s;
    struct gw_buf b;
    char detail[320];

    ex->api->request_body(ex, NULL);
    if (q->method != GW_METHOD_GET && q->method != GW_METHOD_HEAD) {
        ex->api->problem(ex, 405, "method-not-allowed", "a delivery's standing is read with GET",
                         "Allow: GET, HEAD\r\n");
        return;
    }
    while (slash > q->path && slash[-1] != '/')
        slash--;
    id = gw_arena_strndup(&ex->arena, slash, (size_t)(q->path + q->path_len - slash));
    if (id[0] == '\0' || strlen(id) >= sizeof ex->request_id ||
        !dv_status_get(id, ex->partner != NULL ? ex->partner->id : NULL, &s) ||
        s.state == CN_DV_UNKNOWN) {
        snprintf(detail, sizeof detail, "no delivery \"%.128s\" of yours is known here (an ended "
                 "one is told for a while: connectors.delivery.statuses)", id);
        ex->api->problem(ex, 404, "not-found", detail, NULL);
        return;
    }
    gw_arena_buf(&b, &ex->arena, 512);
    gw_buf_adds(&b, "{\"delivery_id\":");
    gw_json_str(&b, id, strlen(id), 0);
    gw_buf_adds(&b, ",\"route\":");
    gw_json_str(&b, s.route, strlen(s.route), 0);
    gw_buf_printf(&b, ",\"state\":\"%s\",\"attempts\":%d", states[s.state], s.attempts);
    if (s.status != 0)
        gw_buf_printf(&b, ",\"status\":%d", s.status);
    if (s.error[0] != '\0' && s.state != CN_DV_DELIVERED) {
        gw_buf_adds(&b, ",\"last_error\":");
        gw_json_str(&b, s.error, strlen(s.error), 0);
    }
    gw_buf_addc(&b, '}');
    ex->api->respond(ex, 200, "application/json", b.p, b.len, "Cache-Control: no-store\r\n");
}

const struct cn_ops cn_deliveries = {
    .name = "deliveries",
    .slot = 4,
    .start = deliveries_start,
};
