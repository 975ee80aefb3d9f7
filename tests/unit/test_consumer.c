/* test_consumer.c: partners/consumer.h's pure parts: the key's form, a made key against its
 * hash, UTC times, and api_keys.secret_file's secret as the gateway and `portico consumer` read
 * it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "consumer.h"

static void
test_key_forms(void **state)
{
    static const struct {
        const char *key;
        const char *kid; /* NULL: refused */
    } cases[] = {
        {"ptk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0123456789ab"},
        {"ptk_0123456789ab_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE", "0123456789ab"},
        {"ptk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},   /* short */
        {"ptk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL}, /* long */
        {"ptk_0123456789AB_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},  /* upper kid */
        {"ptk_0123456789ag_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},  /* not hex */
        {"ptx_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},  /* prefix */
        {"ptk_0123456789ab-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},  /* separator */
        {"ptk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", NULL},  /* base64, not url */
        {"ptk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL},  /* padding */
        {"", NULL},
    };
    char kid[PT_KID_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = pt_key_kid(cases[i].key, strlen(cases[i].key), kid);
        if (cases[i].kid == NULL) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(kid, cases[i].kid);
        }
    }
    /* a NUL inside the key's length is not a key character */
    char nul[PT_KEY_LEN + 1];
    memcpy(nul, cases[0].key, PT_KEY_LEN + 1);
    nul[30] = '\0';
    assert_int_equal(pt_key_kid(nul, PT_KEY_LEN, kid), -1);
    assert_true(pt_kid_valid("0123456789ab"));
    assert_false(pt_kid_valid("0123456789a"));
    assert_false(pt_kid_valid("0123456789abc"));
    assert_false(pt_kid_valid("0123456789aB"));
}

static void
test_made_key_matches_its_hash(void **state)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef";
    struct gw_hmac_sha256 mac;
    char key[PT_KEY_LEN + 1], kid[PT_KID_LEN + 1], other[PT_KEY_LEN + 1];
    unsigned char h[32];
    struct pt_key k, k2;

    (void)state;
    gw_hmac_sha256_init(&mac, secret, strlen(secret));
    assert_int_equal(pt_key_make(&mac, key, &k), 0);
    assert_int_equal(strlen(key), PT_KEY_LEN);
    assert_int_equal(pt_key_kid(key, strlen(key), kid), 0);
    assert_string_equal(kid, k.kid);
    gw_hmac_sha256(&mac, key, strlen(key), h);
    assert_memory_equal(h, k.hash, 32);
    assert_true(k.created > 0 && k.expires == 0 && !k.revoked);
    /* another key: another id and secret */
    assert_int_equal(pt_key_make(&mac, other, &k2), 0);
    assert_string_not_equal(k.kid, k2.kid);
    assert_memory_not_equal(key + 4 + PT_KID_LEN + 1, other + 4 + PT_KID_LEN + 1,
                            PT_KEY_SECRET_LEN);
}

static void
test_times(void **state)
{
    static const struct {
        const char *s;
        int64_t t; /* -1: refused */
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-05T10:00:00Z", 1796464800},
        {"2027-01-01T00:00:00Z", 1798761600},
        {"2026-12-05T10:00:00", -1},
        {"2026-12-05 10:00:00Z", -1},
        {"2026-13-05T10:00:00Z", -1},
        {"2026-12-05T24:00:00Z", -1},
        {"2026-12-05T10:00:00+01:00", -1},
        {"2026-12-05T10:00:00Zx", -1},
        {"", -1},
    };
    char out[32];
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = pt_time_parse(cases[i].s, &t);
        assert_int_equal(rc, cases[i].t < 0 ? -1 : 0);
        if (cases[i].t < 0)
            continue;
        assert_int_equal(t, cases[i].t);
        pt_time_format(t, out);
        assert_string_equal(out, cases[i].s);
    }
}

/* The secret file: one final newline is not the secret's; fewer than 32 bytes are refused. */
static void
test_secret_file(void **state)
{
    static const struct {
        const char *content;
        int ok;
    } cases[] = {
        {"0123456789abcdef0123456789abcdef", 1},
        {"0123456789abcdef0123456789abcdef\n", 1},
        {"0123456789abcdef0123456789abcde\n", 0}, /* 31 and a newline */
        {"", 0},
    };
    char path[] = "/tmp/test_consumer_secret_XXXXXX", err[256];
    struct gw_hmac_sha256 mac, want;
    unsigned char a[32], b[32];
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    gw_hmac_sha256_init(&want, "0123456789abcdef0123456789abcdef", 32);
    gw_hmac_sha256(&want, "x", 1, b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].content, f);
        fclose(f);
        err[0] = '\0';
        assert_int_equal(pt_key_secret_load(path, NULL, &mac, err, sizeof err),
                         cases[i].ok ? 0 : -1);
        if (!cases[i].ok) {
            assert_non_null(strstr(err, "a secret needs at least 32"));
            continue;
        }
        gw_hmac_sha256(&mac, "x", 1, a);
        assert_memory_equal(a, b, 32);
    }
    unlink(path);
    assert_int_equal(pt_key_secret_load(path, NULL, &mac, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_made_key_matches_its_hash),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_secret_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
