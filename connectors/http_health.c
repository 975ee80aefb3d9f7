/* http_health.c: the active health checks of upstream sets (see http_health.h). */
#include "http_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http_parser.h"
#include "log.h"
#include "upstream_set.h"

#define HC_MAX_READ (64 * 1024) /* what of an answer is read: its head and its body's start */

struct hc_set;

/* One target's checks. */
struct hc_probe {
    struct hc_set *hs;
    size_t i;                      /* the target's index in the set */
    struct bufferevent *bev;       /* the check under way, or NULL */
    struct gw_http_parser hp;
    struct gw_http_message *resp;  /* (allocated with the check) */
    size_t head_len;               /* 0: the head is not read yet */
    unsigned passes, failures;     /* in a row */
};

struct hc_set {
    struct cn_checks *owner;
    struct pt_upset *set;
    struct event *tick;
    struct hc_probe *probes;
};

struct cn_checks {
    struct cn_pool *pool;
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

static int
set_start(struct cn_checks *c, struct pt_upset *s, const struct pt_upset *was)
{
    struct hc_set *hs = &c->sets[c->n];
    struct timeval tv = {s->health.interval_ms / 1000, (s->health.interval_ms % 1000) * 1000};

    hs->owner = c;
    hs->set = s;
    hs->probes = calloc(s->ntargets, sizeof *hs->probes);
    hs->tick = event_new(cn_pool_base(c->pool), -1, EV_PERSIST, tick_cb, hs);
    if (hs->probes == NULL || hs->tick == NULL || event_add(hs->tick, &tv) < 0) {
        free(hs->probes);
        if (hs->tick != NULL)
            event_free(hs->tick);
        return -1;
    }
    for (size_t i = 0; i < s->ntargets; i++) {
        hs->probes[i].hs = hs;
        hs->probes[i].i = i;
    }
    carry_over(s, was);
    c->n++;
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
        if (!sets[i]->health.on)
            continue;
        if ((*k)++ % (size_t)nworkers == (size_t)worker &&
            set_start(c, sets[i], earlier(prev, owner, sets[i]->name)) < 0)
            gw_log(GW_LOG_ERROR, "upstream set \"%s\": cannot start its health checks (out of "
                   "memory)", sets[i]->name);
    }
}

struct cn_checks *
cn_checks_start(struct cn_pool *pool, struct pt_snapshot *snap, const struct pt_snapshot *prev,
                int worker, int nworkers)
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
    for (size_t i = 0; i < c->n; i++) {
        struct hc_set *hs = &c->sets[i];
        for (size_t j = 0; j < hs->set->ntargets; j++)
            probe_close(&hs->probes[j]);
        event_free(hs->tick);
        free(hs->probes);
    }
    free(c->sets);
    free(c);
}
