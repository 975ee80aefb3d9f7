/* demo_upstream.c: the backend of the `make run` demo, a tiny HTTP echo server.
 *
 *   demo_upstream [ADDRESS]     ADDRESS: "127.0.0.1:9000" (default), "[::1]:9000" or "9000"
 *
 * Answers every request with 200 and a JSON body that shows what the gateway forwarded: method,
 * target, the headers the gateway adds or rewrites (X-Partner-Id, X-Partner-Subject, X-Request-Id,
 * X-Forwarded-For, Via) and the size of the body. It uses libevent's evhttp, which is fine for a
 * demo backend; the gateway itself has its own HTTP engine (DESIGN.md, "Why not evhttp").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

static const char *const echoed[] = {
    "X-Partner-Id", "X-Partner-Subject", "X-Request-Id", "X-Forwarded-For", "Via", "Content-Type",
};

static const char *
method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "OTHER";
}

/* The JSON answer for one request, or NULL on allocation failure. */
static json_t *
describe(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    json_t *o = json_object(), *headers = json_object();

    if (o == NULL || headers == NULL) {
        json_decref(o);
        json_decref(headers);
        return NULL;
    }
    for (size_t i = 0; i < sizeof echoed / sizeof echoed[0]; i++) {
        const char *v = evhttp_find_header(in, echoed[i]);
        json_object_set_new(headers, echoed[i], v != NULL ? json_string(v) : json_null());
    }
    json_object_set_new(o, "upstream", json_string("demo"));
    json_object_set_new(o, "method", json_string(method_name(evhttp_request_get_command(req))));
    json_object_set_new(o, "uri", json_string(evhttp_request_get_uri(req)));
    json_object_set_new(o, "headers", headers);
    json_object_set_new(
        o, "body_bytes",
        json_integer((json_int_t)evbuffer_get_length(evhttp_request_get_input_buffer(req))));
    return o;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    json_t *o = describe(req);
    char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
    struct evbuffer *out = evbuffer_new();

    if (text == NULL || out == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        goto out;
    }
    evbuffer_add_printf(out, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    fprintf(stderr, "demo upstream: %s %s\n", method_name(evhttp_request_get_command(req)),
            evhttp_request_get_uri(req));
out:
    if (out != NULL)
        evbuffer_free(out);
    free(text);
    json_decref(o);
}

static void
on_signal(evutil_socket_t sig, short events, void *arg)
{
    event_base_loopexit(arg, NULL);
}

/* Split "host:port", "[v6]:port" or "port" into host (brackets dropped) and port. */
static int
parse_address(const char *s, char *host, size_t hostlen, unsigned short *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s, *p = s;
    size_t n = 0;
    long v;
    char *end;

    if (colon != NULL) {
        p = colon + 1;
        n = (size_t)(colon - s);
        if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
            h = s + 1;
            n -= 2;
        }
    }
    if (n == 0) {
        h = "127.0.0.1";
        n = strlen(h);
    }
    if (n >= hostlen)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    v = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (unsigned short)v;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *address = argc > 1 ? argv[1] : "127.0.0.1:9000";
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    char host[256];
    unsigned short port;
    int rc = 1;

    if (argc > 2 || parse_address(address, host, sizeof host, &port) < 0) {
        fprintf(stderr, "usage: %s [host:port | [v6]:port | port]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = base != NULL ? evhttp_new(base) : NULL;
    if (http == NULL)
        goto out;
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(http, 16 * 1024 * 1024);
    evhttp_set_gencb(http, on_request, NULL);
    if (evhttp_bind_socket(http, host, port) != 0) {
        fprintf(stderr, "demo upstream: cannot listen on %s\n", address);
        goto out;
    }
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) || event_add(sigterm, NULL))
        goto out;
    fprintf(stderr, "demo upstream: listening on %s\n", address);
    rc = event_base_dispatch(base) < 0;
out:
    if (sigint != NULL)
        event_free(sigint);
    if (sigterm != NULL)
        event_free(sigterm);
    if (http != NULL)
        evhttp_free(http);
    if (base != NULL)
        event_base_free(base);
    return rc;
}
