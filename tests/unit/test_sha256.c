/* test_sha256.c: base/sha256.h against the FIPS 180-2 examples, in one call and fed in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"
#include "text.h"

static void
hex_of(const unsigned char d[32], char out[65])
{
    gw_hex_encode(out, d, 32);
    out[64] = '\0';
}

static void
test_known_digests(void **state)
{
    static const struct {
        const char *in, *hex;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    unsigned char d[32];
    char hex[65];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_sha256 s;
        size_t n = strlen(cases[i].in);

        gw_sha256_once(cases[i].in, n, d);
        hex_of(d, hex);
        assert_string_equal(hex, cases[i].hex);
        /* the same bytes a few at a time, as bodies pass */
        gw_sha256_init(&s);
        for (size_t k = 0; k < n; k += 5)
            gw_sha256_update(&s, cases[i].in + k, n - k < 5 ? n - k : 5);
        gw_sha256_final(&s, d);
        hex_of(d, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_digests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
