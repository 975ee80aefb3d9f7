/* test_plugin_example.c: the example plugin transforms/examples/sign.c, loaded as the gateway
 * loads it: dlopen of $BUILD/plugins/sign.so (BUILD defaults to build/release), its
 * `portico_transforms` array, the ABI version, then create and apply through a tf_conf and a
 * tf_ctx of the gateway. Signatures are checked against RFC 4231's test vectors and against
 * OpenSSL's HMAC on bodies of every length around the SHA-256 block size. */
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tf_xml_fixture.h"

struct plugin {
    struct fx *fx;
    void *so;
    const struct tf_ops *ops;
    char dir[64];
};

static int
setup(void **state)
{
    struct plugin *p = calloc(1, sizeof *p);
    const char *build = getenv("BUILD");
    const struct tf_ops *const *list;
    char path[1024];
    void *fxs;

    assert_non_null(p);
    snprintf(path, sizeof path, "%s/plugins/sign.so", build && *build ? build : "build/release");
    if ((p->so = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
        fail_msg("dlopen %s: %s (make builds transforms/examples/*.c into plugins/)", path,
                 dlerror());
    list = dlsym(p->so, "portico_transforms");
    assert_non_null(list);
    assert_non_null(list[0]);
    assert_null(list[1]);
    assert_int_equal(list[0]->abi, TF_ABI_VERSION);
    assert_string_equal(list[0]->name, "sign");
    assert_int_equal(list[0]->phases, TF_PHASE_REQUEST | TF_PHASE_RESPONSE);
    p->ops = list[0];
    snprintf(p->dir, sizeof p->dir, "/tmp/portico-test-plugin-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    fx_setup(&fxs);
    p->fx = fxs;
    *state = p;
    return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
teardown(void **state)
{
    struct plugin *p = *state;
    void *fxs = p->fx;

    fx_teardown(&fxs); /* destroys the instance: before dlclose */
    dlclose(p->so);
    nftw(p->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(p);
    return 0;
}

/* Write the key file "key" (len bytes) in the bundle folder and create the transform. */
static void *
create(struct plugin *p, const unsigned char *key, size_t len, const char *conf)
{
    char path[128];

    snprintf(path, sizeof path, "%s/key", p->dir);
    fx_write(path, (const char *)key, len);
    return fx_create(p->fx, p->ops, p->dir, conf);
}

static const char *
sign_body(struct plugin *p, enum tf_phase phase, const char *body, size_t len)
{
    fx_message(p->fx, phase, "application/json", body, len);
    assert_int_equal(fx_apply(p->fx), TF_DONE);
    return fx_header(p->fx, "X-Signature");
}

/* RFC 4231 test cases 1, 2 and 6 (key longer than a block). */
static void
rfc4231(void **state)
{
    struct plugin *p = *state;
    unsigned char k1[20], k6[131];
    static const char conf[] = "{\"sign\": {\"key_file\": \"key\"}}";

    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    assert_non_null(create(p, k1, sizeof k1, conf));
    assert_string_equal(sign_body(p, TF_PHASE_REQUEST, "Hi There", 8),
                        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert_non_null(create(p, (const unsigned char *)"Jefe\n", 5, conf));
    assert_string_equal(sign_body(p, TF_PHASE_RESPONSE, "what do ya want for nothing?", 28),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_non_null(create(p, k6, sizeof k6, conf));
    assert_string_equal(
        sign_body(p, TF_PHASE_REQUEST,
                  "Test Using Larger Than Block-Size Key - Hash Key First", 54),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* Every body length from 0 to 200 bytes (the padding cases around 55, 56, 64 and 119, 120) and
 * base64 with a prefix, against OpenSSL. */
static void
against_openssl(void **state)
{
    struct plugin *p = *state;
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef-secret";
    char body[201], want[128];
    unsigned char mac[32];
    unsigned int maclen;

    for (int i = 0; i < 200; i++)
        body[i] = (char)('a' + i % 26);
    assert_non_null(create(p, key, sizeof key - 1,
                           "{\"sign\": {\"key_file\": \"key\", \"header\": \"X-Sig\", "
                           "\"encoding\": \"base64\", \"prefix\": \"sha256=\"}}"));
    assert_int_equal(p->fx->d.n, 0);
    for (size_t len = 0; len <= 200; len++) {
        const char *got;
        HMAC(EVP_sha256(), key, sizeof key - 1, (const unsigned char *)body, len, mac, &maclen);
        memcpy(want, "sha256=", 7);
        EVP_EncodeBlock((unsigned char *)want + 7, mac, 32);
        fx_message(p->fx, TF_PHASE_REQUEST, NULL, len ? body : NULL, len);
        assert_int_equal(fx_apply(p->fx), TF_DONE);
        got = fx_header(p->fx, "X-Sig");
        if (got == NULL || strcmp(got, want) != 0)
            fail_msg("length %zu: got %s, want %s", len, got ? got : "(none)", want);
    }
}

/* verify: the partner's signature must match (hex compared case-insensitively). */
static void
verify(void **state)
{
    struct plugin *p = *state;
    static const char good[] =
        "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843";
    static const char body[] = "what do ya want for nothing?";

    assert_non_null(create(p, (const unsigned char *)"Jefe", 4,
                           "{\"sign\": {\"key_file\": \"key\", \"mode\": \"verify\", \"header\": "
                           "\"X-Hub-Signature-256\", \"prefix\": \"sha256=\"}}"));
    fx_message(p->fx, TF_PHASE_REQUEST, "application/json", body, sizeof body - 1);
    p->fx->x.header_add(&p->fx->x, &p->fx->m, "X-Hub-Signature-256", good, sizeof good - 1);
    assert_int_equal(fx_apply(p->fx), TF_DONE);

    fx_message(p->fx, TF_PHASE_REQUEST, "application/json", "what do ya want for nothing!", 28);
    p->fx->x.header_add(&p->fx->x, &p->fx->m, "X-Hub-Signature-256", good, sizeof good - 1);
    fx_assert_fail(p->fx, fx_apply(p->fx), 401, "signature-invalid",
                   "sign: the X-Hub-Signature-256 header does not match the body");
    fx_message(p->fx, TF_PHASE_REQUEST, "application/json", body, sizeof body - 1);
    fx_assert_fail(p->fx, fx_apply(p->fx), 401, "signature-missing",
                   "sign: no X-Hub-Signature-256 header");
    fx_message(p->fx, TF_PHASE_RESPONSE, "application/json", body, sizeof body - 2);
    p->fx->x.header_add(&p->fx->x, &p->fx->m, "X-Hub-Signature-256", good, sizeof good - 1);
    fx_assert_fail(p->fx, fx_apply(p->fx), 502, "signature-invalid", "does not match");
}

static void
config_errors(void **state)
{
    struct plugin *p = *state;

    assert_null(create(p, (const unsigned char *)"k", 1,
                       "{\"sign\": {\n"
                       "  \"header\": \"X Sig\",\n"
                       "  \"encoding\": \"hex64\",\n"
                       "  \"mode\": \"check\",\n"
                       "  \"salt\": 1\n"
                       "}}"));
    FX_ASSERT_DIAG(p->fx,
                   "error: partner.json:5:3: sign.salt: unknown key (expected one of: key_file, "
                   "header, prefix, encoding, mode)",
                   "error: partner.json:1:2: sign.key_file: required key \"key_file\" is missing",
                   "error: partner.json:2:3: sign.header: \"X Sig\" is not a header name",
                   "error: partner.json:3:3: sign.encoding: \"hex64\" is not \"hex\" or \"base64\"",
                   "error: partner.json:4:3: sign.mode: \"check\" is not \"sign\" or \"verify\"");
    assert_null(create(p, (const unsigned char *)"k", 1,
                       "{\"sign\": {\"key_file\": \"../../etc/passwd\"}}"));
    FX_ASSERT_DIAG(p->fx, "error: partner.json:1:11: sign.key_file: \"../../etc/passwd\" is "
                           "outside the bundle folder (use a name relative to it, without \"..\")");
    assert_non_null(create(p, (const unsigned char *)"short", 5,
                           "{\"sign\": {\"key_file\": \"key\"}}"));
    FX_ASSERT_DIAG(p->fx, "warning: partner.json:1:11: sign.key_file: a key of 5 bytes is weak: "
                           "use 32 random bytes or more");
    assert_null(create(p, (const unsigned char *)"\n", 1, "{\"sign\": {\"key_file\": \"key\"}}"));
    FX_ASSERT_DIAG(p->fx, "error: partner.json:1:11: sign.key_file: key is empty");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rfc4231, setup, teardown),
        cmocka_unit_test_setup_teardown(against_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(verify, setup, teardown),
        cmocka_unit_test_setup_teardown(config_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
