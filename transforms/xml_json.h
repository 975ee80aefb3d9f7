/* xml_json.h: the xml_to_json and json_to_xml transforms, and the conversions they run.
 *
 * The convention (documented for users in transforms/README.md, "xml_to_json / json_to_xml"):
 *   - an element is a member named by its name; repeated elements make an array, in the order of
 *     their first appearance; paths listed in "arrays" are arrays even with one element;
 *   - attributes are members named attribute_prefix + name ("@Ccy"); text next to attributes,
 *     children or comments is the member text_key ("#text"); comments ("comments": true) are
 *     "#comment"; when the members' order cannot give back the children's order (a name that
 *     comes back after another one, text between elements), "#order" lists the keys in document
 *     order;
 *   - text is a string, exactly as written; "numbers" / "booleans" paths turn it into a number or
 *     boolean only when nothing is lost (6.20, 014295803 and IBANs stay strings);
 *   - an empty element is "" (or null with "empty": "null"); xsi:nil="true" is null;
 *   - namespaces: "keep" (prefix:name as written, xmlns declarations as "@xmlns:p" members),
 *     "strip" (local names only), or an object mapping namespace URIs to prefixes;
 *   - keys that are not XML names are escaped as _xHHHH_ (HHHH: the character's code point in
 *     uppercase hexadecimal; 8 digits above U+FFFF; "_x_" is the empty key; a "_" that would
 *     read as the start of an escape is itself written _x005F_), and unescaped on the way back
 *     (not where the key would then read as another kind of member, a declaration among
 *     them: <_x0023_text> is the key "_x0023_text"; elements of one key are one member);
 *   - what JSON has and XML has not travels in attributes of the namespace TF_XJ_NS
 *     ("urn:portico:json", prefix "pj"): pj:array (an array of one item, "empty": an empty array),
 *     pj:type (object, array, number, boolean, string) and pj:wrapper on a root element json_to_xml
 *     had to add; items of nested arrays are pj:item elements.
 */
#ifndef TF_XML_JSON_H
#define TF_XML_JSON_H

#include <stddef.h>

#include <libxml/tree.h>

#include "threat.h"
#include "transform.h"

#define TF_XJ_NS "urn:portico:json"
#define TF_XJ_XSI "http://www.w3.org/2001/XMLSchema-instance"

extern const struct tf_ops tf_xml_to_json_ops;
extern const struct tf_ops tf_json_to_xml_ops;

/* What a path of the config asks for a member. */
enum {
    TF_XJ_ARRAY = 1,   /* "arrays": always an array */
    TF_XJ_NUMBER = 2,  /* "numbers": a number when lossless */
    TF_XJ_BOOLEAN = 4, /* "booleans": true / false */
};

/* One step of the compiled absolute paths ("/Document/CstmrCdtTrfInitn/PmtInf"): a trie. */
struct tf_xj_path {
    char *key;                 /* the member key of this step (NULL at the root) */
    unsigned flags;            /* TF_XJ_* for a path ending here */
    struct tf_xj_path *kids;
    size_t nkids;
};

/* A path without "/": the key anywhere in the document. */
struct tf_xj_name {
    char *key;
    unsigned flags;
};

struct tf_xj_nsmap {
    char *uri;
    char *prefix;              /* "" for no prefix (the default namespace) */
};

enum tf_xj_ns_mode { TF_XJ_NS_KEEP, TF_XJ_NS_STRIP, TF_XJ_NS_MAP };

/* The compiled knobs of one xml_to_json or json_to_xml step (both read the same keys). Read-only
 * once made: workers share it. */
struct tf_xj {
    const char *attr_prefix;   /* "@" */
    size_t attr_prefix_len;
    const char *text_key;      /* "#text" */
    size_t text_key_len;
    const char *root;          /* json_to_xml: the element added around other JSON ("root") */
    enum tf_xj_ns_mode ns;
    struct tf_xj_nsmap *map;   /* TF_XJ_NS_MAP */
    size_t nmap;
    struct tf_xj_path paths;   /* the trie's root */
    struct tf_xj_name *names;
    size_t nnames;
    int comments;              /* xml_to_json: keep comments as "#comment" */
    int empty_null;            /* xml_to_json: an empty element is null (else "") */
    int nil_empty;             /* json_to_xml: null is an empty element (else xsi:nil="true") */
    int types;                 /* json_to_xml: pj:type on numbers and booleans */
    int no_markers;            /* json_to_xml: no pj: attributes ("markers": false; lossy) */
    int strict;                /* a body of the wrong media type fails with 415 (else skipped) */
    int pretty;                /* indent the output */
};

/* The default knobs, shared and read-only. */
const struct tf_xj *tf_xj_defaults(void);

/* Compile the step config of cc (an object, or null for the defaults); problems are reported
 * through cc with their JSON paths. Returns the knobs (free with tf_xj_free), or NULL. */
struct tf_xj *tf_xj_create(const struct tf_conf *cc);
void tf_xj_free(struct tf_xj *c);

/* Convert a parsed document (from tf_xml_parse) to JSON text written in x's arena. Returns the
 * text, NUL-terminated, with its length in *len; or NULL when the output would exceed the body
 * limit of x->limits (*why = TF_THREAT_TOO_LARGE and a message in err). c NULL: the defaults. */
char *tf_xml_to_json(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x, size_t *len,
                     enum tf_threat *why, char *err, size_t errlen);

/* The same conversion into a JSON document (json_tree.h) in x's arena, for a next step that
 * takes one: written out (tf_jv_write, pretty as c says) it is the text tf_xml_to_json writes.
 * The size limit is the written body's (the chain's end). */
struct jv *tf_xml_to_json_tree(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x);

/* Parse JSON text under x->limits (the same refusals and messages as tf_json_parse; numbers are
 * kept as written) and write it as an XML document (with an XML declaration) in x's arena.
 * Returns the text, NUL-terminated, with its length in *outlen; or NULL with *why and err set
 * (also for JSON that XML cannot carry: control characters, "--" in a comment). */
char *tf_json_to_xml(const struct tf_xj *c, const char *buf, size_t len, struct tf_ctx *x,
                     size_t *outlen, enum tf_threat *why, char *err, size_t errlen);

/* The same from a JSON document (json_tree.h; hint: the room to start with). */
char *tf_json_tree_to_xml(const struct tf_xj *c, const struct jv *root, size_t hint,
                          struct tf_ctx *x, size_t *outlen, enum tf_threat *why, char *err,
                          size_t errlen);

/* Escaping of names (exported for tests): key -> XML name (NCName, colons escaped) and back.
 * Both write to out (NUL-terminated, truncated to outlen) and return the full length. */
size_t tf_xj_name_encode(const char *key, size_t klen, char *out, size_t outlen);
size_t tf_xj_name_decode(const char *name, size_t nlen, char *out, size_t outlen);

/* Would the text survive as a JSON number (read as a double and printed back, nothing lost)? */
int tf_xj_number_ok(const char *s, size_t n);

#endif
