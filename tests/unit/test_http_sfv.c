/* test_http_sfv.c: the structured field parser and serializer (base/http_sfv.h, RFC 8941):
 * tables of values of each kind (dictionaries, lists, inner lists, items: integers, decimals,
 * strings, tokens, byte sequences, booleans, parameters) with the canonical form they serialize
 * to, and of malformed values, each refused. The examples are RFC 8941's and RFC 9421's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "http_sfv.h"

enum kind { DICT, LIST, ITEM };

struct ok_case {
    enum kind kind;
    const char *in;
    const char *out; /* the serialization */
};

static const struct ok_case ok_cases[] = {
    /* items */
    { ITEM, "42", "42" },
    { ITEM, "-42", "-42" },
    { ITEM, "999999999999999", "999999999999999" },
    { ITEM, "1.5", "1.5" },
    { ITEM, "-0.25", "-0.25" },
    { ITEM, "1.500", "1.5" },
    { ITEM, "123456789012.123", "123456789012.123" },
    { ITEM, "\"hello world\"", "\"hello world\"" },
    { ITEM, "\"a \\\"quoted\\\" \\\\ string\"", "\"a \\\"quoted\\\" \\\\ string\"" },
    { ITEM, "\"\"", "\"\"" },
    { ITEM, "foo123/456", "foo123/456" },
    { ITEM, "*tok:en", "*tok:en" },
    { ITEM, ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:",
      ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:" },
    { ITEM, "::", "::" },
    { ITEM, "?1", "?1" },
    { ITEM, "?0", "?0" },
    { ITEM, "  5;foo=bar;baz  ", "5;foo=bar;baz" },
    { ITEM, "text/html;charset=utf-8", "text/html;charset=utf-8" },
    { ITEM, "1;a=?1", "1;a" },
    { ITEM, "1;a=1;a=2", "1;a=2" },
    { ITEM, "1; a=1", "1;a=1" },
    /* lists and inner lists */
    { LIST, "sugar, tea, rum", "sugar, tea, rum" },
    { LIST, "sugar,tea,\trum", "sugar, tea, rum" },
    { LIST, "", "" },
    { LIST, "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()",
      "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()" },
    { LIST, "(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
      "(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1" },
    { LIST, "(  1   2 )", "(1 2)" },
    { LIST, "abc;a=1;b=2; cde_456, (ghi;jk=4 l);q=\"9\";r=w",
      "abc;a=1;b=2;cde_456, (ghi;jk=4 l);q=\"9\";r=w" },
    { LIST, "a, a", "a, a" },
    /* dictionaries */
    { DICT, "en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:", "en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:" },
    { DICT, "a=?0, b, c;foo=bar", "a=?0, b, c;foo=bar" },
    { DICT, "rating=1.5, feelings=(joy sadness)", "rating=1.5, feelings=(joy sadness)" },
    { DICT, "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid", "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid" },
    { DICT, "a=1, b=2, a=3", "a=3, b=2" },
    { DICT, "a=1 ,\tb=2", "a=1, b=2" },
    { DICT, "", "" },
    { DICT, "sig1=(\"@method\" \"@authority\" \"@path\");created=1618884473;keyid=\"k\"",
      "sig1=(\"@method\" \"@authority\" \"@path\");created=1618884473;keyid=\"k\"" },
    { DICT, "sig-b22=(\"@query-param\";name=\"Pet\");tag=\"header-example\"",
      "sig-b22=(\"@query-param\";name=\"Pet\");tag=\"header-example\"" },
};

struct bad_case {
    enum kind kind;
    const char *in;
};

static const struct bad_case bad_cases[] = {
    /* numbers */
    { ITEM, "1234567890123456" },     /* 16 digits */
    { ITEM, "1234567890123.1" },      /* 13 integer digits in a decimal */
    { ITEM, "1.1234" },               /* 4 fraction digits */
    { ITEM, "1." },
    { ITEM, "-" },
    { ITEM, "--1" },
    { ITEM, "1 2" },
    /* strings */
    { ITEM, "\"unterminated" },
    { ITEM, "\"bad \\escape\"" },
    { ITEM, "\"tab\there\"" },
    { ITEM, "\"caf\xc3\xa9\"" },
    /* tokens, booleans, byte sequences */
    { ITEM, "9abc" },                 /* a number, then letters */
    { ITEM, "?2" },
    { ITEM, "?" },
    { ITEM, ":abc" },                 /* unterminated */
    { ITEM, ":a*b=:" },               /* not base64 */
    { ITEM, ":YQ:" },                 /* unpadded */
    { ITEM, ":YR==:" },               /* trailing bits set */
    { ITEM, "" },
    { ITEM, "(1 2)" },                /* an inner list is not an item */
    { ITEM, "@tok" },
    /* parameters */
    { ITEM, "1;A=2" },                /* upper-case key */
    { ITEM, "1;=2" },
    { ITEM, "1;a=(1)" },
    { ITEM, "1;a=" },
    /* lists and inner lists */
    { LIST, "a," },
    { LIST, "a,,b" },
    { LIST, ",a" },
    { LIST, "(1 2" },
    { LIST, "(1,2)" },
    { LIST, "(1\t2)" },
    { LIST, "((1))" },
    { LIST, "(1)(2)" },
    { LIST, "a b" },
    /* dictionaries */
    { DICT, "a=1," },
    { DICT, "A=1" },
    { DICT, "a=1;" },
    { DICT, "a==1" },
    { DICT, "1a=1" },
    { DICT, "a=1 b=2" },
    { DICT, "a=\"x\"extra" },
    { DICT, "\ta=1" },               /* a leading tab is not a space */
};

static const char *
kind_name(enum kind k)
{
    return k == DICT ? "dictionary" : k == LIST ? "list" : "item";
}

static int
parse(struct gw_arena *a, enum kind k, const char *s, struct gw_sfv_member **m,
      struct gw_sfv_item *it)
{
    size_t n = strlen(s);

    return k == DICT ? gw_sfv_parse_dict(a, s, n, m)
           : k == LIST ? gw_sfv_parse_list(a, s, n, m)
                       : gw_sfv_parse_item(a, s, n, it);
}

static void
test_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const struct ok_case *c = &ok_cases[i];
        struct gw_arena a;
        struct gw_sfv_member *m = NULL;
        struct gw_sfv_item it;
        char out[512];
        long n;

        gw_arena_init(&a);
        if (parse(&a, c->kind, c->in, &m, &it) != 0)
            fail_msg("%s %s: refused", kind_name(c->kind), c->in);
        n = c->kind == DICT ? gw_sfv_write_dict(out, sizeof out, m)
            : c->kind == LIST ? gw_sfv_write_list(out, sizeof out, m)
                              : gw_sfv_write_item(out, sizeof out, &it);
        assert_true(n >= 0 && (size_t)n < sizeof out);
        out[n] = '\0';
        if (strcmp(out, c->out) != 0)
            fail_msg("%s %s: serialized as %s, not %s", kind_name(c->kind), c->in, out, c->out);
        gw_arena_free(&a);
    }
}

static void
test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct gw_arena a;
        struct gw_sfv_member *m = NULL;
        struct gw_sfv_item it;

        gw_arena_init(&a);
        if (parse(&a, c->kind, c->in, &m, &it) != -1)
            fail_msg("%s \"%s\": accepted", kind_name(c->kind), c->in);
        gw_arena_free(&a);
    }
}

/* What a reader gets: values by type, members by key, parameters. */
static void
test_values(void **state)
{
    struct gw_arena a;
    struct gw_sfv_member *d;
    const struct gw_sfv_member *e;
    const char *s;
    size_t len;
    int64_t num;
    int b;

    (void)state;
    gw_arena_init(&a);
    assert_int_equal(gw_sfv_parse_dict(&a, "x=\"a\\\"b\", y=:AAEC:;p=7, z=-1.25, w=(t1 \"s\");f",
                                       strlen("x=\"a\\\"b\", y=:AAEC:;p=7, z=-1.25, "
                                              "w=(t1 \"s\");f"), &d),
                     0);
    e = gw_sfv_get(d, "x");
    assert_non_null(e);
    assert_int_equal(e->v.type, GW_SFV_STRING);
    assert_string_equal(e->v.str, "a\"b");
    e = gw_sfv_get(d, "y");
    assert_int_equal(e->v.type, GW_SFV_BYTES);
    assert_int_equal(e->v.len, 3);
    assert_memory_equal(e->v.str, "\0\1\2", 3);
    assert_int_equal(gw_sfv_param_int(&e->v, "p", &num), 1);
    assert_int_equal(num, 7);
    assert_int_equal(gw_sfv_param_str(&e->v, "p", &s, &len), -1); /* an integer */
    assert_int_equal(gw_sfv_param_int(&e->v, "q", &num), 0);
    e = gw_sfv_get(d, "z");
    assert_int_equal(e->v.type, GW_SFV_DECIMAL);
    assert_int_equal(e->v.num, -1250);
    e = gw_sfv_get(d, "w");
    assert_int_equal(e->v.type, GW_SFV_INNER_LIST);
    assert_int_equal(e->v.items->v.type, GW_SFV_TOKEN);
    assert_string_equal(e->v.items->v.str, "t1");
    assert_int_equal(e->v.items->next->v.type, GW_SFV_STRING);
    assert_null(e->v.items->next->next);
    assert_int_equal(gw_sfv_param_bool(&e->v, "f", &b), 1);
    assert_int_equal(b, 1);
    assert_null(gw_sfv_get(d, "v"));
    gw_arena_free(&a);
}

/* Bounded: a value with more than GW_SFV_MAX_NODES members is refused, one with as many is not;
 * a short buffer gets what fits and the length it needs. */
static void
test_bounds(void **state)
{
    struct gw_arena a;
    struct gw_sfv_member *m;
    char *s = malloc(GW_SFV_MAX_NODES * 3 + 8), out[8];
    size_t n = 0;

    (void)state;
    gw_arena_init(&a);
    for (int i = 0; i < GW_SFV_MAX_NODES; i++)
        n += (size_t)sprintf(s + n, "%sa", i ? ", " : "");
    assert_int_equal(gw_sfv_parse_list(&a, s, n, &m), 0);
    n += (size_t)sprintf(s + n, ", a");
    assert_int_equal(gw_sfv_parse_list(&a, s, n, &m), -1);
    assert_int_equal(gw_sfv_parse_list(&a, "abc, defgh, ijk", 15, &m), 0);
    assert_int_equal(gw_sfv_write_list(out, sizeof out, m), 15);
    assert_memory_equal(out, "abc, def", 8);
    free(s);
    gw_arena_free(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
