/* event.h: the audit event (audit/README.md), written in its canonical form.
 *
 * The audit's observer of exchanges (exchange_observer.c) fills a struct au_event from an
 * exchange or a refused handshake; au_event_write() turns it into the event's text, members in
 * canonical order, with the offsets where the log puts the chain members (audit.h,
 * au_event_text).
 */
#ifndef AU_EVENT_H
#define AU_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "exchange_t.h"
#include "jsonw.h"

#define AU_EVENT_VERSION 5
/* The largest event: under librdkafka's default message.max.bytes (1,000,000) with room for the
 * chain members and the record's framing. Larger ones go without their captured bodies. */
#define AU_EVENT_MAX 900000

struct au_body {
    uint64_t bytes, bytes_out;             /* before and after transforms */
    const unsigned char *sha, *sha_out;    /* 32 bytes each, or NULL (capture none) */
    /* capture "body": what au_capture_body() made of it */
    int captured;                          /* AU_CAPTURED_* (audit/capture.h) */
    const char *text;                      /* the redacted text or base64 */
    size_t text_len;
    int truncated;
};

/* One try at the upstream (upstream.tries). */
struct au_try {
    const char *addr;
    const char *error;           /* NULL: null */
    int status;                  /* 0: null */
    int64_t latency_us;          /* < 0: null */
};

/* A change an administrator made (kind "admin"): a reload, by the admin API, a signal or the
 * configuration watch. */
struct au_admin {
    const char *action;          /* "reload", "consumer-create", "key-create", "key-revoke" */
    const char *target;          /* what the change was made to ("consumer jane", "key
                                  * 0123456789ab of consumer jane"); NULL: null (a reload) */
    const char *via;             /* "api", "signal" or "watch" */
    const char *who;             /* the admin identity's name, or "SIGHUP", "watch" */
    const char *before, *after;  /* configuration versions; after NULL: refused */
    int accepted;
    const char *const *problems; /* why it was refused, as `portico check` prints them */
    size_t nproblems;
};

struct au_event {
    const char *kind;            /* "exchange", "delivery", "handshake" or "admin" */
    const struct au_admin *admin;/* kind "admin": what changed; else NULL (null) */
    const struct ex_delivery *delivery; /* NULL: null */
    unsigned char id[16];
    const char *node, *config;
    const char *request_id;      /* NULL: null */
    uint64_t received_us, forwarded_us, responded_us; /* UTC, µs since the epoch; 0: null */
    const char *partner;
    const char *consumer;        /* the consumer its API key identified: id, or NULL (null) */
    const char *key_id;          /* that key's id (kid, never the key); NULL: null */
    const char *plan;            /* the caller's plan (the consumer's, else the partner's); NULL:
                                  * null */
    /* the client certificate: subject NULL means none */
    const char *subject, *issuer, *serial, *fingerprint;
    const char *client_addr;
    int client_port;
    const char *route, *method;
    const char *path;
    size_t path_len;
    int status;                  /* 0: null */
    const char *outcome, *reason;
    const char *detail;          /* more about reason (a handshake's failed constraint); NULL:
                                  * no "detail" member */
    const char *up_addr;         /* the last try's; NULL: null (and upstream null without up_set) */
    int up_status;               /* 0: null */
    int64_t up_latency_us;       /* < 0: null */
    const char *up_set;          /* the route's upstream set, or NULL (no "set") */
    int up_partition;            /* kafka: the message's partition (< 0: no "partition", "offset") */
    int64_t up_offset;
    const struct au_try *tries;  /* upstream.tries; NULL: no "tries" (not an http upstream) */
    size_t ntries;
    int64_t latency_us;
    struct au_body req, resp;
    const char *const *chain_req, *const *chain_resp;
    size_t nchain_req, nchain_resp;
    int capture_body;            /* the "capture" member holds the bodies */
    const struct tf_signature *signatures; /* newest first (transforms/transform.h); NULL: [] */
};

/* Write e into b (emptied first) and set out's offsets. Returns 0, or -1 when memory ran out. */
int au_event_write(const struct au_event *e, struct gw_buf *b, struct au_event_text *out);

/* "2026-12-02T17:28:10.123Z" (25 bytes with the NUL) for µs since the epoch. */
void au_time_str(uint64_t us, char out[32]);

#endif
