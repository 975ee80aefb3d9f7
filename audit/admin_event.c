/* admin_event.c: the audit event of an administrator's change (see admin_event.h). */
#include "admin_event.h"

#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "clock.h"

int
au_log_admin(struct au_log *l, const char *node, const char *config, const struct au_admin *a,
             const struct au_admin_from *from)
{
    struct au_event e = {0};
    struct au_event_text t;
    struct gw_buf b = {0};
    uint64_t now = gw_wall_us();
    int rc = -1;

    if (l == NULL)
        return 0;
    e.kind = "admin";
    e.admin = a;
    if (getrandom(e.id, sizeof e.id, 0) != (ssize_t)sizeof e.id)
        return -1;
    e.node = node;
    e.config = config;
    e.received_us = from->received_us != 0 ? from->received_us : now;
    e.responded_us = now;
    if (from->cert != NULL && from->cert->subject != NULL) {
        e.subject = from->cert->subject;
        e.issuer = from->cert->issuer;
        e.serial = from->cert->serial;
        e.fingerprint = from->cert->fingerprint[0] ? from->cert->fingerprint : NULL;
    }
    e.client_addr = from->addr != NULL ? from->addr : "local";
    e.client_port = from->port;
    e.method = from->method;
    if (from->path != NULL) {
        e.path = from->path;
        e.path_len = strlen(from->path);
    }
    e.status = from->status;
    e.outcome = a->accepted ? "ok" : "refused";
    e.reason = a->accepted ? NULL : "configuration refused";
    e.latency_us = (int64_t)(now - e.received_us);
    if (au_event_write(&e, &b, &t) == 0)
        rc = au_log_append(l, node, strlen(node), &t);
    gw_buf_free(&b);
    return rc;
}
