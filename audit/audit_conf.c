/* audit_conf.c: the "audit" section of portico.json (see audit.h). */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "conf_table.h"
#include "json_loc.h"

#define MIN_LOG_BYTES (1ll << 20)
#define MIN_RING_BYTES (4ll << 20) /* twice the largest record (an event is at most ~1 MiB) */

/* "kafka": librdkafka's properties, passed through; each must be a string. */
static void
kafka_load(const struct gw_jctx *c, const json_t *obj, const char *path,
           const struct gw_conf_key *key, void *base)
{
    json_t *k = gw_jctx_string_map(c, obj, path, key->name, "a librdkafka property");

    ((struct au_conf *)base)->kafka = json_incref(k);
}

int
au_conf_load(const struct gw_jctx *c, const json_t *obj, struct au_conf *out)
{
    static const char *const policies[] = { [AU_FULL_REJECT] = "reject", [AU_FULL_DROP] = "drop",
                                            NULL };
    static const struct gw_conf_key keys[] = {
        { GW_KEY_STRING(struct au_conf, brokers, ""), .flags = GW_CONF_REQUIRED },
        { GW_KEY_STRING(struct au_conf, topic, "portico.audit") },
        { GW_KEY_PATH(struct au_conf, dir, "audit") },
        { GW_KEY_PATH(struct au_conf, ring_dir, "/dev/shm") },
        { GW_KEY_INT(struct au_conf, ring_bytes, MIN_RING_BYTES, 1ll << 32, 64ll << 20) },
        { GW_KEY_INT(struct au_conf, max_bytes, MIN_LOG_BYTES, 1ll << 50, 1ll << 30) },
        { GW_KEY_INT(struct au_conf, fsync_ms, 0, 3600000, 1000) },
        { GW_KEY_CHOICE(struct au_conf, when_full, policies, AU_FULL_REJECT),
          .what = "a policy (reject or drop)" },
        { GW_KEY_OTHER("kafka", kafka_load) },
        GW_KEY_END,
    };

    memset(out, 0, sizeof *out);
    if (obj == NULL)
        return 0;
    if (gw_conf_read(c, obj, "audit", keys, out, NULL) > 0 || out->brokers == NULL ||
        out->topic == NULL || out->dir == NULL || out->ring_dir == NULL)
        return -1;
    if (out->ring_bytes % 4096 != 0) {
        gw_jctx_error(c, "audit.ring_bytes", "%llu is not a multiple of 4096 (the page size)",
                      (unsigned long long)out->ring_bytes);
        return -1;
    }
    return 1;
}

void
au_conf_free(struct au_conf *conf)
{
    free(conf->brokers);
    free(conf->topic);
    free(conf->dir);
    free(conf->ring_dir);
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
           str_eq(a->dir, b->dir) && str_eq(a->ring_dir, b->ring_dir) &&
           a->ring_bytes == b->ring_bytes && a->max_bytes == b->max_bytes &&
           a->fsync_ms == b->fsync_ms && a->when_full == b->when_full &&
           ((a->kafka == NULL && b->kafka == NULL) ||
            (a->kafka != NULL && b->kafka != NULL && json_equal(a->kafka, b->kafka)));
}
