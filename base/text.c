/* text.c: see text.h. */
#include "text.h"

#include <stdint.h>
#include <string.h>

int
gw_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char hex_digits[] = "0123456789abcdef";

void
gw_hex_encode(char *out, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[d[i] >> 4];
        out[2 * i + 1] = hex_digits[d[i] & 15];
    }
}

int
gw_hex_decode(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = gw_hexval(s[2 * i]), lo = hi < 0 ? -1 : gw_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

size_t
gw_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t
gw_utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xC2 && s[0] <= 0xDF   ? 1
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 2
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 3
                                              : 0;
    uint32_t c = s[0] & (0x3F >> k);

    if (k == 0 || k >= n)
        return 0;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if ((k == 2 && c < 0x800) || (k == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return k + 1;
}

void
gw_text_one_line(char *s)
{
    size_t n = strlen(s), k;

    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            s[i++] = ' ';
        else if (c < 0x80)
            i++;
        else if ((k = gw_utf8_len((const unsigned char *)s + i, n - i)) > 0)
            i += k;
        else
            s[i++] = '?';
    }
}

/* What a byte becomes in a JSON string: 0 as is, 'u' \u00xx, else the letter after '\'. */
static const char json_esc[256] = {
    ['\0'] = 'u', [1] = 'u',    [2] = 'u',    [3] = 'u',     [4] = 'u',    [5] = 'u',
    [6] = 'u',    [7] = 'u',    ['\b'] = 'b', ['\t'] = 't',  ['\n'] = 'n', [11] = 'u',
    ['\f'] = 'f', ['\r'] = 'r', [14] = 'u',   [15] = 'u',    [16] = 'u',   [17] = 'u',
    [18] = 'u',   [19] = 'u',   [20] = 'u',   [21] = 'u',    [22] = 'u',   [23] = 'u',
    [24] = 'u',   [25] = 'u',   [26] = 'u',   [27] = 'u',    [28] = 'u',   [29] = 'u',
    [30] = 'u',   [31] = 'u',   ['"'] = '"',  ['\\'] = '\\',
};

size_t
gw_json_escape(char *out, size_t room, const char *s, size_t n, unsigned flags, size_t *used,
               size_t *need)
{
    const unsigned char *u = (const unsigned char *)s;
    int fix = (flags & GW_JSON_FIX_UTF8) != 0;
    size_t i = 0, o = 0;

    *need = 0;
    while (i < n) {
        size_t run = i, k;

        /* a run of bytes written as they are goes out in one copy */
        while (i < n) {
            if (u[i] >= 0x80 && fix) {
                if ((k = gw_utf8_len(u + i, n - i)) == 0)
                    break;
                i += k;
            } else if (json_esc[u[i]] == 0) {
                i++;
            } else {
                break;
            }
        }
        if (i - run > room - o) {
            size_t cut = run + (room - o);
            while (fix && cut > run && (u[cut] & 0xC0) == 0x80)
                cut--; /* whole characters only */
            memcpy(out + o, s + run, cut - run);
            *used = cut;
            *need = fix && u[cut] >= 0x80 ? gw_utf8_len(u + cut, n - cut) : 1;
            return o + (cut - run);
        }
        memcpy(out + o, s + run, i - run);
        o += i - run;
        if (i == n)
            break;
        /* u[i] is escaped or, not being UTF-8, written U+FFFD */
        char e[6] = {'\\', json_esc[u[i]], '0', '0', hex_digits[u[i] >> 4], hex_digits[u[i] & 15]};
        k = u[i] >= 0x80 ? 3 : json_esc[u[i]] == 'u' ? 6 : 2;
        if (u[i] >= 0x80)
            memcpy(e, "\xEF\xBF\xBD", 3);
        if (k > room - o) {
            *used = i;
            *need = k;
            return o;
        }
        memcpy(out + o, e, k);
        o += k;
        i++;
    }
    *used = n;
    return o;
}

void
gw_json_chars(struct gw_buf *b, const char *s, size_t n, unsigned flags)
{
    size_t used, need = 1;

    while (n > 0 && gw_buf_reserve(b, need) == 0) {
        b->len += gw_json_escape(b->p + b->len, b->cap - b->len, s, n, flags, &used, &need);
        if (need == 0)
            return;
        s += used;
        n -= used;
    }
}

void
gw_json_str(struct gw_buf *b, const char *s, size_t n, unsigned flags)
{
    gw_buf_addc(b, '"');
    gw_json_chars(b, s, n, flags);
    gw_buf_addc(b, '"');
}

void
gw_line_json(struct gw_line *l, const char *s, size_t len, size_t max, unsigned flags)
{
    size_t room = l->end - l->n, used, need;

    l->n += gw_json_escape(l->p + l->n, room < max ? room : max, s, len, flags, &used, &need);
}

void
gw_line_json_member(struct gw_line *l, const char *key, const char *s, size_t len, size_t max)
{
    if (s == NULL)
        return;
    gw_line_put(l, ",\"", 2);
    gw_line_put(l, key, strlen(key));
    gw_line_put(l, "\":\"", 3);
    gw_line_json(l, s, len, max, GW_JSON_FIX_UTF8);
    gw_line_put(l, "\"", 1);
}

int
gw_json_number_ok(const char *s, size_t n)
{
    size_t i = 0, d;

    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9';)
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9';)
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

size_t
gw_str_hash(const char *s)
{
    size_t h = 5381;

    while (*s)
        h = h * 33 ^ (unsigned char)*s++;
    return h;
}

/* ---- base64 ------------------------------------------------------------------------------------ */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
gw_base64_encode(char *out, const unsigned char *in, size_t n, int url)
{
    const char *a = url ? b64_url : b64_std;
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        else if (!url)
            out[o++] = '=';
        if (!url)
            out[o++] = '=';
    }
    return o;
}

static int
b64_val(int c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long
gw_base64_decode(const char *in, size_t n, unsigned char *out, int url)
{
    size_t o = 0;
    uint32_t v = 0;
    unsigned bits = 0;

    if (!url) {
        if (n % 4 != 0)
            return -1;
        for (int pad = 0; pad < 2 && n > 0 && in[n - 1] == '='; pad++)
            n--;
    } else if (n % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int d = b64_val((unsigned char)in[i], url);
        if (d < 0)
            return -1;
        v = (v << 6 | (uint32_t)d) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
        return -1; /* a last character with bits that encode nothing */
    return (long)o;
}
