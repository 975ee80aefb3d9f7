/* plugin.c: the registry of transforms: the built-ins and those of external plugins (.so files
 * named in portico.json's "plugins", loaded with dlopen). See chain.h. */
#include "chain.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

struct tf_registry {
    const struct tf_ops **ops;
    size_t n, cap;
    void **handles; /* dlopen handles, closed when the registry is freed */
    size_t nhandles;
    struct tf_ops **widened; /* ABI 1 plugins' transforms, copied into today's struct */
    size_t nwidened;
};

static int
registry_add(struct tf_registry *r, const struct tf_ops *ops)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        const struct tf_ops **o = realloc(r->ops, cap * sizeof *o);
        if (o == NULL)
            return -1;
        r->ops = o;
        r->cap = cap;
    }
    r->ops[r->n++] = ops;
    return 0;
}

struct tf_registry *
tf_registry_new(void)
{
    struct tf_registry *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    for (size_t i = 0; tf_builtins[i] != NULL; i++) {
        if (registry_add(r, tf_builtins[i]) < 0) {
            tf_registry_free(r);
            return NULL;
        }
    }
    return r;
}

const struct tf_ops *
tf_registry_find(const struct tf_registry *r, const char *name)
{
    for (size_t i = 0; r != NULL && i < r->n; i++)
        if (strcmp(r->ops[i]->name, name) == 0)
            return r->ops[i];
    return NULL;
}

/* Check one exported transform and add it. */
static void
plugin_add(struct tf_registry *r, const struct gw_jctx *c, const char *path, const char *file,
           const struct tf_ops *ops)
{
    if (ops->abi != TF_ABI_VERSION && ops->abi != 1) {
        gw_jctx_error(c, path, "%s: a transform is built for ABI version %u, this gateway has %u",
                      file, ops->abi, TF_ABI_VERSION);
        return;
    }
    if (ops->name == NULL || ops->name[0] == '\0' || ops->create == NULL || ops->apply == NULL ||
        (ops->phases & (TF_PHASE_REQUEST | TF_PHASE_RESPONSE)) == 0) {
        gw_jctx_error(c, path, "%s: a transform lacks a name, create, apply or phases", file);
        return;
    }
    if (tf_registry_find(r, ops->name) != NULL) {
        gw_jctx_error(c, path, "%s: transform \"%s\" is already defined (built-in or another "
                      "plugin)", file, ops->name);
        return;
    }
    if (ops->abi == 1) { /* its struct ends before `takes`: it works on bytes */
        struct tf_ops *wide = calloc(1, sizeof *wide), **w;
        if (wide == NULL || (w = realloc(r->widened, (r->nwidened + 1) * sizeof *w)) == NULL) {
            free(wide);
            gw_jctx_error(c, path, "out of memory");
            return;
        }
        memcpy(wide, ops, offsetof(struct tf_ops, takes));
        wide->takes = TF_FORM_BYTES;
        r->widened = w;
        r->widened[r->nwidened++] = wide;
        ops = wide;
    }
    if (registry_add(r, ops) < 0)
        gw_jctx_error(c, path, "out of memory");
}

static void
plugin_load(struct tf_registry *r, const struct gw_jctx *c, const char *path, const char *name)
{
    char *file = gw_path_join(c->dir, name);
    void *h, **hs;
    const struct tf_ops *const *list;

    if (file == NULL)
        return;
    h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        gw_jctx_error(c, path, "cannot load plugin: %s", dlerror());
        goto out;
    }
    list = dlsym(h, "portico_transforms");
    if (list == NULL) {
        gw_jctx_error(c, path, "%s does not export portico_transforms (see transforms/README.md)",
                      file);
        dlclose(h);
        goto out;
    }
    if ((hs = realloc(r->handles, (r->nhandles + 1) * sizeof *hs)) == NULL) {
        dlclose(h);
        goto out;
    }
    r->handles = hs;
    r->handles[r->nhandles++] = h;
    for (size_t i = 0; list[i] != NULL; i++)
        plugin_add(r, c, path, file, list[i]);
out:
    free(file);
}

int
tf_registry_load_plugins(struct tf_registry *r, const struct gw_jctx *c, const json_t *plugins)
{
    char ipath[GW_JPATH_MAX];
    size_t errors = c->d->errors;
    size_t i;
    json_t *v;

    if (plugins == NULL)
        return 0;
    if (!json_is_array(plugins)) {
        gw_jctx_error(c, "plugins", "expected an array of .so file names, got %s",
                      gw_json_type_name(plugins));
        return -1;
    }
    json_array_foreach(plugins, i, v) {
        gw_jpath_index(ipath, sizeof ipath, "plugins", i);
        if (!json_is_string(v) || json_string_length(v) == 0)
            gw_jctx_error(c, ipath, "expected a file name, got %s", gw_json_type_name(v));
        else
            plugin_load(r, c, ipath, json_string_value(v));
    }
    return c->d->errors > errors ? -1 : 0;
}

void
tf_registry_free(struct tf_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nhandles; i++)
        dlclose(r->handles[i]);
    free(r->handles);
    for (size_t i = 0; i < r->nwidened; i++)
        free(r->widened[i]);
    free(r->widened);
    free(r->ops);
    free(r);
}
