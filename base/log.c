/* log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

int gw_log_level = GW_LOG_INFO;
_Thread_local int gw_log_worker = -1;
_Thread_local const struct gw_log_ctx *gw_log_current;

const char *const gw_log_formats[] = {[GW_LOG_TEXT] = "text", [GW_LOG_JSON] = "json", NULL};

/* Read relaxed by every line: after a reload, a line or two may still come in the old format. */
static atomic_int log_format = GW_LOG_TEXT;

static const char *const level_names[] = {"crit", "error", "warn", "info", "debug"};

void
gw_log_set_format(enum gw_log_format f)
{
    atomic_store_explicit(&log_format, (int)f, memory_order_relaxed);
}

/* "2026-11-26T23:40:00.123Z" into out[0..room), room 32 at least; returns its length. */
static size_t
rfc3339(char *out, size_t room, uint64_t us)
{
    time_t sec = (time_t)(us / 1000000);
    struct tm tm;
    size_t n;

    gmtime_r(&sec, &tm);
    n = strftime(out, room, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)snprintf(out + n, room - n, ".%03dZ", (int)(us / 1000 % 1000));
}

/* The context's fields that say something: a request id or client "" is left out, a partner ""
 * is not (an exchange of no partner has NULL). */
struct fields {
    const char *rid, *partner, *client;
};

static struct fields
fields_of(const struct gw_log_ctx *c)
{
    struct fields f = {0};

    if (c == NULL)
        return f;
    f.rid = c->request_id != NULL && c->request_id[0] != '\0' ? c->request_id : NULL;
    f.partner = c->partner;
    f.client = c->client != NULL && c->client[0] != '\0' ? c->client : NULL;
    return f;
}

/* "w1 rid=... partner=... client=...: " as far as known */
static void
text_context(struct gw_line *l, int worker, const struct fields *f)
{
    char b[320];
    int n = 0;

    if (worker >= 0)
        n += snprintf(b, sizeof b, "w%d ", worker);
    if (f->rid != NULL)
        n += snprintf(b + n, sizeof b - (size_t)n, "rid=%.128s ", f->rid);
    if (f->partner != NULL)
        n += snprintf(b + n, sizeof b - (size_t)n, "partner=%.64s ", f->partner);
    if (f->client != NULL)
        n += snprintf(b + n, sizeof b - (size_t)n, "client=%.46s ", f->client);
    if (n == 0)
        return;
    b[n - 1] = ':'; /* "w1 rid=x " -> "w1 rid=x: " */
    b[n++] = ' ';
    gw_line_put(l, b, (size_t)n);
}

size_t
gw_log_format_line(char *out, size_t room, enum gw_log_format format, const struct gw_log_rec *r)
{
    /* room kept for what closes the line: '\n', or '"}\n' */
    struct gw_line l = {.p = out, .end = room - (format == GW_LOG_TEXT ? 1 : 3)};
    int lv = r->level < 0 ? 0 : r->level > GW_LOG_DEBUG ? GW_LOG_DEBUG : r->level;
    const char *level = level_names[lv];
    struct fields f = fields_of(r->ctx);
    char t[40];
    size_t tn = rfc3339(t, sizeof t, r->time_us);

    if (format == GW_LOG_TEXT) {
        gw_line_put(&l, t, tn);
        gw_line_put(&l, " [", 2);
        gw_line_put(&l, level, strlen(level));
        gw_line_put(&l, "] ", 2);
        text_context(&l, r->worker, &f);
        gw_line_put(&l, r->msg, r->msg_len);
        l.end = room;
        gw_line_put(&l, "\n", 1);
        return l.n;
    }
    gw_line_put(&l, "{\"time\":\"", 9);
    gw_line_put(&l, t, tn);
    gw_line_put(&l, "\",\"level\":\"", 11);
    gw_line_put(&l, level, strlen(level));
    gw_line_put(&l, "\"", 1);
    if (r->worker >= 0) {
        char w[32];
        gw_line_put(&l, w, (size_t)snprintf(w, sizeof w, ",\"worker\":%d", r->worker));
    }
    gw_line_json_member(&l, "request_id", f.rid, f.rid ? strlen(f.rid) : 0, 128);
    gw_line_json_member(&l, "partner", f.partner, f.partner ? strlen(f.partner) : 0, 64);
    gw_line_json_member(&l, "client", f.client, f.client ? strlen(f.client) : 0, 46);
    gw_line_put(&l, ",\"message\":\"", 12);
    gw_line_json(&l, r->msg, r->msg_len, room, GW_JSON_FIX_UTF8);
    l.end = room;
    gw_line_put(&l, "\"}\n", 3);
    return l.n;
}

void
gw_log_write(int level, const char *fmt, ...)
{
    char msg[2048], line[GW_LOG_LINE_MAX];
    struct timeval tv;
    va_list ap;
    int r;

    gettimeofday(&tv, NULL);
    va_start(ap, fmt);
    r = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct gw_log_rec rec = {
        .time_us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec,
        .level = level,
        .worker = gw_log_worker,
        .ctx = gw_log_current,
        .msg = msg,
        .msg_len = r < 0 ? 0 : (size_t)r < sizeof msg ? (size_t)r : sizeof msg - 1,
    };
    size_t n = gw_log_format_line(line, sizeof line,
                                  atomic_load_explicit(&log_format, memory_order_relaxed), &rec);
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}

int
gw_log_level_from(const char *name)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}
