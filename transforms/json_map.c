/* json_map.c: the `json_map` transform at run time: apply the compiled operations to a JSON body.
 * The configuration is compiled by json_map_conf.c; json_map.h says how paths and wildcards work.
 *
 * The body is parsed through tf_json_body_parse (threat limits, number literals kept), every
 * operation runs in the configured order on the tree, and the result is written back compactly
 * with the numbers as the partner wrote them.
 */
#include "builtins_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json_body.h"
#include "json_loc.h"
#include "json_map.h"

/* A node found by a path, with the indexes its "*" segments took. */
struct jm_hit {
    json_t *node; /* borrowed */
    size_t idx[JM_MAX_WILD];
};

struct jm_hits {
    struct jm_hit *v;
    size_t n, cap;
};

/* What one operation works with. */
struct jm_run {
    json_t **root;
    struct tf_ctx *x;
    const struct tf_message *m;
    char err[512];
};

/* ---- walking --------------------------------------------------------------------------------- */

static void
jm_hits_push(struct jm_hits *h, json_t *node, const size_t *idx, size_t k)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->v = gw_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    struct jm_hit *hit = &h->v[h->n++];
    memset(hit, 0, sizeof *hit);
    hit->node = node;
    memcpy(hit->idx, idx, k * sizeof *idx);
}

static json_t *
jm_child(json_t *node, const struct jm_seg *s)
{
    if (json_is_object(node))
        return json_object_get(node, s->key);
    if (json_is_array(node) && s->index >= 0)
        return json_array_get(node, (size_t)s->index);
    return NULL;
}

/* Push every existing node reached from node through the segments [i, stop) of p. */
static void
jm_walk(json_t *node, const struct jm_path *p, size_t i, size_t stop, size_t *idx, size_t k,
        struct jm_hits *out)
{
    const struct jm_seg *s;
    json_t *child;

    if (i == stop) {
        jm_hits_push(out, node, idx, k);
        return;
    }
    s = &p->segs[i];
    if (s->wild) {
        for (size_t j = 0; json_is_array(node) && j < json_array_size(node); j++) {
            idx[k] = j;
            jm_walk(json_array_get(node, j), p, i + 1, stop, idx, k + 1, out);
        }
    } else if ((child = jm_child(node, s)) != NULL) {
        jm_walk(child, p, i + 1, stop, idx, k, out);
    }
}

static void
jm_find(json_t *root, const struct jm_path *p, size_t stop, struct jm_hits *out)
{
    size_t idx[JM_MAX_WILD];

    jm_walk(root, p, 0, stop, idx, 0, out);
}

/* The index bindings under which p is written: one (no "*") or one per element the "*" find. */
static void
jm_bindings(json_t *root, const struct jm_path *p, struct jm_hits *out)
{
    size_t last = 0;

    for (size_t i = 0; i < p->n; i++)
        if (p->segs[i].wild)
            last = i + 1;
    jm_find(root, p, last, out);
}

/* ---- writing --------------------------------------------------------------------------------- */

/* The pointer p[0..upto) with its "*" replaced by idx, for messages. */
static const char *
jm_concrete(const struct jm_path *p, size_t upto, const size_t *idx, char *buf, size_t len)
{
    size_t off = 0, k = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < upto && off < len; i++) {
        const struct jm_seg *s = &p->segs[i];
        if (s->wild) {
            off += (size_t)snprintf(buf + off, len - off, "/%zu", idx[k++]);
            continue;
        }
        off += (size_t)snprintf(buf + off, len - off, "/");
        for (const char *c = s->key; *c != '\0' && off < len; c++)
            off += (size_t)snprintf(buf + off, len - off, "%s",
                                    *c == '~' ? "~0" : *c == '/' ? "~1" : (char[2]){*c, 0});
    }
    return upto == 0 ? "the document" : buf;
}

static json_t *
jm_container_for(const struct jm_seg *next)
{
    return next->wild || next->append || next->index >= 0 ? json_array() : json_object();
}

/* The array index a segment means on an array (bound "*", "-" the end), or -1. */
static long
jm_array_index(const struct jm_seg *s, json_t *arr, const size_t *idx, size_t *k)
{
    if (s->wild)
        return (long)idx[(*k)++];
    if (s->append)
        return (long)json_array_size(arr);
    return s->index;
}

/* Put value (reference taken) into arr at i: replace, or pad and append. */
static void
jm_array_put(json_t *arr, size_t i, json_t *value, const struct jm_seg *next)
{
    if (i < json_array_size(arr)) {
        json_array_set_new(arr, i, value);
        return;
    }
    while (json_array_size(arr) < i)
        json_array_append_new(arr, next ? jm_container_for(next) : json_null());
    json_array_append_new(arr, value);
}

/* One step of a write through segment i: at the last segment put value (reference taken) into
 * *cur and return 1; before it move *cur to the child, created when missing, and return 0.
 * Returns -1 with r->err set (value not taken) when *cur cannot hold the segment. */
static int
jm_step(struct jm_run *r, const struct jm_path *p, size_t i, const size_t *idx, size_t *k,
        json_t **cur, json_t *value, int if_absent)
{
    const struct jm_seg *s = &p->segs[i], *next = i + 1 < p->n ? &p->segs[i + 1] : NULL;
    char where[256];
    json_t *child;

    if (json_is_object(*cur) && !s->wild) {
        child = json_object_get(*cur, s->key);
        if (next == NULL) {
            if (child != NULL && if_absent)
                json_decref(value);
            else
                json_object_set_new(*cur, s->key, value);
            return 1;
        }
        if (child == NULL)
            json_object_set_new(*cur, s->key, child = jm_container_for(next));
        *cur = child;
        return 0;
    }
    if (json_is_array(*cur)) {
        long at = jm_array_index(s, *cur, idx, k);
        if (at < 0) {
            snprintf(r->err, sizeof r->err, "%s is an array: \"%s\" is not an index",
                     jm_concrete(p, i, idx, where, sizeof where), s->key);
            return -1;
        }
        if (next == NULL) {
            if (if_absent && (size_t)at < json_array_size(*cur))
                json_decref(value);
            else
                jm_array_put(*cur, (size_t)at, value, NULL);
            return 1;
        }
        if ((size_t)at >= json_array_size(*cur))
            jm_array_put(*cur, (size_t)at, jm_container_for(next), next);
        *cur = json_array_get(*cur, (size_t)at);
        return 0;
    }
    snprintf(r->err, sizeof r->err, "%s is %s, not %s", jm_concrete(p, i, idx, where, sizeof where),
             gw_json_type_name(*cur), s->wild ? "an array" : "an object or array");
    return -1;
}

/* Write value (reference taken) at p, its "*" bound to idx. if_absent: only when nothing is
 * there yet. Returns 0, or -1 with r->err set. */
static int
jm_put(struct jm_run *r, const struct jm_path *p, const size_t *idx, json_t *value, int if_absent)
{
    json_t *cur = *r->root;
    size_t k = 0;

    if (p->n == 0) {
        if (if_absent) {
            json_decref(value);
        } else {
            json_decref(*r->root);
            *r->root = value;
        }
        return 0;
    }
    for (size_t i = 0; i < p->n; i++) {
        int rc = jm_step(r, p, i, idx, &k, &cur, value, if_absent);
        if (rc != 0) {
            if (rc < 0)
                json_decref(value);
            return rc < 0 ? -1 : 0;
        }
    }
    return 0;
}

/* ---- operations ------------------------------------------------------------------------------ */

static int
jm_delete(struct jm_run *r, const struct jm_path *p)
{
    struct jm_hits parents = {0};
    const struct jm_seg *last = &p->segs[p->n - 1];

    jm_find(*r->root, p, p->n - 1, &parents);
    /* backwards, so that removing array elements never shifts one still to visit */
    for (size_t i = parents.n; i-- > 0;) {
        json_t *parent = parents.v[i].node;
        if (last->wild && json_is_array(parent))
            json_array_clear(parent);
        else if (json_is_object(parent) && !last->wild)
            json_object_del(parent, last->key);
        else if (json_is_array(parent) && last->index >= 0)
            json_array_remove(parent, (size_t)last->index);
    }
    free(parents.v);
    return 0;
}

/* Rename member `from` of obj to `to`, keeping its place; a member already named `to` goes. */
static void
jm_rename_member(json_t *obj, const char *from, const char *to)
{
    json_t *tmp, *v;
    const char *key;

    if (json_object_get(obj, from) == NULL || strcmp(from, to) == 0)
        return;
    tmp = json_object();
    json_object_foreach(obj, key, v) {
        if (strcmp(key, to) != 0)
            json_object_set(tmp, strcmp(key, from) == 0 ? to : key, v);
    }
    json_object_clear(obj);
    json_object_update(obj, tmp);
    json_decref(tmp);
}

static int
jm_rename(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits parents = {0};
    const struct jm_path *p = &op->from;
    char where[256];
    int rc = 0;

    jm_find(*r->root, p, p->n - 1, &parents);
    for (size_t i = 0; i < parents.n; i++) {
        json_t *parent = parents.v[i].node;
        if (json_is_object(parent)) {
            jm_rename_member(parent, p->segs[p->n - 1].key, op->name);
        } else if (json_is_array(parent) && p->segs[p->n - 1].index >= 0) {
            snprintf(r->err, sizeof r->err, "%s is an array: its elements have no name",
                     jm_concrete(p, p->n - 1, parents.v[i].idx, where, sizeof where));
            rc = -1;
            break;
        }
    }
    free(parents.v);
    return rc;
}

/* The value of a set or default, built for this exchange; NULL when a template gave text that is
 * not UTF-8. */
static json_t *
jm_value_build(const struct jm_value *v, struct jm_run *r)
{
    json_t *out, *c;
    size_t n;
    char *s;

    switch (v->kind) {
    case JV_CONST: return json_deep_copy(v->constant);
    case JV_TEMPLATE:
        s = tf_template_expand(v->tpl, r->x, r->m, &n);
        return json_stringn(s, n);
    default: break;
    }
    out = v->kind == JV_OBJECT ? json_object() : json_array();
    for (size_t i = 0; i < v->n; i++) {
        if ((c = jm_value_build(&v->items[i], r)) == NULL) {
            json_decref(out);
            return NULL;
        }
        if (v->kind == JV_OBJECT)
            json_object_set_new(out, v->keys[i], c);
        else
            json_array_append_new(out, c);
    }
    return out;
}

static int
jm_set(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits b = {0};
    int rc = 0;

    jm_bindings(*r->root, &op->from, &b);
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        json_t *v = jm_value_build(&op->value, r);
        if (v == NULL) {
            snprintf(r->err, sizeof r->err, "the value for %s is not valid UTF-8",
                     op->from.text);
            rc = -1;
        } else {
            rc = jm_put(r, &op->from, b.v[i].idx, v, op->kind == JM_DEFAULT);
        }
    }
    free(b.v);
    return rc;
}

/* Put copies of the values found (hits) at op->to, as json_map.h says for each wildcard case. */
static int
jm_copy_hits(struct jm_run *r, const struct jm_op *op, const struct jm_hits *hits)
{
    struct jm_hits b = {0};
    json_t **vals;
    int rc = 0;

    if (op->from.nwild > 0 && op->to.nwild == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < hits->n; i++)
            json_array_append_new(arr, tf_json_body_copy(hits->v[i].node));
        return jm_put(r, &op->to, NULL, arr, 0);
    }
    if (op->from.nwild == 0 && op->to.nwild > 0) {
        json_t *v = json_incref(hits->v[0].node); /* survives a put that replaces its parent */
        jm_bindings(*r->root, &op->to, &b);
        for (size_t i = 0; rc == 0 && i < b.n; i++)
            rc = jm_put(r, &op->to, b.v[i].idx, tf_json_body_copy(v), 0);
        json_decref(v);
        free(b.v);
        return rc;
    }
    /* element by element: copy every value before writing any */
    vals = gw_xmalloc(hits->n * sizeof *vals);
    for (size_t i = 0; i < hits->n; i++)
        vals[i] = tf_json_body_copy(hits->v[i].node);
    for (size_t i = 0; i < hits->n; i++) {
        if (rc == 0)
            rc = jm_put(r, &op->to, hits->v[i].idx, vals[i], 0);
        else
            json_decref(vals[i]);
    }
    free(vals);
    return rc;
}

static int
jm_copy(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits hits = {0};
    int rc = 0;

    jm_find(*r->root, &op->from, op->from.n, &hits);
    if (hits.n > 0) {
        rc = jm_copy_hits(r, op, &hits);
        if (rc == 0 && op->kind == JM_MOVE)
            rc = jm_delete(r, &op->from);
    }
    free(hits.v);
    return rc;
}

static int
jm_run_op(struct jm_run *r, const struct jm_op *op)
{
    switch (op->kind) {
    case JM_COPY:
    case JM_MOVE: return jm_copy(r, op);
    case JM_RENAME: return jm_rename(r, op);
    case JM_DELETE: return jm_delete(r, &op->from);
    case JM_SET:
    case JM_DEFAULT: return jm_set(r, op);
    }
    return 0;
}

/* ---- apply ----------------------------------------------------------------------------------- */

static int
jm_not_json(const struct jm_inst *in, const struct tf_message *m, struct tf_ctx *x)
{
    if (!in->strict)
        return TF_SKIP;
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL,
                       "json_map: the upstream's response is not JSON");
    return x->fail(x, 415, "unsupported-media-type", NULL,
                   "json_map: the request body must be JSON (application/json)");
}

int
tf_jm_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct jm_inst *in = inst;
    struct tf_json_body b;
    struct jm_run r = {.x = x, .m = m};
    int rc = TF_DONE;

    if (m->body_len == 0)
        return TF_SKIP; /* no body to map, whatever Content-Type says: as the chain runner */
    if (!tf_is_json(m, x))
        return jm_not_json(in, m, x);
    if (tf_json_body_parse(&b, m, x, "json_map") < 0)
        return TF_ERROR;
    r.root = &b.root;
    for (size_t i = 0; i < in->nops; i++) {
        if (jm_run_op(&r, &in->ops[i]) < 0) {
            int resp = m->phase == TF_PHASE_RESPONSE;
            rc = x->fail(x, resp ? 502 : 422, resp ? "bad-upstream-response" : "mapping-failed",
                         NULL, "json_map: ops[%zu] (%s): %s", i, tf_jm_kind_name(in->ops[i].kind),
                         r.err);
            goto out;
        }
    }
    m->body = tf_json_body_dump(&b, b.root, x, &m->body_len);
out:
    tf_json_body_free(&b);
    return rc;
}
