/* bundle.c: partner bundles, routes and upstream URLs (see bundle.h, format in README.md); the
 * identities a bundle holds are read by bundle_identity.c. */
#include "bundle.h"
#include "bundle_identity.h"
#include "bundle_signing.h"
#include "upstream_set.h"

#include "chain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf_table.h"
#include "consumer.h"
#include "resolve.h"
#include "hostname.h"
#include "http_parser.h"

#define MAX_ROUTE_TIMEOUT_MS 86400000LL /* one day */

static char *
lower_dup(const char *s)
{
    char *p = strdup(s);

    for (char *q = p; q != NULL && *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return p;
}

/* ---- upstream URLs -------------------------------------------------------------------------- */

void
pt_upstream_clear(struct pt_upstream *u)
{
    free(u->url);
    free(u->host);
    free(u->hostport);
    free(u->path);
    free(u->target);
    memset(u, 0, sizeof *u);
}

int
pt_kafka_topic_valid(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '.' || *t == '_' || *t == '-'))
            return 0;
    return 1;
}

/* Split "host", "host:port", "[v6]" or "[v6]:port" (auth[0..n)) into u->host and u->port. */
static int
parse_authority(const char *url, const char *auth, size_t n, struct pt_upstream *u, char *err,
                size_t errlen)
{
    const char *host = auth, *colon = NULL;
    size_t hlen;
    unsigned char tmp[16];

    if (n > 0 && auth[0] == '[') {
        const char *end = memchr(auth, ']', n);
        if (end == NULL)
            goto bad;
        host = auth + 1;
        hlen = (size_t)(end - host);
        if (end + 1 < auth + n) {
            if (end[1] != ':')
                goto bad;
            colon = end + 1;
        }
        u->host = strndup(host, hlen);
        if (u->host == NULL || inet_pton(AF_INET6, u->host, tmp) != 1)
            goto bad;
    } else {
        colon = memchr(auth, ':', n);
        hlen = colon ? (size_t)(colon - auth) : n;
        if (!gw_host_name_valid(host, hlen))
            goto bad;
        u->host = strndup(host, hlen);
        if (u->host == NULL)
            goto bad;
        for (char *p = u->host; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    if (colon != NULL) {
        size_t plen = (size_t)(auth + n - colon - 1);
        unsigned long v = 0;
        if (plen == 0 || plen > 5)
            goto badport;
        for (size_t i = 1; i <= plen; i++) {
            if (colon[i] < '0' || colon[i] > '9')
                goto badport;
            v = v * 10 + (unsigned long)(colon[i] - '0');
        }
        if (v < 1 || v > 65535)
            goto badport;
        u->port = (uint16_t)v;
    }
    return 0;
badport:
    snprintf(err, errlen, "\"%s\" has a bad port (1 to 65535)", url);
    return -1;
bad:
    snprintf(err, errlen, "\"%s\" has a bad host (a name, an IPv4 address or [IPv6])", url);
    return -1;
}

static int
resolve(struct pt_upstream *u, char *err, size_t errlen)
{
    return gw_resolve(u->host, u->port, &u->addr, &u->addrlen, err, errlen);
}

unsigned
pt_upstream_addr(const struct pt_upstream *u, struct sockaddr_storage *out, socklen_t *len)
{
    struct pt_upstream *w = (struct pt_upstream *)u; /* (the counter is read, not changed) */
    unsigned g1, g2;

    do {
        while ((g1 = atomic_load_explicit(&w->addr_gen, memory_order_acquire)) & 1)
            ;
        memcpy(out, &u->addr, sizeof *out);
        *len = u->addrlen;
        atomic_thread_fence(memory_order_acquire);
        g2 = atomic_load_explicit(&w->addr_gen, memory_order_relaxed);
    } while (g1 != g2);
    return g1;
}

void
pt_upstream_set_addr(struct pt_upstream *u, const struct sockaddr *sa, socklen_t len)
{
    unsigned g = atomic_load_explicit(&u->addr_gen, memory_order_relaxed);

    if (len > sizeof u->addr)
        return;
    atomic_store_explicit(&u->addr_gen, g + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(&u->addr, sa, len);
    u->addrlen = len;
    atomic_store_explicit(&u->addr_gen, g + 2, memory_order_release);
}

static int
parse_http_url(const char *url, const char *rest, struct pt_upstream *u, char *err,
               size_t errlen)
{
    uint16_t dflt = u->kind == PT_UP_HTTPS ? 443 : 80;
    size_t alen = strcspn(rest, "/");
    const char *path = rest + alen;
    char hp[300];

    if (strchr(url, '#') != NULL) {
        snprintf(err, errlen, "\"%s\" must not carry a fragment (#...)", url);
        return -1;
    }
    if (strchr(url, '?') != NULL) {
        snprintf(err, errlen, "\"%s\" must not carry a query (?...)", url);
        return -1;
    }
    if (memchr(rest, '@', alen) != NULL) {
        snprintf(err, errlen, "\"%s\" must not carry user info (user@)", url);
        return -1;
    }
    if (alen == 0) {
        snprintf(err, errlen, "\"%s\" has no host", url);
        return -1;
    }
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(err, errlen, "\"%s\" has a space or control character in its path", url);
            return -1;
        }
    }
    u->port = dflt;
    if (parse_authority(url, rest, alen, u, err, errlen) < 0)
        return -1;
    int v6 = strchr(u->host, ':') != NULL;
    if (u->port == dflt)
        snprintf(hp, sizeof hp, v6 ? "[%s]" : "%s", u->host);
    else
        snprintf(hp, sizeof hp, v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
    u->hostport = strdup(hp);
    u->path = strdup(path);
    if (u->hostport == NULL || u->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return resolve(u, err, errlen);
}

int
pt_upstream_parse(const char *url, struct pt_upstream *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if ((u->url = strdup(url)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) {
        u->kind = url[4] == ':' ? PT_UP_HTTP : PT_UP_HTTPS;
        if (parse_http_url(url, url + (u->kind == PT_UP_HTTP ? 7 : 8), u, err, errlen) < 0)
            goto fail;
    } else if (strncasecmp(url, "kafka://", 8) == 0) {
        u->kind = PT_UP_KAFKA;
        if (!pt_kafka_topic_valid(url + 8)) {
            snprintf(err, errlen, "\"%s\": \"%s\" is not a Kafka topic (1 to 249 of "
                     "A-Z a-z 0-9 . _ -)", url, url + 8);
            goto fail;
        }
        u->target = strdup(url + 8);
    } else if (strcasecmp(url, "deliveries:") == 0) {
        u->kind = PT_UP_DELIVERIES;
    } else if (strncasecmp(url, "mock:", 5) == 0) {
        u->kind = PT_UP_MOCK;
        u->target = strdup(url + 5);
    } else {
        snprintf(err, errlen, "\"%s\" is not a URL (http, https, kafka, mock or deliveries:)", url);
        goto fail;
    }
    if ((u->kind == PT_UP_KAFKA || u->kind == PT_UP_MOCK) && u->target == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    pt_upstream_clear(u);
    return -1;
}

/* ---- routes --------------------------------------------------------------------------------- */

void
pt_route_free(struct pt_route *r)
{
    if (r == NULL)
        return;
    free(r->name);
    free(r->jpath);
    free(r->host);
    free(r->path);
    pt_upstream_clear(&r->upstream);
    for (size_t i = 0; i < r->npartners; i++)
        free(r->partners[i]);
    free(r->partners);
    pt_idem_free(r->idem);
    tf_chain_free(r->request);
    tf_chain_free(r->response);
    if (r->capture != NULL)
        r->capture_free(r->capture);
    if (r->cn_conf != NULL)
        r->cn_conf_free(r->cn_conf);
    free(r);
}

static void
route_methods(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *list = gw_jctx_string_list(c, obj, path, "methods", 0, 0);

    gw_jpath_key(kpath, sizeof kpath, path, "methods");
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *m = gw_jlist_at(list, i, kpath, ipath, sizeof ipath);
        enum gw_http_method k = gw_http_method_from(m, strlen(m));
        if (k == GW_METHOD_OTHER)
            gw_jctx_error(c, ipath, "\"%s\" is not a method (GET, HEAD, POST, PUT, DELETE, "
                          "PATCH, OPTIONS, TRACE)", m);
        else if (k == GW_METHOD_CONNECT)
            gw_jctx_error(c, ipath, "CONNECT is never proxied");
        else
            r->methods |= GW_METHOD_BIT(k);
    }
}

/* "api.example.com", "*.example.com", an IPv4 address or "[v6]"; stored in lower case. */
static void
route_host(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX];
    unsigned char tmp[16];
    const char *h = gw_jctx_string(c, obj, path, "host", 0);
    int ok;

    if (h == NULL)
        return;
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
        char v6[64];
        ok = n - 2 < sizeof v6 && (memcpy(v6, h + 1, n - 2), v6[n - 2] = '\0',
                                   inet_pton(AF_INET6, v6, tmp) == 1);
    } else if (h[0] == '*' && h[1] == '.') {
        ok = gw_host_name_valid(h + 2, n - 2);
    } else {
        ok = gw_host_name_valid(h, n);
    }
    if (!ok)
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "host"),
                      "\"%s\" is not a host (a name, \"*.domain\", an IPv4 address or [IPv6], "
                      "without port)", h);
    else
        r->host = lower_dup(h);
}

/* "/exact" or "/prefix*". Returns 0 when r->path is set. */
static int
route_path(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX];
    const char *p = gw_jctx_string(c, obj, path, "path", 1);

    if (p == NULL)
        return -1;
    gw_jpath_key(kpath, sizeof kpath, path, "path");
    size_t n = strlen(p);
    if (p[0] != '/') {
        gw_jctx_error(c, kpath, "\"%s\" must start with \"/\"", p);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || (ch == '*' && i + 1 < n)) {
            gw_jctx_error(c, kpath, "\"%s\" is not a route path (visible ASCII, no '?' or '#', "
                          "'*' only at the end for a prefix)", p);
            return -1;
        }
    }
    r->match = p[n - 1] == '*' ? PT_PATH_PREFIX : PT_PATH_EXACT;
    r->path_len = r->match == PT_PATH_PREFIX ? n - 1 : n;
    r->path = strndup(p, r->path_len);
    return r->path != NULL ? 0 : -1;
}

/* The upstream URL, then what its connector makes of the route (struct pt_load_conf). */
static void
route_upstream(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r,
               const struct pt_load_conf *lc)
{
    char kpath[GW_JPATH_MAX], err[512];
    const char *url = gw_jctx_string(c, obj, path, "upstream", 1);

    if (url == NULL)
        return;
    gw_jpath_key(kpath, sizeof kpath, path, "upstream");
    if (strchr(url, ':') == NULL) { /* no scheme: the name of a set */
        struct pt_upset *s = pt_upset_find(lc->own_sets, lc->nown_sets, url);
        if (s == NULL)
            s = pt_upset_find(lc->sets, lc->nsets, url);
        if (s == NULL) {
            gw_jctx_error(c, kpath, "\"%s\" is neither a URL nor the name of an upstream set "
                          "(\"upstreams\" of the bundle or of portico.json)", url);
            return;
        }
        r->upset = s;
        r->upstream.kind = s->targets[0].up.kind;
        if ((r->upstream.url = strdup(url)) != NULL)
            lc->upstream_compile(c, obj, path, r);
        return;
    }
    if (pt_upstream_parse(url, &r->upstream, err, sizeof err) < 0)
        gw_jctx_error(c, kpath, "%s", err);
    else
        lc->upstream_compile(c, obj, path, r);
}

/* "retries": { "attempts", "try_timeout_ms" }, the route's own tries on its set; and how much of
 * a request body the route keeps for a retry. */
static void
route_retries(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    static const struct gw_conf_key table[] = {
        { GW_KEY_INT(struct pt_route, attempts, 1, 5, 0), .flags = GW_CONF_KEEP },
        { GW_KEY_INT(struct pt_route, try_timeout_ms, 1, MAX_ROUTE_TIMEOUT_MS, 0),
          .flags = GW_CONF_KEEP },
        GW_KEY_END,
    };
    char rpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, "retries", JSON_OBJECT, 0);

    gw_jpath_key(rpath, sizeof rpath, path, "retries");
    if (v != NULL && r->upset == NULL && r->upstream.url != NULL)
        gw_jctx_error(c, rpath, "a route to one URL has no other target to try: \"retries\" "
                      "takes an upstream set (\"upstreams\")");
    else if (v != NULL)
        gw_conf_read(c, v, rpath, table, r, NULL);
    if (r->upset != NULL && (r->attempts ? r->attempts : r->upset->retry.attempts) > 1)
        r->replay_max = r->upset->retry.replay_bytes;
}

/* A chain member ("request" or "response") of obj at path, compiled. */
static struct tf_chain *
load_chain(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
           enum tf_phase phase, const struct pt_load_conf *lc)
{
    char kpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, key, JSON_ARRAY, 0);

    if (v == NULL)
        return NULL;
    return tf_chain_compile(c, v, gw_jpath_key(kpath, sizeof kpath, path, key), phase,
                            lc->transforms, lc->tf_limits);
}

/* The transform chains and the audit capture (audit/capture.h). */
static void
route_chains(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r,
             const struct pt_load_conf *lc)
{
    char apath[GW_JPATH_MAX];
    json_t *v;
    int bad = 0;

    r->request = load_chain(c, obj, path, "request", TF_PHASE_REQUEST, lc);
    r->response = load_chain(c, obj, path, "response", TF_PHASE_RESPONSE, lc);
    if ((v = gw_jctx_get(c, obj, path, "audit", JSON_OBJECT, 0)) == NULL)
        return;
    r->capture = lc->capture_compile(c, v, gw_jpath_key(apath, sizeof apath, path, "audit"), &bad);
    r->capture_free = lc->capture_free;
}

/* A shared route's "auth": "mtls" (the default), "key", or both in a list. */
static void
route_auth(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *list = gw_jctx_string_list(c, obj, path, "auth", 1, 0);

    r->auth = PT_AUTH_MTLS;
    if (list == NULL)
        return;
    r->auth = 0;
    gw_jpath_key(kpath, sizeof kpath, path, "auth");
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *a = gw_jlist_at(list, i, kpath, ipath, sizeof ipath);
        if (strcmp(a, "mtls") == 0)
            r->auth |= PT_AUTH_MTLS;
        else if (strcmp(a, "key") == 0)
            r->auth |= PT_AUTH_KEY;
        else
            gw_jctx_error(c, ipath, "\"%s\": expected \"mtls\" (a partner's client certificate) "
                          "or \"key\" (a consumer's API key)", a);
    }
}

/* A shared route's audience: exactly one of "partners" (ids or "*") and "public": true; a route
 * only for keys ("auth": "key") has neither (its consumers' plans say who). */
static void
route_access(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_route *r)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *partners = json_object_get(obj, "partners");
    int pub = 0, has_pub = gw_jctx_bool(c, obj, path, "public", &pub);

    if (has_pub < 0)
        return;
    route_auth(c, obj, path, r);
    gw_jpath_key(kpath, sizeof kpath, path, "partners");
    if (partners != NULL && pub) {
        gw_jctx_error(c, kpath, "a route is either public or for partners, not both");
        return;
    }
    if (pub) {
        if (json_object_get(obj, "auth") != NULL)
            gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "auth"),
                          "a public route has no caller to identify");
        r->auth = 0;
        r->access = PT_ACCESS_PUBLIC;
        return;
    }
    if (!(r->auth & PT_AUTH_MTLS)) {
        if (partners != NULL)
            gw_jctx_error(c, kpath, "a route only for API keys has no partners (its consumers' "
                          "plans name it)");
        r->access = PT_ACCESS_LIST; /* no partner */
        return;
    }
    if (partners == NULL) {
        gw_jctx_error(c, path, "a shared route needs \"partners\" (a list of ids, or \"*\") or "
                      "\"public\": true, or \"auth\": \"key\"");
        return;
    }
    if (json_is_string(partners) && strcmp(json_string_value(partners), "*") == 0) {
        r->access = PT_ACCESS_ANY;
        return;
    }
    if (json_is_string(partners)) {
        gw_jctx_error(c, kpath, "expected an array of partner ids or \"*\", got \"%s\"",
                      json_string_value(partners));
        return;
    }
    json_t *list = gw_jctx_string_list(c, obj, path, "partners", 0, 1);
    size_t n = gw_jlist_size(list);
    r->access = PT_ACCESS_LIST;
    if (list == NULL || (r->partners = calloc(n, sizeof *r->partners)) == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *id = gw_jlist_at(list, i, kpath, ipath, sizeof ipath);
        if (!pt_partner_id_valid(id))
            gw_jctx_error(c, ipath, "\"%s\" is not a partner id", id);
        else if ((r->partners[r->npartners] = strdup(id)) != NULL)
            r->npartners++;
    }
}

struct pt_route *
pt_route_load(const struct gw_jctx *c, const json_t *obj, const char *path, int shared,
              const struct pt_load_conf *lc)
{
    static const char *const bundle_keys[] = {
        "name", "methods", "host", "path", "upstream", "mock", "kafka", "delivery", "async",
        "idempotency", "timeout_ms", "retries", "request", "response", "audit", "limits", NULL };
    static const char *const shared_keys[] = {
        "name", "methods", "host", "path", "upstream", "mock", "kafka", "delivery", "async",
        "idempotency", "timeout_ms", "retries", "request", "response", "audit", "limits",
        "partners", "public", "auth", NULL };
    struct pt_route *r = calloc(1, sizeof *r);
    const char *name;
    long long t;

    if (r == NULL)
        return NULL;
    r->file = c->file;
    r->jpath = strdup(path);
    gw_jsonloc_find(c->loc, path, &r->line, &r->col);
    gw_jctx_check_keys(c, obj, path, shared ? shared_keys : bundle_keys);
    if ((name = gw_jctx_string(c, obj, path, "name", 1)) != NULL)
        r->name = strdup(name);
    route_methods(c, obj, path, r);
    route_host(c, obj, path, r);
    int path_ok = route_path(c, obj, path, r) == 0;
    route_upstream(c, obj, path, r, lc);
    if (gw_jctx_int(c, obj, path, "timeout_ms", 1, MAX_ROUTE_TIMEOUT_MS, &t) > 0)
        r->timeout_ms = (int)t;
    route_retries(c, obj, path, r);
    pt_route_idempotency(c, obj, path, r);
    pt_limits_member(c, obj, path, &r->limits); /* the route's traffic, whoever calls it */
    route_chains(c, obj, path, r, lc);
    r->access = PT_ACCESS_OWNER;
    r->auth = PT_AUTH_MTLS;
    if (shared)
        route_access(c, obj, path, r);
    if (!path_ok) {
        pt_route_free(r);
        return NULL;
    }
    return r;
}

int
pt_route_name_taken(const struct gw_jctx *c, const struct pt_route *r, const char *path,
                    struct pt_route *const *routes, size_t n)
{
    char npath[GW_JPATH_MAX];

    for (size_t j = 0; r->name != NULL && j < n; j++) {
        if (routes[j]->name != NULL && strcmp(routes[j]->name, r->name) == 0) {
            gw_jctx_error(c, gw_jpath_key(npath, sizeof npath, path, "name"),
                          "\"%s\" is already the name of another route (line %d)", r->name,
                          routes[j]->line);
            return 1;
        }
    }
    return 0;
}

/* ---- limits, routes -------------------------------------------------------------------------- */

static void
load_limits(const struct gw_jctx *c, const json_t *root, const struct pt_load_conf *lc,
            struct pt_partner *p)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_INT(struct pt_partner, max_body_bytes, 1, 1LL << 40, 0), .flags = GW_CONF_KEEP },
        { GW_KEY_OTHER("requests_per_s", NULL) }, /* pt_limits_read's */
        { GW_KEY_OTHER("burst", NULL) },
        { GW_KEY_OTHER("concurrent", NULL) },
        { GW_KEY_OTHER("requests_per_day", NULL) },
        { GW_KEY_OTHER("requests_per_month", NULL) },
        { GW_KEY_OTHER("bytes_per_day", NULL) },
        { GW_KEY_OTHER("bytes_per_month", NULL) },
        GW_KEY_END,
    };
    json_t *obj = gw_jctx_get(c, root, "", "limits", JSON_OBJECT, 0);

    pt_plan_use(c, root, "", lc->plans, lc->nplans, &p->plan);
    pt_limits_over(&p->limits, p->plan);
    gw_conf_read(c, obj, "limits", keys, p, NULL);
    pt_limits_read(c, obj, "limits", &p->limits);
    if (p->max_body_bytes > lc->max_body_bytes) {
        gw_jctx_error(c, "limits.max_body_bytes", "%llu is above the gateway's max_body_bytes "
                      "(%llu): a partner may only lower it",
                      (unsigned long long)p->max_body_bytes,
                      (unsigned long long)lc->max_body_bytes);
        p->max_body_bytes = 0; /* the gateway's */
    }
}

/* "transforms": { "request": [...], "response": [...] }: the partner's default chains. */
static void
load_default_chains(const struct gw_jctx *c, const json_t *root, const struct pt_load_conf *lc,
                    struct pt_partner *p)
{
    static const char *const keys[] = { "request", "response", NULL };
    json_t *t = gw_jctx_get(c, root, "", "transforms", JSON_OBJECT, 0);

    if (t == NULL)
        return;
    gw_jctx_check_keys(c, t, "transforms", keys);
    p->default_request = load_chain(c, t, "transforms", "request", TF_PHASE_REQUEST, lc);
    p->default_response = load_chain(c, t, "transforms", "response", TF_PHASE_RESPONSE, lc);
}

static void
load_routes(const struct gw_jctx *c, const json_t *root, const struct pt_load_conf *lc,
            struct pt_partner *p)
{
    char path[GW_JPATH_MAX];
    json_t *arr = gw_jctx_get(c, root, "", "routes", JSON_ARRAY, 0), *item;

    if (arr == NULL || json_array_size(arr) == 0)
        return;
    if ((p->routes = calloc(json_array_size(arr), sizeof *p->routes)) == NULL)
        return;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct pt_route *r;
        if ((item = gw_conf_object_at(c, arr, "routes", i, path)) == NULL ||
            (r = pt_route_load(c, item, path, 0, lc)) == NULL)
            continue;
        r->owner = p;
        pt_route_name_taken(c, r, path, p->routes, p->nroutes);
        p->routes[p->nroutes++] = r;
    }
}

/* ---- the bundle ----------------------------------------------------------------------------- */

void
pt_partner_free(struct pt_partner *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nroutes; i++)
        pt_route_free(p->routes[i]);
    free(p->routes);
    pt_upsets_free(p->upsets, p->nupsets);
    tf_chain_free(p->default_request);
    tf_chain_free(p->default_response);
    free(p->id);
    free(p->name);
    free(p->dir);
    free(p->file);
    sk_X509_pop_free(p->cas, X509_free);
    free(p->ca_fps);
    sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
    free(p->subject);
    for (size_t i = 0; i < p->nsan; i++)
        free(p->san[i]);
    free(p->san);
    free(p->fingerprints);
    SSL_CTX_free(p->outbound_ctx);
    pt_sign_keys_free(p->sign_keys, p->nsign_keys);
    free(p);
}

int
pt_partner_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 64 || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
              id[i] == '_' || id[i] == '-'))
            return 0;
    return 1;
}

static void
load_names(const struct gw_jctx *c, const json_t *root, const char *folder,
           struct pt_partner *const *loaded, size_t nloaded, struct pt_partner *p)
{
    const char *id = gw_jctx_string(c, root, "", "id", 1);
    const char *name = gw_jctx_string(c, root, "", "name", 1);

    if (id != NULL && !pt_partner_id_valid(id))
        gw_jctx_error(c, "id", "\"%s\" is not a partner id (1 to 64 of a-z 0-9 . _ -, starting "
                      "with a letter or digit)", id);
    else if (id != NULL && strcmp(id, folder) != 0)
        gw_jctx_error(c, "id", "\"%s\" does not match its folder name \"%s\"", id, folder);
    for (size_t i = 0; id != NULL && i < nloaded; i++) {
        if (loaded[i]->id != NULL && strcmp(loaded[i]->id, id) == 0) {
            gw_jctx_error(c, "id", "partner id \"%s\" is already used by %s", id,
                          loaded[i]->file);
            break;
        }
    }
    if (id != NULL)
        p->id = strdup(id);
    if (name != NULL)
        p->name = strdup(name);
}

struct pt_partner *
pt_bundle_load(const char *dir, const char *name, const struct pt_load_conf *lc,
               struct pt_partner *const *loaded, size_t nloaded, struct gw_diag *d, EVP_MD_CTX *md)
{
    static const char *const keys[] = { "id", "name", "identity", "outbound", "plan", "limits",
                                        "routes", "signing", "transforms", "upstreams", NULL };
    struct pt_partner *p = calloc(1, sizeof *p);
    struct gw_jdoc doc = { 0 };
    struct stat st;

    if (p == NULL || (p->dir = strdup(dir)) == NULL ||
        (p->file = gw_path_join(dir, "partner.json")) == NULL) {
        gw_diag_add(d, GW_DIAG_ERROR, dir, 0, 0, NULL, "out of memory");
        goto fail;
    }
    if (stat(p->file, &st) < 0 && errno == ENOENT) {
        gw_diag_add(d, GW_DIAG_ERROR, dir, 0, 0, NULL, "bundle folder without partner.json");
        goto fail;
    }
    if (gw_jdoc_load(&doc, p->file, dir, d, md) < 0)
        goto fail;
    const struct gw_jctx *c = &doc.ctx;
    gw_jctx_check_keys(c, doc.root, "", keys);
    load_names(c, doc.root, name, loaded, nloaded, p);
    pt_bundle_identity(c, doc.root, p);
    pt_bundle_shared_cas(c, p, loaded, nloaded);
    pt_bundle_outbound(c, doc.root, p);
    pt_bundle_signing(c, doc.root, p);
    load_limits(c, doc.root, lc, p);
    pt_upsets_load(c, doc.root, &p->upsets, &p->nupsets);
    struct pt_load_conf own = *lc; /* its routes may name its own sets */
    own.own_sets = p->upsets;
    own.nown_sets = p->nupsets;
    load_routes(c, doc.root, &own, p);
    load_default_chains(c, doc.root, lc, p);
    if (json_object_get(doc.root, "outbound") != NULL) {
        size_t https = 0;
        for (size_t i = 0; i < p->nroutes; i++)
            https += p->routes[i]->upstream.kind == PT_UP_HTTPS;
        for (size_t i = 0; i < p->nupsets; i++)
            for (size_t j = 0; j < p->upsets[i]->ntargets; j++)
                https += p->upsets[i]->targets[j].up.kind == PT_UP_HTTPS;
        if (https == 0)
            gw_jctx_warning(c, "outbound", "no https route of this partner uses it");
    }
    /* routes keep pointers to the file name: it must live as long as the partner */
    for (size_t i = 0; i < p->nroutes; i++)
        p->routes[i]->file = p->file;
    gw_jdoc_free(&doc);
    return p;
fail:
    gw_jdoc_free(&doc);
    pt_partner_free(p);
    return NULL;
}
