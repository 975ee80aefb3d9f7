/* fuzz_jws.c: libFuzzer target for the jws transform's verification (transforms/jws.c): the
 * protected header's reading (base64url, JSON, crit and b64), the compact form's parts, the
 * signature's decoding and the search for the signer (transforms/sig.c).
 *
 * The first byte picks where the JWS is: the body (a compact JWS, unwrapped when verified) or the
 * X-JWS-Signature field over a body (the input after the first NUL, when there is one). The caller
 * signs with a P-256 key and an HMAC secret, another partner with a P-256 key of its own. Beyond
 * the sanitizers it checks, abort()ing otherwise: a refusal is a 401 with one of the four
 * signature codes (or the body's own 400) and a one-line detail; nothing is noted for the audit
 * unless the step succeeded, and a success notes exactly one signature, by the caller.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "builtins_sig.h"
#include "bundle_signing.h"
#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "partner.h"
#include "threat.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_jws: %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void *steps[2]; /* the body's JWS, the field's */
static struct pt_partner caller, other;
static const struct pt_partner *all[2] = { &caller, &other };
static struct tf_limits limits;

static void
ec_key(struct pt_sign_key *k, const char *kid)
{
    k->pub = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k->kid = (char *)kid;
    CHECK(k->pub != NULL);
    pt_key_kind(k->pub, &k->type, &k->curve);
    memset(k->x5t, 0x5a, sizeof k->x5t);
}

static void *
step(const char *text)
{
    struct gw_diag d = { 0 };
    struct gw_jctx j = { .file = "fuzz", .dir = ".", .d = &d };
    struct tf_conf cc;
    json_t *cfg = json_loads(text, 0, NULL);
    void *inst;

    tf_conf_init(&cc, &j, "step", cfg, TF_PHASE_REQUEST, &limits);
    inst = tf_jws_ops.create(&cc);
    CHECK(inst != NULL && d.n == 0);
    tf_conf_done(&cc);
    json_decref(cfg);
    return inst;
}

static void
setup(void)
{
    static struct pt_sign_key mine[2], theirs[1];
    static unsigned char secret[32] = "fuzzing-secret-fuzzing-secret-32";

    tf_limits_default(&limits);
    limits.max_body = 1 << 16;
    ec_key(&mine[0], "k1");
    mine[1] = (struct pt_sign_key){ .kid = "h1", .secret = secret, .secret_len = 32 };
    ec_key(&theirs[0], "g1");
    caller = (struct pt_partner){ .id = "acme", .sign_keys = mine, .nsign_keys = 2 };
    other = (struct pt_partner){ .id = "globex", .sign_keys = theirs, .nsign_keys = 1 };
    steps[0] = step("{\"verify\": {\"algorithms\": [\"ES256\", \"HS256\", \"RS256\", \"EdDSA\"]}}");
    steps[1] = step("{\"verify\": {\"algorithms\": [\"ES256\", \"HS256\"]}, "
                    "\"header\": \"X-JWS-Signature\"}");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;
    struct tf_ctx x;
    struct tf_message m;
    int in_field, rc;
    const char *s = (const char *)data + 1;
    size_t n = size > 0 ? size - 1 : 0;

    if (steps[0] == NULL)
        setup();
    if (size == 0)
        return 0;
    in_field = data[0] & 1;
    gw_arena_init(&a);
    tf_ctx_init(&x, &a, &limits);
    x.partner = &caller;
    x.partners = all;
    x.npartners = 2;
    tf_message_init(&m, TF_PHASE_REQUEST);
    x.header_add(&x, &m, "Content-Type", "application/jose", 16);
    if (in_field) {
        const char *nul = memchr(s, '\0', n);
        size_t hlen = nul != NULL ? (size_t)(nul - s) : n;
        x.header_add(&x, &m, "X-JWS-Signature", s, hlen);
        if (nul != NULL) {
            m.body = gw_arena_strndup(&a, nul + 1, n - hlen - 1);
            m.body_len = n - hlen - 1;
        }
    } else if (n > 0) {
        m.body = gw_arena_strndup(&a, s, n);
        m.body_len = n;
    }
    rc = tf_jws_ops.apply(steps[in_field], &m, &x);
    if (rc == TF_ERROR) {
        CHECK(x.signatures == NULL);
        CHECK(x.err_status == 401 || x.err_status == 400 || x.err_status == 413);
        CHECK(x.err_code != NULL && x.err_detail != NULL && strchr(x.err_detail, '\n') == NULL);
        CHECK(x.err_status != 401 || strcmp(x.err_code, "signature-missing") == 0 ||
              strcmp(x.err_code, "signature-invalid") == 0 ||
              strcmp(x.err_code, "signature-wrong-signer") == 0 ||
              strcmp(x.err_code, "signature-algorithm-refused") == 0);
        tf_ctx_clear_error(&x);
    } else {
        CHECK(rc == TF_DONE && x.signatures != NULL && x.signatures->next == NULL);
        CHECK(strcmp(x.signatures->partner, "acme") == 0);
    }
    gw_arena_free(&a);
    return 0;
}
