/* consumer_store.c: consumers and keys made at run time (see consumer_store.h). */
#include "consumer_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "cluster.h"
#include "limiter.h"
#include "log.h"
#include "text.h"

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct gw_rt_consumer **consumers;
static size_t nconsumers;
static struct gw_key_record *keys; /* sorted by kid */
static size_t nkeys, keys_cap;
static int journal = -1;
static char *journal_path;

const char *
gw_key_state(const struct pt_key *k, int64_t now)
{
    if (k->revoked)
        return "key-revoked";
    if (k->expires > 0 && now >= k->expires)
        return "key-expired";
    return NULL;
}

void
gw_key_stricter(struct pt_key *k, const struct pt_key *f)
{
    if (f == NULL)
        return;
    k->revoked |= f->revoked;
    if (f->expires > 0 && (k->expires == 0 || f->expires < k->expires))
        k->expires = f->expires;
}

/* ---- the tables (writers hold the lock) ---- */

static size_t
key_slot(const char *kid, int *found)
{
    size_t lo = 0, hi = nkeys;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(keys[mid].key.kid, kid);
        if (d == 0) {
            *found = 1;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct gw_rt_consumer *
find_consumer(const char *id)
{
    for (size_t i = 0; i < nconsumers; i++)
        if (strcmp(consumers[i]->c.id, id) == 0)
            return consumers[i];
    return NULL;
}

static void
put_consumer(const char *id, const char *name, const char *plan)
{
    char key[128];
    struct gw_rt_consumer *rc = gw_xcalloc(1, sizeof *rc);

    rc->c.id = gw_xstrdup(id);
    rc->c.name = name != NULL ? gw_xstrdup(name) : NULL;
    rc->c.plan_name = gw_xstrdup(plan);
    snprintf(key, sizeof key, "consumer:%s", id);
    rc->state = gw_limits_state(key);
    consumers = gw_xrealloc(consumers, (nconsumers + 1) * sizeof *consumers);
    consumers[nconsumers++] = rc;
    for (size_t i = 0; i < nkeys; i++) /* keys read before their consumer (from Redis) */
        if (keys[i].rt == NULL && strcmp(keys[i].consumer, id) == 0)
            keys[i].rt = rc;
}

static void
put_key(const char *consumer, const struct pt_key *k)
{
    int found;
    size_t i = key_slot(k->kid, &found);

    if (!found) {
        if (nkeys == keys_cap) {
            keys_cap = keys_cap ? keys_cap * 2 : 64;
            keys = gw_xrealloc(keys, keys_cap * sizeof *keys);
        }
        memmove(keys + i + 1, keys + i, (nkeys - i) * sizeof *keys);
        nkeys++;
    }
    memset(&keys[i], 0, sizeof keys[i]);
    keys[i].key = *k;
    snprintf(keys[i].consumer, sizeof keys[i].consumer, "%s", consumer);
    keys[i].rt = find_consumer(consumer);
}

/* ---- the journal ---- */

static int
hash_of(const char *hex, unsigned char out[32])
{
    return hex != NULL && strlen(hex) == 64 ? gw_hex_decode(hex, out, 32) : -1;
}

/* Apply one record (with the lock held). 0, or -1 when it is not one. */
static int
replay(const char *line)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *op = json_string_value(json_object_get(j, "op"));
    const char *consumer = json_string_value(json_object_get(j, "consumer"));
    const char *kid = json_string_value(json_object_get(j, "kid"));
    struct pt_key k = {0};
    int rc = -1;

    if (op == NULL || consumer == NULL || !pt_consumer_id_valid(consumer))
        goto out;
    if (strcmp(op, "consumer") == 0) {
        const char *plan = json_string_value(json_object_get(j, "plan"));
        if (plan == NULL)
            goto out;
        if (find_consumer(consumer) == NULL) /* (a record seen twice: from Redis, once published
                                              * and once read whole) */
            put_consumer(consumer, json_string_value(json_object_get(j, "name")), plan);
        rc = 0;
        goto out;
    }
    if (kid == NULL || !pt_kid_valid(kid) ||
        hash_of(json_string_value(json_object_get(j, "hash")), k.hash) < 0)
        goto out;
    memcpy(k.kid, kid, sizeof k.kid);
    k.created = json_integer_value(json_object_get(j, "created"));
    k.expires = json_integer_value(json_object_get(j, "expires"));
    k.revoked = json_is_true(json_object_get(j, "revoked"));
    if (strcmp(op, "key") == 0 || strcmp(op, "revoke") == 0) {
        put_key(consumer, &k);
        rc = 0;
    }
out:
    json_decref(j);
    return rc;
}

int
gw_cstore_apply(const char *record)
{
    int rc;

    pthread_rwlock_wrlock(&lock);
    rc = replay(record);
    pthread_rwlock_unlock(&lock);
    return rc;
}

int
gw_cstore_open(const char *file, char *err, size_t errlen)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0, n = 0, bad = 0;
    ssize_t len;

    if (gw_cluster_on())
        return 0; /* the store is in Redis (cluster.c reads it) */
    if ((f = fopen(file, "r")) == NULL && errno != ENOENT) {
        snprintf(err, errlen, "cannot read %s: %s", file, strerror(errno));
        return -1;
    }
    pthread_rwlock_wrlock(&lock);
    while (f != NULL && (len = getline(&line, &cap, f)) > 0) {
        n++;
        if (line[len - 1] != '\n') { /* torn by a crash while it was written: never answered */
            gw_log(GW_LOG_WARN, "%s: line %zu is incomplete, left out", file, n);
            break;
        }
        line[len - 1] = '\0';
        if (replay(line) < 0 && ++bad <= 5)
            gw_log(GW_LOG_WARN, "%s: line %zu is not a consumer store record, left out", file, n);
    }
    pthread_rwlock_unlock(&lock);
    free(line);
    if (f != NULL)
        fclose(f);
    journal_path = gw_xstrdup(file);
    return 0;
}

void
gw_cstore_close(void)
{
    if (journal >= 0)
        close(journal);
    journal = -1;
    for (size_t i = 0; i < nconsumers; i++) {
        free(consumers[i]->c.id);
        free(consumers[i]->c.name);
        free(consumers[i]->c.plan_name);
        free(consumers[i]);
    }
    free(consumers);
    free(keys);
    free(journal_path);
    consumers = NULL;
    keys = NULL;
    journal_path = NULL;
    nconsumers = nkeys = keys_cap = 0;
}

/* Keep one record: in Redis (field: its name in the store's hash), else
 * appended to the journal and synced. */
static int
journal_write(json_t *rec, const char *field, char *err, size_t errlen)
{
    char *s = json_dumps(rec, JSON_COMPACT);
    size_t n, off = 0;
    int rc = -1;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (gw_cluster_on()) {
        rc = gw_cluster_store_write(field, s, err, errlen);
        goto out;
    }
    if (journal < 0 && journal_path != NULL)
        journal = open(journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (journal < 0) {
        snprintf(err, errlen, "cannot write the consumer store %s: %s",
                 journal_path != NULL ? journal_path : "(none)", strerror(errno));
        goto out;
    }
    n = strlen(s);
    s[n++] = '\n'; /* json_dumps's NUL becomes the line's end */
    while (off < n) {
        ssize_t w = write(journal, s + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write the consumer store %s: %s", journal_path,
                     strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fdatasync(journal) < 0) {
        snprintf(err, errlen, "cannot sync the consumer store %s: %s", journal_path,
                 strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(s);
    return rc;
}

static json_t *
key_json(const char *op, const char *consumer, const struct pt_key *k)
{
    char hex[65];

    gw_hex_encode(hex, k->hash, 32);
    hex[64] = '\0';
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "op", op, "consumer", consumer,
                     "kid", k->kid, "hash", hex, "created", (json_int_t)k->created, "expires",
                     (json_int_t)k->expires, "revoked", k->revoked);
}

/* Keep the record, then apply it: the lock is held only to apply it, never while Redis or the
 * disk is waited for (the workers read under it). Changes come from the admin thread alone. */
static int
change(json_t *rec, const char *field, char *err, size_t errlen)
{
    char *line;
    int rc = -1;

    if (rec != NULL && journal_write(rec, field, err, errlen) == 0 &&
        (line = json_dumps(rec, JSON_COMPACT)) != NULL) {
        rc = gw_cstore_apply(line);
        free(line);
    } else if (rec == NULL) {
        snprintf(err, errlen, "out of memory");
    }
    json_decref(rec);
    return rc;
}

int
gw_cstore_add_consumer(const char *id, const char *name, const char *plan, char *err,
                       size_t errlen)
{
    char field[80];

    if (gw_cstore_consumer(id) != NULL) {
        snprintf(err, errlen, "consumer %s exists", id);
        return -1;
    }
    snprintf(field, sizeof field, "c:%s", id);
    return change(json_pack("{s:s, s:s, s:s*, s:s}", "op", "consumer", "consumer", id, "name",
                            name, "plan", plan),
                  field, err, errlen);
}

int
gw_cstore_add_key(const char *consumer, const struct pt_key *k, char *err, size_t errlen)
{
    char field[32];

    snprintf(field, sizeof field, "k:%s", k->kid);
    return change(key_json("key", consumer, k), field, err, errlen);
}

int
gw_cstore_revoke(const char *consumer, const struct pt_key *k, int64_t at, char *err,
                 size_t errlen)
{
    struct pt_key r = *k;
    char field[32];

    if (at <= (int64_t)time(NULL))
        r.revoked = 1;
    if (r.expires == 0 || at < r.expires)
        r.expires = at;
    snprintf(field, sizeof field, "k:%s", k->kid);
    return change(key_json("revoke", consumer, &r), field, err, errlen);
}

int
gw_cstore_key(const char *kid, struct gw_key_record *out)
{
    int found;
    size_t i;

    pthread_rwlock_rdlock(&lock);
    i = key_slot(kid, &found);
    if (found)
        *out = keys[i];
    pthread_rwlock_unlock(&lock);
    return found;
}

const struct gw_rt_consumer *
gw_cstore_consumer(const char *id)
{
    const struct gw_rt_consumer *rc;

    pthread_rwlock_rdlock(&lock);
    rc = find_consumer(id);
    pthread_rwlock_unlock(&lock);
    return rc;
}

void
gw_cstore_each(void (*consumer)(const struct gw_rt_consumer *, void *),
               void (*key)(const struct gw_key_record *, void *), void *arg)
{
    pthread_rwlock_rdlock(&lock);
    for (size_t i = 0; consumer != NULL && i < nconsumers; i++)
        consumer(consumers[i], arg);
    for (size_t i = 0; key != NULL && i < nkeys; i++)
        key(&keys[i], arg);
    pthread_rwlock_unlock(&lock);
}
