/* control.c: the main thread's loop: signals, the configuration watch, the admin API's reloads
 * (see control.h). */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "admin.h"
#include "access_log.h"
#include "admin_event.h"
#include "clock.h"
#include "config_watch.h"
#include "config.h"
#include "log.h"
#include "snapshot_load.h"
#include "worker.h"

/* The admin thread's request, handed to the main thread. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int wake_fd;                         /* eventfd: a request waits */
    const struct gw_admin_caller *caller;/* the one waiting, or NULL */
    struct gw_reload_result *out;
    int done;
    int running, closed;                 /* the loop serves requests; it is over */
} Q = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER, .wake_fd = -1};

void
gw_reload_result_free(struct gw_reload_result *r)
{
    for (size_t i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    r->problems = NULL;
    r->nproblems = 0;
}

static void
add_problem(struct gw_reload_result *r, const char *level, const char *text)
{
    char **p = realloc(r->problems, (r->nproblems + 1) * sizeof *p);
    char *s = NULL;

    if (p == NULL)
        return;
    r->problems = p;
    if (asprintf(&s, "%s: %s", level, text) >= 0)
        r->problems[r->nproblems++] = s;
}

/* The listeners are bound once at start; a reload may change everything else. */
static int
same_listeners(const struct gw_config *a, const struct gw_config *b)
{
    if (a->nlisteners != b->nlisteners || a->workers != b->workers)
        return 0;
    for (size_t i = 0; i < a->nlisteners; i++)
        if (a->listeners[i].addrlen != b->listeners[i].addrlen ||
            memcmp(&a->listeners[i].addr, &b->listeners[i].addr, a->listeners[i].addrlen) != 0 ||
            a->listeners[i].tls != b->listeners[i].tls)
            return 0;
    return 1;
}

static int
same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The section of the configuration that only a restart may change and that next changes, or
 * NULL when there is none. */
static const char *
restart_only(const struct gw_config *cur, const struct gw_config *next)
{
    if (!au_conf_same(&cur->audit_conf, &next->audit_conf))
        return "the audit section";
    if (!gw_admin_conf_same(&cur->admin, &next->admin))
        return "the admin section";
    if (!gw_idem_conf_same(&cur->idem, &next->idem))
        return "the idempotency section";
    if (!cn_delivery_conf_same(&cur->delivery, &next->delivery))
        return "connectors.delivery";
    if (!cn_kafka_conf_same(&cur->kafka, &next->kafka))
        return "connectors.kafka";
    if (!gw_access_log_conf_same(&cur->access_log, &next->access_log))
        return "the access_log section";
    if (!same_listeners(cur, next))
        return "listeners or workers";
    if (!same_text(cur->redis.text, next->redis.text))
        return "cluster.redis";
    if (!same_text(cur->api_keys.store_file, next->api_keys.store_file))
        return "api_keys.store_file";
    return NULL;
}

/* Load the configuration again and hand it to the workers, or refuse it whole. */
static void
reload(struct gw_control *c, struct gw_reload_result *r)
{
    struct gw_diag d = {0};
    struct pt_snapshot *next = gw_snapshot_load(c->config_path, &d);
    const char *what;
    char err[512];

    memset(r, 0, sizeof *r);
    snprintf(r->before, sizeof r->before, "%s", c->snap->version);
    for (size_t i = 0; i < d.n; i++) {
        int error = d.items[i].level == GW_DIAG_ERROR;
        gw_log(error ? GW_LOG_ERROR : GW_LOG_WARN, "reload: %s", d.items[i].text);
        add_problem(r, error ? "error" : "warning", d.items[i].text);
    }
    gw_diag_free(&d);
    if (next == NULL) {
        gw_log(GW_LOG_ERROR, "reload refused; still serving configuration %s", r->before);
        return;
    }
    if ((what = restart_only(c->snap->config, next->config)) != NULL) {
        snprintf(err, sizeof err, "%s changed (a restart applies it)", what);
        goto refuse;
    }
    if (strcmp(next->version, c->snap->version) == 0) { /* nothing to hand over */
        r->accepted = 1;
        snprintf(r->after, sizeof r->after, "%s", next->version);
        gw_log(GW_LOG_INFO, "reload: configuration %s unchanged", next->version);
        pt_snapshot_unref(next);
        return;
    }
    if (cn_kafka_outbox_open(next, &next->config->kafka, err, sizeof err) < 0 ||
        cn_delivery_open(&next->config->delivery, next, &next->config->ex, c->delivery_obs, err,
                         sizeof err) < 0 ||
        gw_idem_open(&next->config->idem, next, err, sizeof err) < 0)
        goto refuse;
    for (int i = 0; i < c->n; i++) {
        pt_snapshot_unref(atomic_exchange(&c->workers[i].next_snap, pt_snapshot_ref(next)));
        gw_worker_wake(&c->workers[i]);
    }
    gw_log_set_format(next->config->log_format);
    gw_log(GW_LOG_INFO, "reloaded: configuration %s (%zu partners, %zu routes)", next->version,
           next->npartners, next->nroutes);
    pt_snapshot_unref(c->snap);
    c->snap = next;
    r->accepted = r->changed = 1;
    snprintf(r->after, sizeof r->after, "%s", next->version);
    gw_admin_snapshot(next);
    return;
refuse:
    gw_log(GW_LOG_ERROR, "reload refused: %s", err);
    add_problem(r, "error", err);
    pt_snapshot_unref(next);
}

/* The configuration watch (the main thread's): NULL when off; when its debounce ends (monotonic
 * µs), -1 when nothing was seen. */
static struct gw_watch *watch;
static int64_t due = -1;

static void
debounce(const struct pt_snapshot *s)
{
    due = gw_mono_us() + (int64_t)s->config->reload.debounce_ms * 1000;
}

/* A watch when the configuration asks for one and none runs, none when it does not; one that
 * runs follows what the configuration is made of now (a folder that joined it is looked at
 * again once quiet: what was written there before may not have been seen). */
static void
watch_follow(const struct pt_snapshot *s)
{
    if (s->config->reload.watch && watch == NULL) {
        watch = gw_watch_new(s);
    } else if (!s->config->reload.watch && watch != NULL) {
        gw_watch_free(watch);
        watch = NULL;
    } else if (watch != NULL && gw_watch_follow(watch, s)) {
        debounce(s);
    }
}

/* Reload, count it, audit it, and let the watch follow. */
static void
reload_audited(struct gw_control *c, const char *via, const struct gw_admin_caller *caller,
               struct gw_reload_result *r)
{
    struct au_admin a = {.action = "reload", .via = via};
    struct au_admin_from from = {0};
    uint64_t asked = caller != NULL ? caller->received_us : gw_wall_us();

    reload(c, r);
    gw_admin_reloaded(r->accepted);
    a.who = caller != NULL ? caller->who : strcmp(via, "watch") == 0 ? "watch" : "SIGHUP";
    a.before = r->before;
    a.after = r->accepted ? r->after : NULL;
    a.accepted = r->accepted;
    a.problems = (const char *const *)r->problems;
    a.nproblems = r->nproblems;
    from.received_us = asked;
    if (caller != NULL) {
        from.addr = caller->addr;
        from.port = caller->port;
        from.cert = caller->cert;
        from.method = "POST";
        from.path = "/reload";
        from.status = r->accepted ? 200 : 422;
    }
    if (au_log_admin(c->audit, c->snap->config->node, c->snap->version, &a, &from) < 0)
        gw_log(GW_LOG_ERROR, "audit: the event of this reload could not be written");
    watch_follow(c->snap);
}

int
gw_control_reload(const struct gw_admin_caller *caller, struct gw_reload_result *out)
{
    uint64_t one = 1;
    int rc = -1;

    pthread_mutex_lock(&Q.lock);
    while (!Q.running && !Q.closed) /* asked before the loop started (the workers start first) */
        pthread_cond_wait(&Q.done_cv, &Q.lock);
    if (!Q.closed && Q.wake_fd >= 0) {
        Q.caller = caller;
        Q.out = out;
        Q.done = 0;
        if (write(Q.wake_fd, &one, sizeof one) == (ssize_t)sizeof one) {
            while (!Q.done && !Q.closed)
                pthread_cond_wait(&Q.done_cv, &Q.lock);
            rc = Q.done ? 0 : -1;
        }
        Q.caller = NULL;
        Q.out = NULL;
    }
    pthread_mutex_unlock(&Q.lock);
    return rc;
}

/* The admin thread's request, if one waits. */
static void
serve_request(struct gw_control *c)
{
    uint64_t v;

    if (read(Q.wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&Q.lock);
    if (Q.caller != NULL && !Q.done) {
        reload_audited(c, "api", Q.caller, Q.out);
        Q.done = 1;
        pthread_cond_broadcast(&Q.done_cv);
    }
    pthread_mutex_unlock(&Q.lock);
}



void
gw_control_close(void)
{
    pthread_mutex_lock(&Q.lock);
    Q.closed = 1;
    Q.running = 0;
    pthread_cond_broadcast(&Q.done_cv);
    if (Q.wake_fd >= 0)
        close(Q.wake_fd);
    Q.wake_fd = -1;
    pthread_mutex_unlock(&Q.lock);
}

int
gw_control_run(struct gw_control *c)
{
    sigset_t set;
    int sfd, sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
        (Q.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        gw_log(GW_LOG_CRIT, "cannot wait for signals: %s", strerror(errno));
        if (sfd >= 0)
            close(sfd);
        return SIGTERM;
    }
    watch_follow(c->snap);
    pthread_mutex_lock(&Q.lock);
    Q.running = 1;
    pthread_cond_broadcast(&Q.done_cv);
    pthread_mutex_unlock(&Q.lock);
    while (sig != SIGINT && sig != SIGTERM) {
        struct pollfd p[3] = {{.fd = sfd, .events = POLLIN}, {.fd = Q.wake_fd, .events = POLLIN},
                              {.fd = watch != NULL ? gw_watch_fd(watch) : -1, .events = POLLIN}};
        int64_t now = gw_mono_us();
        int timeout = due < 0 ? -1 : due <= now ? 0 : (int)((due - now + 999) / 1000);
        struct signalfd_siginfo si;
        struct gw_reload_result r;

        if (poll(p, 3, timeout) < 0 && errno != EINTR) {
            gw_log(GW_LOG_CRIT, "poll: %s", strerror(errno));
            sig = SIGTERM;
            break;
        }
        if (p[1].revents & POLLIN)
            serve_request(c);
        if (p[2].revents & POLLIN && gw_watch_changed(watch))
            debounce(c->snap);
        if (due >= 0 && gw_mono_us() >= due) {
            due = -1;
            gw_log(GW_LOG_INFO, "watch: a configuration file changed; reloading");
            reload_audited(c, "watch", NULL, &r);
            gw_reload_result_free(&r);
        }
        if (!(p[0].revents & POLLIN) || read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
            continue;
        sig = (int)si.ssi_signo;
        if (sig == SIGHUP) {
            reload_audited(c, "signal", NULL, &r);
            gw_reload_result_free(&r);
        } else if (sig == SIGUSR1) {
            gw_access_log_reopen();
        }
    }
    gw_log(GW_LOG_INFO, "%s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
    gw_control_close();
    gw_watch_free(watch);
    watch = NULL;
    close(sfd);
    return sig;
}
