/* fuzz_json_loc.c: libFuzzer target for gw_jsonloc_build, the positions of a config file's values
 * read with the one JSON reader (base/json_read.h).
 *
 * Beyond the sanitizers it checks, abort()ing otherwise: every text jansson accepts the way
 * gw_jdoc_load reads a config file (duplicate keys refused) gets its positions, every value
 * found at a line and column. jansson takes a NUL byte after a number for the end of the text
 * ("0\0", "[1\0]"); the reader does not, so texts with a NUL byte are left out of the check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_loc.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Every member and element of v at path has a position. */
static void
walk(const struct gw_jsonloc *loc, const json_t *v, const char *path, int depth)
{
    char sub[GW_JPATH_MAX];
    const char *key;
    json_t *e;
    size_t i;
    int line, col;

    gw_jsonloc_find(loc, path, &line, &col);
    CHECK(line >= 1 && col >= 1);
    if (depth > 8)
        return;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, key, e) if (strlen(key) < 64 && strpbrk(key, ".[") == NULL)
            walk(loc, e, gw_jpath_key(sub, sizeof sub, path, key), depth + 1);
    if (json_is_array(v))
        json_array_foreach(v, i, e)
            walk(loc, e, gw_jpath_index(sub, sizeof sub, path, i), depth + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *v = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    struct gw_jsonloc *loc = gw_jsonloc_build(text, size);

    if (v != NULL && memchr(text, '\0', size) == NULL) {
        CHECK(loc != NULL);
        walk(loc, v, "", 0);
    }
    gw_jsonloc_free(loc);
    json_decref(v);
    return 0;
}
