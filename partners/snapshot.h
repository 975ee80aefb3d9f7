/* snapshot.h: everything loaded, compiled into one immutable, reference-counted snapshot.
 *
 * A snapshot holds the gateway config, the partners, the routes (shared and per bundle), the router,
 * the identity index and the TLS contexts. A connection holds the snapshot it started with; a reload
 * builds a new one off the workers and swaps it in; the old one is freed when its last user lets go.
 */
#ifndef PT_SNAPSHOT_H
#define PT_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "partner.h"

struct pt_router;

struct pt_snapshot {
    atomic_int refs;
    struct gw_config *config;
    struct pt_partner **partners; /* sorted by id */
    size_t npartners;
    struct pt_route **routes;     /* every route: shared ones first, then bundles' */
    size_t nroutes;
    struct pt_router *router;
    X509_STORE *trust;            /* union of every partner's CAs and CRLs */
    STACK_OF(X509_NAME) *ca_names;/* their subjects, sent in the CertificateRequest */
    SSL_CTX *upstream_ctx;        /* default client context for https upstreams (system CAs) */
    char version[17];             /* first 16 hex digits of SHA-256 over every file read */
};

/* Load portico.json and every bundle under its partners_dir, validate everything, compile routes
 * and TLS contexts. Every problem goes to `d`. Returns a snapshot with one reference, or NULL when
 * there was any error (warnings alone do not fail). */
struct pt_snapshot *pt_snapshot_load(const char *config_path, struct gw_diag *d);

struct pt_snapshot *pt_snapshot_ref(struct pt_snapshot *s);
void pt_snapshot_unref(struct pt_snapshot *s); /* frees on the last reference; NULL is a no-op */

/* The partner with this id, or NULL. */
const struct pt_partner *pt_snapshot_partner(const struct pt_snapshot *s, const char *id);

#endif
