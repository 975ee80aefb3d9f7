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
#include "sha256.h"

#define PT_KID_LEN 12           /* hex digits of a key id */
#define PT_KEY_SECRET_LEN 43    /* base64url characters of a key's 32 random bytes */
#define PT_KEY_LEN (4 + PT_KID_LEN + 1 + PT_KEY_SECRET_LEN) /* "ptk_" kid "_" secret */
#define PT_SECRET_MIN 32        /* bytes of api_keys.secret_file's secret, at least */

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

/* A snapshot's consumers (consumers_dir's), and their keys by key id. */
struct pt_key_ref {
    struct pt_consumer *consumer;
    struct pt_key *key;
};

struct pt_consumers {
    struct pt_consumer **all;  /* in file name order */
    size_t n;
    struct pt_key_ref *keys;   /* sorted by kid */
    size_t nkeys;
};

/* ---- plans (plan.c) ---- */

/* portico.json's "plans" into *plans (n of them). Problems go through c; -1: out of memory. */
int pt_plans_load(const struct gw_jctx *c, const json_t *root, struct pt_plan ***plans,
                  size_t *n);
void pt_plan_free(struct pt_plan *p);

/* obj's (at path) "plan", when given, into *out: -1 after reporting an unknown plan, else 0. */
int pt_plan_use(const struct gw_jctx *c, const json_t *obj, const char *path,
                struct pt_plan *const *plans, size_t n, const struct pt_plan **out);

/* l becomes the plan's limits (none without a plan), for pt_limits_read to put the holder's own
 * "limits" over. */
void pt_limits_over(struct pt_limits *l, const struct pt_plan *plan);

/* ---- consumers and keys (consumer.c) ---- */

/* Every <id>.json of dir (explicit_dir: named in the config, so it must exist) into out; files
 * read are hashed into c->md. Problems go through c->d; -1: the folder cannot be listed. */
int pt_consumers_load(const struct gw_jctx *c, const char *dir, int explicit_dir,
                      struct pt_plan *const *plans, size_t nplans, struct pt_consumers *out);
void pt_consumers_free(struct pt_consumers *cs);
void pt_consumer_free(struct pt_consumer *c);
const struct pt_key_ref *pt_consumers_key(const struct pt_consumers *cs, const char *kid);
const struct pt_consumer *pt_consumers_find(const struct pt_consumers *cs, const char *id);

/* The key id of a key of the right form ("ptk_" kid "_" secret) into kid: 0, or -1. */
int pt_key_kid(const char *key, size_t n, char kid[PT_KID_LEN + 1]);
/* Is s a key id (12 lowercase hex digits)? */
int pt_kid_valid(const char *s);
/* A new key into out (shown once, never kept) and k (its kid, hash under mac, created now). 0, or
 * -1 when the random generator failed. */
int pt_key_make(const struct gw_hmac_sha256 *mac, char out[PT_KEY_LEN + 1], struct pt_key *k);

/* api_keys.secret_file's secret into *mac, what keys' hashes are made under; file is the path
 * as resolved (gateway/config.h). The secret is the file's bytes but one final newline, at least
 * PT_SECRET_MIN of them; those read are hashed into md when it is not NULL. The gateway's snapshot
 * and `portico consumer` read it here alike. 0, or -1 with why in err (unreadable, too short). */
int pt_key_secret_load(const char *file, EVP_MD_CTX *md, struct gw_hmac_sha256 *mac, char *err,
                       size_t errlen);

/* "2026-12-05T10:00:00Z" to s since the epoch: 0, or -1 when s is not that form. */
int pt_time_parse(const char *s, int64_t *out);
void pt_time_format(int64_t t, char out[32]);

/* Is s a valid consumer id ([a-z0-9][a-z0-9._-]{0,63}, as partner ids)? */
int pt_consumer_id_valid(const char *s);

/* The plan named name among plans, or NULL. */
const struct pt_plan *pt_plan_find(struct pt_plan *const *plans, size_t n, const char *name);

/* May a consumer on plan p call the route named route? */
int pt_plan_allows(const struct pt_plan *p, const char *route);

#endif
