/* snapshot.h: everything loaded, compiled into one immutable, reference-counted snapshot.
 *
 * A snapshot holds the gateway config, the partners, the routes (shared and per bundle), the router,
 * the identity index and the TLS contexts. A connection holds the snapshot it started with; a reload
 * builds a new one off the workers and swaps it in; the old one is freed when its last user lets go.
 *
 * The type and the partners' part of building one live here; the gateway builds it
 * (gateway/snapshot_load.h: its configuration and TLS are of the floor above), and sets how it is
 * destroyed.
 */
#ifndef PT_SNAPSHOT_H
#define PT_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "consumer.h"
#include "diag.h"
#include "json_loc.h"
#include "partner.h"

struct pt_router;
struct pt_load_conf;
struct gw_config;

struct pt_snapshot {
    atomic_int refs;
    struct gw_config *config;     /* the gateway's configuration (gateway/config.h) */
    void (*destroy)(struct pt_snapshot *s); /* frees it all at the last reference (its builder's) */
    struct pt_partner **partners; /* sorted by id */
    size_t npartners;
    struct pt_route **routes;     /* every route: shared ones first, then bundles' */
    size_t nroutes;
    struct pt_router *router;
    X509_STORE *trust;            /* union of every partner's CAs and CRLs */
    STACK_OF(X509_NAME) *ca_names;/* their subjects, sent in the CertificateRequest */
    SSL_CTX *upstream_ctx;        /* default client context for https upstreams (system CAs) */
    struct pt_upset **upsets;     /* portico.json's "upstreams" (upstream_set.h) */
    size_t nupsets;
    char *const *nameservers;     /* whom the sets' names are asked of again (base/resolve.h;
                                   * none: the system's), borrowed from the config */
    size_t nnameservers;
    struct pt_plan **plans;       /* portico.json's "plans" */
    size_t nplans;
    struct pt_consumers consumers;/* consumers_dir's */
    struct gw_hmac_sha256 key_mac;/* API keys' hashes are made under api_keys.secret_file's */
    int key_mac_set;              /* ... when there is one */
    char version[17];             /* first 16 hex digits of SHA-256 over every file read */
};

/* ---- building one (for gateway/snapshot_load.c) ---- */

/* The names in dir but dot-files, sorted (no such dir and not explicit_dir: none); NULL after
 * reporting at key when it cannot be listed. */
char **pt_list_dir(const struct gw_jctx *c, const char *dir, const char *key, int explicit_dir,
                   size_t *n);
void pt_list_free(char **names, size_t n);

/* Load every bundle folder of partners_dir, in name order, into s->partners; every file read is hashed into md. explicit_dir: the folder was named in the config (then
 * its absence is an error). Problems go through c. 0, or -1 when the folder cannot be listed. */
int pt_snapshot_load_partners(struct pt_snapshot *s, const struct gw_jctx *c,
                              const char *partners_dir, int explicit_dir,
                              const struct pt_load_conf *lc, EVP_MD_CTX *md);

/* s->routes: the shared routes (the config's "routes", whose partner ids must exist) first, then
 * each bundle's, and the router over them; then s->partners sorted by id. 0, or -1 when out of
 * memory. */
int pt_snapshot_collect_routes(struct pt_snapshot *s, const struct gw_jctx *c,
                               const json_t *shared, const char *partners_dir,
                               const struct pt_load_conf *lc);

/* Give each https route its client context: its owner's outbound one, or s->upstream_ctx; and
 * each https target of a set: its bundle's outbound one, or s->upstream_ctx (portico.json's sets). */
void pt_snapshot_set_upstream_contexts(struct pt_snapshot *s);

/* Free the partners' part: router, routes, partners (not the config, not the TLS state). */
void pt_snapshot_free_parts(struct pt_snapshot *s);

/* ---- using one ---- */

struct pt_snapshot *pt_snapshot_ref(struct pt_snapshot *s);
void pt_snapshot_unref(struct pt_snapshot *s); /* frees on the last reference; NULL is a no-op */

/* The partner with this id, or NULL. */
const struct pt_partner *pt_snapshot_partner(const struct pt_snapshot *s, const char *id);

#endif
