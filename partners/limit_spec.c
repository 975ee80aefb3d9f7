/* limit_spec.c: reading a set of traffic limits (see limit_spec.h). */
#include "limit_spec.h"

#include <stddef.h>
#include <string.h>

#include "conf_table.h"

const char *const pt_limits_keys[] = { "requests_per_s", "burst", "concurrent",
                                       "requests_per_day", "requests_per_month",
                                       "bytes_per_day", "bytes_per_month", NULL };

/* One integer key into *out when given. Returns 1 when it was reported, else 0. */
static int
one(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
    long long max, uint64_t *out)
{
    long long v;
    int r = gw_jctx_int(c, obj, path, key, 1, max, &v);

    if (r > 0)
        *out = (uint64_t)v;
    return r < 0;
}

int
pt_limits_read(const struct gw_jctx *c, const json_t *obj, const char *path, struct pt_limits *l)
{
    char kpath[GW_JPATH_MAX];
    uint64_t rate = l->rate, burst = l->burst, conc = l->concurrent; /* given ones stay */
    int bad = 0;

    if (obj == NULL)
        return 0;
    bad += one(c, obj, path, "requests_per_s", 10000000, &rate);
    bad += one(c, obj, path, "burst", 10000000, &burst);
    bad += one(c, obj, path, "concurrent", 10000000, &conc);
    bad += one(c, obj, path, "requests_per_day", 1LL << 50, &l->per_day);
    bad += one(c, obj, path, "requests_per_month", 1LL << 50, &l->per_month);
    bad += one(c, obj, path, "bytes_per_day", 1LL << 60, &l->bytes_per_day);
    bad += one(c, obj, path, "bytes_per_month", 1LL << 60, &l->bytes_per_month);
    l->rate = (unsigned)rate;
    l->burst = (unsigned)burst;
    l->concurrent = (unsigned)conc;
    if (burst > 0 && rate == 0) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "burst"),
                      "a burst without requests_per_s: a burst is over a rate");
        bad++;
    }
    if (l->per_day > 0 && l->per_month > 0 && l->per_day > l->per_month) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "requests_per_day"),
                      "%llu a day is more than the month's %llu",
                      (unsigned long long)l->per_day, (unsigned long long)l->per_month);
        bad++;
    }
    return bad;
}

int
pt_limits_member(const struct gw_jctx *c, const json_t *obj, const char *path,
                 struct pt_limits *l)
{
    char lpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, "limits", JSON_OBJECT, 0);

    if (v == NULL)
        return 0;
    gw_jpath_key(lpath, sizeof lpath, path, "limits");
    return gw_jctx_check_keys(c, v, lpath, pt_limits_keys) + pt_limits_read(c, v, lpath, l);
}
