/* report.c: see report.h. */
#include "report.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- times --- */

/* Exactly n digits at *p, as a number; advances *p. Returns 0 or -1. */
static int
digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, counting in eras of 400
 * years (146097 days) from 0000-03-01 so that February comes last in each year. */
static int64_t
days_since_epoch(int y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" at *p, checked against the calendar; advances *p. */
static int
parse_date(const char **p, int64_t *days)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (digits(p, 4, &y) < 0 || *(*p)++ != '-' || digits(p, 2, &m) < 0 || *(*p)++ != '-' ||
        digits(p, 2, &d) < 0)
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
        return -1;
    *days = days_since_epoch(y, m, d);
    return 0;
}

/* "HH:MM:SS[.frac]" then "Z" or "+HH:MM" / "-HH:MM", to the end of the string: ms in the day,
 * the offset already taken away. */
static int
parse_clock(const char *p, int64_t *ms)
{
    int h, mi, s, oh, om, frac = 0, scale = 100, sign;

    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        digits(&p, 2, &s) < 0 || h > 23 || mi > 59 || s > 60)
        return -1;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    *ms = ((int64_t)h * 3600 + mi * 60 + s) * 1000 + frac;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '+' ? 1 : -1;
    if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || *p != '\0' || oh > 23 ||
        om > 59)
        return -1;
    *ms -= sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    return 0;
}

int
au_time_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    int64_t days, clock = 0;

    if (s == NULL || parse_date(&p, &days) < 0)
        return -1;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        if (parse_clock(p + 1, &clock) < 0)
            return -1;
    }
    *ms = days * 86400000 + clock;
    return 0;
}

int
au_time_arg(const char *s, int64_t now_ms, int64_t *ms)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    char *end;
    long long n;

    if (au_time_parse(s, ms) == 0)
        return 0;
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    n = strtoll(s, &end, 10);
    if (n <= 0 || end[0] == '\0' || end[1] != '\0')
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].unit != end[0])
            continue;
        if (n > INT64_MAX / 4 / units[i].ms) /* far beyond any topic: refused, not overflowed */
            return -1;
        *ms = now_ms - n * units[i].ms;
        return 0;
    }
    return -1;
}

void
au_time_format(int64_t ms, char *out, size_t outlen)
{
    int64_t days = ms / 86400000 - (ms % 86400000 < 0); /* rounded down, even before 1970 */
    int64_t rest = ms - days * 86400000;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(out, outlen, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(rest / 3600000),
             (long long)(rest / 60000 % 60), (long long)(rest / 1000 % 60),
             (long long)(rest % 1000));
}

/* --- percentiles and filters --- */

int64_t
au_percentile(const int64_t *sorted, size_t n, unsigned pct)
{
    size_t rank;

    if (n == 0)
        return 0;
    if (pct > 100)
        pct = 100;
    /* in integers: a double's 0.95 * 20 is a hair above 19 and would round up to 20 */
    rank = (size_t)(((uint64_t)pct * n + 99) / 100);
    return sorted[rank > 0 ? rank - 1 : 0];
}

void
au_filter_init(struct au_filter *f)
{
    *f = (struct au_filter){.since_ms = INT64_MIN, .until_ms = INT64_MAX};
}

int
au_filter_status(struct au_filter *f, const char *s)
{
    int n;

    if (s[0] >= '1' && s[0] <= '5' && strcmp(s + 1, "xx") == 0) {
        f->status_min = (s[0] - '0') * 100;
        f->status_max = f->status_min + 99;
        return 0;
    }
    if (digits(&s, 3, &n) < 0 || *s != '\0' || n < 100)
        return -1;
    f->status_min = f->status_max = n;
    return 0;
}

/* A string member equal to want; "-" stands for null. */
static int
str_is(const json_t *ev, const char *name, const char *want)
{
    const json_t *j = json_object_get(ev, name);

    if (want == NULL)
        return 1;
    if (json_is_null(j))
        return strcmp(want, "-") == 0;
    return json_is_string(j) && strcmp(json_string_value(j), want) == 0;
}

/* time.received in ms, or -1 when the event has none that parses. */
static int
received_ms(const json_t *ev, int64_t *ms)
{
    const json_t *t = json_object_get(json_object_get(ev, "time"), "received");

    return au_time_parse(json_string_value(t), ms);
}

int
au_filter_match(const struct au_filter *f, const json_t *ev)
{
    const json_t *st;
    int64_t t;

    if (!str_is(ev, "partner", f->partner) || !str_is(ev, "route", f->route) ||
        (f->outcome != NULL && !str_is(ev, "outcome", f->outcome)))
        return 0;
    if (f->status_max != 0) {
        st = json_object_get(ev, "status");
        if (!json_is_integer(st) || json_integer_value(st) < f->status_min ||
            json_integer_value(st) > f->status_max)
            return 0;
    }
    if (f->since_ms == INT64_MIN && f->until_ms == INT64_MAX)
        return 1;
    return received_ms(ev, &t) == 0 && t >= f->since_ms && t < f->until_ms;
}

/* --- the report --- */

struct group {
    char *partner, *route; /* NULL for null */
    uint64_t count, ok, refused, error;
    uint64_t req_bytes, resp_bytes;
    int64_t *lat;
    size_t nlat, caplat;
};

struct au_report {
    json_t *index; /* key (see group_key) -> index in g */
    struct group *g;
    size_t n, cap;
};

struct au_report *
au_report_new(void)
{
    struct au_report *r = calloc(1, sizeof *r);

    if (r != NULL && (r->index = json_object()) == NULL) {
        free(r);
        r = NULL;
    }
    return r;
}

void
au_report_free(struct au_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->g[i].partner);
        free(r->g[i].route);
        free(r->g[i].lat);
    }
    free(r->g);
    json_decref(r->index);
    free(r);
}

/* A string member, or NULL when it is not a string. */
static const char *
str_of(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* One key per (partner, route) that no other pair spells: each part is "-" for null or its
 * length, ':' and itself. */
static char *
group_key(const char *partner, const char *route)
{
    char *k = NULL;

    if (asprintf(&k, "%zd:%s%zd:%s", partner ? (ssize_t)strlen(partner) : (ssize_t)-1,
                 partner ? partner : "", route ? (ssize_t)strlen(route) : (ssize_t)-1,
                 route ? route : "") < 0)
        return NULL;
    return k;
}

/* The group of (partner, route), added when new; NULL when out of memory. */
static struct group *
group_of(struct au_report *r, const char *partner, const char *route)
{
    char *key = group_key(partner, route);
    struct group *g = NULL, *gs;
    json_t *j;

    if (key == NULL)
        return NULL;
    if ((j = json_object_get(r->index, key)) != NULL) {
        g = &r->g[json_integer_value(j)];
        goto out;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if ((gs = reallocarray(r->g, cap, sizeof *gs)) == NULL)
            goto out;
        r->g = gs;
        r->cap = cap;
    }
    g = &r->g[r->n];
    *g = (struct group){.partner = partner ? strdup(partner) : NULL,
                        .route = route ? strdup(route) : NULL};
    if ((partner != NULL && g->partner == NULL) || (route != NULL && g->route == NULL) ||
        json_object_set_new(r->index, key, json_integer((json_int_t)r->n)) < 0) {
        free(g->partner);
        free(g->route);
        g = NULL;
        goto out;
    }
    r->n++;

out:
    free(key);
    return g;
}

static uint64_t
bytes_of(const json_t *ev, const char *side, const char *name)
{
    json_int_t n = json_integer_value(json_object_get(json_object_get(ev, side), name));

    return n > 0 ? (uint64_t)n : 0;
}

int
au_report_add(struct au_report *r, const json_t *ev)
{
    struct group *g = group_of(r, str_of(ev, "partner"), str_of(ev, "route"));
    const char *outcome = str_of(ev, "outcome");
    int64_t *lat;

    if (g == NULL)
        return -1;
    if (g->nlat == g->caplat) {
        size_t cap = g->caplat ? g->caplat * 2 : 64;
        if ((lat = reallocarray(g->lat, cap, sizeof *lat)) == NULL)
            return -1;
        g->lat = lat;
        g->caplat = cap;
    }
    g->lat[g->nlat++] = json_integer_value(json_object_get(ev, "latency_us"));
    g->count++;
    if (outcome != NULL && strcmp(outcome, "ok") == 0)
        g->ok++;
    else if (outcome != NULL && strcmp(outcome, "refused") == 0)
        g->refused++;
    else if (outcome != NULL && strcmp(outcome, "error") == 0)
        g->error++;
    g->req_bytes += bytes_of(ev, "request", "bytes");
    g->resp_bytes += bytes_of(ev, "response", "bytes_out");
    return 0;
}

static int
i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* n / count, rounded to 4 decimals; 0 when count is 0. */
static double
rate(uint64_t n, uint64_t count)
{
    return count ? round((double)n / (double)count * 10000) / 10000 : 0.0;
}

/* g as a JSON object (its latencies sorted in place), with partner and route first when
 * with_names. NULL when out of memory. Refusals and errors have a rate each: a partner that
 * sends what the gateway refuses is not the gateway or the upstream failing. */
static json_t *
group_json(struct group *g, int with_names)
{
    json_t *o = with_names ? json_pack("{s:s?,s:s?}", "partner", g->partner, "route", g->route)
                           : json_object();

    qsort(g->lat, g->nlat, sizeof *g->lat, i64_cmp);
    if (o == NULL || json_object_update_new(
                         o, json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:{s:f,s:f,s:f},s:I,s:I}", "count",
                                      (json_int_t)g->count, "ok", (json_int_t)g->ok, "refused",
                                      (json_int_t)g->refused, "error", (json_int_t)g->error,
                                      "refused_rate", rate(g->refused, g->count), "error_rate",
                                      rate(g->error, g->count), "latency_ms",
                                      "p50", (double)au_percentile(g->lat, g->nlat, 50) / 1000,
                                      "p95", (double)au_percentile(g->lat, g->nlat, 95) / 1000,
                                      "p99", (double)au_percentile(g->lat, g->nlat, 99) / 1000,
                                      "request_bytes", (json_int_t)g->req_bytes, "response_bytes",
                                      (json_int_t)g->resp_bytes)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int
nullstr_cmp(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int
group_cmp(const void *a, const void *b)
{
    const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
    int c = nullstr_cmp(x->partner, y->partner);

    return c != 0 ? c : nullstr_cmp(x->route, y->route);
}

/* Every group summed into one, latencies merged. Returns 0, or -1 when out of memory. */
static int
total_of(const struct au_report *r, struct group *t)
{
    size_t n = 0;

    *t = (struct group){0};
    for (size_t i = 0; i < r->n; i++)
        n += r->g[i].nlat;
    if ((t->lat = malloc((n ? n : 1) * sizeof *t->lat)) == NULL)
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        const struct group *g = &r->g[i];
        t->count += g->count;
        t->ok += g->ok;
        t->refused += g->refused;
        t->error += g->error;
        t->req_bytes += g->req_bytes;
        t->resp_bytes += g->resp_bytes;
        memcpy(t->lat + t->nlat, g->lat, g->nlat * sizeof *g->lat);
        t->nlat += g->nlat;
    }
    return 0;
}

json_t *
au_report_json(struct au_report *r)
{
    struct group **sorted = malloc((r->n ? r->n : 1) * sizeof *sorted);
    json_t *groups = json_array(), *o = NULL;
    struct group total = {0};

    if (sorted == NULL || groups == NULL || total_of(r, &total) < 0)
        goto out;
    for (size_t i = 0; i < r->n; i++)
        sorted[i] = &r->g[i];
    qsort(sorted, r->n, sizeof *sorted, group_cmp);
    for (size_t i = 0; i < r->n; i++)
        if (json_array_append_new(groups, group_json(sorted[i], 1)) < 0)
            goto out;
    o = json_pack("{s:I,s:O,s:o}", "events", (json_int_t)total.count, "groups", groups, "total",
                  group_json(&total, 0));

out:
    free(total.lat);
    free(sorted);
    json_decref(groups);
    return o;
}

/* --- text --- */

/* s with control characters as '?' (they could drive the terminal), padded with spaces to width
 * characters (UTF-8 continuation bytes take no room), then two spaces. NULL prints "-". */
static void
put_cell(FILE *out, const char *s, int width)
{
    int w = 0;

    if (s == NULL)
        s = "-";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
        w += (c & 0xc0) != 0x80;
    }
    fprintf(out, "%*s", width > w ? width - w + 2 : 2, "");
}

/* The width of the widest name under member `name` of the groups, at least min. */
static int
name_width(const json_t *groups, const char *name, int min)
{
    const json_t *g;
    const char *s;
    size_t i;
    int w;

    json_array_foreach(groups, i, g)
    {
        if ((s = str_of(g, name)) == NULL)
            continue;
        for (w = 0; *s != '\0'; s++)
            w += ((unsigned char)*s & 0xc0) != 0x80;
        if (w > min)
            min = w;
    }
    return min;
}

static void
print_counts(FILE *out, const json_t *g)
{
    const json_t *lat = json_object_get(g, "latency_ms");

    fprintf(out, "%8lld %8lld %8lld %8lld %7.1f%% %7.1f%% %10.3f %10.3f %10.3f %12lld %12lld\n",
            (long long)json_integer_value(json_object_get(g, "count")),
            (long long)json_integer_value(json_object_get(g, "ok")),
            (long long)json_integer_value(json_object_get(g, "refused")),
            (long long)json_integer_value(json_object_get(g, "error")),
            json_real_value(json_object_get(g, "refused_rate")) * 100,
            json_real_value(json_object_get(g, "error_rate")) * 100,
            json_real_value(json_object_get(lat, "p50")),
            json_real_value(json_object_get(lat, "p95")),
            json_real_value(json_object_get(lat, "p99")),
            (long long)json_integer_value(json_object_get(g, "request_bytes")),
            (long long)json_integer_value(json_object_get(g, "response_bytes")));
}

int
au_report_print(const json_t *report, FILE *out)
{
    const json_t *groups = json_object_get(report, "groups"), *g;
    int pw = name_width(groups, "partner", 7), rw = name_width(groups, "route", 5);
    size_t i;

    if (json_array_size(groups) == 0) {
        fputs("no audit events\n", out);
        return fflush(out) == 0 && !ferror(out) ? 0 : -1;
    }
    fprintf(out, "%-*s  %-*s  %8s %8s %8s %8s %8s %8s %10s %10s %10s %12s %12s\n", pw, "PARTNER",
            rw, "ROUTE", "COUNT", "OK", "REFUSED", "ERROR", "REFUSED%", "ERROR%", "P50 ms",
            "P95 ms", "P99 ms", "REQ BYTES", "RESP BYTES");
    json_array_foreach(groups, i, g)
    {
        put_cell(out, str_of(g, "partner"), pw);
        put_cell(out, str_of(g, "route"), rw);
        print_counts(out, g);
    }
    fprintf(out, "%-*s  %-*s  ", pw, "TOTAL", rw, "");
    print_counts(out, json_object_get(report, "total"));
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

void
au_tail_header(FILE *out)
{
    fprintf(out, "%-24s  %-16s  %-16s  %-7s  %-32s  %6s  %-7s  %-24s  %10s\n", "RECEIVED",
            "PARTNER", "ROUTE", "METHOD", "PATH", "STATUS", "OUTCOME", "REASON", "LATENCY ms");
}

void
au_tail_row(const json_t *ev, FILE *out)
{
    const json_t *st = json_object_get(ev, "status");
    json_int_t us = json_integer_value(json_object_get(ev, "latency_us"));
    char status[24] = "-";

    if (us < 0)
        us = 0;
    if (json_is_integer(st))
        snprintf(status, sizeof status, "%lld", (long long)json_integer_value(st));
    put_cell(out, str_of(json_object_get(ev, "time"), "received"), 24);
    put_cell(out, str_of(ev, "partner"), 16);
    put_cell(out, str_of(ev, "route"), 16);
    put_cell(out, str_of(ev, "method"), 7);
    put_cell(out, str_of(ev, "path"), 32);
    fprintf(out, "%6s  ", status);
    put_cell(out, str_of(ev, "outcome"), 7);
    put_cell(out, str_of(ev, "reason"), 24);
    fprintf(out, "%6lld.%03lld\n", (long long)(us / 1000), (long long)(us % 1000));
}
