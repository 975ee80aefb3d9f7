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

#include "json_read.h"
#include "threat_types.h"

struct tf_ctx;
struct tf_message;

void tf_limits_default(struct tf_limits *l);



/* A JSON reader (base/json_read.h) over buf[0..len) under l's JSON limits (NULL: the defaults),
 * its decoded strings in x's arena, its refusal's message into err (NULL: none). */
void tf_json_reader_init(struct gw_json_reader *r, const char *buf, size_t len,
                         const struct tf_limits *l, struct tf_ctx *x, char *err, size_t errlen);

/* The threat a refusal of the JSON reader is. */
enum tf_threat tf_threat_of(enum gw_json_refusal why);

/* What every body gets before its parser: refused over l's body limit or hard_max bytes
 * (TF_THREAT_TOO_LARGE), or empty (TF_THREAT_MALFORMED), with the message in err ("<kind>: body
 * of N bytes exceeds the limit of M bytes", "<kind>: the document is empty"); else
 * TF_THREAT_OK with err "". */
enum tf_threat tf_body_precheck(const char *kind, size_t len, size_t hard_max,
                                const struct tf_limits *l, char *err, size_t errlen);

/* Fail the exchange for a body the parser refused (why, err), in the words every transform uses:
 * a request body gets 413 "body-too-large" or 400 "invalid-body", a response body 502
 * "bad-upstream-response"; the detail is "<who>: <err>". Returns TF_ERROR (x->fail's). */
int tf_body_refused(struct tf_ctx *x, const struct tf_message *m, enum tf_threat why,
                    const char *who, const char *err);

/* The status for a refused request body: 413 for TF_THREAT_TOO_LARGE, else 400. */
int tf_threat_status(enum tf_threat t);

/* Parse an XML document from buf[0..len). Returns the document (free with xmlFreeDoc), or NULL
 * with *why set and a one-line reason in err (e.g. "XML: DTDs are not accepted (line 2)",
 * "XML: element depth exceeds 64 at line 70"). */
xmlDocPtr tf_xml_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
                       char *err, size_t errlen);

/* Parse one JSON value (any type at the root) from buf[0..len). Returns a new reference, or NULL
 * with *why and err set ("JSON: nesting deeper than 64 at line 1, column 65"), the refusal and
 * message json_to_xml gives the same text (tf_json_check). Duplicate keys are refused (they are a
 * classic way to make two parsers disagree), and so are numbers beyond the range of a double;
 * integers beyond 64 bits are held as reals. */
json_t *tf_json_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
                      char *err, size_t errlen);

/* Read JSON text under l's limits as json_to_xml does (the one JSON reader), building nothing
 * that outlives the call. Returns 0 when it is accepted, else -1 with *why and err set to the
 * reader's refusal: the words every JSON refusal uses (tf_json_parse's and json_to_xml's), so
 * that json_map, validate and json_to_xml give one answer, with one message, whichever reads the
 * body. */
int tf_json_check(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
                  char *err, size_t errlen);

#endif
