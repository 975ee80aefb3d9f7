/* json_map_conf.c: the `json_map` transform's configuration: check it and compile the paths and
 * values once, at load. The runtime is json_map.c; the format is in transforms/README.md.
 *
 *   { "json_map": { "strict": false, "ops": [
 *       { "copy":    { "from": "/order/id", "to": "/ref" } },
 *       { "move":    { "from": "/a", "to": "/b" } },
 *       { "rename":  { "path": "/customer/tel", "to": "phone" } },
 *       { "delete":  { "path": "/debug" } },
 *       { "set":     { "path": "/meta/partner", "value": "${partner.id}" } },
 *       { "default": { "path": "/currency", "value": "EUR" } } ] } }
 *
 * A "*" segment walks every element of an array (see json_map.h for the rules).
 */
#include "builtins_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"
#include "json_map.h"
#include "json_pointer.h"

static const char *const jm_names[] = {"copy", "move", "rename", "delete", "set", "default", NULL};

const char *
tf_jm_kind_name(enum jm_kind k)
{
    return jm_names[k];
}

/* ---- freeing --------------------------------------------------------------------------------- */

static void
jm_path_free(struct jm_path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->segs[i].key);
    free(p->segs);
    free(p->text);
}

/* (a constant's tree is in the instance's arena) */
static void
jm_value_free(struct jm_value *v)
{
    tf_template_free(v->tpl);
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys != NULL)
            free(v->keys[i]);
        jm_value_free(&v->items[i]);
    }
    free(v->keys);
    free(v->items);
}

static void
jm_destroy(void *p)
{
    struct jm_inst *in = p;

    if (in == NULL)
        return;
    for (size_t i = 0; i < in->nops; i++) {
        jm_path_free(&in->ops[i].from);
        jm_path_free(&in->ops[i].to);
        free(in->ops[i].name);
        jm_value_free(&in->ops[i].value);
    }
    free(in->ops);
    gw_arena_free(&in->arena);
    free(in);
}

/* ---- paths ----------------------------------------------------------------------------------- */

/* "cc->path.sub" (sub may start with '['). */
static void
jm_full_path(const struct tf_conf *cc, const char *sub, char *out, size_t len)
{
    if (snprintf(out, len, "%s%s%s", cc->path, sub[0] == '[' ? "" : ".", sub) >= (int)len)
        out[len - 1] = '\0'; /* a truncated path only shortens a message */
}

/* One segment text[0..n) into seg (gw_jptr_segment: ~1 is "/", ~0 is "~"), with the segments
 * json_map gives a meaning: "*" and "-". Returns 0, or -1 on a "~" followed by anything else. */
static int
jm_seg_parse(const char *text, size_t n, struct jm_seg *seg)
{
    char *key;
    long index;

    if (gw_jptr_segment(text, n, &key, &index) < 0)
        return -1;
    *seg = (struct jm_seg){.key = key, .index = index};
    seg->wild = n == 1 && text[0] == '*';
    seg->append = n == 1 && text[0] == '-';
    return 0;
}

/* Compile the pointer `text` found at sub. `write`: "-" may appear (a new array element).
 * Returns 0, or -1 after reporting. */
static int
jm_path_compile(const struct tf_conf *cc, const char *sub, const char *text, int write,
                struct jm_path *p)
{
    size_t nseg = 0;

    *p = (struct jm_path){.text = gw_xstrdup(text)};
    if (text[0] != '\0' && text[0] != '/') {
        cc->error(cc, sub, "\"%s\" is not a JSON pointer: it must start with \"/\" (or be \"\", "
                  "the whole document)", text);
        return -1;
    }
    for (const char *s = text; *s != '\0'; s++)
        nseg += *s == '/';
    p->segs = gw_xcalloc(nseg + 1, sizeof *p->segs);
    for (const char *s = text; *s == '/';) {
        const char *end = strchr(s + 1, '/');
        size_t n = end ? (size_t)(end - s - 1) : strlen(s + 1);
        struct jm_seg *seg = &p->segs[p->n];
        if (jm_seg_parse(s + 1, n, seg) < 0) {
            cc->error(cc, sub, "\"%s\": \"~\" must be followed by 0 (for \"~\") or 1 (for \"/\")",
                      text);
            return -1;
        }
        p->n++;
        if (seg->append && !write) {
            cc->error(cc, sub, "\"%s\": \"-\" (a new array element) can only be written to",
                      text);
            return -1;
        }
        p->nwild += seg->wild;
        s += n + 1;
    }
    if (p->nwild > JM_MAX_WILD) {
        cc->error(cc, sub, "\"%s\" has more than %d \"*\" segments", text, JM_MAX_WILD);
        return -1;
    }
    return 0;
}

/* Read the string member `key` of body (at sub) and compile it. Returns 0 or -1 (reported). */
static int
jm_conf_path(const struct tf_conf *cc, const json_t *body, const char *sub, const char *key,
             int write, struct jm_path *p)
{
    char full[GW_JPATH_MAX], ksub[GW_JPATH_MAX];
    const json_t *v;

    jm_full_path(cc, sub, full, sizeof full);
    if ((v = gw_jctx_get(tf_conf_jctx(cc), body, full, key, JSON_STRING, 1)) == NULL)
        return -1;
    gw_jpath_key(ksub, sizeof ksub, sub, key);
    return jm_path_compile(cc, ksub, json_string_value(v), write, p);
}

/* Is a a prefix of b, segment by segment ("*" matching anything)? */
static int
jm_path_prefix(const struct jm_path *a, const struct jm_path *b)
{
    if (a->n > b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct jm_seg *x = &a->segs[i], *y = &b->segs[i];
        if (!x->wild && !y->wild && strcmp(x->key, y->key) != 0)
            return 0;
    }
    return 1;
}

/* ---- values ---------------------------------------------------------------------------------- */

static int
jm_has_dollar(const json_t *v)
{
    const char *key;
    json_t *e;
    size_t i;

    if (json_is_string(v))
        return memchr(json_string_value(v), '$', json_string_length(v)) != NULL;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, e)
            if (jm_has_dollar(e))
                return 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, e)
            if (jm_has_dollar(e))
                return 1;
    }
    return 0;
}

/* Compile the value v found at sub: constant JSON (built as a tree once, in cx's arena: the
 * instance's), or a tree with its template strings compiled. Returns the number of errors
 * reported. */
static int
jm_value_compile(const struct tf_conf *cc, struct tf_ctx *cx, const char *sub, const json_t *v,
                 struct jm_value *out)
{
    char err[256], csub[GW_JPATH_MAX];
    const char *key;
    json_t *e;
    size_t i;
    int bad = 0;

    *out = (struct jm_value){.kind = JV_CONST};
    if (!jm_has_dollar(v)) {
        tf_jv_of_json(cx, v, &out->constant);
        return 0;
    }
    if (json_is_string(v)) {
        out->kind = JV_TEMPLATE;
        if ((out->tpl = tf_template_compile(json_string_value(v), err, sizeof err)) == NULL) {
            cc->error(cc, sub, "%s", err);
            return 1;
        }
        return 0;
    }
    out->kind = json_is_object(v) ? JV_OBJECT : JV_ARRAY;
    out->n = json_is_object(v) ? json_object_size(v) : json_array_size(v);
    out->items = gw_xcalloc(out->n, sizeof *out->items);
    if (json_is_object(v))
        out->keys = gw_xcalloc(out->n, sizeof *out->keys);
    i = 0;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, e) {
            out->keys[i] = gw_xstrdup(key);
            bad += jm_value_compile(cc, cx, gw_jpath_key(csub, sizeof csub, sub, key), e,
                                    &out->items[i++]);
        }
    } else {
        json_array_foreach(v, i, e)
            bad += jm_value_compile(cc, cx, gw_jpath_index(csub, sizeof csub, sub, i), e,
                                    &out->items[i]);
    }
    return bad;
}

/* ---- operations ------------------------------------------------------------------------------ */

/* The paths of copy and move. Returns the number of errors reported. */
static int
jm_conf_copy(const struct tf_conf *cc, const json_t *body, const char *sub, struct jm_op *op)
{
    char tsub[GW_JPATH_MAX];
    int bad = jm_conf_path(cc, body, sub, "from", 0, &op->from) < 0;

    bad += jm_conf_path(cc, body, sub, "to", 1, &op->to) < 0;
    if (bad > 0)
        return bad;
    gw_jpath_key(tsub, sizeof tsub, sub, "to");
    if (op->from.nwild > 0 && op->to.nwild > 0 && op->from.nwild != op->to.nwild) {
        cc->error(cc, tsub, "\"to\" has %zu \"*\" and \"from\" has %zu: give \"to\" as many "
                  "(element by element) or none (to collect the values into an array)",
                  op->to.nwild, op->from.nwild);
        return 1;
    }
    if (op->kind == JM_MOVE &&
        (jm_path_prefix(&op->from, &op->to) || jm_path_prefix(&op->to, &op->from))) {
        cc->error(cc, tsub, "cannot move \"%s\" to \"%s\": one lies inside the other (copy, "
                  "then delete what is no longer wanted)", op->from.text, op->to.text);
        return 1;
    }
    return 0;
}

static int
jm_conf_rename(const struct tf_conf *cc, const json_t *body, const char *sub, struct jm_op *op)
{
    char full[GW_JPATH_MAX], psub[GW_JPATH_MAX];
    const char *to;
    int bad = jm_conf_path(cc, body, sub, "path", 0, &op->from) < 0;

    jm_full_path(cc, sub, full, sizeof full);
    gw_jpath_key(psub, sizeof psub, sub, "path");
    if (bad == 0 && (op->from.n == 0 || op->from.segs[op->from.n - 1].wild)) {
        cc->error(cc, psub, "\"%s\" does not name an object member", op->from.text);
        bad++;
    }
    if ((to = gw_jctx_string(tf_conf_jctx(cc), body, full, "to", 1)) == NULL)
        return bad + 1;
    if (to[0] == '/') {
        cc->error(cc, gw_jpath_key(psub, sizeof psub, sub, "to"), "\"to\" is the new member "
                  "name, not a path (to change the place, use move)");
        return bad + 1;
    }
    op->name = gw_xstrdup(to);
    return bad;
}

static int
jm_conf_set(const struct tf_conf *cc, struct tf_ctx *cx, const json_t *body, const char *sub,
            struct jm_op *op)
{
    char vsub[GW_JPATH_MAX];
    const json_t *v;
    int bad = jm_conf_path(cc, body, sub, "path", op->kind != JM_DELETE, &op->from) < 0;

    if (bad == 0 && op->from.n == 0 && op->kind != JM_SET) {
        cc->error(cc, gw_jpath_key(vsub, sizeof vsub, sub, "path"),
                  op->kind == JM_DELETE ? "cannot delete the whole document"
                                        : "\"\" (the whole document) always exists: use set");
        bad++;
    }
    if (op->kind == JM_DELETE)
        return bad;
    gw_jpath_key(vsub, sizeof vsub, sub, "value");
    if ((v = json_object_get(body, "value")) == NULL) {
        cc->error(cc, vsub, "required key \"value\" is missing");
        return bad + 1;
    }
    return bad + jm_value_compile(cc, cx, vsub, v, &op->value);
}

/* One element of "ops", at sub ("ops[3]"); constants built with cx. Returns the number of errors
 * reported. */
static int
jm_conf_op(const struct tf_conf *cc, struct tf_ctx *cx, const json_t *el, const char *sub,
           struct jm_op *op)
{
    static const char *const keys[][3] = {
        {"from", "to", NULL}, {"from", "to", NULL}, {"path", "to", NULL},
        {"path", NULL, NULL}, {"path", "value", NULL}, {"path", "value", NULL},
    };
    char osub[GW_JPATH_MAX], full[GW_JPATH_MAX];
    const char *name = NULL;
    json_t *body = NULL;
    size_t k;

    if (json_is_object(el) && json_object_size(el) == 1)
        json_object_foreach((json_t *)el, name, body)
            break;
    for (k = 0; name != NULL && jm_names[k] != NULL && strcmp(jm_names[k], name) != 0; k++)
        ;
    if (name == NULL || jm_names[k] == NULL) {
        cc->error(cc, sub, "expected an operation: an object with one key, one of copy, move, "
                  "rename, delete, set, default");
        return 1;
    }
    op->kind = (enum jm_kind)k;
    gw_jpath_key(osub, sizeof osub, sub, name);
    if (!json_is_object(body)) {
        cc->error(cc, osub, "expected an object, got %s", gw_json_type_name(body));
        return 1;
    }
    jm_full_path(cc, osub, full, sizeof full);
    if (gw_jctx_check_keys(tf_conf_jctx(cc), body, full, keys[k]) > 0)
        return 1;
    switch (op->kind) {
    case JM_COPY:
    case JM_MOVE: return jm_conf_copy(cc, body, osub, op);
    case JM_RENAME: return jm_conf_rename(cc, body, osub, op);
    default: return jm_conf_set(cc, cx, body, osub, op);
    }
}

static void *
jm_create(const struct tf_conf *cc)
{
    static const char *const keys[] = {"ops", "strict", NULL};
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char sub[32];
    struct jm_inst *in;
    struct tf_ctx cx;
    json_t *ops;
    int bad;

    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object, got %s", gw_json_type_name(cc->config));
        return NULL;
    }
    in = gw_xcalloc(1, sizeof *in);
    gw_arena_init(&in->arena);
    tf_ctx_init(&cx, &in->arena, cc->limits); /* only its alloc is used: the constants' trees */
    bad = gw_jctx_check_keys(jc, cc->config, cc->path, keys);
    bad += gw_jctx_bool(jc, cc->config, cc->path, "strict", &in->strict) < 0;
    if ((ops = gw_jctx_get(jc, cc->config, cc->path, "ops", JSON_ARRAY, 1)) == NULL) {
        bad++;
    } else if (json_array_size(ops) == 0) {
        cc->error(cc, "ops", "at least one operation is needed");
        bad++;
    } else {
        in->ops = gw_xcalloc(json_array_size(ops), sizeof *in->ops);
    }
    for (size_t i = 0; ops != NULL && i < json_array_size(ops); i++, in->nops++) {
        snprintf(sub, sizeof sub, "ops[%zu]", i);
        bad += jm_conf_op(cc, &cx, json_array_get(ops, i), sub, &in->ops[i]);
    }
    if (bad > 0) {
        jm_destroy(in);
        return NULL;
    }
    return in;
}

const struct tf_ops tf_json_map_ops = {
    .abi = TF_ABI_VERSION,
    .name = "json_map",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = jm_create,
    .apply = tf_jm_apply,
    .destroy = jm_destroy,
    .takes = TF_FORM_JSON,
};
