/* key_auth_conf.c: portico.json's "api_keys" section (see key_auth.h):
 *
 *   "api_keys": { "secret_file": "keys.secret",       the HMAC secret keys are hashed under
 *                 "header": "X-API-Key",              the field a key comes in (default), or
 *                                                     Authorization: Bearer
 *                 "store_file": "consumers.store.jsonl" } run-time consumers and keys (default)
 */
#include "key_auth.h"

#include <string.h>

#include "conf_table.h"
#include "http_parser.h"

void
gw_api_keys_conf_load(const struct gw_jctx *c, const json_t *obj, struct gw_api_keys_conf *k)
{
    static const struct gw_conf_key keys[] = {
        { GW_KEY_PATH(struct gw_api_keys_conf, secret_file, NULL) },
        { GW_KEY_STRING(struct gw_api_keys_conf, header, "X-API-Key") },
        { GW_KEY_PATH(struct gw_api_keys_conf, store_file, "consumers.store.jsonl") },
        GW_KEY_END,
    };

    gw_conf_read(c, obj, "api_keys", keys, k, NULL);
    if (k->header != NULL && !gw_http_token_valid(k->header, strlen(k->header)))
        gw_jctx_error(c, "api_keys.header", "\"%s\" is not a header field name", k->header);
}
