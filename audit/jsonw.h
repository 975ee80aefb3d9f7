/* jsonw.h: JSON text in the audit event's canonical form, and the hash chain over it.
 *
 * The canonical form (audit/README.md, "Canonical form") is what the chain hashes: members sorted
 * by the bytes of their names, no white space, integers only, strings escaped the one way written
 * here. The gateway writes its events directly in that form; `portico audit verify` rebuilds it
 * from what it parsed (au_json_canon) and recomputes each hash.
 */
#ifndef AU_JSONW_H
#define AU_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "sha256.h"
#include "text.h"

/* The text is written into a struct gw_buf (base/buf.h), zeroed to start (malloc'd; `oom` is set
 * when a growth failed, and the text is then cut). The writers below are inline: an event is
 * some fifty of them, and a name or a literal then costs no strlen. */

/* `"name":` preceded by a comma unless it opens the object or array. */
static inline void
au_buf_key(struct gw_buf *b, const char *name)
{
    size_t n = strlen(name);
    char *o;

    if (gw_buf_reserve(b, n + 4) < 0)
        return;
    o = b->p + b->len;
    if (b->len > 0 && o[-1] != '{' && o[-1] != '[')
        *o++ = ',';
    *o++ = '"';
    memcpy(o, name, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    b->len = (size_t)(o - b->p);
}

/* A JSON string: quoted, with the canonical escapes; bytes that are not UTF-8 become U+FFFD. */
void au_buf_jstr(struct gw_buf *b, const char *s, size_t n);
/* A JSON array of the n strings of v (as au_buf_jstr writes each). */
void au_buf_strings(struct gw_buf *b, const char *const *v, size_t n);
void au_buf_u64(struct gw_buf *b, uint64_t v);
void au_buf_i64(struct gw_buf *b, int64_t v);
/* 64 lowercase hex digits of a SHA-256 digest, quoted. */
void au_buf_hex(struct gw_buf *b, const unsigned char *d, size_t n);

/* Write v in the canonical form, leaving out the top-level member `skip` (NULL: none). Returns 0,
 * or -1 for what the form has no place for (a real number). */
int au_json_canon(struct gw_buf *b, const json_t *v, const char *skip);

/* The chain: hash = SHA-256(prev as 32 bytes || canonical text of the event without "hash"). */
void au_chain_hash(const unsigned char prev[32], const char *canon, size_t len,
                   unsigned char out[32]);

/* Lowercase hex to bytes; 0, or -1 unless s is exactly 2n hex digits. */
int au_hex_decode(const char *s, unsigned char *out, size_t n);

#endif
