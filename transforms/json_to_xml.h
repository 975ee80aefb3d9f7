/* json_to_xml.h: what the two halves of the JSON to XML writer share inside transforms/:
 * json_to_xml.c writes the elements, json_to_xml_ns.c decides the namespaces (which prefixes are
 * bound where, what the root declares, the prefixes of the markers) and the kind of each member.
 */
#ifndef TF_JSON_TO_XML_H
#define TF_JSON_TO_XML_H

#include <stddef.h>
#include <stdint.h>

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

/* Bind the prefixes an object declares ("@xmlns:p" members), before its element's name. */
void tf_jx_bind_decls(struct jx *w, const struct jv *obj);

/* Is prefix p[0..n) bound for keys where the element being written is (xml always is)? */
int tf_jx_bound(const struct jx *w, const char *p, size_t n);

/* The first of base, base1, base2.. that is not taken. */
const char *tf_jx_choose_prefix(const char *base, uint32_t taken);

/* Namespaces in XML 1.0 forbids: binding a prefix to "", binding xmlns, xml to another
 * namespace, or another prefix (or the default) to the xml or xmlns namespaces. */
int tf_jx_decl_allowed(const char *name, size_t n, const struct jv *v);

/* Has the object element or comment members (then whitespace text is not written)? */
int tf_jx_elem_content(const struct tf_xj *c, const struct jv *obj);

/* Does member m give no node? (attributes, "#order", text that is nothing, no comment; ec: the
 * object has elements or comments) */
int tf_jx_gives_nothing(const struct tf_xj *c, const struct jmem *m, int ec);

/* Does member m's key start with the attribute prefix? */
int tf_jx_is_attr_key(const struct tf_xj *c, const struct jmem *m);

/* Is attribute key name[0..n) (after the prefix) a namespace declaration? */
int tf_jx_is_decl(const struct jx *w, const char *name, size_t n);

/* What member m is, by its key. */
enum mkind tf_jx_member_kind(const struct tf_xj *c, const struct jmem *m);

/* What the root element will have to declare: only what the writer will use, so that two JSON
 * documents with the same XML get the same declarations. elem: v is (in) an element's value,
 * where a null is written as xsi:nil and arrays carry markers; a text, comment or attribute
 * value gets neither. */
void tf_jx_prewalk(struct jx *w, const struct jv *v, int elem);

/* On the root element: the map's namespaces, and pj / xsi when the document needs them.
 * Called twice: to bind the prefixes (before the element's name is written: it may use one),
 * then to write the declarations. */
void tf_jx_root_decls(struct jx *w, const struct jv *v, int write);

/* Is a text value written as nothing: null, "", or whitespace next to elements (ec), which
 * xml_to_json drops as insignificant? */
int tf_jx_text_is_nothing(const struct jv *v, int ec);

/* Text (attr 0), an attribute value (attr 1), escaped, or a comment (attr 2: as is);
 * characters XML 1.0 cannot carry fail the conversion. */
void tf_jx_put_text(struct jx *w, const char *s, size_t n, int attr);

#endif
