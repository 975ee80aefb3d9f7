/* http_chunked.h: the chunked transfer coding decoder (RFC 9112 7.1), strict like the head parser
 * (http_parser.h), whose return codes it shares. */
#ifndef GW_HTTP_CHUNKED_H
#define GW_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "http_parser.h" /* the return codes */

/* The decoder, fed from contiguous pieces of input.
 *
 * Strict: chunk-size is 1 to 16 hex digits with no sign, no leading/trailing whitespace, no
 * overflow; chunk extensions are accepted only if they follow the grammar (";" token ["=" (token |
 * quoted-string)], BWS allowed around ";" and "="), total line at most 4096 bytes; chunk data must
 * be followed by CRLF exactly; trailer fields follow the header-field rules of http_parser.h and are skipped
 * (at most 8192 bytes of trailers); bare LF or CR are errors. */
struct gw_chunked {
    int state;          /* internal */
    uint64_t remaining; /* payload bytes left in the current chunk */
    size_t line_len;    /* bytes in the current size/trailer line so far */
    size_t trailer_len; /* bytes of trailers so far */
    uint64_t total;     /* payload bytes decoded so far */
    int qstate;         /* internal: extension lexer state */
};

#define GW_CHUNK_DATA 1   /* *n payload bytes start at p: the caller consumes exactly *n bytes */
#define GW_CHUNK_FRAME 2  /* *n framing bytes were consumed (size line, CRLF, trailers): skip them */
#define GW_CHUNK_DONE 3   /* the last chunk and trailers ended; *n framing bytes consumed */

void gw_chunked_init(struct gw_chunked *c);

/* Feed p[0..len) (len > 0). Returns GW_CHUNK_DATA, GW_CHUNK_FRAME or GW_CHUNK_DONE with *n set
 * (*n may be less than len: call again with the rest), GW_HTTP_AGAIN when all len bytes were
 * consumed as part of an incomplete framing element (*n == len), or GW_HTTP_E_BAD. For DATA, *n is
 * min(len, remaining chunk bytes) and the decoder counts them as consumed. A DONE decoder must not
 * be fed again. If max_body is nonzero and the decoded total would exceed it, returns
 * GW_HTTP_E_BODY_TOO_BIG. */
int gw_chunked_feed(struct gw_chunked *c, const char *p, size_t len, uint64_t max_body, size_t *n);

#endif
