/* xml_util.h: what the XML transforms (xslt, xml_map, soap, validate) share: the message body
 * parsed through the threat limits with the right problem when it is refused (body_forms.c's
 * body_xml, which the steps call), the status of a failure the message caused, and a buffer in
 * the exchange's arena.
 */
#ifndef TF_XML_UTIL_H
#define TF_XML_UTIL_H

#include <stddef.h>

#include <libxml/tree.h>

#include "buf.h"
#include "transform.h"

/* Parse m's body as XML under x's limits (tf_xml_parse). Returns the document, which the caller
 * frees with xmlFreeDoc, or NULL after x->fail(): a refused request body answers 413
 * "body-too-large" or 400 "invalid-body", a refused response body 502 "bad-upstream-response"
 * (the codes of body_forms.h's body_json). `who` (the transform's name) starts the detail. */
xmlDocPtr tf_xml_body_parse(const struct tf_message *m, struct tf_ctx *x, const char *who);

/* The status of a failure the message's content caused: 400 on the request (the partner sent
 * it), 502 on the response (the upstream did). */
int tf_content_fail_status(const struct tf_message *m);

/* Is the body empty (then the XML transforms skip the message)? Only bytes can be: a body held
 * only as a document is not, though body_len is 0 then. */
int tf_body_empty(const struct tf_message *m);

/* The most a body a transform writes may take: x's body limit (the default's without limits). */
size_t tf_body_max(const struct tf_ctx *x);

/* b: an empty buffer in the exchange's arena (base/buf.h; old blocks stay in the arena until it is
 * freed), with room for `hint` bytes and a ceiling of max bytes (0: none). */
void tf_arena_buf(struct gw_buf *b, struct tf_ctx *x, size_t max, size_t hint);

/* Append the UTF-8 serialization of node (an element, with the namespace declarations it
 * carries itself, no XML declaration) to b. Returns 0, or -1 when libxml2 ran out of memory. */
int tf_xml_node_dump(struct gw_buf *b, xmlDocPtr doc, xmlNodePtr node);

/* Make body[0..len) m's body (it must live in x's arena) with Content-Type content_type (NULL:
 * the headers are left as they are). The parsed forms m held are dropped: bytes only now. */
void tf_set_body(struct tf_message *m, struct tf_ctx *x, char *body, size_t len,
                 const char *content_type);

/* Does s hold a header value that cannot break the head (no CR, LF or other control byte)? */
int tf_header_value_ok(const char *s);

/* The first namespace prefix an XPath expression uses (a name before a single ':', outside string
 * literals) that is neither "xml" nor one of ns[0..nns): libxml2 resolves a prefix only when a
 * step naming it is evaluated, so a trial run may never see it. Returns where it starts (*len
 * bytes), or NULL when every prefix is declared. */
const char *tf_xpath_undeclared_prefix(const char *expr, xmlNsPtr *ns, int nns, size_t *len);

#endif
