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
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "audit.h"
#include "buf.h"
#include "conf_table.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "text.h"
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

/* ---- settings ---- */

static int
loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return ss->ss_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int
gw_admin_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_admin_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct gw_admin_conf, address, "127.0.0.1:9901") },
        GW_KEY_END,
    };
    struct sockaddr_storage ss;
    socklen_t len;
    char err[256];
    int bad;

    if (obj == NULL)
        return 0;
    bad = gw_conf_read(c, obj, "admin", keys, out, NULL);
    if (out->address != NULL && gw_parse_address(out->address, &ss, &len, err, sizeof err) < 0) {
        gw_jctx_error(c, "admin.address", "%s", err);
        bad++;
    } else if (out->address != NULL && !loopback(&ss)) {
        gw_jctx_error(c, "admin.address", "\"%s\" is not a loopback address: off loopback the "
                      "admin API needs TLS with client certificates, which this version does "
                      "not have yet (reach it through an SSH tunnel meanwhile)", out->address);
        bad++;
    }
    out->on = bad == 0;
    return bad;
}

void
gw_admin_conf_free(struct gw_admin_conf *a)
{
    free(a->address);
    memset(a, 0, sizeof *a);
}

int
gw_admin_conf_same(const struct gw_admin_conf *a, const struct gw_admin_conf *b)
{
    return a->on == b->on && ((a->address == NULL && b->address == NULL) ||
                              (a->address != NULL && b->address != NULL &&
                               strcmp(a->address, b->address) == 0));
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
                      "\"events_dropped\":%llu,\"log_bytes_waiting\":%llu}",
                      (unsigned long long)st.appended, (unsigned long long)st.shipped,
                      (unsigned long long)st.dropped, (unsigned long long)st.wal_bytes);
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
    p.connections = connections();
    if (A.audit != NULL) {
        au_log_stats(A.audit, &st);
        p.audit = 1;
        p.audit_written = st.appended;
        p.audit_shipped = st.shipped;
        p.audit_dropped = st.dropped;
        p.audit_log_bytes = st.wal_bytes;
    }
    gw_metrics_write(A.metrics, &p, &b);
    pt_snapshot_unref(s);
    send_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    gw_buf_free(&b);
}

static void
route_cb(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    int ready;

    (void)arg;
    if (path == NULL)
        path = "/";
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        problem(req, 405, "method-not-allowed", "the admin API answers GET here");
        return;
    }
    if (strcmp(path, "/health/live") == 0) {
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
                "status, metrics)");
    }
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
    evhttp_set_timeout(A.http, 10);
    evhttp_set_max_headers_size(A.http, 16384);
    evhttp_set_max_body_size(A.http, 1 << 20);
    if (pthread_create(&A.thread, NULL, admin_main, NULL) != 0) {
        snprintf(err, errlen, "admin: cannot start its thread");
        gw_admin_stop();
        return -1;
    }
    A.running = 1;
    gw_log(GW_LOG_INFO, "admin API on %s (http, loopback)", conf->address);
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
}
