/* consumer.h: the public use: plans (billing tiers), consumers and their API keys.
 *
 * A plan, in portico.json's "plans", names its limits and the key routes its consumers may call;
 * a partner may have one too (then its limits apply to the partner). A consumer is a developer's
 * application: an id, a plan and API keys. Consumers come from consumers_dir (one
 * <id>.json each, for GitOps) into the snapshot, or are made at run time through the admin API
 * (the gateway's consumer store keeps those). The formats are in partners/README.md.
 *
 * An API key is "ptk_" + a 12-hex-digit key id (kid) + "_" + 43 base64url characters of
 * randomness. Only its keyed hash is kept (HMAC-SHA-256 under api_keys.secret_file's secret):
 * the kid finds the key, the hash proves it, compared in constant time.
 */
#ifndef PT_CONSUMER_H
#define PT_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "json_loc.h"
#include "limit_spec.h"

#define PT_KID_LEN 12           /* hex digits of a key id */
#define PT_KEY_SECRET_LEN 43    /* base64url characters of a key's 32 random bytes */
#define PT_KEY_LEN (4 + PT_KID_LEN + 1 + PT_KEY_SECRET_LEN) /* "ptk_" kid "_" secret */

struct pt_plan {
    char *name;
    struct pt_limits limits;  /* each subscriber's own counters, with these figures */
    char **routes;            /* the key routes its consumers may call (route names) */
    size_t nroutes;
    int all_routes;           /* "routes": "*" */
};

struct pt_key {
    char kid[PT_KID_LEN + 1];
    unsigned char hash[32];   /* HMAC-SHA-256 of the whole key */
    int64_t created;          /* s since the epoch; 0: unknown */
    int64_t expires;          /* s since the epoch; 0: never */
    int revoked;
};

struct pt_consumer {
    char *id;
    char *name;               /* NULL: none */
    char *plan_name;
    const struct pt_plan *plan; /* resolved against the snapshot's plans (NULL: unknown plan) */
    struct pt_limits limits;  /* the plan's, with the consumer's own "limits" over them */
    struct pt_key *keys;
    size_t nkeys;
    const char *file;         /* where it was declared (NULL: made at run time) */
    int line, col;
};

/* Is s a valid consumer id ([a-z0-9][a-z0-9._-]{0,63}, as partner ids)? */
int pt_consumer_id_valid(const char *s);

/* The plan named name among plans, or NULL. */
const struct pt_plan *pt_plan_find(struct pt_plan *const *plans, size_t n, const char *name);

/* May a consumer on plan p call the route named route? */
int pt_plan_allows(const struct pt_plan *p, const char *route);

#endif
