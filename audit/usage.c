/* usage.c: see usage.h. */
#include "usage.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "report.h" /* au_time_parse, au_time_format */

/* --- the period --- */

int
au_period_parse(const char *s, int64_t *from_ms, int64_t *to_ms)
{
    char day[32];
    int y, m;

    if (s == NULL)
        return -1;
    for (size_t i = 0; s[i] != '\0'; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] == '-' && (i == 4 || i == 7)))
            return -1;
    if (strlen(s) == 10) { /* a day: the calendar checks it */
        if (au_time_parse(s, from_ms) < 0)
            return -1;
        *to_ms = *from_ms + 86400000;
        return 0;
    }
    if (strlen(s) != 7 || s[4] != '-')
        return -1;
    y = atoi(s);
    m = atoi(s + 5);
    if (m < 1 || m > 12)
        return -1;
    snprintf(day, sizeof day, "%04d-%02d-01", y, m);
    if (au_time_parse(day, from_ms) < 0)
        return -1;
    snprintf(day, sizeof day, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    return au_time_parse(day, to_ms) < 0 ? -1 : 0;
}

/* --- replays: the node and seq of every event counted --- */

/* seq numbers are dense per node: a bit per seq, in blocks of SEEN_BITS, found by node and block
 * number (a topic's month of events costs an eighth of a byte each). */
#define SEEN_BITS 32768

struct seen {
    json_t *index;          /* "block:node" -> index in blocks */
    unsigned char **blocks; /* SEEN_BITS / 8 bytes each */
    size_t n, cap;
};

/* 1 when node's seq was seen before, 0 when not (and now it is), -1 when out of memory. */
static int
seen_before(struct seen *s, const char *node, int64_t seq)
{
    char *key = NULL;
    unsigned char *b, **bs;
    json_t *j;
    int rc = -1;
    uint64_t bit = (uint64_t)seq % SEEN_BITS;

    if (asprintf(&key, "%lld:%s", (long long)((uint64_t)seq / SEEN_BITS), node) < 0)
        return -1;
    if ((j = json_object_get(s->index, key)) != NULL) {
        b = s->blocks[json_integer_value(j)];
    } else {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            if ((bs = reallocarray(s->blocks, cap, sizeof *bs)) == NULL)
                goto out;
            s->blocks = bs;
            s->cap = cap;
        }
        if ((b = calloc(1, SEEN_BITS / 8)) == NULL)
            goto out;
        if (json_object_set_new(s->index, key, json_integer((json_int_t)s->n)) < 0) {
            free(b);
            goto out;
        }
        s->blocks[s->n++] = b;
    }
    rc = (b[bit / 8] >> (bit % 8)) & 1;
    b[bit / 8] |= (unsigned char)(1u << (bit % 8));

out:
    free(key);
    return rc;
}

/* --- the callers --- */

struct caller {
    const char *kind; /* "anonymous", "consumer" or "partner" */
    char *id, *plan;  /* plan: NULL for null */
    int64_t plan_ms;  /* time.received of the event plan came from; INT64_MIN: none yet */
    uint64_t requests, accepted, by_limit, refused_other, errors;
    uint64_t req_bytes, resp_bytes;
};

struct au_usage {
    int64_t from_ms, to_ms;
    json_t *index; /* "kind:id" -> index in c */
    struct caller *c;
    size_t n, cap;
    struct seen seen;
    uint64_t replays;
};

struct au_usage *
au_usage_new(int64_t from_ms, int64_t to_ms)
{
    struct au_usage *u = calloc(1, sizeof *u);

    if (u == NULL)
        return NULL;
    u->from_ms = from_ms;
    u->to_ms = to_ms;
    u->index = json_object();
    u->seen.index = json_object();
    if (u->index == NULL || u->seen.index == NULL) {
        au_usage_free(u);
        return NULL;
    }
    return u;
}

void
au_usage_free(struct au_usage *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++) {
        free(u->c[i].id);
        free(u->c[i].plan);
    }
    free(u->c);
    json_decref(u->index);
    for (size_t i = 0; i < u->seen.n; i++)
        free(u->seen.blocks[i]);
    free(u->seen.blocks);
    json_decref(u->seen.index);
    free(u);
}

uint64_t
au_usage_replays(const struct au_usage *u)
{
    return u->replays;
}

/* The caller of kind and id, added when new; NULL when out of memory. */
static struct caller *
caller_of(struct au_usage *u, const char *kind, const char *id)
{
    char *key = NULL;
    struct caller *c = NULL, *cs;
    json_t *j;

    if (asprintf(&key, "%s:%s", kind, id) < 0) /* kinds have no ':': one key per caller */
        return NULL;
    if ((j = json_object_get(u->index, key)) != NULL) {
        c = &u->c[json_integer_value(j)];
        goto out;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        if ((cs = reallocarray(u->c, cap, sizeof *cs)) == NULL)
            goto out;
        u->c = cs;
        u->cap = cap;
    }
    c = &u->c[u->n];
    *c = (struct caller){.kind = kind, .id = strdup(id), .plan_ms = INT64_MIN};
    if (c->id == NULL || json_object_set_new(u->index, key, json_integer((json_int_t)u->n)) < 0) {
        free(c->id);
        c = NULL;
        goto out;
    }
    u->n++;

out:
    free(key);
    return c;
}

static const char *
str_of(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static uint64_t
bytes_of(const json_t *ev, const char *side, const char *name)
{
    json_int_t n = json_integer_value(json_object_get(json_object_get(ev, side), name));

    return n > 0 ? (uint64_t)n : 0;
}

/* Who called: a consumer (its API key said so), else a partner (its certificate), else nobody
 * known. Events of versions 1 to 3 have no "consumer". */
static struct caller *
caller_of_event(struct au_usage *u, const json_t *ev)
{
    const char *id = str_of(json_object_get(ev, "consumer"), "id");

    if (id != NULL)
        return caller_of(u, "consumer", id);
    if ((id = str_of(ev, "partner")) != NULL)
        return caller_of(u, "partner", id);
    return caller_of(u, "anonymous", "-");
}

/* The plan of the caller's latest event (by time.received) that says one (string or null);
 * events before version 4 have no "plan" and say nothing. Returns 0, or -1 when out of memory. */
static int
note_plan(struct caller *c, const json_t *ev, int64_t received_ms)
{
    const json_t *p = json_object_get(ev, "plan");
    char *plan = NULL;

    if (p == NULL || (!json_is_string(p) && !json_is_null(p)) || received_ms < c->plan_ms)
        return 0;
    if (json_is_string(p) && (plan = strdup(json_string_value(p))) == NULL)
        return -1;
    free(c->plan);
    c->plan = plan;
    c->plan_ms = received_ms;
    return 0;
}

/* A refusal for a limit (gateway/limiter.c): 429 with one of the limits' reasons. */
static int
by_limit(const json_t *ev)
{
    const char *reason = str_of(ev, "reason");

    return json_integer_value(json_object_get(ev, "status")) == 429 && reason != NULL &&
           (strcmp(reason, "rate-limited") == 0 || strcmp(reason, "concurrency-limited") == 0 ||
            strcmp(reason, "quota-exceeded") == 0);
}

int
au_usage_add(struct au_usage *u, const json_t *ev)
{
    const char *kind = str_of(ev, "kind"), *node = str_of(ev, "node"), *outcome;
    const json_t *seq = json_object_get(ev, "seq");
    struct caller *c;
    int64_t t;
    int r;

    if (kind == NULL || strcmp(kind, "exchange") != 0 ||
        au_time_parse(str_of(json_object_get(ev, "time"), "received"), &t) < 0 || t < u->from_ms ||
        t >= u->to_ms)
        return 0;
    /* an event shipped again after a restart (audit/README.md, "No event is lost") is billed
     * once */
    if (node != NULL && json_is_integer(seq) && json_integer_value(seq) > 0) {
        if ((r = seen_before(&u->seen, node, json_integer_value(seq))) < 0)
            return -1;
        if (r > 0) {
            u->replays++;
            return 0;
        }
    }
    if ((c = caller_of_event(u, ev)) == NULL || note_plan(c, ev, t) < 0)
        return -1;
    c->requests++;
    outcome = str_of(ev, "outcome");
    if (outcome != NULL && strcmp(outcome, "ok") == 0)
        c->accepted++;
    else if (outcome != NULL && strcmp(outcome, "refused") == 0 && by_limit(ev))
        c->by_limit++;
    else if (outcome != NULL && strcmp(outcome, "refused") == 0)
        c->refused_other++;
    else if (outcome != NULL && strcmp(outcome, "error") == 0)
        c->errors++;
    c->req_bytes += bytes_of(ev, "request", "bytes");
    c->resp_bytes += bytes_of(ev, "response", "bytes_out");
    return 0;
}

/* --- the document --- */

static int
caller_cmp(const void *a, const void *b)
{
    const struct caller *x = *(const struct caller *const *)a;
    const struct caller *y = *(const struct caller *const *)b;
    int c = strcmp(x->kind, y->kind);

    return c != 0 ? c : strcmp(x->id, y->id);
}

static json_t *
caller_json(const struct caller *c)
{
    return json_pack("{s:s,s:s,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "kind", c->kind, "id", c->id,
                     "plan", c->plan, "requests", (json_int_t)c->requests, "accepted",
                     (json_int_t)c->accepted, "refused_by_limit", (json_int_t)c->by_limit,
                     "refused_other", (json_int_t)c->refused_other, "errors", (json_int_t)c->errors,
                     "request_bytes", (json_int_t)c->req_bytes, "response_bytes",
                     (json_int_t)c->resp_bytes);
}

json_t *
au_usage_json(const struct au_usage *u, const char *period)
{
    const struct caller **sorted = malloc((u->n ? u->n : 1) * sizeof *sorted);
    json_t *callers = json_array(), *o = NULL;
    char from[40], to[40];

    if (sorted == NULL || callers == NULL)
        goto out;
    for (size_t i = 0; i < u->n; i++)
        sorted[i] = &u->c[i];
    qsort(sorted, u->n, sizeof *sorted, caller_cmp);
    for (size_t i = 0; i < u->n; i++)
        if (json_array_append_new(callers, caller_json(sorted[i])) < 0)
            goto out;
    au_time_format(u->from_ms, from, sizeof from);
    au_time_format(u->to_ms, to, sizeof to);
    o = json_pack("{s:s,s:s,s:s,s:O}", "period", period, "from", from, "to", to, "callers",
                  callers);

out:
    free(sorted);
    json_decref(callers);
    return o;
}

/* --- CSV --- */

static const char *const columns[] = {
    "kind",          "id",     "plan",          "requests",      "accepted", "refused_by_limit",
    "refused_other", "errors", "request_bytes", "response_bytes"};

/* One field, RFC 4180: quoted when it holds a comma, a quote or a line end, quotes doubled. */
static void
csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int
au_usage_csv(const json_t *doc, FILE *out)
{
    const json_t *c, *v;
    size_t i, k, n = sizeof columns / sizeof columns[0];
    char num[32];

    for (k = 0; k < n; k++)
        fprintf(out, "%s%s", k ? "," : "", columns[k]);
    fputs("\r\n", out);
    json_array_foreach(json_object_get(doc, "callers"), i, c)
    {
        for (k = 0; k < n; k++) {
            if (k > 0)
                fputc(',', out);
            v = json_object_get(c, columns[k]);
            if (json_is_string(v)) {
                csv_field(out, json_string_value(v));
            } else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                fputs(num, out);
            } /* null: an empty field */
        }
        fputs("\r\n", out);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
