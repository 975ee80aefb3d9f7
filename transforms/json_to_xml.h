/* json_to_xml.h: what the two halves of the JSON to XML writer share inside transforms/:
 * json_to_xml.c writes the elements, json_to_xml_ns.c decides the namespaces (which prefixes are
 * bound where, what the root declares, the prefixes of the markers); both ask the kind of each
 * member (below).
 */
#ifndef TF_JSON_TO_XML_H
#define TF_JSON_TO_XML_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "json_tree.h"
#include "xml_json.h"

/* A prefix in scope of the element being written. */
struct binding {
    const char *p;
    size_t n;
    int markers;        /* pj, bound for the markers only: keys cannot use it */
};

/* The writer: its configuration, output, scopes and what the document needs declared. */
struct jx {
    const struct tf_xj *c;
    const struct tf_limits *l;
    struct gw_buf o;
    struct binding *scope; /* prefixes declared around the element being written */
    size_t nscope, scap;
    int need_pj, need_nil;         /* what the root declares */
    int used_pj, used_nil;         /* what the writing used */
    int exact;                     /* need_* are known (a second pass): no estimate */
    uint32_t pj_taken, xsi_taken;  /* pj, pj1.. / xsi, xsi1.. bound by the JSON to another URI */
    uint32_t xsi_used;             /* xsi, xsi1.. used by keys */
    const char *mp, *np;           /* the prefixes of the markers and of xsi:nil */
    char item[16];                 /* mp + ":item" */
    int depth;
    int failed;
    enum tf_threat why;
    char *err;
    size_t errlen;
};

/* What an object member is for the writer. */
enum mkind { MK_ATTR, MK_TEXT, MK_COMMENT, MK_ORDER, MK_ELEM };

/* Does member m's key start with the attribute prefix? (Inline, as the next one: both halves ask
 * it of every member, and a call across files for each showed in json_to_xml's time.) */
static inline int
tf_jx_is_attr_key(const struct tf_xj *c, const struct jmem *m)
{
    return m->kn >= c->attr_prefix_len && memcmp(m->k, c->attr_prefix, c->attr_prefix_len) == 0;
}

/* What member m is, by its key. */
static inline enum mkind
tf_jx_member_kind(const struct tf_xj *c, const struct jmem *m)
{
    if (tf_jx_is_attr_key(c, m))
        return MK_ATTR;
    if (m->kn == c->text_key_len && memcmp(m->k, c->text_key, m->kn) == 0)
        return MK_TEXT;
    if (m->kn == 8 && memcmp(m->k, "#comment", 8) == 0)
        return MK_COMMENT;
    if (m->kn == 6 && memcmp(m->k, "#order", 6) == 0)
        return MK_ORDER;
    return MK_ELEM;
}

/* Bind the prefixes an object declares ("@xmlns:p" members), before its element's name. */
void tf_jx_bind_decls(struct jx *w, const struct jv *obj);

/* Is prefix p[0..n) bound for keys where the element being written is (xml always is)? */
int tf_jx_bound(const struct jx *w, const char *p, size_t n);

/* The first of base, base1, base2.. that is not taken. */
const char *tf_jx_choose_prefix(const char *base, uint32_t taken);

/* Is attribute key name[0..n) (after the prefix) a namespace declaration? */
int tf_jx_is_decl(const struct jx *w, const char *name, size_t n);

/* What the root element will have to declare: only what the writer will use, so that two JSON
 * documents with the same XML get the same declarations. elem: v is (in) an element's value,
 * where a null is written as xsi:nil and arrays carry markers; a text, comment or attribute
 * value gets neither. */
void tf_jx_prewalk(struct jx *w, const struct jv *v, int elem);

/* On the root element: the map's namespaces, and pj / xsi when the document needs them.
 * Called twice: to bind the prefixes (before the element's name is written: it may use one),
 * then to write the declarations. */
void tf_jx_root_decls(struct jx *w, const struct jv *v, int write);

/* Text (attr 0), an attribute value (attr 1), escaped, or a comment (attr 2: as is);
 * characters XML 1.0 cannot carry fail the conversion. */
void tf_jx_put_text(struct jx *w, const char *s, size_t n, int attr);

#endif
