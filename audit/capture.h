/* capture.h: what a route's audit event keeps of the bodies, and the redaction of what it keeps.
 *
 * A route of a partner bundle may carry an "audit" object (the format, its defaults and its
 * messages are at the top of capture_conf.c):
 *
 *   "audit": { "capture": "body", "max_body_bytes": 65536,
 *              "redact": { "json": ["/card/number", "/payments/0/iban"],
 *                          "xml": ["//p:IBAN", "//@secret"],
 *                          "namespaces": { "p": "urn:iso:std:iso:20022:tech:xsd:pain.001" } } }
 *
 * capture_conf.c checks and compiles it once, when the bundle loads (au_capture_compile,
 * au_capture_free); capture.c runs it for each exchange (au_capture_body), on worker threads,
 * several at once with the same compiled capture, which it only reads.
 *
 * Redaction fails closed: a body that has to be redacted and cannot be (it does not parse, it was
 * cut at the cap, or no rule list covers its media type) is withheld, never captured as is.
 */
#ifndef AU_CAPTURE_H
#define AU_CAPTURE_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "jsonw.h"
#include "threat_types.h"

struct gw_jctx;

enum au_capture_mode { AU_CAPTURE_DIGEST = 0, AU_CAPTURE_NONE, AU_CAPTURE_BODY };

/* The cap of a captured body: its default and its largest value (bytes, before any encoding). */
#define AU_CAPTURE_MAX_DEFAULT 65536
#define AU_CAPTURE_MAX_LIMIT 1048576

/* What replaces every redacted value (a JSON string; the text of an XML element or attribute). */
#define AU_REDACTED "[redacted]"

struct au_capture;

/* Compile the route's "audit" object obj found at `path` ("routes[2].audit") of c's document.
 * Every problem is reported through c (file:line:column: path: message), errors and warnings;
 * see capture_conf.c for the format and the messages. Returns the compiled capture (free with
 * au_capture_free), or NULL when obj is NULL (the default: digest) or after errors (*bad is then
 * set to 1; it is never set to 0). */
struct au_capture *au_capture_compile(const struct gw_jctx *c, const json_t *obj, const char *path,
                                      int *bad);

/* The mode (NULL: digest) and the cap of a captured body (NULL: the default). */
enum au_capture_mode au_capture_mode(const struct au_capture *cap);
size_t au_capture_max(const struct au_capture *cap);

/* What au_capture_body put in *out. */
enum {
    AU_CAPTURED_TEXT = 0,     /* the (redacted) text, valid UTF-8 */
    AU_CAPTURED_BASE64 = 1,   /* the bytes were not UTF-8: their base64 (RFC 4648, padded) */
    AU_CAPTURED_WITHHELD = 2, /* the body had to be redacted and could not be: nothing */
    AU_CAPTURED_NONE = 3,     /* the capture is not "body": nothing */
};

/* The text to put in the event for a body: body[0..len) with the media type content_type[0..ct_len)
 * (NULL: none). `complete` is 0 when the caller cut the body (at au_capture_max, typically).
 * The result is appended to out (which the caller gives empty and frees); *truncated is set to 1
 * when what was captured is cut (by the caller or at the cap here), else 0.
 *
 * - JSON bodies (application/json, +json) get the "json" rules, XML bodies (application/xml,
 *   text/xml, +xml) the "xml" ones; the redacted document is serialized again (JSON compact with
 *   every number as written; XML in UTF-8 without an XML declaration) and then cut at the cap.
 *   Parsing is the gateway's threat-protected parsers' (the JSON reader into json_tree.h, tf_xml_parse,
 *   `limits`).
 * - Without any "redact" rule list, the body is captured as it came, cut at the cap.
 * - With one, a body is withheld (AU_CAPTURED_WITHHELD, out untouched) when its type has no list
 *   of its own, when it is incomplete, when it does not parse, or when an expression fails on it.
 *   An empty list ("json": []) says that bodies of that type need nothing redacted: they are
 *   captured as they came. An empty body is always captured (as "").
 * - What is captured and is not UTF-8 comes base64-encoded (AU_CAPTURED_BASE64); a cut never
 *   splits a UTF-8 character.
 * limits NULL: the gateway's defaults. Returns AU_CAPTURED_*. When out ran out of memory
 * (out->oom) the caller should drop it. */
int au_capture_body(const struct au_capture *cap, const struct tf_limits *limits,
                    const char *content_type, size_t ct_len, const char *body, size_t len,
                    int complete, struct gw_buf *out, int *truncated);

/* Release cap (NULL is a no-op). */
void au_capture_free(struct au_capture *cap);

/* ---- the compiled form: shared by capture_conf.c, which builds it, and capture.c ------------- */

/* One segment of a JSON pointer: a member name, also an array index when it is one ("0", "12":
 * digits, no leading zero), or "*": every member of an object, every element of an array. */
struct au_jseg {
    char *key;  /* unescaped (~1 is "/", ~0 is "~") */
    long index; /* -1 when not an index */
    int wild;
};

struct au_jptr {
    char *text; /* as configured, for messages */
    struct au_jseg *segs;
    size_t n; /* 0: the whole document */
};

struct au_xrule {
    char *text;
    xmlXPathCompExprPtr comp;
};

struct au_capture {
    enum au_capture_mode mode;
    size_t max;
    int redact;            /* a "redact" section gave a rule list ("json", "xml" or both) */
    int has_json, has_xml; /* that list was given (it may be empty: nothing to redact) */
    struct au_jptr *json;
    size_t njson;
    struct au_xrule *xml;
    size_t nxml;
    xmlNsPtr *ns; /* "namespaces", as an XPath context takes them */
    int nns;
};

#endif
