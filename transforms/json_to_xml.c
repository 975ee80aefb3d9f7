/* json_to_xml.c: the JSON to XML conversion (tf_json_to_xml; the convention is in xml_json.h).
 *
 * The JSON is read into a tree by the one JSON reader (json_tree.h), not by jansson, which turns
 * numbers into doubles: "6.20" would come out "6.2" and big integers would be refused. The tree
 * keeps every number as written; the reader applies the limits and gives the refusals every JSON
 * body gets (tf_json_check). The writer walks the tree once to learn what the root must declare
 * (json_to_xml_ns.c), then writes the document into the exchange's arena.
 */
#include "json_to_xml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "xj_convention.h"

static void jx_fail(struct jx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
jx_fail(struct jx *w, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (w->failed)
        return;
    w->failed = 1;
    w->why = TF_THREAT_MALFORMED;
    n = (size_t)snprintf(w->err, w->errlen, "JSON: ");
    va_start(ap, fmt);
    if (n < w->errlen)
        vsnprintf(w->err + n, w->errlen - n, fmt, ap);
    va_end(ap);
    gw_text_one_line(w->err);
}

static int
jx_stop(const struct jx *w)
{
    return w->failed || w->o.over;
}

/* Is a text value written as nothing: null, "", or whitespace next to elements (ec), which
 * xml_to_json drops as insignificant? */
static int
text_is_nothing(const struct jv *v, int ec)
{
    if (v->t == J_NULL)
        return 1;
    if (v->t != J_STR)
        return 0;
    for (size_t i = 0; i < v->n; i++)
        if (!ec || (v->s[i] != ' ' && v->s[i] != '\t' && v->s[i] != '\n' && v->s[i] != '\r'))
            return 0;
    return 1;
}

/* Does member m give no node? (attributes, "#order", text that is nothing, no comment; ec: the
 * object has elements or comments) */
static int
gives_nothing(const struct tf_xj *c, const struct jmem *m, int ec)
{
    enum mkind k = tf_jx_member_kind(c, m);

    if (k == MK_ATTR || k == MK_ORDER)
        return 1;
    if (k == MK_ELEM)
        return 0;
    if (k == MK_COMMENT)
        return m->v.t == J_ARR && m->v.n == 0;
    if (m->v.t != J_ARR)
        return text_is_nothing(&m->v, ec);
    for (size_t i = 0; i < m->v.n; i++)
        if (!text_is_nothing(&m->v.items[i], ec))
            return 0;
    return 1;
}

/* Has the object element or comment members (then whitespace text is not written)? */
static int
elem_content(const struct tf_xj *c, const struct jv *obj)
{
    for (size_t i = 0; i < obj->n; i++) {
        enum mkind k = tf_jx_member_kind(c, &obj->mems[i]);
        if (k == MK_ELEM || (k == MK_COMMENT && !gives_nothing(c, &obj->mems[i], 0)))
            return 1;
    }
    return 0;
}

/* Namespaces in XML 1.0 forbids: binding a prefix to "", binding xmlns, xml to another
 * namespace, or another prefix (or the default) to the xml or xmlns namespaces. */
static int
decl_allowed(const char *name, size_t n, const struct jv *v)
{
    static const char xml_ns[] = "http://www.w3.org/XML/1998/namespace";
    static const char xmlns_ns[] = "http://www.w3.org/2000/xmlns/";
    int is_xml = n == 9 && memcmp(name + 6, "xml", 3) == 0;
    int to_xml = v->t == J_STR && v->n == strlen(xml_ns) && memcmp(v->s, xml_ns, v->n) == 0;

    if (v->t != J_STR)
        return 0;
    if (v->n == strlen(xmlns_ns) && memcmp(v->s, xmlns_ns, v->n) == 0)
        return 0;
    if (n == 5)
        return !to_xml;
    if (v->n == 0 || (n == 11 && memcmp(name + 6, "xmlns", 5) == 0))
        return 0;
    return is_xml == to_xml;
}

static void
put_encoded(struct jx *w, const char *s, size_t n)
{
    size_t room = 11 * n + 4, k;

    if (gw_buf_reserve(&w->o, room) < 0)
        return; /* over the limit */
    k = tf_xj_name_encode(s, n, w->o.p + w->o.len, room);
    w->o.len += k;
}

/* A key as an XML name: "p:local" stays a qualified name when p is declared (keep and map
 * modes); every other character that cannot be in a name is escaped. */
static void
put_name(struct jx *w, const char *key, size_t n)
{
    const char *colon = memchr(key, ':', n);

    if (w->c->ns != TF_XJ_NS_STRIP && colon != NULL && colon > key && colon < key + n - 1 &&
        tf_jx_bound(w, key, (size_t)(colon - key))) {
        put_encoded(w, key, (size_t)(colon - key));
        gw_buf_addc(&w->o, ':');
        put_encoded(w, colon + 1, n - (size_t)(colon - key) - 1);
    } else {
        put_encoded(w, key, n);
    }
}

/* Text (attr 0), an attribute value (attr 1), escaped, or a comment (attr 2: as is);
 * characters XML 1.0 cannot carry fail the conversion. */
void
tf_jx_put_text(struct jx *w, const char *s, size_t n, int attr)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;

        if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != '"' && c != 0xEF)
            continue;
        if (attr == 2 && (c >= 0x20 || c == '\t' || c == '\n') && c != 0xEF)
            continue;
        if (attr == 2 && c == '\r') /* a comment has no references: write the line end a */
            e = i + 1 < n && s[i + 1] == '\n' ? "" : "\n"; /* parser would read (CRLF, CR: LF) */
        else if (c == '&')
            e = "&amp;";
        else if (c == '<')
            e = "&lt;";
        else if (c == '>')
            e = attr ? NULL : "&gt;";
        else if (c == '"')
            e = attr ? "&quot;" : NULL;
        else if (c == '\r')
            e = "&#13;";
        else if (c == '\t' || c == '\n')
            e = attr ? (c == '\t' ? "&#9;" : "&#10;") : NULL;
        else if (c == 0xEF) {
            if (i + 2 < n && (unsigned char)s[i + 1] == 0xBF && ((unsigned char)s[i + 2] & 0xFE) == 0xBE) {
                jx_fail(w, "a string holds U+%04X, which XML 1.0 cannot carry",
                        0xFFFE + ((unsigned char)s[i + 2] & 1));
                return;
            }
        } else {
            jx_fail(w, "a string holds U+%04X, which XML 1.0 cannot carry", c);
            return;
        }
        if (e == NULL)
            continue;
        gw_buf_add(&w->o, s + run, i - run);
        gw_buf_adds(&w->o, e);
        run = i + 1;
    }
    gw_buf_add(&w->o, s + run, n - run);
}

static void
put_comment(struct jx *w, const struct jv *v)
{
    if (v->t != J_STR) {
        jx_fail(w, "\"#comment\" must hold strings");
        return;
    }
    for (size_t i = 0; i + 1 < v->n; i++)
        if (v->s[i] == '-' && v->s[i + 1] == '-') {
            jx_fail(w, "a comment cannot hold \"--\"");
            return;
        }
    if (v->n > 0 && v->s[v->n - 1] == '-') {
        jx_fail(w, "a comment cannot end with \"-\"");
        return;
    }
    gw_buf_adds(&w->o, "<!--");
    tf_jx_put_text(w, v->s, v->n, 2);
    gw_buf_adds(&w->o, "-->");
}

static int
scalar(const struct jv *v)
{
    return v->t == J_STR || v->t == J_NUM || v->t == J_TRUE || v->t == J_FALSE;
}

static void
put_scalar(struct jx *w, const struct jv *v, int attr)
{
    if (v->t == J_STR)
        tf_jx_put_text(w, v->s, v->n, attr);
    else if (v->t == J_NUM)
        gw_buf_add(&w->o, v->s, v->n);
    else
        gw_buf_adds(&w->o, v->t == J_TRUE ? "true" : "false");
}

/* The name of an attribute (decl: a namespace declaration), within the name limit. */
static int
put_attr_name(struct jx *w, const struct jmem *m, const char *name, size_t n, int decl)
{
    size_t at = w->o.len;

    if (decl) {
        gw_buf_adds(&w->o, "xmlns");
        if (n > 5) {
            gw_buf_addc(&w->o, ':');
            put_encoded(w, name + 6, n - 6);
        }
    } else if (n == 5 && memcmp(name, "xmlns", 5) == 0) {
        /* stripping made it from p:xmlns; written as it is, it would declare a namespace */
        gw_buf_adds(&w->o, "_x0078_mlns");
    } else {
        put_name(w, name, n);
    }
    if (w->o.len - at > w->l->xml.max_name_len && !w->o.over) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(m->kn < 32 ? m->kn : 32), m->k, w->l->xml.max_name_len);
        return -1;
    }
    return 0;
}

/* The attributes of an object: namespace declarations first (they bind prefixes the other
 * names may use), then the others. */
static void
put_attrs(struct jx *w, const struct jv *obj)
{
    size_t al = w->c->attr_prefix_len;

    for (int pass = 0; pass < 2 && !jx_stop(w); pass++) {
        for (size_t i = 0; i < obj->n && !jx_stop(w); i++) {
            const struct jmem *m = &obj->mems[i];
            const char *name = m->k + al;
            size_t n = m->kn - al;
            if (!tf_jx_is_attr_key(w->c, m) || tf_jx_is_decl(w, name, n) != (pass == 0))
                continue;
            if (!scalar(&m->v)) {
                jx_fail(w, "member \"%.*s\": an attribute must be a string, a number or a "
                        "boolean", (int)(m->kn > 64 ? 64 : m->kn), m->k);
                return;
            }
            if (pass == 0 && !decl_allowed(name, n, &m->v)) {
                jx_fail(w, "member \"%.*s\": this namespace declaration is not allowed in XML",
                        (int)(m->kn > 64 ? 64 : m->kn), m->k);
                return;
            }
            gw_buf_addc(&w->o, ' ');
            if (put_attr_name(w, m, name, n, pass == 0) < 0)
                return;
            gw_buf_add(&w->o, "=\"", 2);
            put_scalar(w, &m->v, 1);
            gw_buf_addc(&w->o, '"');
        }
    }
}

/* A marker attribute: ' pj:name="value"' (with the markers' prefix). */
static void
put_marker(struct jx *w, const char *name, const char *value)
{
    if (w->c->no_markers)
        return;
    w->used_pj = 1;
    gw_buf_addc(&w->o, ' ');
    gw_buf_adds(&w->o, w->mp);
    gw_buf_addc(&w->o, ':');
    gw_buf_adds(&w->o, name);
    gw_buf_add(&w->o, "=\"", 2);
    gw_buf_adds(&w->o, value);
    gw_buf_addc(&w->o, '"');
}

/* Markers of this element: pj:array, pj:wrapper. */
enum { MARK_NONE, MARK_ARRAY, MARK_EMPTY };
enum { EL_PLAIN, EL_ROOT, EL_WRAPPER, EL_ITEM };

static void write_elem(struct jx *w, const char *key, size_t kn, int how, const struct jv *v,
                       const struct tf_xj_path *t, unsigned flags, int mark);
static void write_content(struct jx *w, const struct jv *obj, const struct tf_xj_path *t,
                          unsigned flags, int doc);

/* Would xml_to_json with these knobs read string v back as something else: a number or a
 * boolean where a path types it, or null for "" with "empty": "null"? (types marks it) */
static int
typed_string(const struct tf_xj *c, const struct jv *v, unsigned flags)
{
    return ((flags & TF_XJ_NUMBER) && tf_xj_number_ok(v->s, v->n)) ||
           ((flags & TF_XJ_BOOLEAN) && tf_xj_is_bool(v->s, v->n)) || (v->n == 0 && c->empty_null);
}

/* Everything of an element after its name: attributes, then the content and the end tag. Returns
 * 1 when the element has content (an end tag is due), 0 when it was closed with "/>". */
static int
write_body(struct jx *w, const struct jv *v, const struct tf_xj_path *t, unsigned flags)
{
    static const char *const type_name[] = {
        [J_NUM] = "number", [J_TRUE] = "boolean", [J_FALSE] = "boolean",
    };

    switch (v->t) {
    case J_OBJ:
        if (v->n == 0) {
            put_marker(w, "type", "object");
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        put_attrs(w, v);
        for (size_t i = 0, ec = (size_t)elem_content(w->c, v); i < v->n; i++) {
            if (!gives_nothing(w->c, &v->mems[i], (int)ec)) {
                gw_buf_addc(&w->o, '>');
                write_content(w, v, t, flags, 0);
                return 1;
            }
        }
        gw_buf_add(&w->o, "/>", 2);
        return 0;
    case J_ARR:
        put_marker(w, "type", "array");
        if (v->n == 0) {
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        gw_buf_addc(&w->o, '>');
        w->depth++;
        for (size_t i = 0; i < v->n && !jx_stop(w); i++) {
            if (w->c->pretty)
                tf_xj_out_indent(&w->o, w->depth);
            write_elem(w, w->item, strlen(w->item), EL_ITEM, &v->items[i], t, flags, MARK_NONE);
        }
        w->depth--;
        if (w->c->pretty)
            tf_xj_out_indent(&w->o, w->depth);
        return 1;
    case J_NULL:
        if (!w->c->nil_empty) {
            w->used_nil = 1;
            gw_buf_addc(&w->o, ' ');
            gw_buf_adds(&w->o, w->np);
            gw_buf_adds(&w->o, ":nil=\"true\"");
        }
        gw_buf_add(&w->o, "/>", 2);
        return 0;
    default:
        if (w->c->types && v->t != J_STR)
            put_marker(w, "type", type_name[v->t]);
        if (w->c->types && v->t == J_STR && typed_string(w->c, v, flags))
            put_marker(w, "type", "string");
        if (v->t == J_STR && v->n == 0) {
            gw_buf_add(&w->o, "/>", 2);
            return 0;
        }
        gw_buf_addc(&w->o, '>');
        put_scalar(w, v, 0);
        return 1;
    }
}

/* One element for key: how says whether the key is written as is (pj:item, the root name) and
 * whether it is the root (declarations, pj:wrapper). t: the trie node of its members. */
static void
write_elem(struct jx *w, const char *key, size_t kn, int how, const struct jv *v,
           const struct tf_xj_path *t, unsigned flags, int mark)
{
    size_t scope = w->nscope, name_at, name_len;

    if (kn > w->l->xml.max_name_len) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(kn < 32 ? kn : 32), key, w->l->xml.max_name_len);
        return;
    }
    if (how == EL_ROOT || how == EL_WRAPPER)
        tf_jx_root_decls(w, v, 0);
    tf_jx_bind_decls(w, v);
    gw_buf_addc(&w->o, '<');
    name_at = w->o.len;
    if (how == EL_ITEM || how == EL_WRAPPER)
        gw_buf_add(&w->o, key, kn);
    else
        put_name(w, key, kn);
    name_len = w->o.len - name_at;
    if (name_len > w->l->xml.max_name_len && !w->o.over) {
        jx_fail(w, "key \"%.*s\" makes an XML name longer than the limit (%zu)",
                (int)(kn < 32 ? kn : 32), key, w->l->xml.max_name_len);
        return;
    }
    if (how == EL_ROOT || how == EL_WRAPPER)
        tf_jx_root_decls(w, v, 1);
    if (how == EL_WRAPPER)
        put_marker(w, "wrapper", "true");
    if (mark != MARK_NONE)
        put_marker(w, "array", mark == MARK_ARRAY ? "true" : "empty");
    if (mark == MARK_EMPTY)
        gw_buf_add(&w->o, "/>", 2);
    else if (write_body(w, v, t, flags) && !jx_stop(w)) {
        gw_buf_add(&w->o, "</", 2);
        if (gw_buf_reserve(&w->o, name_len + 1) == 0) {
            memcpy(w->o.p + w->o.len, w->o.p + name_at, name_len);
            w->o.len += name_len;
        }
        gw_buf_addc(&w->o, '>');
    }
    w->nscope = scope;
}

/* How many nodes member m gives (an empty array of elements still gives its placeholder). */
static size_t
member_count(const struct tf_xj *c, const struct jmem *m)
{
    enum mkind k = tf_jx_member_kind(c, m);

    if (m->v.t == J_ARR)
        return m->v.n == 0 && k == MK_ELEM ? 1 : m->v.n;
    return k == MK_TEXT && m->v.t == J_NULL ? 0 : 1;
}

/* Node i of member m. */
static void
write_node(struct jx *w, const struct jmem *m, size_t i, const struct tf_xj_path *t, int doc,
           int ec)
{
    enum mkind k = tf_jx_member_kind(w->c, m);
    const struct jv *v = m->v.t == J_ARR && m->v.n > 0 ? &m->v.items[i] : &m->v;
    static const struct jv empty = { .t = J_STR };
    const struct tf_xj_path *kid = NULL;
    unsigned flags;
    int mark = MARK_NONE;

    if (k == MK_TEXT) {
        if (!scalar(v) && v->t != J_NULL)
            jx_fail(w, "\"%s\" must hold strings, numbers or booleans", w->c->text_key);
        else if (!text_is_nothing(v, ec))
            put_scalar(w, v, 0);
        return;
    }
    if (k == MK_COMMENT) {
        put_comment(w, v);
        return;
    }
    flags = tf_xj_key_flags(w->c, t, m->k, m->kn, &kid);
    if (m->v.t == J_ARR && m->v.n == 0) {
        v = &empty;
        mark = MARK_EMPTY;
    } else if (m->v.t == J_ARR && m->v.n == 1 && !(flags & TF_XJ_ARRAY)) {
        mark = MARK_ARRAY;
    }
    write_elem(w, m->k, m->kn, doc ? EL_ROOT : EL_PLAIN, v, kid,
               flags & ~(unsigned)TF_XJ_ARRAY, mark);
}

static void
write_one(struct jx *w, const struct jv *obj, size_t mi, size_t *cursor,
          const struct tf_xj_path *t, int indent, int doc, int ec)
{
    const struct jmem *m = &obj->mems[mi];
    size_t i = cursor[mi]++;

    if (i >= member_count(w->c, m))
        return;
    if (w->c->no_markers && m->v.t == J_ARR && m->v.n == 0)
        return; /* an empty array leaves no trace without markers */
    if (tf_jx_member_kind(w->c, m) == MK_TEXT &&
        text_is_nothing(m->v.t == J_ARR ? &m->v.items[i] : &m->v, ec))
        return;
    if (indent)
        tf_xj_out_indent(&w->o, w->depth);
    write_node(w, m, i, t, doc, ec);
    if (doc)
        gw_buf_addc(&w->o, '\n');
}

/* Member index of key k in obj (not an attribute, not #order), or SIZE_MAX. */
static size_t
find_member(const struct tf_xj *c, const struct jv *obj, const struct jv *k)
{
    for (size_t i = 0; i < obj->n; i++) {
        const struct jmem *m = &obj->mems[i];
        enum mkind mk = tf_jx_member_kind(c, m);
        if (mk != MK_ATTR && mk != MK_ORDER && m->kn == k->n && memcmp(m->k, k->s, k->n) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* "#order" first (each entry writes the next node of that key), then what is left, in member
 * order. */
static void
write_content(struct jx *w, const struct jv *obj, const struct tf_xj_path *t, unsigned flags,
              int doc)
{
    size_t *cursor = tf_xj_out_alloc(&w->o, obj->n * sizeof *cursor), wrote = 0;
    const struct jv *order = NULL;
    int indent = 0, ec = elem_content(w->c, obj);

    (void)flags;
    memset(cursor, 0, obj->n * sizeof *cursor);
    for (size_t i = 0; i < obj->n; i++) {
        enum mkind k = tf_jx_member_kind(w->c, &obj->mems[i]);
        if (k == MK_ORDER)
            order = &obj->mems[i].v;
        if (k == MK_ATTR || k == MK_ORDER)
            cursor[i] = SIZE_MAX;
        indent |= k == MK_TEXT && !gives_nothing(w->c, &obj->mems[i], ec);
    }
    indent = w->c->pretty && !doc && !indent;
    if (order != NULL && order->t != J_ARR) {
        jx_fail(w, "\"#order\" must be an array of keys");
        return;
    }
    w->depth += !doc;
    for (size_t i = 0; order != NULL && i < order->n && !jx_stop(w); i++) {
        size_t mi = order->items[i].t == J_STR ? find_member(w->c, obj, &order->items[i])
                                               : SIZE_MAX;
        if (mi != SIZE_MAX && obj->n > 0 && mi < obj->n) {
            write_one(w, obj, mi, cursor, t, indent, doc, ec);
            wrote++;
        }
    }
    for (size_t i = 0; i < obj->n && !jx_stop(w); i++)
        while (cursor[i] != SIZE_MAX && cursor[i] < member_count(w->c, &obj->mems[i]) &&
               !jx_stop(w)) {
            write_one(w, obj, i, cursor, t, indent, doc, ec);
            wrote++;
        }
    w->depth -= !doc;
    if (indent && wrote > 0)
        tf_xj_out_indent(&w->o, w->depth);
}

/* The one member that can be the root element, or SIZE_MAX when the value needs a wrapper. */
static size_t
root_member(const struct tf_xj *c, const struct jv *v)
{
    size_t found = SIZE_MAX;

    if (v->t != J_OBJ)
        return SIZE_MAX;
    for (size_t i = 0; i < v->n; i++) {
        enum mkind k = tf_jx_member_kind(c, &v->mems[i]);
        if (k == MK_ATTR || (k == MK_TEXT && !gives_nothing(c, &v->mems[i], 1)) ||
            (k == MK_ELEM && found != SIZE_MAX))
            return SIZE_MAX;
        if (k == MK_ELEM)
            found = i;
    }
    if (found != SIZE_MAX && v->mems[found].v.t == J_ARR)
        return SIZE_MAX;
    return found;
}

static void
write_document(struct jx *w, const struct jv *v)
{
    size_t r = root_member(w->c, v);
    int need_pj = w->need_pj, need_nil = w->need_nil;

    tf_jx_prewalk(w, v, 1);
    if (w->exact) { /* the taken prefixes from the walk, the declarations as given */
        w->need_pj = need_pj;
        w->need_nil = need_nil;
    }
    w->mp = tf_jx_choose_prefix("pj", w->pj_taken);
    w->np = tf_jx_choose_prefix("xsi", w->xsi_taken);
    snprintf(w->item, sizeof w->item, "%s%sitem", w->c->no_markers ? "" : w->mp,
             w->c->no_markers ? "" : ":");
    w->need_pj &= !w->c->no_markers;
    gw_buf_adds(&w->o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (r != SIZE_MAX) {
        write_content(w, v, &w->c->paths, 0, 1);
        return;
    }
    if (!w->exact)
        w->need_pj = !w->c->no_markers;
    write_elem(w, w->c->root, strlen(w->c->root), EL_WRAPPER, v, &w->c->paths, 0, MARK_NONE);
    gw_buf_addc(&w->o, '\n');
}

char *
tf_json_tree_to_xml(const struct tf_xj *c, const struct jv *root, size_t hint, struct tf_ctx *x,
                    size_t *outlen, enum tf_threat *why, char *err, size_t errlen)
{
    struct tf_limits def;
    struct jx w = { .c = c != NULL ? c : tf_xj_defaults(), .err = err, .errlen = errlen };

    if (x->limits == NULL)
        tf_limits_default(&def);
    w.l = x->limits != NULL ? x->limits : &def;
    tf_xj_out_init(&w.o, x, hint);
    write_document(&w, root);
    if (!w.failed && !w.o.over && (w.need_pj != w.used_pj || w.need_nil != w.used_nil)) {
        /* the walk before writing estimates what the root must declare without following the
         * configured paths; when it declared something unused, write again declaring exactly
         * what was used, so that documents with the same XML get the same declarations */
        struct jx again = { .c = w.c, .l = w.l, .err = err, .errlen = errlen, .exact = 1,
                            .need_pj = w.used_pj, .need_nil = w.used_nil };
        free(w.scope);
        w = again;
        tf_xj_out_init(&w.o, x, hint);
        write_document(&w, root);
    }
    free(w.scope);
    if (w.failed) {
        *why = w.why;
        return NULL;
    }
    if (w.o.over) {
        *why = TF_THREAT_TOO_LARGE;
        snprintf(err, errlen, "XML output exceeds the body limit of %zu bytes", w.o.max);
        return NULL;
    }
    *why = TF_THREAT_OK;
    return tf_xj_out_finish(&w.o, outlen);
}

char *
tf_json_to_xml(const struct tf_xj *c, const char *buf, size_t len, struct tf_ctx *x,
               size_t *outlen, enum tf_threat *why, char *err, size_t errlen)
{
    struct tf_limits def;
    const struct tf_limits *l = x->limits;
    struct jv root;

    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    if ((*why = tf_body_precheck("JSON", len, SIZE_MAX, l, err, errlen)) != TF_THREAT_OK)
        return NULL;
    if (tf_json_tree_read(buf, len, l, x, &root, why, err, errlen) < 0)
        return NULL;
    return tf_json_tree_to_xml(c, &root, len * 2 + 64, x, outlen, why, err, errlen);
}
