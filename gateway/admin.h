/* admin.h: the admin listener: a thread of its own with libevent's HTTP server (evhttp), on
 * portico.json's "admin" address: plain HTTP on loopback, or TLS where only the admins' client
 * certificates get in (admin_conf.c); README.md says the whole API.
 *
 *   GET /health/live    200 while the process runs
 *   GET /health/ready   200 once a snapshot is loaded, the listeners are bound and the audit log
 *                       is open; 503 before, and while the node drains
 *   GET /status         JSON: node, version, configuration (version, when loaded), uptime,
 *                       workers, connections, the audit's backlog
 *   GET /metrics        Prometheus text exposition (metrics.h)
 *   GET /partners, /partners/{id}, /routes, /upstreams   the snapshot served (admin_views.h)
 *   POST /reload        the main thread reloads (control.h): 200 or 422 with the problems
 *
 * The main thread tells it what changes: the snapshot served, reloads, readiness.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stdint.h>

#include "json_loc.h"

struct gw_worker;
struct gw_metrics;
struct au_log;
struct pt_snapshot;

struct gw_tls_cert;
struct pt_partner;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

struct gw_admin_conf {    /* portico.json's "admin" (admin_conf.c) */
    int on;
    char *address;        /* default "127.0.0.1:9901" */
    char *text;           /* the section as compact JSON, sorted: a reload may not change it */
    struct gw_tls_cert *cert; /* "tls": our certificate and key; NULL: plain HTTP (loopback) */
    struct pt_partner **admins; /* "admins": who may call, matched as partners are (name: p->id) */
    size_t nadmins;
};

int gw_admin_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_admin_conf *out);
void gw_admin_conf_free(struct gw_admin_conf *a);
int gw_admin_conf_same(const struct gw_admin_conf *a, const struct gw_admin_conf *b);
/* The server context of a TLS admin listener: our certificate, client certificates required and
 * verified against the admins' CAs. NULL with a message in err. */
SSL_CTX *gw_admin_tls_ctx(const struct gw_admin_conf *a, char *err, size_t errlen);
/* The admin that the verified client certificate of ssl belongs to (its name), or NULL. */
const char *gw_admin_identify(const struct gw_admin_conf *a, SSL *ssl);

/* Bind and start the admin thread (before the workers take traffic). 0, or -1 with a message in
 * err. */
int gw_admin_start(const struct gw_admin_conf *conf, struct pt_snapshot *snap,
                   struct gw_worker *workers, int n, struct gw_metrics *metrics,
                   struct au_log *audit, char *err, size_t errlen);
/* The snapshot served now (start, each reload), and a reload's result. */
void gw_admin_snapshot(struct pt_snapshot *snap);
void gw_admin_reloaded(int ok);
void gw_admin_ready(int ready);
void gw_admin_stop(void);

#endif
