/* key_auth.h: admission by API key, for routes with "auth": "key" (partners/consumer.h).
 *
 * The key comes in api_keys.header or as Authorization: Bearer; it is taken out of the request
 * before anything else reads it (the upstream, the transforms, the audit's capture never see
 * it). Its kid finds the record (the run-time store's, gateway/consumer_store.h, else the
 * snapshot's); HMAC-SHA-256 of the key under the node's secret, compared in constant time,
 * proves it; then the key must be neither revoked nor expired, and its consumer's plan must
 * name the route.
 */
#ifndef GW_KEY_AUTH_H
#define GW_KEY_AUTH_H

#include "config.h"
#include "exchange.h"
#include "json_loc.h"

/* portico.json's "api_keys" (obj, NULL when absent) into *k, its defaults for what is not given
 * (key_auth_conf.c). Problems go through c. */
void gw_api_keys_conf_load(const struct gw_jctx *c, const json_t *obj,
                           struct gw_api_keys_conf *k);

/* 0 with ex->consumer, key_id, plan and caller_limits set; or -1 after answering 401
 * (key-missing, key-invalid, key-revoked, key-expired) or 403 (plan-not-allowed). */
int gw_key_admit(struct gw_exchange *ex);

/* Take every field holding a key out of the request (api_keys.header, and Authorization: Bearer
 * with a token of a key's form): after a consumer's admission, and for a partner its certificate
 * admitted on a route that takes keys too, whose key then goes no further than a consumer's. */
void gw_key_strip(struct gw_exchange *ex);

#endif
