/* admin_event.h: the audit event of an administrator's change (kind "admin", audit/README.md):
 * a reload asked for by the admin API, a signal or the configuration watch, accepted or refused,
 * in the node's chain like every exchange. */
#ifndef AU_ADMIN_EVENT_H
#define AU_ADMIN_EVENT_H

#include <stdint.h>

#include "audit.h"
#include "event.h"
#include "exchange_t.h"

/* Where the change came from. */
struct au_admin_from {
    const char *addr;            /* the admin client's address; NULL: the node itself ("local") */
    int port;
    const struct ex_cert *cert;  /* its verified certificate, or NULL */
    const char *method, *path;   /* the admin request ("POST", "/reload"), or NULL */
    int status;                  /* the answer's status, 0: none (a signal, the watch) */
    uint64_t received_us;        /* UTC µs when it was asked */
};

/* Write the event to the log. config: the version served after the change. Returns 0, or -1 when
 * it could not be written (counted as dropped, as any event). */
int au_log_admin(struct au_log *l, const char *node, const char *config,
                 const struct au_admin *a, const struct au_admin_from *from);

#endif
