/* json_to_xml_ns.c: the namespaces of json_to_xml's output (see json_to_xml.h): the prefixes in
 * scope, the declarations an object makes and the root's, and the prefixes of the markers. */
#include "json_to_xml.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "xj_convention.h"

static void
bind(struct jx *w, const char *p, size_t n, int markers)
{
    if (w->nscope == w->scap) {
        w->scap = w->scap ? w->scap * 2 : 16;
        w->scope = gw_xrealloc(w->scope, w->scap * sizeof *w->scope);
    }
    w->scope[w->nscope++] = (struct binding){ p, n, markers };
}

int
tf_jx_bound(const struct jx *w, const char *p, size_t n)
{
    if (n == 3 && memcmp(p, "xml", 3) == 0)
        return 1;
    for (size_t i = w->nscope; i-- > 0;)
        if (w->scope[i].n == n && memcmp(w->scope[i].p, p, n) == 0)
            return !w->scope[i].markers;
    return 0;
}

/* Is attribute key name[0..n) (after the prefix) a namespace declaration? */
int
tf_jx_is_decl(const struct jx *w, const char *name, size_t n)
{
    return w->c->ns != TF_XJ_NS_STRIP && n >= 5 && memcmp(name, "xmlns", 5) == 0 &&
           (n == 5 || name[5] == ':');
}

/* Does the object declare prefix p itself ("" : the default namespace)? */
static int
declares(const struct jx *w, const struct jv *obj, const char *p)
{
    size_t pl = strlen(p), al = w->c->attr_prefix_len;

    if (obj == NULL || obj->t != J_OBJ || w->c->ns == TF_XJ_NS_STRIP)
        return 0;
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        if (!tf_jx_is_attr_key(w->c, m) || !tf_jx_is_decl(w, m->k + al, m->kn - al))
            continue;
        if ((pl == 0 && m->kn == al + 5) ||
            (m->kn == al + 6 + pl && memcmp(m->k + al + 6, p, pl) == 0))
            return 1;
    }
    return 0;
}

static void
root_decl(struct jx *w, const char *prefix, const char *uri, int markers, int write)
{
    if (!write) {
        bind(w, prefix, strlen(prefix), markers);
        return;
    }
    gw_buf_adds(&w->o, " xmlns:");
    gw_buf_adds(&w->o, prefix);
    gw_buf_adds(&w->o, "=\"");
    gw_buf_adds(&w->o, uri);
    gw_buf_addc(&w->o, '"');
}

/* On the root element: the map's namespaces, and pj / xsi when the document needs them.
 * Called twice: to bind the prefixes (before the element's name is written: it may use one),
 * then to write the declarations. */
void
tf_jx_root_decls(struct jx *w, const struct jv *v, int write)
{
    for (size_t i = 0; i < w->c->nmap; i++) {
        const struct tf_xj_nsmap *m = &w->c->map[i];
        if (declares(w, v, m->prefix))
            continue;
        if (!write) {
            if (m->prefix[0])
                bind(w, m->prefix, strlen(m->prefix), 0);
            continue;
        }
        gw_buf_adds(&w->o, m->prefix[0] ? " xmlns:" : " xmlns");
        gw_buf_adds(&w->o, m->prefix);
        gw_buf_adds(&w->o, "=\"");
        tf_jx_put_text(w, m->uri, strlen(m->uri), 1);
        gw_buf_addc(&w->o, '"');
    }
    if (w->need_pj)
        root_decl(w, w->mp, TF_XJ_NS, 1, write);
    for (int i = 0; i < 32; i++) {
        const char *p = tf_xj_prefix_name("xsi", i);
        if (((w->xsi_used >> i) & 1) || (w->need_nil && strcmp(p, w->np) == 0))
            if (!declares(w, v, p))
                root_decl(w, p, TF_XJ_XSI, 0, write);
    }
}

/* Bind the prefixes an object declares ("@xmlns:p" members), before its element's name. */
void
tf_jx_bind_decls(struct jx *w, const struct jv *obj)
{
    size_t al = w->c->attr_prefix_len;

    if (obj->t != J_OBJ)
        return;
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        if (tf_jx_is_attr_key(w->c, m) && tf_jx_is_decl(w, m->k + al, m->kn - al) && m->kn > al + 6)
            bind(w, m->k + al + 6, m->kn - al - 6, 0);
    }
}

/* The prefixes keys and declarations of object member m use: "xsi", "xsi1".. in keys (they are
 * declared on the root), and "pj".. / "xsi".. bound to other namespaces (the markers and
 * xsi:nil then take another prefix). */
static void
note_prefixes(struct jx *w, const struct jmem *m)
{
    size_t skip = tf_jx_is_attr_key(w->c, m) ? w->c->attr_prefix_len : 0;
    const char *k = m->k + skip, *colon = memchr(k, ':', m->kn - skip);
    int i;

    if (w->c->ns == TF_XJ_NS_STRIP || colon == NULL)
        return;
    if ((i = tf_xj_prefix_index("xsi", k, (size_t)(colon - k))) >= 0)
        w->xsi_used |= 1u << i;
    if (!skip || !tf_jx_is_decl(w, k, m->kn - skip) || m->v.t != J_STR)
        return;
    k += 6;
    size_t n = m->kn - skip - 6;
    if ((i = tf_xj_prefix_index("pj", k, n)) >= 0 && !(m->v.n == strlen(TF_XJ_NS) &&
                                                 memcmp(m->v.s, TF_XJ_NS, m->v.n) == 0))
        w->pj_taken |= 1u << i;
    if ((i = tf_xj_prefix_index("xsi", k, n)) >= 0 && !(m->v.n == strlen(TF_XJ_XSI) &&
                                                  memcmp(m->v.s, TF_XJ_XSI, m->v.n) == 0))
        w->xsi_taken |= 1u << i;
}

/* What the root element will have to declare: only what the writer will use, so that two JSON
 * documents with the same XML get the same declarations. elem: v is (in) an element's value,
 * where a null is written as xsi:nil and arrays carry markers; a text, comment or attribute
 * value gets neither. */
void
tf_jx_prewalk(struct jx *w, const struct jv *v, int elem)
{
    switch (v->t) {
    case J_NULL:
        w->need_nil |= elem && !w->c->nil_empty;
        break;
    case J_ARR:
        /* array markers go on elements only: a text's or comment's list is written as is */
        w->need_pj |= elem && v->n <= 1;
        for (size_t i = 0; i < v->n; i++) {
            w->need_pj |= elem && v->items[i].t == J_ARR;
            tf_jx_prewalk(w, &v->items[i], elem);
        }
        break;
    case J_OBJ:
        w->need_pj |= v->n == 0;
        for (size_t i = 0; i < v->n; i++) {
            note_prefixes(w, &v->mems[i]);
            tf_jx_prewalk(w, &v->mems[i].v, tf_jx_member_kind(w->c, &v->mems[i]) == MK_ELEM);
        }
        break;
    default:
        /* a type marker goes on numbers and booleans, and on strings that read as one (where a
         * path types them, or "" where "empty" is "null"): plain strings need none, so that
         * {"a": {"#text": null}} and the {"a": ""} it comes back as are written alike */
        w->need_pj |= w->c->types && (v->t != J_STR || tf_xj_number_ok(v->s, v->n) ||
                                      tf_xj_is_bool(v->s, v->n) || (v->n == 0 && w->c->empty_null));
        break;
    }
}

/* The first of base, base1, base2.. that is not taken. */
const char *
tf_jx_choose_prefix(const char *base, uint32_t taken)
{
    int i = 0;

    while (i < 31 && ((taken >> i) & 1))
        i++;
    return tf_xj_prefix_name(base, i);
}
