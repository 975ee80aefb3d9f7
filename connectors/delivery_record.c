/* delivery_record.c: the delivery log's records (see delivery_int.h).
 *
 * A message: version (1) | kind (1) | flags (1: TLS, 2: trusted proxy) | 0 | accepted, UTC µs (8,
 * little-endian) | the strings id, route, owner, partner, client address, certificate subject and
 * fingerprint, each a length (2, with its NUL) and the bytes with a NUL | head length (4) | the
 * request head to send | the body.
 * An outcome: version | kind | outcome | 0 | status (2) | attempts (2) | id | error.
 */
#include "delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define VERSION 1

static void
put_le(struct gw_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        gw_buf_addc(b, (char)(v >> (8 * i) & 0xff));
}

static void
put_str(struct gw_buf *b, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n >= UINT16_MAX) { /* (never so long: ids, names, subjects) */
        b->over = 1;
        return;
    }
    put_le(b, n + 1, 2);
    gw_buf_add(b, s != NULL ? s : "", n);
    gw_buf_addc(b, '\0');
}

static int
name_is(const struct gw_http_header *h, const char *lower)
{
    return gw_http_token_eq(h->name, h->name_len, lower);
}

/* The head the delivery sends: the request's line and fields as the request chain left them,
 * but its framing and Expect, with the delivery's Idempotency-Key and the body's length. */
static void
put_head(struct gw_buf *b, const struct gw_exchange *ex)
{
    const struct gw_http_message *q = &ex->req;
    char num[32];

    gw_buf_add(b, q->method_str, q->method_len);
    gw_buf_addc(b, ' ');
    gw_buf_add(b, q->target, q->target_len);
    gw_buf_adds(b, " HTTP/1.1\r\n");
    for (size_t i = 0; i < q->nheaders; i++) {
        const struct gw_http_header *h = &q->headers[i];
        if (gw_http_hop_by_hop(h) || name_is(h, "content-length") || name_is(h, "expect") ||
            name_is(h, "idempotency-key"))
            continue;
        gw_http_put_field(b, h->name, h->name_len, h->value, h->value_len);
    }
    gw_http_put_field(b, "Idempotency-Key", 15, ex->request_id, strlen(ex->request_id));
    snprintf(num, sizeof num, "%zu", ex->req_body_len);
    gw_http_put_field(b, "Content-Length", 14, num, strlen(num));
    gw_buf_add(b, "\r\n", 2);
}

char *
dv_message_record(const struct gw_exchange *ex, size_t *len)
{
    struct gw_buf b = {0};
    const struct ex_cert *cert = ex->partner != NULL ? ex->api->cert((struct gw_exchange *)ex)
                                                     : NULL;
    const struct pt_route *r = ex->route;
    size_t at;

    gw_buf_addc(&b, VERSION);
    gw_buf_addc(&b, DV_REC_MESSAGE);
    gw_buf_addc(&b, (char)((ex->client->tls ? 1 : 0) | (ex->client->trusted ? 2 : 0)));
    gw_buf_addc(&b, 0);
    put_le(&b, ex->t_received, 8);
    put_str(&b, ex->request_id);
    put_str(&b, r->name);
    put_str(&b, r->owner != NULL ? r->owner->id : NULL);
    put_str(&b, ex->partner != NULL ? ex->partner->id : NULL);
    put_str(&b, ex->client->ip);
    put_str(&b, cert != NULL ? cert->subject : NULL);
    put_str(&b, cert != NULL ? cert->fingerprint : NULL);
    at = b.len;
    put_le(&b, 0, 4);
    put_head(&b, ex);
    if (!gw_buf_failed(&b)) {
        size_t hl = b.len - at - 4;
        for (int i = 0; i < 4; i++)
            b.p[at + (size_t)i] = (char)(hl >> (8 * i) & 0xff);
    }
    gw_buf_add(&b, ex->req_body, ex->req_body_len);
    if (gw_buf_failed(&b)) {
        gw_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

char *
dv_outcome_record(const char *id, int outcome, int status, int attempts, const char *error,
                  size_t *len)
{
    struct gw_buf b = {0};

    gw_buf_addc(&b, VERSION);
    gw_buf_addc(&b, DV_REC_OUTCOME);
    gw_buf_addc(&b, (char)outcome);
    gw_buf_addc(&b, 0);
    put_le(&b, (uint64_t)status, 2);
    put_le(&b, (uint64_t)(attempts > UINT16_MAX ? UINT16_MAX : attempts), 2);
    put_str(&b, id);
    put_str(&b, error);
    if (gw_buf_failed(&b)) {
        gw_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* ---- reading ---- */

struct cursor {
    char *p, *end;
    int bad;
};

static uint64_t
get_le(struct cursor *c, int n)
{
    uint64_t v = 0;

    if (c->end - c->p < n) {
        c->bad = 1;
        return 0;
    }
    for (int i = 0; i < n; i++)
        v |= (uint64_t)(unsigned char)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

static const char *
get_str(struct cursor *c)
{
    size_t n = (size_t)get_le(c, 2);
    const char *s = c->p;

    if (c->bad || n == 0 || (size_t)(c->end - c->p) < n || c->p[n - 1] != '\0') {
        c->bad = 1;
        return "";
    }
    c->p += n;
    return s;
}

int
dv_record_read(char *p, size_t n, struct dv_rec *r)
{
    struct cursor c = {p, p + n, 0};
    unsigned flags;

    memset(r, 0, sizeof *r);
    if (n < 4 || p[0] != VERSION)
        return -1;
    r->kind = p[1];
    flags = (unsigned char)p[2];
    c.p += 4;
    if (r->kind == DV_REC_OUTCOME) {
        r->outcome = (int)flags;
        r->status = (int)get_le(&c, 2);
        r->attempts = (int)get_le(&c, 2);
        r->id = get_str(&c);
        r->error = get_str(&c);
        return c.bad ? -1 : 0;
    }
    if (r->kind != DV_REC_MESSAGE)
        return -1;
    r->tls = flags & 1;
    r->trusted = (flags & 2) != 0;
    r->accepted_us = get_le(&c, 8);
    r->id = get_str(&c);
    r->route = get_str(&c);
    r->owner = get_str(&c);
    r->partner = get_str(&c);
    r->ip = get_str(&c);
    r->subject = get_str(&c);
    r->fingerprint = get_str(&c);
    r->head_len = (size_t)get_le(&c, 4);
    if (c.bad || (size_t)(c.end - c.p) < r->head_len)
        return -1;
    r->head = c.p;
    r->body = c.p + r->head_len;
    r->body_len = (size_t)(c.end - c.p) - r->head_len;
    return 0;
}
