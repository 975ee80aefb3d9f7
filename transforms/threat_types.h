/* threat_types.h: the threat limits as types only (the parsers are in threat.h).
 *
 * transform.h needs these structs, and a plugin that includes it should not need libxml2's
 * headers to compile: the types live here, the functions that take libxml2 types in threat.h.
 */
#ifndef TF_THREAT_TYPES_H
#define TF_THREAT_TYPES_H

#include <stddef.h>
#include <stdint.h>

struct tf_xml_limits {
    size_t max_depth;      /* element nesting (default 64) */
    size_t max_children;   /* child elements, comments and processing instructions of one
                            * element (default 10000; text nodes are not counted, so that the
                            * whitespace of a pretty-printed document does not double it) */
    size_t max_attrs;      /* attributes of one element, namespace declarations included (64) */
    size_t max_name_len;   /* element or attribute name, prefix included (256) */
    size_t max_text_len;   /* one text node or attribute value (1 MiB) */
    size_t max_nodes;      /* elements + attributes + text nodes in the document (1,000,000) */
};

struct tf_json_limits {
    size_t max_depth;      /* container nesting (default 64) */
    size_t max_entries;    /* members of one object or elements of one array (10000) */
    size_t max_string_len; /* one string, keys included, in bytes as written (1 MiB) */
};

struct tf_limits {
    uint64_t max_body;     /* bytes of a body a transform may take (default 10 MiB) */
    struct tf_xml_limits xml;
    struct tf_json_limits json;
};

/* Why a parse was refused: the HTTP status a request gets (a response gets 502 whatever it is). */
enum tf_threat {
    TF_THREAT_OK = 0,
    TF_THREAT_MALFORMED,   /* not well-formed, bad UTF-8, trailing garbage: 400 */
    TF_THREAT_FORBIDDEN,   /* DTD, entity declaration or reference, processing the parser refuses: 400 */
    TF_THREAT_LIMIT,       /* a structural limit (depth, children, attributes, names, text): 400 */
    TF_THREAT_TOO_LARGE,   /* the body size limit: 413 */
};

#endif
