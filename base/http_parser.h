/* http_parser.h: a strict HTTP/1.1 message head parser and chunked-body decoder.
 *
 * The parser reads a request or response head from contiguous memory and points into it: no
 * copies, no allocation. It is incremental in the way that matters for a proxy: the caller feeds
 * the bytes received so far; the parser says GW_HTTP_AGAIN until the blank line that ends the head
 * has arrived (remembering how far it has looked), then parses the whole head once.
 *
 * It is strict on purpose (RFC 9110/9112 plus the rules that stop request smuggling): anything
 * ambiguous is an error, never a guess. The error codes say which HTTP status to answer with.
 */
#ifndef GW_HTTP_PARSER_H
#define GW_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct gw_buf;

/* Return codes. > 0 is never returned by the parse functions. */
#define GW_HTTP_OK 0
#define GW_HTTP_AGAIN (-2)          /* head not complete yet: call again with more bytes */
#define GW_HTTP_E_BAD (-400)        /* malformed or ambiguous: 400 (502 for a response) */
#define GW_HTTP_E_HEAD_TOO_BIG (-431) /* head larger than limits.max_head_bytes: 431 */
#define GW_HTTP_E_TOO_MANY (-4310)  /* more header fields than limits.max_headers: 431 */
#define GW_HTTP_E_BODY_TOO_BIG (-413) /* Content-Length above limits.max_body_bytes: 413 */
#define GW_HTTP_E_URI_TOO_LONG (-414) /* request target longer than limits.max_target_bytes */
#define GW_HTTP_E_NOT_IMPL (-501)   /* Transfer-Encoding other than chunked: 501 */
#define GW_HTTP_E_VERSION (-505)    /* HTTP version other than 1.0 or 1.1: 505 */
#define GW_HTTP_E_METHOD (-405)     /* CONNECT, or another method the gateway never proxies */

enum gw_http_method {
    GW_METHOD_OTHER = 0, /* a valid token that is none of the below */
    GW_METHOD_GET,
    GW_METHOD_HEAD,
    GW_METHOD_POST,
    GW_METHOD_PUT,
    GW_METHOD_DELETE,
    GW_METHOD_PATCH,
    GW_METHOD_OPTIONS,
    GW_METHOD_TRACE,
    GW_METHOD_CONNECT,
};

/* Bit for a method in a route's method set: GW_METHOD_BIT(GW_METHOD_GET). */
#define GW_METHOD_BIT(m) (1u << (m))

/* What a request field whose name holds '_' becomes (CGI, WSGI, PHP and many frameworks read '_'
 * and '-' alike, so such a name may mean to the origin a field the gateway framed or vetted under
 * its other spelling). A name that, read with '-' for '_' and in any case, is one of the fields
 * that frame, route or identify a request, or that name its connection or forwarding
 * (gw_http_guarded_name) is refused in every mode. */
enum gw_http_underscores {
    GW_UNDERSCORES_DROP = 0, /* default: left out of the message, as if never sent */
    GW_UNDERSCORES_REFUSE,   /* the request is refused: GW_HTTP_E_BAD */
    GW_UNDERSCORES_PASS,     /* kept and forwarded */
};

struct gw_http_limits {
    size_t max_head_bytes;   /* request/status line + all header lines + blank line */
    size_t max_headers;      /* header field count; at most GW_HTTP_MAX_HEADERS */
    size_t max_target_bytes; /* request target length */
    uint64_t max_body_bytes; /* Content-Length above this is GW_HTTP_E_BODY_TOO_BIG; 0 = no limit */
    enum gw_http_underscores underscores; /* request fields with '_' in their name */
};

#define GW_HTTP_MAX_HEADERS 256

struct gw_http_header {
    const char *name; /* points into the caller's buffer; not NUL-terminated */
    size_t name_len;
    const char *value; /* leading and trailing whitespace (SP, HTAB) already trimmed */
    size_t value_len;
};

/* Framing of the body that follows the head. */
enum gw_http_body {
    GW_BODY_NONE = 0,  /* no body (request without CL/TE, CL: 0, HEAD response, 1xx/204/304) */
    GW_BODY_LENGTH,    /* exactly content_length bytes */
    GW_BODY_CHUNKED,   /* Transfer-Encoding: chunked */
    GW_BODY_UNTIL_EOF, /* response only: no CL and no TE, read until the connection closes */
};

struct gw_http_message {
    /* request line (requests only) */
    enum gw_http_method method;
    const char *method_str;
    size_t method_len;
    const char *target; /* origin-form "/path?query", or "*" for OPTIONS */
    size_t target_len;
    const char *path; /* target up to '?' */
    size_t path_len;
    const char *query; /* after '?', NULL when there is none */
    size_t query_len;
    /* status line (responses only) */
    int status;
    const char *reason;
    size_t reason_len;
    /* both */
    int version_minor; /* 0 or 1 (HTTP/1.0 or HTTP/1.1) */
    size_t nheaders;
    struct gw_http_header headers[GW_HTTP_MAX_HEADERS];
    /* what the parser concluded from the headers */
    enum gw_http_body body;
    uint64_t content_length; /* valid when body == GW_BODY_LENGTH */
    unsigned keep_alive : 1;      /* connection may be reused after this message */
    unsigned expect_continue : 1; /* request carried "Expect: 100-continue" */
    unsigned expect_other : 1;    /* request carried an Expect other than 100-continue: 417 */
    const char *host;             /* the single Host value (requests), NULL if absent */
    size_t host_len;
};

/* Incremental state: zero it (or call gw_http_parser_init) before the first call for a message. */
struct gw_http_parser {
    size_t scanned;          /* bytes already searched for the end of the head */
    size_t checked;          /* bytes of an incomplete request head already checked */
    size_t fields;           /* where its field lines start, once its request line is valid */
    unsigned line_valid : 1; /* that incomplete head's request line was found valid */
};

void gw_http_parser_init(struct gw_http_parser *p);

/* Parse a request head from buf[0..len). len is all bytes received so far for this message
 * (the same start on every call). Returns GW_HTTP_OK with *head_len set to the size of the head
 * (the body starts at buf + *head_len), GW_HTTP_AGAIN if the blank line has not arrived (and len
 * is within limits), or a GW_HTTP_E_* code. On GW_HTTP_OK all pointers in *msg point into buf; on
 * GW_HTTP_AGAIN only its request-line members may have been written.
 *
 * An incomplete head is refused as soon as the bytes received cannot begin a valid one, not when
 * the blank line (or the header timeout) comes: a control byte other than HTAB, CR and LF; a CR
 * followed by anything but LF; a line that starts with SP or HTAB; a request line that is
 * complete and invalid (an unsupported version is GW_HTTP_E_VERSION at once). Each byte is looked
 * at once however the head is cut.
 *
 * Rules (each violation is GW_HTTP_E_BAD unless said otherwise):
 * - lines end in CRLF; a bare CR or a bare LF anywhere in the head is an error;
 * - request line: method token SP request-target SP "HTTP/1." DIGIT, single spaces; versions
 *   other than HTTP/1.0 and HTTP/1.1 are GW_HTTP_E_VERSION; target in origin form ("/" ...) or
 *   "*" for OPTIONS only; absolute-form and authority-form are errors; CONNECT is GW_HTTP_E_METHOD;
 *   the target may hold only the characters RFC 3986 allows unencoded in a path and query, and
 *   '[' ']' (common in query strings): no SP, CTL or byte >= 0x7f, and none of '#' (a fragment
 *   is never sent), '"', '<', '>', '\\', '^', '`', '{', '|', '}';
 * - leading empty lines before the request line are tolerated (RFC 9112 2.2) only as CRLF pairs;
 * - header line: token name ":" OWS value OWS; no whitespace before the colon; no obsolete line
 *   folding (a line starting with SP/HTAB); names are tokens (RFC 9110 tchar); values hold only
 *   HTAB, SP, visible ASCII and obs-text (0x80-0xff): any other control character (NUL included)
 *   is an error; a request field whose name holds '_' is refused if gw_http_guarded_name() says
 *   so, and otherwise handled as limits->underscores says (left out of msg by default);
 * - Content-Length: digits only, no sign, no overflow; several Content-Length fields (or a
 *   comma list) are accepted only if every value is identical; above max_body_bytes is
 *   GW_HTTP_E_BODY_TOO_BIG;
 * - Transfer-Encoding together with Content-Length is an error; Transfer-Encoding must be exactly
 *   "chunked" (case-insensitive; a list whose last element is chunked but has others before it is
 *   GW_HTTP_E_NOT_IMPL, and one whose last element is not chunked is GW_HTTP_E_BAD); in HTTP/1.0
 *   requests Transfer-Encoding is an error;
 * - HTTP/1.1 requests need exactly one Host; HTTP/1.0 at most one; several Host fields are errors;
 *   the Host value must be a valid uri-host[:port] (no spaces, no '/', no '@');
 * - Connection: "close" clears keep_alive; for 1.0 "keep-alive" sets it; 1.1 defaults to keep-alive;
 * - Expect: "100-continue" (case-insensitive) sets expect_continue; any other value expect_other;
 * - limits: head bigger than max_head_bytes is GW_HTTP_E_HEAD_TOO_BIG (also while still AGAIN);
 *   more fields than max_headers GW_HTTP_E_TOO_MANY; target longer than max_target_bytes
 *   GW_HTTP_E_URI_TOO_LONG.
 */
int gw_http_parse_request(struct gw_http_parser *p, const char *buf, size_t len,
                          const struct gw_http_limits *limits, struct gw_http_message *msg,
                          size_t *head_len);

/* Parse a response head, same contract. `request_method` is the method of the request this answers
 * (a HEAD response has no body). Status line: "HTTP/1." DIGIT SP 3DIGIT SP reason (the reason may
 * be empty, the space may not be missing... a missing SP+reason is tolerated). Body framing: 1xx,
 * 204 and 304 have none; HEAD responses none; CL and TE rules as for requests (both present is an
 * error); neither present is GW_BODY_UNTIL_EOF with keep_alive cleared. Errors are the same codes;
 * a proxy answers any of them with 502. */
int gw_http_parse_response(struct gw_http_parser *p, const char *buf, size_t len,
                           const struct gw_http_limits *limits, enum gw_http_method request_method,
                           struct gw_http_message *msg, size_t *head_len);

/* Find a header by name (case-insensitive). Returns the first match or NULL. */
const struct gw_http_header *gw_http_find_header(const struct gw_http_message *msg,
                                                 const char *name);

/* Make every pointer of msg that points into from[0..len) point at the same offset of to[0..len)
 * (after the head was copied from `from` to `to`). */
void gw_http_rebase(struct gw_http_message *msg, const char *from, const char *to, size_t len);

/* Is h a field that belongs to one connection (RFC 9110 7.6.1: Connection, Keep-Alive, TE,
 * Trailer, Upgrade, Transfer-Encoding, Proxy-Connection, Proxy-Authorization) and never crosses
 * a proxy? */
int gw_http_hop_by_hop(const struct gw_http_header *h);

/* Is h named in one of m's Connection fields (so hop-by-hop too)? */
int gw_http_connection_listed(const struct gw_http_message *m, const struct gw_http_header *h);

/* Does the field name claim an identity (X-Partner-*, X-Consumer-*, X-Client-Cert*, any case)? Only the gateway
 * writes those, from the verified certificate. */
int gw_http_identity_claim(const char *name, size_t len);

/* Write "name: value\r\n" into b. */
void gw_http_put_field(struct gw_buf *b, const char *name, size_t name_len, const char *value,
                       size_t value_len);

/* The reason phrase of a status ("Bad Gateway"), "" for one not listed. */
const char *gw_http_status_text(int status);

/* Does the field name, read with '-' for every '_' and ignoring case, name a field that frames
 * (Content-Length, Transfer-Encoding, Content-Type), routes (Host, Expect), is hop-by-hop, carries
 * forwarding (Forwarded, X-Forwarded-*, Via, X-Real-IP, X-Request-Id) or identity (X-Partner-*,
 * X-Client-Cert*)? 1 or 0. */
int gw_http_guarded_name(const char *name, size_t len);

/* Case-insensitive compare of a (ptr,len) token with a NUL-terminated lowercase literal. */
int gw_http_token_eq(const char *s, size_t len, const char *lower);

/* Is s[0..len) a token (RFC 9110 5.6.2: one or more tchar), as a field name must be? */
int gw_http_token_valid(const char *s, size_t len);

/* Does the comma-separated list value contain `lower` as one element (case-insensitive, OWS
 * around elements ignored)? Used for Connection: close, keep-alive, and the like. */
int gw_http_list_has(const char *value, size_t len, const char *lower);

const char *gw_http_method_name(enum gw_http_method m);
/* Map a method token to its enum; GW_METHOD_OTHER when it is none of the known ones. */
enum gw_http_method gw_http_method_from(const char *s, size_t len);

#endif
