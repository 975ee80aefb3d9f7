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

/* RFC 4231's cases 1, 2 and 6 (a key longer than a block is hashed first) */
static void
test_hmac(void **state)
{
    unsigned char k1[20], k6[131], d[32];
    struct gw_hmac_sha256 h;
    char hex[65];

    (void)state;
    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    gw_hmac_sha256_init(&h, k1, sizeof k1);
    gw_hmac_sha256(&h, "Hi There", 8, d);
    hex_of(d, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    gw_hmac_sha256_init(&h, "Jefe", 4);
    gw_hmac_sha256(&h, "what do ya want for nothing?", 28, d);
    hex_of(d, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    gw_hmac_sha256(&h, "what do ya want for nothing?", 28, d); /* the key's states are reused */
    hex_of(d, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    gw_hmac_sha256_init(&h, k6, sizeof k6);
    gw_hmac_sha256(&h, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
    hex_of(d, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_digests),
        cmocka_unit_test(test_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
