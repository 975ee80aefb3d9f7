/* http_fields.c: what the gateway asks of the fields of a parsed message: look one up, compare a
 * token, is a field hop-by-hop, is a name spelled with '_' a guarded one (declared in
 * http_parser.h, whose parser lives in http_parser.c).
 */
#include "http_parser.h"

#include <string.h>

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
