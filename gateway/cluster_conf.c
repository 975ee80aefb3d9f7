/* cluster_conf.c: cluster.redis (see cluster_conf.h). */
#include "cluster_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_table.h"
#include "config.h"

static const char *const modes[] = {"standalone", "sentinel", "cluster", NULL};

struct redis_raw {
    int mode;
    char *master, *password_file, *prefix;
    int timeout_ms, fallback_nodes, lease_ms;
};

int
gw_redis_split(const char *addr, char ip[46], int *port)
{
    const char *colon = strrchr(addr, ':');
    size_t n;
    char *end;
    long p;

    if (colon == NULL)
        return -1;
    n = (size_t)(colon - addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') { /* [v6]:port */
        addr++;
        n -= 2;
    }
    if (n == 0 || n >= 46)
        return -1;
    memcpy(ip, addr, n);
    ip[n] = '\0';
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* Each address resolved (once) to "ip:port": hiredis connects to numbers without a lookup. */
static void
addresses(const struct gw_jctx *c, const json_t *obj, const char *path, struct gw_redis_conf *r)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX], err[256], ip[INET6_ADDRSTRLEN], out[80];
    json_t *list = gw_jctx_string_list(c, obj, path, "addresses", 1, 1);
    size_t n = gw_jlist_size(list);

    gw_jpath_key(kpath, sizeof kpath, path, "addresses");
    if (list == NULL || (r->addresses = calloc(n, sizeof *r->addresses)) == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *a = gw_jlist_at(list, i, kpath, ipath, sizeof ipath);
        struct sockaddr_storage ss;
        socklen_t len;
        int port;
        if (gw_parse_address(a, &ss, &len, err, sizeof err) < 0) {
            gw_jctx_error(c, ipath, "%s", err);
            continue;
        }
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
            port = ntohs(s6->sin6_port);
            snprintf(out, sizeof out, "[%s]:%d", ip, port);
        } else {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
            port = ntohs(s4->sin_port);
            snprintf(out, sizeof out, "%s:%d", ip, port);
        }
        if (port == 0)
            gw_jctx_error(c, ipath, "\"%s\": a Redis address needs its port", a);
        else if ((r->addresses[r->naddresses] = strdup(out)) != NULL)
            r->naddresses++;
    }
}

void
gw_redis_conf_load(const struct gw_jctx *c, const json_t *obj, const char *path,
                   struct gw_redis_conf *r)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_OTHER("addresses", NULL) },
        { GW_KEY_CHOICE(struct redis_raw, mode, modes, GW_REDIS_STANDALONE) },
        { GW_KEY_STRING(struct redis_raw, master, NULL) },
        { GW_KEY_PATH(struct redis_raw, password_file, NULL) },
        { GW_KEY_STRING(struct redis_raw, prefix, "{portico}") },
        { GW_KEY_INT(struct redis_raw, timeout_ms, 1, 10000, 50) },
        { GW_KEY_INT(struct redis_raw, fallback_nodes, 0, 1000, 0) },
        { GW_KEY_INT(struct redis_raw, lease_ms, 0, 1000, 10) },
        GW_KEY_END,
    };
    char kpath[GW_JPATH_MAX];
    struct redis_raw raw = {0};

    memset(r, 0, sizeof *r);
    if (obj == NULL)
        return;
    r->on = 1;
    gw_conf_read(c, obj, path, keys, &raw, NULL);
    addresses(c, obj, path, r);
    r->mode = (enum gw_redis_mode)raw.mode;
    r->master = raw.master;
    r->prefix = raw.prefix;
    r->timeout_ms = raw.timeout_ms;
    r->fallback_nodes = raw.fallback_nodes;
    r->lease_ms = raw.lease_ms;
    if (r->mode == GW_REDIS_SENTINEL && r->master == NULL)
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "master"),
                      "sentinel mode needs the master's name");
    if (raw.password_file != NULL) {
        struct gw_jctx resolved = *c; /* (the path is resolved already) */
        char *buf;
        size_t len;
        resolved.dir = NULL;
        if (gw_jctx_read_file(&resolved, gw_jpath_key(kpath, sizeof kpath, path, "password_file"),
                              raw.password_file, &buf, &len, NULL) == 0) {
            while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                buf[--len] = '\0';
            r->password = buf;
        }
        free(raw.password_file);
    }
    r->text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
}

void
gw_redis_conf_free(struct gw_redis_conf *r)
{
    for (size_t i = 0; i < r->naddresses; i++)
        free(r->addresses[i]);
    free(r->addresses);
    free(r->master);
    free(r->password);
    free(r->prefix);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* "cluster": { "redis": {...} } */
void
gw_cluster_conf_load(const struct gw_jctx *c, const json_t *root, struct gw_redis_conf *r)
{
    static const char *const keys[] = { "redis", NULL };
    json_t *obj = gw_jctx_get(c, root, "", "cluster", JSON_OBJECT, 0);

    if (obj == NULL || gw_jctx_check_keys(c, obj, "cluster", keys) > 0)
        return;
    gw_redis_conf_load(c, gw_jctx_get(c, obj, "cluster", "redis", JSON_OBJECT, 1), "cluster.redis",
                       r);
}
