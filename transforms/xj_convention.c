/* xj_convention.c: what xml_to_json and json_to_xml share (see xj_convention.h): the output,
 * the escaping of names, the scalars, the prefixes json_to_xml chooses, the configured paths. */
#include "xj_convention.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "xml_util.h"

/* ---- output buffer in the arena ------------------------------------------------------------ */

/* The output: a buffer in x's arena whose ceiling is the body limit (beyond it the conversion
 * stops and reports). */
void
tf_xj_out_init(struct gw_buf *o, struct tf_ctx *x, size_t hint)
{
    tf_arena_buf(o, x, tf_body_max(x), hint < 256 ? 256 : hint);
}

/* Scratch memory from the output's arena. */
void *
tf_xj_out_alloc(struct gw_buf *o, size_t n)
{
    return o->alloc(o->ctx, n);
}

void
tf_xj_out_indent(struct gw_buf *o, int depth)
{
    gw_buf_addc(o, '\n');
    for (int i = 0; i < depth; i++)
        gw_buf_add(o, "  ", 2);
}

char *
tf_xj_out_finish(struct gw_buf *o, size_t *len)
{
    *len = o->len;
    return gw_buf_str(o);
}

/* ---- UTF-8 and XML names ------------------------------------------------------------------- */

/* The code point at s[*i] (valid UTF-8 assumed), advancing *i. */
static uint32_t
utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    uint32_t c = s[*i];
    size_t k = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;

    if (k > 0)
        c &= 0x3F >> k;
    (*i)++;
    while (k-- > 0 && *i < n)
        c = (c << 6) | (s[(*i)++] & 0x3F);
    return c;
}

/* XML 1.0 (fifth edition) NameStartChar, without ':' (namespaces give it a meaning). */
static int
name_start(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

static int
name_char(uint32_t c)
{
    return name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
           (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* The value of an uppercase hex digit (the escapes are written in uppercase), or -1. */
static int
upper_hexval(char c)
{
    return c >= 'a' && c <= 'f' ? -1 : gw_hexval(c);
}

/* Does s[i..n) start with an escape: "_x" + 4 uppercase hex digits + "_" (a code point below
 * U+10000, not 0, not a surrogate) or "_x" + 8 digits + "_" (U+10000 to U+10FFFF)? Returns its
 * length with the code point in *cp, or 0. */
static size_t
escape_at(const char *s, size_t n, size_t i, uint32_t *cp)
{
    static const size_t digits[] = { 4, 8 };

    if (i + 2 >= n || s[i] != '_' || s[i + 1] != 'x')
        return 0;
    for (size_t d = 0; d < 2; d++) {
        size_t k = digits[d], j;
        uint32_t c = 0;

        if (i + 3 + k > n || s[i + 2 + k] != '_')
            continue;
        for (j = 0; j < k && upper_hexval(s[i + 2 + j]) >= 0; j++)
            c = c << 4 | (uint32_t)upper_hexval(s[i + 2 + j]);
        if (j < k)
            continue;
        if (k == 4 && (c == 0 || (c >= 0xD800 && c <= 0xDFFF)))
            continue;
        if (k == 8 && (c < 0x10000 || c > 0x10FFFF))
            continue;
        *cp = c;
        return 3 + k;
    }
    return 0;
}

static int
must_escape(uint32_t c, int at_start)
{
    return c == ':' || !(at_start ? name_start(c) : name_char(c));
}

/* Is the '_' at key[i] to be written _x005F_, because what follows it in the output would read
 * as an escape? The output after it starts with key[i+1..] as written: an escape there starts
 * with '_' exactly when key has '_' or a character that must be escaped. */
static int
underscore_escaped(const char *key, size_t n, size_t i)
{
    static const size_t digits[] = { 4, 8 };

    if (i == 0 && n == 3 && memcmp(key, "_x_", 3) == 0)
        return 1;
    for (size_t d = 0; d < 2; d++) {
        size_t k = digits[d], j = i + 2 + k;
        char probe[12];
        uint32_t cp;

        if (j >= n || key[i + 1] != 'x')
            continue;
        memcpy(probe, key + i, 2 + k);
        probe[2 + k] = '_';
        if (escape_at(probe, 3 + k, 0, &cp) == 0)
            continue;
        if (key[j] == '_' || must_escape(utf8_next((const unsigned char *)key, n, &j), 0))
            return 1;
    }
    return 0;
}

static size_t
put_bytes(char *out, size_t outlen, size_t at, const char *s, size_t n)
{
    for (size_t k = 0; k < n && at + k + 1 < outlen; k++)
        out[at + k] = s[k];
    return at + n;
}

size_t
tf_xj_name_encode(const char *key, size_t klen, char *out, size_t outlen)
{
    size_t i = 0, o = 0;
    char esc[16];

    if (klen == 0)
        o = put_bytes(out, outlen, 0, "_x_", 3);
    while (i < klen) {
        size_t start = i;
        uint32_t c = utf8_next((const unsigned char *)key, klen, &i);

        if (c == '_' && underscore_escaped(key, klen, start)) {
            o = put_bytes(out, outlen, o, "_x005F_", 7);
        } else if (c != '_' && must_escape(c, start == 0)) {
            int e = snprintf(esc, sizeof esc, c > 0xFFFF ? "_x%08X_" : "_x%04X_", (unsigned)c);
            o = put_bytes(out, outlen, o, esc, (size_t)e);
        } else {
            o = put_bytes(out, outlen, o, key + start, i - start);
        }
    }
    if (outlen > 0)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

size_t
tf_xj_name_decode(const char *name, size_t nlen, char *out, size_t outlen)
{
    size_t i = 0, o = 0, k;
    uint32_t cp;
    char u[4];

    if (nlen == 3 && memcmp(name, "_x_", 3) == 0)
        nlen = 0;
    while (i < nlen) {
        if (name[i] == '_' && (k = escape_at(name, nlen, i, &cp)) > 0) {
            o = put_bytes(out, outlen, o, u, gw_utf8_put(cp, u));
            i += k;
        } else {
            o = put_bytes(out, outlen, o, name + i, 1);
            i++;
        }
    }
    if (outlen > 0)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

/* ---- scalars ------------------------------------------------------------------------------- */

int
tf_xj_number_ok(const char *s, size_t n)
{
    size_t i = 0, sig = 0;
    int nonzero = 0, frac = 0;

    if (n == 0 || n > 32)
        return 0;
    if (s[0] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < n && s[i + 1] != '.'))
        return 0;
    for (; i < n; i++) {
        if (s[i] == '.' && !frac && i + 1 < n) {
            frac = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return 0;
        nonzero |= s[i] != '0';
        sig += nonzero;
    }
    if (frac && s[n - 1] == '0')
        return 0; /* 6.20: the trailing zero would be lost */
    if (!nonzero && s[0] == '-')
        return 0; /* -0 */
    if (sig <= 15)
        return 1;
    /* an integer of 16 digits is exact up to 2^53 */
    return !frac && sig == 16 && memcmp(s + (s[0] == '-'), "9007199254740992", 16) <= 0;
}

int
tf_xj_is_bool(const char *s, size_t n)
{
    return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0);
}

/* ---- the prefixes json_to_xml chooses ------------------------------------------------------ */

/* "pj" is 0, "pj1" to "pj31" are 1 to 31 (the same for "xsi"); anything else -1. */
int
tf_xj_prefix_index(const char *base, const char *p, size_t n)
{
    size_t bl = strlen(base);
    int i = 0;

    if (n < bl || memcmp(p, base, bl) != 0 || (n > bl && p[bl] == '0') || n > bl + 2)
        return -1;
    for (size_t k = bl; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        i = i * 10 + (p[k] - '0');
    }
    return i < 32 ? i : -1;
}

/* base ("pj" or "xsi") and i as a prefix that lives as long as the process (scopes keep it). */
const char *
tf_xj_prefix_name(const char *base, int i)
{
#define P10(b, d) b d "0", b d "1", b d "2", b d "3", b d "4", b d "5", b d "6", b d "7", b d "8", b d "9"
    static const char *const pj[32] = { "pj", "pj1", "pj2", "pj3", "pj4", "pj5", "pj6", "pj7",
                                        "pj8", "pj9", P10("pj", "1"), P10("pj", "2"),
                                        "pj30", "pj31" };
    static const char *const xsi[32] = { "xsi", "xsi1", "xsi2", "xsi3", "xsi4", "xsi5", "xsi6",
                                         "xsi7", "xsi8", "xsi9", P10("xsi", "1"),
                                         P10("xsi", "2"), "xsi30", "xsi31" };
#undef P10
    return strcmp(base, "pj") == 0 ? pj[i & 31] : xsi[i & 31];
}

/* ---- path lookups -------------------------------------------------------------------------- */

static int
key_is(const char *k, const char *key, size_t n)
{
    return strncmp(k, key, n) == 0 && k[n] == '\0';
}

/* The flags of member key[0..n) under trie node t (NULL: off the configured paths), and the
 * member's own trie node in *kid. */
unsigned
tf_xj_key_flags(const struct tf_xj *c, const struct tf_xj_path *t, const char *key, size_t n,
          const struct tf_xj_path **kid)
{
    const struct tf_xj_path *k = NULL;
    unsigned f = 0;

    for (size_t i = 0; t != NULL && i < t->nkids && k == NULL; i++)
        if (key_is(t->kids[i].key, key, n))
            k = &t->kids[i];
    if (k != NULL)
        f = k->flags;
    for (size_t i = 0; i < c->nnames; i++)
        if (key_is(c->names[i].key, key, n))
            f |= c->names[i].flags;
    if (kid != NULL)
        *kid = k;
    return f;
}

