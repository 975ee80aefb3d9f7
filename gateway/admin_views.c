/* admin_views.c: what the admin API shows of a snapshot: partners, routes, upstream sets, and the
 * certificates' expiry (see admin_views.h). */
#include "admin_views.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "chain.h"
#include "clock.h"
#include "config.h"
#include "http_parser.h"
#include "identity.h"
#include "jsonw.h"
#include "text.h"
#include "upstream_set.h"

static void
jstr(struct gw_buf *b, const char *s)
{
    if (s == NULL)
        gw_buf_adds(b, "null");
    else
        au_buf_jstr(b, s, strlen(s));
}

double
gw_cert_not_after(X509 *x)
{
    struct tm tm;

    if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return 0;
    return (double)timegm(&tm);
}

/* {"subject", "not_after" (UTC seconds), "days_left"} */
static void
cert(struct gw_buf *b, X509 *x)
{
    char *subject = x != NULL ? pt_name_rfc2253(X509_get_subject_name(x)) : NULL;
    double t = gw_cert_not_after(x);

    if (x == NULL) {
        gw_buf_adds(b, "null");
        return;
    }
    gw_buf_addc(b, '{');
    au_buf_key(b, "subject");
    jstr(b, subject);
    gw_buf_printf(b, ",\"not_after\":%.0f,\"days_left\":%.1f}", t,
                  (t - (double)gw_wall_us() / 1e6) / 86400.0);
    free(subject);
}

void
gw_certs_each(const struct pt_snapshot *s, void (*fn)(void *arg, const struct gw_cert_ref *c),
              void *arg)
{
    const struct gw_config *cfg = s->config;

    for (size_t i = 0; i < cfg->nlisteners; i++)
        for (size_t j = 0; j < cfg->listeners[i].ncerts; j++) {
            const struct gw_tls_cert *tc = &cfg->listeners[i].certs[j];
            fn(arg, &(struct gw_cert_ref){"server", cfg->listeners[i].address,
                                          tc->sni != NULL ? tc->sni : "", tc->cert});
        }
    for (size_t i = 0; i < s->npartners; i++) {
        const struct pt_partner *p = s->partners[i];
        for (int j = 0; p->cas != NULL && j < sk_X509_num(p->cas); j++)
            fn(arg, &(struct gw_cert_ref){"partner_ca", p->id, "", sk_X509_value(p->cas, j)});
        if (p->outbound_ctx != NULL && SSL_CTX_get0_certificate(p->outbound_ctx) != NULL)
            fn(arg, &(struct gw_cert_ref){"outbound", p->id, "",
                                          SSL_CTX_get0_certificate(p->outbound_ctx)});
        for (size_t j = 0; j < p->nsign_keys; j++)
            if (p->sign_keys[j].cert != NULL)
                fn(arg, &(struct gw_cert_ref){"signing", p->id,
                                              p->sign_keys[j].kid ? p->sign_keys[j].kid : "",
                                              p->sign_keys[j].cert});
    }
}

static void
methods(struct gw_buf *b, unsigned set)
{
    int first = 1;

    gw_buf_addc(b, '[');
    for (int m = GW_METHOD_GET; set != 0 && m <= GW_METHOD_CONNECT; m++)
        if (set & GW_METHOD_BIT(m)) {
            if (!first)
                gw_buf_addc(b, ',');
            jstr(b, gw_http_method_name((enum gw_http_method)m));
            first = 0;
        }
    gw_buf_addc(b, ']');
}

static void
steps(struct gw_buf *b, const struct tf_chain *ch)
{
    gw_buf_addc(b, '[');
    for (size_t i = 0; i < tf_chain_size(ch); i++) {
        if (i > 0)
            gw_buf_addc(b, ',');
        jstr(b, tf_chain_step_name(ch, i));
    }
    gw_buf_addc(b, ']');
}

/* "limits": the traffic limits that are set (partners/limit_spec.h), and a partner's
 * max_body_bytes (0: none). */
static void
limits(struct gw_buf *b, const struct pt_limits *l, uint64_t max_body_bytes)
{
    const struct {
        const char *key;
        uint64_t v;
    } kv[] = {{"max_body_bytes", max_body_bytes}, {"requests_per_s", l->rate},
              {"burst", l->rate > 0 ? l->burst : 0}, {"concurrent", l->concurrent},
              {"requests_per_day", l->per_day}, {"requests_per_month", l->per_month}};

    au_buf_key(b, "limits");
    gw_buf_addc(b, '{');
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i].v > 0) {
            au_buf_key(b, kv[i].key);
            au_buf_u64(b, kv[i].v);
        }
    gw_buf_addc(b, '}');
}

static const char *const access_names[] = {"owner", "list", "any", "public"};

static void
route(struct gw_buf *b, const struct pt_route *r)
{
    gw_buf_addc(b, '{');
    au_buf_key(b, "name");
    jstr(b, r->name);
    au_buf_key(b, "owner");
    jstr(b, r->owner != NULL ? r->owner->id : NULL);
    au_buf_key(b, "access");
    jstr(b, access_names[r->access]);
    au_buf_key(b, "partners");
    au_buf_strings(b, (const char *const *)r->partners, r->npartners);
    au_buf_key(b, "methods");
    methods(b, r->methods);
    au_buf_key(b, "host");
    jstr(b, r->host);
    au_buf_key(b, "path");
    jstr(b, r->path);
    au_buf_key(b, "match");
    jstr(b, r->match == PT_PATH_PREFIX ? "prefix" : "exact");
    au_buf_key(b, "upstream");
    jstr(b, r->upstream.url);
    au_buf_key(b, "set");
    jstr(b, r->upset != NULL ? r->upset->name : NULL);
    limits(b, &r->limits, 0);
    gw_buf_printf(b, ",\"timeout_ms\":%d,\"request\":", r->timeout_ms);
    steps(b, r->request);
    au_buf_key(b, "response");
    steps(b, r->response);
    gw_buf_addc(b, '}');
}

void
gw_view_routes(const struct pt_snapshot *s, struct gw_buf *b)
{
    gw_buf_printf(b, "{\"config\":\"%s\",\"routes\":[", s->version);
    for (size_t i = 0; i < s->nroutes; i++) {
        if (i > 0)
            gw_buf_addc(b, ',');
        route(b, s->routes[i]);
    }
    gw_buf_adds(b, "]}");
}

static void
partner(struct gw_buf *b, const struct pt_partner *p, int whole)
{
    gw_buf_addc(b, '{');
    au_buf_key(b, "id");
    jstr(b, p->id);
    au_buf_key(b, "name");
    jstr(b, p->name);
    au_buf_key(b, "identity");
    gw_buf_addc(b, '{');
    au_buf_key(b, "subject");
    jstr(b, p->subject);
    au_buf_key(b, "san");
    au_buf_strings(b, (const char *const *)p->san, p->nsan);
    gw_buf_printf(b, ",\"fingerprints\":%zu,\"crls\":%d,\"cas\":[", p->nfingerprints,
                  p->crls != NULL ? sk_X509_CRL_num(p->crls) : 0);
    for (int i = 0; p->cas != NULL && i < sk_X509_num(p->cas); i++) {
        if (i > 0)
            gw_buf_addc(b, ',');
        cert(b, sk_X509_value(p->cas, i));
    }
    gw_buf_adds(b, "]}");
    au_buf_key(b, "outbound");
    cert(b, p->outbound_ctx != NULL ? SSL_CTX_get0_certificate(p->outbound_ctx) : NULL);
    au_buf_key(b, "signing");
    gw_buf_addc(b, '[');
    for (size_t i = 0; i < p->nsign_keys; i++) {
        const struct pt_sign_key *k = &p->sign_keys[i];
        gw_buf_adds(b, i > 0 ? ",{" : "{");
        au_buf_key(b, "kid");
        jstr(b, k->kid);
        au_buf_key(b, "kind");
        jstr(b, k->cert != NULL ? "certificate" : k->pub != NULL ? "public_key" : "secret");
        au_buf_key(b, "sha256");
        jstr(b, k->sha256[0] != '\0' ? k->sha256 : NULL);
        au_buf_key(b, "certificate");
        cert(b, k->cert);
        gw_buf_addc(b, '}');
    }
    gw_buf_addc(b, ']');
    if (!whole) {
        gw_buf_printf(b, ",\"routes\":%zu}", p->nroutes);
        return;
    }
    limits(b, &p->limits, p->max_body_bytes);
    gw_buf_adds(b, ",\"routes\":[");
    for (size_t i = 0; i < p->nroutes; i++) {
        if (i > 0)
            gw_buf_addc(b, ',');
        route(b, p->routes[i]);
    }
    gw_buf_addc(b, ']');
}

void
gw_view_partners(const struct pt_snapshot *s, struct gw_buf *b)
{
    gw_buf_printf(b, "{\"config\":\"%s\",\"partners\":[", s->version);
    for (size_t i = 0; i < s->npartners; i++) {
        if (i > 0)
            gw_buf_addc(b, ',');
        partner(b, s->partners[i], 0);
    }
    gw_buf_adds(b, "]}");
}

int
gw_view_partner(const struct pt_snapshot *s, const char *id, struct gw_buf *b)
{
    const struct pt_partner *p = pt_snapshot_partner(s, id);

    if (p == NULL)
        return -1;
    partner(b, p, 1); /* left open: the caller adds its counters and closes it */
    return 0;
}

static void
upset(struct gw_buf *b, const struct pt_upset *u, const char *owner)
{
    static const char *const balance[] = {"round_robin", "least_outstanding", "hash"};
    int64_t now_ms = gw_mono_us() / 1000;

    gw_buf_addc(b, '{');
    au_buf_key(b, "name");
    jstr(b, u->name);
    au_buf_key(b, "owner");
    jstr(b, owner);
    au_buf_key(b, "balance");
    jstr(b, balance[u->balance]);
    gw_buf_printf(b, ",\"health_checks\":%s,\"retries_total\":%llu,\"targets\":[",
                  u->health.on ? "true" : "false",
                  (unsigned long long)atomic_load_explicit(&u->retry.retried_total,
                                                           memory_order_relaxed));
    for (size_t i = 0; i < u->ntargets; i++) {
        const struct pt_target *t = &u->targets[i];
        int64_t until = atomic_load_explicit(&t->out_until, memory_order_relaxed);
        if (i > 0)
            gw_buf_addc(b, ',');
        gw_buf_addc(b, '{');
        au_buf_key(b, "url");
        jstr(b, t->up.url);
        gw_buf_printf(b, ",\"weight\":%u,\"healthy\":%s,\"ejected\":%s,\"ejections_total\":%llu,"
                      "\"outstanding\":%d}", t->weight,
                      atomic_load_explicit(&t->healthy, memory_order_relaxed) ? "true" : "false",
                      until > now_ms ? "true" : "false",
                      (unsigned long long)atomic_load_explicit(&t->ejected_total,
                                                               memory_order_relaxed),
                      atomic_load_explicit(&t->outstanding, memory_order_relaxed));
    }
    gw_buf_adds(b, "]}");
}

void
gw_upsets_each(const struct pt_snapshot *s,
               void (*fn)(void *arg, const struct pt_upset *u, const char *owner), void *arg)
{
    for (size_t i = 0; i < s->nupsets; i++)
        fn(arg, s->upsets[i], NULL);
    for (size_t i = 0; i < s->npartners; i++)
        for (size_t j = 0; j < s->partners[i]->nupsets; j++)
            fn(arg, s->partners[i]->upsets[j], s->partners[i]->id);
}

struct upsets_out {
    struct gw_buf *b;
    int n;
};

static void
upset_one(void *arg, const struct pt_upset *u, const char *owner)
{
    struct upsets_out *o = arg;

    if (o->n++ > 0)
        gw_buf_addc(o->b, ',');
    upset(o->b, u, owner);
}

void
gw_view_upstreams(const struct pt_snapshot *s, struct gw_buf *b)
{
    struct upsets_out o = {b, 0};

    gw_buf_printf(b, "{\"config\":\"%s\",\"upstreams\":[", s->version);
    gw_upsets_each(s, upset_one, &o);
    gw_buf_adds(b, "]}");
}
