/* fuzz_http_parser.c: libFuzzer target for the HTTP/1.1 head parser and the chunked decoder.
 *
 * Each input is parsed as a request and as a response with small limits; the bytes after the head
 * (or the whole input when there is no head) go to the chunked decoder in pieces of pseudo-random
 * sizes. Beyond the sanitizers, it checks what must always hold and abort()s otherwise: results
 * are known codes, head_len <= len, every pointer lies inside the head, counts within the limits,
 * values trimmed and free of CR/LF/NUL, and feeding in pieces gives the same answer as feeding at
 * once, for the head parser and for the decoder alike.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_parser.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const struct gw_http_limits limits = {
    .max_head_bytes = 1024,
    .max_headers = 16,
    .max_target_bytes = 128,
    .max_body_bytes = 4096,
};

static struct gw_http_message msg, msg2;
static char payload1[1 << 16], payload2[1 << 16];

/* xorshift64: piece sizes that depend only on the input, so a crash replays. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t
seed_from(const uint8_t *data, size_t size)
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    size_t i;

    for (i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3u;
    return h ? h : 1;
}

static int
inside(const char *p, size_t len, const char *base, size_t blen)
{
    return p != NULL && (uintptr_t)p >= (uintptr_t)base &&
           (uintptr_t)p + len <= (uintptr_t)base + blen;
}

static int
known_code(int rc)
{
    switch (rc) {
    case GW_HTTP_OK:
    case GW_HTTP_AGAIN:
    case GW_HTTP_E_BAD:
    case GW_HTTP_E_HEAD_TOO_BIG:
    case GW_HTTP_E_TOO_MANY:
    case GW_HTTP_E_BODY_TOO_BIG:
    case GW_HTTP_E_URI_TOO_LONG:
    case GW_HTTP_E_NOT_IMPL:
    case GW_HTTP_E_VERSION:
    case GW_HTTP_E_METHOD:
        return 1;
    default:
        return 0;
    }
}

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* What holds for any head the parser accepted. */
static void
check_message(const struct gw_http_message *m, const char *buf, size_t len, size_t head_len)
{
    size_t i, k;

    CHECK(head_len >= 4 && head_len <= len && head_len <= limits.max_head_bytes);
    CHECK(memcmp(buf + head_len - 4, "\r\n\r\n", 4) == 0);
    CHECK(m->version_minor == 0 || m->version_minor == 1);
    CHECK(m->nheaders <= limits.max_headers);
    for (i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *h = &m->headers[i];

        CHECK(h->name_len > 0 && inside(h->name, h->name_len, buf, head_len));
        CHECK(h->value != NULL && inside(h->value, h->value_len, buf, head_len));
        CHECK(memchr(h->name, ':', h->name_len) == NULL);
        for (k = 0; k < h->value_len; k++)
            CHECK(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
        CHECK(h->value_len == 0 || (!is_ows(h->value[0]) && !is_ows(h->value[h->value_len - 1])));
        CHECK(gw_http_find_header(m, "") == NULL);
    }
    switch (m->body) {
    case GW_BODY_NONE:
        break;
    case GW_BODY_LENGTH:
        CHECK(m->content_length > 0 && m->content_length <= limits.max_body_bytes);
        CHECK(gw_http_find_header(m, "transfer-encoding") == NULL);
        break;
    case GW_BODY_CHUNKED:
        CHECK(gw_http_find_header(m, "content-length") == NULL);
        CHECK(m->version_minor == 1);
        break;
    case GW_BODY_UNTIL_EOF:
        CHECK(!m->keep_alive && m->method_str == NULL);
        break;
    default:
        abort();
    }
}

static void
check_request(const struct gw_http_message *m, const char *buf, size_t head_len)
{
    const struct gw_http_header *host = gw_http_find_header(m, "host");

    CHECK(m->method != GW_METHOD_CONNECT && m->method_len > 0);
    CHECK(inside(m->method_str, m->method_len, buf, head_len));
    CHECK(m->method == gw_http_method_from(m->method_str, m->method_len));
    CHECK(m->target_len > 0 && m->target_len <= limits.max_target_bytes);
    CHECK(inside(m->target, m->target_len, buf, head_len));
    CHECK(m->target[0] == '/' || (m->target_len == 1 && m->method == GW_METHOD_OPTIONS));
    CHECK(m->path == m->target && m->path_len <= m->target_len);
    CHECK(m->query == NULL || (m->query == m->path + m->path_len + 1 &&
                               m->path_len + 1 + m->query_len == m->target_len));
    CHECK(memchr(m->target, ' ', m->target_len) == NULL);
    CHECK(m->body != GW_BODY_UNTIL_EOF);
    if (m->version_minor == 1)
        CHECK(m->host != NULL);
    CHECK((m->host == NULL) == (host == NULL));
    if (host != NULL)
        CHECK(m->host == host->value && m->host_len == host->value_len && m->host_len > 0);
}

/* Parse the head in one piece, then again with the bytes arriving one at a time (on the input
 * itself) and in a few growing pieces (exact-size copies, so a read past len is caught); all three
 * must agree. Returns the one-piece result. */
static int
request(const char *buf, size_t len, uint64_t *rnd, size_t *head_len)
{
    struct gw_http_parser p;
    size_t hl = 0, hl2 = 0, n;
    int rc, rc2 = GW_HTTP_AGAIN;

    gw_http_parser_init(&p);
    rc = gw_http_parse_request(&p, buf, len, &limits, &msg, &hl);
    CHECK(known_code(rc));
    CHECK(rc != GW_HTTP_AGAIN || len < limits.max_head_bytes);
    if (rc == GW_HTTP_OK) {
        check_message(&msg, buf, len, hl);
        check_request(&msg, buf, hl);
    }

    gw_http_parser_init(&p);
    for (n = 1; n <= len && rc2 == GW_HTTP_AGAIN; n++)
        rc2 = gw_http_parse_request(&p, buf, n, &limits, &msg2, &hl2);
    CHECK(rc2 == rc);
    CHECK(rc != GW_HTTP_OK || (hl2 == hl && n - 1 == hl && msg2.nheaders == msg.nheaders));

    gw_http_parser_init(&p);
    rc2 = GW_HTTP_AGAIN;
    for (n = 0; n < len && rc2 == GW_HTTP_AGAIN;) {
        char *piece;

        n += 1 + (size_t)(next_rand(rnd) % 64);
        n = n < len ? n : len;
        piece = malloc(n);
        CHECK(piece != NULL);
        memcpy(piece, buf, n);
        rc2 = gw_http_parse_request(&p, piece, n, &limits, &msg2, &hl2);
        free(piece);
    }
    CHECK(len == 0 || rc2 == rc);
    CHECK(rc != GW_HTTP_OK || hl2 == hl);
    *head_len = hl;
    return rc;
}

static void
response(const char *buf, size_t len, enum gw_http_method method)
{
    struct gw_http_parser p;
    size_t hl = 0, hl2 = 0, n;
    int rc, rc2 = GW_HTTP_AGAIN;

    gw_http_parser_init(&p);
    rc = gw_http_parse_response(&p, buf, len, &limits, method, &msg, &hl);
    CHECK(known_code(rc) && rc != GW_HTTP_E_METHOD && rc != GW_HTTP_E_URI_TOO_LONG);
    if (rc == GW_HTTP_OK) {
        check_message(&msg, buf, len, hl);
        CHECK(msg.status >= 100 && msg.status <= 599);
        CHECK(msg.reason != NULL && inside(msg.reason, msg.reason_len, buf, hl));
        CHECK(msg.host == NULL);
        if (method == GW_METHOD_HEAD || msg.status < 200 || msg.status == 204 || msg.status == 304)
            CHECK(msg.body == GW_BODY_NONE);
    }
    gw_http_parser_init(&p);
    for (n = 1; n <= len && rc2 == GW_HTTP_AGAIN; n++)
        rc2 = gw_http_parse_response(&p, buf, n, &limits, method, &msg2, &hl2);
    CHECK(rc2 == rc);
    CHECK(rc != GW_HTTP_OK || hl2 == hl);
}

/* Decode in pieces of at most `max_piece` bytes (exact-size copies); the payload goes to out.
 * Returns the final code (DONE, AGAIN when the input ran out, or an error). */
static int
dechunk(const char *in, size_t len, size_t max_piece, uint64_t *rnd, uint64_t max_body, char *out,
        size_t *outlen, size_t *used)
{
    struct gw_chunked c;
    size_t off = 0, end, n;
    int rc = GW_HTTP_AGAIN;
    char *piece;

    gw_chunked_init(&c);
    *outlen = 0;
    *used = 0;
    while (off < len) {
        end = off + 1 + (max_piece ? (size_t)(next_rand(rnd) % max_piece) : len);
        end = end < len ? end : len;
        while (off < end) {
            piece = malloc(end - off);
            CHECK(piece != NULL);
            memcpy(piece, in + off, end - off);
            rc = gw_chunked_feed(&c, piece, end - off, max_body, &n);
            free(piece);
            if (rc != GW_CHUNK_DATA && rc != GW_CHUNK_FRAME && rc != GW_CHUNK_DONE) {
                CHECK(rc == GW_HTTP_AGAIN || rc == GW_HTTP_E_BAD || rc == GW_HTTP_E_BODY_TOO_BIG);
                if (rc != GW_HTTP_AGAIN)
                    return rc;
                CHECK(n == end - off);
            }
            CHECK(n <= end - off);
            CHECK(n > 0);
            if (rc == GW_CHUNK_DATA) {
                memcpy(out + *outlen, in + off, n);
                *outlen += n;
            }
            off += n;
            CHECK(c.total == *outlen);
            CHECK(max_body == 0 || c.total <= max_body);
            if (rc == GW_CHUNK_DONE) {
                *used = off;
                CHECK(gw_chunked_feed(&c, "0", 1, max_body, &n) == GW_HTTP_E_BAD);
                return rc;
            }
        }
    }
    return rc;
}

static void
chunked(const char *in, size_t len, uint64_t *rnd)
{
    uint64_t max_body = (*rnd & 1) ? 0 : 512;
    size_t out1, out2, used1, used2;
    int rc1, rc2;

    if (len == 0 || len > sizeof(payload1))
        return;
    rc1 = dechunk(in, len, 0, rnd, max_body, payload1, &out1, &used1);
    rc2 =
        dechunk(in, len, 1 + (size_t)(next_rand(rnd) % 16), rnd, max_body, payload2, &out2, &used2);
    CHECK(rc1 == rc2);
    if (rc1 == GW_CHUNK_DONE || rc1 == GW_HTTP_AGAIN) {
        CHECK(out1 == out2 && memcmp(payload1, payload2, out1) == 0);
        CHECK(used1 == used2);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    uint64_t rnd = seed_from(data, size);
    size_t head_len = 0;

    if (request(buf, size, &rnd, &head_len) == GW_HTTP_OK)
        chunked(buf + head_len, size - head_len, &rnd);
    else
        chunked(buf, size, &rnd);
    response(buf, size, (rnd & 2) ? GW_METHOD_HEAD : GW_METHOD_GET);
    return 0;
}
