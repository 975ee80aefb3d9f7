/* json_tree.c: see json_tree.h. */
#include "json_tree.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json_read.h"
#include "xml_json.h"

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
        *v = (struct jv){ .t = J_ARR, .n = count, .items = p->x->alloc(p->x, count * sizeof *v) };
        if (count > 0)
            memcpy(v->items, p->vs + vbase, count * sizeof *v);
        p->vn = vbase;
    } else {
        *v = (struct jv){ .t = J_OBJ, .n = count,
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
