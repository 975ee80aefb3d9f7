/* xml_to_json_int.h: what the two files of the XML to JSON conversion share: the walk's state
 * (xml_to_json.c) and the names and keys of elements, attributes and declarations
 * (xml_to_json_names.c). Not for use outside them. */
#ifndef TF_XML_TO_JSON_INT_H
#define TF_XML_TO_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "buf.h"
#include "json_tree.h"
#include "xml_json.h"

enum item_kind { IT_ELEM, IT_TEXT, IT_COMMENT };

struct item {
    xmlNodePtr node;   /* the element, the comment, or the first node of a text run */
    uint32_t group;
};

struct group {
    xmlNodePtr first;
    const char *prefix; /* of the key (elements) */
    const xmlChar *name;
    size_t count, first_item;
    int kind;
    int array_mark;     /* 1: a pj:array="true" member; 2: pj:array="empty" */
};

/* Scratch reused by every element at one depth (a child works one level down). */
struct frame {
    struct item *items;
    size_t icap;
    struct group *groups;
    size_t gcap;
    uint32_t *hash;     /* group index + 1, open addressing; used past a few groups */
    size_t hcap;
};

struct xj {
    const struct tf_xj *c;
    struct tf_ctx *x;
    struct gw_buf o;    /* the JSON text (unless tree) */
    int tree;           /* writing a document instead (xml_to_json_out.c) */
    struct jv root;
    struct jv **open;   /* the containers open, innermost last */
    size_t nopen, open_cap;
    const char *key;    /* the member keyed last */
    size_t key_len;
    int one_line;       /* the array open is written on one line ("#order") */
    struct frame *frames;
    size_t nframes;
    char *kbuf;         /* the key being written */
    size_t kcap;
    int depth;          /* for indentation */
    size_t level;       /* element nesting: the frame in use */
    xmlNsPtr last_ns;   /* map lookups: the last namespace and its prefix */
    const char *last_prefix;
};

/* What an element carries besides its children. */
enum pj_type { PJ_NONE, PJ_OBJECT, PJ_ARRAY, PJ_NUMBER, PJ_BOOLEAN, PJ_STRING };

struct einfo {
    enum pj_type type;
    int wrapper, nil;
    size_t nattrs, ndecls;
    int elem_content;   /* element (or kept comment) children: whitespace text is dropped */
    int has_text;
};

/* ---- xml_to_json_out.c: the output, as JSON text or as a tree ---- */

/* A member's key (its value comes next); *first: no member yet in this object. */
void xj_key(struct xj *w, const char *key, int *first);
/* Open an object or an array (on_one_line: its items on one line in pretty text). */
void xj_open(struct xj *w, int array, int on_one_line);
/* Before the array's item i. */
void xj_item(struct xj *w, size_t i);
/* Close what is open; any: it holds something (pretty text puts the end on a line of its own). */
void xj_close(struct xj *w, int array, int any);
/* A string value; a number, true, false or null as written; {} or []. */
void xj_string(struct xj *w, const char *s, size_t n);
void xj_literal(struct xj *w, const char *s, size_t n);
void xj_empty(struct xj *w, int array);

/* ---- xml_to_json_names.c ---- */

/* Is ns (NULL: none) the namespace uri? */
int xj_is_ns(const xmlNs *ns, const char *uri);
/* w->kbuf with room for n bytes. */
char *xj_key_room(struct xj *w, size_t n);
/* The prefix a namespace gets in keys, by mode (NULL: none). */
const char *xj_ns_prefix(struct xj *w, xmlNsPtr ns);
/* Is s "xmlns" or "xmlns:..." (an attribute key json_to_xml reads as a declaration)? */
int xj_xmlns_name(const char *s);
/* A namespace prefix as keys write it, at b (room for n + 1); its length. */
size_t xj_put_prefix(char *b, const char *p, size_t n);
/* lead + [prefix ":"] name in w->kbuf (name NULL: lead + prefix, a declaration's key). */
const char *xj_make_key(struct xj *w, const char *lead, const char *prefix, const char *name);
/* An attribute key with its name as written (escapes kept), in w->kbuf. */
void xj_make_raw_key(struct xj *w, const char *prefix, const char *name);
/* Do two names (NULL: none) unescape to the same? */
int xj_same_unescaped(const char *x, const char *y);
/* Is a declaration of e written? */
int xj_decl_kept(const struct xj *w, const xmlNode *e, const xmlNs *ns);
/* The prefix of an attribute's key. */
const char *xj_attr_prefix_of(struct xj *w, xmlNodePtr e, xmlAttrPtr a);
/* Does a's name, holding an escape, unescape as another attribute's of e? */
int xj_attr_clash(struct xj *w, xmlNodePtr e, xmlAttrPtr a, const char *prefix);

#endif
