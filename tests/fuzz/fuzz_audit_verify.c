/* fuzz_audit_verify.c: libFuzzer target for `portico audit verify`'s reading of Kafka messages,
 * which anyone who can write to the topic controls.
 *
 * The input is split at newlines into messages of partition 0 (a line starting with a digit d goes
 * to partition d instead), fed to au_verify_add, and the report is made and printed. Beyond the
 * sanitizers it checks, abort()ing otherwise: the report exists and says, per node, no more events
 * than messages were given; a faithful canonical re-encoding of a readable event hashes the way
 * au_json_canon says (the writer and the reader of the canonical form agree).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
#include "verify.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The canonical text of a parsed value, written twice through a parse of the first: the form is
 * a fixed point (canonical(parse(canonical(v))) == canonical(v)). */
static void
canon_fixed_point(const char *p, size_t n)
{
    json_t *v = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL), *w;
    struct gw_buf a = {0}, b = {0};

    if (v == NULL)
        return;
    if (au_json_canon(&a, v, "hash") == 0 && !a.oom) {
        w = json_loadb(a.p, a.len, JSON_REJECT_DUPLICATES, NULL);
        CHECK(w != NULL);
        CHECK(au_json_canon(&b, w, NULL) == 0);
        CHECK(b.len == a.len && memcmp(a.p, b.p, a.len) == 0);
        json_decref(w);
    }
    gw_buf_free(&a);
    gw_buf_free(&b);
    json_decref(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct au_verify *v = au_verify_new();
    const char *p = (const char *)data, *end = p + size;
    int64_t offset = 0;
    json_t *report;
    FILE *null;

    CHECK(v != NULL);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int32_t part = 0;
        if (n > 0 && p[0] >= '0' && p[0] <= '9') {
            part = p[0] - '0';
            p++, n--;
        }
        au_verify_add(v, part, offset++, p, n);
        canon_fixed_point(p, n);
        p += n + 1;
    }
    report = au_verify_report(v);
    CHECK(report != NULL);
    CHECK(json_integer_value(json_object_get(report, "events")) <= offset);
    null = fopen("/dev/null", "w");
    if (null != NULL) {
        au_verify_print(report, null);
        fclose(null);
    }
    json_decref(report);
    au_verify_free(v);
    return 0;
}
