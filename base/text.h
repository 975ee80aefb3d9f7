/* text.h: small text helpers every floor writes: hex digits, UTF-8, JSON strings.
 *
 * JSON strings are written one way everywhere (the audit event's canonical form, xml_to_json,
 * the JSON bodies transforms write): '"' and '\' escaped, \b \f \n \r \t for those controls,
 * \u00xx (lowercase) for the other bytes below 0x20, everything else as is ('/' and DEL
 * included).
 */
#ifndef GW_TEXT_H
#define GW_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/* In a variadic function whose last named parameter is fmt: print its message into buf[0..len)
 * (cut to fit, NUL-terminated). For the message helpers that format and hand the text on. */
#define GW_FORMAT_ARGS(buf, len, fmt)                                                              \
    do {                                                                                           \
        va_list gw_ap_;                                                                            \
        va_start(gw_ap_, fmt);                                                                     \
        vsnprintf(buf, len, fmt, gw_ap_);                                                          \
        va_end(gw_ap_);                                                                            \
    } while (0)

/* The value of a hex digit (either case), or -1. */
int gw_hexval(int c);

/* 2n lowercase hex digits of d[0..n) into out (no NUL). */
void gw_hex_encode(char *out, const unsigned char *d, size_t n);
/* The n bytes whose 2n hex digits (either case) are s[0..2n) into out: 0, or -1 when one is not
 * a hex digit. */
int gw_hex_decode(const char *s, unsigned char *out, size_t n);

/* Base64 (RFC 4648): url selects the URL-safe alphabet ('-' '_', no padding: JOSE's base64url)
 * over the standard one ('+' '/', padded to a multiple of 4). Encoding writes 4 characters per 3
 * bytes or fewer (no NUL) and returns how many. Decoding is strict: only the alphabet, padding
 * exactly as the variant says, unused trailing bits zero; it returns the byte count written to
 * out (room for n * 3 / 4 + 3), or -1. */
size_t gw_base64_encode(char *out, const unsigned char *in, size_t n, int url);
long gw_base64_decode(const char *in, size_t n, unsigned char *out, int url);

/* The UTF-8 bytes of code point cp (at most U+10FFFF; not checked) into out; returns 1 to 4. */
size_t gw_utf8_put(uint32_t cp, char *out);

/* The length of the valid UTF-8 sequence at s[0..n) whose lead byte is 0x80 or above (shortest
 * form, no surrogate, at most U+10FFFF, as RFC 3629 says), or 0 when it is not one. */
size_t gw_utf8_len(const unsigned char *s, size_t n);

/* Make s one line of valid UTF-8, in place: control characters become spaces, bytes that do not
 * start valid UTF-8 '?'. For messages that quote their input (logs, problem bodies). */
void gw_text_one_line(char *s);

/* A string's hash for the tables of names and ids (Bernstein's, with xor): spread enough for
 * keys that are not chosen against it (ids the gateway makes, names from the configuration). */
size_t gw_str_hash(const char *s);

enum {
    GW_JSON_FIX_UTF8 = 1, /* a byte that does not start valid UTF-8 is written U+FFFD */
};

/* Is s[0..n) a number as the JSON grammar writes it (no '+', no leading zero, no bare '.')? */
int gw_json_number_ok(const char *s, size_t n);

/* s[0..n) as the content of a JSON string (no quotes) into out[0..room): as much as fits, whole
 * characters only. Returns the bytes written, with *used the bytes of s they stand for and *need
 * 0 when all of s was written, else the room the next character takes. Room for 6n bytes always
 * takes it all. flags: GW_JSON_*. */
size_t gw_json_escape(char *out, size_t room, const char *s, size_t n, unsigned flags, size_t *used,
                      size_t *need);

/* s[0..n) as the content of a JSON string (no quotes) at the end of b. */
void gw_json_chars(struct gw_buf *b, const char *s, size_t n, unsigned flags);

/* The same, quoted. */
void gw_json_str(struct gw_buf *b, const char *s, size_t n, unsigned flags);

/* A line written into a fixed block, p[0..end): what does not fit is cut, and writing never fails
 * nor allocates (log lines). A writer keeps room past end for what closes its line, and moves end
 * there to close it, so that a cut line still ends well. */
struct gw_line {
    char *p;
    size_t n, end;
};

/* s[0..len) at the end of l, as much as fits. */
static inline void
gw_line_put(struct gw_line *l, const char *s, size_t len)
{
    if (len > l->end - l->n)
        len = l->end - l->n;
    memcpy(l->p + l->n, s, len);
    l->n += len;
}

/* s[0..len) as the content of a JSON string (no quotes) at the end of l, in at most max bytes (as
 * much as fits, whole characters only). flags: GW_JSON_*. */
void gw_line_json(struct gw_line *l, const char *s, size_t len, size_t max, unsigned flags);

/* ,"key":"s" at the end of l, s in at most max bytes, bytes that are not UTF-8 as U+FFFD (a log
 * collector always reads valid JSON); nothing when s is NULL. */
void gw_line_json_member(struct gw_line *l, const char *key, const char *s, size_t len,
                         size_t max);

#endif
