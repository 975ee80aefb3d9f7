/* router.h: method, host and path to a route.
 *
 * Built once per snapshot from every route (shared and bundles'). Matching order: a route for the
 * request's exact host beats a wildcard host ("*.example.com") which beats a route with no host;
 * within a host, an exact path beats a prefix, and the longest prefix wins. Method is checked last:
 * a path that matches only with other methods gives PT_MATCH_METHOD (405) and the allowed set.
 */
#ifndef PT_ROUTER_H
#define PT_ROUTER_H

#include <stddef.h>

#include "diag.h"
#include "partner.h"

struct pt_router;

enum { PT_MATCH_OK = 0, PT_MATCH_NONE = 1, PT_MATCH_METHOD = 2 };

/* Build a router over routes[0..n) (borrowed: they must outlive the router). Two routes with the
 * same host, the same path and match kind and overlapping methods are a conflict: reported to `d`
 * as an error at the later route's location, naming the earlier one. Returns NULL on allocation
 * failure only. */
struct pt_router *pt_router_build(struct pt_route *const *routes, size_t n, struct gw_diag *d);
void pt_router_free(struct pt_router *r);

/* Find the route for a request. method is a enum gw_http_method value; host is the Host header
 * value (may carry ":port", which is ignored; compared case-insensitively; NULL/0 for none);
 * path is the request path without the query. Returns PT_MATCH_OK with *out set, PT_MATCH_NONE,
 * or PT_MATCH_METHOD with *allowed set to the GW_METHOD_BIT set of the routes that match the path
 * (for the Allow header). */
int pt_router_match(const struct pt_router *r, int method, const char *host, size_t host_len,
                    const char *path, size_t path_len, const struct pt_route **out,
                    unsigned *allowed);

#endif
