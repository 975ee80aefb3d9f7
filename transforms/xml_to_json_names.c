/* xml_to_json_names.c: the names and keys of the XML to JSON conversion: namespace prefixes by
 * mode, keys made of a lead, a prefix and a name (unescaped, unless unescaped they would read as
 * something else or make a key twice), which declarations and attributes are written how (see
 * xml_to_json_int.h). */
#include "xml_to_json_int.h"

#include <string.h>

#include "alloc.h"
#include "xj_convention.h"

char *
xj_key_room(struct xj *w, size_t n)
{
    if (n > w->kcap) {
        w->kcap = n * 2;
        w->kbuf = gw_xrealloc(w->kbuf, w->kcap);
    }
    return w->kbuf;
}

/* The prefix a namespace gets in keys, by mode (NULL: none). */
const char *
xj_ns_prefix(struct xj *w, xmlNsPtr ns)
{
    const struct tf_xj *c = w->c;

    if (ns == NULL || c->ns == TF_XJ_NS_STRIP)
        return NULL;
    if (c->ns == TF_XJ_NS_KEEP)
        return (const char *)ns->prefix;
    if (ns != w->last_ns) {
        w->last_ns = ns;
        w->last_prefix = (const char *)ns->prefix;
        for (size_t i = 0; i < c->nmap; i++)
            if (xj_is_ns(ns, c->map[i].uri))
                w->last_prefix = c->map[i].prefix[0] ? c->map[i].prefix : NULL;
    }
    return w->last_prefix;
}

/* Is s "xmlns" or "xmlns:..." (an attribute key json_to_xml reads as a declaration)? */
int
xj_xmlns_name(const char *s)
{
    return strncmp(s, "xmlns", 5) == 0 && (s[5] == '\0' || s[5] == ':');
}

/* A namespace prefix as keys write it, at b (room for n + 1): unescaped, unless unescaped it
 * would be xml or xmlns, which json_to_xml would not declare (xmlns:_x0078_ml): then as written
 * (json_to_xml escapes its '_' and it comes back the same). Elements, attributes and
 * declarations all write a prefix this way, so that json_to_xml finds it bound. */
size_t
xj_put_prefix(char *b, const char *p, size_t n)
{
    size_t k = tf_xj_name_decode(p, n, b, n + 1);

    if (strcmp(b, "xml") == 0 || strcmp(b, "xmlns") == 0) {
        memcpy(b, p, n);
        k = n;
    }
    return k;
}

/* Build lead + [prefix ":"] name in w->kbuf (name NULL: lead + prefix, a declaration's key);
 * the prefix as put_prefix writes it, the name unescaped. Returns it. */
const char *
xj_make_key(struct xj *w, const char *lead, const char *prefix, const char *name)
{
    size_t ll = strlen(lead), pl = prefix ? strlen(prefix) : 0, nl = name ? strlen(name) : 0, k;
    char *b = xj_key_room(w, ll + pl + nl + 3);

    memcpy(b, lead, ll);
    k = ll;
    if (prefix != NULL) {
        k += xj_put_prefix(b + k, prefix, pl);
        if (name != NULL)
            b[k++] = ':';
    }
    if (name != NULL)
        k += tf_xj_name_decode(name, nl, b + k, nl + 1);
    b[k] = '\0';
    return b;
}

/* Would this namespace declaration go to JSON? Not those json_to_xml adds by itself (pj, xsi
 * under its usual prefix), nor mapped ones (the map declares them again), nor any when
 * stripping. */
/* Do two names (NULL: none) unescape to the same? */
int
xj_same_unescaped(const char *x, const char *y)
{
    char bx[256], by[256];

    if (x == NULL || y == NULL)
        return x == y;
    if (tf_xj_name_decode(x, strlen(x), bx, sizeof bx) >= sizeof bx ||
        tf_xj_name_decode(y, strlen(y), by, sizeof by) >= sizeof by)
        return strcmp(x, y) == 0;
    return strcmp(bx, by) == 0;
}

/* Is a declaration written: not for stripping, not Portico's own nor a mapped one, and not a
 * second one of e whose prefix unescapes as an earlier one's (xmlns:A and xmlns:_x0041_ would
 * make one key twice: the first is kept). */
int
xj_decl_kept(const struct xj *w, const xmlNode *e, const xmlNs *ns)
{
    if (w->c->ns == TF_XJ_NS_STRIP || xj_is_ns(ns, TF_XJ_NS))
        return 0;
    for (const xmlNs *o = e->nsDef; o != NULL && o != ns; o = o->next)
        if (xj_same_unescaped((const char *)o->prefix, (const char *)ns->prefix) && xj_decl_kept(w, e, o))
            return 0;
    if (ns->prefix != NULL && xj_is_ns(ns, TF_XJ_XSI) &&
        tf_xj_prefix_index("xsi", (const char *)ns->prefix, strlen((const char *)ns->prefix)) >= 0)
        return 0;
    if (w->c->ns == TF_XJ_NS_MAP)
        for (size_t i = 0; i < w->c->nmap; i++)
            if (xj_is_ns(ns, w->c->map[i].uri))
                return 0;
    return 1;
}

/* The prefix of an attribute's key; stripping keeps it when two attributes share a name. */
const char *
xj_attr_prefix_of(struct xj *w, xmlNodePtr e, xmlAttrPtr a)
{
    if (a->ns == NULL)
        return NULL;
    if (w->c->ns == TF_XJ_NS_STRIP) {
        for (xmlAttrPtr b = e->properties; b != NULL; b = b->next)
            if (b != a && strcmp((const char *)b->name, (const char *)a->name) == 0 &&
                !xj_is_ns(b->ns, TF_XJ_NS))
                return (const char *)a->ns->prefix;
        return NULL;
    }
    const char *p = xj_ns_prefix(w, a->ns);
    return p != NULL ? p : (const char *)a->ns->prefix; /* an attribute needs its prefix */
}

/* Does a's name, holding an escape, unescape as another attribute's of e, with the same prefix? */
int
xj_attr_clash(struct xj *w, xmlNodePtr e, xmlAttrPtr a, const char *prefix)
{
    if (strstr((const char *)a->name, "_x") == NULL)
        return 0;
    for (xmlAttrPtr b = e->properties; b != NULL; b = b->next)
        if (b != a && !xj_is_ns(b->ns, TF_XJ_NS) &&
            xj_same_unescaped((const char *)b->name, (const char *)a->name) &&
            xj_same_unescaped(xj_attr_prefix_of(w, e, b), prefix))
            return 1;
    return 0;
}

/* The attribute key with its name as written (escapes kept): json_to_xml escapes the '_' of
 * each, and it comes back the same. */
void
xj_make_raw_key(struct xj *w, const char *prefix, const char *name)
{
    size_t ll = w->c->attr_prefix_len, k = ll;
    size_t pl = prefix != NULL ? strlen(prefix) : 0, nl = strlen(name);
    char *b = xj_key_room(w, ll + pl + nl + 3);

    memcpy(b, w->c->attr_prefix, ll);
    if (prefix != NULL) {
        k += xj_put_prefix(b + k, prefix, pl);
        b[k++] = ':';
    }
    memcpy(b + k, name, nl + 1);
}

int
xj_is_ns(const xmlNs *ns, const char *uri)
{
    return ns != NULL && ns->href != NULL && strcmp((const char *)ns->href, uri) == 0;
}
