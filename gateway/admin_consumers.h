/* admin_consumers.h: the admin API's consumers, the self-serve step a developer portal calls:
 *
 *   GET    /consumers                     every consumer (consumers_dir's and the store's)
 *   GET    /consumers/{id}                one, with its keys (ids and states, never hashes)
 *   POST   /consumers                     {"plan", "id"?, "name"?}: a consumer and its first
 *                                         key, shown once (201)
 *   POST   /consumers/{id}/keys           {"expires_in_s"?, "replaces"?, "overlap_s"?}: a new
 *                                         key, shown once; the key it replaces stops working
 *                                         after the overlap (201)
 *   DELETE /consumers/{id}/keys/{kid}     the key stops working now (200)
 *
 * Every change is kept in the consumer store (consumer_store.h) before it is answered, and
 * audited (kind "admin"). Keys are never logged nor audited: their ids are.
 */
#ifndef GW_ADMIN_CONSUMERS_H
#define GW_ADMIN_CONSUMERS_H

#include <stddef.h>

#include "buf.h"
#include "control.h"
#include "snapshot.h"

struct au_log;

/* An answer: its status and JSON body (application/problem+json when status >= 400). */
struct gw_admin_answer {
    int status;
    struct gw_buf body;
    const char *allow;     /* for a 405: the Allow field */
};

/* Serve method ("GET", "POST", "DELETE") on path (under /consumers) with the request body
 * body[0..n); changes are audited into audit (may be NULL) as made by caller. */
void gw_admin_consumers(const struct pt_snapshot *s, struct au_log *audit,
                        const struct gw_admin_caller *caller, const char *method,
                        const char *path, const char *body, size_t n,
                        struct gw_admin_answer *out);

#endif
