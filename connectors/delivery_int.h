/* delivery_int.h: the deliveries' insides, shared by delivery_record.c (the log's records),
 * delivery.c (the delivery thread), delivery_attempt.c (an attempt: an exchange of the delivery
 * thread's own through the http connector), delivery_status.c (what GET tells) and
 * delivery_route.c (the routes' connectors). */
#ifndef CN_DELIVERY_INT_H
#define CN_DELIVERY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "connector.h"
#include "delivery.h"

/* A route's "async" options, compiled (its cn_conf). */
struct dv_route {
    int attempts;            /* attempts in all before the dead-letter topic */
    int64_t max_age_ms;      /* or this long after it was accepted */
    int backoff_ms;          /* the wait after the first failure, doubled after each */
    int max_backoff_ms;
    int ordered;             /* one at a time per partner, in order */
    char *dead_letter;       /* the dead-letter topic */
};

enum { DV_REC_MESSAGE = 1, DV_REC_OUTCOME = 2 };

/* A record of the log, read (its strings NUL-terminated in place). */
struct dv_rec {
    int kind;
    /* DV_REC_MESSAGE */
    uint64_t accepted_us;    /* UTC µs */
    const char *id, *route, *owner, *partner, *ip, *subject, *fingerprint;
    int tls, trusted;
    const char *head;        /* the request head to send (with Idempotency-Key and a length) */
    size_t head_len;
    const char *body;
    size_t body_len;
    /* DV_REC_OUTCOME (id too) */
    int outcome;             /* CN_DV_DELIVERED or CN_DV_DEAD */
    int status, attempts;
    const char *error;
};

/* delivery_record.c */
/* The exchange's request as a message record; NULL when a part is too long for the frame. */
char *dv_message_record(const struct gw_exchange *ex, size_t *len);
char *dv_outcome_record(const char *id, int outcome, int status, int attempts, const char *error,
                        size_t *len);
/* Read p[0..n) (the record's copy: strings are terminated in place). 0, or -1: not a record. */
int dv_record_read(char *p, size_t n, struct dv_rec *r);

/* delivery_status.c: the table of deliveries by id, for GET (any thread). */
struct dv_status {
    enum cn_delivery_state state;
    int status, attempts;
    char error[160];
    char route[64];
};
void dv_status_init(size_t keep);
void dv_status_free(void);
/* Set id's standing (partner: who may ask). Ended ones beyond `keep` are forgotten, oldest
 * first. */
void dv_status_set(const char *id, const char *partner, const struct dv_status *s);
/* id's standing for partner (NULL: public): 1, or 0 when unknown (or another partner's). */
int dv_status_get(const char *id, const char *partner, struct dv_status *out);

/* delivery_attempt.c: one attempt of a message at its upstream, on the delivery thread's loop. */
struct dv_attempt;
/* The attempt ended: status (0: no answer) and error; the callee says how the delivery goes on in
 * ex->delivery (in ex's arena), which the observers then publish (the audit's event). */
typedef void dv_attempt_done_fn(void *arg, struct gw_exchange *ex, int status, const char *error);
/* Start it (route: where it goes now; http: the thread's http connector state; obs: the delivery
 * thread's observers). done is called once, later, on the loop (never from within this call).
 * NULL: out of memory. */
struct dv_attempt *dv_attempt_start(struct event_base *base, struct pt_snapshot *snap,
                                    const struct ex_settings *set, const struct pt_route *route,
                                    void *http, const struct ex_observers *obs,
                                    const struct dv_rec *m, dv_attempt_done_fn *done, void *arg);
/* Give it up (stopping): done is not called. */
void dv_attempt_cancel(struct dv_attempt *a);

/* delivery.c: the log the routes' connectors put messages in (NULL: not open). */
int dv_put(const struct gw_exchange *ex);

#endif
