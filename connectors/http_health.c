/* http_health.c: the active health checks of upstream sets (see http_health.h). */
#include "http_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "bundle.h"
#include "http_parser.h"
#include "log.h"
#include "resolve.h"
#include "upstream_set.h"

#define HC_MAX_READ (64 * 1024) /* what of an answer is read: its head and its body's start */

struct hc_set;
struct hc_lookup;

/* One target's checks. */
struct hc_probe {
    struct hc_set *hs;
    size_t i;                      /* the target's index in the set */
    struct bufferevent *bev;       /* the check under way, or NULL */
    struct gw_http_parser hp;
    struct gw_http_message *resp;  /* (allocated with the check) */
    size_t head_len;               /* 0: the head is not read yet */
    unsigned passes, failures;     /* in a row */
    struct hc_lookup *lookup;      /* its name's lookup under way, or NULL */
    int lookup_failed;             /* the last one failed (told once) */
};

/* A lookup under way: it outlives its probe when the checks stop first (evdns calls back later,
 * even when cancelled), and then only frees itself. */
struct hc_lookup {
    struct hc_probe *p;            /* NULL: the checks stopped */
    struct cn_dns *dns;
    struct evdns_getaddrinfo_request *req;
};

struct hc_set {
    struct cn_checks *owner;
    struct pt_upset *set;
    struct event *tick;            /* the health checks' (NULL: none) */
    struct event *resolve_tick;    /* the names' lookups (NULL: no named target) */
    struct hc_probe *probes;
};

struct cn_dns {
    struct evdns_base *base;
    struct event_base *loop;
    char *ns;                      /* the nameservers it asks, joined ("": the system's) */
    size_t pending;                /* lookups that have not called back */
};

struct cn_checks {
    struct cn_pool *pool;
    struct cn_dns **dnsp;          /* the worker's resolver, made when a set first needs it */
    const struct pt_snapshot *snap;
    struct cn_dns *dns;            /* (NULL: not yet, or it cannot be made) */
    struct hc_set *sets;
    size_t n;
};

static void
probe_close(struct hc_probe *p)
{
    if (p->bev != NULL)
        bufferevent_free(p->bev);
    p->bev = NULL;
    free(p->resp);
    p->resp = NULL;
}

/* The check of p ended: a pass or a failure (why: for the log when the verdict changes). */
static void
probe_done(struct hc_probe *p, int pass, const char *why)
{
    struct pt_upset *s = p->hs->set;
    const struct pt_health *h = &s->health;
    struct pt_target *t = &s->targets[p->i];
    int healthy = atomic_load_explicit(&t->healthy, memory_order_relaxed);

    probe_close(p);
    if (pass) {
        p->failures = 0;
        if (++p->passes < h->healthy_threshold)
            return;
        if (!healthy)
            gw_log(GW_LOG_WARN, "upstream set \"%s\": target %s is healthy again", s->name,
                   t->up.hostport);
        pt_upset_set_health(s, p->i, 1);
        return;
    }
    p->passes = 0;
    if (++p->failures >= h->unhealthy_threshold && healthy) {
        gw_log(GW_LOG_WARN, "upstream set \"%s\": target %s is unhealthy (%s); it gets no "
               "exchanges until its checks pass", s->name, t->up.hostport, why);
        pt_upset_set_health(s, p->i, 0);
    }
}

/* Read the answer: returns 1 (pass), 0 (failure) when decided, -1 for more bytes. at_end: the
 * connection ended, nothing more comes. */
static int
verdict(struct hc_probe *p, struct evbuffer *in, int at_end, const char **why)
{
    const struct pt_upset *s = p->hs->set;
    const struct gw_http_limits hl = {.max_head_bytes = HC_MAX_READ,
                                      .max_headers = GW_HTTP_MAX_HEADERS,
                                      .max_target_bytes = HC_MAX_READ};
    size_t len = evbuffer_get_length(in);
    const char *data = (const char *)evbuffer_pullup(in, -1);

    while (p->head_len == 0) {
        size_t head_len = 0;
        int rc = gw_http_parse_response(&p->hp, data, len, &hl, (enum gw_http_method)s->health.method,
                                        p->resp, &head_len);
        if (rc == GW_HTTP_AGAIN && !at_end && len < HC_MAX_READ)
            return -1;
        if (rc != GW_HTTP_OK) {
            *why = rc == GW_HTTP_AGAIN ? "no complete answer" : "a malformed answer";
            return 0;
        }
        if (p->resp->status < 200) { /* an interim answer */
            evbuffer_drain(in, head_len);
            data = (const char *)evbuffer_pullup(in, -1);
            len = evbuffer_get_length(in);
            gw_http_parser_init(&p->hp);
            continue;
        }
        p->head_len = head_len;
    }
    /* the body is read when its text is looked for: to its end, or as far as the limit */
    if (s->health.body_contains != NULL && !at_end && len < HC_MAX_READ &&
        !(p->resp->body == GW_BODY_LENGTH && len >= p->head_len + p->resp->content_length) &&
        p->resp->body != GW_BODY_NONE)
        return -1;
    if (!pt_upset_health_ok(s, p->resp->status, data + p->head_len, len - p->head_len)) {
        *why = "its answer does not pass the check";
        return 0;
    }
    return 1;
}

static void
probe_read_cb(struct bufferevent *bev, void *arg)
{
    struct hc_probe *p = arg;
    const char *why = NULL;
    int v = verdict(p, bufferevent_get_input(bev), 0, &why);

    if (v >= 0)
        probe_done(p, v, why);
}

static void
probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct hc_probe *p = arg;
    const char *why = "connection failed";
    int v;

    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_TIMEOUT) {
        probe_done(p, 0, "timed out");
        return;
    }
    if (what & BEV_EVENT_EOF && evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
        (v = verdict(p, bufferevent_get_input(bev), 1, &why)) >= 0) {
        probe_done(p, v, why);
        return;
    }
    if (what & BEV_EVENT_ERROR && EVUTIL_SOCKET_ERROR() != 0)
        why = strerror(EVUTIL_SOCKET_ERROR());
    probe_done(p, 0, why);
}

static void
probe_start(struct hc_probe *p)
{
    const struct pt_upset *s = p->hs->set;
    const struct pt_health *h = &s->health;
    const struct pt_upstream *up = &s->targets[p->i].up;
    struct timeval tv = {h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000};

    if (p->bev != NULL) /* still under way a whole interval on */
        probe_done(p, 0, "timed out");
    if ((p->resp = calloc(1, sizeof *p->resp)) == NULL ||
        (p->bev = cn_pool_connect(p->hs->owner->pool, up)) == NULL) {
        probe_done(p, 0, strerror(errno));
        return;
    }
    gw_http_parser_init(&p->hp);
    p->head_len = 0;
    bufferevent_setcb(p->bev, probe_read_cb, NULL, probe_event_cb, p);
    bufferevent_set_timeouts(p->bev, &tv, &tv);
    evbuffer_add_printf(bufferevent_get_output(p->bev),
                        "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: portico-health\r\n"
                        "Accept: */*\r\nConnection: close\r\n\r\n",
                        gw_http_method_name((enum gw_http_method)h->method), h->path, up->hostport);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hc_set *hs = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < hs->set->ntargets; i++)
        probe_start(&hs->probes[i]);
}

/* ---- the targets' names ---- */

static void
looked_up(int err, struct evutil_addrinfo *res, void *arg)
{
    struct hc_lookup *l = arg;
    struct hc_probe *p = l->p;
    const struct evutil_addrinfo *a = gw_dns_first(err == 0 ? res : NULL);

    if (p != NULL) {
        struct pt_upset *s = p->hs->set;
        struct pt_upstream *up = &s->targets[p->i].up;
        struct sockaddr_storage was;
        socklen_t len;
        char ip[INET6_ADDRSTRLEN];
        p->lookup = NULL;
        if (a == NULL) {
            if (!p->lookup_failed)
                gw_log(GW_LOG_WARN, "upstream set \"%s\": cannot look up %s again (%s); it keeps "
                       "the address it had", s->name, up->host,
                       err != 0 ? evutil_gai_strerror(err) : "no address");
            p->lookup_failed = 1;
        } else {
            p->lookup_failed = 0;
            pt_upstream_addr(up, &was, &len);
            if (len != a->ai_addrlen || memcmp(&was, a->ai_addr, len) != 0) {
                pt_upstream_set_addr(up, a->ai_addr, (socklen_t)a->ai_addrlen);
                gw_addr_text(a->ai_addr, ip, sizeof ip);
                gw_log(GW_LOG_INFO, "upstream set \"%s\": %s is at %s now", s->name, up->host, ip);
            }
        }
    }
    if (res != NULL)
        evutil_freeaddrinfo(res);
    l->dns->pending--;
    free(l);
}

static void
resolve_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hc_set *hs = arg;
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char port[8];

    (void)fd;
    (void)what;
    for (size_t i = 0; i < hs->set->ntargets; i++) {
        struct hc_probe *p = &hs->probes[i];
        const struct pt_target *t = &hs->set->targets[i];
        struct hc_lookup *l;
        if (!t->named || p->lookup != NULL || (l = calloc(1, sizeof *l)) == NULL)
            continue;
        l->p = p;
        l->dns = hs->owner->dns;
        l->dns->pending++;
        p->lookup = l;
        snprintf(port, sizeof port, "%u", t->up.port);
        /* (it may answer at once, from /etc/hosts: then l is gone on return) */
        struct evdns_getaddrinfo_request *req =
            evdns_getaddrinfo(hs->owner->dns->base, t->up.host, port, &hints, looked_up, l);
        if (req != NULL)
            l->req = req;
    }
}

/* The nameservers of snap, joined ("": the system's). */
static char *
joined(const struct pt_snapshot *snap)
{
    size_t n = 1;
    char *s;

    for (size_t i = 0; i < snap->nnameservers; i++)
        n += strlen(snap->nameservers[i]) + 1;
    if ((s = calloc(1, n)) == NULL)
        return NULL;
    for (size_t i = 0; i < snap->nnameservers; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, snap->nameservers[i]);
    }
    return s;
}

/* The worker's resolver, asking snap's nameservers: made, or told of new ones. */
static struct cn_dns *
dns_for(struct cn_dns **dp, struct event_base *base, const struct pt_snapshot *snap)
{
    struct cn_dns *d = *dp;
    char *ns = joined(snap);

    if (ns == NULL)
        return NULL;
    if (d != NULL && strcmp(d->ns, ns) == 0) {
        free(ns);
        return d;
    }
    if (d == NULL) {
        if ((d = calloc(1, sizeof *d)) == NULL ||
            (d->base = gw_dns_new(base, snap->nameservers, snap->nnameservers)) == NULL) {
            free(d);
            free(ns);
            return NULL;
        }
        d->loop = base;
        *dp = d;
    } else if (gw_dns_reconfigure(d->base, snap->nameservers, snap->nnameservers) < 0) {
        gw_log(GW_LOG_ERROR, "the resolver cannot take the new nameservers; it keeps %s",
               d->ns[0] ? d->ns : "the system's");
        free(ns);
        return d;
    }
    free(d->ns);
    d->ns = ns;
    return d;
}

void
cn_dns_free(struct cn_dns *d)
{
    if (d == NULL)
        return;
    /* lookups cancelled when the checks stopped call back from the loop, later: let them, so
     * that nothing of theirs is left (the worker's other events are gone by now) */
    for (int i = 0; i < 100 && d->pending > 0; i++)
        event_base_loop(d->loop, EVLOOP_NONBLOCK);
    evdns_base_free(d->base, 0);
    free(d->ns);
    free(d);
}

/* ---- the sets ---- */

/* The set of prev that is s's earlier self: the same name, of the same bundle (owner) or of
 * portico.json (NULL). */
static const struct pt_upset *
earlier(const struct pt_snapshot *prev, const struct pt_partner *owner, const char *name)
{
    const struct pt_partner *p;

    if (prev == NULL)
        return NULL;
    if (owner == NULL)
        return pt_upset_find(prev->upsets, prev->nupsets, name);
    p = pt_snapshot_partner(prev, owner->id);
    return p != NULL ? pt_upset_find(p->upsets, p->nupsets, name) : NULL;
}

/* The verdicts of the targets s had before (the same URL) carry over. */
static void
carry_over(struct pt_upset *s, const struct pt_upset *was)
{
    for (size_t i = 0; was != NULL && i < s->ntargets; i++)
        for (size_t j = 0; j < was->ntargets; j++)
            if (strcmp(s->targets[i].up.url, was->targets[j].up.url) == 0)
                atomic_store(&s->targets[i].healthy, atomic_load(&was->targets[j].healthy));
}

/* Does the set have a target known by name? */
static int
has_names(const struct pt_upset *s)
{
    for (size_t i = 0; i < s->ntargets; i++)
        if (s->targets[i].named)
            return 1;
    return 0;
}

static struct event *
every(struct event_base *base, int64_t ms, event_callback_fn fn, void *arg)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    struct event *ev = event_new(base, -1, EV_PERSIST, fn, arg);

    if (ev != NULL && event_add(ev, &tv) < 0) {
        event_free(ev);
        ev = NULL;
    }
    return ev;
}

static void
set_stop(struct hc_set *hs)
{
    for (size_t j = 0; hs->probes != NULL && j < hs->set->ntargets; j++) {
        struct hc_probe *p = &hs->probes[j];
        probe_close(p);
        if (p->lookup != NULL) { /* it frees itself when evdns calls back */
            p->lookup->p = NULL;
            if (p->lookup->req != NULL)
                evdns_getaddrinfo_cancel(p->lookup->req);
        }
    }
    if (hs->tick != NULL)
        event_free(hs->tick);
    if (hs->resolve_tick != NULL)
        event_free(hs->resolve_tick);
    free(hs->probes);
}

static int
set_start(struct cn_checks *c, struct pt_upset *s, const struct pt_upset *was)
{
    struct hc_set *hs = &c->sets[c->n];
    struct event_base *base = cn_pool_base(c->pool);

    hs->owner = c;
    hs->set = s;
    if ((hs->probes = calloc(s->ntargets, sizeof *hs->probes)) == NULL ||
        (s->health.on && (hs->tick = every(base, s->health.interval_ms, tick_cb, hs)) == NULL) ||
        (has_names(s) && (c->dns != NULL || (c->dns = dns_for(c->dnsp, base, c->snap)) != NULL) &&
         (hs->resolve_tick = every(base, s->resolve_ms, resolve_tick_cb, hs)) == NULL)) {
        set_stop(hs);
        memset(hs, 0, sizeof *hs);
        return -1;
    }
    for (size_t i = 0; i < s->ntargets; i++) {
        hs->probes[i].hs = hs;
        hs->probes[i].i = i;
    }
    carry_over(s, was);
    c->n++;
    if (hs->tick != NULL)
        event_active(hs->tick, EV_TIMEOUT, 0); /* the first checks now */
    return 0;
}

/* Start the checks of sets[0..n) (of owner's bundle, or portico.json's) that fall to this worker;
 * *k counts the sets with checks dealt so far. */
static void
deal(struct cn_checks *c, struct pt_upset **sets, size_t n, const struct pt_partner *owner,
     const struct pt_snapshot *prev, size_t *k, int worker, int nworkers)
{
    for (size_t i = 0; i < n; i++) {
        if (!sets[i]->health.on && !has_names(sets[i]))
            continue;
        if ((*k)++ % (size_t)nworkers == (size_t)worker &&
            set_start(c, sets[i], earlier(prev, owner, sets[i]->name)) < 0)
            gw_log(GW_LOG_ERROR, "upstream set \"%s\": cannot start its health checks or look "
                   "its names up again (out of memory)", sets[i]->name);
    }
}

struct cn_checks *
cn_checks_start(struct cn_pool *pool, struct cn_dns **dns, struct pt_snapshot *snap,
                const struct pt_snapshot *prev, int worker, int nworkers)
{
    size_t total = snap->nupsets, k = 0;
    struct cn_checks *c;

    for (size_t i = 0; i < snap->npartners; i++)
        total += snap->partners[i]->nupsets;
    if (total == 0 || (c = calloc(1, sizeof *c)) == NULL)
        return NULL;
    if ((c->sets = calloc(total, sizeof *c->sets)) == NULL) {
        free(c);
        return NULL;
    }
    c->pool = pool;
    c->dnsp = dns;
    c->snap = snap;
    deal(c, snap->upsets, snap->nupsets, NULL, prev, &k, worker, nworkers);
    for (size_t i = 0; i < snap->npartners; i++)
        deal(c, snap->partners[i]->upsets, snap->partners[i]->nupsets, snap->partners[i], prev, &k,
             worker, nworkers);
    if (c->n == 0) {
        cn_checks_stop(c);
        return NULL;
    }
    return c;
}

void
cn_checks_stop(struct cn_checks *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        set_stop(&c->sets[i]);
    free(c->sets);
    free(c);
}
