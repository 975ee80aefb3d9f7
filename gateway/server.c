/* server.c: workers, listeners and signals (see server.h). */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access_log.h"
#include "admin.h"
#include "audit.h"
#include "cluster.h"
#include "consumer_store.h"
#include "control.h"
#include "exchange_observer.h"
#include "exchange.h"
#include "jsonw.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "snapshot_load.h"
#include "tls.h"

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct gw_accept_ctx *a = arg;

    (void)l;
    gw_conn_accept(a->w, a->index, fd, sa, salen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();

    (void)l;
    (void)arg;
    /* EMFILE and the like: log and go on; the listener keeps accepting when it can */
    gw_log(GW_LOG_ERROR, "accept: %s", strerror(err));
}

/* A listening socket for one worker: SO_REUSEPORT lets every worker have its own, and the kernel
 * spreads connections across them without a shared accept lock. */
static int
listen_socket(const struct gw_listener_conf *l)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (l->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* the largest accept queue the kernel allows (net.core.somaxconn truncates it): a burst of
     * connections waits there rather than losing SYNs to a retransmission a second later */
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 || listen(fd, INT_MAX) < 0)
        goto fail;
    return fd;
fail: {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

static void
close_listeners(struct gw_worker *w)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        if (w->listeners[i] != NULL) {
            evconnlistener_free(w->listeners[i]);
            w->listeners[i] = NULL;
        }
    }
}

static void
stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_worker *w = arg;

    (void)fd;
    (void)what;
    gw_log(GW_LOG_WARN, "%zu connections still busy after the grace period; closing", w->nconns);
    event_base_loopexit(w->base, NULL);
}

/* Tell the connectors the worker's snapshot changed (prev: the one before, still held). */
static void
snapshot_to_connectors(struct gw_worker *w, const struct pt_snapshot *prev)
{
    int n = w->snap->config->workers > 0 ? w->snap->config->workers : 1;

    for (size_t i = 0; cn_all[i] != NULL; i++)
        if (w->cn_state[i] != NULL && cn_all[i]->snapshot != NULL)
            cn_all[i]->snapshot(w->cn_state[i], w->snap, prev, w->id, n);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_worker *w = arg;
    struct pt_snapshot *next;
    uint64_t v;

    (void)what;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        gw_log(GW_LOG_ERROR, "eventfd: %s", strerror(errno));
    next = atomic_exchange(&w->next_snap, NULL);
    if (next != NULL) {
        struct pt_snapshot *prev = w->snap;
        w->snap = next;
        snapshot_to_connectors(w, prev);
        pt_snapshot_unref(prev);
    }
    if (atomic_load(&w->stopping)) {
        struct timeval tv = {GW_STOP_GRACE_MS / 1000, (GW_STOP_GRACE_MS % 1000) * 1000};
        close_listeners(w);
        gw_conn_close_idle(w);
        if (w->nconns == 0) {
            event_base_loopexit(w->base, NULL);
            return;
        }
        w->stop_timer = evtimer_new(w->base, stop_timer_cb, w);
        if (w->stop_timer != NULL)
            evtimer_add(w->stop_timer, &tv);
    }
}

/* Idle connections that shrank freed their bufferevents; give the pages back to the system once
 * a second rather than after each one. */
static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_worker *w = arg;

    (void)fd;
    (void)what;
    if (w->shrunk > 0) {
        w->shrunk = 0;
        malloc_trim(0);
    }
}

static void *
worker_main(void *arg)
{
    struct gw_worker *w = arg;
    char name[16];

    gw_log_worker = w->id;
    snprintf(name, sizeof name, "portico-w%d", w->id);
    pthread_setname_np(pthread_self(), name); /* top -H, perf and make bench tell the threads apart */
    snapshot_to_connectors(w, NULL);
    event_base_dispatch(w->base);
    gw_log(GW_LOG_INFO, "stopped after %llu requests", (unsigned long long)w->requests);
    while (!TAILQ_EMPTY(&w->conns))
        gw_conn_free(TAILQ_FIRST(&w->conns));
    return NULL;
}

static void
worker_free(struct gw_worker *w)
{
    close_listeners(w);
    free(w->listeners);
    free(w->accept_ctx);
    while (w->free_ex != NULL) {
        struct gw_exchange *ex = w->free_ex;
        w->free_ex = ex->next_free;
        gw_arena_free(&ex->arena);
        free(ex);
    }
    /* the worker's own events first: a connector may run the loop once more as it goes */
    if (w->notify_ev)
        event_free(w->notify_ev);
    if (w->stop_timer)
        event_free(w->stop_timer);
    if (w->trim_timer)
        event_free(w->trim_timer);
    for (size_t i = 0; cn_all[i] != NULL; i++)
        if (w->cn_state[i] != NULL && cn_all[i]->worker_free != NULL)
            cn_all[i]->worker_free(w->cn_state[i]);
    gw_limits_redis_free(w);
    for (size_t i = 0; i < w->nconn_blocks; i++)
        free(w->conn_blocks[i]);
    free(w->conn_blocks);
    if (w->notify_fd >= 0)
        close(w->notify_fd);
    gw_observers_free(&w->obs);
    pt_snapshot_unref(w->snap);
    pt_snapshot_unref(atomic_exchange(&w->next_snap, NULL));
    if (w->base)
        event_base_free(w->base);
}

/* libevent keeps a small record per file descriptor for as long as the loop lives, made the first
 * time the descriptor is watched. Made on the fly, they end up between the buffers of connections
 * and pin those pages after the connections shrink; made up front, they sit together. With the
 * epoll changelist an add and a delete in the same turn never reach the kernel. */
static void
presize_fd_map(struct event_base *base)
{
    struct rlimit rl;
    struct event ev;
    int nfds = 1024;

    /* as many as the process may open (raise_fd_limit() ran first), within reason */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        nfds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;

    for (int fd = 0; fd < nfds; fd++) {
        event_assign(&ev, base, fd, EV_READ, NULL, NULL);
        event_add(&ev, NULL);
        event_del(&ev);
    }
}

static int
worker_init(struct gw_worker *w, int id, struct pt_snapshot *snap, struct au_log *audit)
{
    const struct gw_config *c = snap->config;
    struct event_config *ec = event_config_new();

    memset(w, 0, sizeof *w);
    w->id = id;
    w->notify_fd = -1;
    if (audit != NULL && gw_observers_add(&w->obs, &au_exchange_observer, audit) < 0)
        return -1;
    TAILQ_INIT(&w->conns);
    w->snap = pt_snapshot_ref(snap);
    if (ec == NULL)
        return -1;
    /* one loop per thread, touched by no other thread: no locks */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    /* fold the enable/disable pairs of one loop turn into one epoll_ctl */
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (w->base == NULL)
        return -1;
    if (getrandom(w->rng, sizeof w->rng, 0) != sizeof w->rng)
        w->rng[0] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL + (uint64_t)id, w->rng[1] = ~0ULL;
    presize_fd_map(w->base);
    for (size_t i = 0; cn_all[i] != NULL; i++) {
        if (cn_all[i]->worker_new == NULL)
            continue;
        w->cn_state[i] = cn_all[i]->worker_new(w->base, c->limits.upstream_idle_per_host,
                                               c->timeouts.keepalive_ms);
        if (w->cn_state[i] == NULL)
            return -1;
    }
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->notify_fd < 0)
        return -1;
    w->notify_ev = event_new(w->base, w->notify_fd, EV_READ | EV_PERSIST, notify_cb, w);
    if (w->notify_ev == NULL || event_add(w->notify_ev, NULL) < 0)
        return -1;
    w->trim_timer = event_new(w->base, -1, EV_PERSIST, trim_cb, w);
    if (w->trim_timer == NULL || event_add(w->trim_timer, &(struct timeval){1, 0}) < 0)
        return -1;
    w->nlisteners = c->nlisteners;
    w->listeners = calloc(c->nlisteners, sizeof *w->listeners);
    w->accept_ctx = calloc(c->nlisteners, sizeof *w->accept_ctx);
    if (w->listeners == NULL || w->accept_ctx == NULL)
        return -1;
    for (size_t i = 0; i < c->nlisteners; i++) {
        const struct gw_listener_conf *l = &c->listeners[i];
        struct gw_accept_ctx *a;
        int fd = listen_socket(l);
        if (fd < 0) {
            gw_log(GW_LOG_ERROR, "cannot listen on %s: %s", l->address, strerror(errno));
            return -1;
        }
        a = &w->accept_ctx[i];
        a->w = w;
        a->index = i;
        /* backlog 0: the socket listens already; -1 would make libevent listen again with 128 */
        w->listeners[i] = evconnlistener_new(w->base, accept_cb, a, LEV_OPT_CLOSE_ON_FREE, 0, fd);
        if (w->listeners[i] == NULL) {
            close(fd);
            return -1;
        }
        evconnlistener_set_error_cb(w->listeners[i], accept_error_cb);
    }
    return 0;
}

void
gw_worker_wake(struct gw_worker *w)
{
    uint64_t one = 1;

    if (write(w->notify_fd, &one, sizeof one) < 0)
        gw_log(GW_LOG_ERROR, "worker %d: cannot wake it: %s", w->id, strerror(errno));
}

/* The delivery thread's observers (the audit's), made at start (connectors/delivery.h). */
static struct ex_observers delivery_obs;

/* Every connection is a descriptor (two when proxied): raise the soft limit to what the
 * configured connections need, as far as the hard limit allows (nginx's worker_rlimit_nofile). */
static void
raise_fd_limit(const struct gw_config *c)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)c->limits.max_connections * (rlim_t)(c->workers > 0 ? c->workers : 1) * 2 +
                  256;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        gw_log(GW_LOG_WARN, "cannot raise the open files limit to %llu: %s",
               (unsigned long long)rl.rlim_cur, strerror(errno));
    if (rl.rlim_cur < want)
        gw_log(GW_LOG_WARN,
               "open files limited to %llu (hard limit); max_connections %zu on %d workers "
               "would need %llu",
               (unsigned long long)rl.rlim_cur, c->limits.max_connections, c->workers,
               (unsigned long long)want);
}

int
gw_server_run(const char *config_path, struct pt_snapshot *snap)
{
    int n = snap->config->workers > 0 ? snap->config->workers : 1;
    struct gw_worker *workers = calloc((size_t)n, sizeof *workers);
    sigset_t set;
    int started = 0, rc = 0;
    struct au_log *audit = NULL;
    /* the metrics observer counts only when there is an admin listener to read them */
    struct gw_metrics *metrics = snap->config->admin.on ? gw_metrics_new(n) : NULL;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1); /* logrotate's: the access log is opened again */
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit the mask */
    if (workers == NULL)
        return 1;
    raise_fd_limit(snap->config);
    /* Large blocks (librdkafka's batches and their compressed copies, large bodies) come from the
     * heap and stay there when freed, instead of from new mappings given back at once: a page
     * touched for the first time costs a fault, and the audit's producer took one every few
     * events (BENCHMARKS.md, "Audit"). Setting both also stops glibc's own adjusting of them.
     * malloc_trim (trim_cb) still gives pages back after idle connections shrank. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    gw_tls_init_threads();
    if (snap->config->audit != NULL) {
        char err[512];
        audit = au_log_start(&snap->config->audit_conf, snap->config->node, err, sizeof err);
        if (audit == NULL) {
            gw_log(GW_LOG_CRIT, "audit: %s", err);
            rc = 1;
            goto out;
        }
        cn_kafka_use_embedded(au_log_brokers(audit)); /* kafka:// routes on "embedded" */
        if (gw_observers_add(&delivery_obs, &au_exchange_observer, audit) < 0) {
            gw_log(GW_LOG_CRIT, "audit: cannot make the delivery thread's observer");
            rc = 1;
            goto out;
        }
    }
    {
        char err[512];
        if (cn_kafka_outbox_open(snap, &snap->config->kafka, err, sizeof err) < 0 ||
            cn_delivery_open(&snap->config->delivery, snap, &snap->config->ex, &delivery_obs,
                             err, sizeof err) < 0 ||
            gw_idem_open(&snap->config->idem, snap, err, sizeof err) < 0 ||
            gw_cluster_start(&snap->config->redis, snap->config->node, err, sizeof err) < 0 ||
            gw_cstore_open(snap->config->api_keys.store_file, err, sizeof err) < 0 ||
            gw_access_log_open(&snap->config->access_log, err, sizeof err) < 0) {
            gw_log(GW_LOG_CRIT, "%s", err);
            rc = 1;
            goto out;
        }
    }
    /* the admin listener first: once a client port answers, so does the admin's (not ready yet) */
    {
        char err[512];
        if (gw_admin_start(&snap->config->admin, snap, workers, n, metrics, audit, err,
                           sizeof err) < 0) {
            gw_log(GW_LOG_CRIT, "%s", err);
            rc = 1;
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        if (worker_init(&workers[i], i, snap, audit) < 0 ||
            (metrics != NULL && gw_observers_add(&workers[i].obs, &gw_metrics_observer,
                                                 gw_metrics_worker(metrics, i)) < 0) ||
            gw_access_log_add(&workers[i].obs, workers[i].base) < 0) {
            rc = 1;
            goto out;
        }
    }
    for (size_t i = 0; i < snap->config->nlisteners; i++)
        gw_log(GW_LOG_INFO, "listening on %s (%s)", snap->config->listeners[i].address,
               !snap->config->listeners[i].tls ? "http"
               : snap->config->listeners[i].client_auth == GW_CLIENT_AUTH_REQUIRE
                   ? "https, client certificate required"
               : snap->config->listeners[i].client_auth == GW_CLIENT_AUTH_OPTIONAL
                   ? "https, client certificate optional"
                   : "https");
    for (int i = 0; i < n; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            rc = 1;
            break;
        }
        started++;
    }
    gw_log(GW_LOG_INFO, "portico %s serving: node %s, %d workers, configuration %s, %zu partners",
           PORTICO_VERSION, snap->config->node, n, snap->version, snap->npartners);
    gw_admin_ready(rc == 0 && started == n);
    if (rc == 0) {
        struct gw_control c = {.config_path = config_path, .workers = workers, .n = n,
                               .snap = snap, .audit = audit, .delivery_obs = &delivery_obs};
        gw_control_run(&c);
        snap = c.snap;
        gw_admin_ready(0); /* draining */
    }
out:
    for (int i = 0; i < started; i++) {
        atomic_store(&workers[i].stopping, 1);
        gw_worker_wake(&workers[i]);
    }
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    gw_control_close();  /* an admin request waiting for the loop gets its answer */
    gw_admin_stop(); /* (it reads the workers) */
    for (int i = 0; i < n; i++)
        worker_free(&workers[i]);
    free(workers);
    gw_metrics_free(metrics);
    gw_access_log_close(); /* (the workers' observers wrote out what they held) */
    gw_idem_close();
    cn_delivery_close(GW_AUDIT_FLUSH_MS);     /* before the outbox: its dead letters go there */
    gw_observers_free(&delivery_obs);
    cn_kafka_outbox_close(GW_AUDIT_FLUSH_MS); /* before the audit: its broker may be the one */
    au_log_stop(audit, GW_AUDIT_FLUSH_MS);
    gw_cluster_stop(); /* (before the snapshot whose configuration it reads) */
    pt_snapshot_unref(snap);
    gw_cstore_close();
    gw_limits_free_all();
    gw_log(GW_LOG_INFO, "stopped");
    return rc;
}
