/* partner_diff.c: `portico partner diff`: what a reload of the files would change on the running
 * node (see partner_diff.h). The node's side comes from its admin API (GET /status, /partners/{id},
 * /routes), the files' side from loading them as a reload would; both are compared as the admin
 * API shows them, so a change shows in the words an operator reads there. */
#include "partner_diff.h"

#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>

#include "admin_views.h"
#include "buf.h"
#include "config.h"
#include "snapshot_load.h"
#include "tls_client.h"

struct node {
    const char *address;  /* host:port of the admin listener */
    SSL_CTX *tls;         /* NULL: plain HTTP */
};

/* GET path from the node's admin API: the body parsed, or NULL with a message on stderr. */
static json_t *
node_get(const struct node *n, const char *path)
{
    char host[256], *colon, req[512], buf[16384], err[256];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    struct gw_buf body = {0};
    SSL *ssl = NULL;
    json_t *doc = NULL;
    int fd = -1, got;

    snprintf(host, sizeof host, "%s", n->address);
    if ((colon = strrchr(host, ':')) == NULL)
        goto fail_addr;
    *colon = '\0';
    if (host[0] == '[') { /* [v6]:port */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (getaddrinfo(host[0] ? host : "127.0.0.1", colon + 1, &hints, &ai) != 0)
        goto fail_addr;
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "portico partner diff: cannot reach the admin API at %s: %m\n",
                n->address);
        goto out;
    }
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
             n->address);
    if (n->tls != NULL) {
        if ((ssl = gw_tls_client_ssl(n->tls, host)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
            SSL_connect(ssl) != 1 || SSL_write(ssl, req, (int)strlen(req)) <= 0) {
            gw_tls_errors(err, sizeof err);
            fprintf(stderr, "portico partner diff: TLS with the admin API at %s: %s\n",
                    n->address, err);
            goto out;
        }
        while ((got = SSL_read(ssl, buf, sizeof buf)) > 0)
            gw_buf_add(&body, buf, (size_t)got);
        if (body.len == 0) { /* TLS 1.3: the client certificate is refused after the handshake */
            gw_tls_errors(err, sizeof err);
            fprintf(stderr, "portico partner diff: TLS with the admin API at %s: %s (an admin's "
                    "--cert and --key?)\n", n->address, err);
            goto out;
        }
    } else {
        if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
            goto out;
        while ((got = (int)read(fd, buf, sizeof buf)) > 0)
            gw_buf_add(&body, buf, (size_t)got);
    }
    gw_buf_addc(&body, '\0');
    const char *sep = body.p != NULL ? strstr(body.p, "\r\n\r\n") : NULL;
    int status = body.p != NULL && strncmp(body.p, "HTTP/1.1 ", 9) == 0 ? atoi(body.p + 9) : 0;
    if (sep == NULL || status != 200) {
        fprintf(stderr, "portico partner diff: GET %s on %s: %s\n", path, n->address,
                status ? "not 200" : "no HTTP answer");
        goto out;
    }
    doc = json_loads(sep + 4, 0, NULL);
    goto out;
fail_addr:
    fprintf(stderr, "portico partner diff: bad admin address \"%s\"\n", n->address);
out:
    if (ssl != NULL)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    if (ai != NULL)
        freeaddrinfo(ai);
    gw_buf_free(&body);
    return doc;
}

/* What the admin API shows of a partner, for the files' snapshot (time-dependent members out). */
static json_t *
local_partner(const struct pt_snapshot *s, const char *id)
{
    struct gw_buf b = {0};
    json_t *doc = NULL;

    if (gw_view_partner(s, id, &b) == 0) {
        gw_buf_addc(&b, '}');
        gw_buf_addc(&b, '\0');
        doc = json_loads(b.p, 0, NULL);
    }
    gw_buf_free(&b);
    return doc;
}

/* Drop what is not configuration: days left (they change by the hour), counters. */
static void
settle(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;

    if (json_is_object(v)) {
        json_object_del(v, "days_left");
        json_object_del(v, "counters");
        json_object_foreach(v, k, x)
            settle(x);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            settle(x);
    }
}

static json_t *
by_name(json_t *list, const char *key, const char *name)
{
    size_t i;
    json_t *x;

    json_array_foreach(list, i, x)
        if (strcmp(json_string_value(json_object_get(x, key)) ?: "", name) == 0)
            return x;
    return NULL;
}

/* Routes of two lists (by name): added, removed, changed. Returns how many lines it printed. */
static int
diff_routes(const char *who, json_t *was, json_t *now)
{
    size_t i;
    json_t *x;
    int n = 0;

    json_array_foreach(now, i, x) {
        const char *name = json_string_value(json_object_get(x, "name"));
        json_t *old = by_name(was, "name", name);
        if (old == NULL)
            printf("+ %sroute %s: %s %s\n", who, name,
                   json_string_value(json_object_get(x, "path")),
                   json_string_value(json_object_get(x, "upstream")));
        else if (!json_equal(old, x))
            printf("~ %sroute %s changed\n", who, name);
        n += old == NULL || !json_equal(old, x);
    }
    json_array_foreach(was, i, x) {
        const char *name = json_string_value(json_object_get(x, "name"));
        if (by_name(now, "name", name) == NULL) {
            printf("- %sroute %s\n", who, name);
            n++;
        }
    }
    return n;
}

/* One partner on both sides (either may be NULL). Returns how many lines it printed. */
static int
diff_partner(const char *id, json_t *was, json_t *now)
{
    static const char *const parts[] = {"name", "identity", "outbound", "signing", "limits",
                                        NULL};
    char who[300];
    int n = 0;

    if (was == NULL) {
        size_t routes = json_array_size(json_object_get(now, "routes"));
        printf("+ partner %s (%s): %zu route%s\n", id,
               json_string_value(json_object_get(now, "name")), routes, routes == 1 ? "" : "s");
        return 1;
    }
    if (now == NULL) {
        printf("- partner %s\n", id);
        return 1;
    }
    for (int i = 0; parts[i] != NULL; i++)
        if (!json_equal(json_object_get(was, parts[i]), json_object_get(now, parts[i]))) {
            printf("~ partner %s: %s changed\n", id, parts[i]);
            n++;
        }
    snprintf(who, sizeof who, "partner %s: ", id);
    return n + diff_routes(who, json_object_get(was, "routes"), json_object_get(now, "routes"));
}

/* The shared routes (no owner) of a GET /routes document. */
static json_t *
shared_routes(json_t *doc)
{
    json_t *out = json_array(), *x;
    size_t i;

    json_array_foreach(json_object_get(doc, "routes"), i, x)
        if (json_is_null(json_object_get(x, "owner")))
            json_array_append(out, x);
    return out;
}

static int
diff(const struct node *n, const struct pt_snapshot *s)
{
    json_t *status = node_get(n, "/status"), *list = NULL, *routes = NULL, *mine, *theirs;
    struct gw_buf b = {0};
    size_t i;
    json_t *x;
    int changes = 0, rc = 2;

    if (status == NULL || (list = node_get(n, "/partners")) == NULL ||
        (routes = node_get(n, "/routes")) == NULL)
        goto out;
    printf("node %s serves configuration %s; the files give %s\n",
           json_string_value(json_object_get(status, "node")),
           json_string_value(json_object_get(json_object_get(status, "config"), "version")),
           s->version);
    json_array_foreach(json_object_get(list, "partners"), i, x) { /* on the node */
        const char *id = json_string_value(json_object_get(x, "id"));
        char path[300];
        snprintf(path, sizeof path, "/partners/%s", id);
        theirs = node_get(n, path);
        mine = local_partner(s, id);
        if (theirs == NULL) {
            json_decref(mine);
            goto out;
        }
        settle(theirs);
        settle(mine);
        changes += diff_partner(id, theirs, mine);
        json_decref(theirs);
        json_decref(mine);
    }
    for (size_t k = 0; k < s->npartners; k++) /* only in the files */
        if (by_name(json_object_get(list, "partners"), "id", s->partners[k]->id) == NULL) {
            mine = local_partner(s, s->partners[k]->id);
            changes += diff_partner(s->partners[k]->id, NULL, mine);
            json_decref(mine);
        }
    gw_view_routes(s, &b);
    gw_buf_addc(&b, '\0');
    mine = json_loads(b.p, 0, NULL);
    json_t *was = shared_routes(routes), *now = shared_routes(mine);
    changes += diff_routes("shared ", was, now);
    json_decref(was);
    json_decref(now);
    json_decref(mine);
    if (changes == 0)
        printf("no partner or route would change%s\n",
               strcmp(json_string_value(json_object_get(json_object_get(status, "config"),
                                                        "version")) ?: "", s->version) != 0
                   ? " (other settings or file bytes differ)" : "");
    rc = changes > 0;
out:
    json_decref(status);
    json_decref(list);
    json_decref(routes);
    gw_buf_free(&b);
    return rc;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: portico partner diff -c portico.json [--admin HOST:PORT] [--cert FILE "
               "--key FILE] [--cacert FILE]\n"
               "What a reload of the files would change on the running node, asked through its "
               "admin API\n(the config's admin address unless --admin; a TLS admin listener "
               "needs an admin's --cert\nand --key, and --cacert to verify it). Exit 0: nothing "
               "would change, 1: changes listed,\n2: usage, the files do not load, or the node "
               "cannot be asked.\n");
}

int
gw_cmd_partner_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"admin", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'K'},
        {"cacert", required_argument, NULL, 'A'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *admin = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    struct gw_diag d = {0};
    struct pt_snapshot *s;
    struct node n = {0};
    char err[256];
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'a': admin = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'A': ca = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (config == NULL || optind != argc || (cert == NULL) != (key == NULL)) {
        usage(stderr);
        return 2;
    }
    if ((s = gw_snapshot_load(config, &d)) == NULL) {
        gw_diag_print(&d, stderr);
        fprintf(stderr, "portico partner diff: %s does not load: a reload would be refused\n",
                config);
        gw_diag_free(&d);
        return 2;
    }
    gw_diag_free(&d);
    n.address = admin != NULL ? admin : s->config->admin.address;
    if (n.address == NULL) {
        fprintf(stderr, "portico partner diff: %s has no admin listener (say --admin)\n", config);
        rc = 2;
    } else if ((cert != NULL || s->config->admin.cert != NULL) &&
               (n.tls = gw_tls_client_ctx_new(cert, key, ca, err, sizeof err)) == NULL) {
        fprintf(stderr, "portico partner diff: %s\n", err);
        rc = 2;
    } else {
        rc = diff(&n, s);
    }
    SSL_CTX_free(n.tls);
    pt_snapshot_unref(s);
    return rc;
}
