/* admin.c: the admin listener (see admin.h). */
#include "admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin_consumers.h"
#include "admin_views.h"
#include "audit.h"
#include "jsonw.h"
#include "limiter.h"
#include "buf.h"
#include "clock.h"
#include "cluster.h"
#include "conf_table.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "text.h"
#include "tls.h"
#include "worker.h"

static struct {
    pthread_mutex_t lock;     /* the fields the main thread changes */
    struct pt_snapshot *snap;
    double loaded;            /* UTC seconds */
    uint64_t reloads_ok, reloads_refused;
    int ready;
    /* set once at start */
    double started;
    struct gw_worker *workers;
    int n;
    struct gw_metrics *metrics;
    struct au_log *audit;
    struct pt_snapshot *first; /* the one the admin section (restart-only) was read from */
    const struct gw_admin_conf *conf;
    SSL_CTX *tls;              /* NULL: plain HTTP */
    struct event_base *base;
    struct evhttp *http;
    int stop_fd;              /* eventfd: the main thread writes to stop the loop */
    struct event *stop_ev;
    pthread_t thread;
    int running;
} A = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_fd = -1};

static double
utc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- answers ---- */

static void
send_text(struct evhttp_request *req, int status, const char *type, const char *body, size_t n)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evbuffer_add(out, body, n);
    evhttp_send_reply(req, status, NULL, NULL);
}

static void
problem(struct evhttp_request *req, int status, const char *code, const char *detail)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"type\":\"urn:portico:problem:%s\",\"status\":%d,"
                     "\"detail\":\"%s\"}", code, status, detail);

    send_text(req, status, "application/problem+json", body, (size_t)n);
}

static uint64_t
connections(void)
{
    uint64_t n = 0;

    for (int i = 0; i < A.n; i++)
        n += __atomic_load_n(&A.workers[i].nconns, __ATOMIC_RELAXED);
    return n;
}

static void
status(struct evhttp_request *req)
{
    struct gw_buf b = {0};
    struct au_stats st = {0};
    struct pt_snapshot *s;
    double loaded;

    pthread_mutex_lock(&A.lock);
    s = pt_snapshot_ref(A.snap);
    loaded = A.loaded;
    pthread_mutex_unlock(&A.lock);
    if (A.audit != NULL)
        au_log_stats(A.audit, &st);
    gw_buf_adds(&b, "{\"node\":");
    gw_json_str(&b, s->config->node, strlen(s->config->node), 0);
    gw_buf_printf(&b, ",\"version\":\"%s\",\"config\":{\"version\":\"%s\",\"loaded_at\":%.3f},"
                  "\"uptime_seconds\":%.3f,\"workers\":%d,\"connections\":%llu,"
                  "\"partners\":%zu,\"routes\":%zu",
                  PORTICO_VERSION, s->version, loaded, utc_now() - A.started, A.n,
                  (unsigned long long)connections(), s->npartners, s->nroutes);
    if (A.audit != NULL)
        gw_buf_printf(&b, ",\"audit\":{\"events_written\":%llu,\"events_shipped\":%llu,"
                      "\"events_dropped\":%llu,\"log_bytes_waiting\":%llu,"
                      "\"oldest_unshipped_seconds\":%.3f}",
                      (unsigned long long)st.appended, (unsigned long long)st.shipped,
                      (unsigned long long)st.dropped, (unsigned long long)st.wal_bytes,
                      (double)st.oldest_ms / 1000.0);
    else
        gw_buf_adds(&b, ",\"audit\":null");
    gw_buf_addc(&b, '}');
    pt_snapshot_unref(s);
    send_text(req, 200, "application/json", b.p, b.len);
    gw_buf_free(&b);
}

static void
metrics(struct evhttp_request *req)
{
    struct gw_metrics_process p = {.version = PORTICO_VERSION, .started = A.started};
    struct au_stats st = {0};
    struct gw_buf b = {0};
    struct pt_snapshot *s;

    pthread_mutex_lock(&A.lock);
    s = pt_snapshot_ref(A.snap);
    p.config_loaded = A.loaded;
    p.reloads_ok = A.reloads_ok;
    p.reloads_refused = A.reloads_refused;
    p.ready = A.ready;
    pthread_mutex_unlock(&A.lock);
    p.config_version = s->version;
    p.snap = s;
    p.connections = connections();
    for (int i = 0; i < A.n; i++) {
        p.tls_full += __atomic_load_n(&A.workers[i].tls_done[0], __ATOMIC_RELAXED);
        p.tls_resumed += __atomic_load_n(&A.workers[i].tls_done[1], __ATOMIC_RELAXED);
    }
    if (A.audit != NULL) {
        au_log_stats(A.audit, &st);
        p.audit = 1;
        p.audit_written = st.appended;
        p.audit_shipped = st.shipped;
        p.audit_dropped = st.dropped;
        p.audit_log_bytes = st.wal_bytes;
        p.audit_oldest = (double)st.oldest_ms / 1000.0;
    }
    if ((p.cluster = gw_cluster_on())) {
        gw_limits_redis_stats(&p.limits_local, &p.redis_away);
        p.cluster_nodes = gw_cluster_nodes();
    }
    gw_metrics_write(A.metrics, &p, &b);
    pt_snapshot_unref(s);
    send_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    gw_buf_free(&b);
}

/* GET /partners, /partners/{id}, /routes, /upstreams: the snapshot served now. */
static void
view(struct evhttp_request *req, const char *path)
{
    struct gw_buf b = {0};
    struct pt_snapshot *s;
    int found = 1;

    pthread_mutex_lock(&A.lock);
    s = pt_snapshot_ref(A.snap);
    pthread_mutex_unlock(&A.lock);
    if (strcmp(path, "/partners") == 0) {
        gw_view_partners(s, &b);
    } else if (strcmp(path, "/routes") == 0) {
        gw_view_routes(s, &b);
    } else if (strcmp(path, "/upstreams") == 0) {
        gw_view_upstreams(s, &b);
    } else if ((found = gw_view_partner(s, path + 10, &b) == 0)) {
        gw_buf_adds(&b, ",\"counters\":");
        if (A.metrics != NULL)
            gw_metrics_partner(A.metrics, path + 10, &b);
        else
            gw_buf_adds(&b, "null");
        gw_buf_addc(&b, '}');
    }
    pt_snapshot_unref(s);
    if (found)
        send_text(req, 200, "application/json", b.p, b.len);
    else
        problem(req, 404, "not-found", "no such partner");
    gw_buf_free(&b);
}

/* POST /reload: the main thread reloads (control.h) and says how it went. */
static void
reload(struct evhttp_request *req, const struct gw_admin_caller *caller)
{
    struct gw_reload_result r = {0};
    struct gw_buf b = {0};

    if (gw_control_reload(caller, &r) < 0) {
        problem(req, 503, "stopping", "the node is stopping");
        return;
    }
    if (r.accepted) {
        gw_buf_printf(&b, "{\"accepted\":true,\"changed\":%s,\"config\":{\"version\":\"%s\","
                      "\"previous\":\"%s\"},\"problems\":", r.changed ? "true" : "false",
                      r.after, r.before);
        au_buf_strings(&b, (const char *const *)r.problems, r.nproblems);
        gw_buf_addc(&b, '}');
        send_text(req, 200, "application/json", b.p, b.len);
    } else {
        gw_buf_printf(&b, "{\"type\":\"urn:portico:problem:configuration-refused\",\"status\":422,"
                      "\"title\":\"configuration refused\",\"detail\":\"the configuration was "
                      "refused whole; the node still serves configuration %s\",\"accepted\":false,"
                      "\"config\":{\"version\":\"%s\"},\"problems\":", r.before, r.before);
        au_buf_strings(&b, (const char *const *)r.problems, r.nproblems);
        gw_buf_addc(&b, '}');
        send_text(req, 422, "application/problem+json", b.p, b.len);
    }
    gw_buf_free(&b);
    gw_reload_result_free(&r);
}

/* The caller of a request: its address and, on TLS, its certificate (into cert: the caller
 * frees its subject and issuer) and admin name. Returns 0, or -1 when it is no admin's. */
static int
caller_of(struct evhttp_request *req, struct gw_admin_caller *c, char *addr, size_t addrlen,
          struct ex_cert *cert)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = A.tls != NULL && bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    struct gw_tls_peer none = {0};
    const char *host = NULL;
    ev_uint16_t port = 0;

    memset(c, 0, sizeof *c);
    c->received_us = gw_wall_us();
    if (conn != NULL)
        evhttp_connection_get_peer(conn, (char **)&host, &port);
    snprintf(addr, addrlen, "%s", host != NULL ? host : "");
    c->addr = addr;
    c->port = port;
    if (A.tls == NULL) {
        c->who = "loopback";
        return 0;
    }
    c->cert = ssl != NULL ? gw_tls_cert_words(ssl, &none, cert) : NULL;
    c->who = ssl != NULL ? gw_admin_identify(A.conf, ssl) : NULL;
    return c->who != NULL ? 0 : -1;
}

/* /consumers...: admin_consumers.c, on the snapshot served now. */
static void
consumers(struct evhttp_request *req, const char *path, enum evhttp_cmd_type cmd,
          const struct gw_admin_caller *caller)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    struct gw_admin_answer a;
    struct pt_snapshot *s;
    const char *method = cmd == EVHTTP_REQ_GET ? "GET" : cmd == EVHTTP_REQ_POST ? "POST"
                       : cmd == EVHTTP_REQ_DELETE ? "DELETE" : "OTHER";

    if (n > 65536) {
        problem(req, 413, "body-too-large", "an admin request body holds at most 64 KiB");
        return;
    }
    pthread_mutex_lock(&A.lock);
    s = pt_snapshot_ref(A.snap);
    pthread_mutex_unlock(&A.lock);
    gw_admin_consumers(s, A.audit, caller, method, path, (const char *)evbuffer_pullup(in, -1), n,
                       &a);
    pt_snapshot_unref(s);
    if (a.allow != NULL)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", a.allow);
    send_text(req, a.status, a.status >= 400 ? "application/problem+json" : "application/json",
              a.body.p != NULL ? a.body.p : "", a.body.len);
    gw_buf_free(&a.body);
}

static void
serve(struct evhttp_request *req, const char *path, enum evhttp_cmd_type cmd,
      const struct gw_admin_caller *caller)
{
    int ready;

    if (strcmp(path, "/consumers") == 0 || strncmp(path, "/consumers/", 11) == 0) {
        consumers(req, path, cmd, caller);
        return;
    }
    if (strcmp(path, "/reload") == 0) {
        if (cmd == EVHTTP_REQ_POST) {
            reload(req, caller);
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            problem(req, 405, "method-not-allowed", "POST /reload reloads the configuration");
        }
        return;
    }
    if (cmd != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        problem(req, 405, "method-not-allowed", "the admin API answers GET here");
        return;
    }
    if (strcmp(path, "/partners") == 0 || strcmp(path, "/routes") == 0 ||
        strcmp(path, "/upstreams") == 0 || strncmp(path, "/partners/", 10) == 0) {
        view(req, path);
    } else if (strcmp(path, "/health/live") == 0) {
        send_text(req, 200, "application/json", "{\"status\":\"live\"}", 17);
    } else if (strcmp(path, "/health/ready") == 0) {
        pthread_mutex_lock(&A.lock);
        ready = A.ready;
        pthread_mutex_unlock(&A.lock);
        if (ready)
            send_text(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
        else
            send_text(req, 503, "application/json", "{\"status\":\"not ready\"}", 22);
    } else if (strcmp(path, "/status") == 0) {
        status(req);
    } else if (strcmp(path, "/metrics") == 0) {
        metrics(req);
    } else {
        problem(req, 404, "not-found", "no such admin resource (health/live, health/ready, "
                "status, metrics, partners, partners/{id}, routes, upstreams, reload, consumers)");
    }
}

static void
route_cb(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct gw_admin_caller caller;
    struct ex_cert cert = {0};
    char addr[64];

    (void)arg;
    if (caller_of(req, &caller, addr, sizeof addr, &cert) < 0) {
        gw_log(GW_LOG_WARN, "admin: %s:%d refused: certificate \"%s\" is no admin's", addr,
               caller.port, cert.subject != NULL ? cert.subject : "");
        problem(req, 403, "not-an-admin", "this client certificate is no admin's");
    } else {
        serve(req, path != NULL ? path : "/", cmd, &caller);
    }
    free(cert.subject);
    free(cert.issuer);
}

/* ---- the thread ---- */

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(A.base);
}

/* Each connection of a TLS admin listener: a TLS filter over its socket. */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(A.tls);

    (void)arg;
    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void *
admin_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "portico-admin");
    event_base_dispatch(A.base);
    return NULL;
}

static int
listen_on(const struct gw_admin_conf *conf, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    if (gw_parse_address(conf->address, &ss, &len, err, errlen) < 0)
        return -1;
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "admin: cannot listen on %s: %s", conf->address, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int
gw_admin_start(const struct gw_admin_conf *conf, struct pt_snapshot *snap,
               struct gw_worker *workers, int n, struct gw_metrics *m, struct au_log *audit,
               char *err, size_t errlen)
{
    int fd;

    if (!conf->on)
        return 0;
    if ((fd = listen_on(conf, err, errlen)) < 0)
        return -1;
    if (conf->cert != NULL && (A.tls = gw_admin_tls_ctx(conf, err, errlen)) == NULL) {
        close(fd);
        return -1;
    }
    A.first = pt_snapshot_ref(snap);
    A.conf = conf;
    A.started = utc_now();
    A.workers = workers;
    A.n = n;
    A.metrics = m;
    A.audit = audit;
    gw_admin_snapshot(snap);
    if ((A.base = event_base_new()) == NULL || (A.http = evhttp_new(A.base)) == NULL ||
        evhttp_accept_socket(A.http, fd) < 0 ||
        (A.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        (A.stop_ev = event_new(A.base, A.stop_fd, EV_READ, stop_cb, NULL)) == NULL ||
        event_add(A.stop_ev, NULL) < 0) {
        snprintf(err, errlen, "admin: cannot start its HTTP server");
        close(fd);
        gw_admin_stop();
        return -1;
    }
    evhttp_set_gencb(A.http, route_cb, NULL);
    if (A.tls != NULL)
        evhttp_set_bevcb(A.http, tls_bev, NULL);
    evhttp_set_timeout(A.http, 10);
    evhttp_set_max_headers_size(A.http, 16384);
    evhttp_set_max_body_size(A.http, 1 << 20);
    if (pthread_create(&A.thread, NULL, admin_main, NULL) != 0) {
        snprintf(err, errlen, "admin: cannot start its thread");
        gw_admin_stop();
        return -1;
    }
    A.running = 1;
    gw_log(GW_LOG_INFO, "admin API on %s (%s)", conf->address,
           A.tls != NULL ? "https, admin client certificates" : "http, loopback");
    return 0;
}

void
gw_admin_snapshot(struct pt_snapshot *snap)
{
    struct pt_snapshot *old;

    pthread_mutex_lock(&A.lock);
    old = A.snap;
    A.snap = pt_snapshot_ref(snap);
    A.loaded = utc_now();
    pthread_mutex_unlock(&A.lock);
    pt_snapshot_unref(old);
}

void
gw_admin_reloaded(int ok)
{
    pthread_mutex_lock(&A.lock);
    if (ok)
        A.reloads_ok++;
    else
        A.reloads_refused++;
    pthread_mutex_unlock(&A.lock);
}

void
gw_admin_ready(int ready)
{
    pthread_mutex_lock(&A.lock);
    A.ready = ready;
    pthread_mutex_unlock(&A.lock);
}

void
gw_admin_stop(void)
{
    uint64_t one = 1;

    if (A.running) {
        if (write(A.stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
            gw_log(GW_LOG_WARN, "admin: cannot wake its thread to stop");
        pthread_join(A.thread, NULL);
        A.running = 0;
    }
    if (A.stop_ev != NULL)
        event_free(A.stop_ev);
    if (A.stop_fd >= 0)
        close(A.stop_fd);
    A.stop_ev = NULL;
    A.stop_fd = -1;
    if (A.http != NULL)
        evhttp_free(A.http);
    if (A.base != NULL)
        event_base_free(A.base);
    A.http = NULL;
    A.base = NULL;
    pthread_mutex_lock(&A.lock);
    pt_snapshot_unref(A.snap);
    A.snap = NULL;
    pthread_mutex_unlock(&A.lock);
    SSL_CTX_free(A.tls);
    A.tls = NULL;
    A.conf = NULL;
    pt_snapshot_unref(A.first);
    A.first = NULL;
}
