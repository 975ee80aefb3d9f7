/* router.c: method, host and path to a route (see router.h).
 *
 * Routes are grouped into host buckets: one per exact host (sorted, found by binary search), one
 * per wildcard suffix (most specific first) and one for routes without a host. Inside a bucket the
 * exact paths form a table sorted by path (binary search) and the prefixes a list sorted by length,
 * longest first. All of it lives in one sorted array of route pointers built once per snapshot;
 * matching only reads it and never allocates.
 *
 * Method is checked last: the candidates for a request, in order of preference (exact host,
 * wildcard hosts, no host; within each, exact path, then prefixes longest first), are tried until
 * one allows the method. When some matched the path but none allows the method, the answer is 405
 * with the union of their method sets.
 */
#include "router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

enum host_kind { HOST_ANY, HOST_EXACT, HOST_WILD };

/* The routes for one host (or wildcard, or none). host: "api.acme.com" for an exact host,
 * ".acme.com" for the wildcard "*.acme.com", NULL for routes without a host. */
struct bucket {
    char *host;
    size_t host_len;
    const struct pt_route *const *exact; /* sorted by path, then declaration order */
    size_t nexact;
    const struct pt_route *const *prefix; /* longest path first, then declaration order */
    size_t nprefix;
};

struct pt_router {
    const struct pt_route **sorted; /* every route, in bucket order; buckets point into it */
    struct bucket *hosts;           /* exact hosts, sorted by host */
    size_t nhosts;
    struct bucket *wilds; /* wildcard hosts, longest suffix first */
    size_t nwilds;
    struct bucket any; /* routes without a host */
};

/* A route as the builder sees it: its host normalised, and its declaration index for stable
 * ordering. */
struct slot {
    const struct pt_route *r;
    size_t idx;
    enum host_kind kind;
    char *key;
    size_t key_len;
};

/* Self-contained on purpose (http_parser.c may not be linked into every user of the router). */
static const char *const method_names[] = {
    [GW_METHOD_OTHER] = "(other)",   [GW_METHOD_GET] = "GET",         [GW_METHOD_HEAD] = "HEAD",
    [GW_METHOD_POST] = "POST",       [GW_METHOD_PUT] = "PUT",         [GW_METHOD_DELETE] = "DELETE",
    [GW_METHOD_PATCH] = "PATCH",     [GW_METHOD_OPTIONS] = "OPTIONS", [GW_METHOD_TRACE] = "TRACE",
    [GW_METHOD_CONNECT] = "CONNECT",
};

static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Byte order, then shorter first. `a` is folded to lower case, `b` must already be lower case. */
static int
cmp_fold(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        unsigned char ca = lower((unsigned char)a[i]), cb = (unsigned char)b[i];
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

static int
cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Strip what the Host value or a configured host may carry around the name itself: "[v6]" brackets,
 * a ":port", one trailing dot. Points into the input. */
static void
host_trim(const char *h, size_t len, const char **out, size_t *out_len)
{
    if (len > 0 && h[0] == '[') {
        const char *end = memchr(h, ']', len);
        if (end != NULL) {
            *out = h + 1;
            *out_len = (size_t)(end - h - 1);
            return;
        }
    } else {
        const char *colon = memchr(h, ':', len);
        if (colon != NULL)
            len = (size_t)(colon - h);
    }
    if (len > 0 && h[len - 1] == '.')
        len--;
    *out = h;
    *out_len = len;
}

/* Fill s->kind and s->key (malloc'd, lower case) from the route's host. Returns 0 or -1. */
static int
slot_init(struct slot *s, const struct pt_route *r, size_t idx)
{
    const char *h;
    size_t len;

    s->r = r;
    s->idx = idx;
    s->kind = HOST_ANY;
    s->key = NULL;
    s->key_len = 0;
    if (r->host == NULL || r->host[0] == '\0' || strcmp(r->host, "*") == 0)
        return 0;
    if (r->host[0] == '*' && r->host[1] == '.') {
        s->kind = HOST_WILD;
        h = r->host + 1;
        len = strlen(h);
        if (len > 1 && h[len - 1] == '.')
            len--;
    } else {
        /* configured hosts carry no port: only brackets and a trailing dot to drop */
        s->kind = HOST_EXACT;
        h = r->host;
        len = strlen(h);
        if (h[0] == '[' && len > 1 && h[len - 1] == ']') {
            h++;
            len -= 2;
        } else if (len > 1 && h[len - 1] == '.') {
            len--;
        }
    }
    s->key = malloc(len + 1);
    if (s->key == NULL)
        return -1;
    for (size_t i = 0; i < len; i++)
        s->key[i] = (char)lower((unsigned char)h[i]);
    s->key[len] = '\0';
    s->key_len = len;
    return 0;
}

/* Bucket order: kind; host (wildcards longest first); exact paths before prefixes; exact paths by
 * bytes, prefixes longest first; then declaration order. */
static int
slot_cmp(const void *pa, const void *pb)
{
    const struct slot *a = pa, *b = pb;
    int c;

    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == HOST_WILD && a->key_len != b->key_len)
        return a->key_len > b->key_len ? -1 : 1;
    if (a->kind != HOST_ANY && (c = cmp_bytes(a->key, a->key_len, b->key, b->key_len)) != 0)
        return c;
    if (a->r->match != b->r->match)
        return a->r->match == PT_PATH_EXACT ? -1 : 1;
    if (a->r->match == PT_PATH_PREFIX && a->r->path_len != b->r->path_len)
        return a->r->path_len > b->r->path_len ? -1 : 1;
    if ((c = cmp_bytes(a->r->path, a->r->path_len, b->r->path, b->r->path_len)) != 0)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int
same_place(const struct slot *a, const struct slot *b)
{
    return a->kind == b->kind && a->r->match == b->r->match &&
           cmp_bytes(a->key ? a->key : "", a->key_len, b->key ? b->key : "", b->key_len) == 0 &&
           cmp_bytes(a->r->path, a->r->path_len, b->r->path, b->r->path_len) == 0;
}

/* "method POST", "methods GET, POST" or "every method". */
static void
describe_methods(unsigned set, char *buf, size_t size)
{
    const size_t nnames = sizeof method_names / sizeof method_names[0];
    size_t off;
    int count = 0;

    if (set == 0) {
        snprintf(buf, size, "every method");
        return;
    }
    for (unsigned m = 0; m < nnames; m++)
        count += (set & GW_METHOD_BIT(m)) != 0;
    off = (size_t)snprintf(buf, size, count > 1 ? "methods " : "method ");
    for (unsigned m = 0, first = 1; m < nnames && off < size; m++) {
        if (set & GW_METHOD_BIT(m)) {
            off +=
                (size_t)snprintf(buf + off, size - off, "%s%s", first ? "" : ", ", method_names[m]);
            first = 0;
        }
    }
}

/* Report route b (declared later) as conflicting with route a. */
static void
report_conflict(struct gw_diag *d, const struct pt_route *a, const struct pt_route *b)
{
    char methods[128], where[512] = "", owner[256];
    unsigned common = a->methods == 0   ? b->methods
                      : b->methods == 0 ? a->methods
                                        : a->methods & b->methods;

    describe_methods(common, methods, sizeof methods);
    if (a->owner != NULL && a->owner->id != NULL)
        snprintf(owner, sizeof owner, "route \"%s\" of partner %s", a->name ? a->name : "?",
                 a->owner->id);
    else
        snprintf(owner, sizeof owner, "shared route \"%s\"", a->name ? a->name : "?");
    if (a->file != NULL && a->line > 0)
        snprintf(where, sizeof where, " (%s:%d:%d)", a->file, a->line, a->col > 0 ? a->col : 1);
    else if (a->file != NULL)
        snprintf(where, sizeof where, " (%s)", a->file);
    gw_diag_add(d, GW_DIAG_ERROR, b->file, b->line, b->col, b->jpath,
                "route \"%s\" conflicts with %s%s: same host, path \"%.*s%s\" and %s",
                b->name ? b->name : "?", owner, where, (int)b->path_len, b->path,
                b->match == PT_PATH_PREFIX ? "*" : "", methods);
}

/* Two routes at the same host and path with overlapping methods: report each later route once,
 * against the first earlier one it collides with. slots are in declaration order. */
static void
find_conflicts(const struct slot *slots, size_t n, struct gw_diag *d)
{
    for (size_t j = 1; j < n; j++) {
        for (size_t i = 0; i < j; i++) {
            unsigned mi = slots[i].r->methods, mj = slots[j].r->methods;
            if ((mi == 0 || mj == 0 || (mi & mj) != 0) && same_place(&slots[i], &slots[j])) {
                report_conflict(d, slots[i].r, slots[j].r);
                break;
            }
        }
    }
}

/* Fill bucket b from the run slots[from..to) (same kind and host, already sorted). */
static int
bucket_fill(struct bucket *b, const struct slot *slots, size_t from, size_t to,
            const struct pt_route **sorted)
{
    size_t i = from;

    memset(b, 0, sizeof *b);
    if (slots[from].key != NULL) {
        b->host = malloc(slots[from].key_len + 1);
        if (b->host == NULL)
            return -1;
        memcpy(b->host, slots[from].key, slots[from].key_len + 1);
        b->host_len = slots[from].key_len;
    }
    b->exact = sorted + from;
    while (i < to && slots[i].r->match == PT_PATH_EXACT)
        i++;
    b->nexact = i - from;
    b->prefix = sorted + i;
    b->nprefix = to - i;
    return 0;
}

/* Group the sorted slots into the router's buckets. */
static int
build_buckets(struct pt_router *r, const struct slot *slots, size_t n)
{
    size_t nb[3] = {0, 0, 0};

    for (size_t i = 0; i < n; i++) {
        r->sorted[i] = slots[i].r;
        if (i == 0 || slots[i].kind != slots[i - 1].kind ||
            (slots[i].kind != HOST_ANY && cmp_bytes(slots[i].key, slots[i].key_len,
                                                    slots[i - 1].key, slots[i - 1].key_len) != 0))
            nb[slots[i].kind]++;
    }
    if (nb[HOST_EXACT] > 0 && (r->hosts = calloc(nb[HOST_EXACT], sizeof *r->hosts)) == NULL)
        return -1;
    if (nb[HOST_WILD] > 0 && (r->wilds = calloc(nb[HOST_WILD], sizeof *r->wilds)) == NULL)
        return -1;
    for (size_t i = 0, end; i < n; i = end) {
        struct bucket *b;
        for (end = i + 1; end < n && slots[end].kind == slots[i].kind; end++)
            if (slots[i].kind != HOST_ANY &&
                cmp_bytes(slots[end].key, slots[end].key_len, slots[i].key, slots[i].key_len) != 0)
                break;
        if (slots[i].kind == HOST_ANY)
            b = &r->any;
        else if (slots[i].kind == HOST_EXACT)
            b = &r->hosts[r->nhosts++];
        else
            b = &r->wilds[r->nwilds++];
        if (bucket_fill(b, slots, i, end, r->sorted) < 0)
            return -1;
    }
    return 0;
}

struct pt_router *
pt_router_build(struct pt_route *const *routes, size_t n, struct gw_diag *d)
{
    struct pt_router *r = calloc(1, sizeof *r);
    struct slot *slots = NULL;
    size_t ninit = 0;

    if (r == NULL)
        goto fail;
    if (n == 0)
        return r;
    slots = calloc(n, sizeof *slots);
    r->sorted = calloc(n, sizeof *r->sorted);
    if (slots == NULL || r->sorted == NULL)
        goto fail;
    for (; ninit < n; ninit++)
        if (slot_init(&slots[ninit], routes[ninit], ninit) < 0)
            goto fail;
    if (d != NULL)
        find_conflicts(slots, n, d);
    qsort(slots, n, sizeof *slots, slot_cmp);
    if (build_buckets(r, slots, n) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        free(slots[i].key);
    free(slots);
    return r;

fail:
    for (size_t i = 0; i < ninit; i++)
        free(slots[i].key);
    free(slots);
    pt_router_free(r);
    return NULL;
}

void
pt_router_free(struct pt_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nhosts; i++)
        free(r->hosts[i].host);
    for (size_t i = 0; i < r->nwilds; i++)
        free(r->wilds[i].host);
    free(r->hosts);
    free(r->wilds);
    free(r->sorted);
    free(r);
}

static int
method_allowed(const struct pt_route *rt, unsigned bit)
{
    return rt->methods == 0 || (rt->methods & bit) != 0;
}

/* The bucket's first route for this path that allows the method, or NULL; the method sets of the
 * routes that match the path are added to *allowed. */
static const struct pt_route *
bucket_match(const struct bucket *b, unsigned bit, const char *path, size_t len, unsigned *allowed)
{
    size_t lo = 0, hi = b->nexact;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_bytes(b->exact[mid]->path, b->exact[mid]->path_len, path, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < b->nexact && cmp_bytes(b->exact[lo]->path, b->exact[lo]->path_len, path, len) == 0;
         lo++) {
        if (method_allowed(b->exact[lo], bit))
            return b->exact[lo];
        *allowed |= b->exact[lo]->methods;
    }
    for (size_t i = 0; i < b->nprefix; i++) {
        const struct pt_route *rt = b->prefix[i];
        if (rt->path_len > len || memcmp(rt->path, path, rt->path_len) != 0)
            continue;
        if (method_allowed(rt, bit))
            return rt;
        *allowed |= rt->methods;
    }
    return NULL;
}

static const struct bucket *
find_host(const struct pt_router *r, const char *h, size_t len)
{
    size_t lo = 0, hi = r->nhosts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_fold(h, len, r->hosts[mid].host, r->hosts[mid].host_len);
        if (c == 0)
            return &r->hosts[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Does host h end with the wildcard suffix (".acme.com") with at least one character before it? */
static int
wild_matches(const struct bucket *b, const char *h, size_t len)
{
    return len > b->host_len &&
           cmp_fold(h + len - b->host_len, b->host_len, b->host, b->host_len) == 0;
}

int
pt_router_match(const struct pt_router *r, int method, const char *host, size_t host_len,
                const char *path, size_t path_len, const struct pt_route **out, unsigned *allowed)
{
    unsigned bit = method >= 0 && method < 32 ? GW_METHOD_BIT((unsigned)method) : 0;

    /* a route that answers GET answers HEAD too (RFC 9110 9.3.2) */
    if (method == GW_METHOD_HEAD)
        bit |= GW_METHOD_BIT(GW_METHOD_GET);
    unsigned seen = 0;
    const struct pt_route *rt = NULL;
    const char *h = NULL;
    size_t hlen = 0;

    *out = NULL;
    if (path == NULL) {
        path = "";
        path_len = 0;
    }
    if (host != NULL && host_len > 0)
        host_trim(host, host_len, &h, &hlen);
    if (hlen > 0) {
        const struct bucket *b = find_host(r, h, hlen);
        if (b != NULL)
            rt = bucket_match(b, bit, path, path_len, &seen);
        for (size_t i = 0; rt == NULL && i < r->nwilds; i++)
            if (wild_matches(&r->wilds[i], h, hlen))
                rt = bucket_match(&r->wilds[i], bit, path, path_len, &seen);
    }
    if (rt == NULL)
        rt = bucket_match(&r->any, bit, path, path_len, &seen);
    if (allowed != NULL)
        *allowed = rt != NULL ? 0 : seen;
    if (rt != NULL) {
        *out = rt;
        return PT_MATCH_OK;
    }
    /* seen == 0 with a path match is impossible: a route allowing every method would have won */
    return seen != 0 ? PT_MATCH_METHOD : PT_MATCH_NONE;
}
