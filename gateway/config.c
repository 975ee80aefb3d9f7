/* config.c: load and validate portico.json (see config.h).
 *
 * Everything is checked and every problem reported, so that `portico check` lists them all at
 * once: the loader goes on after an error wherever the rest of the document still makes sense.
 * Shared routes are only type-checked here; they are compiled by the snapshot loader, which knows
 * the partners they name.
 */
#include "config.h"


#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conf_table.h"
#include "connector.h"
#include "hostname.h"
#include "http_parser.h"
#include "json_loc.h"
#include "key_auth.h"
#include "resolve.h"
#include "tls.h"
#include "chain.h"
#include "threat.h"

#define MAX_TIMEOUT_MS 86400000LL /* one day */

/* ---- addresses ------------------------------------------------------------------------------ */

static int
parse_port(const char *s, char *err, size_t errlen)
{
    long v = 0;

    if (*s == '\0') {
        snprintf(err, errlen, "missing port");
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > 65535) {
            snprintf(err, errlen, "bad port \"%s\" (1 to 65535)", s);
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535) {
        snprintf(err, errlen, "bad port \"%s\" (1 to 65535)", s);
        return -1;
    }
    return (int)v;
}

int
gw_parse_address(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                 size_t errlen)
{
    char host[256];
    const char *portstr;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int port, rc;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host) {
            snprintf(err, errlen, "\"%s\" is not an address ([v6]:port expected)", s);
            return -1;
        }
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        portstr = end + 2;
        hints.ai_family = AF_INET6;
        hints.ai_flags = AI_NUMERICHOST;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL ||
            (size_t)(colon - s) >= sizeof host) {
            snprintf(err, errlen, "\"%s\" is not an address (host:port, [v6]:port or :port)", s);
            return -1;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        portstr = colon + 1;
        hints.ai_family = AF_INET; /* ":port" is every IPv4 address; "[::]:port" for IPv6 */
    }
    if ((port = parse_port(portstr, err, errlen)) < 0)
        return -1;
    if (host[0] == '\0') {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        memset(ss, 0, sizeof *ss);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons((uint16_t)port);
        *len = sizeof *in;
        return 0;
    }
    hints.ai_flags |= AI_NUMERICSERV;
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || res == NULL || res->ai_addrlen > sizeof *ss) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", host,
                 rc ? gai_strerror(rc) : "no address");
        if (res != NULL)
            freeaddrinfo(res);
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Would binding both addresses collide? Same family and port, and the same address or a
 * wildcard on either side. */
static int
addr_overlaps(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port &&
               (x->sin_addr.s_addr == y->sin_addr.s_addr || x->sin_addr.s_addr == INADDR_ANY ||
                y->sin_addr.s_addr == INADDR_ANY);
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           (memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 ||
            IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
}

/* ---- listeners ------------------------------------------------------------------------------ */

/* A server name for SNI: "api.example.com" or "*.example.com", at most 253 bytes in all. */
static int
sni_valid(const char *s)
{
    const char *p = s[0] == '*' && s[1] == '.' ? s + 2 : s;

    return strlen(s) <= 253 && gw_host_name_valid(p, strlen(p));
}

void
gw_tls_cert_clear(struct gw_tls_cert *tc)
{
    free(tc->sni);
    free(tc->cert_file);
    free(tc->key_file);
    X509_free(tc->cert);
    sk_X509_pop_free(tc->chain, X509_free);
    EVP_PKEY_free(tc->key);
    memset(tc, 0, sizeof *tc);
}


void
gw_tls_cert_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                 struct gw_tls_cert *tc, int sni_too)
{
    static const char *const keys[] = { "cert", "key", "sni", NULL };
    static const char *const no_sni[] = { "cert", "key", NULL };
    char cpath[GW_JPATH_MAX], kpath[GW_JPATH_MAX], spath[GW_JPATH_MAX];
    STACK_OF(X509) *certs;

    gw_jctx_check_keys(c, obj, path, sni_too ? keys : no_sni);
    const char *cert = gw_jctx_string(c, obj, path, "cert", 1);
    const char *key = gw_jctx_string(c, obj, path, "key", 1);
    const char *sni = gw_jctx_string(c, obj, path, "sni", 0);
    gw_jpath_key(cpath, sizeof cpath, path, "cert");
    gw_jpath_key(kpath, sizeof kpath, path, "key");
    gw_jpath_key(spath, sizeof spath, path, "sni");
    if (sni != NULL && !sni_valid(sni))
        gw_jctx_error(c, spath, "\"%s\" is not a host name (name or *.domain)", sni);
    else if (sni != NULL && (tc->sni = strdup(sni)) != NULL)
        for (char *p = tc->sni; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    if (cert != NULL && (certs = gw_jctx_load_certs(c, cpath, cert, &tc->cert_file)) != NULL) {
        tc->cert = sk_X509_shift(certs);
        tc->chain = certs;
        gw_jctx_check_validity(c, cpath, tc->cert, tc->cert_file);
        for (int i = 0; i < sk_X509_num(tc->chain); i++)
            gw_jctx_check_validity(c, cpath, sk_X509_value(tc->chain, i), tc->cert_file);
    }
    if (key != NULL)
        tc->key = gw_jctx_load_key(c, kpath, key, &tc->key_file);
    if (tc->cert != NULL && tc->key != NULL && X509_check_private_key(tc->cert, tc->key) != 1) {
        ERR_clear_error();
        gw_jctx_error(c, kpath, "key in %s does not match the certificate in %s", tc->key_file,
                      tc->cert_file);
    }
}

/* Two certificates for one server name, or two defaults (no "sni"). */
static void
check_sni_unique(const struct gw_jctx *c, const json_t *arr, const char *apath)
{
    char epath[GW_JPATH_MAX], fpath[GW_JPATH_MAX];

    for (size_t b = 0; b < json_array_size(arr); b++) {
        json_t *sb = json_object_get(json_array_get(arr, b), "sni");
        if (!json_is_object(json_array_get(arr, b)) || (sb != NULL && !json_is_string(sb)))
            continue;
        for (size_t a = 0; a < b; a++) {
            json_t *sa = json_object_get(json_array_get(arr, a), "sni");
            if (!json_is_object(json_array_get(arr, a)) || (sa != NULL && !json_is_string(sa)))
                continue;
            gw_jpath_index(epath, sizeof epath, apath, a);
            if (sa == NULL && sb == NULL) {
                gw_jctx_error(c, gw_jpath_index(fpath, sizeof fpath, apath, b),
                              "a second certificate without \"sni\": only one may be the "
                              "default (%s)", epath);
                break;
            }
            if (sa != NULL && sb != NULL &&
                strcasecmp(json_string_value(sa), json_string_value(sb)) == 0) {
                gw_jpath_index(fpath, sizeof fpath, apath, b);
                gw_jctx_error(c, gw_jpath_key(fpath, sizeof fpath, fpath, "sni"),
                              "\"%s\" already has a certificate (%s)", json_string_value(sb),
                              epath);
                break;
            }
        }
    }
}

/* The "certificates" array: every entry loaded, the default one (no "sni") moved to index 0, which
 * is what a client without SNI or with an unknown name gets. (The "tls" table's reader: base is
 * the listener.) */
static void
load_tls_certs(const struct gw_jctx *c, const json_t *tls, const char *path,
               const struct gw_conf_key *key, void *base)
{
    struct gw_listener_conf *l = base;
    char apath[GW_JPATH_MAX], epath[GW_JPATH_MAX];
    json_t *arr = gw_jctx_get(c, tls, path, "certificates", JSON_ARRAY, 1), *item;

    if (arr == NULL)
        return;
    gw_jpath_key(apath, sizeof apath, path, "certificates");
    if (json_array_size(arr) == 0) {
        gw_jctx_error(c, apath, "at least one certificate is needed");
        return;
    }
    l->certs = calloc(json_array_size(arr), sizeof *l->certs);
    if (l->certs == NULL)
        return;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if ((item = gw_conf_object_at(c, arr, apath, i, epath)) != NULL)
            gw_tls_cert_load(c, item, epath, &l->certs[l->ncerts++], 1);
    check_sni_unique(c, arr, apath);
    for (size_t j = 1; j < l->ncerts; j++) {
        if (l->certs[j].sni == NULL && l->certs[0].sni != NULL) {
            struct gw_tls_cert t = l->certs[j];
            memmove(&l->certs[1], &l->certs[0], j * sizeof t);
            l->certs[0] = t;
            break;
        }
    }
}

/* The OpenSSL lists a listener may set, each checked by OpenSSL itself. */
static int
check_ciphers(const char *v, char *err, size_t errlen)
{
    return gw_tls_check_list(GW_TLS_CIPHERS, v, err, errlen);
}

static int
check_ciphersuites(const char *v, char *err, size_t errlen)
{
    return gw_tls_check_list(GW_TLS_CIPHERSUITES, v, err, errlen);
}

static int
check_curves(const char *v, char *err, size_t errlen)
{
    return gw_tls_check_list(GW_TLS_CURVES, v, err, errlen);
}

static void
load_tls(const struct gw_jctx *c, const json_t *tls, const char *path,
         struct gw_listener_conf *l)
{
    static const char *const modes[] = { [GW_CLIENT_AUTH_NONE] = "none",
                                         [GW_CLIENT_AUTH_OPTIONAL] = "optional",
                                         [GW_CLIENT_AUTH_REQUIRE] = "require", NULL };
#define TLS_LIST(k, fn) { GW_KEY_STRING(struct gw_listener_conf, k, NULL), .check = fn }
    static const struct gw_conf_key keys[] = {
        { GW_KEY_OTHER("certificates", load_tls_certs) },
        { GW_KEY_CHOICE(struct gw_listener_conf, client_auth, modes, GW_CLIENT_AUTH_REQUIRE) },
        TLS_LIST(ciphers, check_ciphers),
        TLS_LIST(ciphersuites, check_ciphersuites),
        TLS_LIST(curves, check_curves),
        { GW_KEY_INT(struct gw_listener_conf, ticket_lifetime_s, 0, 86400, 300) },
        GW_KEY_END,
    };
#undef TLS_LIST

    gw_conf_read(c, tls, path, keys, l, NULL);
}

static void
load_listener(const struct gw_jctx *c, const json_t *obj, const char *path,
              struct gw_listener_conf *l)
{
    static const char *const keys[] = { "address", "tls", NULL };
    char kpath[GW_JPATH_MAX], err[256];
    json_t *rest, *tls;

    l->file = c->file;
    gw_jsonloc_find(c->loc, path, &l->line, &l->col);
    /* client_auth is a TLS setting: say so rather than only "unknown key" */
    if (json_object_get(obj, "client_auth") != NULL) {
        gw_jpath_key(kpath, sizeof kpath, path, "client_auth");
        if (json_object_get(obj, "tls") == NULL)
            gw_jctx_error(c, kpath, "client_auth needs \"tls\" on this listener (a plain "
                          "listener cannot ask for client certificates)");
        else
            gw_jctx_error(c, kpath, "client_auth belongs inside \"tls\"");
    }
    if ((rest = json_copy((json_t *)obj)) != NULL) {
        json_object_del(rest, "client_auth");
        gw_jctx_check_keys(c, rest, path, keys);
        json_decref(rest);
    }
    const char *addr = gw_jctx_string(c, obj, path, "address", 1);
    if (addr != NULL) {
        l->address = strdup(addr);
        if (gw_parse_address(addr, &l->addr, &l->addrlen, err, sizeof err) < 0)
            gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "address"), "%s", err);
    }
    if ((tls = gw_jctx_get(c, obj, path, "tls", JSON_OBJECT, 0)) != NULL) {
        l->tls = 1;
        load_tls(c, tls, gw_jpath_key(kpath, sizeof kpath, path, "tls"), l);
    }
}

static void
load_listeners(const struct gw_jctx *c, const json_t *root, struct gw_config *cfg)
{
    char path[GW_JPATH_MAX], apath[GW_JPATH_MAX];
    json_t *arr = gw_jctx_get(c, root, "", "listeners", JSON_ARRAY, 1), *item;

    if (arr == NULL)
        return;
    if (json_array_size(arr) == 0) {
        gw_jctx_error(c, "listeners", "at least one listener is needed");
        return;
    }
    cfg->listeners = calloc(json_array_size(arr), sizeof *cfg->listeners);
    if (cfg->listeners == NULL)
        return;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if ((item = gw_conf_object_at(c, arr, "listeners", i, path)) == NULL)
            continue;
        struct gw_listener_conf *l = &cfg->listeners[cfg->nlisteners];
        load_listener(c, item, path, l);
        for (size_t j = 0; l->addrlen > 0 && j < cfg->nlisteners; j++) {
            const struct gw_listener_conf *o = &cfg->listeners[j];
            if (o->addrlen > 0 && addr_overlaps(&l->addr, &o->addr)) {
                gw_jctx_error(c, gw_jpath_key(apath, sizeof apath, path, "address"),
                              "\"%s\" is already taken by an earlier listener (\"%s\")",
                              l->address, o->address);
                break;
            }
        }
        cfg->nlisteners++;
    }
}

/* ---- trusted proxies ------------------------------------------------------------------------ */

static int
parse_cidr(const char *s, struct gw_cidr *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    int max;

    if (hlen == 0 || hlen >= sizeof host)
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    out->prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        int v = 0;
        if (*p == '\0' || strlen(p) > 3)
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (*p - '0');
        }
        if (v > max)
            return -1;
        out->prefix = v;
    }
    return 0;
}

static int
cidr_has_host_bits(const struct gw_cidr *b)
{
    int bytes = b->family == AF_INET ? 4 : 16;

    for (int i = 0; i < bytes; i++) {
        int keep = b->prefix - i * 8;
        unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
        if (b->addr[i] & (unsigned char)~mask)
            return 1;
    }
    return 0;
}

static void
load_trusted(const struct gw_jctx *c, const json_t *root, struct gw_config *cfg)
{
    char ipath[GW_JPATH_MAX];
    json_t *list = gw_jctx_string_list(c, root, "", "trusted_proxies", 0, 0);
    size_t n = gw_jlist_size(list);

    if (list == NULL || (cfg->trusted_proxies = calloc(n, sizeof *cfg->trusted_proxies)) == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *s = gw_jlist_at(list, i, "trusted_proxies", ipath, sizeof ipath);
        struct gw_cidr *b = &cfg->trusted_proxies[cfg->ntrusted_proxies];
        if (parse_cidr(s, b) < 0) {
            gw_jctx_error(c, ipath, "\"%s\" is not an address or CIDR block (\"10.0.0.0/8\", "
                          "\"::1\")", s);
            continue;
        }
        if (cidr_has_host_bits(b))
            gw_jctx_warning(c, ipath, "\"%s\" has bits set past its /%d prefix; they are ignored",
                            s, b->prefix);
        cfg->ntrusted_proxies++;
    }
}

int
gw_config_trusted(const struct gw_config *c, const struct sockaddr *sa)
{
    const unsigned char *a;
    int family;

    if (c == NULL || sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        a = (const unsigned char *)in6;
        family = AF_INET6;
        if (IN6_IS_ADDR_V4MAPPED(in6)) { /* a dual-stack socket's IPv4 client */
            a += 12;
            family = AF_INET;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < c->ntrusted_proxies; i++) {
        const struct gw_cidr *b = &c->trusted_proxies[i];
        int full = b->prefix / 8, rest = b->prefix % 8;
        if (b->family != family || memcmp(a, b->addr, (size_t)full) != 0)
            continue;
        if (rest == 0 || ((a[full] ^ b->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0)
            return 1;
    }
    return 0;
}

/* ---- limits and timeouts -------------------------------------------------------------------- */

/* One group of threat limits ("limits.xml", "limits.json"): every member a positive size, its
 * default the one tf_limits_default() gave. */
static void
load_sizes(const struct gw_jctx *c, const json_t *lim, const char *key, void *base,
           const struct gw_conf_key *fields)
{
    char path[GW_JPATH_MAX];
    json_t *obj = gw_jctx_get(c, lim, "limits", key, JSON_OBJECT, 0);

    if (obj != NULL)
        gw_conf_read(c, obj, gw_jpath_key(path, sizeof path, "limits", key), fields, base, NULL);
}

static void
load_threat_limits(const struct gw_jctx *c, const json_t *obj, struct tf_limits *tl)
{
    /* nesting is walked recursively by the converters and mappers: a depth cap keeps that within
     * a worker's stack */
#define XF(k, max) { GW_KEY_INT(struct tf_xml_limits, k, 1, max, 0), .flags = GW_CONF_KEEP }
#define JF(k, max) { GW_KEY_INT(struct tf_json_limits, k, 1, max, 0), .flags = GW_CONF_KEEP }
    static const struct gw_conf_key xml[] = { XF(max_depth, 1000), XF(max_children, 1LL << 32),
                                              XF(max_attrs, 1LL << 20), XF(max_name_len, 1 << 20),
                                              XF(max_text_len, 1LL << 32),
                                              XF(max_nodes, 1LL << 32), GW_KEY_END };
    static const struct gw_conf_key json[] = { JF(max_depth, 1000), JF(max_entries, 1LL << 32),
                                               JF(max_string_len, 1LL << 32), GW_KEY_END };
#undef XF
#undef JF
    load_sizes(c, obj, "xml", &tl->xml, xml);
    load_sizes(c, obj, "json", &tl->json, json);
}

static void
load_limits(const struct gw_jctx *c, const json_t *root, struct gw_limits *lim,
            struct tf_limits *tl)
{
    static const char *const underscores[] = { [GW_UNDERSCORES_DROP] = "drop",
                                               [GW_UNDERSCORES_REFUSE] = "refuse",
                                               [GW_UNDERSCORES_PASS] = "pass", NULL };
#define LIMIT(k, min, max, dflt) { GW_KEY_INT(struct gw_limits, k, min, max, dflt) }
    static const struct gw_conf_key keys[] = {
        LIMIT(max_header_bytes, 1024, 1 << 20, 16384),
        LIMIT(max_headers, 1, GW_HTTP_MAX_HEADERS, 100),
        LIMIT(max_target_bytes, 16, 1 << 20, 8192),
        LIMIT(max_body_bytes, 1, 1LL << 40, 10485760),
        LIMIT(max_connections, 1, 1000000, 10000),
        LIMIT(max_keepalive_requests, 1, 1LL << 31, 10000),
        LIMIT(upstream_idle_per_host, 0, 100000, 64),
        LIMIT(max_buffered_body_bytes, 1, 1LL << 32, 10485760),
        { GW_KEY_CHOICE(struct gw_limits, underscores_in_headers, underscores,
                        GW_UNDERSCORES_DROP) },
        { GW_KEY_OTHER("xml", NULL) }, /* read after the table: they fill tl */
        { GW_KEY_OTHER("json", NULL) },
        GW_KEY_END,
    };
#undef LIMIT
    json_t *obj = gw_jctx_get(c, root, "", "limits", JSON_OBJECT, 0);

    tf_limits_default(tl);
    gw_conf_read(c, obj, "limits", keys, lim, NULL);
    if (obj == NULL)
        return;
    load_threat_limits(c, obj, tl);
    if (lim->max_target_bytes > lim->max_header_bytes)
        gw_jctx_error(c, "limits.max_target_bytes",
                      "%zu is larger than max_header_bytes (%zu), which holds the request line",
                      lim->max_target_bytes, lim->max_header_bytes);
}

static void
load_timeouts(const struct gw_jctx *c, const json_t *root, struct gw_timeouts *t)
{
#define TIMEOUT(k, dflt) { GW_KEY_INT(struct gw_timeouts, k, 1, MAX_TIMEOUT_MS, dflt) }
    static const struct gw_conf_key keys[] = {
        TIMEOUT(client_header_ms, 10000),   TIMEOUT(client_body_ms, 30000),
        TIMEOUT(keepalive_ms, 60000),       TIMEOUT(upstream_connect_ms, 5000),
        TIMEOUT(upstream_response_ms, 30000), TIMEOUT(send_ms, 30000),
        GW_KEY_END,
    };
#undef TIMEOUT

    gw_conf_read(c, gw_jctx_get(c, root, "", "timeouts", JSON_OBJECT, 0), "timeouts", keys, t,
                 NULL);
}

/* "resolver": { "nameservers": ["ip" or "ip:port", ...] }: whom upstream names are asked of, at
 * load and when upstream sets re-resolve them (base/resolve.h); absent: the system's. */
static void
load_resolver(const struct gw_jctx *c, const json_t *root, struct gw_config *cfg)
{
    static const char *const keys[] = { "nameservers", NULL };
    char ipath[GW_JPATH_MAX];
    json_t *r = gw_jctx_get(c, root, "", "resolver", JSON_OBJECT, 0), *list;
    size_t n;

    if (r == NULL || gw_jctx_check_keys(c, r, "resolver", keys) > 0 ||
        (list = gw_jctx_string_list(c, r, "resolver", "nameservers", 0, 1)) == NULL)
        return;
    n = gw_jlist_size(list);
    if ((cfg->nameservers = calloc(n, sizeof *cfg->nameservers)) == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *ns = gw_jlist_at(list, i, "resolver.nameservers", ipath, sizeof ipath);
        if (!gw_nameserver_valid(ns))
            gw_jctx_error(c, ipath, "\"%s\" is not a nameserver address (an IP address, with "
                          ":port if not 53)", ns);
        else if ((cfg->nameservers[cfg->nnameservers] = strdup(ns)) != NULL)
            cfg->nnameservers++;
    }
}

/* "connectors": { "kafka": {...} }: the kafka connector's brokers (connectors/kafka.c); without
 * it, the audit section's brokers and properties serve kafka:// routes too. */
static void
load_connectors(const struct gw_jctx *c, const json_t *root, struct gw_config *cfg)
{
    static const char *const keys[] = { "kafka", "delivery", NULL };
    json_t *obj = gw_jctx_get(c, root, "", "connectors", JSON_OBJECT, 0);

    cn_delivery_conf_load(c, obj != NULL ? gw_jctx_get(c, obj, "connectors", "delivery",
                                                       JSON_OBJECT, 0)
                                         : NULL,
                          "connectors.delivery", &cfg->delivery);

    if (obj != NULL && gw_jctx_check_keys(c, obj, "connectors", keys) == 0 &&
        cn_kafka_conf_load(c, gw_jctx_get(c, obj, "connectors", "kafka", JSON_OBJECT, 0),
                           "connectors.kafka", &cfg->kafka) != 0)
        return;
    if (cfg->audit_conf.brokers != NULL && cfg->audit_conf.brokers[0] != '\0') {
        cfg->kafka.on = 1;
        cfg->kafka.brokers = strdup(cfg->audit_conf.brokers);
        cfg->kafka.timeout_ms = 5000;
        cfg->kafka.props = json_incref(cfg->audit_conf.kafka);
        cn_outbox_conf_load(c, NULL, "connectors.kafka.outbox", "outbox", &cfg->kafka.outbox);
    }
}

/* ---- the document --------------------------------------------------------------------------- */

/* Every key of the document, the settings read here; the sections are read by their own loaders,
 * after the table. */
static void
load_top(const struct gw_jctx *c, const json_t *root, struct gw_config *cfg)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct gw_config, node, NULL), .flags = GW_CONF_KEEP }, /* host name */
        { GW_KEY_INT(struct gw_config, workers, 1, 1024, 0), .flags = GW_CONF_KEEP }, /* CPUs */
        { GW_KEY_OTHER("listeners", NULL) },
        { GW_KEY_PATH(struct gw_config, partners_dir, "partners.d") },
        { GW_KEY_PATH(struct gw_config, consumers_dir, "consumers.d") },
        { GW_KEY_OTHER("plans", NULL) },     /* partners/plan.c, with the snapshot */
        { GW_KEY_OTHER("api_keys", NULL) },
        { GW_KEY_OTHER("cluster", NULL) },
        { GW_KEY_OTHER("trusted_proxies", NULL) },
        { GW_KEY_OTHER("limits", NULL) },
        { GW_KEY_OTHER("timeouts", NULL) },
        { GW_KEY_OTHER("routes", NULL) },
        { GW_KEY_OTHER("upstreams", NULL) }, /* partners/upstream_set.c, with the snapshot */
        { GW_KEY_OTHER("resolver", NULL) },
        { GW_KEY_OTHER("connectors", NULL) },
        { GW_KEY_OTHER("idempotency", NULL) },
        { GW_KEY_OTHER("admin", NULL) },
        { GW_KEY_OTHER("reload", NULL) },
        { GW_KEY_CHOICE(struct gw_config, log_format, gw_log_formats, GW_LOG_TEXT) },
        { GW_KEY_OTHER("access_log", NULL) },
        { GW_KEY_OTHER("audit", NULL) },
        { GW_KEY_OTHER("plugins", NULL) },
        GW_KEY_END,
    };
    char host[256];
    json_t *j;

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = ncpu > 0 ? (ncpu > 1024 ? 1024 : (int)ncpu) : 1;
    gw_conf_read(c, root, "", keys, cfg, NULL);
    if (cfg->node == NULL && gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        cfg->node = strdup(host);
    }
    if (cfg->node == NULL)
        cfg->node = strdup("portico");
    if ((j = gw_jctx_get(c, root, "", "routes", JSON_ARRAY, 0)) != NULL)
        cfg->routes = json_incref(j);
    if ((j = gw_jctx_get(c, root, "", "audit", JSON_OBJECT, 0)) != NULL)
        cfg->audit = json_incref(j);
    if ((j = gw_jctx_get(c, root, "", "plugins", JSON_ARRAY, 0)) != NULL)
        cfg->plugins = json_incref(j);
}

/* "reload": { "watch": bool, "debounce_ms": n } */
static void
load_reload(const struct gw_jctx *c, const json_t *root, struct gw_reload_conf *r)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_BOOL(struct gw_reload_conf, watch, 0) },
        { GW_KEY_INT(struct gw_reload_conf, debounce_ms, 10, 60000, 500) },
        GW_KEY_END,
    };

    gw_conf_read(c, gw_jctx_get(c, root, "", "reload", JSON_OBJECT, 0), "reload", keys, r, NULL);
}

struct gw_config *
gw_config_load(const char *path, struct gw_diag *d)
{
    struct gw_config *cfg = NULL;
    struct gw_jdoc doc;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        gw_diag_add(d, GW_DIAG_ERROR, path, 0, 0, NULL, "out of memory");
        goto out;
    }
    if (gw_jdoc_load(&doc, path, NULL, d, md) < 0)
        goto out;
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL || (cfg->path = strdup(path)) == NULL || (cfg->dir = strdup(doc.dir)) == NULL) {
        gw_diag_add(d, GW_DIAG_ERROR, path, 0, 0, NULL, "out of memory");
        gw_jdoc_free(&doc);
        gw_config_free(cfg);
        cfg = NULL;
        goto out;
    }
    /* the config keeps the document and its positions: shared routes are read later */
    cfg->root = doc.root;
    cfg->loc = doc.loc;
    doc.root = NULL;
    doc.loc = NULL;
    struct gw_jctx c = { .file = cfg->path, .dir = cfg->dir, .loc = cfg->loc, .d = d, .md = md };
    gw_jdoc_free(&doc);

    load_top(&c, cfg->root, cfg);
    load_listeners(&c, cfg->root, cfg);
    load_trusted(&c, cfg->root, cfg);
    load_limits(&c, cfg->root, &cfg->limits, &cfg->tf_limits);
    cfg->tf_limits.max_body = cfg->limits.max_buffered_body_bytes;
    if ((cfg->transforms = tf_registry_new()) == NULL)
        gw_diag_add(d, GW_DIAG_ERROR, path, 0, 0, NULL, "out of memory");
    else
        tf_registry_load_plugins(cfg->transforms, &c, cfg->plugins);
    load_timeouts(&c, cfg->root, &cfg->timeouts);
    load_resolver(&c, cfg->root, cfg);
    au_conf_load(&c, cfg->audit, &cfg->audit_conf);
    load_connectors(&c, cfg->root, cfg);
    gw_idem_conf_load(&c, gw_jctx_get(&c, cfg->root, "", "idempotency", JSON_OBJECT, 0),
                      &cfg->idem);
    gw_admin_conf_load(&c, gw_jctx_get(&c, cfg->root, "", "admin", JSON_OBJECT, 0), &cfg->admin);
    load_reload(&c, cfg->root, &cfg->reload);
    gw_api_keys_conf_load(&c, gw_jctx_get(&c, cfg->root, "", "api_keys", JSON_OBJECT, 0),
                          &cfg->api_keys);
    gw_cluster_conf_load(&c, cfg->root, &cfg->redis);
    gw_access_log_conf_load(&c, gw_jctx_get(&c, cfg->root, "", "access_log", JSON_OBJECT, 0),
                            &cfg->access_log);
    EVP_DigestFinal_ex(md, cfg->digest, NULL);
out:
    EVP_MD_CTX_free(md);
    return cfg;
}

void
gw_config_free(struct gw_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nlisteners; i++) {
        struct gw_listener_conf *l = &c->listeners[i];
        for (size_t j = 0; j < l->ncerts; j++) {
            if (l->ssl_ctx != NULL)
                SSL_CTX_free(l->ssl_ctx[j]);
            gw_tls_cert_clear(&l->certs[j]);
        }
        free(l->ssl_ctx);
        free(l->certs);
        free(l->address);
        free(l->ciphers);
        free(l->ciphersuites);
        free(l->curves);
    }
    free(c->listeners);
    free(c->trusted_proxies);
    for (size_t i = 0; i < c->nnameservers; i++)
        free(c->nameservers[i]);
    free(c->nameservers);
    free(c->partners_dir);
    free(c->consumers_dir);
    free(c->api_keys.secret_file);
    free(c->api_keys.header);
    free(c->api_keys.store_file);
    gw_redis_conf_free(&c->redis);
    free(c->node);
    json_decref(c->routes);
    json_decref(c->audit);
    au_conf_free(&c->audit_conf);
    cn_kafka_conf_free(&c->kafka);
    cn_delivery_conf_free(&c->delivery);
    gw_idem_conf_free(&c->idem);
    gw_admin_conf_free(&c->admin);
    gw_access_log_conf_free(&c->access_log);
    json_decref(c->plugins);
    tf_registry_free(c->transforms);
    json_decref(c->root);
    gw_jsonloc_free(c->loc);
    free(c->dir);
    free(c->path);
    free(c);
}
