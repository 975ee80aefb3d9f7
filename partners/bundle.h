/* bundle.h: loading and validating partner bundles, routes and upstream URLs.
 *
 * A bundle is the folder partners_dir/<id>/ holding partner.json and the PEM files it names; the
 * format is documented in partners/README.md. The route format is shared with the gateway config's
 * "routes" (shared routes, which add "partners" or "public"). Every problem is reported to the
 * diag list with its file, line, column and JSON path; loading goes on after an error so that
 * `portico check` lists them all.
 */
#ifndef PT_BUNDLE_H
#define PT_BUNDLE_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "diag.h"
#include "json_loc.h"
#include "partner.h"

struct tf_registry;
struct tf_limits;

/* What loading bundles and routes takes from the floors above: the gateway's configuration, the
 * audit's capture compiler and the connectors, lent by whoever builds the snapshot
 * (gateway/snapshot_load.c), so that partners/ includes none of them. */
struct pt_load_conf {
    const struct tf_registry *transforms; /* what chains may name */
    const struct tf_limits *tf_limits;    /* threat limits of the bodies chains parse */
    uint64_t max_body_bytes;              /* the gateway's; a partner may only lower it */
    /* a route's "audit" object compiled (audit/capture.h: au_capture_compile, au_capture_free) */
    struct au_capture *(*capture_compile)(const struct gw_jctx *c, const json_t *obj,
                                          const char *path, int *bad);
    void (*capture_free)(struct au_capture *cap);
    /* a route's upstream (URL parsed into r->upstream) given to its connector, which sets
     * r->connector and what it compiled (connectors/connector.h: cn_route_compile) */
    int (*upstream_compile)(const struct gw_jctx *c, const json_t *route, const char *path,
                            struct pt_route *r);
    /* the upstream sets a route may name: its bundle's own first (set by pt_bundle_load), then
     * portico.json's */
    struct pt_upset *const *own_sets;
    size_t nown_sets;
    struct pt_upset *const *sets;
    size_t nsets;
    struct pt_plan *const *plans;         /* portico.json's "plans", which a partner may name */
    size_t nplans;
};

/* Load the bundle in folder `dir` (whose own name is `name`): partner.json, its CAs, CRLs,
 * outbound identity and routes (their owner set to the partner). lc supplies the gateway limits
 * a partner may only lower, and what chains and captures are compiled with; loaded[0..nloaded) are the bundles read before, whose ids this one must
 * not repeat. Every file read is hashed into md (may be NULL). Returns the partner as far as it
 * could be read (check d->errors), or NULL when partner.json is missing, unreadable or not JSON.
 * Free with pt_partner_free(). */
struct pt_partner *pt_bundle_load(const char *dir, const char *name, const struct pt_load_conf *lc,
                                  struct pt_partner *const *loaded, size_t nloaded,
                                  struct gw_diag *d, EVP_MD_CTX *md);

/* Free a partner and the routes it owns (NULL is a no-op). */
void pt_partner_free(struct pt_partner *p);

/* Is `id` a valid partner id: [a-z0-9][a-z0-9._-]{0,63}? */
int pt_partner_id_valid(const char *id);
/* A Kafka topic's name: 1 to 249 of A-Z a-z 0-9 . _ -, not "." or "..". */
int pt_kafka_topic_valid(const char *t);
/* A route's "idempotency" (obj: the route at path), into r->idem; reports what is wrong. */
void pt_route_idempotency(const struct gw_jctx *c, const json_t *obj, const char *path,
                          struct pt_route *r);
void pt_idem_free(struct pt_idem *d);

/* Read the route object at `path` of c's document. shared = 0: a bundle's route (access
 * PT_ACCESS_OWNER, owner left for the caller to set); shared = 1: a shared route, which must carry
 * exactly one of "partners" (array of ids, or "*") and "public": true (the ids are only checked
 * for form: the caller checks they exist). Problems are reported; the route is returned when it
 * has at least a valid path (so that conflicts can still be found), else NULL. */
struct pt_route *pt_route_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                               int shared, const struct pt_load_conf *lc);
void pt_route_free(struct pt_route *r);

/* Does one of routes[0..n) already have r's name? Reported at path.name, with the line of the
 * other route. Returns 1 (reported) or 0. */
int pt_route_name_taken(const struct gw_jctx *c, const struct pt_route *r, const char *path,
                        struct pt_route *const *routes, size_t n);

/* Parse an upstream URL into u: "http://host[:port][/path]", "https://...", "kafka://topic" or
 * "mock:anything". Strict: IPv6 literals in brackets, port 1-65535, no userinfo, no query, no
 * fragment. An http(s) host is resolved once (getaddrinfo) into u->addr. u->path is "" when the URL
 * has no path, else the path exactly as written ("/" included). Returns 0, or -1 with a message in
 * err (u is then cleared). Free the strings with pt_upstream_clear(). */
int pt_upstream_parse(const char *url, struct pt_upstream *u, char *err, size_t errlen);
void pt_upstream_clear(struct pt_upstream *u);

/* The upstream's address now, into *out and *len; returns its generation (another one later means
 * the address changed). Any thread. */
unsigned pt_upstream_addr(const struct pt_upstream *u, struct sockaddr_storage *out,
                          socklen_t *len);
/* A new address for u (re-resolved): from the one thread that looks after u's set; readers never
 * see half of it (a sequence lock). */
void pt_upstream_set_addr(struct pt_upstream *u, const struct sockaddr *sa, socklen_t len);

#endif
