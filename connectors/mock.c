/* mock.c: the connector that answers itself ("mock:" upstreams), for partners' sandboxes and tests.
 *
 * Without more, a mock route answers 200 (or the status written after "mock:", as "mock:201")
 * with a small JSON document naming the route, the partner and the request id. A "mock" object
 * on the route says more (partners/README.md): the status, response fields, a body file from the
 * bundle (read, and hashed into the snapshot's version, at load) with its content type, and a
 * delay before the answer. A mock does not read the request body: with one, the connection closes
 * after the answer.
 */
#include "connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"

#define MAX_DELAY_MS 60000
#define MAX_HEADERS_LEN 8192

struct mock_conf {
    int status;
    char *headers;      /* "Name: value\r\n"..., or NULL */
    char *body;         /* the body file's bytes, or NULL: the default document */
    size_t body_len;
    char *content_type; /* of the body file */
    int delay_ms;
};

static void
mock_conf_free(void *p)
{
    struct mock_conf *m = p;

    free(m->headers);
    free(m->body);
    free(m->content_type);
    free(m);
}

/* A field value a mock may send: visible characters, spaces and tabs, not empty. */
static int
value_ok(const char *v)
{
    if (*v == '\0')
        return 0;
    for (; *v != '\0'; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
            return 0;
    return 1;
}

static int
name_ok(const char *n)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";

    if (*n == '\0')
        return 0;
    for (; *n != '\0'; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              strchr(tchar, *n) != NULL))
            return 0;
    return 1;
}

/* "headers": an object of field names to string values; the gateway's own fields (framing,
 * hop-by-hop, forwarding, identity) and Content-Type (see "content_type") are refused. */
static int
compile_headers(const struct gw_jctx *c, const json_t *obj, const char *path, struct mock_conf *m)
{
    char hpath[GW_JPATH_MAX], kpath[GW_JPATH_MAX];
    json_t *h = gw_jctx_get(c, obj, path, "headers", JSON_OBJECT, 0);
    const char *name;
    json_t *v;
    size_t len = 0;
    int bad = 0;

    if (h == NULL)
        return json_object_get(obj, "headers") != NULL ? -1 : 0;
    gw_jpath_key(hpath, sizeof hpath, path, "headers");
    if ((m->headers = malloc(MAX_HEADERS_LEN + 1)) == NULL)
        return -1;
    json_object_foreach((json_t *)h, name, v) {
        gw_jpath_key(kpath, sizeof kpath, hpath, name);
        if (!name_ok(name)) {
            gw_jctx_error(c, kpath, "\"%s\" is not a field name", name);
            bad = 1;
        } else if (gw_http_guarded_name(name, strlen(name)) ||
                   gw_http_token_eq(name, strlen(name), "content-type")) {
            gw_jctx_error(c, kpath, "\"%s\" is written by the gateway%s", name,
                          gw_http_token_eq(name, strlen(name), "content-type")
                              ? " (a mock's is \"content_type\")"
                              : "");
            bad = 1;
        } else if (!json_is_string(v) || !value_ok(json_string_value(v))) {
            gw_jctx_error(c, kpath, "expected a field value (a non-empty string without control "
                          "characters)");
            bad = 1;
        } else {
            int n = snprintf(m->headers + len, MAX_HEADERS_LEN + 1 - len, "%s: %s\r\n", name,
                             json_string_value(v));
            if (n < 0 || (size_t)n > MAX_HEADERS_LEN - len) {
                gw_jctx_error(c, hpath, "the fields exceed %d bytes", MAX_HEADERS_LEN);
                return -1;
            }
            len += (size_t)n;
        }
    }
    return bad ? -1 : 0;
}

/* The content type of a body file: "content_type", else by its name's ending. */
static char *
body_type(const char *file, const char *given)
{
    const char *dot = strrchr(file, '.');

    if (given != NULL)
        return strdup(given);
    if (dot != NULL && strcmp(dot, ".json") == 0)
        return strdup("application/json");
    if (dot != NULL && strcmp(dot, ".xml") == 0)
        return strdup("application/xml");
    if (dot != NULL && strcmp(dot, ".txt") == 0)
        return strdup("text/plain; charset=utf-8");
    return strdup("application/octet-stream");
}

static int
mock_compile(const struct gw_jctx *c, const json_t *route, const char *path, struct pt_route *r)
{
    static const char *const keys[] = {"status", "headers", "body_file", "content_type",
                                       "delay_ms", NULL};
    char mpath[GW_JPATH_MAX];
    const char *target = r->upstream.target, *file, *type;
    json_t *obj = gw_jctx_get(c, route, path, "mock", JSON_OBJECT, 0);
    struct mock_conf *m;
    long long v;
    int bad = 0, rc;

    if (obj == NULL && json_object_get(route, "mock") != NULL)
        return -1; /* not an object: reported */
    if ((m = calloc(1, sizeof *m)) == NULL)
        return -1;
    m->status = atoi(target);
    if (m->status < 200 || m->status > 599)
        m->status = 200;
    r->cn_conf = m;
    r->cn_conf_free = mock_conf_free;
    if (obj == NULL)
        return 0;
    gw_jpath_key(mpath, sizeof mpath, path, "mock");
    bad |= gw_jctx_check_keys(c, obj, mpath, keys) > 0;
    if ((rc = gw_jctx_int(c, obj, mpath, "status", 200, 599, &v)) > 0)
        m->status = (int)v;
    bad |= rc < 0;
    if ((rc = gw_jctx_int(c, obj, mpath, "delay_ms", 0, MAX_DELAY_MS, &v)) > 0)
        m->delay_ms = (int)v;
    bad |= rc < 0;
    bad |= compile_headers(c, obj, mpath, m) < 0;
    type = gw_jctx_string(c, obj, mpath, "content_type", 0);
    if ((file = gw_jctx_string(c, obj, mpath, "body_file", 0)) != NULL) {
        char fpath[GW_JPATH_MAX];
        gw_jpath_key(fpath, sizeof fpath, mpath, "body_file");
        if (gw_jctx_read_file(c, fpath, file, &m->body, &m->body_len, NULL) < 0)
            bad = 1;
        else if (type != NULL && !value_ok(type))
            gw_jctx_error(c, mpath, "\"content_type\" holds a control character"), bad = 1;
        else
            m->content_type = body_type(file, type);
    } else if (type != NULL) {
        gw_jctx_error(c, mpath, "\"content_type\" goes with \"body_file\"");
        bad = 1;
    }
    return bad ? -1 : 0;
}

static void
answer(struct gw_exchange *ex)
{
    const struct mock_conf *m = ex->route->cn_conf;
    json_t *j;
    char *body;

    if (m->body != NULL) {
        ex->api->respond(ex, m->status, m->content_type, m->body, m->body_len, m->headers);
        return;
    }
    j = json_pack("{s:s, s:s?, s:s}", "route", ex->route->name, "partner",
                  ex->partner ? ex->partner->id : NULL, "request_id", ex->request_id);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    ex->api->respond(ex, m->status, "application/json", body ? body : "{}",
                     body ? strlen(body) : 2, m->headers);
    free(body);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_exchange *ex = arg;

    (void)fd;
    (void)what;
    event_free(ex->up);
    ex->up = NULL;
    GW_LOG_IN(&ex->log, answer(ex));
}

static void *
mock_worker_new(struct event_base *base, size_t max_idle, int idle_ms)
{
    (void)max_idle;
    (void)idle_ms;
    return base;
}

static void
mock_start(struct gw_exchange *ex)
{
    const struct mock_conf *m = ex->route->cn_conf;
    struct timeval tv = {m->delay_ms / 1000, (m->delay_ms % 1000) * 1000};

    if (m->delay_ms == 0 || (ex->up = evtimer_new(ex->up_worker, delay_cb, ex)) == NULL) {
        answer(ex);
        return;
    }
    ex->api->request_body(ex, NULL); /* the client waits; a mock reads no body */
    evtimer_add(ex->up, &tv);
}

static void
mock_cancel(struct gw_exchange *ex)
{
    if (ex->up != NULL) {
        event_free(ex->up);
        ex->up = NULL;
    }
}

const struct cn_ops cn_mock = {
    .name = "mock",
    .slot = 1,
    .compile = mock_compile,
    .worker_new = mock_worker_new,
    .start = mock_start,
    .cancel = mock_cancel,
};
