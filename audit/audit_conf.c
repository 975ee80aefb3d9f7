/* audit_conf.c: the "audit" section of portico.json (see audit.h). */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "json_loc.h"

#define MIN_LOG_BYTES (1ull << 20)

int
au_conf_load(const struct gw_jctx *c, const json_t *obj, struct au_conf *out)
{
    static const char *const keys[] = { "brokers", "topic", "dir", "max_bytes", "fsync_ms",
                                        "when_full", "kafka", NULL };
    const char *s;
    long long v;
    json_t *k;
    int bad = 0;

    memset(out, 0, sizeof *out);
    if (obj == NULL)
        return 0;
    bad |= gw_jctx_check_keys(c, obj, "audit", keys) > 0;
    s = gw_jctx_string(c, obj, "audit", "brokers", 1);
    bad |= s == NULL;
    out->brokers = strdup(s != NULL ? s : "");
    s = gw_jctx_string(c, obj, "audit", "topic", 0);
    out->topic = strdup(s != NULL ? s : "portico.audit");
    s = gw_jctx_string(c, obj, "audit", "dir", 0);
    out->dir = gw_path_join(c->dir, s != NULL ? s : "audit");
    out->max_bytes = 1ull << 30;
    if (gw_jctx_int(c, obj, "audit", "max_bytes", (long long)MIN_LOG_BYTES, 1ll << 50, &v) > 0)
        out->max_bytes = (uint64_t)v;
    out->fsync_ms = 1000;
    if (gw_jctx_int(c, obj, "audit", "fsync_ms", 0, 3600000, &v) > 0)
        out->fsync_ms = (int)v;
    if ((s = gw_jctx_string(c, obj, "audit", "when_full", 0)) != NULL) {
        if (strcmp(s, "reject") == 0)
            out->when_full = AU_FULL_REJECT;
        else if (strcmp(s, "drop") == 0)
            out->when_full = AU_FULL_DROP;
        else {
            gw_jctx_error(c, "audit.when_full", "\"%s\" is not a policy (reject or drop)", s);
            bad = 1;
        }
    }
    if ((k = gw_jctx_get(c, obj, "audit", "kafka", JSON_OBJECT, 0)) != NULL) {
        const char *key;
        json_t *val;
        char path[256];
        json_object_foreach(k, key, val) {
            if (!json_is_string(val)) {
                gw_jctx_error(c, gw_jpath_key(path, sizeof path, "audit.kafka", key),
                              "a librdkafka property is a string, not %s",
                              gw_json_type_name(val));
                bad = 1;
            }
        }
        out->kafka = json_incref(k);
    }
    if (out->brokers == NULL || out->topic == NULL || out->dir == NULL)
        bad = 1;
    return bad ? -1 : 1;
}

void
au_conf_free(struct au_conf *conf)
{
    free(conf->brokers);
    free(conf->topic);
    free(conf->dir);
    json_decref(conf->kafka);
    memset(conf, 0, sizeof *conf);
}

static int
str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
au_conf_same(const struct au_conf *a, const struct au_conf *b)
{
    return str_eq(a->brokers, b->brokers) && str_eq(a->topic, b->topic) &&
           str_eq(a->dir, b->dir) && a->max_bytes == b->max_bytes &&
           a->fsync_ms == b->fsync_ms && a->when_full == b->when_full &&
           ((a->kafka == NULL && b->kafka == NULL) ||
            (a->kafka != NULL && b->kafka != NULL && json_equal(a->kafka, b->kafka)));
}
