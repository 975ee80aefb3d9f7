/* idempotency.c: the idempotent receiver (see idempotency.h).
 *
 * The table: entries by key (route's owner, route, partner, message id) in a hash table, and in a
 * list by age, under one lock (the workers share it). An entry is under way (its first request is
 * at the upstream) or kept (its answer, until it expires). The file `answers` has a record per kept
 * answer: length (4) | expiry, UTC ms (8) | status (2) | the body's digest (32) | key, content type
 * and header lines, each a length (2) and its bytes | the answer's body; all little-endian. It is
 * rewritten without what expired when opened, and again when it grew past twice what is live.
 */
#include "idempotency.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alloc.h"
#include "conf_table.h"
#include "exchange.h"
#include "log.h"
#include "sha256.h"
#include "snapshot.h"
#include "text.h"

#define BUCKETS 65536
#define POLL_MS 5
#define COMPACT_MIN (64u << 20)

static const struct timeval poll_every = {0, POLL_MS * 1000};

struct entry {
    char *key;
    unsigned char digest[32];
    int kept;                 /* 0: under way */
    int64_t expires;          /* UTC ms (kept) */
    int status;
    char *ctype, *headers, *body;
    size_t body_len;
    struct entry *hnext;
    struct entry *older, *newer;
};

/* An exchange's part in it (in the exchange's arena). */
struct idem_ex {
    char *key;
    unsigned char digest[32];
    int owner;                /* it owns the key (under way) */
    struct event *wait;       /* it waits for the owner's answer */
    int64_t deadline;         /* monotonic ms */
};

static struct {
    pthread_mutex_t lock;
    int open;
    struct gw_idem_conf conf;
    struct entry **buckets;
    struct entry *oldest, *newest;
    size_t n;
    int fd;
    uint64_t file_bytes, live_bytes;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static int64_t
utc_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- settings ---- */

int
gw_idem_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_idem_conf *out)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_PATH(struct gw_idem_conf, dir, "idempotency") },
        { GW_KEY_INT(struct gw_idem_conf, max_entries, 1, 100000000, 100000) },
        GW_KEY_END,
    };
    return gw_conf_read(c, obj, "idempotency", keys, out, NULL);
}

void
gw_idem_conf_free(struct gw_idem_conf *conf)
{
    free(conf->dir);
    memset(conf, 0, sizeof *conf);
}

int
gw_idem_conf_same(const struct gw_idem_conf *a, const struct gw_idem_conf *b)
{
    return a->max_entries == b->max_entries &&
           ((a->dir == NULL && b->dir == NULL) ||
            (a->dir != NULL && b->dir != NULL && strcmp(a->dir, b->dir) == 0));
}

/* ---- the table (under T.lock) ---- */

static struct entry **
slot(const char *key)
{
    struct entry **p = &T.buckets[gw_str_hash(key) % BUCKETS];
    while (*p != NULL && strcmp((*p)->key, key) != 0)
        p = &(*p)->hnext;
    return p;
}

static size_t
entry_bytes(const struct entry *e)
{
    return 48 + strlen(e->key) + strlen(e->ctype) + strlen(e->headers) + e->body_len;
}

static void
unlink_entry(struct entry *e)
{
    struct entry **p = slot(e->key);

    *p = e->hnext;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        T.oldest = e->newer;
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        T.newest = e->older;
    T.n--;
    if (e->kept)
        T.live_bytes -= entry_bytes(e);
    free(e->key);
    free(e->ctype);
    free(e->headers);
    free(e->body);
    free(e);
}

static struct entry *
add_entry(const char *key)
{
    struct entry *e = gw_xcalloc(1, sizeof *e), **p = slot(key);

    e->key = gw_xstrdup(key);
    *p = e;
    e->older = T.newest;
    if (T.newest != NULL)
        T.newest->newer = e;
    else
        T.oldest = e;
    T.newest = e;
    T.n++;
    /* the oldest kept answers go first (those under way stay) */
    for (struct entry *o = T.oldest, *next; T.n > T.conf.max_entries && o != NULL; o = next) {
        next = o->newer;
        if (o->kept)
            unlink_entry(o);
    }
    return e;
}

/* The entry for key, without an expired answer. */
static struct entry *
find(const char *key, int64_t now)
{
    struct entry *e = *slot(key);

    if (e != NULL && e->kept && e->expires <= now) {
        unlink_entry(e);
        e = NULL;
    }
    return e;
}

/* ---- the file ---- */

static void
put_le(char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (char)(v >> (8 * i) & 0xff);
}

static uint64_t
get_le(const char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

/* The record of a kept entry, malloc'd. */
static char *
record(const struct entry *e, size_t *len)
{
    const char *str[3] = {e->key, e->ctype, e->headers};
    size_t n = 4 + 8 + 2 + 32 + 6 + strlen(e->key) + strlen(e->ctype) + strlen(e->headers) +
               e->body_len;
    char *r = gw_xmalloc(n), *p = r;

    put_le(p, n, 4);
    put_le(p + 4, (uint64_t)e->expires, 8);
    put_le(p + 12, (uint64_t)e->status, 2);
    memcpy(p + 14, e->digest, 32);
    p += 46;
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(str[i]);
        put_le(p, l, 2);
        memcpy(p + 2, str[i], l);
        p += 2 + l;
    }
    memcpy(p, e->body, e->body_len);
    *len = n;
    return r;
}

/* Read one record at p[0..n): 1 (an entry kept, or expired), 0 at the end, -1 when broken. */
static int
read_record(const char *p, size_t n, size_t *used, int64_t now)
{
    char *str[3] = {0};
    const char *q;
    size_t len, l;
    struct entry *e;

    if (n < 4)
        return 0;
    len = (size_t)get_le(p, 4);
    if (len < 52 || len > n)
        return n >= 4 && len > n ? 0 : -1; /* torn at the end: the rest is lost */
    *used = len;
    if ((int64_t)get_le(p + 4, 8) <= now)
        return 1;
    q = p + 46;
    for (int i = 0; i < 3; i++) {
        if ((size_t)(q + 2 - p) > len || (l = (size_t)get_le(q, 2)) > len - (size_t)(q + 2 - p)) {
            for (int j = 0; j < i; j++)
                free(str[j]);
            return -1;
        }
        str[i] = gw_xmalloc(l + 1);
        memcpy(str[i], q + 2, l);
        str[i][l] = '\0';
        q += 2 + l;
    }
    if ((e = *slot(str[0])) != NULL)
        unlink_entry(e); /* a later record of the key wins */
    e = add_entry(str[0]);
    free(str[0]);
    e->kept = 1;
    e->expires = (int64_t)get_le(p + 4, 8);
    e->status = (int)get_le(p + 12, 2);
    memcpy(e->digest, p + 14, 32);
    e->ctype = str[1];
    e->headers = str[2];
    e->body_len = len - (size_t)(q - p);
    e->body = gw_xmalloc(e->body_len + 1);
    memcpy(e->body, q, e->body_len);
    T.live_bytes += entry_bytes(e);
    return 1;
}

/* Write what is kept to <dir>/answers, anew (through answers.tmp), and append from there. */
static int
rewrite(char *err, size_t errlen)
{
    char tmp[4096], path[4096];
    int fd;

    snprintf(tmp, sizeof tmp, "%s/answers.tmp", T.conf.dir);
    snprintf(path, sizeof path, "%s/answers", T.conf.dir);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto fail;
    T.file_bytes = 0;
    for (struct entry *e = T.oldest; e != NULL; e = e->newer) {
        size_t n;
        char *r;
        if (!e->kept)
            continue;
        r = record(e, &n);
        if (write(fd, r, n) != (ssize_t)n) {
            free(r);
            close(fd);
            goto fail;
        }
        free(r);
        T.file_bytes += n;
    }
    if (fdatasync(fd) < 0 || rename(tmp, path) < 0) {
        close(fd);
        goto fail;
    }
    if (T.fd >= 0)
        close(T.fd);
    T.fd = fd;
    lseek(fd, 0, SEEK_END);
    return 0;
fail:
    snprintf(err, errlen, "idempotency: %s: %s", path, strerror(errno));
    return -1;
}

static int
load_file(char *err, size_t errlen)
{
    char path[4096], *data = NULL;
    struct stat st;
    size_t at = 0, used;
    int64_t now = utc_ms();
    int fd, rc;

    snprintf(path, sizeof path, "%s/answers", T.conf.dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "idempotency: %s: %s", path,
                                               strerror(errno)), -1);
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        data = gw_xmalloc((size_t)st.st_size);
        if (pread(fd, data, (size_t)st.st_size, 0) != st.st_size) {
            snprintf(err, errlen, "idempotency: %s: %s", path, strerror(errno));
            free(data);
            close(fd);
            return -1;
        }
        while ((rc = read_record(data + at, (size_t)st.st_size - at, &used, now)) == 1)
            at += used;
        if (rc < 0)
            gw_log(GW_LOG_WARN, "idempotency: %s: a broken record at byte %zu; the answers after "
                   "it are lost", path, at);
    }
    free(data);
    close(fd);
    return 0;
}

/* ---- open and close ---- */

static int
needed(const struct pt_snapshot *snap)
{
    for (size_t i = 0; i < snap->nroutes; i++)
        if (snap->routes[i]->idem != NULL)
            return 1;
    return 0;
}

int
gw_idem_open(const struct gw_idem_conf *conf, const struct pt_snapshot *snap, char *err,
             size_t errlen)
{
    char path[4096];
    int rc;

    if (T.open)
        return 0;
    snprintf(path, sizeof path, "%s/answers", conf->dir);
    if (!needed(snap) && access(path, F_OK) != 0)
        return 0;
    if (mkdir(conf->dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "idempotency: %s: %s", conf->dir, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&T.lock);
    T.conf.dir = gw_xstrdup(conf->dir);
    T.conf.max_entries = conf->max_entries;
    T.buckets = gw_xcalloc(BUCKETS, sizeof *T.buckets);
    rc = load_file(err, errlen) == 0 && rewrite(err, errlen) == 0 ? 0 : -1;
    if (rc == 0) {
        T.open = 1;
        gw_log(GW_LOG_INFO, "idempotency: %zu answers kept from before (%s)", T.n, path);
    }
    pthread_mutex_unlock(&T.lock);
    if (rc < 0)
        gw_idem_close();
    return rc;
}

void
gw_idem_close(void)
{
    pthread_mutex_lock(&T.lock);
    while (T.oldest != NULL)
        unlink_entry(T.oldest);
    free(T.buckets);
    T.buckets = NULL;
    if (T.fd >= 0)
        close(T.fd);
    T.fd = -1;
    T.open = 0;
    gw_idem_conf_free(&T.conf);
    pthread_mutex_unlock(&T.lock);
}

/* ---- an exchange ---- */

/* The request's message id, or NULL. */
static const char *
message_id(struct gw_exchange *ex, const struct pt_idem *d)
{
    const struct gw_http_header *h;
    const char *s = NULL;
    json_t *doc, *v;

    if (d->field != NULL)
        return (h = gw_http_find_header(&ex->req, d->field)) != NULL && h->value_len > 0
                   ? gw_arena_strndup(&ex->arena, h->value, h->value_len)
                   : NULL;
    if (ex->req_body == NULL ||
        (doc = json_loadb(ex->req_body, ex->req_body_len, JSON_DECODE_ANY, NULL)) == NULL)
        return NULL;
    v = gw_jptr_get(&d->pointer, doc);
    if (json_is_string(v) && json_string_length(v) > 0)
        s = gw_arena_strndup(&ex->arena, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        s = gw_arena_printf(&ex->arena, "%lld", (long long)json_integer_value(v));
    json_decref(doc);
    return s;
}

/* The kept answer of e, again (lock held: copied into the arena first). */
static void
replay(struct gw_exchange *ex, const struct entry *e)
{
    const char *ctype = gw_arena_strndup(&ex->arena, e->ctype, strlen(e->ctype));
    const char *body = gw_arena_strndup(&ex->arena, e->body, e->body_len);
    const char *hdrs = gw_arena_printf(&ex->arena, "%sIdempotent-Replayed: true\r\n", e->headers);
    int status = e->status;
    size_t len = e->body_len;

    pthread_mutex_unlock(&T.lock);
    gw_exchange_respond(ex, status, ctype, body, len, hdrs);
}

static void
reused(struct gw_exchange *ex)
{
    gw_exchange_problem(ex, 422, "idempotency-key-reused", "this message id was used with "
                        "another body: an id names one message (send the first body again, or "
                        "a new id)", NULL);
}

/* Take the key, or act on its entry. 0: the exchange owns it now; 1: answered; 2: to wait. */
static int
take(struct gw_exchange *ex, struct idem_ex *x)
{
    struct entry *e;

    pthread_mutex_lock(&T.lock);
    if ((e = find(x->key, utc_ms())) == NULL) {
        e = add_entry(x->key);
        memcpy(e->digest, x->digest, 32);
        x->owner = 1;
        pthread_mutex_unlock(&T.lock);
        return 0;
    }
    if (memcmp(e->digest, x->digest, 32) != 0) {
        pthread_mutex_unlock(&T.lock);
        reused(ex);
        return 1;
    }
    if (e->kept) {
        replay(ex, e); /* (unlocks) */
        return 1;
    }
    pthread_mutex_unlock(&T.lock);
    return 2;
}

static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_exchange *ex = arg;
    struct idem_ex *x = ex->idem;
    int rc;

    (void)fd;
    (void)what;
    if ((rc = take(ex, x)) == 0) { /* the first let the id go: this one goes */
        GW_LOG_IN(&ex->log, gw_exchange_start(ex));
        return;
    }
    if (rc == 1)
        return;
    if (gw_mono_us() / 1000 >= x->deadline) {
        GW_LOG_IN(&ex->log,
                  gw_exchange_problem(ex, 409, "idempotency-in-flight", "the first request with "
                                      "this message id is still under way; ask again later",
                                      "Retry-After: 1\r\n"));
        return;
    }
    evtimer_add(x->wait, &poll_every);
}

int
gw_idem_begin(struct gw_exchange *ex)
{
    const struct pt_idem *d = ex->route->idem;
    const struct pt_route *r = ex->route;
    struct idem_ex *x;
    const char *id;
    int rc;

    if (!T.open || (id = message_id(ex, d)) == NULL)
        return 0; /* no id: an ordinary request */
    x = gw_arena_alloc(&ex->arena, sizeof *x);
    memset(x, 0, sizeof *x);
    x->key = gw_arena_printf(&ex->arena, "%s\x1f%s\x1f%s\x1f%s", r->owner ? r->owner->id : "",
                             r->name, ex->partner != NULL ? ex->partner->id : "", id);
    gw_sha256_once(ex->req_body != NULL ? ex->req_body : "", ex->req_body_len, x->digest);
    ex->idem = x;
    if ((rc = take(ex, x)) != 2)
        return rc;
    ex->api->request_body(ex, NULL); /* (read whole already: only watch the client) */
    x->deadline = gw_mono_us() / 1000 + d->wait_ms;
    x->wait = evtimer_new(ex->c->w->base, wait_cb, ex);
    evtimer_add(x->wait, &poll_every);
    return 1;
}

int
gw_idem_owner(const struct gw_exchange *ex)
{
    const struct idem_ex *x = ex->idem;
    return x != NULL && x->owner;
}

/* Let the key go (lock held). */
static void
let_go(struct idem_ex *x)
{
    struct entry *e = *slot(x->key);

    if (e != NULL && !e->kept)
        unlink_entry(e);
    x->owner = 0;
}

void
gw_idem_answer(struct gw_exchange *ex, int status, const char *content_type,
               const char *headers, const char *body, size_t len)
{
    struct idem_ex *x = ex->idem;
    struct entry *e;
    char *rec, err[256];
    size_t n;

    if (x == NULL || !x->owner)
        return;
    pthread_mutex_lock(&T.lock);
    e = *slot(x->key);
    if (!T.open || e == NULL || e->kept || ex->reason != NULL || status >= 500 ||
        (int64_t)len > ex->route->idem->max_answer_bytes) {
        let_go(x); /* an answer not to give again: the next repeat goes to the upstream */
        pthread_mutex_unlock(&T.lock);
        return;
    }
    e->kept = 1;
    e->expires = utc_ms() + ex->route->idem->window_ms;
    e->status = status;
    e->ctype = gw_xstrdup(content_type != NULL ? content_type : "application/octet-stream");
    e->headers = gw_xstrdup(headers != NULL ? headers : "");
    e->body = gw_xmalloc(len + 1);
    memcpy(e->body, body, len);
    e->body_len = len;
    T.live_bytes += entry_bytes(e);
    rec = record(e, &n);
    if (write(T.fd, rec, n) != (ssize_t)n)
        gw_log(GW_LOG_WARN, "idempotency: cannot append to %s/answers: %s (the answer is kept "
               "in memory only)", T.conf.dir, strerror(errno));
    free(rec);
    T.file_bytes += n;
    if (T.file_bytes > COMPACT_MIN && T.file_bytes > 2 * T.live_bytes && rewrite(err, sizeof err) < 0)
        gw_log(GW_LOG_WARN, "%s", err);
    x->owner = 0;
    pthread_mutex_unlock(&T.lock);
}

void
gw_idem_answer_msg(struct gw_exchange *ex, const struct gw_http_message *m, const char *body,
                   size_t len)
{
    const struct gw_http_header *ct = gw_http_find_header(m, "content-type");
    struct gw_buf b;

    if (!gw_idem_owner(ex))
        return;
    gw_arena_buf(&b, &ex->arena, 256);
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *h = &m->headers[i];
        if (gw_http_hop_by_hop(h) || gw_http_token_eq(h->name, h->name_len, "content-length") ||
            gw_http_token_eq(h->name, h->name_len, "content-type") ||
            gw_http_token_eq(h->name, h->name_len, "x-request-id") ||
            gw_http_token_eq(h->name, h->name_len, "via") ||
            (m->nheaders > 1 && gw_http_connection_listed(m, h)))
            continue;
        gw_http_put_field(&b, h->name, h->name_len, h->value, h->value_len);
    }
    gw_idem_answer(ex, m->status,
                   ct != NULL ? gw_arena_strndup(&ex->arena, ct->value, ct->value_len) : NULL,
                   gw_buf_str(&b), body, len);
}

void
gw_idem_end(struct gw_exchange *ex)
{
    struct idem_ex *x = ex->idem;

    if (x == NULL)
        return;
    if (x->wait != NULL)
        event_free(x->wait);
    x->wait = NULL;
    if (x->owner) {
        pthread_mutex_lock(&T.lock);
        if (T.open)
            let_go(x);
        pthread_mutex_unlock(&T.lock);
    }
    ex->idem = NULL;
}
