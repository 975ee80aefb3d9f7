/* kafka.c: the slot of the connector that delivers a route's requests to a Kafka topic
 * ("kafka://topic"). The form is known and parsed (partners/bundle.c); until the asynchronous
 * delivery lands here, a route with such an upstream is refused when it is loaded, so that no
 * exchange ever reaches it. */
#include "connector.h"

static int
kafka_compile(const struct gw_jctx *c, const json_t *route, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX];

    (void)route;
    gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "upstream"),
                  "\"%s\": Kafka upstreams are not available in this version: no connector "
                  "delivers requests to a topic yet", r->upstream.url);
    return -1;
}

const struct cn_ops cn_kafka = {
    .name = "kafka",
    .slot = 2,
    .compile = kafka_compile,
};
