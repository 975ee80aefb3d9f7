/* http_chars.h: the byte classes of HTTP/1.1 (RFC 9110, 9112, 3986), shared by the head parser
 * (http_parser.c, which defines the table) and the chunked decoder (http_chunked.c): one table
 * lookup per byte. Internal to those two files. */
#ifndef GW_HTTP_CHARS_H
#define GW_HTTP_CHARS_H

#define C_TCHAR 0x01  /* token character (RFC 9110 5.6.2) */
#define C_VCHAR 0x02  /* visible ASCII, 0x21-0x7e */
#define C_FVAL 0x04   /* field-value byte: HTAB, SP, VCHAR, obs-text (0x80-0xff) */
#define C_HEX 0x08    /* hex digit */
#define C_HOST 0x10   /* reg-name byte (RFC 3986): unreserved, sub-delims, '%' */
#define C_OWS 0x20    /* SP, HTAB */
#define C_QDTEXT 0x40 /* quoted-string text: HTAB, SP, VCHAR except '"' and '\\', obs-text */
#define C_DIGIT 0x80  /* decimal digit */

extern const unsigned char gw_http_cls[256];

#define IS(c, k) (gw_http_cls[(unsigned char)(c)] & (k))

static inline unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

#endif
