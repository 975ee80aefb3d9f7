/* jsonw.c: see jsonw.h. */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

void
au_buf_jstr(struct gw_buf *b, const char *s, size_t n)
{
    gw_json_str(b, s, n, GW_JSON_FIX_UTF8);
}

void
au_buf_strings(struct gw_buf *b, const char *const *v, size_t n)
{
    gw_buf_add(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            gw_buf_add(b, ",", 1);
        au_buf_jstr(b, v[i], strlen(v[i]));
    }
    gw_buf_add(b, "]", 1);
}

void
au_buf_u64(struct gw_buf *b, uint64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;

    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    gw_buf_add(b, p, (size_t)(e - p));
}

void
au_buf_i64(struct gw_buf *b, int64_t v)
{
    if (v < 0) {
        gw_buf_add(b, "-", 1);
        au_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        au_buf_u64(b, (uint64_t)v);
    }
}

void
au_buf_hex(struct gw_buf *b, const unsigned char *d, size_t n)
{
    if (gw_buf_reserve(b, n * 2 + 2) < 0)
        return;
    b->p[b->len++] = '"';
    gw_hex_encode(b->p + b->len, d, n);
    b->len += n * 2;
    b->p[b->len++] = '"';
}

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
au_json_canon(struct gw_buf *b, const json_t *v, const char *skip)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        const char *key;
        json_t *val;
        int rc = 0;
        if (keys == NULL)
            return -1;
        json_object_foreach((json_t *)v, key, val)
            if (skip == NULL || strcmp(key, skip) != 0)
                keys[k++] = key;
        /* jansson's keys hold no NUL (it refuses "\u0000" in a name), so strcmp orders bytes */
        qsort(keys, k, sizeof *keys, key_cmp);
        gw_buf_add(b, "{", 1);
        for (size_t i = 0; i < k && rc == 0; i++) {
            if (i > 0)
                gw_buf_add(b, ",", 1);
            au_buf_jstr(b, keys[i], strlen(keys[i]));
            gw_buf_add(b, ":", 1);
            rc = au_json_canon(b, json_object_get(v, keys[i]), NULL);
        }
        gw_buf_add(b, "}", 1);
        free(keys);
        return rc;
    }
    case JSON_ARRAY:
        gw_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                gw_buf_add(b, ",", 1);
            if (au_json_canon(b, json_array_get(v, i), NULL) < 0)
                return -1;
        }
        gw_buf_add(b, "]", 1);
        return 0;
    case JSON_STRING:
        au_buf_jstr(b, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER:
        au_buf_i64(b, json_integer_value(v));
        return 0;
    case JSON_TRUE:
        gw_buf_adds(b, "true");
        return 0;
    case JSON_FALSE:
        gw_buf_adds(b, "false");
        return 0;
    case JSON_NULL:
        gw_buf_adds(b, "null");
        return 0;
    default:
        return -1;
    }
}

void
au_chain_hash(const unsigned char prev[32], const char *canon, size_t len, unsigned char out[32])
{
    struct gw_sha256 s;

    gw_sha256_init(&s);
    gw_sha256_update(&s, prev, 32);
    gw_sha256_update(&s, canon, len);
    gw_sha256_final(&s, out);
}

int
au_hex_decode(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            v <<= 4;
            if ((c < '0' || c > '9') && (c < 'a' || c > 'f'))
                return -1; /* lowercase only */
            v |= gw_hexval(c);
        }
        out[i] = (unsigned char)v;
    }
    return s[2 * n] == '\0' ? 0 : -1;
}
