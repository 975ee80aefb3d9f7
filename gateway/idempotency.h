/* idempotency.h: the idempotent receiver of routes with "idempotency" (partners/partner.h,
 * struct pt_idem).
 *
 * A request's message id (a field, or a place in its JSON body) names it on its route for its
 * partner. The first request with an id goes to the upstream; its answer (below 500, made by the
 * upstream or the connector, not a problem made here) is kept for the route's window. A repeat with
 * the same id and the same body (SHA-256) gets that answer back without reaching the upstream
 * (with `Idempotent-Replayed: true`); one with another body gets 422; one that comes while the
 * first is under way waits for it (polling the table every few milliseconds, at most the route's
 * wait_ms, then 409). An id whose first request got no answer to keep is let go: the next repeat
 * goes to the upstream.
 *
 * The answers are kept per node in memory (at most max_entries; the oldest go first) and in a file
 * beside the other logs (`<dir>/answers`), appended to as they are kept and read back at start,
 * so that a restart keeps the window.
 */
#ifndef GW_IDEMPOTENCY_H
#define GW_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "exchange_t.h"
#include "json_loc.h"

struct gw_idem_conf {    /* portico.json's "idempotency" */
    char *dir;           /* default "idempotency" */
    uint64_t max_entries;/* default 100000 */
};

int gw_idem_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_idem_conf *out);
void gw_idem_conf_free(struct gw_idem_conf *conf);
int gw_idem_conf_same(const struct gw_idem_conf *a, const struct gw_idem_conf *b);

/* Open the table when a route of snap has "idempotency" or its file is there (once; main
 * thread, before the workers see snap). 0, or -1 with a message in err. */
int gw_idem_open(const struct gw_idem_conf *conf, const struct pt_snapshot *snap, char *err,
                 size_t errlen);
void gw_idem_close(void);

/* Before the exchange's connector starts: 0 to go on (the exchange owns its id now, or has
 * none), 1 when it was answered or waits (it then starts the connector itself, later, if the
 * first request gives its id up). */
int gw_idem_begin(struct gw_exchange *ex);
/* The exchange's answer, as it leaves: kept for repeats when it is one to keep, else its id is
 * let go. headers: complete field lines (besides Content-Type), or NULL. */
void gw_idem_answer(struct gw_exchange *ex, int status, const char *content_type,
                    const char *headers, const char *body, size_t len);
/* The same from a response head m (its fields but framing and Via) and its whole body. */
void gw_idem_answer_msg(struct gw_exchange *ex, const struct gw_http_message *m, const char *body,
                        size_t len);
/* Does the exchange own an id, whose answer is to be kept (its response is then read whole)? */
int gw_idem_owner(const struct gw_exchange *ex);
/* The exchange ends: an id it owns without an answer is let go, a wait is stopped. */
void gw_idem_end(struct gw_exchange *ex);

#endif
