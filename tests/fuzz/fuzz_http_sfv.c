/* fuzz_http_sfv.c: libFuzzer target for the structured field parser (base/http_sfv.h), which
 * reads Signature-Input, Signature and Content-Digest as partners send them.
 *
 * Beyond the sanitizers it checks, abort()ing otherwise: whatever parses as a dictionary, a list
 * or an item serializes (RFC 8941 4.1), that serialization parses again, and serializing it again
 * gives the same bytes (the canonical form is a fixed point, which RFC 9421's signature base
 * relies on). Memory: one arena per input, freed after it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_sfv.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

enum kind { DICT, LIST, ITEM };

static long
write_any(enum kind k, char *out, size_t room, const struct gw_sfv_member *m,
          const struct gw_sfv_item *it)
{
    return k == DICT ? gw_sfv_write_dict(out, room, m)
           : k == LIST ? gw_sfv_write_list(out, room, m)
                       : gw_sfv_write_item(out, room, it);
}

static int
parse_any(struct gw_arena *a, enum kind k, const char *s, size_t n, struct gw_sfv_member **m,
          struct gw_sfv_item *it)
{
    return k == DICT ? gw_sfv_parse_dict(a, s, n, m)
           : k == LIST ? gw_sfv_parse_list(a, s, n, m)
                       : gw_sfv_parse_item(a, s, n, it);
}

static void
round_trip(struct gw_arena *a, enum kind k, const char *s, size_t n)
{
    struct gw_sfv_member *m = NULL, *m2 = NULL;
    struct gw_sfv_item it, it2;
    long len, len2;
    char *out, *out2;

    if (parse_any(a, k, s, n, &m, &it) < 0)
        return;
    len = write_any(k, NULL, 0, m, &it);
    CHECK(len >= 0);
    out = gw_arena_alloc(a, (size_t)len + 1);
    CHECK(write_any(k, out, (size_t)len, m, &it) == len);
    CHECK(parse_any(a, k, out, (size_t)len, &m2, &it2) == 0);
    len2 = write_any(k, NULL, 0, m2, &it2);
    CHECK(len2 == len);
    out2 = gw_arena_alloc(a, (size_t)len2 + 1);
    CHECK(write_any(k, out2, (size_t)len2, m2, &it2) == len2);
    CHECK(memcmp(out, out2, (size_t)len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;

    gw_arena_init(&a);
    round_trip(&a, DICT, (const char *)data, size);
    round_trip(&a, LIST, (const char *)data, size);
    round_trip(&a, ITEM, (const char *)data, size);
    gw_arena_free(&a);
    return 0;
}
