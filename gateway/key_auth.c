/* key_auth.c: admission by API key (see key_auth.h). */
#include "key_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config.h"
#include "consumer.h"
#include "consumer_store.h"
#include "log.h"

/* Does field h hold a key: api_keys.header, or Authorization with the Bearer scheme (any token
 * when any_bearer, else only one of a key's form: beside api_keys.header, another token there is
 * the upstream's credential)? 1 with the key at *key, *n bytes, else 0. */
static int
key_in(const struct gw_http_header *h, const char *header, int any_bearer, const char **key,
       size_t *n)
{
    size_t hl = strlen(header);

    if (h->name_len == hl && strncasecmp(h->name, header, hl) == 0) {
        *key = h->value;
        *n = h->value_len;
        return 1;
    }
    if (h->name_len != 13 || strncasecmp(h->name, "authorization", 13) != 0 ||
        h->value_len <= 7 || strncasecmp(h->value, "bearer ", 7) != 0)
        return 0;
    *key = h->value + 7;
    *n = h->value_len - 7;
    while (*n > 0 && (**key == ' ' || **key == '\t')) {
        (*key)++;
        (*n)--;
    }
    return any_bearer || (*n >= 4 && memcmp(*key, "ptk_", 4) == 0);
}

/* The request's key: api_keys.header, else Authorization with the Bearer scheme; one key,
 * though it may come in more than one field (some clients send both). Returns the number of
 * fields that hold it (the key at *key, *n bytes; 0: none), or -1 when they hold different keys
 * (which one is meant is not guessed). */
static int
key_fields(const struct gw_exchange *ex, const char *header, const char **key, size_t *n)
{
    const struct gw_http_message *m = &ex->req;
    int any_bearer = gw_http_find_header(m, header) == NULL, count = 0;
    const char *v;
    size_t vn;

    for (size_t i = 0; i < m->nheaders; i++) {
        if (!key_in(&m->headers[i], header, any_bearer, &v, &vn))
            continue;
        if (count++ == 0) {
            *key = v;
            *n = vn;
        } else if (vn != *n || memcmp(v, *key, vn) != 0) {
            return -1;
        }
    }
    return count;
}

/* (A Bearer token of another form stays: it is the upstream's. A consumer's key that came as
 * Authorization: Bearer was of a key's form, or it would have been refused.) */
void
gw_key_strip(struct gw_exchange *ex)
{
    struct gw_http_message *m = &ex->req;
    const char *header = ex->c->snap->config->api_keys.header, *v;
    size_t o = 0, vn;

    for (size_t i = 0; i < m->nheaders; i++)
        if (!key_in(&m->headers[i], header, 0, &v, &vn))
            m->headers[o++] = m->headers[i];
    m->nheaders = o;
}

static int
refuse(struct gw_exchange *ex, int status, const char *code, const char *client,
       const char *detail)
{
    ex->reason_detail = detail != NULL ? gw_arena_strndup(&ex->arena, detail, strlen(detail))
                                       : NULL;
    gw_exchange_problem(ex, status, code, client,
                        status == 401 ? "WWW-Authenticate: Bearer realm=\"portico\"\r\n" : NULL);
    return -1;
}

/* The record of kid: the store's, else the snapshot's. 0, or -1 when none has it. */
static int
find_key(const struct gw_exchange *ex, const char *kid, struct gw_key_record *rec,
         const struct pt_consumer **co)
{
    const struct pt_key_ref *ref = pt_consumers_key(&ex->snap->consumers, kid);

    if (gw_cstore_key(kid, rec)) {
        *co = rec->rt != NULL ? &rec->rt->c : pt_consumers_find(&ex->snap->consumers,
                                                                rec->consumer);
        if (ref != NULL && ref->consumer == *co)
            gw_key_stricter(&rec->key, ref->key);
        return *co != NULL ? 0 : -1;
    }
    if (ref == NULL)
        return -1;
    rec->key = *ref->key;
    rec->rt = NULL;
    *co = ref->consumer;
    return 0;
}

/* The consumer's limits in this snapshot: a consumers_dir one's are compiled with it; a run-time
 * one has its plan's figures, counted in its own state. */
static const struct pt_limits *
limits_of(struct gw_exchange *ex, const struct gw_key_record *rec, const struct pt_consumer *co,
          const struct pt_plan *plan)
{
    struct pt_limits *l;

    if (rec->rt == NULL)
        return pt_limits_any(&co->limits) ? &co->limits : NULL;
    if (!pt_limits_any(&plan->limits) || (l = gw_arena_alloc(&ex->arena, sizeof *l)) == NULL)
        return NULL;
    *l = plan->limits;
    l->state = rec->rt->state;
    return l;
}

int
gw_key_admit(struct gw_exchange *ex)
{
    const struct gw_config *cfg = ex->c->snap->config;
    const struct pt_snapshot *s = ex->snap;
    const struct pt_consumer *co = NULL;
    const struct pt_plan *plan;
    struct gw_key_record rec;
    char kid[PT_KID_LEN + 1], detail[256];
    unsigned char mac[32];
    const char *key = NULL, *why;
    size_t n = 0;
    int fields = key_fields(ex, cfg->api_keys.header, &key, &n);

    if (fields < 0)
        return refuse(ex, 401, "key-invalid", "the request holds more than one API key",
                      "different keys in one request");
    if (fields == 0) {
        snprintf(detail, sizeof detail, "route %s takes an API key (%s, or Authorization: Bearer)",
                 ex->route->name, cfg->api_keys.header);
        return refuse(ex, 401, "key-missing", detail, NULL);
    }
    if (pt_key_kid(key, n, kid) < 0)
        return refuse(ex, 401, "key-invalid", "the API key is not valid",
                      "not an API key's form");
    if (!s->key_mac_set || find_key(ex, kid, &rec, &co) < 0) {
        snprintf(detail, sizeof detail, "no key has id %s", kid);
        return refuse(ex, 401, "key-invalid", "the API key is not valid", detail);
    }
    gw_hmac_sha256(&s->key_mac, key, n, mac);
    if (CRYPTO_memcmp(mac, rec.key.hash, sizeof mac) != 0) {
        snprintf(detail, sizeof detail, "key %s of consumer %s: the key does not match its hash",
                 kid, co->id);
        return refuse(ex, 401, "key-invalid", "the API key is not valid", detail);
    }
    if ((why = gw_key_state(&rec.key, (int64_t)time(NULL))) != NULL) {
        snprintf(detail, sizeof detail, "key %s of consumer %s is %s", kid, co->id,
                 why[4] == 'r' ? "revoked" : "past its expiry");
        return refuse(ex, 401, why, why[4] == 'r' ? "the API key was revoked"
                                                  : "the API key has expired", detail);
    }
    /* the key is good: from here on the exchange is the consumer's, and the key leaves the
     * request */
    gw_key_strip(ex);
    ex->consumer = co;
    ex->key_id = gw_arena_strndup(&ex->arena, kid, PT_KID_LEN);
    plan = rec.rt != NULL ? pt_plan_find(s->plans, s->nplans, co->plan_name) : co->plan;
    ex->plan = plan;
    if (plan == NULL || !pt_plan_allows(plan, ex->route->name)) {
        char audited[320];
        if (plan == NULL)
            snprintf(detail, sizeof detail, "consumer %s's plan %s does not exist", co->id,
                     co->plan_name != NULL ? co->plan_name : "(none)");
        else
            snprintf(detail, sizeof detail, "consumer %s's plan %s does not include route %s",
                     co->id, plan->name, ex->route->name);
        /* the audit and the log name the key too, as for every other refusal of one */
        snprintf(audited, sizeof audited, "key %s: %s", kid, detail);
        return refuse(ex, 403, "plan-not-allowed", detail, audited);
    }
    ex->caller_limits = limits_of(ex, &rec, co, plan);
    return 0;
}
