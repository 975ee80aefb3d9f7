/* consumer.c: consumers_dir's consumers, their keys, and the key format (see consumer.h). */
#include "consumer.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bundle.h"
#include "conf_table.h"
#include "snapshot.h"
#include "text.h"

int
pt_consumer_id_valid(const char *s)
{
    return pt_partner_id_valid(s); /* the same form: both key audit events and counters */
}

/* ---- keys ---- */

static int
is_lower_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

int
pt_kid_valid(const char *s)
{
    size_t i = 0;

    while (i < PT_KID_LEN && is_lower_hex(s[i]))
        i++;
    return i == PT_KID_LEN && s[i] == '\0';
}

int
pt_key_kid(const char *key, size_t n, char kid[PT_KID_LEN + 1])
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    if (n != PT_KEY_LEN || memcmp(key, "ptk_", 4) != 0 || key[4 + PT_KID_LEN] != '_')
        return -1;
    for (size_t i = 0; i < PT_KID_LEN; i++)
        if (!is_lower_hex(key[4 + i]))
            return -1;
    for (size_t i = 4 + PT_KID_LEN + 1; i < n; i++)
        if (key[i] == '\0' || strchr(b64url, key[i]) == NULL)
            return -1;
    memcpy(kid, key + 4, PT_KID_LEN);
    kid[PT_KID_LEN] = '\0';
    return 0;
}

int
pt_key_make(const struct gw_hmac_sha256 *mac, char out[PT_KEY_LEN + 1], struct pt_key *k)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char id[PT_KID_LEN / 2], secret[33];
    size_t o = 0;

    if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, 32) != 1)
        return -1;
    secret[32] = 0;
    memset(k, 0, sizeof *k);
    gw_hex_encode(k->kid, id, sizeof id); /* (k was zeroed: the kid ends) */
    o = (size_t)snprintf(out, PT_KEY_LEN + 1, "ptk_%s_", k->kid);
    /* 32 bytes in base64url without padding: 43 characters, 6 bits each (the last holds 2) */
    for (size_t bit = 0; bit < 32 * 8; bit += 6) {
        size_t byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)secret[byte] << 8 | secret[byte + 1]) >> (10 - shift);
        out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    OPENSSL_cleanse(secret, sizeof secret);
    gw_hmac_sha256(mac, out, o, k->hash);
    k->created = (int64_t)time(NULL);
    return 0;
}

int
pt_key_secret_load(const char *file, EVP_MD_CTX *md, struct gw_hmac_sha256 *mac, char *err,
                   size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, n;
    int rc = -1;

    if (gw_read_file(file, &buf, &len) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", file, strerror(errno));
        return -1;
    }
    if (md != NULL)
        EVP_DigestUpdate(md, buf, len);
    n = len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
    if (n < PT_SECRET_MIN) {
        snprintf(err, errlen, "%s holds %zu bytes: a secret needs at least %d (openssl rand -hex "
                 "32 > %s)", file, n, PT_SECRET_MIN, file);
    } else {
        gw_hmac_sha256_init(mac, buf, n);
        rc = 0;
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

int
pt_time_parse(const char *s, int64_t *out)
{
    struct tm tm = {0};
    char z = 0;
    int n = 0;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 || z != 'Z' || s[n] != '\0' ||
        strlen(s) != 20 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

void
pt_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- consumers_dir ---- */

void
pt_consumer_free(struct pt_consumer *c)
{
    if (c == NULL)
        return;
    free(c->id);
    free(c->name);
    free(c->plan_name);
    free(c->keys);
    free((char *)c->file);
    free(c);
}

/* A time member ("created", "expires") of a key, into *out when given. */
static void
key_time(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
         int64_t *out)
{
    char kpath[GW_JPATH_MAX];
    const char *s = gw_jctx_string(c, obj, path, key, 0);

    if (s != NULL && pt_time_parse(s, out) < 0)
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, key),
                      "\"%s\" is not a UTC time as 2026-12-05T10:00:00Z", s);
}

/* One of "keys": { "kid", "hash", "created", "expires", "revoked" }. */
static int
key_load(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_key *k)
{
    static const char *const keys[] = { "kid", "hash", "created", "expires", "revoked", NULL };
    char kpath[GW_JPATH_MAX];
    const char *kid, *hash;
    int revoked = 0;

    gw_jctx_check_keys(c, obj, path, keys);
    kid = gw_jctx_string(c, obj, path, "kid", 1);
    hash = gw_jctx_string(c, obj, path, "hash", 1);
    if (kid != NULL && !pt_kid_valid(kid)) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "kid"),
                      "\"%s\" is not a key id (12 lowercase hex digits)", kid);
        kid = NULL;
    }
    if (hash != NULL && (strlen(hash) != 64 || gw_hex_decode(hash, k->hash, 32) < 0)) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "hash"),
                      "expected the key's HMAC-SHA-256 as 64 hex digits (portico consumer key "
                      "writes it)");
        hash = NULL;
    }
    key_time(c, obj, path, "created", &k->created);
    key_time(c, obj, path, "expires", &k->expires);
    if (gw_jctx_bool(c, obj, path, "revoked", &revoked) > 0)
        k->revoked = revoked;
    if (kid == NULL || hash == NULL)
        return -1;
    memcpy(k->kid, kid, PT_KID_LEN + 1);
    return 0;
}

/* consumers_dir/<file>: one consumer. */
static struct pt_consumer *
consumer_load(const char *file, const char *stem, const struct gw_jctx *cfg,
              struct pt_plan *const *plans, size_t nplans, struct pt_consumer *const *loaded,
              size_t nloaded)
{
    static const char *const keys[] = { "id", "name", "plan", "limits", "keys", NULL };
    char path[GW_JPATH_MAX];
    struct gw_jdoc doc = {0};
    struct pt_consumer *co = calloc(1, sizeof *co);
    const char *id, *name;
    json_t *arr, *item;

    if (co == NULL || gw_jdoc_load(&doc, file, NULL, cfg->d, cfg->md) < 0) {
        free(co);
        gw_jdoc_free(&doc);
        return NULL;
    }
    const struct gw_jctx *c = &doc.ctx;
    co->file = strdup(file);
    gw_jsonloc_find(doc.loc, "", &co->line, &co->col);
    gw_jctx_check_keys(c, doc.root, "", keys);
    if ((id = gw_jctx_string(c, doc.root, "", "id", 1)) != NULL) {
        if (!pt_consumer_id_valid(id))
            gw_jctx_error(c, "id", "\"%s\" is not a consumer id (1 to 64 of a-z 0-9 . _ -, "
                          "starting with a letter or digit)", id);
        else if (strcmp(id, stem) != 0)
            gw_jctx_error(c, "id", "\"%s\" does not match its file name \"%s.json\"", id, stem);
        for (size_t i = 0; i < nloaded; i++)
            if (strcmp(loaded[i]->id, id) == 0)
                gw_jctx_error(c, "id", "consumer id \"%s\" is already used by %s", id,
                              loaded[i]->file);
        co->id = strdup(id);
    }
    if ((name = gw_jctx_string(c, doc.root, "", "name", 0)) != NULL)
        co->name = strdup(name);
    if (gw_jctx_string(c, doc.root, "", "plan", 1) != NULL &&
        pt_plan_use(c, doc.root, "", plans, nplans, &co->plan) == 0)
        co->plan_name = strdup(co->plan->name);
    pt_limits_over(&co->limits, co->plan);
    pt_limits_member(c, doc.root, "", &co->limits);
    if ((arr = gw_jctx_get(c, doc.root, "", "keys", JSON_ARRAY, 0)) != NULL &&
        json_array_size(arr) > 0 &&
        (co->keys = calloc(json_array_size(arr), sizeof *co->keys)) != NULL)
        for (size_t i = 0; i < json_array_size(arr); i++)
            if ((item = gw_conf_object_at(c, arr, "keys", i, path)) != NULL &&
                key_load(c, item, path, &co->keys[co->nkeys]) == 0)
                co->nkeys++;
    gw_jdoc_free(&doc);
    if (co->id == NULL) {
        pt_consumer_free(co);
        return NULL;
    }
    return co;
}

static int
kid_cmp(const void *a, const void *b)
{
    const struct pt_key_ref *x = a, *y = b;

    return strcmp(x->key->kid, y->key->kid);
}

int
pt_consumers_load(const struct gw_jctx *c, const char *dir, int explicit_dir,
                  struct pt_plan *const *plans, size_t nplans, struct pt_consumers *out)
{
    size_t n, nkeys = 0;
    char **names = pt_list_dir(c, dir, "consumers_dir", explicit_dir, &n);
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (names == NULL)
        return -1;
    if (n > 0 && (out->all = calloc(n, sizeof *out->all)) == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        char *file, stem[256];
        struct pt_consumer *co;
        if (len <= 5 || len - 5 >= sizeof stem || strcmp(names[i] + len - 5, ".json") != 0)
            continue; /* a README beside them */
        memcpy(stem, names[i], len - 5);
        stem[len - 5] = '\0';
        if ((file = gw_path_join(dir, names[i])) == NULL)
            goto done;
        co = consumer_load(file, stem, c, plans, nplans, out->all, out->n);
        free(file);
        if (co != NULL) {
            out->all[out->n++] = co;
            nkeys += co->nkeys;
        }
    }
    if (nkeys > 0 && (out->keys = calloc(nkeys, sizeof *out->keys)) == NULL)
        goto done;
    for (size_t i = 0; i < out->n; i++)
        for (size_t k = 0; k < out->all[i]->nkeys; k++)
            out->keys[out->nkeys++] = (struct pt_key_ref){out->all[i], &out->all[i]->keys[k]};
    if (out->nkeys > 1) /* (no keys: out->keys is NULL, which qsort may not be given) */
        qsort(out->keys, out->nkeys, sizeof *out->keys, kid_cmp);
    for (size_t i = 1; i < out->nkeys; i++)
        if (strcmp(out->keys[i - 1].key->kid, out->keys[i].key->kid) == 0)
            gw_diag_add(c->d, GW_DIAG_ERROR, out->keys[i].consumer->file, 0, 0, "keys",
                        "key id %s is also a key of %s", out->keys[i].key->kid,
                        out->keys[i - 1].consumer->file);
    rc = 0;
done:
    pt_list_free(names, n);
    return rc;
}

void
pt_consumers_free(struct pt_consumers *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        pt_consumer_free(cs->all[i]);
    free(cs->all);
    free(cs->keys);
    memset(cs, 0, sizeof *cs);
}

const struct pt_key_ref *
pt_consumers_key(const struct pt_consumers *cs, const char *kid)
{
    size_t lo = 0, hi = cs->nkeys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(cs->keys[mid].key->kid, kid);
        if (d == 0)
            return &cs->keys[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct pt_consumer *
pt_consumers_find(const struct pt_consumers *cs, const char *id)
{
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->all[i]->id, id) == 0)
            return cs->all[i];
    return NULL;
}
