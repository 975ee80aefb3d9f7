/* test_hostname.c: the form of a host name (base/hostname.h), as a table of cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hostname.h"

static void
test_names(void **state)
{
    static char long_label[300];
    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"api.example.com", 1},
        {"API-1.Example.COM", 1},
        {"localhost", 1},
        {"10.0.0.1", 1},     /* an IPv4 address has this form too */
        {"example.com.", 1}, /* the root's dot */
        {"", 0},
        {".example.com", 0},
        {"a..b", 0},
        {"a b", 0},
        {"a_b", 0},
        {"*.example.com", 0}, /* the wildcard is the callers' (SNI, route hosts) */
        {"[::1]", 0},
        {"h\xc3\xa9.example", 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (gw_host_name_valid(cases[i].name, strlen(cases[i].name)) != cases[i].ok)
            fail_msg("\"%s\": expected %s", cases[i].name, cases[i].ok ? "valid" : "invalid");
    memset(long_label, 'a', 253);
    assert_int_equal(gw_host_name_valid(long_label, 253), 1);
    assert_int_equal(gw_host_name_valid(long_label, 254), 0);
    assert_int_equal(gw_host_name_valid("a.b..c", 3), 1); /* only h[0..n) is read */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
