/* access_log.c: the access log (see access_log.h).
 *
 * A text line is nginx's combined format, the partner in the remote user's place, then what a
 * gateway adds, as name=value ("-" for what an exchange does not have):
 *   10.0.0.7 - acme [26/Nov/2026:23:40:00 +0000] "POST /acme/payments?x=1 HTTP/1.1" 200 512 "-"
 *   "curl/8.5.0" request_id=4f3a9c0e12d4b7a1 route=payments upstream_status=200 outcome=ok
 *   bytes_in=42 request_ms=12.345 upstream_ms=11.002
 * so that the tools that read combined logs read its first fields. Values escape '"', '\' and the
 * bytes outside printable ASCII as \xHH, as nginx does. A JSON line says the same by name, and
 * leaves out what an exchange does not have.
 *
 * A worker's lines wait in its buffer, which a line never overflows: each field is cut to a
 * fixed number of bytes, so that a line takes LINE_MAX bytes at the most.
 */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "conf_table.h"
#include "exchange.h"
#include "partner.h"
#include "text.h"

#define LINE_MAX_BYTES 4096 /* a line at the most: the caps below add up to less */
#define TARGET_MAX 2048     /* of the request target (path and query, as nginx's $request) */
#define HEADER_MAX 256      /* of the Referer and the User-Agent */
#define NAME_MAX_BYTES 160  /* of a request id, a partner id, a route name, a method */

/* The file: one descriptor for every worker; a reopen puts a new file behind the same number. */
static struct {
    int fd;
    char *path;
    enum gw_log_format format;
} al = {.fd = -1};

/* A worker's: the lines not yet written, and the last second a line gave, as lines write it. */
struct al_worker {
    struct event *timer;  /* a second after the first line the buffer took */
    size_t len;
    time_t sec;
    char stamp[32];
    size_t stamp_len;
    int64_t complained;   /* when a failed write was last logged (monotonic µs) */
    char buf[GW_ACCESS_FLUSH_BYTES + LINE_MAX_BYTES];
};

/* An exchange's: body bytes, the request's as they came, the response's as they came and as a
 * chain or the gateway made them. */
struct al_exchange {
    uint64_t in, resp_in, resp_made;
    unsigned made : 1;
    unsigned logged : 1;
};

/* What a line says of an exchange, in either format. */
struct entry {
    const char *client, *partner, *route, *rid, *outcome; /* NULL: none */
    const char *method, *target, *referer, *agent;         /* NULL: none (method: no head) */
    size_t method_len, target_len, referer_len, agent_len;
    int version_minor;
    int status, up_status;                                 /* up_status 0: none */
    uint64_t bytes_in, bytes_out;
    int64_t total_us, up_us;                               /* up_us < 0: none */
    uint64_t us;                                           /* when it finished (UTC µs), as
                                                            * nginx's time is */
};

/* ---- the configuration ---- */

/* The file is made at start when it is not there; its folder must be there. */
static int
check_path(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "\"%s\" is a folder, not a file", path);
        return -1;
    }
    if (slash == NULL)
        return 0;
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "no folder %s for \"%s\"", dir, path);
        return -1;
    }
    return 0;
}

int
gw_access_log_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_access_log_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_PATH(struct gw_access_log_conf, path, NULL), .flags = GW_CONF_REQUIRED },
        { GW_KEY_CHOICE(struct gw_access_log_conf, format, gw_log_formats, GW_LOG_TEXT) },
        GW_KEY_END,
    };
    char err[PATH_MAX + 64];
    int bad;

    if (obj == NULL)
        return 0;
    bad = gw_conf_read(c, obj, "access_log", keys, out, NULL);
    if (out->path != NULL && check_path(out->path, err, sizeof err) < 0) {
        gw_jctx_error(c, "access_log.path", "%s", err);
        bad++;
    }
    out->on = bad == 0;
    return bad;
}

void
gw_access_log_conf_free(struct gw_access_log_conf *a)
{
    free(a->path);
    memset(a, 0, sizeof *a);
}

int
gw_access_log_conf_same(const struct gw_access_log_conf *a, const struct gw_access_log_conf *b)
{
    return a->on == b->on && a->format == b->format &&
           ((a->path == NULL && b->path == NULL) ||
            (a->path != NULL && b->path != NULL && strcmp(a->path, b->path) == 0));
}

/* ---- the file ---- */

static int
open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
gw_access_log_open(const struct gw_access_log_conf *conf, char *err, size_t errlen)
{
    if (!conf->on)
        return 0;
    if ((al.fd = open_file(conf->path)) < 0 || (al.path = strdup(conf->path)) == NULL) {
        snprintf(err, errlen, "access log: cannot open %s: %s", conf->path, strerror(errno));
        gw_access_log_close();
        return -1;
    }
    al.format = conf->format;
    return 0;
}

void
gw_access_log_reopen(void)
{
    int fd;

    if (al.fd < 0)
        return;
    if ((fd = open_file(al.path)) < 0) {
        gw_log(GW_LOG_ERROR, "access log: cannot open %s again: %s; still writing to the file "
               "it had", al.path, strerror(errno));
        return;
    }
    /* atomic for the workers: a write(2) on al.fd goes to one file or the other, whole */
    if (dup3(fd, al.fd, O_CLOEXEC) < 0)
        gw_log(GW_LOG_ERROR, "access log: cannot reopen %s: %s", al.path, strerror(errno));
    else
        gw_log(GW_LOG_INFO, "access log: reopened %s", al.path);
    close(fd);
}

void
gw_access_log_close(void)
{
    if (al.fd >= 0)
        close(al.fd);
    al.fd = -1;
    free(al.path);
    al.path = NULL;
}

/* ---- a worker's buffer ---- */

static void
flush(struct al_worker *w)
{
    ssize_t n;

    if (w->len == 0)
        return;
    n = write(al.fd, w->buf, w->len);
    if (n != (ssize_t)w->len) {
        int64_t now = gw_mono_us();
        if (w->complained == 0 || now - w->complained >= 60000000) {
            w->complained = now; /* (a full disk would say it at every flush) */
            gw_log(GW_LOG_ERROR, "access log: %zu bytes for %s, %s; lines lost (said once a "
                   "minute)", w->len, al.path, n < 0 ? strerror(errno) : "written in part");
        }
    }
    w->len = 0;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void *
worker_new(void *base)
{
    struct al_worker *w = calloc(1, sizeof *w);

    if (w != NULL && (w->timer = evtimer_new(base, timer_cb, w)) == NULL) {
        free(w);
        w = NULL;
    }
    return w;
}

static void
worker_free(void *state)
{
    struct al_worker *w = state;

    flush(w);
    event_free(w->timer);
    free(w);
}

/* The time of a line to the second as its format writes it; made once a second. */
static void
stamp(struct al_worker *w, time_t sec)
{
    struct tm tm;

    if (sec == w->sec && w->stamp_len > 0)
        return;
    gmtime_r(&sec, &tm);
    w->stamp_len = strftime(w->stamp, sizeof w->stamp,
                            al.format == GW_LOG_JSON ? "%Y-%m-%dT%H:%M:%S"
                                                     : "%d/%b/%Y:%H:%M:%S +0000", &tm);
    w->sec = sec;
}

/* ---- the lines ---- */

static void
entry_of(struct entry *e, struct gw_exchange *ex, const struct al_exchange *a, int complete,
         int64_t now)
{
    const struct gw_http_header *h;

    memset(e, 0, sizeof *e);
    e->us = ex->t_received + (uint64_t)(now - ex->m_received);
    e->client = ex->client->ip;
    e->partner = ex->partner != NULL ? ex->partner->id : NULL;
    e->route = ex->route != NULL ? ex->route->name : NULL;
    e->rid = ex->request_id[0] != '\0' ? ex->request_id : NULL;
    e->outcome = ex_outcome_name(ex_outcome(ex, complete));
    if (ex->head != NULL) { /* the head was parsed and kept: its fields point into it */
        e->method = ex->req.method_str;
        e->method_len = ex->req.method_len;
        e->target = ex->req.target;
        e->target_len = ex->req.target_len;
        e->version_minor = ex->req.version_minor;
        if ((h = gw_http_find_header(&ex->req, "referer")) != NULL) {
            e->referer = h->value;
            e->referer_len = h->value_len;
        }
        if ((h = gw_http_find_header(&ex->req, "user-agent")) != NULL) {
            e->agent = h->value;
            e->agent_len = h->value_len;
        }
    }
    e->status = ex->status;
    e->up_status = ex->m_forwarded != 0 ? ex->up_status : 0;
    e->bytes_in = a->in;
    e->bytes_out = a->made ? a->resp_made : a->resp_in;
    e->total_us = now - ex->m_received;
    e->up_us = ex->m_forwarded != 0 && ex->m_up_head >= ex->m_forwarded
                   ? ex->m_up_head - ex->m_forwarded
                   : -1;
}

/* s[0..n) in at most max bytes, '"', '\' and the bytes outside printable ASCII as \xHH; "-" for
 * nothing. */
static void
put_text(struct gw_line *l, const char *s, size_t n, size_t max)
{
    size_t end = l->end;

    if (s == NULL || n == 0) {
        gw_line_put(l, "-", 1);
        return;
    }
    if (l->end - l->n > max)
        l->end = l->n + max;
    for (size_t i = 0; i < n && l->n < l->end; i++) {
        unsigned char ch = (unsigned char)s[i];
        char e[4] = {'\\', 'x'};
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            l->p[l->n++] = (char)ch;
            continue;
        }
        if (l->end - l->n < sizeof e)
            break;
        gw_hex_encode(e + 2, &ch, 1);
        gw_line_put(l, e, sizeof e);
    }
    l->end = end;
}

static void
put_str(struct gw_line *l, const char *s)
{
    put_text(l, s, s != NULL ? strlen(s) : 0, NAME_MAX_BYTES);
}

/* µs as milliseconds ("%.3f"), or "-" for none */
static void
ms(char *out, size_t room, int64_t us)
{
    if (us < 0)
        snprintf(out, room, "-");
    else
        snprintf(out, room, "%.3f", (double)us / 1000);
}

static void
text_line(struct gw_line *l, const struct al_worker *w, const struct entry *e)
{
    char num[256], total[32], up[32];
    int k;

    put_str(l, e->client);
    gw_line_put(l, " - ", 3);
    put_str(l, e->partner);
    gw_line_put(l, " [", 2);
    gw_line_put(l, w->stamp, w->stamp_len);
    gw_line_put(l, "] \"", 3);
    if (e->method != NULL) {
        put_text(l, e->method, e->method_len, NAME_MAX_BYTES);
        gw_line_put(l, " ", 1);
        put_text(l, e->target, e->target_len, TARGET_MAX);
        gw_line_put(l, e->version_minor ? " HTTP/1.1" : " HTTP/1.0", 9);
    } else {
        gw_line_put(l, "-", 1);
    }
    k = snprintf(num, sizeof num, "\" %d %llu \"", e->status, (unsigned long long)e->bytes_out);
    gw_line_put(l, num, (size_t)k);
    put_text(l, e->referer, e->referer_len, HEADER_MAX);
    gw_line_put(l, "\" \"", 3);
    put_text(l, e->agent, e->agent_len, HEADER_MAX);
    gw_line_put(l, "\" request_id=", 13);
    put_str(l, e->rid);
    gw_line_put(l, " route=", 7);
    put_str(l, e->route);
    ms(total, sizeof total, e->total_us);
    ms(up, sizeof up, e->up_us);
    if (e->up_status > 0)
        k = snprintf(num, sizeof num, " upstream_status=%d", e->up_status);
    else
        k = snprintf(num, sizeof num, " upstream_status=-");
    gw_line_put(l, num, (size_t)k);
    k = snprintf(num, sizeof num, " outcome=%s bytes_in=%llu request_ms=%s upstream_ms=%s",
                 e->outcome, (unsigned long long)e->bytes_in, total, up);
    gw_line_put(l, num, (size_t)k);
    l->end += 1;
    gw_line_put(l, "\n", 1);
}

/* ,"key":"s" for a name or id (nothing for NULL) */
static void
json_name(struct gw_line *l, const char *key, const char *s)
{
    gw_line_json_member(l, key, s, s != NULL ? strlen(s) : 0, NAME_MAX_BYTES);
}

static void
json_line(struct gw_line *l, const struct al_worker *w, const struct entry *e)
{
    char num[256];
    int k;

    gw_line_put(l, "{\"time\":\"", 9);
    gw_line_put(l, w->stamp, w->stamp_len);
    k = snprintf(num, sizeof num, ".%03dZ\"", (int)(e->us / 1000 % 1000));
    gw_line_put(l, num, (size_t)k);
    json_name(l, "request_id", e->rid);
    json_name(l, "client", e->client);
    json_name(l, "partner", e->partner);
    gw_line_json_member(l, "method", e->method, e->method_len, NAME_MAX_BYTES);
    gw_line_json_member(l, "target", e->target, e->target_len, TARGET_MAX);
    if (e->method != NULL)
        json_name(l, "protocol", e->version_minor ? "HTTP/1.1" : "HTTP/1.0");
    json_name(l, "route", e->route);
    k = snprintf(num, sizeof num, ",\"status\":%d", e->status);
    gw_line_put(l, num, (size_t)k);
    if (e->up_status > 0) {
        k = snprintf(num, sizeof num, ",\"upstream_status\":%d", e->up_status);
        gw_line_put(l, num, (size_t)k);
    }
    k = snprintf(num, sizeof num, ",\"outcome\":\"%s\",\"bytes_in\":%llu,\"bytes_out\":%llu,"
                 "\"request_ms\":%.3f", e->outcome, (unsigned long long)e->bytes_in,
                 (unsigned long long)e->bytes_out, (double)e->total_us / 1000);
    gw_line_put(l, num, (size_t)k);
    if (e->up_us >= 0) {
        k = snprintf(num, sizeof num, ",\"upstream_ms\":%.3f", (double)e->up_us / 1000);
        gw_line_put(l, num, (size_t)k);
    }
    gw_line_json_member(l, "referer", e->referer, e->referer_len, HEADER_MAX);
    gw_line_json_member(l, "user_agent", e->agent, e->agent_len, HEADER_MAX);
    l->end += 2;
    gw_line_put(l, "}\n", 2);
}

/* ---- the observer ---- */

static void
received(struct gw_exchange *ex, void *state, void **data)
{
    struct al_exchange *a = gw_arena_alloc(&ex->arena, sizeof *a);

    (void)state;
    memset(a, 0, sizeof *a);
    *data = a;
}

static void
body_in(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n)
{
    struct al_exchange *a = data;

    (void)ex;
    (void)p;
    if (resp)
        a->resp_in += n;
    else
        a->in += n;
}

static void
body_out(struct gw_exchange *ex, void *data, int resp, const void *p, size_t n)
{
    struct al_exchange *a = data;

    (void)ex;
    (void)p;
    if (resp) {
        a->made = 1;
        a->resp_made = n;
    }
}

static void
finished(struct gw_exchange *ex, void *state, void *data, int complete)
{
    static const struct timeval second = {1, 0};
    struct al_worker *w = state;
    struct al_exchange *a = data;
    struct entry e;

    if (a == NULL || a->logged || ex->m_received == 0)
        return; /* (written already, or no request began) */
    a->logged = 1;
    entry_of(&e, ex, a, complete, gw_mono_us());
    stamp(w, (time_t)(e.us / 1000000));
    /* room kept past end for what closes the line */
    struct gw_line l = {.p = w->buf, .n = w->len, .end = w->len + LINE_MAX_BYTES - 2};
    if (al.format == GW_LOG_JSON)
        json_line(&l, w, &e);
    else
        text_line(&l, w, &e);
    if (w->len == 0)
        evtimer_add(w->timer, &second);
    w->len = l.n;
    if (w->len >= GW_ACCESS_FLUSH_BYTES)
        flush(w);
}

static const struct ex_observer observer = {
    .name = "access log",
    .worker_new = worker_new,
    .worker_free = worker_free,
    .received = received,
    .body_in = body_in,
    .body_out = body_out,
    .finished = finished,
};

int
gw_access_log_add(struct ex_observers *obs, struct event_base *base)
{
    return al.fd < 0 ? 0 : gw_observers_add(obs, &observer, base);
}
