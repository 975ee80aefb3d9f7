/* snapshot.c: the snapshot's partners, routes and router, its references and look-ups (see
 * snapshot.h). Bundle folders are read by name (dot-folders skipped); the shared routes may name
 * partners; the router covers every route, shared ones first. gateway/snapshot_load.c puts it
 * together with the configuration and the TLS state.
 */
#include "snapshot.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "conf_table.h"
#include "json_loc.h"
#include "router.h"
#include "upstream_set.h"

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
partner_cmp(const void *a, const void *b)
{
    const struct pt_partner *x = *(struct pt_partner *const *)a;
    const struct pt_partner *y = *(struct pt_partner *const *)b;

    return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* The bundle folders' names, sorted; NULL on error (reported). */
void
pt_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

char **
pt_list_dir(const struct gw_jctx *c, const char *dir, const char *key, int explicit_dir, size_t *n)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cap = 0;

    *n = 0;
    if (dp == NULL) {
        if (errno == ENOENT && !explicit_dir)
            return calloc(1, sizeof *names); /* no partners.d: no partners, not an error */
        gw_jctx_error(c, key, "cannot open the folder %s: %s", dir, strerror(errno));
        return NULL;
    }
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (nn == NULL)
                goto fail;
            names = nn;
        }
        if ((names[*n] = strdup(e->d_name)) == NULL)
            goto fail;
        (*n)++;
    }
    closedir(dp);
    if (names == NULL)
        return calloc(1, sizeof *names);
    qsort(names, *n, sizeof *names, name_cmp);
    return names;
fail:
    closedir(dp);
    for (size_t i = 0; i < *n; i++)
        free(names[i]);
    free(names);
    gw_jctx_error(c, key, "out of memory listing %s", dir);
    return NULL;
}

int
pt_snapshot_load_partners(struct pt_snapshot *s, const struct gw_jctx *c,
                          const char *partners_dir, int explicit_dir,
                          const struct pt_load_conf *lc, EVP_MD_CTX *md)
{
    size_t n;
    char **names = pt_list_dir(c, partners_dir, "partners_dir", explicit_dir, &n);
    int rc = -1;

    if (names == NULL)
        return -1;
    if (n > 0 && (s->partners = calloc(n, sizeof *s->partners)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char *dir = gw_path_join(partners_dir, names[i]);
        struct stat st;
        if (dir == NULL)
            goto out;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* files beside the bundles (a README) are skipped */
            struct pt_partner *p = pt_bundle_load(dir, names[i], lc, s->partners, s->npartners,
                                                  c->d, md);
            if (p != NULL)
                s->partners[s->npartners++] = p;
        }
        free(dir);
    }
    rc = 0;
out:
    pt_list_free(names, n);
    return rc;
}

static const struct pt_partner *
find_partner_any_order(const struct pt_snapshot *s, const char *id)
{
    for (size_t i = 0; i < s->npartners; i++)
        if (s->partners[i]->id != NULL && strcmp(s->partners[i]->id, id) == 0)
            return s->partners[i];
    return NULL;
}

/* Compile the config's shared routes; their partner ids must exist. Appends to s->routes, which
 * has room for every route. */
static void
load_shared_routes(struct pt_snapshot *s, const struct gw_jctx *c, const json_t *shared,
                   const char *partners_dir, const struct pt_load_conf *lc)
{
    char path[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *item;

    for (size_t i = 0; i < json_array_size(shared); i++) {
        struct pt_route *r;
        if ((item = gw_conf_object_at(c, shared, "routes", i, path)) == NULL ||
            (r = pt_route_load(c, item, path, 1, lc)) == NULL)
            continue;
        pt_route_name_taken(c, r, path, s->routes, s->nroutes);
        for (size_t j = 0; j < r->npartners; j++) {
            if (find_partner_any_order(s, r->partners[j]) != NULL)
                continue;
            gw_jpath_key(ipath, sizeof ipath, path, "partners");
            gw_jpath_index(ipath, sizeof ipath, ipath, j);
            gw_jctx_error(c, ipath, "no partner \"%s\" (no bundle with this id in %s)",
                          r->partners[j], partners_dir);
        }
        s->routes[s->nroutes++] = r;
    }
}

int
pt_snapshot_collect_routes(struct pt_snapshot *s, const struct gw_jctx *c, const json_t *shared,
                           const char *partners_dir, const struct pt_load_conf *lc)
{
    size_t total = json_array_size(shared);

    for (size_t i = 0; i < s->npartners; i++)
        total += s->partners[i]->nroutes;
    if (total > 0 && (s->routes = calloc(total, sizeof *s->routes)) == NULL)
        return -1;
    load_shared_routes(s, c, shared, partners_dir, lc);
    for (size_t i = 0; i < s->npartners; i++)
        for (size_t j = 0; j < s->partners[i]->nroutes; j++)
            s->routes[s->nroutes++] = s->partners[i]->routes[j];
    if ((s->router = pt_router_build(s->routes, s->nroutes, c->d)) == NULL) {
        gw_diag_add(c->d, GW_DIAG_ERROR, c->file, 0, 0, NULL, "out of memory building routes");
        return -1;
    }
    if (s->npartners > 1) /* for pt_snapshot_partner's binary search, once the routes are in */
        qsort(s->partners, s->npartners, sizeof *s->partners, partner_cmp);
    return 0;
}

/* The https targets of sets[0..n) get ctx. */
static void
set_contexts(struct pt_upset *const *sets, size_t n, SSL_CTX *ctx)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sets[i]->ntargets; j++)
            if (sets[i]->targets[j].up.kind == PT_UP_HTTPS)
                sets[i]->targets[j].up.ssl_ctx = ctx;
}

void
pt_snapshot_set_upstream_contexts(struct pt_snapshot *s)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        struct pt_route *r = s->routes[i];
        if (r->upstream.kind != PT_UP_HTTPS || r->upset != NULL)
            continue;
        r->upstream.ssl_ctx = r->owner != NULL && r->owner->outbound_ctx != NULL
                                  ? r->owner->outbound_ctx
                                  : s->upstream_ctx;
    }
    set_contexts(s->upsets, s->nupsets, s->upstream_ctx);
    for (size_t i = 0; i < s->npartners; i++) {
        const struct pt_partner *p = s->partners[i];
        set_contexts(p->upsets, p->nupsets, p->outbound_ctx ? p->outbound_ctx : s->upstream_ctx);
    }
}

void
pt_snapshot_free_parts(struct pt_snapshot *s)
{
    pt_router_free(s->router);
    for (size_t i = 0; i < s->nroutes; i++) /* bundles' routes belong to their partner */
        if (s->routes[i]->owner == NULL)
            pt_route_free(s->routes[i]);
    free(s->routes);
    for (size_t i = 0; i < s->npartners; i++)
        pt_partner_free(s->partners[i]);
    free(s->partners);
    pt_upsets_free(s->upsets, s->nupsets);
    pt_consumers_free(&s->consumers);
    for (size_t i = 0; i < s->nplans; i++)
        pt_plan_free(s->plans[i]);
    free(s->plans);
    OPENSSL_cleanse(&s->key_mac, sizeof s->key_mac);
}

struct pt_snapshot *
pt_snapshot_ref(struct pt_snapshot *s)
{
    int prev = atomic_fetch_add(&s->refs, 1);

    assert(prev > 0);
    (void)prev;
    return s;
}

void
pt_snapshot_unref(struct pt_snapshot *s)
{
    if (s == NULL)
        return;
    int prev = atomic_fetch_sub(&s->refs, 1);
    assert(prev > 0); /* an unref without its ref */
    if (prev == 1) {
        assert(s->destroy != NULL); /* its builder says how it is freed */
        s->destroy(s);
    }
}

static int
id_key_cmp(const void *key, const void *elem)
{
    const struct pt_partner *p = *(struct pt_partner *const *)elem;

    return strcmp((const char *)key, p->id ? p->id : "");
}

const struct pt_partner *
pt_snapshot_partner(const struct pt_snapshot *s, const char *id)
{
    struct pt_partner *const *p;

    if (s == NULL || id == NULL || s->npartners == 0)
        return NULL;
    p = bsearch(id, s->partners, s->npartners, sizeof *s->partners, id_key_cmp);
    return p != NULL ? *p : NULL;
}
