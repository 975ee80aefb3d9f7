/* xml_to_json.c: the XML to JSON conversion (tf_xml_to_json; the convention is in xml_json.h).
 *
 * It walks the libxml2 tree tf_xml_parse built and writes JSON text straight into the exchange's
 * arena (no jansson tree, no json_dumps): each element's children are grouped by key in document
 * order (repeated names make arrays), then written with their attributes, text and comments.
 */
#include "xml_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "text.h"
#include "xj_convention.h"
#include "xml_to_json_int.h"

static int
is_ws(const xmlChar *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static int
is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

/* Nodes a text run goes over: texts, and comments or PIs that are not kept. */
static int
in_run(const struct xj *w, const xmlNode *n)
{
    return is_text(n) || n->type == XML_PI_NODE ||
           (n->type == XML_COMMENT_NODE && !w->c->comments);
}

static const char *
attr_value(const xmlAttr *a)
{
    const xmlNode *t = a->children;

    return t != NULL && is_text(t) && t->next == NULL && t->content ? (const char *)t->content
                                                                    : NULL;
}

/* Would json_to_xml read member key k as an element (not as an attribute, the text, a comment
 * or "#order")? */
static int
names_element(const struct tf_xj *c, const char *k)
{
    return strncmp(k, c->attr_prefix, c->attr_prefix_len) != 0 && strcmp(k, c->text_key) != 0 &&
           strcmp(k, "#comment") != 0 && strcmp(k, "#order") != 0;
}

/* A scalar: typed when a marker or the path asks and nothing is lost, else a string. */
static void
write_scalar(struct xj *w, const char *s, size_t n, unsigned flags, enum pj_type type)
{
    int raw;

    if (type == PJ_NUMBER)
        raw = gw_json_number_ok(s, n);
    else if (type == PJ_BOOLEAN)
        raw = tf_xj_is_bool(s, n);
    else if (type == PJ_STRING)
        raw = 0;
    else
        raw = ((flags & TF_XJ_NUMBER) && tf_xj_number_ok(s, n)) ||
              ((flags & TF_XJ_BOOLEAN) && tf_xj_is_bool(s, n));
    if (raw)
        xj_literal(w, s, n);
    else
        xj_string(w, s, n);
}

/* The text run starting at n, as one value. */
static void
write_text_run(struct xj *w, xmlNodePtr n, unsigned flags, enum pj_type type)
{
    xmlNodePtr k;
    size_t total = 0, parts = 0;
    char *buf;

    for (k = n; k != NULL && in_run(w, k); k = k->next)
        if (is_text(k) && k->content != NULL) {
            total += strlen((const char *)k->content);
            parts++;
        }
    if (parts <= 1) {
        for (k = n; k != NULL && in_run(w, k) && !(is_text(k) && k->content != NULL);)
            k = k->next;
        const char *s = k != NULL && is_text(k) && k->content ? (const char *)k->content : "";
        write_scalar(w, s, strlen(s), flags, type);
        return;
    }
    buf = tf_xj_out_alloc(&w->o, total + 1);
    total = 0;
    for (k = n; k != NULL && in_run(w, k); k = k->next)
        if (is_text(k) && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(buf + total, k->content, l);
            total += l;
        }
    write_scalar(w, buf, total, flags, type);
}

static enum pj_type
pj_type_of(const char *v)
{
    static const char *const names[] = { "", "object", "array", "number", "boolean", "string" };

    for (int i = 1; i < 6; i++)
        if (strcmp(v, names[i]) == 0)
            return (enum pj_type)i;
    return PJ_NONE;
}

static void
scan_attrs(const struct xj *w, xmlNodePtr e, struct einfo *in)
{
    for (xmlAttrPtr a = e->properties; a != NULL; a = a->next) {
        const char *v = attr_value(a);

        if (xj_is_ns(a->ns, TF_XJ_NS)) {
            if (v == NULL)
                continue;
            if (strcmp((const char *)a->name, "type") == 0)
                in->type = pj_type_of(v);
            else if (strcmp((const char *)a->name, "wrapper") == 0)
                in->wrapper = 1;
            continue;
        }
        /* null only for what json_to_xml writes back the same: xsi:nil="true" (xsi1..) */
        if (xj_is_ns(a->ns, TF_XJ_XSI) && strcmp((const char *)a->name, "nil") == 0 && v != NULL &&
            strcmp(v, "true") == 0 && a->ns->prefix != NULL &&
            tf_xj_prefix_index("xsi", (const char *)a->ns->prefix,
                         strlen((const char *)a->ns->prefix)) >= 0)
            in->nil = 1;
        in->nattrs++;
    }
    for (xmlNsPtr ns = e->nsDef; ns != NULL; ns = ns->next)
        in->ndecls += xj_decl_kept(w, e, ns);
}

static void
scan_elem(const struct xj *w, xmlNodePtr e, struct einfo *in)
{
    memset(in, 0, sizeof *in);
    scan_attrs(w, e, in);
    for (xmlNodePtr k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE || (k->type == XML_COMMENT_NODE && w->c->comments))
            in->elem_content = 1;
        else if (is_text(k) && k->content != NULL && k->content[0] != '\0')
            in->has_text = 1; /* an empty CDATA section is no text: <c><![CDATA[]]></c> is <c/> */
    }
}

static struct frame *
frame_at(struct xj *w, size_t d)
{
    if (d >= w->nframes) {
        size_t n = d + 8;
        w->frames = gw_xrealloc(w->frames, n * sizeof *w->frames);
        memset(w->frames + w->nframes, 0, (n - w->nframes) * sizeof *w->frames);
        w->nframes = n;
    }
    return &w->frames[d];
}

/* ---- grouping children by key ---- */

struct grouping {
    struct item *items;
    size_t nitems;
    struct group *groups;
    size_t ngroups;
    int contiguous;
    int escapes;        /* an element's name or prefix has "_x": two groups may share a key */
};

static int
same_key(const struct group *g, int kind, const char *prefix, const xmlChar *name)
{
    if (g->kind != kind)
        return 0;
    if (kind != IT_ELEM)
        return 1;
    if (g->name != name && strcmp((const char *)g->name, (const char *)name) != 0)
        return 0;
    return g->prefix == prefix || (g->prefix && prefix && strcmp(g->prefix, prefix) == 0);
}

static uint32_t
key_hash(int kind, const char *prefix, const xmlChar *name)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;

    for (const char *p = prefix ? prefix : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const xmlChar *p = name ? name : BAD_CAST ""; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void
hash_insert(struct frame *f, const struct group *groups, size_t gi)
{
    const struct group *g = &groups[gi];
    size_t m = f->hcap - 1, h = key_hash(g->kind, g->prefix, g->name) & m;

    while (f->hash[h] != 0)
        h = (h + 1) & m;
    f->hash[h] = (uint32_t)gi + 1;
}

static void
hash_rebuild(struct frame *f, const struct group *groups, size_t ngroups)
{
    if (f->hcap < ngroups * 2) {
        size_t cap = 64;
        while (cap < ngroups * 4)
            cap *= 2;
        free(f->hash);
        f->hash = gw_xmalloc(cap * sizeof *f->hash);
        f->hcap = cap;
    }
    memset(f->hash, 0, f->hcap * sizeof *f->hash);
    for (size_t i = 0; i < ngroups; i++)
        hash_insert(f, groups, i);
}

#define LINEAR_GROUPS 8

static size_t
find_group(struct frame *f, struct grouping *gr, int kind, const char *prefix,
           const xmlChar *name)
{
    if (gr->ngroups <= LINEAR_GROUPS) {
        for (size_t i = 0; i < gr->ngroups; i++)
            if (same_key(&gr->groups[i], kind, prefix, name))
                return i;
        return SIZE_MAX;
    }
    size_t m = f->hcap - 1, h = key_hash(kind, prefix, name) & m;
    for (; f->hash[h] != 0; h = (h + 1) & m)
        if (same_key(&gr->groups[f->hash[h] - 1], kind, prefix, name))
            return f->hash[h] - 1;
    return SIZE_MAX;
}

static size_t
add_group(struct frame *f, struct grouping *gr, int kind, const char *prefix, xmlNodePtr n)
{
    size_t gi = gr->ngroups++;

    if (gr->ngroups > f->gcap) {
        f->gcap = gr->ngroups * 2;
        f->groups = gw_xrealloc(f->groups, f->gcap * sizeof *f->groups);
        gr->groups = f->groups;
    }
    gr->groups[gi] = (struct group){
        .first = n, .prefix = prefix, .name = kind == IT_ELEM ? n->name : NULL,
        .kind = kind, .first_item = gr->nitems,
    };
    if (kind == IT_ELEM && (strstr((const char *)n->name, "_x") != NULL ||
                            (prefix != NULL && strstr(prefix, "_x") != NULL)))
        gr->escapes = 1;
    if (gr->ngroups == LINEAR_GROUPS + 1)
        hash_rebuild(f, gr->groups, gr->ngroups);
    else if (gr->ngroups > LINEAR_GROUPS + 1) {
        if (gr->ngroups * 2 > f->hcap)
            hash_rebuild(f, gr->groups, gr->ngroups);
        else
            hash_insert(f, gr->groups, gi);
    }
    return gi;
}

static void
add_item(struct xj *w, struct frame *f, struct grouping *gr, int kind, xmlNodePtr n)
{
    const char *prefix = kind == IT_ELEM ? xj_ns_prefix(w, n->ns) : NULL;
    const xmlChar *name = kind == IT_ELEM ? n->name : NULL;
    size_t last = gr->nitems ? gr->items[gr->nitems - 1].group : SIZE_MAX, gi;

    if (last != SIZE_MAX && same_key(&gr->groups[last], kind, prefix, name))
        gi = last;
    else if ((gi = find_group(f, gr, kind, prefix, name)) != SIZE_MAX)
        gr->contiguous = 0;
    else
        gi = add_group(f, gr, kind, prefix, n);
    if (gr->nitems == f->icap) {
        f->icap = f->icap ? f->icap * 2 : 16;
        f->items = gw_xrealloc(f->items, f->icap * sizeof *f->items);
        gr->items = f->items;
    }
    gr->items[gr->nitems++] = (struct item){ .node = n, .group = (uint32_t)gi };
    gr->groups[gi].count++;
}

/* What makes an element's key an array: pj:array="true" (1), pj:array="empty" (2); and
 * pj:type="array" (1): json_to_xml writes an array value only as an item of an array, so the key
 * must be an array for the value to stay one. 0: nothing. */
static int
array_mark(const xmlNode *e)
{
    int mark = 0;

    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        const char *v = attr_value(a);
        if (!xj_is_ns(a->ns, TF_XJ_NS) || v == NULL)
            continue;
        if (strcmp((const char *)a->name, "array") == 0) {
            int m = strcmp(v, "empty") == 0 ? 2 : 1;
            mark = m > mark ? m : mark;
        } else if (strcmp((const char *)a->name, "type") == 0 && strcmp(v, "array") == 0 && !mark)
            mark = 1;
    }
    return mark;
}

static const char *group_key(struct xj *w, const struct group *g);

struct keyed {
    char *key;
    size_t group;
};

static int
keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->group > y->group) - (x->group < y->group);
}

/* Groups of different names with one key (<A/> and <_x0041_/>, p:a and p_x003A_a, <_x0023_text>
 * and <_x005F_x0023_text>) would write that key twice: they become one group, the first's
 * (items keep their document order; "#order" follows when they were apart). */
static void
merge_same_keys(struct xj *w, struct grouping *gr)
{
    struct keyed *k = gw_xmalloc(gr->ngroups * sizeof *k);
    size_t *into = gw_xmalloc(gr->ngroups * sizeof *into), n = 0;
    unsigned char *seen;

    for (size_t i = 0; i < gr->ngroups; i++) {
        into[i] = i;
        if (gr->groups[i].kind == IT_ELEM)
            k[n++] = (struct keyed){ gw_xstrdup(group_key(w, &gr->groups[i])), i };
    }
    qsort(k, n, sizeof *k, keyed_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(k[i].key, k[i - 1].key) != 0)
            continue;
        struct group *to = &gr->groups[into[k[i - 1].group]], *from = &gr->groups[k[i].group];
        into[k[i].group] = into[k[i - 1].group];
        to->count += from->count;
        to->array_mark = from->array_mark > to->array_mark ? from->array_mark : to->array_mark;
        from->count = 0;
    }
    /* one group's items must follow each other, else "#order" */
    seen = gw_xcalloc(gr->ngroups, 1);
    gr->contiguous = 1;
    for (size_t i = 0; i < gr->nitems; i++) {
        size_t g = gr->items[i].group = (uint32_t)into[gr->items[i].group];
        if (i > 0 && gr->items[i - 1].group == g)
            continue;
        if (seen[g])
            gr->contiguous = 0;
        seen[g] = 1;
    }
    for (size_t i = 0; i < n; i++)
        free(k[i].key);
    free(seen);
    free(into);
    free(k);
}

/* Collect the children of one element (or the document) into items and groups. */
static void
collect(struct xj *w, size_t d, xmlNodePtr first, int elem_content, struct grouping *gr)
{
    struct frame *f = frame_at(w, d);
    xmlNodePtr n = first;

    *gr = (struct grouping){ .items = f->items, .groups = f->groups, .contiguous = 1 };
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE) {
            add_item(w, f, gr, IT_ELEM, n);
            int mark = array_mark(n);
            if (mark > gr->groups[gr->items[gr->nitems - 1].group].array_mark)
                gr->groups[gr->items[gr->nitems - 1].group].array_mark = mark;
            n = n->next;
        } else if (n->type == XML_COMMENT_NODE && w->c->comments) {
            add_item(w, f, gr, IT_COMMENT, n);
            n = n->next;
        } else if (is_text(n)) {
            xmlNodePtr start = n;
            int ws = 1;
            for (; n != NULL && in_run(w, n); n = n->next)
                if (is_text(n) && n->content != NULL && !is_ws(n->content))
                    ws = 0;
            if (!(elem_content && ws))
                add_item(w, f, gr, IT_TEXT, start);
        } else {
            n = n->next;
        }
    }
    if (gr->escapes && gr->ngroups > 1)
        merge_same_keys(w, gr);
}

/* ---- values ---- */

static void write_elem_value(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t,
                             unsigned flags);

static void
write_item(struct xj *w, const struct item *it, int kind, const struct tf_xj_path *t,
           unsigned flags, unsigned own_flags)
{
    if (kind == IT_ELEM)
        write_elem_value(w, it->node, t, flags);
    else if (kind == IT_TEXT)
        write_text_run(w, it->node, own_flags, PJ_NONE);
    else
        xj_string(w, (const char *)it->node->content,
                  it->node->content ? strlen((const char *)it->node->content) : 0);
}

static const char *
group_key(struct xj *w, const struct group *g)
{
    const char *key;

    if (g->kind == IT_TEXT)
        return w->c->text_key;
    if (g->kind == IT_COMMENT)
        return "#comment";
    key = xj_make_key(w, "", g->prefix, (const char *)g->name);
    /* a name that unescapes to what json_to_xml would not read as an element (<_x0023_text>,
     * <_x0040_a>, <_x0040_p:a>) is the key as written: json_to_xml escapes its '_' (and the
     * colon, the prefix as written not being bound) and it comes back the same */
    if (!names_element(w->c, key)) {
        char *b = w->kbuf;
        if (g->prefix != NULL)
            b = stpcpy(stpcpy(b, g->prefix), ":");
        strcpy(b, (const char *)g->name);
        key = w->kbuf;
    }
    return key;
}

/* One group as a member: its key, then its value or the array of its values. */
static void
write_group(struct xj *w, const struct grouping *gr, size_t gi, const struct tf_xj_path *t,
            unsigned own_flags, int doc, int *first)
{
    const struct group *g = &gr->groups[gi];
    const struct tf_xj_path *kid = NULL;
    const char *key = group_key(w, g);
    unsigned flags = g->kind == IT_ELEM ? tf_xj_key_flags(w->c, t, key, strlen(key), &kid) : 0;
    /* the root element is one: never an array (json_to_xml would have to wrap it) */
    int mark = doc ? 0 : g->array_mark;
    int array = g->count > 1 || (!doc && (flags & TF_XJ_ARRAY)) || mark;
    size_t left = g->count;

    xj_key(w, key, first);
    if (g->count == 1 && mark == 2) {
        xj_empty(w, 1);
        return;
    }
    if (array)
        xj_open(w, 1, 0);
    for (size_t i = g->first_item; left > 0 && !w->o.over; i++) {
        if (gr->items[i].group != gi)
            continue;
        if (array)
            xj_item(w, g->count - left);
        write_item(w, &gr->items[i], g->kind, kid, flags & ~(unsigned)TF_XJ_ARRAY, own_flags);
        left--;
    }
    if (array)
        xj_close(w, 1, 1);
}

/* "#order": the key of every item in document order. */
static void
write_order(struct xj *w, const struct grouping *gr, int *first)
{
    xj_key(w, "#order", first);
    xj_open(w, 1, 1);
    for (size_t i = 0; i < gr->nitems; i++) {
        const char *key = group_key(w, &gr->groups[gr->items[i].group]);
        xj_item(w, i);
        xj_string(w, key, strlen(key));
    }
    xj_close(w, 1, 0);
}

/* The children of an element (or of the document) as members of the open object. */
static void
write_children(struct xj *w, xmlNodePtr first_child, const struct tf_xj_path *t,
               unsigned own_flags, int elem_content, int doc, int *first)
{
    struct grouping gr;

    /* the items and groups live in this level's frame: deeper levels use their own */
    collect(w, w->level++, first_child, elem_content, &gr);
    for (size_t gi = 0; gi < gr.ngroups && !w->o.over; gi++)
        if (gr.groups[gi].count > 0) /* 0: merged into an earlier group of the same key */
            write_group(w, &gr, gi, t, own_flags, doc, first);
    if (!gr.contiguous)
        write_order(w, &gr, first);
    w->level--;
}

/* A namespace name as a string. Without entity substitution libxml2 keeps an '&' of a
 * namespace declaration as "&#38;" (so that it could be read again): give the '&' back. */
static void
write_href(struct xj *w, const char *href)
{
    const char *amp;
    char *s = tf_xj_out_alloc(&w->o, strlen(href) + 1), *e = s;

    while ((amp = strstr(href, "&#38;")) != NULL) {
        memcpy(e, href, (size_t)(amp - href) + 1);
        e += amp - href + 1;
        href = amp + 5;
    }
    e = stpcpy(e, href);
    xj_string(w, s, (size_t)(e - s));
}

static void
write_decls(struct xj *w, xmlNodePtr e, int *first)
{
    char lead[64], plead[64];

    if (e->nsDef == NULL)
        return;
    snprintf(lead, sizeof lead, "%sxmlns", w->c->attr_prefix);
    snprintf(plead, sizeof plead, "%sxmlns:", w->c->attr_prefix);
    for (xmlNsPtr ns = e->nsDef; ns != NULL; ns = ns->next) {
        if (!xj_decl_kept(w, e, ns))
            continue;
        /* "@xmlns:" + prefix, the prefix as keys write it */
        xj_key(w, ns->prefix ? xj_make_key(w, plead, (const char *)ns->prefix, NULL) : lead,
                  first);
        write_href(w, (const char *)ns->href);
    }
}

static void
write_attrs(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, int *first)
{
    for (xmlAttrPtr a = e->properties; a != NULL && !w->o.over; a = a->next) {
        if (xj_is_ns(a->ns, TF_XJ_NS))
            continue;
        const char *prefix = xj_attr_prefix_of(w, e, a);
        const char *key = xj_make_key(w, w->c->attr_prefix, prefix, (const char *)a->name);
        /* a name that unescapes to xmlns or xmlns:p would read as a declaration: it keeps its
         * escapes (with "strip", json_to_xml reads no declaration); so does one that unescapes
         * as another attribute's of e (A and _x0041_ would make one key twice) */
        if ((prefix == NULL && w->c->ns != TF_XJ_NS_STRIP &&
             xj_xmlns_name(key + w->c->attr_prefix_len)) ||
            xj_attr_clash(w, e, a, prefix))
            xj_make_raw_key(w, prefix, (const char *)a->name);
        unsigned flags = tf_xj_key_flags(w->c, t, key, strlen(key), NULL);
        const char *v = attr_value(a);
        xmlChar *owned = NULL;

        xj_key(w, key, first);
        if (v == NULL)
            v = (const char *)(owned = xmlNodeListGetString(e->doc, a->children, 1));
        write_scalar(w, v ? v : "", v ? strlen(v) : 0, flags, PJ_NONE);
        xmlFree(owned);
    }
}

static void
write_items(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, unsigned flags)
{
    size_t n = 0;

    xj_open(w, 1, 0);
    for (xmlNodePtr k = e->children; k != NULL && !w->o.over; k = k->next) {
        if (k->type != XML_ELEMENT_NODE || !xj_is_ns(k->ns, TF_XJ_NS) ||
            strcmp((const char *)k->name, "item") != 0)
            continue;
        xj_item(w, n++);
        write_elem_value(w, k, t, flags);
    }
    xj_close(w, 1, n > 0);
}

/* An element without attributes to write and without element content: a scalar, null or {}. */
static void
write_simple(struct xj *w, xmlNodePtr e, const struct einfo *in, unsigned flags)
{
    if (in->has_text && !in->nil)
        write_text_run(w, e->children, flags, in->type);
    else if (in->nil)
        xj_literal(w, "null", 4);
    else if (in->type == PJ_OBJECT)
        xj_empty(w, 0);
    else if (w->c->empty_null && in->type != PJ_STRING)
        xj_literal(w, "null", 4);
    else
        xj_string(w, "", 0);
}

static void
write_elem_value(struct xj *w, xmlNodePtr e, const struct tf_xj_path *t, unsigned flags)
{
    struct einfo in;
    int first = 1;

    scan_elem(w, e, &in);
    if (in.type == PJ_ARRAY) {
        write_items(w, e, t, flags);
        return;
    }
    if (in.ndecls == 0 && !in.elem_content &&
        (in.nattrs == 0 || (in.nattrs == 1 && in.nil && !in.has_text))) {
        write_simple(w, e, &in, flags);
        return;
    }
    in.nil = 0;
    xj_open(w, 0, 0);
    write_decls(w, e, &first);
    write_attrs(w, e, t, &first);
    write_children(w, e->children, t, flags, in.elem_content, 0, &first);
    xj_close(w, 0, !first);
}

static void
xj_free(struct xj *w)
{
    for (size_t i = 0; i < w->nframes; i++) {
        free(w->frames[i].items);
        free(w->frames[i].groups);
        free(w->frames[i].hash);
    }
    free(w->frames);
    free(w->kbuf);
}

/* The walk, into w's output. */
static void
walk(struct xj *w, xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    struct einfo in;
    int first = 1;

    memset(&in, 0, sizeof in);
    if (root != NULL)
        scan_attrs(w, root, &in);
    if (in.wrapper) {
        write_elem_value(w, root, &w->c->paths, 0);
    } else {
        xj_open(w, 0, 0);
        write_children(w, doc->children, &w->c->paths, 0, 1, 1, &first);
        xj_close(w, 0, !first);
    }
    xj_free(w);
}

char *
tf_xml_to_json(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x, size_t *len,
               enum tf_threat *why, char *err, size_t errlen)
{
    struct xj w = { .c = c != NULL ? c : tf_xj_defaults(), .x = x };

    tf_xj_out_init(&w.o, x, 4096);
    walk(&w, doc);
    if (w.c->pretty)
        gw_buf_addc(&w.o, '\n');
    if (w.o.over) {
        *why = TF_THREAT_TOO_LARGE;
        snprintf(err, errlen, "JSON output exceeds the body limit of %zu bytes", w.o.max);
        return NULL;
    }
    *why = TF_THREAT_OK;
    return tf_xj_out_finish(&w.o, len);
}

struct jv *
tf_xml_to_json_tree(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x)
{
    struct xj w = { .c = c != NULL ? c : tf_xj_defaults(), .x = x, .tree = 1 };
    struct jv *root = x->alloc(x, sizeof *root);

    tf_xj_out_init(&w.o, x, 256); /* (scratch only: text runs, namespace names) */
    walk(&w, doc);
    *root = w.root;
    return root;
}
