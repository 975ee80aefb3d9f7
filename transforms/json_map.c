/* json_map.c: the `json_map` transform at run time: apply the compiled operations to a JSON body.
 * The configuration is compiled by json_map_conf.c; json_map.h says how paths and wildcards work.
 *
 * The body comes as the chain's JSON document (json_tree.h: parsed under the threat limits, or
 * left parsed by the step before), every operation edits it in place in the configured order,
 * and the chain writes it once at its end, compact, with the numbers as the partner wrote them.
 *
 * Containers hold their entries by value in arrays that grow, so a pointer to a value is good
 * only until its container grows or loses an entry: an operation copies the values it found
 * before it writes anything, and never keeps a pointer across a write.
 */
#include "builtins_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "body_forms.h"
#include "json_map.h"
#include "json_tree.h"
#include "text.h"

/* A value found by a path, with the indexes its "*" segments took. */
struct jm_hit {
    struct jv *node; /* into the tree: good until the next write */
    size_t idx[JM_MAX_WILD];
};

struct jm_hits {
    struct jm_hit *v;
    size_t n, cap;
};

/* What one operation works with. */
struct jm_run {
    struct jv *root;
    struct tf_ctx *x;
    const struct tf_message *m;
    char err[512];
};

/* ---- walking --------------------------------------------------------------------------------- */

static void
jm_hits_push(struct jm_hits *h, struct jv *node, const size_t *idx, size_t k)
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

static struct jv *
jm_child(struct jv *node, const struct jm_seg *s)
{
    if (node->t == J_OBJ)
        return tf_jv_get(node, s->key, strlen(s->key));
    if (node->t == J_ARR && s->index >= 0 && (size_t)s->index < node->n)
        return &node->items[s->index];
    return NULL;
}

/* Push every existing node reached from node through the segments [i, stop) of p. */
static void
jm_walk(struct jv *node, const struct jm_path *p, size_t i, size_t stop, size_t *idx, size_t k,
        struct jm_hits *out)
{
    const struct jm_seg *s;
    struct jv *child;

    if (i == stop) {
        jm_hits_push(out, node, idx, k);
        return;
    }
    s = &p->segs[i];
    if (s->wild) {
        for (size_t j = 0; node->t == J_ARR && j < node->n; j++) {
            idx[k] = j;
            jm_walk(&node->items[j], p, i + 1, stop, idx, k + 1, out);
        }
    } else if ((child = jm_child(node, s)) != NULL) {
        jm_walk(child, p, i + 1, stop, idx, k, out);
    }
}

static void
jm_find(struct jv *root, const struct jm_path *p, size_t stop, struct jm_hits *out)
{
    size_t idx[JM_MAX_WILD];

    jm_walk(root, p, 0, stop, idx, 0, out);
}

/* The index bindings under which p is written: one (no "*") or one per element the "*" find.
 * Only the indexes are used: the nodes may move with the first write. */
static void
jm_bindings(struct jv *root, const struct jm_path *p, struct jm_hits *out)
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

/* What a value is, in the words messages have always used (jansson's types: a number is "an
 * integer" when it has no fraction nor exponent and fits in 64 bits). */
static const char *
jm_type_name(const struct jv *v)
{
    char lit[24];

    switch (v->t) {
    case J_OBJ: return "an object";
    case J_ARR: return "an array";
    case J_STR: return "a string";
    case J_TRUE:
    case J_FALSE: return "a boolean";
    case J_NULL: return "null";
    default: break;
    }
    if (v->n >= sizeof lit || memchr(v->s, '.', v->n) != NULL || memchr(v->s, 'e', v->n) != NULL ||
        memchr(v->s, 'E', v->n) != NULL)
        return "a number";
    memcpy(lit, v->s, v->n);
    lit[v->n] = '\0';
    errno = 0;
    (void)strtoll(lit, NULL, 10);
    return errno == ERANGE ? "a number" : "an integer";
}

static struct jv
jm_container_for(const struct jm_seg *next)
{
    return next->wild || next->append || next->index >= 0 ? tf_jv_array() : tf_jv_object();
}

/* The array index a segment means on an array (bound "*", "-" the end), or -1. */
static long
jm_array_index(const struct jm_seg *s, const struct jv *arr, const size_t *idx, size_t *k)
{
    if (s->wild)
        return (long)idx[(*k)++];
    if (s->append)
        return (long)arr->n;
    return s->index;
}

/* Put value into arr at i: replace, or pad and append. Returns the slot it is in. */
static struct jv *
jm_array_put(struct tf_ctx *x, struct jv *arr, size_t i, const struct jv *value,
             const struct jm_seg *next)
{
    if (i < arr->n) {
        arr->items[i] = *value;
        return &arr->items[i];
    }
    while (arr->n < i)
        *tf_jv_push(x, arr) = next ? jm_container_for(next) : (struct jv){.t = J_NULL};
    *tf_jv_push(x, arr) = *value;
    return &arr->items[i];
}

/* One step of a write through segment i: at the last segment put value into *cur and return 1;
 * before it move *cur to the child, created when missing, and return 0. Returns -1 with r->err
 * set when *cur cannot hold the segment. */
static int
jm_step(struct jm_run *r, const struct jm_path *p, size_t i, const size_t *idx, size_t *k,
        struct jv **cur, const struct jv *value, int if_absent)
{
    const struct jm_seg *s = &p->segs[i], *next = i + 1 < p->n ? &p->segs[i + 1] : NULL;
    char where[256];
    struct jv *child;

    if ((*cur)->t == J_OBJ && !s->wild) {
        size_t kn = strlen(s->key);
        child = tf_jv_get(*cur, s->key, kn);
        if (next == NULL) {
            if (child == NULL)
                *tf_jv_add(r->x, *cur, s->key, kn) = *value;
            else if (!if_absent)
                *child = *value;
            return 1;
        }
        if (child == NULL)
            *(child = tf_jv_add(r->x, *cur, s->key, kn)) = jm_container_for(next);
        *cur = child;
        return 0;
    }
    if ((*cur)->t == J_ARR) {
        long at = jm_array_index(s, *cur, idx, k);
        if (at < 0) {
            snprintf(r->err, sizeof r->err, "%s is an array: \"%s\" is not an index",
                     jm_concrete(p, i, idx, where, sizeof where), s->key);
            return -1;
        }
        if (next == NULL) {
            if (!if_absent || (size_t)at >= (*cur)->n)
                jm_array_put(r->x, *cur, (size_t)at, value, NULL);
            return 1;
        }
        if ((size_t)at >= (*cur)->n) {
            struct jv c = jm_container_for(next);
            *cur = jm_array_put(r->x, *cur, (size_t)at, &c, next);
        } else {
            *cur = &(*cur)->items[at];
        }
        return 0;
    }
    snprintf(r->err, sizeof r->err, "%s is %s, not %s", jm_concrete(p, i, idx, where, sizeof where),
             jm_type_name(*cur), s->wild ? "an array" : "an object or array");
    return -1;
}

/* Write value (a value of its own: not in the tree) at p, its "*" bound to idx. if_absent: only
 * when nothing is there yet. Returns 0, or -1 with r->err set. */
static int
jm_put(struct jm_run *r, const struct jm_path *p, const size_t *idx, const struct jv *value,
       int if_absent)
{
    struct jv *cur = r->root;
    size_t k = 0;

    if (p->n == 0) {
        if (!if_absent)
            *r->root = *value;
        return 0;
    }
    for (size_t i = 0; i < p->n; i++) {
        int rc = jm_step(r, p, i, idx, &k, &cur, value, if_absent);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

/* ---- operations ------------------------------------------------------------------------------ */

static int
jm_delete(struct jm_run *r, const struct jm_path *p)
{
    struct jm_hits parents = {0};
    const struct jm_seg *last = &p->segs[p->n - 1];

    /* the parents all lie at one depth, so none is inside another: removing from one leaves the
     * others where they are; backwards anyway, as array elements shift down */
    jm_find(r->root, p, p->n - 1, &parents);
    for (size_t i = parents.n; i-- > 0;) {
        struct jv *parent = parents.v[i].node;
        if (last->wild && parent->t == J_ARR)
            parent->n = 0;
        else if (parent->t == J_OBJ && !last->wild)
            tf_jv_del(parent, last->key, strlen(last->key));
        else if (parent->t == J_ARR && last->index >= 0)
            tf_jv_remove(parent, (size_t)last->index);
    }
    free(parents.v);
    return 0;
}

static int
jm_rename(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits parents = {0};
    const struct jm_path *p = &op->from;
    const struct jm_seg *last = &p->segs[p->n - 1];
    char where[256];
    int rc = 0;

    jm_find(r->root, p, p->n - 1, &parents);
    for (size_t i = 0; i < parents.n; i++) {
        struct jv *parent = parents.v[i].node;
        if (parent->t == J_OBJ) {
            /* in its place; a member already named so goes (op->name lives with the config) */
            tf_jv_rename(parent, last->key, strlen(last->key), op->name, strlen(op->name));
        } else if (parent->t == J_ARR && last->index >= 0) {
            snprintf(r->err, sizeof r->err, "%s is an array: its elements have no name",
                     jm_concrete(p, p->n - 1, parents.v[i].idx, where, sizeof where));
            rc = -1;
            break;
        }
    }
    free(parents.v);
    return rc;
}

/* Is s[0..n) valid UTF-8 (what a JSON string must hold)? */
static int
jm_utf8_ok(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len) {
        len = (unsigned char)s[i] < 0x80 ? 1 : gw_utf8_len((const unsigned char *)s + i, n - i);
        if (len == 0)
            return 0;
    }
    return 1;
}

/* The value of a set or default, built for this exchange into *out (containers of its own).
 * Returns 0, or -1 when a template gave text that is not UTF-8. */
static int
jm_value_build(const struct jm_value *v, struct jm_run *r, struct jv *out)
{
    size_t n;
    char *s;

    switch (v->kind) {
    case JV_CONST: tf_jv_copy(r->x, out, &v->constant); return 0;
    case JV_TEMPLATE:
        s = tf_template_expand(v->tpl, r->x, r->m, &n);
        *out = tf_jv_string(s, n);
        return jm_utf8_ok(s, n) ? 0 : -1;
    default: break;
    }
    *out = v->kind == JV_OBJECT ? tf_jv_object() : tf_jv_array();
    for (size_t i = 0; i < v->n; i++) {
        /* the keys are the config's: they live as long as the exchange */
        struct jv *c = v->kind == JV_OBJECT ? tf_jv_add(r->x, out, v->keys[i], strlen(v->keys[i]))
                                            : tf_jv_push(r->x, out);
        if (jm_value_build(&v->items[i], r, c) < 0)
            return -1;
    }
    return 0;
}

static int
jm_set(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits b = {0};
    struct jv v;
    int rc = 0;

    jm_bindings(r->root, &op->from, &b);
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        if (jm_value_build(&op->value, r, &v) < 0) {
            snprintf(r->err, sizeof r->err, "the value for %s is not valid UTF-8",
                     op->from.text);
            rc = -1;
        } else {
            rc = jm_put(r, &op->from, b.v[i].idx, &v, op->kind == JM_DEFAULT);
        }
    }
    free(b.v);
    return rc;
}

/* Put the values found (hits) at op->to, as json_map.h says for each wildcard case. Every value
 * is taken out of the tree before the first write: a deep copy for copy; for move the value
 * itself (its containers then belong to the new place alone, once jm_delete has removed the
 * old one: move's "from" and "to" never lie inside each other, so no write goes through it). */
static int
jm_copy_hits(struct jm_run *r, const struct jm_op *op, const struct jm_hits *hits)
{
    int move = op->kind == JM_MOVE, rc = 0;
    struct jm_hits b = {0};
    struct jv *vals, arr;

    vals = gw_xmalloc(hits->n * sizeof *vals);
    for (size_t i = 0; i < hits->n; i++) {
        if (move)
            vals[i] = *hits->v[i].node;
        else
            tf_jv_copy(r->x, &vals[i], hits->v[i].node);
    }
    if (op->from.nwild > 0 && op->to.nwild == 0) {
        /* collect: an array of every value, in document order */
        arr = (struct jv){.t = J_ARR, .n = hits->n, .cap = hits->n,
                          .items = r->x->alloc(r->x, hits->n * sizeof *vals)};
        memcpy(arr.items, vals, hits->n * sizeof *vals);
        rc = jm_put(r, &op->to, NULL, &arr, 0);
    } else if (op->from.nwild == 0 && op->to.nwild > 0) {
        /* broadcast: a copy of its own under every element */
        jm_bindings(r->root, &op->to, &b);
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
            struct jv v;
            tf_jv_copy(r->x, &v, &vals[0]);
            rc = jm_put(r, &op->to, b.v[i].idx, &v, 0);
        }
        free(b.v);
    } else {
        /* element by element (or one value, one place) */
        for (size_t i = 0; rc == 0 && i < hits->n; i++)
            rc = jm_put(r, &op->to, hits->v[i].idx, &vals[i], 0);
    }
    free(vals);
    return rc;
}

static int
jm_copy(struct jm_run *r, const struct jm_op *op)
{
    struct jm_hits hits = {0};
    int rc = 0;

    jm_find(r->root, &op->from, op->from.n, &hits);
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
    struct jm_run r = {.x = x, .m = m};

    /* no body to map, whatever Content-Type says: as the chain runner (a body held as a
     * document is never empty) */
    if ((tf_body_forms(m) & TF_FORM_BYTES) && m->body_len == 0)
        return TF_SKIP;
    if (!tf_is_json(m, x))
        return jm_not_json(in, m, x);
    if ((r.root = x->body_json(x, m, "json_map")) == NULL)
        return TF_ERROR;
    for (size_t i = 0; i < in->nops; i++) {
        if (jm_run_op(&r, &in->ops[i]) < 0) {
            int resp = m->phase == TF_PHASE_RESPONSE;
            return x->fail(x, resp ? 502 : 422, resp ? "bad-upstream-response" : "mapping-failed",
                           NULL, "json_map: ops[%zu] (%s): %s", i,
                           tf_jm_kind_name(in->ops[i].kind), r.err);
        }
    }
    x->set_json(x, m, r.root, 0);
    return TF_DONE;
}
