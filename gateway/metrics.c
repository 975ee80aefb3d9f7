/* metrics.c: the metrics observer and the exposition (see metrics.h).
 *
 * A worker's tables are open-addressed, of fixed size: a slot is filled once (its names copied,
 * then `used` published with release order) and its counters are then written by that worker
 * only, with relaxed stores; the scrape reads `used` with acquire order and the counters relaxed.
 * The scrape gathers every worker's slots, sorts them by their labels and sums equal ones.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_views.h"
#include "alloc.h"
#include "clock.h"
#include "identity.h"
#include "partner.h"
#include "upstream_set.h"
#include "text.h"

#define SERIES 4096  /* (partner, route, status class, outcome) per worker */
#define ROUTES 1024  /* latency histograms per worker */
#define REASONS 64   /* handshake refusals by reason */
#define TFAILS 256   /* transform failures by route, chain and step */
#define NB 14        /* histogram buckets, +Inf aside */

static const double bounds[NB] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

typedef _Atomic uint64_t counter;

struct series {
    _Atomic int used;
    const char *partner, *route;     /* copies, set before used */
    int cls, outcome;                /* status / 100 (0: none), index into outcomes */
    counter requests, bytes_in, bytes_out;
};

struct hist {
    counter n, sum_us, b[NB];
};

struct route_hist {
    _Atomic int used;
    const char *route;
    struct hist total, upstream;
};

/* A count by up to three label values (the unused ones ""). */
struct tally {
    _Atomic int used;
    const char *k[3];
    counter n;
};

struct worker_tables {
    struct series s[SERIES];
    struct route_hist r[ROUTES];
    struct tally h[REASONS];
    struct tally f[TFAILS];
};

struct gw_metrics {
    int n;
    struct worker_tables **w;
};

/* Per exchange: its body bytes, and whether it was counted (finished comes once with complete
 * set at the most, and again without at the end of every exchange). */
struct ex_bytes {
    uint64_t in, out;
    int counted;
};

static inline void
bump(counter *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static inline uint64_t
read_c(const counter *c)
{
    return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

struct gw_metrics *
gw_metrics_new(int workers)
{
    struct gw_metrics *m = gw_xcalloc(1, sizeof *m);

    m->n = workers;
    m->w = gw_xcalloc((size_t)workers, sizeof *m->w);
    for (int i = 0; i < workers; i++)
        m->w[i] = gw_xcalloc(1, sizeof *m->w[i]);
    return m;
}

void
gw_metrics_free(struct gw_metrics *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->n; i++) {
        struct worker_tables *t = m->w[i];
        for (size_t j = 0; j < SERIES; j++) {
            free((char *)t->s[j].partner);
            free((char *)t->s[j].route);
        }
        for (size_t j = 0; j < ROUTES; j++)
            free((char *)t->r[j].route);
        for (size_t j = 0; j < REASONS; j++)
            for (int k = 0; k < 3; k++)
                free((char *)t->h[j].k[k]);
        for (size_t j = 0; j < TFAILS; j++)
            for (int k = 0; k < 3; k++)
                free((char *)t->f[j].k[k]);
        free(t);
    }
    free(m->w);
    free(m);
}

void *
gw_metrics_worker(struct gw_metrics *m, int i)
{
    return m->w[i];
}

/* ---- the observer (a worker's thread) ---- */

static size_t
mix(size_t h, size_t v)
{
    return (h ^ v) * 0x100000001b3ULL;
}

static struct series *
series_at(struct worker_tables *t, const char *partner, const char *route, int cls, int outcome)
{
    size_t h = mix(mix(gw_str_hash(partner) * 31 + gw_str_hash(route), (size_t)cls),
                   (size_t)outcome);

    for (size_t k = 0; k < 64; k++) {
        struct series *s = &t->s[(h + k) % SERIES];
        if (!atomic_load_explicit(&s->used, memory_order_relaxed)) {
            s->partner = gw_xstrdup(partner);
            s->route = gw_xstrdup(route);
            s->cls = cls;
            s->outcome = outcome;
            atomic_store_explicit(&s->used, 1, memory_order_release);
            return s;
        }
        if (s->cls == cls && s->outcome == outcome && strcmp(s->route, route) == 0 &&
            strcmp(s->partner, partner) == 0)
            return s;
    }
    return NULL;
}

static struct route_hist *
route_at(struct worker_tables *t, const char *route)
{
    size_t h = gw_str_hash(route);

    for (size_t k = 0; k < 64; k++) {
        struct route_hist *r = &t->r[(h + k) % ROUTES];
        if (!atomic_load_explicit(&r->used, memory_order_relaxed)) {
            r->route = gw_xstrdup(route);
            atomic_store_explicit(&r->used, 1, memory_order_release);
            return r;
        }
        if (strcmp(r->route, route) == 0)
            return r;
    }
    return NULL;
}

static void
observe(struct hist *h, int64_t us)
{
    double s = (double)us / 1e6;
    size_t i = 0;

    while (i < NB && s > bounds[i])
        i++;
    if (i < NB)
        bump(&h->b[i], 1); /* (per bucket here; cumulated at the scrape) */
    bump(&h->n, 1);
    bump(&h->sum_us, (uint64_t)(us > 0 ? us : 0));
}

static void *
m_worker_new(void *conf)
{
    return conf;
}

static void
m_received(struct gw_exchange *ex, void *state, void **data)
{
    struct ex_bytes *b = gw_arena_alloc(&ex->arena, sizeof *b);

    (void)state;
    b->in = b->out = 0;
    b->counted = 0;
    *data = b;
}

static void
m_body_in(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n)
{
    struct ex_bytes *b = data;

    (void)ex;
    (void)p;
    if (resp)
        b->out += n;
    else
        b->in += n;
}

/* Count one more of (a, b, c) in a worker's table of n tallies. */
static void
tally(struct tally *t, size_t n, const char *a, const char *b, const char *c)
{
    const char *k[3] = {a, b, c};
    size_t at = mix(mix(gw_str_hash(a), gw_str_hash(b)), gw_str_hash(c));

    for (size_t i = 0; i < n; i++) {
        struct tally *x = &t[(at + i) % n];
        if (!atomic_load_explicit(&x->used, memory_order_relaxed)) {
            for (int j = 0; j < 3; j++)
                x->k[j] = gw_xstrdup(k[j]);
            atomic_store_explicit(&x->used, 1, memory_order_release);
        } else if (strcmp(x->k[0], a) != 0 || strcmp(x->k[1], b) != 0 ||
                   strcmp(x->k[2], c) != 0) {
            continue;
        }
        bump(&x->n, 1);
        return;
    }
}

static void
m_finished(struct gw_exchange *ex, void *state, void *data, int complete)
{
    struct worker_tables *t = state;
    struct ex_bytes *b = data;
    const char *route = ex->route != NULL && ex->route->name != NULL ? ex->route->name : "";
    const char *partner = ex->partner != NULL ? ex->partner->id : "";
    struct series *s;
    struct route_hist *r;
    int64_t now = gw_mono_us();

    if (b == NULL || b->counted || ex->m_received == 0)
        return; /* (counted already, or no request began) */
    b->counted = 1;
    if (ex->tf_failed != NULL)
        tally(t->f, TFAILS, route, ex->tf_failed_resp ? "response" : "request", ex->tf_failed);
    if ((s = series_at(t, partner, route, ex->status / 100, (int)ex_outcome(ex, complete))) == NULL &&
        (s = series_at(t, "", "_other", ex->status / 100, (int)ex_outcome(ex, complete))) == NULL)
        return;
    bump(&s->requests, 1);
    bump(&s->bytes_in, b->in);
    bump(&s->bytes_out, b->out);
    if ((r = route_at(t, route)) == NULL && (r = route_at(t, "_other")) == NULL)
        return;
    observe(&r->total, now - ex->m_received);
    if (ex->m_forwarded != 0 && ex->m_up_head >= ex->m_forwarded)
        observe(&r->upstream, ex->m_up_head - ex->m_forwarded);
}

static void
m_handshake(const struct ex_handshake *h, void *state)
{
    struct worker_tables *t = state;

    tally(t->h, REASONS, h->reason != NULL ? h->reason : "unknown", "", "");
}

const struct ex_observer gw_metrics_observer = {
    .name = "metrics",
    .worker_new = m_worker_new,
    .received = m_received,
    .body_in = m_body_in,
    .finished = m_finished,
    .handshake = m_handshake,
};

/* ---- the scrape (the admin thread) ---- */

/* A label value, escaped as the exposition format says (\\, \", \n). */
static void
label(struct gw_buf *b, const char *name, const char *v, int first)
{
    if (!first)
        gw_buf_addc(b, ',');
    gw_buf_adds(b, name);
    gw_buf_add(b, "=\"", 2);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            gw_buf_addc(b, '\\');
        if (*v == '\n')
            gw_buf_adds(b, "\\n");
        else
            gw_buf_addc(b, *v);
    }
    gw_buf_addc(b, '"');
}

static void
head(struct gw_buf *b, const char *name, const char *type, const char *help)
{
    gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One series' values, summed over the workers. */
struct row {
    const char *partner, *route;
    int cls, outcome;
    uint64_t v[3];
};

static int
row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->route, y->route);

    if (c == 0)
        c = strcmp(x->partner, y->partner);
    if (c == 0)
        c = x->cls - y->cls;
    if (c == 0)
        c = x->outcome - y->outcome;
    return c;
}

static size_t
gather_series(const struct gw_metrics *m, struct row **out)
{
    struct row *rows = gw_xmalloc((size_t)m->n * SERIES * sizeof *rows);
    size_t n = 0, k = 0;

    for (int i = 0; i < m->n; i++)
        for (size_t j = 0; j < SERIES; j++) {
            const struct series *s = &m->w[i]->s[j];
            if (!atomic_load_explicit((_Atomic int *)&s->used, memory_order_acquire))
                continue;
            rows[n++] = (struct row){s->partner, s->route, s->cls, s->outcome,
                                     {read_c(&s->requests), read_c(&s->bytes_in),
                                      read_c(&s->bytes_out)}};
        }
    qsort(rows, n, sizeof *rows, row_cmp);
    for (size_t i = 0; i < n; i++) { /* the same labels in several workers: summed */
        if (k > 0 && row_cmp(&rows[k - 1], &rows[i]) == 0) {
            for (int v = 0; v < 3; v++)
                rows[k - 1].v[v] += rows[i].v[v];
        } else {
            rows[k++] = rows[i];
        }
    }
    *out = rows;
    return k;
}

static void
write_series(struct gw_buf *b, const struct row *rows, size_t n, int v, const char *name,
             const char *help)
{
    char cls[8];

    head(b, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        snprintf(cls, sizeof cls, rows[i].cls > 0 ? "%dxx" : "none", rows[i].cls);
        gw_buf_adds(b, name);
        gw_buf_addc(b, '{');
        label(b, "partner", rows[i].partner, 1);
        label(b, "route", rows[i].route, 0);
        label(b, "status_class", cls, 0);
        label(b, "outcome", ex_outcome_name((enum ex_outcome)rows[i].outcome), 0);
        gw_buf_printf(b, "} %llu\n", (unsigned long long)rows[i].v[v]);
    }
}

/* The histograms of one kind (0: the exchange's, 1: the upstream's), per route. */
static void
write_hists(struct gw_buf *b, const struct gw_metrics *m, int upstream, const char *name,
            const char *help)
{
    const char **routes = gw_xmalloc((size_t)m->n * ROUTES * sizeof *routes);
    size_t nr = 0;

    for (int i = 0; i < m->n; i++)
        for (size_t j = 0; j < ROUTES; j++) {
            const struct route_hist *r = &m->w[i]->r[j];
            if (!atomic_load_explicit((_Atomic int *)&r->used, memory_order_acquire))
                continue;
            size_t k = 0;
            while (k < nr && strcmp(routes[k], r->route) != 0)
                k++;
            if (k == nr)
                routes[nr++] = r->route;
        }
    head(b, name, "histogram", help);
    for (size_t k = 0; k < nr; k++) {
        uint64_t buckets[NB] = {0}, n = 0, sum = 0, cum = 0;
        for (int i = 0; i < m->n; i++)
            for (size_t j = 0; j < ROUTES; j++) {
                const struct route_hist *r = &m->w[i]->r[j];
                if (!atomic_load_explicit((_Atomic int *)&r->used, memory_order_acquire) ||
                    strcmp(r->route, routes[k]) != 0)
                    continue;
                const struct hist *h = upstream ? &r->upstream : &r->total;
                for (int x = 0; x < NB; x++)
                    buckets[x] += read_c(&h->b[x]);
                n += read_c(&h->n);
                sum += read_c(&h->sum_us);
            }
        for (int x = 0; x < NB; x++) {
            cum += buckets[x];
            gw_buf_printf(b, "%s_bucket{", name);
            label(b, "route", routes[k], 1);
            gw_buf_printf(b, ",le=\"%g\"} %llu\n", bounds[x], (unsigned long long)cum);
        }
        gw_buf_printf(b, "%s_bucket{", name);
        label(b, "route", routes[k], 1);
        gw_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)n);
        gw_buf_printf(b, "%s_sum{", name);
        label(b, "route", routes[k], 1);
        gw_buf_printf(b, "} %.6f\n", (double)sum / 1e6);
        gw_buf_printf(b, "%s_count{", name);
        label(b, "route", routes[k], 1);
        gw_buf_printf(b, "} %llu\n", (unsigned long long)n);
    }
    free(routes);
}

/* The tallies of every worker's table (at is the table's offset in struct worker_tables),
 * summed by their labels (names: the labels' names, NULL for those not used). */
static void
write_tallies(struct gw_buf *b, const struct gw_metrics *m, size_t at, size_t n,
              const char *name, const char *help, const char *const names[3])
{
    const struct tally **seen = gw_xmalloc((size_t)m->n * n * sizeof *seen);
    uint64_t *sum = gw_xcalloc((size_t)m->n * n, sizeof *sum);
    size_t ns = 0;

    for (int i = 0; i < m->n; i++)
        for (size_t j = 0; j < n; j++) {
            const struct tally *x = (const struct tally *)((const char *)m->w[i] + at) + j;
            size_t k = 0;
            if (!atomic_load_explicit((_Atomic int *)&x->used, memory_order_acquire))
                continue;
            while (k < ns && (strcmp(seen[k]->k[0], x->k[0]) != 0 ||
                              strcmp(seen[k]->k[1], x->k[1]) != 0 ||
                              strcmp(seen[k]->k[2], x->k[2]) != 0))
                k++;
            if (k == ns)
                seen[ns++] = x;
            sum[k] += read_c(&x->n);
        }
    head(b, name, "counter", help);
    for (size_t k = 0; k < ns; k++) {
        gw_buf_adds(b, name);
        gw_buf_addc(b, '{');
        for (int j = 0; j < 3 && names[j] != NULL; j++)
            label(b, names[j], seen[k]->k[j], j == 0);
        gw_buf_printf(b, "} %llu\n", (unsigned long long)sum[k]);
    }
    free(seen);
    free(sum);
}

void
gw_metrics_partner(const struct gw_metrics *m, const char *id, struct gw_buf *b)
{
    struct row *rows;
    size_t n = gather_series(m, &rows);
    uint64_t cls[6] = {0}, out[3] = {0}, bytes[2] = {0};

    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].partner, id) != 0)
            continue;
        cls[rows[i].cls >= 1 && rows[i].cls <= 5 ? rows[i].cls : 0] += rows[i].v[0];
        out[rows[i].outcome] += rows[i].v[0];
        bytes[0] += rows[i].v[1];
        bytes[1] += rows[i].v[2];
    }
    free(rows);
    gw_buf_printf(b, "{\"requests\":%llu,\"by_status_class\":{\"1xx\":%llu,\"2xx\":%llu,"
                  "\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"none\":%llu},\"by_outcome\":"
                  "{\"ok\":%llu,\"refused\":%llu,\"error\":%llu},\"request_body_bytes\":%llu,"
                  "\"response_body_bytes\":%llu}",
                  (unsigned long long)(out[0] + out[1] + out[2]), (unsigned long long)cls[1],
                  (unsigned long long)cls[2], (unsigned long long)cls[3],
                  (unsigned long long)cls[4], (unsigned long long)cls[5],
                  (unsigned long long)cls[0], (unsigned long long)out[0],
                  (unsigned long long)out[1], (unsigned long long)out[2],
                  (unsigned long long)bytes[0], (unsigned long long)bytes[1]);
}

/* ---- what the snapshot says: certificates, upstream targets ---- */

static void
cert_expiry(void *arg, const struct gw_cert_ref *c)
{
    struct gw_buf *b = arg;
    char *subject = pt_name_rfc2253(X509_get_subject_name(c->cert));

    gw_buf_adds(b, "portico_certificate_expiry_timestamp_seconds{");
    label(b, "kind", c->kind, 1);
    label(b, "owner", c->owner, 0);
    label(b, "name", c->name, 0);
    label(b, "subject", subject != NULL ? subject : "", 0);
    gw_buf_printf(b, "} %.0f\n", gw_cert_not_after(c->cert));
    free(subject);
}

struct target_metric {
    struct gw_buf *b;
    const char *name;
    int what; /* 0 healthy, 1 ejected, 2 ejections, 3 the set's retries */
};

static void
target_values(void *arg, const struct pt_upset *u, const char *owner)
{
    struct target_metric *t = arg;
    int64_t now_ms = gw_mono_us() / 1000;

    for (size_t i = 0; i < (t->what == 3 ? 1 : u->ntargets); i++) {
        const struct pt_target *x = &u->targets[i];
        uint64_t v = t->what == 0 ? (uint64_t)atomic_load_explicit(&x->healthy,
                                                                    memory_order_relaxed)
                   : t->what == 1 ? atomic_load_explicit(&x->out_until, memory_order_relaxed) >
                                        now_ms
                   : t->what == 2 ? atomic_load_explicit(&x->ejected_total, memory_order_relaxed)
                                  : atomic_load_explicit(&u->retry.retried_total,
                                                         memory_order_relaxed);
        gw_buf_adds(t->b, t->name);
        gw_buf_addc(t->b, '{');
        label(t->b, "set", u->name, 1);
        label(t->b, "owner", owner != NULL ? owner : "", 0);
        if (t->what != 3)
            label(t->b, "target", x->up.hostport, 0);
        gw_buf_printf(t->b, "} %llu\n", (unsigned long long)v);
    }
}

static void
write_snapshot(struct gw_buf *b, const struct pt_snapshot *s)
{
    static const struct {
        const char *name, *type, *help;
    } targets[] = {
        {"portico_upstream_target_healthy", "gauge",
         "1 when the target passes its health checks (or has none), else 0."},
        {"portico_upstream_target_ejected", "gauge",
         "1 while outlier ejection keeps the target out, else 0."},
        {"portico_upstream_target_ejections_total", "counter",
         "Outlier ejections of the target since its set was loaded."},
        {"portico_upstream_retries_total", "counter",
         "Retries on another target of the set since it was loaded."},
    };

    head(b, "portico_certificate_expiry_timestamp_seconds", "gauge",
         "When a certificate the configuration names expires (UTC): server, partner_ca, outbound, "
         "signing.");
    gw_certs_each(s, cert_expiry, b);
    for (int i = 0; i < 4; i++) {
        struct target_metric t = {b, targets[i].name, i};
        head(b, targets[i].name, targets[i].type, targets[i].help);
        gw_upsets_each(s, target_values, &t);
    }
}

/* A metric of one value, without labels. */
static void
single(struct gw_buf *b, const char *name, const char *type, const char *help, double v)
{
    head(b, name, type, help);
    gw_buf_printf(b, "%s %.17g\n", name, v);
}

void
gw_metrics_write(const struct gw_metrics *m, const struct gw_metrics_process *p,
                 struct gw_buf *b)
{
    struct row *rows;
    size_t n = gather_series(m, &rows);

    head(b, "portico_build_info", "gauge", "The running Portico's version (always 1).");
    gw_buf_adds(b, "portico_build_info{");
    label(b, "version", p->version, 1);
    gw_buf_adds(b, "} 1\n");
    head(b, "portico_config_info", "gauge", "The configuration version served (always 1).");
    gw_buf_adds(b, "portico_config_info{");
    label(b, "version", p->config_version, 1);
    gw_buf_adds(b, "} 1\n");
    single(b, "portico_config_loaded_timestamp_seconds", "gauge",
          "When the configuration served was loaded (UTC).", p->config_loaded);
    head(b, "portico_reloads_total", "counter", "Reloads asked for, by result.");
    gw_buf_printf(b, "portico_reloads_total{result=\"ok\"} %llu\n"
                  "portico_reloads_total{result=\"refused\"} %llu\n",
                  (unsigned long long)p->reloads_ok, (unsigned long long)p->reloads_refused);
    single(b, "process_start_time_seconds", "gauge", "When the process started (UTC).",
          p->started);
    single(b, "portico_ready", "gauge", "1 when the node takes traffic (health/ready), else 0.",
          p->ready);
    single(b, "portico_connections", "gauge", "Client connections open.",
          (double)p->connections);
    write_series(b, rows, n, 0, "portico_requests_total",
                 "Exchanges by partner, route, status class and outcome.");
    write_series(b, rows, n, 1, "portico_request_body_bytes_total",
                 "Request body bytes received, by the exchange's labels.");
    write_series(b, rows, n, 2, "portico_response_body_bytes_total",
                 "Response body bytes from the upstream, by the exchange's labels.");
    free(rows);
    write_hists(b, m, 0, "portico_request_duration_seconds",
                "Time from the first byte of a request to its answer, by route.");
    write_hists(b, m, 1, "portico_upstream_duration_seconds",
                "Time from the request sent upstream to the response head, by route.");
    head(b, "portico_tls_handshakes_total", "counter",
         "TLS handshakes completed with clients, full or resumed (a session ticket).");
    gw_buf_printf(b, "portico_tls_handshakes_total{resumed=\"false\"} %llu\n"
                  "portico_tls_handshakes_total{resumed=\"true\"} %llu\n",
                  (unsigned long long)p->tls_full, (unsigned long long)p->tls_resumed);
    write_tallies(b, m, offsetof(struct worker_tables, h), REASONS,
                  "portico_tls_handshakes_refused_total",
                  "TLS handshakes refused for a certificate reason, by reason.",
                  (const char *const[3]){"reason", NULL, NULL});
    write_tallies(b, m, offsetof(struct worker_tables, f), TFAILS,
                  "portico_transform_failures_total",
                  "Exchanges a transform step failed, by route, chain and step.",
                  (const char *const[3]){"route", "chain", "step"});
    if (p->snap != NULL)
        write_snapshot(b, p->snap);
    if (p->audit) {
        single(b, "portico_audit_events_written_total", "counter",
              "Audit events written to the node's log.", (double)p->audit_written);
        single(b, "portico_audit_events_shipped_total", "counter",
              "Audit events Kafka acknowledged.", (double)p->audit_shipped);
        single(b, "portico_audit_events_dropped_total", "counter",
              "Audit events dropped (the log full, when_full drop).", (double)p->audit_dropped);
        single(b, "portico_audit_log_bytes", "gauge",
              "Bytes of audit events in the log that Kafka has not acknowledged.",
              (double)p->audit_log_bytes);
        single(b, "portico_audit_oldest_unshipped_seconds", "gauge",
              "How long the oldest audit event Kafka has not acknowledged has waited (0: none).",
              p->audit_oldest);
    }
    if (p->cluster) {
        single(b, "portico_cluster_redis_up", "gauge",
               "1 when every worker reaches the cluster's Redis, 0 while one decides limits on "
               "its share.", p->redis_away ? 0.0 : 1.0);
        single(b, "portico_cluster_nodes", "gauge",
               "The live nodes last counted in Redis (a limit's local share divides by it).",
               (double)p->cluster_nodes);
        single(b, "portico_limits_local_decisions_total", "counter",
               "Requests whose rate and quotas the node decided alone, on its share (Redis away "
               "or late).", (double)p->limits_local);
    }
}
