/* test_json_read.c: the one JSON reader (base/json_read.h): its tokens with keys and positions,
 * numbers kept as written, strings decoded, the limits, and its refusals as the gateway words
 * them (the readers that use it, json_to_xml and tf_json_parse, have their own tests of the
 * same messages in test_xml_json.c and test_threat.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "json_read.h"

static const struct gw_json_limits roomy = {64, 10000, 1 << 20};

static void *
arena_alloc(void *a, size_t n)
{
    return gw_arena_alloc(a, n);
}

/* The tokens of text, one per line: "TYPE key@kpos value@pos". */
static void
tokens(const char *text, char *out, size_t outlen)
{
    static const char *const names[] = {"END",    "NULL",   "FALSE", "TRUE", "NUMBER",
                                        "STRING", "OBJECT", "ARRAY", "CLOSE"};
    struct gw_arena a;
    struct gw_json_reader r;
    struct gw_json_token t;
    size_t o = 0;
    int type;

    gw_arena_init(&a);
    gw_json_reader_init(&r, text, strlen(text), &roomy, arena_alloc, &a, NULL, 0);
    do {
        type = gw_json_next(&r, &t);
        assert_true(type >= 0);
        o += (size_t)snprintf(out + o, outlen - o, "%s", names[type]);
        if (t.key != NULL)
            o += (size_t)snprintf(out + o, outlen - o, " %.*s@%zu", (int)t.kn, t.key, t.kpos);
        if (type == GW_JSON_STRING || type == GW_JSON_NUMBER)
            o += (size_t)snprintf(out + o, outlen - o, " %.*s", (int)t.n, t.s);
        o += (size_t)snprintf(out + o, outlen - o, "@%zu\n", t.pos);
    } while (type != GW_JSON_END);
    assert_int_equal(gw_json_next(&r, &t), GW_JSON_END); /* and again */
    gw_json_reader_done(&r);
    gw_arena_free(&a);
}

static void
test_tokens(void **state)
{
    char got[1024];

    (void)state;
    tokens(" {\"a\": [1, 6.20, -0, 1e-400, true], \"b\\u0041\": {\"c\": null}, \"d\": \"x\\ny\","
           " \"e\": {}, \"f\": [], \"g\": false} ",
           got, sizeof got);
    assert_string_equal(got, "OBJECT@1\n"
                             "ARRAY a@2@7\n"
                             "NUMBER 1@8\n"
                             "NUMBER 6.20@11\n"
                             "NUMBER -0@17\n"
                             "NUMBER 1e-400@21\n"
                             "TRUE@29\n"
                             "CLOSE@33\n"
                             "OBJECT bA@36@47\n"
                             "NULL c@48@53\n"
                             "CLOSE@57\n"
                             "STRING d@60 x\ny@65\n"
                             "OBJECT e@73@78\n"
                             "CLOSE@79\n"
                             "ARRAY f@82@87\n"
                             "CLOSE@88\n"
                             "FALSE g@91@96\n"
                             "CLOSE@101\n"
                             "END@103\n");
    tokens("12345678901234567890123456789", got, sizeof got);
    assert_string_equal(got, "NUMBER 12345678901234567890123456789@0\nEND@29\n");
    tokens("\"\\ud83d\\ude00 \\u00e9\"", got, sizeof got);
    assert_string_equal(got, "STRING \xF0\x9F\x98\x80 \xC3\xA9@0\nEND@21\n");
}

/* Refusals: the reason, the message, and -1 again after. */
static void
test_refusals(void **state)
{
    static const struct {
        const char *text;
        struct gw_json_limits l;
        enum gw_json_refusal why;
        const char *err;
    } cases[] = {
        {"", {64, 100, 100}, GW_JSON_MALFORMED, "JSON: the document is empty"},
        {" \n ", {64, 100, 100}, GW_JSON_MALFORMED, "JSON: the document is empty"},
        {"{\"a\":1,}",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: expected a key at line 1, column 8"},
        {"[1,\n2 3]",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: expected ',' or ']' at line 2, column 3"},
        {"[[[1]]]",
         {2, 100, 100},
         GW_JSON_LIMIT,
         "JSON: nesting deeper than 2 at line 1, column 3"},
        {"[1,2,3]",
         {64, 2, 100},
         GW_JSON_LIMIT,
         "JSON: more than 2 entries in one container at line 1, column 5"},
        {"[\"abcd\"]",
         {64, 100, 3},
         GW_JSON_LIMIT,
         "JSON: string longer than 3 bytes at line 1, column 2"},
        {"{\"k\\u0041\":1,\"kA\":2}",
         {64, 100, 100},
         GW_JSON_FORBIDDEN,
         "JSON: duplicate object key \"kA\" at line 1, column 14"},
        {"[\"a\\u0000\"]",
         {64, 100, 100},
         GW_JSON_FORBIDDEN,
         "JSON: \\u0000 in a string is not accepted at line 1, column 4"},
        {"[1e400]",
         {64, 100, 100},
         GW_JSON_LIMIT,
         "JSON: number beyond the range of a double at line 1, column 2"},
        {"[01]", {64, 100, 100}, GW_JSON_MALFORMED, "JSON: invalid number at line 1, column 2"},
        {"[\"\xff\"]",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: invalid UTF-8 in a string at line 1, column 3"},
        {"[\"\\udc00\"]",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: invalid \\u escape (lone surrogate) at line 1, column 3"},
        {"{} x",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: end of input expected at line 1, column 4"},
        {"[tru]", {64, 100, 100}, GW_JSON_MALFORMED, "JSON: invalid token at line 1, column 2"},
        {"[\"abc",
         {64, 100, 100},
         GW_JSON_MALFORMED,
         "JSON: unterminated string at line 1, column 2"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_arena a;
        struct gw_json_reader r;
        struct gw_json_token t;
        char err[256];

        gw_arena_init(&a);
        gw_json_reader_init(&r, cases[i].text, strlen(cases[i].text), &cases[i].l, arena_alloc, &a,
                            err, sizeof err);
        assert_int_equal(gw_json_skip(&r), -1);
        if (r.why != cases[i].why || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu (%s): %d \"%s\"", i, cases[i].text, r.why, err);
        assert_int_equal(gw_json_next(&r, &t), -1);
        gw_json_reader_done(&r);
        gw_arena_free(&a);
    }
}

/* A duplicate key among many members is found too (the sorted check). */
static void
test_many_members(void **state)
{
    char text[4096];
    size_t o = 0;
    struct gw_arena a;
    struct gw_json_reader r;
    char err[256];

    (void)state;
    o += (size_t)snprintf(text + o, sizeof text - o, "{");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "\"k%d\":%d,", i, i);
    snprintf(text + o, sizeof text - o, "\"k7\":0}");
    gw_arena_init(&a);
    gw_json_reader_init(&r, text, strlen(text), &roomy, arena_alloc, &a, err, sizeof err);
    assert_int_equal(gw_json_skip(&r), -1);
    assert_int_equal(r.why, GW_JSON_FORBIDDEN);
    assert_non_null(strstr(err, "duplicate object key \"k7\""));
    gw_json_reader_done(&r);
    gw_arena_free(&a);
}

/* Past the stacks the reader starts with (16 containers, 64 keys), they grow on the heap. */
static void
test_deep_and_wide(void **state)
{
    char text[8192];
    size_t o = 0;
    struct gw_arena a;
    struct gw_json_reader r;
    char err[256];

    (void)state;
    for (int i = 0; i < 60; i++) { /* {"k":[{"k":[ ... 60 deep */
        if (i % 2)
            text[o++] = '[';
        else
            o += (size_t)snprintf(text + o, 16, "{\"k\":");
    }
    text[o++] = '1';
    for (int i = 59; i >= 0; i--)
        text[o++] = i % 2 ? ']' : '}';
    text[o] = '\0';
    gw_arena_init(&a);
    gw_json_reader_init(&r, text, o, &roomy, arena_alloc, &a, err, sizeof err);
    assert_int_equal(gw_json_skip(&r), 0);
    gw_json_reader_done(&r);
    o = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "\"m%d\":{\"a\":1,\"b\":2},", i);
    snprintf(text + o, sizeof text - o, "\"m299\":0}");
    gw_json_reader_init(&r, text, strlen(text), &roomy, arena_alloc, &a, err, sizeof err);
    assert_int_equal(gw_json_skip(&r), -1);
    assert_int_equal(r.why, GW_JSON_FORBIDDEN);
    assert_non_null(strstr(err, "duplicate object key \"m299\""));
    gw_json_reader_done(&r);
    gw_arena_free(&a);
}

static void
test_line_col(void **state)
{
    static const char text[] = "ab\ncd\n\nef";
    struct gw_json_cursor c = {0};
    size_t line, col;

    (void)state;
    gw_json_line_col(text, sizeof text - 1, &c, 0, &line, &col);
    assert_true(line == 1 && col == 1);
    gw_json_line_col(text, sizeof text - 1, &c, 4, &line, &col);
    assert_true(line == 2 && col == 2);
    gw_json_line_col(text, sizeof text - 1, &c, 7, &line, &col);
    assert_true(line == 4 && col == 1);
    gw_json_line_col(text, sizeof text - 1, &c, 1, &line, &col); /* back: from the start */
    assert_true(line == 1 && col == 2);
    gw_json_line_col(text, sizeof text - 1, &c, 100, &line, &col); /* past the end: the end */
    assert_true(line == 4 && col == 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),       cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_many_members), cmocka_unit_test(test_deep_and_wide),
        cmocka_unit_test(test_line_col),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
