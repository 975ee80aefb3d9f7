/* http_sfv.h: Structured Field Values for HTTP (RFC 8941): parsing and serializing the
 * dictionaries, lists, inner lists, items and parameters that fields such as Signature-Input,
 * Signature (RFC 9421) and Content-Digest (RFC 9530) are written in.
 *
 * Strict: a value that does not follow the grammar of RFC 8941 section 4.2 is refused whole
 * (no member is kept from it), and so is a byte sequence whose base64 is not padded or has
 * trailing bits set (RFC 8941 lets parsers be lenient there; a signature verifier must not be).
 * Bounded: at most GW_SFV_MAX_NODES members, items and parameters in one value, so that the
 * work and memory are linear in a value's length and capped. Decimals are kept in thousandths
 * (RFC 8941 allows three fraction digits).
 *
 * Memory: the parsed value (members, unescaped strings, decoded byte sequences) is in the arena
 * given; nothing else is allocated. Serializing writes into a caller's buffer.
 */
#ifndef GW_HTTP_SFV_H
#define GW_HTTP_SFV_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define GW_SFV_MAX_NODES 1024

enum gw_sfv_type {
    GW_SFV_INTEGER = 1,
    GW_SFV_DECIMAL,
    GW_SFV_STRING,
    GW_SFV_TOKEN,
    GW_SFV_BYTES,
    GW_SFV_BOOLEAN,
    GW_SFV_INNER_LIST,
};

struct gw_sfv_member;

/* An item (a bare item and its parameters), or an inner list (its items and its parameters). */
struct gw_sfv_item {
    enum gw_sfv_type type;
    int64_t num;                  /* INTEGER; DECIMAL in thousandths; BOOLEAN 0 or 1 */
    const char *str;              /* STRING (unescaped), TOKEN, BYTES (decoded): NUL after */
    size_t len;
    struct gw_sfv_member *items;  /* INNER_LIST: its items, in order (key NULL) */
    struct gw_sfv_member *params; /* the parameters, in order (bare items, no parameters) */
};

/* A member of a dictionary or a list, an item of an inner list, or a parameter. */
struct gw_sfv_member {
    struct gw_sfv_member *next;
    const char *key;              /* dictionary member, parameter: its key; else NULL */
    size_t key_len;
    struct gw_sfv_item v;
};

/* Parse s[0..n) (a field's value, repeated fields joined with ", ") as a dictionary / a list:
 * 0 with *out the first member (NULL for an empty value), or -1 when it is malformed or too
 * big. A key given twice keeps its first place and its last value (RFC 8941 4.2.2). */
int gw_sfv_parse_dict(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_member **out);
int gw_sfv_parse_list(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_member **out);
/* Parse s[0..n) as an item (a bare item with parameters): 0, or -1. */
int gw_sfv_parse_item(struct gw_arena *a, const char *s, size_t n, struct gw_sfv_item *out);

/* The member (or parameter) of list m whose key is key, or NULL. */
const struct gw_sfv_member *gw_sfv_get(const struct gw_sfv_member *m, const char *key);
/* A parameter of it as a string, an integer, a boolean: 1 with *out, 0 when absent, -1 when it
 * has another type. */
int gw_sfv_param_str(const struct gw_sfv_item *it, const char *key, const char **out,
                     size_t *len);
int gw_sfv_param_int(const struct gw_sfv_item *it, const char *key, int64_t *out);
int gw_sfv_param_bool(const struct gw_sfv_item *it, const char *key, int *out);

/* Serialize (RFC 8941 section 4.1) into out[0..room): an item or inner list with its
 * parameters, a dictionary, a list. Returns the length of the whole serialization; only what fits
 * is written (no NUL): call again with more room when the result is larger than room. -1 when
 * the value cannot be serialized (a number out of range, a string with a byte outside 0x20-0x7e,
 * a token or key that is not one). */
long gw_sfv_write_item(char *out, size_t room, const struct gw_sfv_item *it);
long gw_sfv_write_dict(char *out, size_t room, const struct gw_sfv_member *m);
long gw_sfv_write_list(char *out, size_t room, const struct gw_sfv_member *m);

#endif
