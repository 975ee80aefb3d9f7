/* snapshot_load.c: the gateway builds the snapshot (see snapshot_load.h): its configuration, the
 * partners' part (partners/snapshot.c) with what they need of the floors above lent through a
 * struct pt_load_conf, and the TLS state.
 */
#include "snapshot_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "capture.h"
#include "config.h"
#include "consumer.h"
#include "connector.h"
#include "json_loc.h"
#include "limiter.h"
#include "resolve.h"
#include "tls.h"
#include "upstream_set.h"

/* The snapshot's destroy: the TLS state, the partners' part, the configuration. */
static void
snapshot_destroy(struct pt_snapshot *s)
{
    gw_tls_snapshot_free(s);
    pt_snapshot_free_parts(s);
    gw_config_free(s->config);
    free(s);
}

/* A kafka:// route needs brokers: connectors.kafka's, or the audit section's. */
static void
kafka_routes_have_brokers(const struct pt_snapshot *s, struct gw_diag *d)
{
    char path[GW_JPATH_MAX];

    for (size_t i = 0; !s->config->kafka.on && i < s->nroutes; i++) {
        const struct pt_route *r = s->routes[i];
        if (r->connector == &cn_delivery)
            gw_diag_add(d, GW_DIAG_ERROR, r->file, r->line, r->col,
                        gw_jpath_key(path, sizeof path, r->jpath, "delivery"),
                        "asynchronous delivery needs Kafka brokers for its dead letters (say "
                        "them in connectors.kafka, or turn the audit on: its brokers serve)");
        if (r->connector != &cn_kafka)
            continue;
        gw_diag_add(d, GW_DIAG_ERROR, r->file, r->line, r->col,
                    gw_jpath_key(path, sizeof path, r->jpath, "upstream"),
                    "\"%s\": no brokers to produce to (say them in connectors.kafka, or turn "
                    "the audit on: its brokers serve)", r->upstream.url);
    }
}

/* api_keys.secret_file: what keys' hashes are made under; needed as soon as a route takes keys
 * or a consumer has any (pt_key_secret_load reads it, as `portico consumer` does). */
static void
key_secret(struct pt_snapshot *s, const struct gw_jctx *c, EVP_MD_CTX *md)
{
    const char *file = s->config->api_keys.secret_file;
    int needed = s->consumers.nkeys > 0;
    char err[512];

    for (size_t i = 0; !needed && i < s->nroutes; i++)
        needed = (s->routes[i]->auth & PT_AUTH_KEY) != 0;
    if (file == NULL) {
        if (needed)
            gw_jctx_error(c, "api_keys.secret_file", "routes take API keys (\"auth\": \"key\") or "
                          "consumers have keys: name the file of the secret their hashes are "
                          "made under (api_keys.secret_file)");
        return;
    }
    /* (file is resolved already: read as it is, not against the config's folder again) */
    if (pt_key_secret_load(file, md, &s->key_mac, err, sizeof err) < 0)
        gw_jctx_error(c, "api_keys.secret_file", "%s", err);
    else
        s->key_mac_set = 1;
}

/* A plan's routes are routes that take keys; a consumer's plan exists (consumer.c said so). */
static void
check_plans(const struct pt_snapshot *s, struct gw_diag *d)
{
    char path[GW_JPATH_MAX];
    const struct gw_jctx c = { .file = s->config->path, .dir = s->config->dir,
                               .loc = s->config->loc, .d = d };

    for (size_t i = 0; i < s->nplans; i++) {
        const struct pt_plan *p = s->plans[i];
        for (size_t k = 0; k < p->nroutes; k++) {
            const struct pt_route *r = NULL;
            for (size_t j = 0; r == NULL && j < s->nroutes; j++)
                if (s->routes[j]->name != NULL && strcmp(s->routes[j]->name, p->routes[k]) == 0)
                    r = s->routes[j];
            snprintf(path, sizeof path, "plans[%zu].routes[%zu]", i, k);
            if (r == NULL)
                gw_jctx_error(&c, path, "no route is named \"%s\"", p->routes[k]);
            else if (!(r->auth & PT_AUTH_KEY))
                gw_jctx_error(&c, path, "route %s does not take API keys (\"auth\": \"key\")",
                              p->routes[k]);
        }
    }
}

struct pt_snapshot *
gw_snapshot_load(const char *config_path, struct gw_diag *d)
{
    size_t errors0 = d->errors;
    struct pt_snapshot *s = calloc(1, sizeof *s);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];

    if (s == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        gw_diag_add(d, GW_DIAG_ERROR, config_path, 0, 0, NULL, "out of memory");
        goto fail;
    }
    atomic_init(&s->refs, 1);
    s->destroy = snapshot_destroy;
    if ((s->config = gw_config_load(config_path, d)) == NULL)
        goto fail;
    struct gw_config *cfg = s->config;
    const struct gw_jctx c = { .file = cfg->path, .dir = cfg->dir, .loc = cfg->loc, .d = d };
    s->nameservers = cfg->nameservers;
    s->nnameservers = cfg->nnameservers;
    gw_resolve_use(cfg->nameservers, cfg->nnameservers); /* for the upstreams' hosts */
    pt_upsets_load(&c, cfg->root, &s->upsets, &s->nupsets);
    if (pt_plans_load(&c, cfg->root, &s->plans, &s->nplans) < 0)
        goto fail;
    const struct pt_load_conf lc = {
        .transforms = cfg->transforms,
        .tf_limits = &cfg->tf_limits,
        .max_body_bytes = cfg->limits.max_body_bytes,
        .capture_compile = au_capture_compile,
        .capture_free = au_capture_free,
        .upstream_compile = cn_route_compile,
        .sets = s->upsets,
        .nsets = s->nupsets,
        .plans = s->plans,
        .nplans = s->nplans,
    };
    /* the config's own digest covers it and its PEMs; the bundles' bytes follow */
    EVP_DigestUpdate(md, cfg->digest, sizeof cfg->digest);
    if (pt_snapshot_load_partners(s, &c, cfg->partners_dir,
                                  json_object_get(cfg->root, "partners_dir") != NULL, &lc,
                                  md) < 0 ||
        pt_snapshot_collect_routes(s, &c, cfg->routes, cfg->partners_dir, &lc) < 0) {
        gw_resolve_use(NULL, 0);
        goto fail;
    }
    gw_resolve_use(NULL, 0);
    if (pt_consumers_load(&(struct gw_jctx){ .file = cfg->path, .dir = cfg->dir, .loc = cfg->loc,
                                             .d = d, .md = md },
                          cfg->consumers_dir, json_object_get(cfg->root, "consumers_dir") != NULL,
                          s->plans, s->nplans, &s->consumers) < 0)
        goto fail;
    key_secret(s, &c, md);
    check_plans(s, d);
    /* TLS contexts are built from fully valid parts only: with errors so far, the TLS layer
     * would only trip over what is already reported */
    if (d->errors > errors0 || gw_tls_snapshot_init(s, d) < 0)
        goto fail;
    pt_snapshot_set_upstream_contexts(s);
    EVP_DigestFinal_ex(md, digest, NULL);
    for (int i = 0; i < 8; i++)
        snprintf(s->version + 2 * i, 3, "%02x", digest[i]);
    cfg->ex = (struct ex_settings){
        .node = cfg->node,
        .config_version = s->version,
        .upstream_connect_ms = cfg->timeouts.upstream_connect_ms,
        .upstream_response_ms = cfg->timeouts.upstream_response_ms,
        .send_ms = cfg->timeouts.send_ms,
        .max_header_bytes = cfg->limits.max_header_bytes,
        .max_target_bytes = cfg->limits.max_target_bytes,
        .max_buffered_body_bytes = cfg->limits.max_buffered_body_bytes,
        .tf_limits = &cfg->tf_limits,
        .kafka = &cfg->kafka,
    };
    kafka_routes_have_brokers(s, d);
    if (d->errors > errors0)
        goto fail;
    gw_limits_attach(s);
    EVP_MD_CTX_free(md);
    return s;
fail:
    EVP_MD_CTX_free(md);
    if (s != NULL)
        snapshot_destroy(s);
    return NULL;
}
