/* connector.c: the connectors known to this build, and the route's choice of one by its upstream's
 * scheme (see connector.h). */
#include "connector.h"

#include <string.h>

const struct cn_ops *const cn_all[] = {&cn_http, &cn_mock, &cn_kafka, &cn_delivery, &cn_deliveries,
                                       NULL};

/* By enum pt_upstream_kind: the one place a kind names its connector. */
static const struct cn_ops *const by_kind[] = {
    [PT_UP_HTTP] = &cn_http,
    [PT_UP_HTTPS] = &cn_http,
    [PT_UP_KAFKA] = &cn_kafka,
    [PT_UP_MOCK] = &cn_mock,
    [PT_UP_DELIVERIES] = &cn_deliveries,
};

int
cn_route_compile(const struct gw_jctx *c, const json_t *route, const char *path,
                 struct pt_route *r)
{
    const struct cn_ops *ops = by_kind[r->upstream.kind];
    char kpath[GW_JPATH_MAX];

    const json_t *dv = json_object_get(route, "delivery");

    if (dv != NULL || json_object_get(route, "async") != NULL) {
        const char *how = json_string_value(dv);
        if (how == NULL || strcmp(how, "async") != 0 ||
            (r->upstream.kind != PT_UP_HTTP && r->upstream.kind != PT_UP_HTTPS)) {
            gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, dv != NULL ? "delivery"
                                                                                 : "async"),
                          dv == NULL ? "\"async\" needs \"delivery\": \"async\""
                          : how == NULL || strcmp(how, "async") != 0
                              ? "expected \"async\" (store-and-forward to the upstream)"
                              : "\"async\" delivery is to an http(s) upstream or a set of them");
            return -1;
        }
        ops = &cn_delivery;
    }
    r->connector = ops;
    if (ops != &cn_mock && json_object_get(route, "mock") != NULL) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "mock"),
                      "only a \"mock:\" upstream takes \"mock\"");
        return -1;
    }
    return ops->compile != NULL ? ops->compile(c, route, path, r) : 0;
}
