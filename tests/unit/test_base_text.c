/* test_base_text.c: the ground floor's buffer (base/buf.h), text helpers (base/text.h) and
 * allocation wrappers (base/alloc.h): growth in malloc and in an arena, the ceiling and the flags
 * that say a write was dropped, hex, UTF-8, and the one JSON string writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "arena.h"
#include "buf.h"
#include "text.h"

static void *
arena_alloc(void *a, size_t n)
{
    return gw_arena_alloc(a, n);
}

static void
test_buf_malloc(void **state)
{
    struct gw_buf b = {0};
    char big[5000];
    size_t len;
    char *s;

    (void)state;
    assert_string_equal(gw_buf_str(&b), "");
    gw_buf_add(&b, "ab", 2);
    gw_buf_addc(&b, 'c');
    gw_buf_adds(&b, "de");
    gw_buf_printf(&b, "-%d-%s", 42, "x");
    assert_int_equal(b.len, 10);
    assert_string_equal(gw_buf_str(&b), "abcde-42-x");
    memset(big, 'z', sizeof big);
    gw_buf_add(&b, big, sizeof big);
    assert_int_equal(b.len, 10 + sizeof big);
    assert_false(gw_buf_failed(&b));
    gw_buf_reset(&b);
    assert_int_equal(b.len, 0);
    gw_buf_adds(&b, "again");
    s = gw_buf_steal(&b, &len);
    assert_int_equal(len, 5);
    assert_string_equal(s, "again");
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    free(s);
    gw_buf_adds(&b, "after a steal");
    assert_string_equal(gw_buf_str(&b), "after a steal");
    gw_buf_free(&b);
    assert_null(b.p);
    gw_buf_free(&b); /* twice is harmless */
}

static void
test_buf_arena(void **state)
{
    struct gw_arena a;
    struct gw_buf b;
    char chunk[100];

    (void)state;
    gw_arena_init(&a);
    gw_buf_init(&b, arena_alloc, &a, 0, 16);
    assert_non_null(b.p);
    memset(chunk, 'q', sizeof chunk);
    for (int i = 0; i < 200; i++)
        gw_buf_add(&b, chunk, sizeof chunk);
    assert_int_equal(b.len, 20000);
    assert_false(gw_buf_failed(&b));
    assert_int_equal(strspn(gw_buf_str(&b), "q"), 20000);
    gw_buf_free(&b); /* forgets; the arena frees */
    gw_arena_free(&a);
}

/* Past the ceiling nothing more is written, later writes included, and `over` says so. */
static void
test_buf_ceiling(void **state)
{
    struct gw_arena a;
    struct gw_buf b;

    (void)state;
    gw_arena_init(&a);
    gw_buf_init(&b, arena_alloc, &a, 10, 1000); /* a hint past the ceiling is no write */
    assert_false(gw_buf_failed(&b));
    gw_buf_add(&b, "0123456789", 10);
    assert_false(gw_buf_failed(&b));
    assert_int_equal(b.len, 10);
    gw_buf_addc(&b, 'x');
    assert_true(b.over);
    assert_true(gw_buf_failed(&b));
    gw_buf_addc(&b, 'y');
    gw_buf_add(&b, "", 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(gw_buf_reserve(&b, 1), -1);
    assert_string_equal(gw_buf_str(&b), "0123456789");
    gw_buf_reset(&b);
    assert_false(gw_buf_failed(&b));
    gw_buf_adds(&b, "ok");
    assert_string_equal(gw_buf_str(&b), "ok");
    gw_arena_free(&a);
}

static void
test_hex(void **state)
{
    static const unsigned char d[] = {0x00, 0x7f, 0xab, 0xff};
    char out[9] = {0};

    (void)state;
    gw_hex_encode(out, d, sizeof d);
    assert_string_equal(out, "007fabff");
    assert_int_equal(gw_hexval('0'), 0);
    assert_int_equal(gw_hexval('9'), 9);
    assert_int_equal(gw_hexval('a'), 10);
    assert_int_equal(gw_hexval('F'), 15);
    assert_int_equal(gw_hexval('g'), -1);
    assert_int_equal(gw_hexval('/'), -1);
    assert_int_equal(gw_hexval(0), -1);
}

static void
test_utf8(void **state)
{
    static const struct {
        uint32_t cp;
        const char *utf8;
    } enc[] = {
        {0x24, "$"},
        {0xA2, "\xC2\xA2"},
        {0x20AC, "\xE2\x82\xAC"},
        {0xFFFD, "\xEF\xBF\xBD"},
        {0x10348, "\xF0\x90\x8D\x88"},
        {0x10FFFF, "\xF4\x8F\xBF\xBF"},
    };
    static const struct {
        const char *s;
        size_t len; /* gw_utf8_len's answer */
    } dec[] = {
        {"\xC2\xA2", 2},
        {"\xE2\x82\xAC", 3},
        {"\xF0\x90\x8D\x88", 4},
        {"\xC0\xAF", 0},
        /* overlong */ {"\xE0\x80\xAF", 0},
        {"\xED\xA0\x80", 0},
        /* surrogate */ {"\xF4\x90\x80\x80", 0},
        {"\x80", 0},
        /* continuation alone */ {"\xE2\x82", 0}, /* cut */
        {"a", 0},
        /* ASCII is not asked */ {"\xF5\x80\x80\x80", 0},
    };
    char out[4];

    (void)state;
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        size_t n = gw_utf8_put(enc[i].cp, out);
        assert_int_equal(n, strlen(enc[i].utf8));
        assert_memory_equal(out, enc[i].utf8, n);
    }
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++)
        assert_int_equal(gw_utf8_len((const unsigned char *)dec[i].s, strlen(dec[i].s)),
                         dec[i].len);
}

static void
test_json_string(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        unsigned flags;
        const char *out;
    } cases[] = {
        {"plain", 5, 0, "\"plain\""},
        {"q\"b\\s/", 6, 0, "\"q\\\"b\\\\s/\""},
        {"\b\f\n\r\t", 5, 0, "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", 3, 0, "\"\\u0001\\u001f\x7f\""},
        {"nul\0in", 6, 0, "\"nul\\u0000in\""},
        {"caf\xC3\xA9", 5, 0, "\"caf\xC3\xA9\""},
        {"bad\xFF", 4, 0, "\"bad\xFF\""},
        {"bad\xFFz", 5, GW_JSON_FIX_UTF8, "\"bad\xEF\xBF\xBDz\""},
        {"\xE2\x82\xAC\xE2\x82", 5, GW_JSON_FIX_UTF8, "\"\xE2\x82\xAC\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"", 0, 0, "\"\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_buf b = {0};
        gw_json_str(&b, cases[i].in, cases[i].n, cases[i].flags);
        assert_string_equal(gw_buf_str(&b), cases[i].out);
        gw_buf_free(&b);
    }
}

/* gw_json_escape fills what room it is given with whole characters and says what the next one
 * needs; every room size gives the same text in the end. */
static void
test_json_escape_room(void **state)
{
    static const char in[] = "a\"\xE2\x82\xAC\x01z\xFF\xF0\x90\x8D\x88.";
    const size_t n = sizeof in - 1;
    char want[128], out[128];
    size_t used, need, wlen, o;

    (void)state;
    wlen = gw_json_escape(want, sizeof want, in, n, GW_JSON_FIX_UTF8, &used, &need);
    assert_int_equal(used, n);
    assert_int_equal(need, 0);
    for (size_t room = 1; room < 8; room++) {
        size_t i = 0, give = room;
        o = 0;
        while (i < n) {
            size_t k = gw_json_escape(out + o, give, in + i, n - i, GW_JSON_FIX_UTF8, &used, &need);
            assert_true(k <= give);
            o += k;
            i += used;
            give = need > room ? need : room; /* what the next character takes, at least */
        }
        assert_int_equal(o, wlen);
        assert_memory_equal(out, want, wlen);
    }
}

/* The writer into a buffer stops at the ceiling as any write does. */
static void
test_json_chars_ceiling(void **state)
{
    struct gw_arena a;
    struct gw_buf b;

    (void)state;
    gw_arena_init(&a);
    gw_buf_init(&b, arena_alloc, &a, 8, 0);
    gw_json_chars(&b, "abcdefgh", 8, 0); /* exactly the ceiling */
    assert_false(gw_buf_failed(&b));
    assert_string_equal(gw_buf_str(&b), "abcdefgh");
    gw_buf_reset(&b);
    gw_json_chars(&b, "abcdef\n", 7, 0); /* 8 bytes out: fits */
    assert_false(gw_buf_failed(&b));
    assert_string_equal(gw_buf_str(&b), "abcdef\\n");
    gw_buf_reset(&b);
    gw_json_chars(&b, "abcdefg\n", 8, 0); /* 9 bytes out */
    assert_true(b.over);
    gw_arena_free(&a);
}

static void
test_json_number(void **state)
{
    static const char *const good[] = {"0", "-0", "12", "1.5", "-0.25", "1e5", "1E+5", "2.5e-3"};
    static const char *const bad[] = {"", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x1", "1 "};

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(gw_json_number_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(gw_json_number_ok(bad[i], strlen(bad[i])));
}

static void
test_alloc(void **state)
{
    char *s = gw_xstrdup("copy");
    int *z = gw_xcalloc(4, sizeof *z);
    void *e = gw_xmalloc(0), *c0 = gw_xcalloc(0, 8);

    (void)state;
    assert_string_equal(s, "copy");
    free(s);
    s = gw_xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    for (int i = 0; i < 4; i++)
        assert_int_equal(z[i], 0);
    z = gw_xrealloc(z, 100 * sizeof *z);
    z[99] = 7;
    assert_non_null(e);
    assert_non_null(c0);
    free(s);
    free(z);
    free(e);
    free(c0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_malloc),
        cmocka_unit_test(test_buf_arena),
        cmocka_unit_test(test_buf_ceiling),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_escape_room),
        cmocka_unit_test(test_json_chars_ceiling),
        cmocka_unit_test(test_json_number),
        cmocka_unit_test(test_alloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
