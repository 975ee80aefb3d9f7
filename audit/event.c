/* event.c: see event.h. Members are written in the byte order of their names: that order is the
 * canonical form, and the tests hold the writer to it (tests/integration/cases_audit.py rebuilds
 * each event's canonical text with Python's json and checks the chain with it). */
#include "event.h"

#include "capture.h"
#include "transform.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void
au_time_str(uint64_t us, char out[32])
{
    /* the date and time of day change once a second: each thread keeps the last one written */
    static _Thread_local time_t last = (time_t)-1;
    static _Thread_local char prefix[24];
    time_t s = (time_t)(us / 1000000);
    unsigned ms = (unsigned)(us % 1000000 / 1000);
    struct tm tm;

    if (s != last) {
        gmtime_r(&s, &tm);
        snprintf(prefix, sizeof prefix, "%04u-%02u-%02uT%02u:%02u:%02u.",
                 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
                 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
                 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
        last = s;
    }
    memcpy(out, prefix, 20);
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

static inline void
str_or_null(struct gw_buf *b, const char *key, const char *s)
{
    au_buf_key(b, key);
    if (s != NULL)
        au_buf_jstr(b, s, strlen(s));
    else
        gw_buf_adds(b, "null");
}

static inline void
int_or_null(struct gw_buf *b, const char *key, int64_t v, int present)
{
    au_buf_key(b, key);
    if (present)
        au_buf_i64(b, v);
    else
        gw_buf_adds(b, "null");
}

static inline void
time_or_null(struct gw_buf *b, const char *key, uint64_t us)
{
    char t[1 + 32];

    au_buf_key(b, key);
    if (us == 0) {
        gw_buf_adds(b, "null");
        return;
    }
    t[0] = '"';
    au_time_str(us, t + 1);
    t[25] = '"';
    gw_buf_add(b, t, 26); /* digits and punctuation: nothing to escape */
}

static inline void
digest_or_null(struct gw_buf *b, const char *key, const unsigned char *d)
{
    au_buf_key(b, key);
    if (d != NULL)
        au_buf_hex(b, d, 32);
    else
        gw_buf_adds(b, "null");
}

static inline void
body(struct gw_buf *b, const char *key, const struct au_body *x)
{
    au_buf_key(b, key);
    gw_buf_add(b, "{", 1);
    au_buf_key(b, "bytes");
    au_buf_u64(b, x->bytes);
    au_buf_key(b, "bytes_out");
    au_buf_u64(b, x->bytes_out);
    digest_or_null(b, "sha256", x->sha);
    if (x->sha != NULL && x->sha_out != NULL && memcmp(x->sha, x->sha_out, 32) == 0 &&
        gw_buf_reserve(b, 14 + 66) == 0) {
        /* unchanged by transforms, as most bodies are: the same 66 characters again */
        const char *hex = b->p + b->len - 66;
        au_buf_key(b, "sha256_out");
        gw_buf_add(b, hex, 66);
    } else {
        digest_or_null(b, "sha256_out", x->sha_out);
    }
    gw_buf_add(b, "}", 1);
}

static inline void
names(struct gw_buf *b, const char *key, const char *const *v, size_t n)
{
    au_buf_key(b, key);
    au_buf_strings(b, v, n);
}

/* {"body": text or null, "encoding": "utf-8", "base64" or null, "truncated": bool,
 *  "withheld": bool} */
static inline void
captured(struct gw_buf *b, const char *key, const struct au_body *x)
{
    int text = x->captured == AU_CAPTURED_TEXT, b64 = x->captured == AU_CAPTURED_BASE64;

    au_buf_key(b, key);
    gw_buf_add(b, "{", 1);
    au_buf_key(b, "body");
    if (text || b64)
        au_buf_jstr(b, x->text != NULL ? x->text : "", x->text_len);
    else
        gw_buf_adds(b, "null");
    au_buf_key(b, "encoding");
    gw_buf_adds(b, text ? "\"utf-8\"" : b64 ? "\"base64\"" : "null");
    au_buf_key(b, "truncated");
    gw_buf_adds(b, x->truncated ? "true" : "false");
    au_buf_key(b, "withheld");
    gw_buf_adds(b, x->captured == AU_CAPTURED_WITHHELD ? "true" : "false");
    gw_buf_add(b, "}", 1);
}

/* "admin": {"accepted": bool, "action", "after", "before", "problems": [...], "target", "via",
 * "who"} or null */
static void
admin(struct gw_buf *b, const struct au_admin *a)
{
    au_buf_key(b, "admin");
    if (a == NULL) {
        gw_buf_adds(b, "null");
        return;
    }
    gw_buf_add(b, "{", 1);
    au_buf_key(b, "accepted");
    gw_buf_adds(b, a->accepted ? "true" : "false");
    str_or_null(b, "action", a->action);
    str_or_null(b, "after", a->after);
    str_or_null(b, "before", a->before);
    names(b, "problems", a->problems, a->nproblems);
    str_or_null(b, "target", a->target);
    str_or_null(b, "via", a->via);
    str_or_null(b, "who", a->who);
    gw_buf_add(b, "}", 1);
}

/* "signatures": oldest first. */
static void
signatures(struct gw_buf *b, const struct tf_signature *list)
{
    const struct tf_signature *at[32];
    size_t n = 0;

    for (const struct tf_signature *s = list; s != NULL && n < 32; s = s->next)
        at[n++] = s;
    au_buf_key(b, "signatures");
    gw_buf_add(b, "[", 1);
    while (n-- > 0) {
        const struct tf_signature *s = at[n];
        gw_buf_adds(b, b->p[b->len - 1] == '[' ? "{" : ",{");
        str_or_null(b, "alg", s->alg);
        str_or_null(b, "cert_sha256", s->cert_sha256[0] != '\0' ? s->cert_sha256 : NULL);
        str_or_null(b, "kid", s->kid);
        str_or_null(b, "kind", s->kind);
        str_or_null(b, "op", s->made ? "signed" : "verified");
        str_or_null(b, "partner", s->partner);
        str_or_null(b, "phase", s->phase == TF_PHASE_REQUEST ? "request" : "response");
        str_or_null(b, "signed_sha256", s->signed_sha256);
        gw_buf_add(b, "}", 1);
    }
    gw_buf_add(b, "]", 1);
}

int
au_event_write(const struct au_event *e, struct gw_buf *b, struct au_event_text *out)
{
    gw_buf_reset(b);
    if (gw_buf_reserve(b, 2048) < 0) /* an event without captured bodies fits */
        return -1;
    gw_buf_add(b, "{", 1);
    admin(b, e->admin);
    au_buf_key(b, "capture");
    if (e->capture_body) {
        gw_buf_add(b, "{", 1);
        captured(b, "request", &e->req);
        captured(b, "response", &e->resp);
        gw_buf_add(b, "}", 1);
    } else {
        gw_buf_adds(b, "null");
    }
    au_buf_key(b, "cert");
    if (e->subject != NULL) {
        gw_buf_add(b, "{", 1);
        str_or_null(b, "issuer", e->issuer);
        str_or_null(b, "serial", e->serial);
        str_or_null(b, "sha256", e->fingerprint);
        str_or_null(b, "subject", e->subject);
        gw_buf_add(b, "}", 1);
    } else {
        gw_buf_adds(b, "null");
    }
    au_buf_key(b, "chain");
    gw_buf_add(b, "{", 1);
    names(b, "request", e->chain_req, e->nchain_req);
    names(b, "response", e->chain_resp, e->nchain_resp);
    gw_buf_add(b, "}", 1);
    au_buf_key(b, "client");
    gw_buf_add(b, "{", 1);
    str_or_null(b, "address", e->client_addr);
    au_buf_key(b, "port");
    au_buf_i64(b, e->client_port);
    gw_buf_add(b, "}", 1);
    str_or_null(b, "config", e->config);
    au_buf_key(b, "consumer");
    if (e->consumer != NULL) {
        gw_buf_add(b, "{", 1);
        str_or_null(b, "id", e->consumer);
        str_or_null(b, "key", e->key_id);
        gw_buf_add(b, "}", 1);
    } else {
        gw_buf_adds(b, "null");
    }
    au_buf_key(b, "delivery");
    if (e->delivery != NULL) {
        const struct ex_delivery *d = e->delivery;
        gw_buf_add(b, "{", 1);
        time_or_null(b, "accepted", d->accepted_us);
        au_buf_key(b, "attempt");
        au_buf_i64(b, d->attempt);
        str_or_null(b, "dead_letter", d->dead_letter);
        str_or_null(b, "id", d->id);
        time_or_null(b, "next_attempt", d->next_us);
        str_or_null(b, "outcome", d->outcome);
        gw_buf_add(b, "}", 1);
    } else {
        gw_buf_adds(b, "null");
    }
    if (e->detail != NULL)
        str_or_null(b, "detail", e->detail);
    out->hash_at = b->len;
    au_buf_key(b, "id");
    au_buf_hex(b, e->id, 16);
    str_or_null(b, "kind", e->kind);
    au_buf_key(b, "latency_us");
    au_buf_i64(b, e->latency_us);
    str_or_null(b, "method", e->method);
    str_or_null(b, "node", e->node);
    str_or_null(b, "outcome", e->outcome);
    str_or_null(b, "partner", e->partner);
    au_buf_key(b, "path");
    if (e->path != NULL)
        au_buf_jstr(b, e->path, e->path_len);
    else
        gw_buf_adds(b, "null");
    str_or_null(b, "plan", e->plan);
    out->prev_at = b->len;
    str_or_null(b, "reason", e->reason);
    body(b, "request", &e->req);
    str_or_null(b, "request_id", e->request_id);
    body(b, "response", &e->resp);
    str_or_null(b, "route", e->route);
    out->seq_at = b->len;
    signatures(b, e->signatures);
    int_or_null(b, "status", e->status, e->status > 0);
    au_buf_key(b, "time");
    gw_buf_add(b, "{", 1);
    time_or_null(b, "forwarded", e->forwarded_us);
    time_or_null(b, "received", e->received_us);
    time_or_null(b, "responded", e->responded_us);
    gw_buf_add(b, "}", 1);
    au_buf_key(b, "upstream");
    if (e->up_addr != NULL || e->up_set != NULL) {
        gw_buf_add(b, "{", 1);
        str_or_null(b, "address", e->up_addr);
        int_or_null(b, "latency_us", e->up_latency_us, e->up_latency_us >= 0);
        if (e->up_partition >= 0) {
            int_or_null(b, "offset", e->up_offset, 1);
            int_or_null(b, "partition", e->up_partition, 1);
        }
        if (e->up_set != NULL)
            str_or_null(b, "set", e->up_set);
        int_or_null(b, "status", e->up_status, e->up_status > 0);
        if (e->tries != NULL) {
            au_buf_key(b, "tries");
            gw_buf_add(b, "[", 1);
            for (size_t i = 0; i < e->ntries; i++) {
                const struct au_try *t = &e->tries[i];
                gw_buf_add(b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
                str_or_null(b, "address", t->addr);
                str_or_null(b, "error", t->error);
                int_or_null(b, "latency_us", t->latency_us, t->latency_us >= 0);
                int_or_null(b, "status", t->status, t->status > 0);
                gw_buf_add(b, "}", 1);
            }
            gw_buf_add(b, "]", 1);
        }
        gw_buf_add(b, "}", 1);
    } else {
        gw_buf_adds(b, "null");
    }
    au_buf_key(b, "v");
    au_buf_i64(b, AU_EVENT_VERSION);
    gw_buf_add(b, "}", 1);
    out->p = b->p;
    out->len = b->len;
    return b->oom ? -1 : 0;
}
