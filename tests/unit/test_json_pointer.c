/* test_json_pointer.c: JSON pointer segments (base/json_pointer.h): unescaping, array indexes,
 * and the escapes refused, as a table of cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_pointer.h"

static void
test_segments(void **state)
{
    static const struct {
        const char *text;
        int rc;
        const char *key;
        long index;
    } cases[] = {
        {"card", 0, "card", -1},
        {"", 0, "", -1},
        {"a~1b", 0, "a/b", -1},
        {"m~0n", 0, "m~n", -1},
        {"~01", 0, "~1", -1}, /* ~0 first: "~" then "1", not "/" */
        {"0", 0, "0", 0},
        {"12", 0, "12", 12},
        {"012", 0, "012", -1}, /* a leading zero is a member name */
        {"123456789", 0, "123456789", 123456789},
        {"1234567890", 0, "1234567890", -1}, /* ten digits: a name */
        {"1a", 0, "1a", -1},
        {"*", 0, "*", -1},
        {"~", -1, NULL, 0},
        {"a~2", -1, NULL, 0},
        {"a~", -1, NULL, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *key = (char *)"unset";
        long index = -7;
        int rc = gw_jptr_segment(cases[i].text, strlen(cases[i].text), &key, &index);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": returned %d, not %d", cases[i].text, rc, cases[i].rc);
        if (cases[i].key == NULL) {
            assert_null(key);
            continue;
        }
        assert_string_equal(key, cases[i].key);
        if (index != cases[i].index)
            fail_msg("\"%s\": index %ld, not %ld", cases[i].text, index, cases[i].index);
        free(key);
    }
}

/* The segment is text[0..n), not up to a NUL: the '/' that ends it is not read. */
static void
test_length(void **state)
{
    char *key;
    long index;
    (void)state;

    assert_int_equal(gw_jptr_segment("ab/7", 2, &key, &index), 0);
    assert_string_equal(key, "ab");
    free(key);
    assert_int_equal(gw_jptr_segment("7/x", 1, &key, &index), 0);
    assert_int_equal(index, 7);
    free(key);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_length),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
