/* connector.c: the connectors known to this build, and the route's choice of one by its upstream's
 * scheme (see connector.h). */
#include "connector.h"

const struct cn_ops *const cn_all[] = {&cn_http, &cn_mock, &cn_kafka, NULL};

/* By enum pt_upstream_kind: the one place a kind names its connector. */
static const struct cn_ops *const by_kind[] = {
    [PT_UP_HTTP] = &cn_http,
    [PT_UP_HTTPS] = &cn_http,
    [PT_UP_KAFKA] = &cn_kafka,
    [PT_UP_MOCK] = &cn_mock,
};

int
cn_route_compile(const struct gw_jctx *c, const json_t *route, const char *path,
                 struct pt_route *r)
{
    const struct cn_ops *ops = by_kind[r->upstream.kind];
    char kpath[GW_JPATH_MAX];

    r->connector = ops;
    if (ops != &cn_mock && json_object_get(route, "mock") != NULL) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "mock"),
                      "only a \"mock:\" upstream takes \"mock\"");
        return -1;
    }
    return ops->compile != NULL ? ops->compile(c, route, path, r) : 0;
}
