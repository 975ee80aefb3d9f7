/* admin_consumers.c: the admin API's consumers and keys (see admin_consumers.h). */
#include "admin_consumers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "admin_event.h"
#include "config.h"
#include "consumer_store.h"
#include "jsonw.h"
#include "log.h"
#include "text.h"

#define MAX_EXPIRY_S (10LL * 366 * 86400)

static void
problem(struct gw_admin_answer *a, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
problem(struct gw_admin_answer *a, int status, const char *code, const char *fmt, ...)
{
    char detail[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    a->status = status;
    gw_buf_reset(&a->body);
    gw_buf_printf(&a->body, "{\"type\":\"urn:portico:problem:%s\",\"status\":%d,\"detail\":",
                  code, status);
    gw_json_str(&a->body, detail, strlen(detail), 0);
    gw_buf_addc(&a->body, '}');
}

/* ---- views ---- */

static void
time_or_null(struct gw_buf *b, const char *key, int64_t t)
{
    char s[32];

    au_buf_key(b, key);
    if (t == 0) {
        gw_buf_adds(b, "null");
        return;
    }
    pt_time_format(t, s);
    gw_buf_printf(b, "\"%s\"", s);
}

static void
key_view(struct gw_buf *b, const struct pt_key *k, const char *source, int64_t now)
{
    const char *why = gw_key_state(k, now);

    gw_buf_addc(b, '{');
    au_buf_key(b, "kid");
    gw_buf_printf(b, "\"%s\"", k->kid);
    time_or_null(b, "created", k->created);
    time_or_null(b, "expires", k->expires);
    au_buf_key(b, "state");
    gw_buf_adds(b, why == NULL ? "\"active\"" : why[4] == 'r' ? "\"revoked\"" : "\"expired\"");
    au_buf_key(b, "source");
    gw_buf_printf(b, "\"%s\"", source);
    gw_buf_addc(b, '}');
}

struct keys_walk {
    struct gw_buf *b;
    const char *id;
    const struct pt_consumer *co; /* a consumers_dir one: its keys the store overrides */
    int64_t now;
    int n;
};

/* co's own record of the key kid (consumers_dir's), or NULL. */
static const struct pt_key *
file_key(const struct pt_consumer *co, const char *kid)
{
    for (size_t i = 0; co != NULL && i < co->nkeys; i++)
        if (strcmp(co->keys[i].kid, kid) == 0)
            return &co->keys[i];
    return NULL;
}

static void
store_key(const struct gw_key_record *r, void *arg)
{
    struct keys_walk *w = arg;
    struct pt_key k = r->key;

    if (strcmp(r->consumer, w->id) != 0)
        return;
    gw_key_stricter(&k, file_key(w->co, k.kid));
    if (w->n++ > 0)
        gw_buf_addc(w->b, ',');
    key_view(w->b, &k, "api", w->now);
}

static void
consumer_view(struct gw_buf *b, const char *id, const char *name, const char *plan,
              const struct pt_consumer *co)
{
    struct keys_walk w = {b, id, co, (int64_t)time(NULL), 0};
    struct gw_key_record r;

    gw_buf_addc(b, '{');
    au_buf_key(b, "id");
    gw_json_str(b, id, strlen(id), 0);
    au_buf_key(b, "name");
    if (name != NULL)
        gw_json_str(b, name, strlen(name), 0);
    else
        gw_buf_adds(b, "null");
    au_buf_key(b, "plan");
    gw_json_str(b, plan, strlen(plan), 0);
    au_buf_key(b, "source");
    gw_buf_adds(b, co != NULL ? "\"config\"" : "\"api\"");
    au_buf_key(b, "keys");
    gw_buf_addc(b, '[');
    for (size_t i = 0; co != NULL && i < co->nkeys; i++) {
        if (gw_cstore_key(co->keys[i].kid, &r))
            continue; /* the store's record, below */
        if (w.n++ > 0)
            gw_buf_addc(b, ',');
        key_view(b, &co->keys[i], "config", w.now);
    }
    gw_cstore_each(NULL, store_key, &w);
    gw_buf_adds(b, "]}");
}

struct list_walk {
    struct gw_buf *b;
    int n;
};

static void
list_rt(const struct gw_rt_consumer *rc, void *arg)
{
    struct list_walk *w = arg;

    if (w->n++ > 0)
        gw_buf_addc(w->b, ',');
    /* (the store's lock is held: the keys are listed by GET /consumers/{id}) */
    gw_buf_addc(w->b, '{');
    au_buf_key(w->b, "id");
    gw_json_str(w->b, rc->c.id, strlen(rc->c.id), 0);
    au_buf_key(w->b, "plan");
    gw_json_str(w->b, rc->c.plan_name, strlen(rc->c.plan_name), 0);
    au_buf_key(w->b, "source");
    gw_buf_adds(w->b, "\"api\"}");
}

static void
list(const struct pt_snapshot *s, struct gw_admin_answer *a)
{
    struct list_walk w = {&a->body, 0};

    gw_buf_adds(&a->body, "{\"consumers\":[");
    for (size_t i = 0; i < s->consumers.n; i++) {
        const struct pt_consumer *co = s->consumers.all[i];
        if (w.n++ > 0)
            gw_buf_addc(&a->body, ',');
        gw_buf_addc(&a->body, '{');
        au_buf_key(&a->body, "id");
        gw_json_str(&a->body, co->id, strlen(co->id), 0);
        au_buf_key(&a->body, "plan");
        gw_json_str(&a->body, co->plan_name ? co->plan_name : "", co->plan_name ? strlen(co->plan_name) : 0, 0);
        au_buf_key(&a->body, "source");
        gw_buf_adds(&a->body, "\"config\"}");
    }
    gw_cstore_each(list_rt, NULL, &w);
    gw_buf_adds(&a->body, "]}");
    a->status = 200;
}

/* The consumer with this id: consumers_dir's (*co) or the store's (*rt). 0, or -1 (404 said). */
static int
find(const struct pt_snapshot *s, const char *id, const struct pt_consumer **co,
     const struct gw_rt_consumer **rt, struct gw_admin_answer *a)
{
    *co = pt_consumers_find(&s->consumers, id);
    *rt = *co == NULL ? gw_cstore_consumer(id) : NULL;
    if (*co == NULL && *rt == NULL) {
        problem(a, 404, "not-found", "no consumer %s", id);
        return -1;
    }
    return 0;
}

/* ---- changes ---- */

struct change {
    const struct pt_snapshot *s;
    struct au_log *audit;
    const struct gw_admin_caller *caller;
    const char *method, *path;
};

static void
audited(const struct change *ch, const char *action, const char *target, int status)
{
    struct au_admin ad = {.action = action, .via = "api", .who = ch->caller->who,
                          .target = target, .before = ch->s->version, .after = ch->s->version,
                          .accepted = status < 400};
    struct au_admin_from from = {.addr = ch->caller->addr, .port = ch->caller->port,
                                 .cert = ch->caller->cert, .method = ch->method,
                                 .path = ch->path, .status = status,
                                 .received_us = ch->caller->received_us};

    gw_log(GW_LOG_INFO, "admin: %s %s by %s", action, target, ch->caller->who);
    if (au_log_admin(ch->audit, ch->s->config->node, ch->s->version, &ad, &from) < 0)
        gw_log(GW_LOG_ERROR, "audit: the event of this change could not be written");
}

/* A new key for consumer id, written into the answer as {"kid", "key", "created", "expires"}
 * members (the object left open). 0, or -1 with the answer a problem. */
static int
new_key(const struct change *ch, const char *id, int64_t expires, struct gw_admin_answer *a,
        struct pt_key *k)
{
    char key[PT_KEY_LEN + 1], err[256], target[160];

    if (!ch->s->key_mac_set) {
        problem(a, 409, "no-key-secret", "api_keys.secret_file is not set: keys cannot be made");
        return -1;
    }
    if (pt_key_make(&ch->s->key_mac, key, k) < 0) {
        problem(a, 500, "internal-error", "the random generator failed");
        return -1;
    }
    k->expires = expires;
    if (gw_cstore_add_key(id, k, err, sizeof err) < 0) {
        problem(a, 503, "store-unavailable", "%s", err);
        OPENSSL_cleanse(key, sizeof key);
        return -1;
    }
    snprintf(target, sizeof target, "key %s of consumer %s", k->kid, id);
    audited(ch, "key-create", target, 201);
    a->status = 201;
    gw_buf_printf(&a->body, "{\"consumer\":");
    gw_json_str(&a->body, id, strlen(id), 0);
    gw_buf_printf(&a->body, ",\"kid\":\"%s\",\"key\":\"%s\"", k->kid, key);
    time_or_null(&a->body, "created", k->created);
    time_or_null(&a->body, "expires", k->expires);
    OPENSSL_cleanse(key, sizeof key);
    return 0;
}

/* An optional integer member of the body within [0, max]: 1 with *out, 0 absent, -1 (said). */
static int
body_int(const json_t *j, const char *key, long long max, long long *out,
         struct gw_admin_answer *a)
{
    json_t *v = json_object_get(j, key);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        problem(a, 400, "bad-request", "\"%s\": expected an integer from 0 to %lld", key, max);
        return -1;
    }
    *out = json_integer_value(v);
    return 1;
}

static int
body_keys(const json_t *j, const char *const *allowed, struct gw_admin_answer *a)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)j, k, v) {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], k) != 0)
            i++;
        if (allowed[i] == NULL) {
            problem(a, 400, "bad-request", "unknown member \"%s\"", k);
            return -1;
        }
    }
    return 0;
}

/* POST /consumers */
static void
create(const struct change *ch, const json_t *j, struct gw_admin_answer *a)
{
    static const char *const allowed[] = {"id", "name", "plan", "expires_in_s", NULL};
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *plan = json_string_value(json_object_get(j, "plan"));
    char made[32], err[256], target[96];
    long long in = 0;
    struct pt_key k;

    if (body_keys(j, allowed, a) < 0 || body_int(j, "expires_in_s", MAX_EXPIRY_S, &in, a) < 0)
        return;
    if (plan == NULL || pt_plan_find(ch->s->plans, ch->s->nplans, plan) == NULL) {
        problem(a, 422, "plan-unknown", plan == NULL ? "\"plan\" is required"
                : "no plan is named \"%s\"", plan);
        return;
    }
    if ((json_object_get(j, "id") != NULL && id == NULL) ||
        (json_object_get(j, "name") != NULL && name == NULL)) {
        problem(a, 400, "bad-request", "\"id\" and \"name\" are strings");
        return;
    }
    if (id == NULL) {
        unsigned char r[5];
        if (RAND_bytes(r, sizeof r) != 1) {
            problem(a, 500, "internal-error", "the random generator failed");
            return;
        }
        memcpy(made, "c-", 2);
        gw_hex_encode(made + 2, r, sizeof r);
        made[2 + 2 * sizeof r] = '\0';
        id = made;
    }
    if (!pt_consumer_id_valid(id)) {
        problem(a, 422, "bad-consumer-id", "\"%s\" is not a consumer id (1 to 64 of a-z 0-9 . _ "
                "-, starting with a letter or digit)", id);
        return;
    }
    if (pt_consumers_find(&ch->s->consumers, id) != NULL || gw_cstore_consumer(id) != NULL) {
        problem(a, 409, "consumer-exists", "consumer %s exists", id);
        return;
    }
    if (!ch->s->key_mac_set) {
        problem(a, 409, "no-key-secret", "api_keys.secret_file is not set: keys cannot be made");
        return;
    }
    if (gw_cstore_add_consumer(id, name, plan, err, sizeof err) < 0) {
        problem(a, 503, "store-unavailable", "%s", err);
        return;
    }
    snprintf(target, sizeof target, "consumer %s", id);
    audited(ch, "consumer-create", target, 201);
    if (new_key(ch, id, in > 0 ? (int64_t)time(NULL) + in : 0, a, &k) < 0)
        return;
    gw_buf_adds(&a->body, ",\"plan\":");
    gw_json_str(&a->body, plan, strlen(plan), 0);
    gw_buf_addc(&a->body, '}');
}

/* The key kid of consumer id as known now (the store's record, else consumers_dir's). */
static const char *
key_of(const struct pt_consumer *co, const char *id, const char *kid, struct pt_key *out)
{
    const struct pt_key *f = file_key(co, kid);
    struct gw_key_record r;

    if (gw_cstore_key(kid, &r)) {
        if (strcmp(r.consumer, id) != 0)
            return "no such key";
        *out = r.key;
        gw_key_stricter(out, f);
        return NULL;
    }
    if (f == NULL)
        return "no such key";
    *out = *f;
    return NULL;
}

static void
revoke(const struct change *ch, const char *id, const struct pt_consumer *co, const char *kid,
       int64_t at, struct gw_admin_answer *a, int answer)
{
    char err[256], target[160];
    struct pt_key k;

    if (key_of(co, id, kid, &k) != NULL) {
        problem(a, 404, "not-found", "consumer %s has no key %s", id, kid);
        return;
    }
    if (gw_cstore_revoke(id, &k, at, err, sizeof err) < 0) {
        problem(a, 503, "store-unavailable", "%s", err);
        return;
    }
    snprintf(target, sizeof target, "key %s of consumer %s", kid, id);
    audited(ch, "key-revoke", target, answer ? 200 : 201);
    if (!answer)
        return;
    a->status = 200;
    gw_buf_printf(&a->body, "{\"consumer\":");
    gw_json_str(&a->body, id, strlen(id), 0);
    gw_buf_printf(&a->body, ",\"kid\":\"%s\",\"state\":\"revoked\"}", kid);
}

/* POST /consumers/{id}/keys */
static void
rotate(const struct change *ch, const char *id, const struct pt_consumer *co, const json_t *j,
       struct gw_admin_answer *a)
{
    static const char *const allowed[] = {"expires_in_s", "replaces", "overlap_s", NULL};
    const char *old = json_string_value(json_object_get(j, "replaces"));
    long long in = 0, overlap = 0;
    int64_t now = (int64_t)time(NULL);
    struct pt_key k, was;

    if (body_keys(j, allowed, a) < 0 || body_int(j, "expires_in_s", MAX_EXPIRY_S, &in, a) < 0 ||
        body_int(j, "overlap_s", MAX_EXPIRY_S, &overlap, a) < 0)
        return;
    if (json_object_get(j, "overlap_s") != NULL && old == NULL) {
        problem(a, 400, "bad-request", "\"overlap_s\" goes with \"replaces\": the key rotated");
        return;
    }
    if (old != NULL && key_of(co, id, old, &was) != NULL) {
        problem(a, 404, "not-found", "consumer %s has no key %s to replace", id, old);
        return;
    }
    if (new_key(ch, id, in > 0 ? now + in : 0, a, &k) < 0)
        return;
    if (old != NULL) {
        struct gw_admin_answer side = {0};
        revoke(ch, id, co, old, now + overlap, &side, 0);
        gw_buf_free(&side.body);
        gw_buf_adds(&a->body, ",\"replaces\":");
        gw_buf_printf(&a->body, "{\"kid\":\"%s\"", old);
        time_or_null(&a->body, "expires", now + overlap);
        gw_buf_addc(&a->body, '}');
    }
    gw_buf_addc(&a->body, '}');
}

void
gw_admin_consumers(const struct pt_snapshot *s, struct au_log *audit,
                   const struct gw_admin_caller *caller, const char *method, const char *path,
                   const char *body, size_t n, struct gw_admin_answer *out)
{
    const struct change ch = {s, audit, caller, method, path};
    char id[80], tail[80];
    const struct pt_consumer *co;
    const struct gw_rt_consumer *rt;
    json_t *j = NULL;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    int parts = sscanf(path, "/consumers/%79[^/]/keys%79s", id, tail);

    memset(out, 0, sizeof *out);
    if (post) {
        json_error_t e;
        j = json_loadb(n > 0 ? body : "{}", n > 0 ? n : 2, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(j)) {
            problem(out, 400, "bad-request", "the body is not a JSON object (line %d: %s)",
                    e.line, e.text);
            json_decref(j);
            return;
        }
    }
    if (strcmp(path, "/consumers") == 0) {
        if (get)
            list(s, out);
        else if (post)
            create(&ch, j, out);
        else
            out->allow = "GET, POST";
    } else if (parts == 1 && strlen(path) == 11 + strlen(id)) { /* /consumers/{id} */
        if (!get)
            out->allow = "GET";
        else if (find(s, id, &co, &rt, out) == 0) {
            out->status = 200;
            consumer_view(&out->body, id, co != NULL ? co->name : rt->c.name,
                          co != NULL ? co->plan_name : rt->c.plan_name, co);
        }
    } else if (parts >= 1 && strncmp(path + 11 + strlen(id), "/keys", 5) == 0 &&
               (parts == 1 || (tail[0] == '/' && pt_kid_valid(tail + 1)))) {
        if (find(s, id, &co, &rt, out) < 0)
            ;
        else if (parts == 1 && post)
            rotate(&ch, id, co, j, out);
        else if (parts == 1)
            out->allow = "POST";
        else if (strcmp(method, "DELETE") == 0)
            revoke(&ch, id, co, tail + 1, (int64_t)time(NULL), out, 1);
        else
            out->allow = "DELETE";
    } else {
        problem(out, 404, "not-found", "no such admin resource");
    }
    if (out->allow != NULL)
        problem(out, 405, "method-not-allowed", "this resource takes %s", out->allow);
    json_decref(j);
}
