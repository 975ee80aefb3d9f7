/* xml_json_conf.c: the configuration of xml_to_json and json_to_xml (see xml_json.h), compiled
 * once at load: paths split into a trie, namespace map checked. The runtime is xml_json.c. */
#include "xml_json.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"

static const struct tf_xj defaults = {
    .attr_prefix = "@",
    .attr_prefix_len = 1,
    .text_key = "#text",
    .text_key_len = 5,
    .root = "root",
    .ns = TF_XJ_NS_KEEP,
};

const struct tf_xj *
tf_xj_defaults(void)
{
    return &defaults;
}

static const char *const allowed_keys[] = {
    "attribute_prefix", "text_key", "arrays", "numbers", "booleans", "namespaces", "comments",
    "empty", "nil", "root", "types", "strict", "pretty", "markers", NULL,
};

/* Everything create reads, to report with positions. */
struct reader {
    const struct gw_jctx *jc;
    const json_t *cfg;
    const char *path;
    struct tf_xj *c;
    int errors;
};

/* A string knob becomes a copy of s. */
static void
set_knob(const char **knob, const char *s)
{
    free((char *)*knob);
    *knob = gw_xstrdup(s);
}

/* Is s an XML name without a colon (NCName), which escaping leaves alone? */
static int
is_ncname(const char *s)
{
    char buf[512];
    size_t n = strlen(s);

    return n > 0 && n < sizeof buf && tf_xj_name_encode(s, n, buf, sizeof buf) == n &&
           memcmp(buf, s, n) == 0;
}

/* Does s start with a character that can start an XML name? */
static int
starts_name(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char first[5] = { 0 };

    if (strlen(s) < n)
        return 0;
    memcpy(first, s, n);
    return is_ncname(first);
}

static void
free_trie(struct tf_xj_path *t)
{
    for (size_t i = 0; i < t->nkids; i++)
        free_trie(&t->kids[i]);
    free(t->kids);
    free(t->key);
}

void
tf_xj_free(struct tf_xj *c)
{
    if (c == NULL || c == &defaults)
        return;
    free((char *)c->attr_prefix);
    free((char *)c->text_key);
    free((char *)c->root);
    for (size_t i = 0; i < c->nmap; i++) {
        free(c->map[i].uri);
        free(c->map[i].prefix);
    }
    free(c->map);
    free_trie(&c->paths);
    for (size_t i = 0; i < c->nnames; i++)
        free(c->names[i].key);
    free(c->names);
    free(c);
}

/* ---- strings and switches ------------------------------------------------------------------ */

static void
read_prefix_and_text_key(struct reader *r)
{
    const char *s;
    char path[GW_JPATH_MAX];

    s = gw_jctx_string(r->jc, r->cfg, r->path, "attribute_prefix", 0);
    if (s != NULL) {
        gw_jpath_key(path, sizeof path, r->path, "attribute_prefix");
        if (strlen(s) > 16) {
            gw_jctx_error(r->jc, path, "\"%s\" is longer than 16 bytes", s);
            r->errors++;
        } else if (s[0] == '#' || s[0] == ':' || starts_name(s)) {
            gw_jctx_error(r->jc, path, "\"%s\" cannot start an attribute key: use a character "
                          "that cannot start an XML name and is not \"#\" (\"@\", \"-\", \"$\")", s);
            r->errors++;
        } else {
            set_knob(&r->c->attr_prefix, s);
            r->c->attr_prefix_len = strlen(s);
        }
    }
    s = gw_jctx_string(r->jc, r->cfg, r->path, "text_key", 0);
    if (s != NULL) {
        gw_jpath_key(path, sizeof path, r->path, "text_key");
        if (s[0] != '#' || strcmp(s, "#comment") == 0 || strcmp(s, "#order") == 0) {
            gw_jctx_error(r->jc, path, "\"%s\": the text key must start with \"#\" and not be "
                          "\"#comment\" or \"#order\"", s);
            r->errors++;
        } else {
            set_knob(&r->c->text_key, s);
            r->c->text_key_len = strlen(s);
        }
    }
}

/* A member that is one of two words: sets *flag to 1 for `one`, 0 for `zero`. */
static void
read_choice(struct reader *r, const char *key, const char *zero, const char *one, int *flag)
{
    const char *s = gw_jctx_string(r->jc, r->cfg, r->path, key, 0);
    char path[GW_JPATH_MAX];

    if (s == NULL)
        return;
    if (strcmp(s, zero) == 0 || strcmp(s, one) == 0) {
        *flag = strcmp(s, one) == 0;
        return;
    }
    gw_jpath_key(path, sizeof path, r->path, key);
    gw_jctx_error(r->jc, path, "\"%s\" is not \"%s\" or \"%s\"", s, zero, one);
    r->errors++;
}

static void
read_switches(struct reader *r)
{
    static const char *const keys[] = { "comments", "types", "strict", "pretty" };
    int *flags[] = { &r->c->comments, &r->c->types, &r->c->strict, &r->c->pretty };
    const char *s;
    char path[GW_JPATH_MAX];

    int markers = 1;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (gw_jctx_bool(r->jc, r->cfg, r->path, keys[i], flags[i]) < 0)
            r->errors++;
    if (gw_jctx_bool(r->jc, r->cfg, r->path, "markers", &markers) < 0)
        r->errors++;
    r->c->no_markers = !markers;
    read_choice(r, "empty", "string", "null", &r->c->empty_null);
    read_choice(r, "nil", "xsi", "empty", &r->c->nil_empty);
    s = gw_jctx_string(r->jc, r->cfg, r->path, "root", 0);
    if (s != NULL) {
        if (!is_ncname(s)) {
            gw_jpath_key(path, sizeof path, r->path, "root");
            gw_jctx_error(r->jc, path, "\"%s\" is not an XML name (without a colon)", s);
            r->errors++;
        } else {
            set_knob(&r->c->root, s);
        }
    }
}

/* ---- namespaces ------------------------------------------------------------------------------ */

static int
check_map_entry(struct reader *r, const char *uri, const json_t *v, const char *path)
{
    const char *p = json_string_value(v);

    if (!json_is_string(v)) {
        gw_jctx_error(r->jc, path, "expected a prefix (a string), got %s", gw_json_type_name(v));
        return -1;
    }
    if (*uri == '\0' || strcmp(uri, TF_XJ_NS) == 0) {
        gw_jctx_error(r->jc, path, "\"%s\" cannot be mapped", uri);
        return -1;
    }
    if ((*p != '\0' && !is_ncname(p)) || strcmp(p, "xml") == 0 || strcmp(p, "xmlns") == 0) {
        gw_jctx_error(r->jc, path, "\"%s\" is not a usable prefix (an XML name without a colon, "
                      "or \"\" for the default namespace)", p);
        return -1;
    }
    for (size_t i = 0; i < r->c->nmap; i++) {
        if (strcmp(r->c->map[i].prefix, p) == 0) {
            gw_jctx_error(r->jc, path, "prefix \"%s\" is already given to \"%s\"", p,
                          r->c->map[i].uri);
            return -1;
        }
    }
    return 0;
}

static void
read_namespaces(struct reader *r)
{
    const json_t *v = json_object_get(r->cfg, "namespaces"), *p;
    const char *uri;
    char path[GW_JPATH_MAX], mpath[GW_JPATH_MAX];

    if (v == NULL)
        return;
    gw_jpath_key(path, sizeof path, r->path, "namespaces");
    if (json_is_string(v) && strcmp(json_string_value(v), "keep") == 0) {
        r->c->ns = TF_XJ_NS_KEEP;
    } else if (json_is_string(v) && strcmp(json_string_value(v), "strip") == 0) {
        r->c->ns = TF_XJ_NS_STRIP;
    } else if (json_is_object(v) && json_object_size(v) > 0) {
        r->c->ns = TF_XJ_NS_MAP;
        r->c->map = gw_xrealloc(NULL, json_object_size(v) * sizeof *r->c->map);
        json_object_foreach((json_t *)v, uri, p) {
            gw_jpath_key(mpath, sizeof mpath, path, uri);
            if (check_map_entry(r, uri, p, mpath) < 0) {
                r->errors++;
                continue;
            }
            r->c->map[r->c->nmap].uri = gw_xstrdup(uri);
            r->c->map[r->c->nmap++].prefix = gw_xstrdup(json_string_value(p));
        }
    } else {
        gw_jctx_error(r->jc, path, "expected \"keep\", \"strip\" or an object mapping namespace "
                      "URIs to prefixes");
        r->errors++;
    }
}

/* ---- paths ----------------------------------------------------------------------------------- */

static struct tf_xj_path *
trie_step(struct tf_xj_path *t, const char *key, size_t n)
{
    for (size_t i = 0; i < t->nkids; i++)
        if (strlen(t->kids[i].key) == n && memcmp(t->kids[i].key, key, n) == 0)
            return &t->kids[i];
    t->kids = gw_xrealloc(t->kids, (t->nkids + 1) * sizeof *t->kids);
    t->kids[t->nkids] = (struct tf_xj_path){ .key = gw_xstrndup(key, n) };
    return &t->kids[t->nkids++];
}

static void
add_name(struct tf_xj *c, const char *key, unsigned flag)
{
    for (size_t i = 0; i < c->nnames; i++) {
        if (strcmp(c->names[i].key, key) == 0) {
            c->names[i].flags |= flag;
            return;
        }
    }
    c->names = gw_xrealloc(c->names, (c->nnames + 1) * sizeof *c->names);
    c->names[c->nnames++] = (struct tf_xj_name){ .key = gw_xstrdup(key), .flags = flag };
}

/* Check one path; returns NULL when good, else why not. */
static const char *
path_problem(const struct tf_xj *c, const char *p, unsigned flag)
{
    const char *last = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
    const char *s;

    if (*p != '/' && strchr(p, '/') != NULL)
        return "a path either starts with \"/\" (from the root) or is one key (anywhere)";
    if (strcmp(p, "/") == 0 || strstr(p, "//") != NULL || *last == '\0')
        return "empty step in the path";
    for (s = p; (s = strstr(s, c->attr_prefix)) != NULL; s++)
        if ((s == p || s[-1] == '/') && strchr(s, '/') != NULL)
            return "an attribute can only be the last step of a path";
    if (flag == TF_XJ_ARRAY && strncmp(last, c->attr_prefix, c->attr_prefix_len) == 0)
        return "an attribute cannot be an array";
    return NULL;
}

static void
add_path(struct tf_xj *c, const char *p, unsigned flag)
{
    struct tf_xj_path *t = &c->paths;
    const char *s, *e;

    if (*p != '/') {
        add_name(c, p, flag);
        return;
    }
    for (s = p + 1; *s != '\0'; s = *e ? e + 1 : e) {
        e = strchr(s, '/');
        if (e == NULL)
            e = s + strlen(s);
        t = trie_step(t, s, (size_t)(e - s));
    }
    t->flags |= flag;
}

static void
read_paths(struct reader *r, const char *key, unsigned flag)
{
    json_t *list = gw_jctx_string_list(r->jc, r->cfg, r->path, key, 1, 0);
    char path[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    const char *problem;

    if (list == NULL) {
        if (json_object_get(r->cfg, key) != NULL)
            r->errors++;
        return;
    }
    gw_jpath_key(path, sizeof path, r->path, key);
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *p = gw_jlist_at(list, i, path, ipath, sizeof ipath);

        problem = path_problem(r->c, p, flag);
        if (problem != NULL) {
            gw_jctx_error(r->jc, ipath, "\"%s\": %s", p, problem);
            r->errors++;
            continue;
        }
        add_path(r->c, p, flag);
    }
}

/* ---- create ---------------------------------------------------------------------------------- */

struct tf_xj *
tf_xj_create(const struct tf_conf *cc)
{
    struct reader r = { .jc = tf_conf_jctx(cc), .cfg = cc->config, .path = cc->path };

    r.c = gw_xcalloc(1, sizeof *r.c);
    *r.c = defaults;
    r.c->attr_prefix = gw_xstrdup(defaults.attr_prefix);
    r.c->text_key = gw_xstrdup(defaults.text_key);
    r.c->root = gw_xstrdup(defaults.root);
    if (r.cfg == NULL || json_is_null(r.cfg))
        return r.c;
    if (!json_is_object(r.cfg)) {
        gw_jctx_error(r.jc, r.path, "expected an object, got %s", gw_json_type_name(r.cfg));
        tf_xj_free(r.c);
        return NULL;
    }
    r.errors += gw_jctx_check_keys(r.jc, r.cfg, r.path, allowed_keys);
    read_prefix_and_text_key(&r);
    read_switches(&r);
    read_namespaces(&r);
    read_paths(&r, "arrays", TF_XJ_ARRAY);
    read_paths(&r, "numbers", TF_XJ_NUMBER);
    read_paths(&r, "booleans", TF_XJ_BOOLEAN);
    if (r.errors > 0) {
        tf_xj_free(r.c);
        return NULL;
    }
    return r.c;
}
