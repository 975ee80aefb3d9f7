/* conf_table.c: config sections read through tables of keys (see conf_table.h). */
#include "conf_table.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 64 /* rows in one table: the bits of gw_conf_read's *set */

/* Store an integer into the field, as wide as the field is. */
static void
store_int(void *base, const struct gw_conf_key *k, long long v)
{
    char *at = (char *)base + k->off;

    if (k->size == sizeof(int)) {
        int x = (int)v;
        memcpy(at, &x, sizeof x);
    } else {
        int64_t x = v;
        assert(k->size == sizeof x);
        memcpy(at, &x, sizeof x);
    }
}

/* Replace the string field by s (owned from now on). */
static void
store_string(void *base, const struct gw_conf_key *k, char *s)
{
    char *old;

    assert(k->size == sizeof s);
    memcpy(&old, (char *)base + k->off, sizeof old);
    free(old);
    memcpy((char *)base + k->off, &s, sizeof s);
}

/* A copy of value, resolved against dir for a PATH row. */
static char *
string_value(const struct gw_conf_key *k, const char *dir, const char *value)
{
    return k->type == GW_CONF_PATH ? gw_path_join(dir, value) : strdup(value);
}

void
gw_conf_defaults(const struct gw_conf_key *table, const char *dir, void *base)
{
    for (const struct gw_conf_key *k = table; k->name != NULL; k++) {
        if (k->type == GW_CONF_OTHER || (k->flags & GW_CONF_KEEP))
            continue;
        if (k->type == GW_CONF_STRING || k->type == GW_CONF_PATH) {
            char *s = k->dflt_str != NULL ? string_value(k, dir, k->dflt_str) : NULL;
            assert(k->size == sizeof s);
            memcpy((char *)base + k->off, &s, sizeof s);
        } else {
            store_int(base, k, k->dflt);
        }
    }
}

/* The string member of a STRING or CHOICE row: NULL when absent or reported. */
static const char *
get_string(const struct gw_jctx *c, const json_t *obj, const char *path,
           const struct gw_conf_key *k)
{
    int required = (k->flags & GW_CONF_REQUIRED) != 0;

    if (k->flags & GW_CONF_EMPTY_OK) {
        json_t *v = gw_jctx_get(c, obj, path, k->name, JSON_STRING, required);
        return v != NULL ? json_string_value(v) : NULL;
    }
    return gw_jctx_string(c, obj, path, k->name, required);
}

static int
read_choice(const struct gw_jctx *c, const char *kpath, const struct gw_conf_key *k, const char *v,
            void *base)
{
    char list[256] = "";
    size_t n = 0;

    for (int i = 0; k->choices[i] != NULL; i++) {
        if (strcmp(v, k->choices[i]) == 0) {
            store_int(base, k, i);
            return 1;
        }
        if (n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i > 0 ? ", " : "",
                                  k->choices[i]);
    }
    if (k->what != NULL)
        gw_jctx_error(c, kpath, "\"%s\" is not %s", v, k->what);
    else
        gw_jctx_error(c, kpath, "\"%s\" is not one of %s", v, list);
    return -1;
}

static int
read_string(const struct gw_jctx *c, const char *kpath, const struct gw_conf_key *k, const char *v,
            void *base)
{
    char err[512];
    char *s;

    if (k->check != NULL && k->check(v, err, sizeof err) < 0) {
        gw_jctx_error(c, kpath, "%s", err);
        return -1;
    }
    if ((s = string_value(k, c->dir, v)) == NULL) {
        gw_jctx_error(c, kpath, "out of memory");
        return -1;
    }
    store_string(base, k, s);
    return 1;
}

int
gw_conf_read_key(const struct gw_jctx *c, const json_t *obj, const char *path,
                 const struct gw_conf_key *k, void *base)
{
    char kpath[GW_JPATH_MAX];
    const char *s;
    long long v;
    int rc, b;

    switch (k->type) {
    case GW_CONF_INT:
        if ((rc = gw_jctx_int(c, obj, path, k->name, k->min, k->max, &v)) > 0)
            store_int(base, k, v);
        return rc;
    case GW_CONF_BOOL:
        if ((rc = gw_jctx_bool(c, obj, path, k->name, &b)) > 0)
            store_int(base, k, b);
        return rc;
    case GW_CONF_STRING:
    case GW_CONF_PATH:
    case GW_CONF_CHOICE:
        if (json_object_get(obj, k->name) == NULL && !(k->flags & GW_CONF_REQUIRED))
            return 0;
        if ((s = get_string(c, obj, path, k)) == NULL)
            return json_object_get(obj, k->name) == NULL ? 0 : -1;
        gw_jpath_key(kpath, sizeof kpath, path, k->name);
        if (k->type == GW_CONF_CHOICE)
            return read_choice(c, kpath, k, s, base);
        return read_string(c, kpath, k, s, base);
    case GW_CONF_OTHER: /* the reader is called absent or not: it may require its key */
        if (k->read != NULL)
            k->read(c, obj, path, k, base);
        return json_object_get(obj, k->name) != NULL;
    }
    return -1;
}

int
gw_conf_read(const struct gw_jctx *c, const json_t *obj, const char *path,
             const struct gw_conf_key *table, void *base, uint64_t *set)
{
    const char *names[MAX_KEYS + 1];
    size_t n = 0, errors = c->d->errors;

    gw_conf_defaults(table, c->dir, base);
    if (set != NULL)
        *set = 0;
    if (obj == NULL)
        return 0;
    for (; table[n].name != NULL; n++) {
        assert(n < MAX_KEYS);
        names[n] = table[n].name;
    }
    names[n] = NULL;
    gw_jctx_check_keys(c, obj, path, names);
    for (size_t i = 0; i < n; i++)
        if (gw_conf_read_key(c, obj, path, &table[i], base) > 0 && set != NULL)
            *set |= (uint64_t)1 << i;
    return (int)(c->d->errors - errors);
}

json_t *
gw_conf_object_at(const struct gw_jctx *c, const json_t *arr, const char *path, size_t i,
                  char *ipath)
{
    json_t *item = json_array_get(arr, i);

    gw_jpath_index(ipath, GW_JPATH_MAX, path, i);
    if (json_is_object(item))
        return item;
    gw_jctx_error(c, ipath, "expected an object, got %s", gw_json_type_name(item));
    return NULL;
}
