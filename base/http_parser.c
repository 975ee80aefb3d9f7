/* http_parser.c: the strict HTTP/1.1 head parser and chunked-body decoder (contract in
 * http_parser.h).
 *
 * A head is handled in two steps. scan_head() looks for the blank line that ends it, LF by LF (16
 * bytes per step with SSE2, memchr for the rest), checking on the way that every LF follows a CR,
 * so a bare LF is refused as soon as it arrives, and remembering in gw_http_parser.scanned where it
 * stopped, so that a head arriving in many pieces is searched once. When the head is complete, the
 * start line and the fields are parsed in a single pass, with a class table per byte and SSE2 for
 * the long runs (target, values). That pass relies on what the scan proved: the head ends in
 * CR LF CR LF, so every loop that stops at a byte outside its class stops at a CR at the latest
 * and needs no length check. Nothing is copied or allocated: the message points into the input.
 *
 * A request head that is still incomplete is checked as it arrives (check_partial), each byte
 * once, so that one that can no longer become valid is answered at once rather than at the header
 * timeout; the answer is the one the whole head would get, however its bytes were cut. Heads that
 * arrive whole never pay for this.
 *
 * The chunked decoder is in http_chunked.c; both read bytes through the class table of
 * http_chars.h, defined here.
 */
#include "http_parser.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http_chars.h"

/* The byte classes (http_chars.h). */
const unsigned char gw_http_cls[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x64, 0x57, 0x06, 0x47, 0x57, 0x57, 0x57, 0x57, 0x56, 0x56, 0x57, 0x57, 0x56, 0x57, 0x57, 0x46,
    0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0xdf, 0x46, 0x56, 0x46, 0x56, 0x46, 0x46,
    0x46, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57,
    0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x46, 0x06, 0x46, 0x47, 0x57,
    0x47, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57,
    0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x46, 0x47, 0x46, 0x57, 0x00,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
};

/* What the parser learnt from the fields of one head, before deciding the body framing. */
struct facts {
    uint64_t cl;             /* the Content-Length value, when ncl > 0 */
    unsigned ncl;            /* Content-Length values seen (fields and list elements) */
    unsigned nhost;          /* Host fields seen */
    unsigned te_codings;     /* transfer codings listed over every Transfer-Encoding field */
    unsigned te_chunked : 1; /* the last coding listed so far is chunked */
    unsigned conn_close : 1; /* a Connection field lists "close" */
    unsigned conn_keep : 1;  /* a Connection field lists "keep-alive" */
};

static const char *const method_names[] = {
    [GW_METHOD_OTHER] = "OTHER",     [GW_METHOD_GET] = "GET",         [GW_METHOD_HEAD] = "HEAD",
    [GW_METHOD_POST] = "POST",       [GW_METHOD_PUT] = "PUT",         [GW_METHOD_DELETE] = "DELETE",
    [GW_METHOD_PATCH] = "PATCH",     [GW_METHOD_OPTIONS] = "OPTIONS", [GW_METHOD_TRACE] = "TRACE",
    [GW_METHOD_CONNECT] = "CONNECT",
};

/* The two long runs of a head, the request target and the field values, are skipped 16 bytes at
 * a time with SSE2 (every x86-64 has it): signed byte compares find the first byte that ends the
 * run exactly. Elsewhere, and for the last few bytes, the class table does it one byte at a time.
 */
#if defined(__SSE2__)
static inline unsigned
first_bad16(const char *p, int vchar_only)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i bad;

    if (vchar_only) /* below 0x21, or >= 0x80 (negative as signed), or DEL */
        bad = _mm_cmplt_epi8(v, _mm_set1_epi8(0x21));
    else /* a control byte other than HTAB, or DEL; obs-text (negative) is fine */
        bad = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                            _mm_cmplt_epi8(v, _mm_setzero_si128())),
                               _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
    return (unsigned)_mm_movemask_epi8(bad);
}
#endif

/* Skip bytes of class k (C_VCHAR or C_FVAL) from i; the run is known to end before `end`. */
static inline size_t
skip_run(const char *buf, size_t i, size_t end, unsigned char k)
{
#if defined(__SSE2__)
    unsigned m;

    for (; end - i >= 16; i += 16) {
        m = first_bad16(buf + i, k == C_VCHAR);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
#else
    (void)end;
#endif
    while (IS(buf[i], k))
        i++;
    return i;
}

/* Visible ASCII that RFC 3986 does not allow unencoded in a path or query: '#' starts a fragment,
 * which a client never sends, and the rest are what parsers disagree on. '[' and ']' are kept: query
 * strings use them unencoded (a[]=1) and no parser takes them for a delimiter there. */
#define BIT(c) (1ULL << ((unsigned)(c)&63))
static const uint64_t target_bad[2] = {
    BIT('"') | BIT('#') | BIT('<') | BIT('>'),
    BIT('\\') | BIT('^') | BIT('`') | BIT('{') | BIT('|') | BIT('}'),
};
#undef BIT

/* 1 if the visible-ASCII target t[0..len) holds none of those. */
static int
target_chars_ok(const char *t, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)t[k];
        if ((target_bad[c >> 6] >> (c & 63)) & 1)
            return 0;
    }
    return 1;
}

static size_t
skip_ows(const char *s, size_t i, size_t len)
{
    while (i < len && IS(s[i], C_OWS))
        i++;
    return i;
}

/* Forget any progress: the next call starts a new head. */
void
gw_http_parser_init(struct gw_http_parser *p)
{
    p->scanned = 0;
    p->checked = 0;
    p->fields = 0;
    p->line_valid = 0;
}

/* The method's name, "OTHER" for GW_METHOD_OTHER or a value out of range; never NULL. */
const char *
gw_http_method_name(enum gw_http_method m)
{
    if ((unsigned)m >= sizeof(method_names) / sizeof(method_names[0]))
        return "OTHER";
    return method_names[m];
}

/* The enum for an exact, case-sensitive method token; GW_METHOD_OTHER otherwise. Methods are
 * case-sensitive (RFC 9110 9.1): "get" is some other method. GET comes first in the table. */
enum gw_http_method
gw_http_method_from(const char *s, size_t len)
{
    for (int m = GW_METHOD_GET; m <= GW_METHOD_CONNECT; m++)
        if (strncmp(method_names[m], s, len) == 0 && method_names[m][len] == '\0')
            return (enum gw_http_method)m;
    return GW_METHOD_OTHER;
}

/* ---- finding the end of the head ---------------------------------------------------------- */

/* What the LF at buf[i] means: GW_HTTP_AGAIN (go on), GW_HTTP_OK (it ends the head) or
 * GW_HTTP_E_BAD. It must follow a CR. A blank line ends the head only if the line before it is not
 * blank: blank lines before the start line are the tolerated leading CRLFs (requests only; a
 * response must start at once), and by induction a blank line after a blank line is one of them. */
static inline int
at_lf(const char *buf, size_t i, int request)
{
    if (i == 0 || buf[i - 1] != '\r')
        return GW_HTTP_E_BAD;
    if (i == 1 || buf[i - 2] == '\n') {
        if (i > 3 && buf[i - 4] != '\n')
            return GW_HTTP_OK;
        if (!request)
            return GW_HTTP_E_BAD;
    }
    return GW_HTTP_AGAIN;
}

/* Look for the blank line that ends the head, resuming at p->scanned, checking each LF on the way.
 * Returns GW_HTTP_OK with *head_len, GW_HTTP_AGAIN, GW_HTTP_E_BAD or GW_HTTP_E_HEAD_TOO_BIG (no end
 * within the first max bytes, once len reaches max: the head can no longer fit). On GW_HTTP_OK,
 * scanned stays on the final LF so that another call finds the same end. */
static int
scan_head(struct gw_http_parser *p, const char *buf, size_t len, size_t max, int request,
          size_t *head_len)
{
    size_t lim = len < max ? len : max;
    size_t i = p->scanned <= lim ? p->scanned : 0;
    const char *lf = NULL;
    int rc = GW_HTTP_AGAIN;

#if defined(__SSE2__)
    for (; lim - i >= 16 && rc == GW_HTTP_AGAIN; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));

        for (; m != 0 && rc == GW_HTTP_AGAIN; m &= m - 1) {
            lf = buf + i + __builtin_ctz(m);
            rc = at_lf(buf, (size_t)(lf - buf), request);
        }
    }
#endif
    for (; rc == GW_HTTP_AGAIN && i < lim && (lf = memchr(buf + i, '\n', lim - i)) != NULL;
         i = (size_t)(lf - buf) + 1)
        rc = at_lf(buf, (size_t)(lf - buf), request);
    if (rc == GW_HTTP_OK) {
        p->scanned = (size_t)(lf - buf);
        *head_len = p->scanned + 1;
        return rc;
    }
    if (rc != GW_HTTP_AGAIN) {
        p->scanned = (size_t)(lf - buf); /* the bare LF, or the blank line a response began with */
        return rc;
    }
    p->scanned = lim;
    return len >= max ? GW_HTTP_E_HEAD_TOO_BIG : GW_HTTP_AGAIN;
}

/* ---- start lines --------------------------------------------------------------------------- */

/* "HTTP/" DIGIT "." DIGIT at s[0..8): GW_HTTP_E_BAD if not that shape; else *minor is set and the
 * result says whether the version is one we speak (1.0, 1.1) or GW_HTTP_E_VERSION. The caller
 * checks what follows first, so that "HTTP/2.00" is malformed rather than unsupported. */
static int
parse_version(const char *s, int *minor)
{
    if (memcmp(s, "HTTP/", 5) != 0 || !IS(s[5], C_DIGIT) || s[6] != '.' || !IS(s[7], C_DIGIT))
        return GW_HTTP_E_BAD;
    *minor = s[7] - '0';
    return (s[5] == '1' && (s[7] == '0' || s[7] == '1')) ? GW_HTTP_OK : GW_HTTP_E_VERSION;
}

/* method SP request-target SP HTTP-version CRLF, starting at *pos; *pos ends after the CRLF. */
static int
parse_request_line(const char *buf, size_t end, const struct gw_http_limits *limits,
                   struct gw_http_message *msg, size_t *pos)
{
    size_t i = *pos, start = i, tlen;
    const char *t, *q;
    int rc;

    while (IS(buf[i], C_TCHAR))
        i++;
    if (i == start || buf[i] != ' ')
        return GW_HTTP_E_BAD;
    msg->method_str = buf + start;
    msg->method_len = i - start;
    msg->method = gw_http_method_from(msg->method_str, msg->method_len);
    if (msg->method == GW_METHOD_CONNECT)
        return GW_HTTP_E_METHOD;

    start = ++i;
    i = skip_run(buf, i, end, C_VCHAR);
    if (i == start || buf[i] != ' ')
        return GW_HTTP_E_BAD;
    t = buf + start;
    tlen = i - start;
    if (tlen > limits->max_target_bytes)
        return GW_HTTP_E_URI_TOO_LONG;
    if (t[0] != '/' && !(tlen == 1 && t[0] == '*' && msg->method == GW_METHOD_OPTIONS))
        return GW_HTTP_E_BAD; /* absolute-form, authority-form, or '*' for another method */
    if (!target_chars_ok(t, tlen))
        return GW_HTTP_E_BAD;

    i++;
    if (end - i < 10 || buf[i + 8] != '\r' || buf[i + 9] != '\n')
        return GW_HTTP_E_BAD;
    rc = parse_version(buf + i, &msg->version_minor);
    if (rc != GW_HTTP_OK)
        return rc;

    msg->target = t;
    msg->target_len = tlen;
    q = memchr(t, '?', tlen);
    msg->path = t;
    msg->path_len = q ? (size_t)(q - t) : tlen;
    msg->query = q ? q + 1 : NULL;
    msg->query_len = q ? tlen - msg->path_len - 1 : 0;
    *pos = i + 10;
    return GW_HTTP_OK;
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] CRLF at *pos; *pos ends after the CRLF. */
static int
parse_status_line(const char *buf, size_t end, struct gw_http_message *msg, size_t *pos)
{
    size_t i = *pos, r;
    int rc;

    if (end - i < 14 || buf[i + 8] != ' ' || !IS(buf[i + 9], C_DIGIT) ||
        !IS(buf[i + 10], C_DIGIT) || !IS(buf[i + 11], C_DIGIT))
        return GW_HTTP_E_BAD;
    r = i + 12;
    if (buf[r] == ' ') {
        r++;
        i = r;
        while (IS(buf[i], C_FVAL))
            i++;
    } else {
        i = r;
    }
    if (buf[i] != '\r' || buf[i + 1] != '\n')
        return GW_HTTP_E_BAD;
    rc = parse_version(buf + *pos, &msg->version_minor);
    if (rc != GW_HTTP_OK)
        return rc;
    msg->status = (buf[*pos + 9] - '0') * 100 + (buf[*pos + 10] - '0') * 10 + buf[*pos + 11] - '0';
    if (msg->status < 100 || msg->status > 599)
        return GW_HTTP_E_BAD;
    msg->reason = buf + r;
    msg->reason_len = i - r;
    *pos = i + 2;
    return GW_HTTP_OK;
}

/* ---- the fields that decide framing and routing --------------------------------------------- */

/* After an element of a list field: the end of the value (0), a comma and the next element's
 * start in *i (1), or anything else (-1). */
static inline int
list_next(const char *v, size_t len, size_t *i)
{
    *i = skip_ows(v, *i, len);
    if (*i == len)
        return 0;
    if (v[*i] != ',')
        return -1;
    *i = skip_ows(v, *i + 1, len);
    return 1;
}

/* Content-Length: 1*DIGIT, or a list of them that all hold the same number (RFC 9110 8.6), the
 * same number as any earlier Content-Length field too. */
static int
field_content_length(const char *v, size_t len, struct facts *f)
{
    size_t i = 0;
    uint64_t n;
    unsigned d;
    int r;

    for (;;) {
        if (i == len || !IS(v[i], C_DIGIT))
            return GW_HTTP_E_BAD;
        n = 0;
        while (i < len && IS(v[i], C_DIGIT)) {
            d = (unsigned)(v[i++] - '0');
            if (n > (UINT64_MAX - d) / 10)
                return GW_HTTP_E_BAD;
            n = n * 10 + d;
        }
        if (f->ncl > 0 && n != f->cl)
            return GW_HTTP_E_BAD;
        f->cl = n;
        f->ncl++;
        if ((r = list_next(v, len, &i)) <= 0)
            return r == 0 ? GW_HTTP_OK : GW_HTTP_E_BAD;
    }
}

/* Transfer-Encoding: a list of tokens, read in order across fields. Chunked anywhere but last is
 * an error at once (applied twice, or something after it); the rest is decided with the framing,
 * once every field is known. */
static int
field_transfer_encoding(const char *v, size_t len, struct facts *f)
{
    size_t i = 0, s;
    int r;

    for (;;) {
        s = i;
        while (i < len && IS(v[i], C_TCHAR))
            i++;
        if (i == s || f->te_chunked)
            return GW_HTTP_E_BAD;
        f->te_chunked = gw_http_token_eq(v + s, i - s, "chunked");
        f->te_codings++;
        if ((r = list_next(v, len, &i)) <= 0)
            return r == 0 ? GW_HTTP_OK : GW_HTTP_E_BAD;
    }
}

/* uri-host [":" port] (RFC 3986): a non-empty reg-name with valid %HH escapes or an IP literal in
 * brackets, then an optional port of digits. No space, '/', '@' or anything else gets through. */
static int
valid_host(const char *v, size_t len)
{
    size_t i = 0;

    if (len == 0)
        return 0;
    if (v[0] == '[') {
        for (i = 1; i < len && ((IS(v[i], C_HOST) && v[i] != '%') || v[i] == ':'); i++)
            ;
        if (i == 1 || i == len || v[i] != ']')
            return 0;
        i++;
    } else {
        while (i < len && IS(v[i], C_HOST)) {
            if (v[i] == '%' && (len - i < 3 || !IS(v[i + 1], C_HEX) || !IS(v[i + 2], C_HEX)))
                return 0;
            i += v[i] == '%' ? 3 : 1;
        }
        if (i == 0)
            return 0;
    }
    if (i == len)
        return 1;
    if (v[i] != ':')
        return 0;
    for (i++; i < len; i++)
        if (!IS(v[i], C_DIGIT))
            return 0;
    return 1;
}

/* Act on one field whose name matters to the parser; dispatch on the name length first. */
static int
field_meaning(const struct gw_http_header *h, int request, struct gw_http_message *msg,
              struct facts *f)
{
    switch (h->name_len) {
    case 4:
        if (!request || !gw_http_token_eq(h->name, 4, "host"))
            break;
        if (++f->nhost > 1 || !valid_host(h->value, h->value_len))
            return GW_HTTP_E_BAD;
        msg->host = h->value;
        msg->host_len = h->value_len;
        break;
    case 6:
        if (!request || !gw_http_token_eq(h->name, 6, "expect"))
            break;
        if (gw_http_token_eq(h->value, h->value_len, "100-continue"))
            msg->expect_continue = 1;
        else
            msg->expect_other = 1;
        break;
    case 10:
        if (!gw_http_token_eq(h->name, 10, "connection"))
            break;
        if (gw_http_list_has(h->value, h->value_len, "close"))
            f->conn_close = 1;
        if (gw_http_list_has(h->value, h->value_len, "keep-alive"))
            f->conn_keep = 1;
        break;
    case 14:
        if (gw_http_token_eq(h->name, 14, "content-length"))
            return field_content_length(h->value, h->value_len, f);
        break;
    case 17:
        if (gw_http_token_eq(h->name, 17, "transfer-encoding"))
            return field_transfer_encoding(h->value, h->value_len, f);
        break;
    default:
        break;
    }
    return GW_HTTP_OK;
}

/* A request field named with '_': GW_HTTP_OK to keep it, GW_HTTP_AGAIN to leave it out,
 * GW_HTTP_E_BAD to refuse the request (http_parser.h, enum gw_http_underscores). */
static int
underscored_field(const char *n, size_t len, enum gw_http_underscores mode)
{
    if (mode == GW_UNDERSCORES_REFUSE || gw_http_guarded_name(n, len))
        return GW_HTTP_E_BAD;
    return mode == GW_UNDERSCORES_PASS ? GW_HTTP_OK : GW_HTTP_AGAIN;
}

/* Header lines from pos up to the final CRLF at end - 2: name ":" OWS value OWS CRLF. */
static int
parse_fields(const char *buf, size_t pos, size_t end, const struct gw_http_limits *limits,
             int request, struct gw_http_message *msg, struct facts *f)
{
    size_t last = end - 2, i = pos, name, vs, ve;
    size_t max =
        limits->max_headers < GW_HTTP_MAX_HEADERS ? limits->max_headers : GW_HTTP_MAX_HEADERS;
    struct gw_http_header *h;
    int rc;

    while (i < last) {
        unsigned underscore = 0;

        name = i;
        while (IS(buf[i], C_TCHAR))
            underscore |= buf[i++] == '_';
        /* also refuses an empty name, SP or HTAB before the colon and obsolete line folding */
        if (i == name || buf[i] != ':')
            return GW_HTTP_E_BAD;
        vs = skip_ows(buf, i + 1, last);
        ve = skip_run(buf, vs, last, C_FVAL);
        if (buf[ve] != '\r' || buf[ve + 1] != '\n')
            return GW_HTTP_E_BAD; /* a CTL, NUL or bare CR in the value */
        if (underscore && request) {
            rc = underscored_field(buf + name, i - name, limits->underscores);
            if (rc != GW_HTTP_OK) {
                i = ve + 2;
                if (rc == GW_HTTP_AGAIN)
                    continue; /* dropped */
                return rc;
            }
        }
        if (msg->nheaders == max)
            return GW_HTTP_E_TOO_MANY;
        h = &msg->headers[msg->nheaders++];
        h->name = buf + name;
        h->name_len = i - name;
        i = ve + 2;
        while (ve > vs && IS(buf[ve - 1], C_OWS))
            ve--;
        h->value = buf + vs;
        h->value_len = ve - vs;
        rc = field_meaning(h, request, msg, f);
        if (rc != GW_HTTP_OK)
            return rc;
    }
    return GW_HTTP_OK;
}

/* Transfer-Encoding rules shared by requests and responses. */
static int
check_transfer_encoding(const struct gw_http_message *msg, const struct facts *f)
{
    if (f->te_codings == 0)
        return GW_HTTP_OK;
    if (f->ncl > 0 || msg->version_minor == 0 || !f->te_chunked)
        return GW_HTTP_E_BAD;
    return f->te_codings > 1 ? GW_HTTP_E_NOT_IMPL : GW_HTTP_OK;
}

static int
set_length(struct gw_http_message *msg, const struct facts *f, const struct gw_http_limits *limits)
{
    if (limits->max_body_bytes != 0 && f->cl > limits->max_body_bytes)
        return GW_HTTP_E_BODY_TOO_BIG;
    msg->content_length = f->cl;
    msg->body = f->cl > 0 ? GW_BODY_LENGTH : GW_BODY_NONE;
    return GW_HTTP_OK;
}

static void
reset_message(struct gw_http_message *msg)
{
    msg->method = GW_METHOD_OTHER;
    msg->method_str = msg->target = msg->path = msg->query = msg->reason = msg->host = NULL;
    msg->method_len = msg->target_len = msg->path_len = msg->query_len = 0;
    msg->reason_len = msg->host_len = 0;
    msg->status = 0;
    msg->version_minor = 0;
    msg->nheaders = 0;
    msg->body = GW_BODY_NONE;
    msg->content_length = 0;
    msg->keep_alive = 0;
    msg->expect_continue = 0;
    msg->expect_other = 0;
}

/* ---- requests and responses ---------------------------------------------------------------- */

/* The bytes before buf[lf] (an LF, after a CR) hold the request line, or only leading empty lines
 * (1 is returned then). 0 when the line is valid, with *fields set where the field lines start;
 * else the error the whole head would get. */
static int
check_line(const char *buf, size_t lf, const struct gw_http_limits *limits,
           struct gw_http_message *msg, size_t *fields)
{
    size_t pos = 0;
    int rc;

    if (lf == 1 || buf[lf - 2] == '\n')
        return 1; /* an empty line: a request line before it would have been checked */
    while (buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    rc = parse_request_line(buf, lf + 1, limits, msg, &pos);
    *fields = pos;
    return rc;
}

/* buf[bad] makes the head invalid. The answer is the one the whole head would get, so that it does
 * not depend on how the bytes were cut: that of the request line when it is not yet complete (the
 * bad byte ends every run the line's parser reads), else that of the first complete field line in
 * error (a repeated Content-Length, too many fields...), else GW_HTTP_E_BAD for the line that holds
 * the bad byte. */
static int
refusal(const struct gw_http_parser *p, const char *buf, size_t bad,
        const struct gw_http_limits *limits, struct gw_http_message *msg)
{
    struct facts f = {0};
    const char *lf = memrchr(buf, '\n', bad);
    size_t pos = 0, line = lf != NULL ? (size_t)(lf - buf) + 1 : 0;
    int rc;

    if (!p->line_valid) {
        while (buf[pos] == '\r' && buf[pos + 1] == '\n')
            pos += 2;
        rc = parse_request_line(buf, bad + 1, limits, msg, &pos);
        return rc != GW_HTTP_OK ? rc : GW_HTTP_E_BAD;
    }
    msg->nheaders = 0;
    if (line > p->fields && (rc = parse_fields(buf, p->fields, line + 2, limits, 1, msg, &f)) < 0)
        return rc;
    return GW_HTTP_E_BAD;
}

/* Check buf[p->checked..len) of a request head that is not complete (every LF in it follows a CR:
 * scan_head saw to that): GW_HTTP_AGAIN while the bytes can still begin a valid head, else the
 * error (http_parser.h). Each byte is looked at once; a CR that is the last byte is looked at again
 * with the byte after it. Only heads that arrive in pieces, or are refused, pay for this. */
static int
check_partial(struct gw_http_parser *p, const char *buf, size_t len,
              const struct gw_http_limits *limits, struct gw_http_message *msg)
{
    size_t i;
    int rc;

    for (i = p->checked; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c > 0x20 && c != 0x7f)
            continue;
        if (c == '\r') {
            if (i + 1 == len)
                break;
            if (buf[i + 1] == '\n')
                continue;
        } else if (c == '\n') {
            if (p->line_valid || (rc = check_line(buf, i, limits, msg, &p->fields)) == 1)
                continue;
            if (rc < 0)
                return rc;
            p->line_valid = 1;
            continue;
        } else if ((c == ' ' || c == '\t') && i > 0 && buf[i - 1] != '\n') {
            continue; /* white space, but not at the start of a line (obsolete folding) */
        }
        return refusal(p, buf, i, limits, msg);
    }
    p->checked = i;
    return GW_HTTP_AGAIN;
}

/* Parse a request head; see http_parser.h for the rules and codes. msg is written only once the
 * head is complete (not on GW_HTTP_AGAIN). */
int
gw_http_parse_request(struct gw_http_parser *p, const char *buf, size_t len,
                      const struct gw_http_limits *limits, struct gw_http_message *msg,
                      size_t *head_len)
{
    struct facts f = {0};
    size_t end, pos = 0;
    int rc;

    rc = scan_head(p, buf, len, limits->max_head_bytes, 1, &end);
    if (rc != GW_HTTP_OK) {
        /* not complete, or refused at a bare LF (scanned is where) or at the size limit: what
         * came before decides first, so that the answer is the same however the bytes are cut */
        size_t upto = rc == GW_HTTP_E_BAD ? p->scanned : (len < limits->max_head_bytes ? len
                                                          : limits->max_head_bytes);
        int early = check_partial(p, buf, upto, limits, msg);

        return early != GW_HTTP_AGAIN ? early : rc;
    }
    while (buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    reset_message(msg);
    rc = parse_request_line(buf, end, limits, msg, &pos);
    if (rc == GW_HTTP_OK)
        rc = parse_fields(buf, pos, end, limits, 1, msg, &f);
    if (rc != GW_HTTP_OK)
        return rc;

    if (f.nhost == 0 && msg->version_minor == 1)
        return GW_HTTP_E_BAD;
    rc = check_transfer_encoding(msg, &f);
    if (rc != GW_HTTP_OK)
        return rc;
    if (f.te_codings > 0)
        msg->body = GW_BODY_CHUNKED;
    else if (f.ncl > 0 && (rc = set_length(msg, &f, limits)) != GW_HTTP_OK)
        return rc;
    if (msg->version_minor == 0)
        msg->expect_continue = 0; /* RFC 9110 10.1.1: ignored in an HTTP/1.0 request */
    msg->keep_alive = !f.conn_close && (msg->version_minor == 1 || f.conn_keep);
    *head_len = end;
    return GW_HTTP_OK;
}

/* Parse a response head to a `request_method` request; see http_parser.h. */
int
gw_http_parse_response(struct gw_http_parser *p, const char *buf, size_t len,
                       const struct gw_http_limits *limits, enum gw_http_method request_method,
                       struct gw_http_message *msg, size_t *head_len)
{
    struct facts f = {0};
    size_t end, pos = 0;
    int rc;

    rc = scan_head(p, buf, len, limits->max_head_bytes, 0, &end);
    if (rc != GW_HTTP_OK)
        return rc;
    reset_message(msg);
    rc = parse_status_line(buf, end, msg, &pos);
    if (rc == GW_HTTP_OK)
        rc = parse_fields(buf, pos, end, limits, 0, msg, &f);
    if (rc == GW_HTTP_OK)
        rc = check_transfer_encoding(msg, &f);
    if (rc != GW_HTTP_OK)
        return rc;

    msg->keep_alive = !f.conn_close && (msg->version_minor == 1 || f.conn_keep);
    if (request_method == GW_METHOD_HEAD || msg->status < 200 || msg->status == 204 ||
        msg->status == 304) {
        msg->content_length = f.cl; /* describes another response; there is no body */
    } else if (f.te_codings > 0) {
        msg->body = GW_BODY_CHUNKED;
    } else if (f.ncl > 0) {
        rc = set_length(msg, &f, limits);
        if (rc != GW_HTTP_OK)
            return rc;
    } else {
        msg->body = GW_BODY_UNTIL_EOF;
        msg->keep_alive = 0;
    }
    *head_len = end;
    return GW_HTTP_OK;
}

void
gw_http_rebase(struct gw_http_message *m, const char *from, const char *to, size_t len)
{
#define REBASE(p)                                                                                  \
    do {                                                                                           \
        if ((p) != NULL && (p) >= from && (p) <= from + len)                                       \
            (p) = to + ((p)-from);                                                                 \
    } while (0)
    REBASE(m->method_str);
    REBASE(m->target);
    REBASE(m->path);
    REBASE(m->query);
    REBASE(m->reason);
    REBASE(m->host);
    for (size_t i = 0; i < m->nheaders; i++) {
        REBASE(m->headers[i].name);
        REBASE(m->headers[i].value);
    }
#undef REBASE
}
