/* test_http_parser.c: the strict HTTP/1.1 parser and the chunked decoder, as tables of cases.
 *
 * Every head is parsed from a heap copy of exactly its length (so that a sanitizer build catches a
 * read past the end), once in one piece and once fed a byte at a time, and both must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_chunked.h"
#include "http_parser.h"

/* A string literal with its exact length, NUL bytes included. */
#define RAW(s) .raw = (s), .len = sizeof(s) - 1

#define CHECK(cond, name)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("case \"%s\": %s", (name), #cond);                                            \
    } while (0)

#define CHECK_INT(got, want, name)                                                                 \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_)                                                                              \
            fail_msg("case \"%s\": %s is %lld, expected %lld", (name), #got, g_, w_);              \
    } while (0)

static const struct gw_http_limits limits = {
    .max_head_bytes = 8192,
    .max_headers = 64,
    .max_target_bytes = 2048,
    .max_body_bytes = 1 << 20,
};

/* One heap copy of exactly len bytes. */
static char *
copy(const char *s, size_t len)
{
    char *b = malloc(len ? len : 1);

    assert_non_null(b);
    memcpy(b, s, len);
    return b;
}

static int
span_eq(const char *p, size_t len, const char *want)
{
    if (want == NULL)
        return p == NULL;
    return p != NULL && len == strlen(want) && memcmp(p, want, len) == 0;
}

/* Parse as a request (method < 0) or as the response to `method`. */
static int
parse(const char *buf, size_t len, const struct gw_http_limits *lim, int method,
      struct gw_http_message *m, size_t *head_len, struct gw_http_parser *p)
{
    if (method < 0)
        return gw_http_parse_request(p, buf, len, lim, m, head_len);
    return gw_http_parse_response(p, buf, len, lim, (enum gw_http_method)method, m, head_len);
}

static void
check_same_message(const struct gw_http_message *a, const struct gw_http_message *b,
                   const char *name)
{
    size_t i;

    CHECK(a->method == b->method && a->method_str == b->method_str, name);
    CHECK(a->target == b->target && a->target_len == b->target_len, name);
    CHECK(a->path == b->path && a->query == b->query && a->query_len == b->query_len, name);
    CHECK(a->status == b->status && a->reason == b->reason && a->reason_len == b->reason_len, name);
    CHECK(a->version_minor == b->version_minor && a->nheaders == b->nheaders, name);
    CHECK(a->body == b->body && a->content_length == b->content_length, name);
    CHECK(a->keep_alive == b->keep_alive && a->expect_continue == b->expect_continue, name);
    CHECK(a->host == b->host && a->host_len == b->host_len, name);
    for (i = 0; i < a->nheaders; i++) {
        CHECK(a->headers[i].name == b->headers[i].name, name);
        CHECK(a->headers[i].value_len == b->headers[i].value_len, name);
    }
}

/* The copy the last parse_both() message points into. */
static char *held;

static int
release_held(void **state)
{
    (void)state;
    free(held);
    held = NULL;
    return 0;
}

/* Parse raw in one piece and byte by byte, check both agree, and return the result; *m holds the
 * one-piece message. The byte-by-byte run must say AGAIN until the head is complete and OK exactly
 * when its last byte arrives. */
static int
parse_both(const char *raw, size_t len, const struct gw_http_limits *lim, int method,
           struct gw_http_message *m, size_t *head_len, const char *name)
{
    static struct gw_http_message m2;
    struct gw_http_parser p;
    char *buf = copy(raw, len);
    size_t hl = 0, hl2 = 0, n;
    int rc, rc2 = GW_HTTP_AGAIN;

    gw_http_parser_init(&p);
    rc = parse(buf, len, lim, method, m, &hl, &p);
    gw_http_parser_init(&p);
    for (n = 1; n <= len && rc2 == GW_HTTP_AGAIN; n++) {
        char *piece = copy(raw, n); /* exact size: a read past n bytes is caught by ASan */

        rc2 = parse(piece, n, lim, method, &m2, &hl2, &p);
        free(piece);
        if (rc2 == GW_HTTP_OK)
            CHECK_INT(hl2, n, name);
    }
    CHECK_INT(rc2, rc, name);
    if (rc == GW_HTTP_OK) {
        /* same offsets: reparse the full buffer with the incremental state left as it is */
        rc2 = parse(buf, len, lim, method, &m2, &hl2, &p);
        CHECK_INT(rc2, GW_HTTP_OK, name);
        CHECK_INT(hl2, hl, name);
        check_same_message(m, &m2, name);
        *head_len = hl;
    }
    /* m points into buf: it stays alive for the caller's checks until the next call */
    free(held);
    held = buf;
    return rc;
}

/* ---- requests that parse --------------------------------------------------------------------- */

struct req_ok {
    const char *name;
    const char *raw;
    size_t len;
    size_t body; /* bytes after the head */
    enum gw_http_method method;
    const char *method_str;
    const char *target;
    const char *path;
    const char *query;
    int minor;
    enum gw_http_body framing;
    uint64_t cl;
    int keep_alive;
    const char *host;
    size_t nheaders;
    int expect_continue;
    int expect_other;
};

/* clang-format off */
static const struct req_ok req_ok_cases[] = {
    {.name = "GET",
     RAW("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "example.com", .nheaders = 1},
    {.name = "query string",
     RAW("GET /a/b?x=1&y=%20z HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/a/b?x=1&y=%20z", .path = "/a/b",
     .query = "x=1&y=%20z", .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "empty query",
     RAW("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/a?", .path = "/a", .query = "",
     .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "second '?' stays in the query",
     RAW("GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/a?b?c", .path = "/a",
     .query = "b?c", .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "POST with Content-Length and its body",
     RAW("POST /orders HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"), .body = 11,
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/orders", .path = "/orders",
     .minor = 1, .framing = GW_BODY_LENGTH, .cl = 11, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "Content-Length: 0 is no body",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "chunked",
     RAW("PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
     .body = 15, .method = GW_METHOD_PUT, .method_str = "PUT", .target = "/x", .path = "/x",
     .minor = 1, .framing = GW_BODY_CHUNKED, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "chunked, any case, trailing OWS",
     RAW("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: ChUnKeD \t\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_CHUNKED, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "identical duplicate Content-Length",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
     .body = 3, .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/",
     .minor = 1, .framing = GW_BODY_LENGTH, .cl = 3, .keep_alive = 1, .host = "h", .nheaders = 3},
    {.name = "Content-Length: 1,1",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_LENGTH, .cl = 1, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "Content-Length: 7 , 7 ,7",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 , 7 ,7\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_LENGTH, .cl = 7, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "Content-Length with leading zeros",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0042\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_LENGTH, .cl = 42, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "Content-Length equal to max_body_bytes",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_LENGTH, .cl = 1048576, .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "HTTP/1.0 without Host closes",
     RAW("GET /old HTTP/1.0\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/old", .path = "/old", .minor = 0,
     .keep_alive = 0},
    {.name = "HTTP/1.0 keep-alive",
     RAW("GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 0,
     .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "HTTP/1.0 keep-alive and close: close wins",
     RAW("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 0,
     .keep_alive = 0, .nheaders = 2},
    {.name = "HTTP/1.1 Connection: close",
     RAW("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, CLOSE\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 0, .host = "h", .nheaders = 2},
    {.name = "HTTP/1.1 other Connection tokens keep alive",
     RAW("GET / HTTP/1.1\r\nHost: h\r\nConnection: te, closed\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 2},
    {.name = "OPTIONS *",
     RAW("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_OPTIONS, .method_str = "OPTIONS", .target = "*", .path = "*",
     .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "leading CRLFs",
     RAW("\r\n\r\n\r\nDELETE /r/1 HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_DELETE, .method_str = "DELETE", .target = "/r/1", .path = "/r/1",
     .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "unknown method token",
     RAW("PROPFIND /dav HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_OTHER, .method_str = "PROPFIND", .target = "/dav", .path = "/dav",
     .minor = 1, .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "methods are case-sensitive",
     RAW("get / HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_OTHER, .method_str = "get", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "every known method: HEAD",
     RAW("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_HEAD, .method_str = "HEAD", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "every known method: PATCH",
     RAW("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_PATCH, .method_str = "PATCH", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "every known method: TRACE",
     RAW("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n"),
     .method = GW_METHOD_TRACE, .method_str = "TRACE", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 1},
    {.name = "Host with port, any name case",
     RAW("GET / HTTP/1.1\r\nhOsT:api.example.com:8443\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "api.example.com:8443", .nheaders = 1},
    {.name = "Host IPv6 literal",
     RAW("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "[::1]:8080", .nheaders = 1},
    {.name = "Host with percent-escape",
     RAW("GET / HTTP/1.1\r\nHost: a%2Db.example\r\n\r\n"),
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "a%2Db.example", .nheaders = 1},
    {.name = "Expect: 100-continue",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .framing = GW_BODY_LENGTH, .cl = 2, .keep_alive = 1, .host = "h", .nheaders = 3,
     .expect_continue = 1},
    {.name = "another Expect",
     RAW("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 2, .expect_other = 1},
    {.name = "Expect: 100-continue is ignored in HTTP/1.0",
     RAW("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"),
     .method = GW_METHOD_POST, .method_str = "POST", .target = "/", .path = "/", .minor = 0,
     .keep_alive = 0, .nheaders = 1},
    {.name = "pipelined request after the head is not read",
     RAW("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"), .body = 28,
     .method = GW_METHOD_GET, .method_str = "GET", .target = "/1", .path = "/1", .minor = 1,
     .keep_alive = 1, .host = "h", .nheaders = 1},
};
/* clang-format on */

static void
test_request_ok(void **state)
{
    static struct gw_http_message m;
    size_t i, hl = 0;

    (void)state;
    for (i = 0; i < sizeof(req_ok_cases) / sizeof(req_ok_cases[0]); i++) {
        const struct req_ok *c = &req_ok_cases[i];
        int rc = parse_both(c->raw, c->len, &limits, -1, &m, &hl, c->name);

        CHECK_INT(rc, GW_HTTP_OK, c->name);
        CHECK_INT(hl, c->len - c->body, c->name);
        CHECK_INT(m.method, c->method, c->name);
        CHECK(span_eq(m.method_str, m.method_len, c->method_str), c->name);
        CHECK(span_eq(m.target, m.target_len, c->target), c->name);
        CHECK(span_eq(m.path, m.path_len, c->path), c->name);
        CHECK(span_eq(m.query, m.query_len, c->query), c->name);
        CHECK_INT(m.version_minor, c->minor, c->name);
        CHECK_INT(m.body, c->framing, c->name);
        if (c->framing == GW_BODY_LENGTH)
            CHECK_INT(m.content_length, c->cl, c->name);
        CHECK_INT(m.keep_alive, c->keep_alive, c->name);
        CHECK(span_eq(m.host, m.host_len, c->host), c->name);
        CHECK_INT(m.nheaders, c->nheaders, c->name);
        CHECK_INT(m.expect_continue, c->expect_continue, c->name);
        CHECK_INT(m.expect_other, c->expect_other, c->name);
    }
}

/* Field values: OWS trimmed on both sides, inner spaces kept, obs-text kept, empty allowed. */
static void
test_request_field_values(void **state)
{
    static const char raw[] = "GET / HTTP/1.1\r\n"
                              "Host: h\r\n"
                              "X-Spaced: \t  two  words \t \r\n"
                              "X-Empty:\r\n"
                              "X-Blank:   \r\n"
                              "X-Obs: caf\xc3\xa9 \xff\r\n"
                              "X-Tab:\tv\r\n"
                              "X-Punct: !#$%&'*+-.^_`|~\"(),/:;<=>?@[\\]{}\r\n"
                              "!#$%&'*+-.^_`|~09azAZ: token name\r\n"
                              "\r\n";
    static struct gw_http_message m;
    static const struct {
        const char *name;
        const char *value;
    } want[] = {
        {"x-spaced", "two  words"},
        {"X-EMPTY", ""},
        {"x-blank", ""},
        {"x-obs", "caf\xc3\xa9 \xff"},
        {"x-tab", "v"},
        {"x-punct", "!#$%&'*+-.^_`|~\"(),/:;<=>?@[\\]{}"},
        {"!#$%&'*+-.^_`|~09azAZ", "token name"},
    };
    size_t i, hl;
    const struct gw_http_header *h;

    struct gw_http_limits pass = limits;

    (void)state;
    pass.underscores = GW_UNDERSCORES_PASS; /* the last name has every tchar, '_' too */
    assert_int_equal(parse_both(raw, sizeof(raw) - 1, &pass, -1, &m, &hl, "values"), GW_HTTP_OK);
    assert_int_equal(m.nheaders, 8);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        h = gw_http_find_header(&m, want[i].name);
        CHECK(h != NULL, want[i].name);
        CHECK(span_eq(h->value, h->value_len, want[i].value), want[i].name);
    }
    /* names keep their spelling and order */
    assert_true(span_eq(m.headers[1].name, m.headers[1].name_len, "X-Spaced"));
    assert_null(gw_http_find_header(&m, "x-missing"));
    assert_null(gw_http_find_header(&m, "x-spac"));
}

/* ---- requests that are refused --------------------------------------------------------------- */

struct bad_case {
    const char *name;
    const char *raw;
    size_t len;
    int rc;
};

#define H11 "GET / HTTP/1.1\r\nHost: h\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: h\r\n"

/* clang-format off */
static const struct bad_case req_bad_cases[] = {
    /* framing: smuggling */
    {"CL and TE", RAW(P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"TE and CL", RAW(P11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"CL and TE gzip, chunked",
     RAW(P11 "Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), GW_HTTP_E_BAD},
    {"differing duplicate CL", RAW(P11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"CL 1,2", RAW(P11 "Content-Length: 1,2\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL 1,1 then CL 2", RAW(P11 "Content-Length: 1,1\r\nContent-Length: 2\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"CL empty element", RAW(P11 "Content-Length: 1,,1\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL leading comma", RAW(P11 "Content-Length: ,1\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL trailing comma", RAW(P11 "Content-Length: 1,\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL empty", RAW(P11 "Content-Length:\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL plus sign", RAW(P11 "Content-Length: +5\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL minus sign", RAW(P11 "Content-Length: -5\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL inner space", RAW(P11 "Content-Length: 1 2\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL hex", RAW(P11 "Content-Length: 0x10\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL trailing letter", RAW(P11 "Content-Length: 10a\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL decimal point", RAW(P11 "Content-Length: 1.0\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL overflow", RAW(P11 "Content-Length: 18446744073709551616\r\n\r\n"), GW_HTTP_E_BAD},
    {"CL far overflow", RAW(P11 "Content-Length: 99999999999999999999999\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"CL max uint64 is above max body", RAW(P11 "Content-Length: 18446744073709551615\r\n\r\n"),
     GW_HTTP_E_BODY_TOO_BIG},
    {"CL above max body", RAW(P11 "Content-Length: 1048577\r\n\r\n"), GW_HTTP_E_BODY_TOO_BIG},
    {"TE gzip, chunked", RAW(P11 "Transfer-Encoding: gzip, chunked\r\n\r\n"), GW_HTTP_E_NOT_IMPL},
    {"TE gzip then TE chunked",
     RAW(P11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_HTTP_E_NOT_IMPL},
    {"TE chunked, gzip", RAW(P11 "Transfer-Encoding: chunked, gzip\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE chunked then TE gzip",
     RAW(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE chunked twice", RAW(P11 "Transfer-Encoding: chunked, chunked\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE chunked in two fields",
     RAW(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE identity", RAW(P11 "Transfer-Encoding: identity\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE gzip", RAW(P11 "Transfer-Encoding: gzip\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE empty", RAW(P11 "Transfer-Encoding:\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE empty element", RAW(P11 "Transfer-Encoding: , chunked\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE trailing comma", RAW(P11 "Transfer-Encoding: chunked,\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE with parameter", RAW(P11 "Transfer-Encoding: chunked;q=1\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE chunkedx", RAW(P11 "Transfer-Encoding: chunkedx\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE quoted", RAW(P11 "Transfer-Encoding: \"chunked\"\r\n\r\n"), GW_HTTP_E_BAD},
    {"TE in HTTP/1.0", RAW("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"TE with a space before the colon", RAW(P11 "Transfer-Encoding : chunked\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"TE with a tab before the colon", RAW(P11 "Transfer-Encoding\t: chunked\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"TE folded", RAW(P11 "Transfer-Encoding:\r\n chunked\r\n\r\n"), GW_HTTP_E_BAD},
    /* line syntax */
    {"obs-fold with SP", RAW(H11 "X-A: one\r\n two\r\n\r\n"), GW_HTTP_E_BAD},
    {"obs-fold with HTAB", RAW(H11 "X-A: one\r\n\ttwo\r\n\r\n"), GW_HTTP_E_BAD},
    {"space before the first field", RAW("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"space before colon", RAW("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), GW_HTTP_E_BAD},
    {"tab before colon", RAW(H11 "X-A\t: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"no colon", RAW(H11 "X-A b\r\n\r\n"), GW_HTTP_E_BAD},
    {"empty name", RAW(H11 ": b\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR in value", RAW(H11 "X-A: a\rb\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR ends value", RAW(H11 "X-A: a\r\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR line", RAW(H11 "\r\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR hides a field", RAW(H11 "X-A: a\rX-B: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR hides a CL", RAW(P11 "X-A: a\rContent-Length: 5\r\n\r\nhello"), GW_HTTP_E_BAD},
    {"bare CR in request line", RAW("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR before request line", RAW("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF everywhere", RAW("GET / HTTP/1.1\nHost: h\n\n"), GW_HTTP_E_BAD},
    {"bare LF after a field", RAW(H11 "X-A: b\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF in value", RAW(H11 "X-A: a\nb\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF ends head", RAW(H11 "\n"), GW_HTTP_E_BAD},
    {"leading bare LF", RAW("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"leading LF CR", RAW("\n\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"NUL in value", RAW(H11 "X-A: a\0b\r\n\r\n"), GW_HTTP_E_BAD},
    {"NUL in name", RAW(H11 "X\0A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"NUL in target", RAW("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"NUL in method", RAW("G\0T / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"SOH in value", RAW(H11 "X-A: a\x01" "b\r\n\r\n"), GW_HTTP_E_BAD},
    {"ESC in value", RAW(H11 "X-A: \x1b[0m\r\n\r\n"), GW_HTTP_E_BAD},
    {"DEL in value", RAW(H11 "X-A: a\x7f\r\n\r\n"), GW_HTTP_E_BAD},
    {"VT in value", RAW(H11 "X-A: a\vb\r\n\r\n"), GW_HTTP_E_BAD},
    {"FF in value", RAW(H11 "X-A: a\fb\r\n\r\n"), GW_HTTP_E_BAD},
    {"CTL in name", RAW(H11 "X\x01" "A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"DEL in name", RAW(H11 "X\x7f" "A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"obs-text in name", RAW(H11 "X\xc3\xa9: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'(' in name", RAW(H11 "X(A): b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'@' in name", RAW(H11 "X@A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'/' in name", RAW(H11 "X/A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'\"' in name", RAW(H11 "X\"A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'[' in name", RAW(H11 "X[A]: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"'=' in name", RAW(H11 "X=A: b\r\n\r\n"), GW_HTTP_E_BAD},
    /* request line */
    {"absolute-form", RAW("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"absolute-form https", RAW("GET https://h:443/a HTTP/1.1\r\nHost: h\r\n\r\n"),
     GW_HTTP_E_BAD},
    {"authority-form", RAW("GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"CONNECT", RAW("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"), GW_HTTP_E_METHOD},
    {"CONNECT origin-form", RAW("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_METHOD},
    {"'*' with GET", RAW("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"'*x' with OPTIONS", RAW("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"empty target", RAW("GET  HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"two spaces after method", RAW("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"two spaces before version", RAW("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"tab separator", RAW("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"leading space", RAW(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"invalid method char", RAW("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"space in target", RAW("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"tab in target", RAW("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"DEL in target", RAW("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"obs-text in target", RAW("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/0.9 request", RAW("GET /\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/2.0", RAW("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), GW_HTTP_E_VERSION},
    {"HTTP/1.2", RAW("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), GW_HTTP_E_VERSION},
    {"HTTP/0.9", RAW("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), GW_HTTP_E_VERSION},
    {"HTTP/3.0", RAW("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), GW_HTTP_E_VERSION},
    {"HTTP/1.1 trailing space", RAW("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/1.1 trailing junk", RAW("GET / HTTP/1.1x\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/1.10", RAW("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/2.00", RAW("GET / HTTP/2.00\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/2", RAW("GET / HTTP/2\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/1", RAW("GET / HTTP/1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"lowercase http", RAW("GET / http/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTPS/1.1", RAW("GET / HTTPS/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"HTTP/1.x", RAW("GET / HTTP/1.x\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    /* Host */
    {"no Host in HTTP/1.1", RAW("GET / HTTP/1.1\r\nX-A: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"no fields in HTTP/1.1", RAW("GET / HTTP/1.1\r\n\r\n"), GW_HTTP_E_BAD},
    {"two Hosts", RAW(H11 "Host: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"two different Hosts", RAW(H11 "host: evil\r\n\r\n"), GW_HTTP_E_BAD},
    {"two Hosts in HTTP/1.0", RAW("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), GW_HTTP_E_BAD},
    {"empty Host", RAW("GET / HTTP/1.1\r\nHost:\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with space", RAW("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with slash", RAW("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with userinfo", RAW("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with bad port", RAW("GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with two ports", RAW("GET / HTTP/1.1\r\nHost: h:1:2\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with bad escape", RAW("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with short escape", RAW("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host unclosed IPv6", RAW("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host empty IPv6", RAW("GET / HTTP/1.1\r\nHost: []\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host junk after IPv6", RAW("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host only a port", RAW("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with query", RAW("GET / HTTP/1.1\r\nHost: h?x\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with backslash", RAW("GET / HTTP/1.1\r\nHost: h\\x\r\n\r\n"), GW_HTTP_E_BAD},
    {"Host with obs-text", RAW("GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n"), GW_HTTP_E_BAD},
    /* a target holds only what RFC 3986 allows unencoded (and '[' ']'): no fragment */
    {"target fragment", RAW("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target fragment in query", RAW("GET /a?b=1#c HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target quote", RAW("GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target pipe in query", RAW("GET /a?x=1|2 HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target angle brackets", RAW("GET /<script> HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target backslash", RAW("GET /a\\..\\b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target caret", RAW("GET /a^b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target backtick", RAW("GET /a`b HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    {"target braces", RAW("GET /a?q={} HTTP/1.1\r\nHost: h\r\n\r\n"), GW_HTTP_E_BAD},
    /* a field named with '_' that reads as a guarded field: refused, whatever the mode */
    {"Transfer_Encoding with CL",
     RAW(P11 "Content-Length: 5\r\nTransfer_Encoding: chunked\r\n\r\n"), GW_HTTP_E_BAD},
    {"Content_Length", RAW(P11 "Content_Length: 5\r\n\r\n"), GW_HTTP_E_BAD},
    {"content_type", RAW(P11 "content_type: text/xml\r\n\r\n"), GW_HTTP_E_BAD},
    {"X_Partner_Id", RAW(P11 "X_Partner_Id: acme\r\n\r\n"), GW_HTTP_E_BAD},
    {"x-partner_id", RAW(P11 "x-partner_id: acme\r\n\r\n"), GW_HTTP_E_BAD},
    {"X-CLIENT_CERT", RAW(P11 "X-CLIENT_CERT: x\r\n\r\n"), GW_HTTP_E_BAD},
    {"x_forwarded_for", RAW(P11 "x_forwarded_for: 1.2.3.4\r\n\r\n"), GW_HTTP_E_BAD},
    {"X_Request_Id", RAW(P11 "X_Request_Id: 1\r\n\r\n"), GW_HTTP_E_BAD},
    {"Proxy_Connection", RAW(P11 "Proxy_Connection: close\r\n\r\n"), GW_HTTP_E_BAD},
    {"Keep_Alive", RAW(P11 "KEEP_ALIVE: 5\r\n\r\n"), GW_HTTP_E_BAD},
};
/* clang-format on */

static void
test_request_bad(void **state)
{
    static struct gw_http_message m;
    size_t i, hl;

    (void)state;
    for (i = 0; i < sizeof(req_bad_cases) / sizeof(req_bad_cases[0]); i++) {
        const struct bad_case *c = &req_bad_cases[i];

        CHECK_INT(parse_both(c->raw, c->len, &limits, -1, &m, &hl, c->name), c->rc, c->name);
    }
}

/* Long targets and values are scanned many bytes at a time: put each byte value at each position
 * of a long run and check it is refused or kept exactly as the table says, with its neighbours. */
static int
value_byte_ok(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
target_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("#\"<>\\^`{|}", c) == NULL;
}

static void
test_long_runs_every_byte(void **state)
{
    static struct gw_http_message m;
    struct gw_http_parser p;
    char buf[256];
    const char *pre_v = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: ";
    const char *pre_t = "GET /", *post_t = " HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t pv = strlen(pre_v), pt = strlen(pre_t), pos, len, hl;
    unsigned c;
    int rc, want;

    (void)state;
    for (c = 0; c < 256; c++) {
        if (c == '\r' || c == '\n')
            continue; /* line ends, covered elsewhere */
        for (pos = 0; pos < 40; pos++) {
            /* in a field value: x...x c x...x */
            memcpy(buf, pre_v, pv);
            memset(buf + pv, 'x', 40);
            buf[pv + pos] = (char)c;
            memcpy(buf + pv + 40, "\r\n\r\n", 4);
            len = pv + 44;
            gw_http_parser_init(&p);
            rc = gw_http_parse_request(&p, buf, len, &limits, &m, &hl);
            want = value_byte_ok((unsigned char)c) ? GW_HTTP_OK : GW_HTTP_E_BAD;
            if (rc != want)
                fail_msg("value byte 0x%02x at %zu: %d, expected %d", c, pos, rc, want);
            if (rc == GW_HTTP_OK && (c != ' ' && c != '\t'))
                assert_int_equal(m.headers[1].value_len, 40);

            /* in a target: /y...y c y...y */
            memcpy(buf, pre_t, pt);
            memset(buf + pt, 'y', 40);
            buf[pt + pos] = (char)c;
            memcpy(buf + pt + 40, post_t, strlen(post_t));
            len = pt + 40 + strlen(post_t);
            gw_http_parser_init(&p);
            rc = gw_http_parse_request(&p, buf, len, &limits, &m, &hl);
            want = target_byte_ok((unsigned char)c) ? GW_HTTP_OK : GW_HTTP_E_BAD;
            if (rc != want)
                fail_msg("target byte 0x%02x at %zu: %d, expected %d", c, pos, rc, want);
            if (rc == GW_HTTP_OK)
                assert_int_equal(m.target_len, 41);
        }
    }
}

/* Without a body limit, any Content-Length that fits 64 bits is taken. */
static void
test_request_no_body_limit(void **state)
{
    static const char raw[] = P11 "Content-Length: 18446744073709551615\r\n\r\n";
    static struct gw_http_message m;
    struct gw_http_limits lim = limits;
    size_t hl;

    (void)state;
    lim.max_body_bytes = 0;
    assert_int_equal(parse_both(raw, sizeof(raw) - 1, &lim, -1, &m, &hl, "no limit"), GW_HTTP_OK);
    assert_int_equal(m.body, GW_BODY_LENGTH);
    assert_true(m.content_length == UINT64_MAX);
}

/* ---- limits ---------------------------------------------------------------------------------- */

/* A request head of exactly `size` bytes: request line, Host, then an X-Pad field to fill. */
static char *
padded_head(size_t size)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
    size_t pad = size - (sizeof(start) - 1) - 4;
    char *b = malloc(size);

    assert_non_null(b);
    assert_true(size > sizeof(start) + 4);
    memcpy(b, start, sizeof(start) - 1);
    memset(b + sizeof(start) - 1, 'p', pad);
    memcpy(b + size - 4, "\r\n\r\n", 4);
    return b;
}

static void
test_head_size_limit(void **state)
{
    static struct gw_http_message m;
    struct gw_http_limits lim = limits;
    struct gw_http_parser p;
    size_t hl;
    char *b;

    (void)state;
    lim.max_head_bytes = 200;
    b = padded_head(200); /* exactly the limit: fine */
    assert_int_equal(parse_both(b, 200, &lim, -1, &m, &hl, "at limit"), GW_HTTP_OK);
    assert_int_equal(hl, 200);
    free(b);

    b = padded_head(201); /* one more byte: 431, in one piece and fed byte by byte */
    assert_int_equal(parse_both(b, 201, &lim, -1, &m, &hl, "over limit"), GW_HTTP_E_HEAD_TOO_BIG);
    free(b);

    /* incomplete: AGAIN below the limit, 431 as soon as the head can no longer fit */
    b = padded_head(1000);
    gw_http_parser_init(&p);
    assert_int_equal(gw_http_parse_request(&p, b, 199, &lim, &m, &hl), GW_HTTP_AGAIN);
    assert_int_equal(gw_http_parse_request(&p, b, 200, &lim, &m, &hl), GW_HTTP_E_HEAD_TOO_BIG);
    gw_http_parser_init(&p);
    assert_int_equal(gw_http_parse_request(&p, b, 700, &lim, &m, &hl), GW_HTTP_E_HEAD_TOO_BIG);
    free(b);

    /* a flood of empty lines counts towards the head */
    b = malloc(400);
    assert_non_null(b);
    for (hl = 0; hl < 400; hl += 2)
        memcpy(b + hl, "\r\n", 2);
    gw_http_parser_init(&p);
    assert_int_equal(gw_http_parse_request(&p, b, 198, &lim, &m, &hl), GW_HTTP_AGAIN);
    assert_int_equal(gw_http_parse_request(&p, b, 400, &lim, &m, &hl), GW_HTTP_E_HEAD_TOO_BIG);
    free(b);
}

/* n fields in total, Host included. */
static char *
head_with_fields(size_t n, size_t *len)
{
    size_t cap = 64 + n * 16, i, off;
    char *b = malloc(cap);

    assert_non_null(b);
    off = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (i = 1; i < n; i++)
        off += (size_t)sprintf(b + off, "X-%zu: v\r\n", i);
    off += (size_t)sprintf(b + off, "\r\n");
    *len = off;
    return b;
}

static void
test_header_count_limit(void **state)
{
    static struct gw_http_message m;
    struct gw_http_limits lim = limits;
    size_t len, hl;
    char *b;

    (void)state;
    lim.max_headers = 10;
    b = head_with_fields(10, &len);
    assert_int_equal(parse_both(b, len, &lim, -1, &m, &hl, "10 of 10"), GW_HTTP_OK);
    assert_int_equal(m.nheaders, 10);
    free(b);
    b = head_with_fields(11, &len);
    assert_int_equal(parse_both(b, len, &lim, -1, &m, &hl, "11 of 10"), GW_HTTP_E_TOO_MANY);
    free(b);

    /* a configured limit above the array size is held to GW_HTTP_MAX_HEADERS */
    lim.max_headers = 100000;
    b = head_with_fields(GW_HTTP_MAX_HEADERS, &len);
    assert_int_equal(parse_both(b, len, &lim, -1, &m, &hl, "256"), GW_HTTP_OK);
    assert_int_equal(m.nheaders, GW_HTTP_MAX_HEADERS);
    free(b);
    b = head_with_fields(GW_HTTP_MAX_HEADERS + 1, &len);
    assert_int_equal(parse_both(b, len, &lim, -1, &m, &hl, "257"), GW_HTTP_E_TOO_MANY);
    free(b);
}

static void
test_target_limit(void **state)
{
    static struct gw_http_message m;
    struct gw_http_limits lim = limits;
    char buf[256];
    size_t hl;
    int len;

    (void)state;
    lim.max_target_bytes = 20;
    len = snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", "aaaaaaaaaa?bbbbbbbb");
    assert_int_equal(parse_both(buf, (size_t)len, &lim, -1, &m, &hl, "20"), GW_HTTP_OK);
    assert_int_equal(m.target_len, 20);
    len = snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", "aaaaaaaaaa?bbbbbbbbb");
    assert_int_equal(parse_both(buf, (size_t)len, &lim, -1, &m, &hl, "21"), GW_HTTP_E_URI_TOO_LONG);
}

/* Feeding a head in pieces of every size gives the one-piece result, and a parser state carried
 * over from shorter prefixes never changes the outcome. */
static void
test_incremental_pieces(void **state)
{
    static const char raw[] = "\r\nPOST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                              "X-A: a\r\n\r\nbody";
    static struct gw_http_message m1, m2;
    size_t len = sizeof(raw) - 1, step, n, hl1, hl2 = 0;
    struct gw_http_parser p;
    int rc = GW_HTTP_AGAIN;

    (void)state;
    gw_http_parser_init(&p);
    assert_int_equal(gw_http_parse_request(&p, raw, len, &limits, &m1, &hl1), GW_HTTP_OK);
    assert_int_equal(hl1, len - 4);
    for (step = 1; step <= len; step++) {
        gw_http_parser_init(&p);
        rc = GW_HTTP_AGAIN;
        for (n = step; rc == GW_HTTP_AGAIN; n = n + step > len ? len : n + step)
            rc = gw_http_parse_request(&p, raw, n, &limits, &m2, &hl2);
        assert_int_equal(rc, GW_HTTP_OK);
        assert_int_equal(hl2, hl1);
        check_same_message(&m1, &m2, "pieces");
    }
}

/* A field whose name holds '_' and is no guarded field: left out by default, refused or kept as
 * the limit says; a response's fields are never touched. */
static void
test_underscore_modes(void **state)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\nX_Custom_Thing: 1\r\n"
                              "X-After: 2\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent_Length: 5\r\nX_Up: 1\r\n"
                               "Content-Length: 0\r\n\r\n";
    static struct gw_http_message m;
    struct gw_http_limits lim = limits;
    size_t hl;

    (void)state;
    assert_int_equal(lim.underscores, GW_UNDERSCORES_DROP); /* the zero value is the default */
    assert_int_equal(parse_both(raw, sizeof raw - 1, &lim, -1, &m, &hl, "drop"), GW_HTTP_OK);
    assert_int_equal(m.nheaders, 2);
    assert_null(gw_http_find_header(&m, "x_custom_thing"));
    assert_non_null(gw_http_find_header(&m, "x-after"));

    lim.underscores = GW_UNDERSCORES_REFUSE;
    assert_int_equal(parse_both(raw, sizeof raw - 1, &lim, -1, &m, &hl, "refuse"), GW_HTTP_E_BAD);

    lim.underscores = GW_UNDERSCORES_PASS;
    assert_int_equal(parse_both(raw, sizeof raw - 1, &lim, -1, &m, &hl, "pass"), GW_HTTP_OK);
    assert_int_equal(m.nheaders, 3);
    assert_non_null(gw_http_find_header(&m, "X_CUSTOM_THING"));

    lim.underscores = GW_UNDERSCORES_DROP;
    assert_int_equal(parse_both(resp, sizeof resp - 1, &lim, GW_METHOD_GET, &m, &hl, "resp"),
                     GW_HTTP_OK);
    assert_int_equal(m.nheaders, 3);

    assert_true(gw_http_guarded_name("TRANSFER_ENCODING", 17));
    assert_true(gw_http_guarded_name("x_partner_fingerprint_and_more", 30));
    assert_false(gw_http_guarded_name("x_partner", 9));
    assert_false(gw_http_guarded_name("x_custom", 8));
}

/* A head that cannot become valid is refused as soon as the bytes that prove it arrive, without
 * waiting for the blank line; a head that can still become valid waits. */
static void
test_incomplete_refused_early(void **state)
{
    static const struct {
        const char *name;
        const char *raw;
        int rc;
    } cases[] = {
        {"CR then CR", "GET / HTTP/1.1\r\nHost: h\r\n\r\rabc", GW_HTTP_E_BAD},
        {"CR then letter", "GET / HTTP/1.1\r\nHost: h\r\n\rZGET / HTTP/1.1", GW_HTTP_E_BAD},
        {"CR in the request line", "GET /\rx", GW_HTTP_E_BAD},
        {"unknown version", "GET / HTTP/5.6\r\n", GW_HTTP_E_VERSION},
        {"unknown version, fields follow", "GET / HTTP/5.6\r\nHost: h\r\n", GW_HTTP_E_VERSION},
        {"bad version", "GET / HTTQ/1.1\r\n", GW_HTTP_E_BAD},
        {"fragment in target", "GET /a#b HTTP/1.1\r\n", GW_HTTP_E_BAD},
        {"CONNECT", "CONNECT h:443 HTTP/1.1\r\n", GW_HTTP_E_METHOD},
        {"first field starts with SP", "GET / HTTP/1.1\r\n Host: foo", GW_HTTP_E_BAD},
        {"first field starts with HTAB", "GET / HTTP/1.1\r\n\tHost: foo", GW_HTTP_E_BAD},
        {"folded field", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2", GW_HTTP_E_BAD},
        {"NUL in a value", "GET / HTTP/1.1\r\nX-A: a\0", GW_HTTP_E_BAD},
        {"control byte in a value", "GET / HTTP/1.1\r\nX-A: a\x01", GW_HTTP_E_BAD},
        {"leading white space", " GET / HTTP/1.1\r\n", GW_HTTP_E_BAD},
        {"bare LF", "GET / HTTP/1.1\nHost", GW_HTTP_E_BAD},
        /* these can still end well */
        {"ends in CR", "GET / HTTP/1.1\r\nHost: h\r\n\r", GW_HTTP_AGAIN},
        {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n", GW_HTTP_AGAIN},
        {"half a request line", "GET /a?b=[1] HTT", GW_HTTP_AGAIN},
        {"line ends in CR", "GET / HTTP/1.1\r", GW_HTTP_AGAIN},
        {"obs-text in a value", "GET / HTTP/1.1\r\nX-A: caf\xc3\xa9", GW_HTTP_AGAIN},
        {"value with HTAB", "GET / HTTP/1.1\r\nX-A:\ta b\r\n", GW_HTTP_AGAIN},
    };
    static struct gw_http_message m;
    struct gw_http_parser p;
    size_t hl = 0;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].raw);
        char *buf;

        if (strcmp(cases[i].name, "NUL in a value") == 0)
            len = 24; /* strlen stops at the NUL it holds */
        buf = copy(cases[i].raw, len);
        /* whole, then byte by byte: the answer is the same however the bytes came */
        gw_http_parser_init(&p);
        CHECK_INT(gw_http_parse_request(&p, buf, len, &limits, &m, &hl), cases[i].rc,
                  cases[i].name);
        gw_http_parser_init(&p);
        for (size_t n = 1; n <= len; n++) {
            int rc = gw_http_parse_request(&p, buf, n, &limits, &m, &hl);
            if (rc != GW_HTTP_AGAIN || n == len) {
                CHECK_INT(rc, cases[i].rc, cases[i].name);
                break;
            }
        }
        free(buf);
    }
}

/* ---- responses ------------------------------------------------------------------------------- */

struct resp_case {
    const char *name;
    const char *raw;
    size_t len;
    enum gw_http_method method; /* of the request answered */
    int rc;
    int status;
    const char *reason;
    int minor;
    enum gw_http_body framing;
    uint64_t cl;
    int keep_alive;
};

/* clang-format off */
static const struct resp_case resp_cases[] = {
    {"200 with CL", RAW("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), GW_METHOD_GET,
     GW_HTTP_OK, 200, "OK", 1, GW_BODY_LENGTH, 5, 1},
    {"404 reason with spaces", RAW("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 404, "Not Found", 1, GW_BODY_NONE, 0, 1},
    {"empty reason", RAW("HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_OK, 200, "", 1, GW_BODY_LENGTH, 1, 1},
    {"no reason and no space", RAW("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_OK, 200, "", 1, GW_BODY_LENGTH, 1, 1},
    {"reason with obs-text and tab", RAW("HTTP/1.1 200 tr\xe8s\tbien\r\nContent-Length: 1\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 200, "tr\xe8s\tbien", 1, GW_BODY_LENGTH, 1, 1},
    {"chunked", RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), GW_METHOD_POST,
     GW_HTTP_OK, 200, "OK", 1, GW_BODY_CHUNKED, 0, 1},
    {"until EOF", RAW("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), GW_METHOD_GET, GW_HTTP_OK, 200,
     "OK", 1, GW_BODY_UNTIL_EOF, 0, 0},
    {"HTTP/1.0 until EOF", RAW("HTTP/1.0 200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_OK, 200, "OK",
     0, GW_BODY_UNTIL_EOF, 0, 0},
    {"HTTP/1.0 with CL closes", RAW("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 200, "OK", 0, GW_BODY_LENGTH, 2, 0},
    {"HTTP/1.0 keep-alive",
     RAW("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 200, "OK", 0, GW_BODY_LENGTH, 2, 1},
    {"Connection: close", RAW("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 200, "OK", 1, GW_BODY_LENGTH, 2, 0},
    {"100 Continue", RAW("HTTP/1.1 100 Continue\r\n\r\n"), GW_METHOD_POST, GW_HTTP_OK, 100,
     "Continue", 1, GW_BODY_NONE, 0, 1},
    {"103 Early Hints", RAW("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_OK, 103, "Early Hints", 1, GW_BODY_NONE, 0, 1},
    {"204 has no body", RAW("HTTP/1.1 204 No Content\r\n\r\n"), GW_METHOD_DELETE, GW_HTTP_OK,
     204, "No Content", 1, GW_BODY_NONE, 0, 1},
    {"304 with CL has no body", RAW("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_OK, 304, "Not Modified", 1, GW_BODY_NONE, 0, 1},
    {"HEAD response with CL has no body", RAW("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
     GW_METHOD_HEAD, GW_HTTP_OK, 200, "OK", 1, GW_BODY_NONE, 0, 1},
    {"HEAD response with chunked has no body",
     RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), GW_METHOD_HEAD, GW_HTTP_OK,
     200, "OK", 1, GW_BODY_NONE, 0, 1},
    {"HEAD response without CL keeps alive", RAW("HTTP/1.1 200 OK\r\n\r\n"), GW_METHOD_HEAD,
     GW_HTTP_OK, 200, "OK", 1, GW_BODY_NONE, 0, 1},
    {"HEAD response with a CL above max body",
     RAW("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"), GW_METHOD_HEAD, GW_HTTP_OK,
     200, "OK", 1, GW_BODY_NONE, 0, 1},
    {"599", RAW("HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n"), GW_METHOD_GET, GW_HTTP_OK, 599,
     "x", 1, GW_BODY_NONE, 0, 1},
    /* refused */
    {"CL and TE", RAW("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"CL and TE in a 204",
     RAW("HTTP/1.1 204 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"differing CL", RAW("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"CL with sign", RAW("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_E_BAD},
    {"CL above max body", RAW("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BODY_TOO_BIG},
    {"TE gzip", RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_E_BAD},
    {"TE gzip, chunked", RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_NOT_IMPL},
    {"TE chunked, gzip", RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"TE in HTTP/1.0", RAW("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"HTTP/2.0", RAW("HTTP/2.0 200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_VERSION},
    {"HTTP/1.2", RAW("HTTP/1.2 200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_VERSION},
    {"HTTP/1.10", RAW("HTTP/1.10 200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"lowercase http", RAW("http/1.1 200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"two-digit status", RAW("HTTP/1.1 20 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"four-digit status", RAW("HTTP/1.1 2000 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"status glued to reason", RAW("HTTP/1.1 200OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"status below 100", RAW("HTTP/1.1 099 x\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"status above 599", RAW("HTTP/1.1 600 x\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"two spaces before status", RAW("HTTP/1.1  200 OK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"CTL in reason", RAW("HTTP/1.1 200 O\x01K\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"bare CR in reason", RAW("HTTP/1.1 200 O\rK\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"bare LF", RAW("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"only empty lines", RAW("\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"leading CRLF", RAW("\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_E_BAD},
    {"obs-fold", RAW("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"space before colon", RAW("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"), GW_METHOD_GET,
     GW_HTTP_E_BAD},
    {"NUL in value", RAW("HTTP/1.1 200 OK\r\nX-A: \0\r\nContent-Length: 0\r\n\r\n"),
     GW_METHOD_GET, GW_HTTP_E_BAD},
    {"too short", RAW("HTTP/1.1\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
    {"not HTTP", RAW("SSH-2.0-OpenSSH\r\n\r\n"), GW_METHOD_GET, GW_HTTP_E_BAD},
};
/* clang-format on */

static void
test_response(void **state)
{
    static struct gw_http_message m;
    size_t i, hl;

    (void)state;
    for (i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
        const struct resp_case *c = &resp_cases[i];
        int rc = parse_both(c->raw, c->len, &limits, (int)c->method, &m, &hl, c->name);

        CHECK_INT(rc, c->rc, c->name);
        if (rc != GW_HTTP_OK)
            continue;
        CHECK_INT(m.status, c->status, c->name);
        CHECK(span_eq(m.reason, m.reason_len, c->reason), c->name);
        CHECK_INT(m.version_minor, c->minor, c->name);
        CHECK_INT(m.body, c->framing, c->name);
        if (c->framing == GW_BODY_LENGTH)
            CHECK_INT(m.content_length, c->cl, c->name);
        CHECK_INT(m.keep_alive, c->keep_alive, c->name);
        CHECK(m.host == NULL, c->name);
        /* the body, if any, starts right after the blank line */
        CHECK(hl >= 4 && memcmp(c->raw + hl - 4, "\r\n\r\n", 4) == 0, c->name);
    }
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void
test_helpers(void **state)
{
    static const struct {
        const char *value;
        const char *elem;
        int want;
    } lists[] = {
        {"close", "close", 1},
        {"Close", "close", 1},
        {"keep-alive, close", "close", 1},
        {"keep-alive ,\tCLOSE\t", "close", 1},
        {"closed", "close", 0},
        {"x-close", "close", 0},
        {"", "close", 0},
        {",,", "close", 0},
        {"a,,close", "close", 1},
        {"upgrade", "keep-alive", 0},
        {"Keep-Alive", "keep-alive", 1},
    };
    static const struct {
        const char *s;
        enum gw_http_method m;
    } methods[] = {
        {"GET", GW_METHOD_GET},         {"HEAD", GW_METHOD_HEAD},
        {"POST", GW_METHOD_POST},       {"PUT", GW_METHOD_PUT},
        {"DELETE", GW_METHOD_DELETE},   {"PATCH", GW_METHOD_PATCH},
        {"OPTIONS", GW_METHOD_OPTIONS}, {"TRACE", GW_METHOD_TRACE},
        {"CONNECT", GW_METHOD_CONNECT},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        CHECK_INT(gw_http_list_has(lists[i].value, strlen(lists[i].value), lists[i].elem),
                  lists[i].want, lists[i].value);
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        CHECK_INT(gw_http_method_from(methods[i].s, strlen(methods[i].s)), methods[i].m,
                  methods[i].s);
        CHECK(strcmp(gw_http_method_name(methods[i].m), methods[i].s) == 0, methods[i].s);
    }
    assert_int_equal(gw_http_method_from("GETS", 4), GW_METHOD_OTHER);
    assert_int_equal(gw_http_method_from("GE", 2), GW_METHOD_OTHER);
    assert_int_equal(gw_http_method_from("", 0), GW_METHOD_OTHER);
    assert_int_equal(gw_http_method_from("post", 4), GW_METHOD_OTHER);
    assert_non_null(gw_http_method_name(GW_METHOD_OTHER));
    assert_true(gw_http_token_eq("Chunked", 7, "chunked"));
    assert_false(gw_http_token_eq("chunke", 6, "chunked"));
    assert_false(gw_http_token_eq("chunkedx", 8, "chunked"));
    /* CR is not '-' even though CR | 0x20 == '-' */
    assert_false(gw_http_token_eq("keep\ralive", 10, "keep-alive"));
}

/* ---- chunked --------------------------------------------------------------------------------- */

/* Decode in[0..len) fed in pieces of at most `piece` bytes (0: split once at `split`). The payload
 * goes to out; *used is the input consumed when DONE. Returns DONE, AGAIN or the error. */
static int
dechunk(const char *in, size_t len, size_t piece, size_t split, uint64_t max, char *out,
        size_t *outlen, size_t *used)
{
    struct gw_chunked c;
    size_t off = 0, end, n;
    int rc = GW_HTTP_AGAIN;

    gw_chunked_init(&c);
    *outlen = 0;
    while (off < len) {
        end = piece ? (off + piece < len ? off + piece : len) : (off < split ? split : len);
        while (off < end) {
            char *p = copy(in + off, end - off); /* exact size, for ASan */

            rc = gw_chunked_feed(&c, p, end - off, max, &n);
            free(p);
            if (rc < 0 && rc != GW_HTTP_AGAIN)
                return rc;
            assert_true(n <= end - off);
            if (rc == GW_CHUNK_DATA) {
                memcpy(out + *outlen, in + off, n);
                *outlen += n;
            }
            assert_true(n > 0 || rc == GW_CHUNK_DATA);
            off += n;
            if (rc == GW_CHUNK_DONE) {
                *used = off;
                assert_int_equal(c.total, *outlen);
                return rc;
            }
        }
    }
    return rc;
}

/* A payload literal with its exact length. */
#define PAY(s) (s), sizeof(s) - 1

struct chunk_case {
    const char *name;
    const char *raw;
    size_t len;
    int rc;              /* DONE, or the error */
    const char *payload; /* when DONE */
    size_t plen;
    size_t used; /* input consumed when DONE; 0: all of it */
    uint64_t max;
};

/* clang-format off */
static const struct chunk_case chunk_cases[] = {
    {"two chunks", RAW("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), GW_CHUNK_DONE,
     PAY("hello world")},
    {"empty body", RAW("0\r\n\r\n"), GW_CHUNK_DONE, PAY("")},
    {"next message left alone", RAW("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), GW_CHUNK_DONE,
     PAY("abc"), 13},
    {"uppercase hex", RAW("A\r\n0123456789\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("0123456789")},
    {"lowercase hex", RAW("a\r\n0123456789\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("0123456789")},
    {"mixed hex", RAW("1F\r\n0123456789abcdefghijklmnopqrstu\r\n0\r\n\r\n"), GW_CHUNK_DONE,
     PAY("0123456789abcdefghijklmnopqrstu")},
    {"leading zeros", RAW("0005\r\nhello\r\n000\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"16 hex digits", RAW("0000000000000005\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"17 hex digits", RAW("00000000000000005\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"payload with CRLF inside", RAW("4\r\n\r\n\r\n\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("\r\n\r\n")},
    {"binary payload", RAW("3\r\n\0\xff\n\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("\0\xff\n")},
    /* extensions */
    {"ext name", RAW("5;a\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext name=token", RAW("5;a=b\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext BWS", RAW("5 ; a = b\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext BWS with tabs", RAW("5\t;\ta\t=\tb\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext quoted", RAW("5;a=\"x y;z\"\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext quoted escape", RAW("5;a=\"x\\\"y\\\\\"\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE,
     PAY("hello")},
    {"ext quoted empty", RAW("5;a=\"\"\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext several", RAW("5;a;b=c ;d=\"e\";f\r\nhello\r\n0\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext on last chunk", RAW("5\r\nhello\r\n0;final=1\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"ext empty", RAW("5;\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext no name", RAW("5;=b\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext no value", RAW("5;a=\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext value with space", RAW("5;a=b c\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext trailing BWS", RAW("5;a=b \r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext name then BWS", RAW("5;a \r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext unterminated quote", RAW("5;a=\"xy\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext junk after quote", RAW("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext CTL in quote", RAW("5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext escaped CTL", RAW("5;a=\"x\\\x01\"\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext CTL in name", RAW("5;a\x01\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext NUL", RAW("5;a=\0\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext bad separator", RAW("5,a\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"ext bare LF", RAW("5;a\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    /* size line */
    {"empty size", RAW("\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"empty size then blank line", RAW("\r\n\r\n"), GW_HTTP_E_BAD},
    {"extension without size", RAW(";a=b\r\n\r\n"), GW_HTTP_E_BAD},
    {"size with sign", RAW("+5\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"negative size", RAW("-5\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"size 0x prefix", RAW("0x5\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"leading space", RAW(" 5\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailing space", RAW("5 \r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"not hex", RAW("g\r\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF after size", RAW("5\nhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR after size", RAW("5\rhello\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"overflow of the total", RAW("1\r\na\r\nFFFFFFFFFFFFFFFF\r\n"), GW_HTTP_E_BAD},
    /* after the data */
    {"data too long", RAW("5\r\nhelloX\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"data too short", RAW("5\r\nhell\r\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF after data", RAW("5\r\nhello\n0\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare CR after data", RAW("5\r\nhello\r0\r\n\r\n"), GW_HTTP_E_BAD},
    {"bare LF ends body", RAW("5\r\nhello\r\n0\r\n\n"), GW_HTTP_E_BAD},
    {"bare LF after last chunk", RAW("5\r\nhello\r\n0\n\r\n"), GW_HTTP_E_BAD},
    /* trailers */
    {"trailer", RAW("5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n"), GW_CHUNK_DONE, PAY("hello")},
    {"trailers, empty value", RAW("0\r\nX-A: 1\r\nX-B:\r\nX-C:  \xc3\xa9 \r\n\r\n"),
     GW_CHUNK_DONE, PAY("")},
    {"trailer obs-fold", RAW("0\r\nX-A: 1\r\n 2\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer space before colon", RAW("0\r\nX-A : 1\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer without colon", RAW("0\r\nX-A\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer empty name", RAW("0\r\n: 1\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer CTL in value", RAW("0\r\nX-A: \x01\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer NUL in value", RAW("0\r\nX-A: \0\r\n\r\n"), GW_HTTP_E_BAD},
    {"trailer bare LF", RAW("0\r\nX-A: 1\n\r\n"), GW_HTTP_E_BAD},
    {"trailer bare CR", RAW("0\r\nX-A: 1\r2\r\n\r\n"), GW_HTTP_E_BAD},
    /* limits */
    {"at max body", RAW("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), GW_CHUNK_DONE,
     PAY("hello world"), 0, 11},
    {"above max body", RAW("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), GW_HTTP_E_BODY_TOO_BIG,
     NULL, 0, 0, 10},
    {"one huge chunk above max body", RAW("FFFFFFFFFFFFFFFF\r\n"), GW_HTTP_E_BODY_TOO_BIG, NULL, 0,
     0, 1 << 20},
};
/* clang-format on */

static void
test_chunked_table(void **state)
{
    static char out[256];
    size_t i, split, outlen, used, plen;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
        const struct chunk_case *c = &chunk_cases[i];
        size_t want_used = c->used ? c->used : c->len;

        plen = c->plen;
        /* one piece, every two-piece split, and one byte at a time */
        for (split = 0; split < c->len; split++) {
            used = 0;
            rc = dechunk(c->raw, c->len, split ? 0 : c->len, split, c->max, out, &outlen, &used);
            CHECK_INT(rc, c->rc, c->name);
            if (c->rc != GW_CHUNK_DONE)
                continue;
            CHECK_INT(used, want_used, c->name);
            CHECK_INT(outlen, plen, c->name);
            CHECK(memcmp(out, c->payload, plen) == 0, c->name);
        }
        rc = dechunk(c->raw, c->len, 1, 0, c->max, out, &outlen, &used);
        CHECK_INT(rc, c->rc, c->name);
        if (c->rc == GW_CHUNK_DONE) {
            CHECK_INT(outlen, plen, c->name);
            CHECK(memcmp(out, c->payload, plen) == 0, c->name);
        }
    }
}

/* The return protocol itself: FRAME for framing, DATA for payload, AGAIN inside a framing
 * element, DONE at the end, and nothing accepted after DONE or after an error. */
static void
test_chunked_protocol(void **state)
{
    struct gw_chunked c;
    size_t n;

    (void)state;
    gw_chunked_init(&c);
    assert_int_equal(gw_chunked_feed(&c, "5", 1, 0, &n), GW_HTTP_AGAIN);
    assert_int_equal(n, 1);
    assert_int_equal(gw_chunked_feed(&c, "\r\nhel", 5, 0, &n), GW_CHUNK_FRAME);
    assert_int_equal(n, 2);
    assert_int_equal(gw_chunked_feed(&c, "hel", 3, 0, &n), GW_CHUNK_DATA);
    assert_int_equal(n, 3);
    assert_int_equal(gw_chunked_feed(&c, "lo\r\n0\r\n", 7, 0, &n), GW_CHUNK_DATA);
    assert_int_equal(n, 2);
    assert_true(c.total == 5);
    assert_int_equal(gw_chunked_feed(&c, "\r\n0\r\n", 5, 0, &n), GW_HTTP_AGAIN);
    assert_int_equal(n, 5);
    assert_int_equal(gw_chunked_feed(&c, "\r\nextra", 7, 0, &n), GW_CHUNK_DONE);
    assert_int_equal(n, 2);
    assert_int_equal(gw_chunked_feed(&c, "0\r\n\r\n", 5, 0, &n), GW_HTTP_E_BAD);

    gw_chunked_init(&c);
    assert_int_equal(gw_chunked_feed(&c, "x", 1, 0, &n), GW_HTTP_E_BAD);
    assert_int_equal(gw_chunked_feed(&c, "0\r\n\r\n", 5, 0, &n), GW_HTTP_E_BAD);
}

/* Size line and trailer section limits: 4096 bytes of size line (CRLF excluded), 8192 bytes of
 * trailer fields (the final blank line excluded). */
static void
test_chunked_limits(void **state)
{
    static char in[16384], out[64];
    size_t len, ext, outlen, used;

    (void)state;
    /* "5;" + name: 4096 bytes before the CRLF */
    for (ext = 4094; ext <= 4095; ext++) {
        len = 0;
        memcpy(in, "5;", 2);
        memset(in + 2, 'e', ext);
        len = 2 + ext;
        memcpy(in + len, "\r\nhello\r\n0\r\n\r\n", 14);
        len += 14;
        assert_int_equal(dechunk(in, len, len, 0, 0, out, &outlen, &used),
                         ext == 4094 ? GW_CHUNK_DONE : GW_HTTP_E_BAD);
        assert_int_equal(dechunk(in, len, 1, 0, 0, out, &outlen, &used),
                         ext == 4094 ? GW_CHUNK_DONE : GW_HTTP_E_BAD);
    }
    /* trailers: "X: " + value + CRLF, 8192 and 8193 bytes */
    for (ext = 8187; ext <= 8188; ext++) {
        memcpy(in, "0\r\nX: ", 6);
        memset(in + 6, 'v', ext);
        len = 6 + ext;
        memcpy(in + len, "\r\n\r\n", 4);
        len += 4;
        assert_int_equal(dechunk(in, len, len, 0, 0, out, &outlen, &used),
                         ext == 8187 ? GW_CHUNK_DONE : GW_HTTP_E_BAD);
        assert_int_equal(dechunk(in, len, 7, 0, 0, out, &outlen, &used),
                         ext == 8187 ? GW_CHUNK_DONE : GW_HTTP_E_BAD);
    }
}

/* A larger body, with chunks of many sizes, split at every position, decodes to the same bytes. */
static void
test_chunked_every_split(void **state)
{
    static char in[8192], want[4096], out[4096];
    size_t len = 0, wlen = 0, size, k, split, outlen, used;

    (void)state;
    for (size = 1; size < 80; size += 7) {
        len += (size_t)sprintf(in + len, size % 2 ? "%zx\r\n" : "%zX;n=\"v\"\r\n", size);
        for (k = 0; k < size; k++, wlen++)
            want[wlen] = in[len++] = (char)('a' + wlen % 26);
        memcpy(in + len, "\r\n", 2);
        len += 2;
    }
    memcpy(in + len, "0\r\nT: x\r\n\r\n", 11);
    len += 11;
    for (split = 1; split < len; split++) {
        assert_int_equal(dechunk(in, len, 0, split, 0, out, &outlen, &used), GW_CHUNK_DONE);
        assert_int_equal(used, len);
        assert_int_equal(outlen, wlen);
        assert_memory_equal(out, want, wlen);
    }
    for (k = 1; k < 16; k++) {
        assert_int_equal(dechunk(in, len, k, 0, 0, out, &outlen, &used), GW_CHUNK_DONE);
        assert_memory_equal(out, want, wlen);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_ok),
        cmocka_unit_test(test_request_field_values),
        cmocka_unit_test(test_request_bad),
        cmocka_unit_test(test_long_runs_every_byte),
        cmocka_unit_test(test_request_no_body_limit),
        cmocka_unit_test(test_head_size_limit),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_target_limit),
        cmocka_unit_test(test_incremental_pieces),
        cmocka_unit_test(test_underscore_modes),
        cmocka_unit_test(test_incomplete_refused_early),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_chunked_table),
        cmocka_unit_test(test_chunked_protocol),
        cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_chunked_every_split),
    };

    return cmocka_run_group_tests(tests, NULL, release_held);
}
