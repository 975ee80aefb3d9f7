/* json_tree.c: see json_tree.h. */
#include "json_tree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "json_read.h"
#include "text.h"
#include "xml_json.h"
#include "xml_util.h"

/* The tree being read (memory from x's arena). */
struct jb {
    struct gw_json_reader r;
    struct tf_ctx *x;
    struct jv *vs;      /* values of the open arrays */
    size_t vn, vcap;
    struct jmem *ms;    /* members of the open objects */
    size_t mn, mcap;
};

static int jb_value(struct jb *p, const struct gw_json_token *t, struct jv *v);

/* The entries of the container t opened, up to its end, as items (arrays) or members. */
static int
jb_container(struct jb *p, const struct gw_json_token *open, struct jv *v)
{
    size_t vbase = p->vn, mbase = p->mn, count = 0;
    struct gw_json_token t;
    int type;

    while ((type = gw_json_next(&p->r, &t)) != GW_JSON_CLOSE) {
        struct jmem m = { .k = t.key, .kn = t.kn, .pos = t.kpos };
        /* parsed aside: nested containers push onto the same stacks */
        if (type < 0 || jb_value(p, &t, &m.v) < 0)
            return -1;
        if (open->type == GW_JSON_ARRAY) {
            if (p->vn == p->vcap) {
                p->vcap = p->vcap ? p->vcap * 2 : 64;
                p->vs = gw_xrealloc(p->vs, p->vcap * sizeof *p->vs);
            }
            p->vs[p->vn++] = m.v;
        } else {
            if (p->mn == p->mcap) {
                p->mcap = p->mcap ? p->mcap * 2 : 64;
                p->ms = gw_xrealloc(p->ms, p->mcap * sizeof *p->ms);
            }
            p->ms[p->mn++] = m;
        }
        count++;
    }
    if (open->type == GW_JSON_ARRAY) {
        *v = (struct jv){ .t = J_ARR, .n = count, .cap = count,
                          .items = p->x->alloc(p->x, count * sizeof *v) };
        if (count > 0)
            memcpy(v->items, p->vs + vbase, count * sizeof *v);
        p->vn = vbase;
    } else {
        *v = (struct jv){ .t = J_OBJ, .n = count, .cap = count,
                          .mems = p->x->alloc(p->x, count * sizeof(struct jmem)) };
        if (count > 0)
            memcpy(v->mems, p->ms + mbase, count * sizeof(struct jmem));
        p->mn = mbase;
    }
    return 0;
}

static int
jb_value(struct jb *p, const struct gw_json_token *t, struct jv *v)
{
    switch (t->type) {
    case GW_JSON_OBJECT:
    case GW_JSON_ARRAY: return jb_container(p, t, v);
    case GW_JSON_STRING: *v = (struct jv){ .t = J_STR, .s = t->s, .n = t->n }; return 0;
    case GW_JSON_NUMBER: *v = (struct jv){ .t = J_NUM, .s = t->s, .n = t->n }; return 0;
    case GW_JSON_TRUE: *v = (struct jv){ .t = J_TRUE }; return 0;
    case GW_JSON_FALSE: *v = (struct jv){ .t = J_FALSE }; return 0;
    default: *v = (struct jv){ .t = J_NULL }; return 0;
    }
}

/* Read the whole text into *v, or refuse it with *why and err set (the reader's words). */
int
tf_json_tree_read(const char *buf, size_t len, const struct tf_limits *l, struct tf_ctx *x, struct jv *v,
         enum tf_threat *why, char *err, size_t errlen)
{
    struct jb p = { .x = x };
    struct gw_json_token t;
    int rc = -1;

    tf_json_reader_init(&p.r, buf, len, l, x, err, errlen);
    if (gw_json_next(&p.r, &t) >= 0 && jb_value(&p, &t, v) == 0 &&
        gw_json_next(&p.r, &t) == GW_JSON_END)
        rc = 0;
    *why = rc < 0 ? tf_threat_of(p.r.why) : TF_THREAT_OK;
    gw_json_reader_done(&p.r);
    free(p.vs);
    free(p.ms);
    return rc;
}

/* ---- editing ---- */

char *
tf_jv_dup(struct tf_ctx *x, const char *s, size_t n)
{
    char *d = x->alloc(x, n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Room for one more entry of c (size: an entry's). */
static void *
grow(struct tf_ctx *x, void *entries, size_t n, size_t *cap, size_t size)
{
    void *more;

    if (n < *cap)
        return entries;
    *cap = *cap ? *cap * 2 : 4;
    more = x->alloc(x, *cap * size);
    if (n > 0)
        memcpy(more, entries, n * size);
    return more;
}

struct jv *
tf_jv_get(const struct jv *obj, const char *k, size_t kn)
{
    if (obj == NULL || obj->t != J_OBJ)
        return NULL;
    for (size_t i = obj->n; i-- > 0;)
        if (obj->mems[i].kn == kn && memcmp(obj->mems[i].k, k, kn) == 0)
            return &obj->mems[i].v;
    return NULL;
}

struct jv *
tf_jv_add(struct tf_ctx *x, struct jv *obj, const char *k, size_t kn)
{
    struct jmem *m;

    obj->mems = grow(x, obj->mems, obj->n, &obj->cap, sizeof *obj->mems);
    m = &obj->mems[obj->n++];
    *m = (struct jmem){ .k = k, .kn = kn, .v = { .t = J_NULL } };
    return &m->v;
}

size_t
tf_jv_del(struct jv *obj, const char *k, size_t kn)
{
    size_t kept = 0, n;

    if (obj == NULL || obj->t != J_OBJ)
        return 0;
    n = obj->n;
    for (size_t i = 0; i < n; i++)
        if (!(obj->mems[i].kn == kn && memcmp(obj->mems[i].k, k, kn) == 0))
            obj->mems[kept++] = obj->mems[i];
    obj->n = kept;
    return n - kept;
}

int
tf_jv_rename(struct jv *obj, const char *from, size_t fn, const char *to, size_t tn)
{
    size_t at = SIZE_MAX, kept = 0;

    if (obj == NULL || obj->t != J_OBJ)
        return 0;
    for (size_t i = 0; i < obj->n; i++)
        if (obj->mems[i].kn == fn && memcmp(obj->mems[i].k, from, fn) == 0)
            at = i;
    if (at == SIZE_MAX)
        return 0;
    if (fn == tn && memcmp(from, to, fn) == 0)
        return 1;
    obj->mems[at].k = to;
    obj->mems[at].kn = tn;
    for (size_t i = 0; i < obj->n; i++) /* one member per name: the renamed one stays */
        if (i == at || !(obj->mems[i].kn == tn && memcmp(obj->mems[i].k, to, tn) == 0))
            obj->mems[kept++] = obj->mems[i];
    obj->n = kept;
    return 1;
}

struct jv *
tf_jv_push(struct tf_ctx *x, struct jv *arr)
{
    arr->items = grow(x, arr->items, arr->n, &arr->cap, sizeof *arr->items);
    arr->items[arr->n] = (struct jv){ .t = J_NULL };
    return &arr->items[arr->n++];
}

void
tf_jv_remove(struct jv *arr, size_t i)
{
    if (arr == NULL || arr->t != J_ARR || i >= arr->n)
        return;
    memmove(arr->items + i, arr->items + i + 1, (arr->n - i - 1) * sizeof *arr->items);
    arr->n--;
}

void
tf_jv_copy(struct tf_ctx *x, struct jv *dst, const struct jv *src)
{
    *dst = *src;
    if (src->t == J_ARR) {
        dst->cap = src->n;
        dst->items = src->n > 0 ? x->alloc(x, src->n * sizeof *dst->items) : NULL;
        for (size_t i = 0; i < src->n; i++)
            tf_jv_copy(x, &dst->items[i], &src->items[i]);
    } else if (src->t == J_OBJ) {
        dst->cap = src->n;
        dst->mems = src->n > 0 ? x->alloc(x, src->n * sizeof *dst->mems) : NULL;
        for (size_t i = 0; i < src->n; i++) {
            dst->mems[i] = src->mems[i];
            tf_jv_copy(x, &dst->mems[i].v, &src->mems[i].v);
        }
    }
}

/* The shortest "%.Ng" that reads back as d, kept recognisable as a real: "100.0" (as jansson
 * writes it), "6.2", "1e+21". */
static size_t
real_literal(double d, char *out, size_t room)
{
    int n = 0;

    if (d == floor(d) && fabs(d) < 1e16)
        return (size_t)snprintf(out, room, "%.1f", d);
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, room - 2, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (strpbrk(out, ".eE") == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

void
tf_jv_of_json(struct tf_ctx *x, const json_t *j, struct jv *out)
{
    char num[40];
    const char *key;
    json_t *v;
    size_t i, n;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        *out = tf_jv_object();
        json_object_foreach((json_t *)j, key, v)
            tf_jv_of_json(x, v, tf_jv_add(x, out, tf_jv_dup(x, key, strlen(key)), strlen(key)));
        break;
    case JSON_ARRAY:
        *out = tf_jv_array();
        json_array_foreach(j, i, v)
            tf_jv_of_json(x, v, tf_jv_push(x, out));
        break;
    case JSON_STRING:
        *out = tf_jv_string(tf_jv_dup(x, json_string_value(j), json_string_length(j)),
                            json_string_length(j));
        break;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        *out = (struct jv){ .t = J_NUM, .s = tf_jv_dup(x, num, n), .n = n };
        break;
    case JSON_REAL:
        n = isfinite(json_real_value(j)) ? real_literal(json_real_value(j), num, sizeof num) : 0;
        *out = n > 0 ? (struct jv){ .t = J_NUM, .s = tf_jv_dup(x, num, n), .n = n }
                     : (struct jv){ .t = J_NULL };
        break;
    case JSON_TRUE: *out = (struct jv){ .t = J_TRUE }; break;
    case JSON_FALSE: *out = (struct jv){ .t = J_FALSE }; break;
    default: *out = (struct jv){ .t = J_NULL }; break;
    }
}

/* ---- writing ---- */

static void
indent(struct gw_buf *o, int depth)
{
    gw_buf_addc(o, '\n');
    for (int i = 0; i < depth; i++)
        gw_buf_add(o, "  ", 2);
}

static void
write_value(struct gw_buf *o, const struct jv *v, int pretty, int depth)
{
    int in = pretty && !(v->flags & JV_INLINE);

    switch (v->t) {
    case J_NULL: gw_buf_add(o, "null", 4); return;
    case J_TRUE: gw_buf_add(o, "true", 4); return;
    case J_FALSE: gw_buf_add(o, "false", 5); return;
    case J_NUM: gw_buf_add(o, v->s, v->n); return;
    case J_STR: gw_json_str(o, v->s, v->n, 0); return;
    case J_ARR:
        gw_buf_addc(o, '[');
        for (size_t i = 0; i < v->n && !o->over; i++) {
            if (i > 0)
                gw_buf_addc(o, ',');
            if (in)
                indent(o, depth + 1);
            write_value(o, &v->items[i], pretty, depth + 1);
        }
        if (in && v->n > 0)
            indent(o, depth);
        gw_buf_addc(o, ']');
        return;
    default:
        gw_buf_addc(o, '{');
        for (size_t i = 0; i < v->n && !o->over; i++) {
            if (i > 0)
                gw_buf_addc(o, ',');
            if (in)
                indent(o, depth + 1);
            gw_json_str(o, v->mems[i].k, v->mems[i].kn, 0);
            gw_buf_add(o, ": ", pretty ? 2 : 1);
            write_value(o, &v->mems[i].v, pretty, depth + 1);
        }
        if (in && v->n > 0)
            indent(o, depth);
        gw_buf_addc(o, '}');
    }
}

char *
tf_jv_write(const struct jv *v, int pretty, size_t max, struct tf_ctx *x, size_t *len)
{
    struct gw_buf o;

    tf_arena_buf(&o, x, max, 4096);
    write_value(&o, v, pretty, 0);
    if (pretty)
        gw_buf_addc(&o, '\n');
    if (o.over || o.oom)
        return NULL;
    *len = o.len;
    return gw_buf_str(&o);
}
