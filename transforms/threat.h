/* threat.h: parsing outside XML and JSON safely, with limits (threat protection).
 *
 * Every XML or JSON body a transform touches is parsed through here, never with libxml2 or jansson
 * directly, so that the protections are on by default everywhere:
 * - XML: no DTD at all (a document with a DOCTYPE is refused, so no external entity, no entity
 *   expansion, no billion laughs or quadratic blowup can be parsed), no network, no XInclude;
 *   limits on depth, children per element, attributes per element, name length, text length
 *   and total node count; well-formedness and UTF-8 checked by libxml2.
 * - JSON: the text is scanned once for nesting depth, entries per container and string length
 *   before jansson builds anything, so a 10,000-deep document costs a scan, not a stack.
 * - Both: the body size limit.
 *
 * The gateway's limits come from portico.json ("limits": {"xml": {...}, "json": {...}}); zero
 * never means "no limit" here: the defaults are what tf_limits_default sets.
 */
#ifndef TF_THREAT_H
#define TF_THREAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libxml/tree.h>

struct tf_xml_limits {
    size_t max_depth;      /* element nesting (default 64) */
    size_t max_children;   /* child nodes of one element (default 10000) */
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

void tf_limits_default(struct tf_limits *l);

/* Why a parse was refused: the HTTP status a request gets (a response gets 502 whatever it is). */
enum tf_threat {
    TF_THREAT_OK = 0,
    TF_THREAT_MALFORMED,   /* not well-formed, bad UTF-8, trailing garbage: 400 */
    TF_THREAT_FORBIDDEN,   /* DTD, entity declaration or reference, processing the parser refuses: 400 */
    TF_THREAT_LIMIT,       /* a structural limit (depth, children, attributes, names, text): 400 */
    TF_THREAT_TOO_LARGE,   /* the body size limit: 413 */
};

/* The status for a refused request body: 413 for TF_THREAT_TOO_LARGE, else 400. */
int tf_threat_status(enum tf_threat t);

/* Parse an XML document from buf[0..len). Returns the document (free with xmlFreeDoc), or NULL
 * with *why set and a one-line reason in err (e.g. "XML: DTDs are not accepted (line 2)",
 * "XML: element depth exceeds 64 at line 70"). */
xmlDocPtr tf_xml_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
                       char *err, size_t errlen);

/* Parse one JSON value (any type at the root) from buf[0..len). Returns a new reference, or NULL
 * with *why and err set ("JSON: nesting deeper than 64 at line 1, column 65"). Duplicate keys are
 * refused (they are a classic way to make two parsers disagree). */
json_t *tf_json_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
                      char *err, size_t errlen);

#endif
