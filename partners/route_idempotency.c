/* route_idempotency.c: a route's "idempotency" (see partner.h, struct pt_idem): where a
 * message's id is, and how long a repeat of it is answered from the first answer. The gateway
 * keeps the answers (gateway/idempotency.c). */
#include "bundle.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "conf_table.h"
#include "http_parser.h"

#define MAX_WINDOW_MS (30LL * 86400000)

void
pt_idem_free(struct pt_idem *d)
{
    if (d == NULL)
        return;
    free(d->key);
    free(d->field);
    gw_jptr_free(&d->pointer);
    free(d);
}

void
pt_route_idempotency(const struct gw_jctx *c, const json_t *obj, const char *path,
                     struct pt_route *r)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct pt_idem, key, "field:Idempotency-Key") },
        { GW_KEY_INT(struct pt_idem, window_ms, 1000, MAX_WINDOW_MS, 86400000) },
        { GW_KEY_INT(struct pt_idem, wait_ms, 0, 600000, 30000) },
        { GW_KEY_INT(struct pt_idem, max_answer_bytes, 0, 16 << 20, 1 << 20) },
        GW_KEY_END,
    };
    char ipath[GW_JPATH_MAX], kpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, "idempotency", JSON_OBJECT, 0);
    struct pt_idem *d;
    int bad;

    if (v == NULL)
        return;
    d = gw_xcalloc(1, sizeof *d);
    gw_jpath_key(ipath, sizeof ipath, path, "idempotency");
    bad = gw_conf_read(c, v, ipath, keys, d, NULL);
    if (d->key == NULL) {
        pt_idem_free(d);
        return;
    }
    if (strncmp(d->key, "field:", 6) == 0 && gw_http_token_valid(d->key + 6, strlen(d->key + 6))) {
        d->field = gw_xstrdup(d->key + 6);
    } else if (strncmp(d->key, "pointer:", 8) != 0 || d->key[8] != '/' ||
               gw_jptr_compile(d->key + 8, &d->pointer) < 0) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, ipath, "key"),
                      "expected \"field:NAME\" or \"pointer:/json/pointer\", got \"%s\"", d->key);
        pt_idem_free(d);
        return;
    }
    if (bad > 0) {
        pt_idem_free(d);
        return;
    }
    r->idem = d;
    r->whole_body = 1; /* (the body's digest tells a repeat from a reuse of the id) */
}
