/* http_fields.c: what the gateway asks of the fields of a parsed message: look one up, compare a
 * token, is a field hop-by-hop or named by a Connection field, is a name spelled with '_' a guarded
 * one, does it claim an identity; and the reason phrase of a status (declared in http_parser.h,
 * whose parser lives in http_parser.c).
 */
#include "http_parser.h"

#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_chars.h"

/* 1 if s[0..len) equals the lowercase literal, ignoring ASCII case; 0 otherwise. */
int
gw_http_token_eq(const char *s, size_t len, const char *lower_lit)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (lower_lit[i] == '\0' || lower((unsigned char)s[i]) != (unsigned char)lower_lit[i])
            return 0;
    return lower_lit[len] == '\0';
}

int
gw_http_token_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!IS(s[i], C_TCHAR))
            return 0;
    return len > 0;
}

/* 1 if one comma-separated element of value, OWS trimmed, equals the lowercase literal. */
int
gw_http_list_has(const char *value, size_t len, const char *lower_lit)
{
    size_t start = 0, end, s, e;
    const char *comma;

    for (;;) {
        comma = start < len ? memchr(value + start, ',', len - start) : NULL;
        end = comma ? (size_t)(comma - value) : len;
        for (s = start; s < end && IS(value[s], C_OWS); s++)
            ;
        e = end;
        while (e > s && IS(value[e - 1], C_OWS))
            e--;
        if (gw_http_token_eq(value + s, e - s, lower_lit))
            return 1;
        if (comma == NULL)
            return 0;
        start = end + 1;
    }
}

/* The first field named `name` (any case), or NULL; the result points into msg. */
const struct gw_http_header *
gw_http_find_header(const struct gw_http_message *msg, const char *name)
{
    size_t len = strlen(name), i, k;

    for (i = 0; i < msg->nheaders; i++) {
        const struct gw_http_header *h = &msg->headers[i];

        if (h->name_len != len)
            continue;
        for (k = 0; k < len; k++)
            if (lower((unsigned char)h->name[k]) != lower((unsigned char)name[k]))
                break;
        if (k == len)
            return h;
    }
    return NULL;
}

/* Is the field named in one of the message's Connection fields? */
int
gw_http_connection_listed(const struct gw_http_message *m, const struct gw_http_header *h)
{
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct gw_http_header *c = &m->headers[i];
        const char *p = c->value, *end = c->value + c->value_len;

        if (c->name_len != 10 || !gw_http_token_eq(c->name, c->name_len, "connection"))
            continue;
        while (p < end) {
            const char *q = memchr(p, ',', (size_t)(end - p));
            const char *e = q ? q : end, *t;
            while (p < e && IS(*p, C_OWS))
                p++;
            for (t = e; t > p && IS(t[-1], C_OWS); t--)
                ;
            if ((size_t)(t - p) == h->name_len && strncasecmp(p, h->name, h->name_len) == 0)
                return 1;
            p = q ? q + 1 : end;
        }
    }
    return 0;
}

int
gw_http_identity_claim(const char *name, size_t len)
{
    return (name[0] | 0x20) == 'x' && ((len >= 10 && strncasecmp(name, "x-partner-", 10) == 0) ||
                                       (len >= 11 && strncasecmp(name, "x-consumer-", 11) == 0) ||
                                       (len >= 13 && strncasecmp(name, "x-client-cert", 13) == 0));
}

void
gw_http_put_field(struct gw_buf *b, const char *name, size_t name_len, const char *value,
                  size_t value_len)
{
    if (gw_buf_reserve(b, name_len + value_len + 4) < 0)
        return;
    memcpy(b->p + b->len, name, name_len);
    b->p[b->len + name_len] = ':';
    b->p[b->len + name_len + 1] = ' ';
    memcpy(b->p + b->len + name_len + 2, value, value_len);
    memcpy(b->p + b->len + name_len + 2 + value_len, "\r\n", 2);
    b->len += name_len + value_len + 4;
}

const char *
gw_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

int
gw_http_hop_by_hop(const struct gw_http_header *h)
{
    const char *n = h->name;
    size_t l = h->name_len;

    switch (l) {
    case 2:
        return gw_http_token_eq(n, l, "te");
    case 7:
        return gw_http_token_eq(n, l, "trailer") || gw_http_token_eq(n, l, "upgrade");
    case 10:
        return gw_http_token_eq(n, l, "connection") || gw_http_token_eq(n, l, "keep-alive");
    case 16:
        return gw_http_token_eq(n, l, "proxy-connection");
    case 17:
        return gw_http_token_eq(n, l, "transfer-encoding");
    case 19:
        return gw_http_token_eq(n, l, "proxy-authorization");
    default:
        return 0;
    }
}

/* Is the field name, read with '-' for '_' and in any case, one of http_parser.h's guarded
 * fields? The hop-by-hop ones are gw_http_hop_by_hop's. */
int
gw_http_guarded_name(const char *name, size_t len)
{
    static const char *const exact[] = {
        "content-length", "content-type", "host", "expect", "forwarded", "via", "x-real-ip",
        "x-request-id", NULL,
    };
    static const char *const prefix[] = {"x-forwarded-", "x-partner-", "x-client-cert", NULL};
    char low[24]; /* longer than every name above, every prefix and every hop-by-hop name */
    size_t n = len < sizeof low ? len : sizeof low;
    struct gw_http_header h = {low, n, NULL, 0};

    for (size_t k = 0; k < n; k++)
        low[k] = name[k] == '_' ? '-' : (char)lower((unsigned char)name[k]);
    if (len == n && gw_http_hop_by_hop(&h))
        return 1;
    for (size_t k = 0; exact[k] != NULL; k++)
        if (strlen(exact[k]) == len && memcmp(low, exact[k], len) == 0)
            return 1;
    for (size_t k = 0; prefix[k] != NULL; k++)
        if (len >= strlen(prefix[k]) && memcmp(low, prefix[k], strlen(prefix[k])) == 0)
            return 1;
    return 0;
}
