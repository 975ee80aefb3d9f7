/* admin_views.h: what the admin API shows of a snapshot, as JSON (GET /partners,
 * /partners/{id}, /routes, /upstreams), and the walks the metrics share with it: every
 * certificate the configuration names, every upstream set. */
#ifndef GW_ADMIN_VIEWS_H
#define GW_ADMIN_VIEWS_H

#include <openssl/x509.h>

#include "buf.h"
#include "snapshot.h"

struct pt_upset;

void gw_view_partners(const struct pt_snapshot *s, struct gw_buf *b);
/* One partner's object, left open (no closing brace) for the caller's counters; -1 when there is
 * no such partner. */
int gw_view_partner(const struct pt_snapshot *s, const char *id, struct gw_buf *b);
void gw_view_routes(const struct pt_snapshot *s, struct gw_buf *b);
void gw_view_upstreams(const struct pt_snapshot *s, struct gw_buf *b);

/* A certificate the configuration names: a listener's (kind "server", owner its address, name
 * its SNI name or ""), a partner's CA ("partner_ca", owner the partner's id), our outbound
 * identity towards a partner ("outbound") or a partner's signing certificate ("signing", name its
 * kid or ""). */
struct gw_cert_ref {
    const char *kind, *owner, *name;
    X509 *cert;
};
void gw_certs_each(const struct pt_snapshot *s,
                   void (*fn)(void *arg, const struct gw_cert_ref *c), void *arg);
/* Its notAfter in UTC seconds (0: unknown). */
double gw_cert_not_after(X509 *x);

/* Every upstream set: portico.json's (owner NULL), then each bundle's. */
void gw_upsets_each(const struct pt_snapshot *s,
                    void (*fn)(void *arg, const struct pt_upset *u, const char *owner), void *arg);

#endif
