/* plan.c: portico.json's "plans" (see consumer.h). */
#include "consumer.h"

#include <stdlib.h>
#include <string.h>

#include "conf_table.h"

const struct pt_plan *
pt_plan_find(struct pt_plan *const *plans, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(plans[i]->name, name) == 0)
            return plans[i];
    return NULL;
}

int
pt_plan_allows(const struct pt_plan *p, const char *route)
{
    if (p->all_routes)
        return 1;
    for (size_t i = 0; route != NULL && i < p->nroutes; i++)
        if (strcmp(p->routes[i], route) == 0)
            return 1;
    return 0;
}

void
pt_plan_free(struct pt_plan *p)
{
    if (p == NULL)
        return;
    free(p->name);
    for (size_t i = 0; i < p->nroutes; i++)
        free(p->routes[i]);
    free(p->routes);
    free(p);
}

/* One plan: "name", "limits", "routes" (names, or "*"). */
static struct pt_plan *
plan_load(const struct gw_jctx *c, const json_t *obj, const char *path,
          struct pt_plan *const *loaded, size_t nloaded)
{
    static const char *const keys[] = { "name", "limits", "routes", NULL };
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    struct pt_plan *p = calloc(1, sizeof *p);
    const char *name;
    json_t *routes;

    if (p == NULL)
        return NULL;
    gw_jctx_check_keys(c, obj, path, keys);
    if ((name = gw_jctx_string(c, obj, path, "name", 1)) == NULL) {
        free(p);
        return NULL;
    }
    if (pt_plan_find(loaded, nloaded, name) != NULL)
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "name"),
                      "\"%s\" is already the name of another plan", name);
    p->name = strdup(name);
    pt_limits_member(c, obj, path, &p->limits);
    gw_jpath_key(kpath, sizeof kpath, path, "routes");
    routes = json_object_get(obj, "routes");
    if (json_is_string(routes) && strcmp(json_string_value(routes), "*") == 0) {
        p->all_routes = 1;
        return p;
    }
    if (json_is_string(routes)) {
        gw_jctx_error(c, kpath, "expected an array of route names or \"*\", got \"%s\"",
                      json_string_value(routes));
        return p;
    }
    json_t *list = gw_jctx_string_list(c, obj, path, "routes", 0, 1);
    size_t n = gw_jlist_size(list);
    if (list == NULL || (p->routes = calloc(n, sizeof *p->routes)) == NULL)
        return p;
    for (size_t i = 0; i < n; i++)
        if ((p->routes[p->nroutes] = strdup(gw_jlist_at(list, i, kpath, ipath, sizeof ipath))))
            p->nroutes++;
    return p;
}

int
pt_plans_load(const struct gw_jctx *c, const json_t *root, struct pt_plan ***plans, size_t *n)
{
    char path[GW_JPATH_MAX];
    json_t *arr = gw_jctx_get(c, root, "", "plans", JSON_ARRAY, 0), *item;

    *plans = NULL;
    *n = 0;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    if ((*plans = calloc(json_array_size(arr), sizeof **plans)) == NULL)
        return -1;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct pt_plan *p;
        if ((item = gw_conf_object_at(c, arr, "plans", i, path)) != NULL &&
            (p = plan_load(c, item, path, *plans, *n)) != NULL)
            (*plans)[(*n)++] = p;
    }
    return 0;
}

int
pt_plan_use(const struct gw_jctx *c, const json_t *obj, const char *path,
            struct pt_plan *const *plans, size_t n, const struct pt_plan **out)
{
    char kpath[GW_JPATH_MAX];
    const char *name = gw_jctx_string(c, obj, path, "plan", 0);

    *out = NULL;
    if (name == NULL)
        return 0;
    if ((*out = pt_plan_find(plans, n, name)) == NULL) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, "plan"),
                      "no plan is named \"%s\" (portico.json's \"plans\")", name);
        return -1;
    }
    return 0;
}

void
pt_limits_over(struct pt_limits *l, const struct pt_plan *plan)
{
    if (plan != NULL)
        *l = plan->limits;
    l->state = NULL;
}
