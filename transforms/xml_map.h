/* xml_map.h: the xml_map transform's compiled form, shared by its runtime (xml_map.c) and its
 * configuration (xml_map_conf.c). Other modules use tf_xml_map_ops (builtins_xml.h).
 *
 * The "fields" of the config (JSON pointer -> XPath) become a tree shaped like the output: an
 * object node per pointer prefix, a value node per field, members in the order the config first
 * names them. Arrays of objects ("type": "array" with "fields") hold a tree of their own whose
 * expressions run with each selected node as context.
 */
#ifndef TF_XML_MAP_H
#define TF_XML_MAP_H

#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "transform.h"

enum xm_type { XM_STRING, XM_NUMBER, XM_BOOLEAN, XM_EXISTS, XM_ARRAY, XM_OBJECT };

/* What a field with no value (empty node-set, empty string, NaN) becomes. */
enum xm_missing { XM_OMIT, XM_NULL, XM_FAIL };

struct xm_obj;

/* One member of an output object. */
struct xm_member {
    char *name;                 /* the member name (pointer token, unescaped) */
    enum xm_type type;          /* XM_OBJECT: an object made of other fields */
    struct xm_obj *obj;         /* XM_OBJECT: its members; XM_ARRAY with "fields": the item's */
    /* a field (any other type) */
    char *pointer;              /* as configured, for messages */
    char *expr;                 /* the XPath text, for messages */
    xmlXPathCompExprPtr xpath;
    enum xm_type items;         /* XM_ARRAY without "fields": the items' type */
    enum xm_missing missing;
};

struct xm_obj {
    struct xm_member *m;
    size_t n, cap;
};

struct xm_inst {
    xmlNsPtr *ns;               /* the declared namespaces, as an XPath context takes them */
    int nns;
    struct xm_obj *root;
};

/* Maximum nesting of "fields" in arrays of objects. */
#define XM_MAX_NESTING 8

void *tf_xml_map_create(const struct tf_conf *cc);
void tf_xml_map_destroy(void *inst);
void tf_xm_obj_free(struct xm_obj *o);

/* This thread's libxml2 generic error function is silenced between begin and end (libxml2
 * prints some XPath evaluation errors there besides the context's handler). */
struct xm_quiet {
    xmlGenericErrorFunc fn;
    void *ctx;
};
void tf_xm_quiet_begin(struct xm_quiet *q);
void tf_xm_quiet_end(const struct xm_quiet *q);

/* Collects the message of the last XPath error (an xmlXPathContext's structured handler,
 * userData a char[256]). */
void tf_xm_xpath_error(void *userData, xmlErrorPtr e);

#endif
