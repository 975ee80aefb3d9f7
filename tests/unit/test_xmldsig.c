/* test_xmldsig.c: the xmldsig transform (XML Signature through xmlsec1).
 *
 * The keys are made at run time (RSA 2048 with a certificate, P-256 without, and a second
 * partner's RSA key); the private keys the sign mode reads are written to a folder made for the
 * run and removed after. What is checked is what a partner or an auditor would see: a document
 * we sign verifies with the partner's key and the audited digests of the two match; a changed
 * document, a signature of another partner's, an unsigned one, refused algorithms and the
 * signature wrapping attacks are refused with their problem codes (401 on a request, 502 on a
 * response); a detached signature hands on only the element it signs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "builtins_sig.h"
#include "bundle_signing.h"
#include "partner.h"
#include "sha256.h"
#include "text.h"
#include "tf_fixture.h"
#include "transform.h"

#define MORE "http://www.w3.org/2001/04/xmldsig-more#"
#define RSA256 MORE "rsa-sha256"
#define ES256 MORE "ecdsa-sha256"
#define VERIFY "{\"verify\": {\"algorithms\": [\"" RSA256 "\", \"" ES256 "\"]}}"
#define VERIFY_ES "{\"verify\": {\"algorithms\": [\"" ES256 "\"]}}"
#define SIGN_RSA                                                                                   \
    "{\"sign\": {\"key\": \"a.key\", \"certificate\": \"a.pem\", \"alg\": \"" RSA256 "\"}}"
#define SIGN_EC "{\"sign\": {\"key\": \"e.key\", \"kid\": \"acme-ec\", \"alg\": \"" ES256 "\"}}"
#define SIGN_OTHER "{\"sign\": {\"key\": \"o.key\", \"alg\": \"" RSA256 "\"}}"
#define SIGN_OTHER_CERT                                                                            \
    "{\"sign\": {\"key\": \"o.key\", \"certificate\": \"o.pem\", \"alg\": \"" RSA256 "\"}}"

#define DOC                                                                                        \
    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><Amt>10</Amt></Document>"
#define DOC_ID "<Document Id=\"d\"><Amt>10</Amt></Document>"
#define DETACHED                                                                                   \
    "<Envelope xmlns:t=\"urn:example:types\"><Payload Id=\"p\"><Amt>10</Amt></Payload></Envelope>"

/* The run's keys and the two partners. */
static EVP_PKEY *key_a, *key_e, *key_o;
static X509 *cert_a, *cert_o;
static struct pt_sign_key acme_keys[2], other_keys[1];
static struct pt_partner acme = { .id = "acme-bank", .sign_keys = acme_keys, .nsign_keys = 2 };
static struct pt_partner other = { .id = "other-bank", .sign_keys = other_keys, .nsign_keys = 1 };
static const struct pt_partner *const partners[] = { &acme, &other };
static char dir[] = "/tmp/test_xmldsig.XXXXXX";

static EVP_PKEY *
rsa_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    return k;
}

static X509 *
self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *c = X509_new();
    X509_NAME *n = X509_get_subject_name(c);

    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, n);
    X509_set_pubkey(c, k);
    assert_true(X509_sign(c, k, EVP_sha256()) > 0);
    return c;
}

/* A partner's key as bundle_signing.c makes it: the digest of the certificate's DER, or of the
 * public key's without one. */
static void
sign_key(struct pt_sign_key *sk, const char *kid, EVP_PKEY *k, X509 *c)
{
    unsigned char *der = NULL;
    int len = c != NULL ? i2d_X509(c, &der) : i2d_PUBKEY(k, &der);

    assert_true(len > 0);
    *sk = (struct pt_sign_key){ .kid = (char *)kid, .cert = c, .pub = k };
    pt_key_kind(k, &sk->type, &sk->curve);
    gw_sha256_once(der, (size_t)len, sk->x5t);
    gw_hex_encode(sk->sha256, sk->x5t, 32);
    OPENSSL_free(der);
}

static void
write_pem(const char *name, EVP_PKEY *k, X509 *c)
{
    char path[256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_non_null(fp = fopen(path, "w"));
    assert_true(c != NULL ? PEM_write_X509(fp, c) : PEM_write_PrivateKey(fp, k, NULL, NULL, 0,
                                                                         NULL, NULL));
    fclose(fp);
}

static int
group_setup(void **state)
{
    (void)state;
    key_a = rsa_key();
    key_o = rsa_key();
    key_e = EVP_EC_gen("P-256");
    cert_a = self_signed(key_a, "acme-bank signing");
    cert_o = self_signed(key_o, "other-bank signing");
    sign_key(&acme_keys[0], "acme-rsa", key_a, cert_a);
    sign_key(&acme_keys[1], "acme-ec", key_e, NULL);
    sign_key(&other_keys[0], "other-rsa", key_o, cert_o);
    if (mkdtemp(dir) == NULL)
        return -1;
    write_pem("a.key", key_a, NULL);
    write_pem("a.pem", NULL, cert_a);
    write_pem("e.key", key_e, NULL);
    write_pem("o.key", key_o, NULL);
    write_pem("o.pem", NULL, cert_o);
    /* a step made once: xmlsec1 is initialised (sign_raw uses it) */
    {
        struct tfx f;
        tfx_init(&f);
        assert_non_null(tfx_create(&f, &tf_xmldsig_ops, TF_PHASE_REQUEST, VERIFY, dir));
        tfx_free(&f);
    }
    return 0;
}

static int
group_teardown(void **state)
{
    const char *names[] = { "a.key", "a.pem", "e.key", "o.key", "o.pem" };
    char path[256];

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_e);
    EVP_PKEY_free(key_o);
    X509_free(cert_a);
    X509_free(cert_o);
    return 0;
}

static int
setup(void **state)
{
    struct tfx *f;

    tfx_setup(state);
    f = *state;
    f->x.partner = &acme;
    f->x.partners = partners;
    f->x.npartners = 2;
    return 0;
}

/* Run the step `config` on body in a fresh message of that phase. */
static int
run(struct tfx *f, const char *config, enum tf_phase phase, const char *body)
{
    if (tfx_create(f, &tf_xmldsig_ops, phase, config, dir) == NULL) {
        gw_diag_print(&f->d, stderr);
        fail_msg("the step was not created");
    }
    tf_ctx_clear_error(&f->x);
    tfx_message(f, phase, "application/xml", body);
    return f->ops->apply(f->inst, &f->m, &f->x);
}

/* body signed by our sign mode with config (a copy in the arena). */
static const char *
signed_by(struct tfx *f, const char *config, const char *body)
{
    assert_int_equal(run(f, config, TF_PHASE_REQUEST, body), TF_DONE);
    return tfx_body(f);
}

static void
assert_refused(struct tfx *f, int rc, int status, const char *code, const char *detail)
{
    if (rc != TF_ERROR || f->x.err_status != status || strcmp(f->x.err_code, code) != 0 ||
        (detail != NULL && strstr(f->x.err_detail, detail) == NULL))
        fail_msg("expected %d %s (\"%s\"), got rc %d: %d %s: %s", status, code,
                 detail ? detail : "", rc, f->x.err_status, f->x.err_code ? f->x.err_code : "-",
                 f->x.err_detail ? f->x.err_detail : "-");
}

/* What a test signature needs that the sign mode does not make: a Reference by Id, other
 * algorithms. The document is signed with xmlsec1 directly (a malloc'd text). */
static char *
sign_raw(const char *xml, const char *uri, EVP_PKEY *k, xmlSecTransformId method,
         xmlSecTransformId digest, int enveloped)
{
    static const xmlChar *ids[] = { BAD_CAST "Id", NULL };
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, 0);
    xmlNodePtr sig, ref;
    xmlSecDSigCtxPtr d;
    xmlSecKeyDataPtr data;
    xmlChar *out;
    int len;
    char *s;

    assert_non_null(doc);
    xmlSecAddIDs(doc, xmlDocGetRootElement(doc), ids);
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, method, NULL,
                                          BAD_CAST "ds");
    xmlAddChild(xmlDocGetRootElement(doc), sig);
    ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST uri, NULL);
    if (enveloped)
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
    assert_non_null(d = xmlSecDSigCtxCreate(NULL));
    EVP_PKEY_up_ref(k);
    d->signKey = xmlSecKeyCreate();
    data = xmlSecOpenSSLEvpKeyAdopt(k);
    assert_int_equal(xmlSecKeySetValue(d->signKey, data), 0);
    assert_int_equal(xmlSecDSigCtxSign(d, sig), 0);
    xmlSecDSigCtxDestroy(d);
    xmlDocDumpMemory(doc, &out, &len);
    s = strndup((const char *)out, (size_t)len);
    xmlFree(out);
    xmlFreeDoc(doc);
    return s;
}

/* s with the first `from` replaced by `to` (malloc'd). */
static char *
replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);

    if (at == NULL)
        fail_msg("\"%s\" not in %s", from, s);
    snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return r;
}

/* ---- sign, then verify ----------------------------------------------------------------------- */

static void
round_trip_rsa_cert(void **state)
{
    struct tfx *f = *state;
    const char *doc = signed_by(f, SIGN_RSA, DOC);
    const struct tf_signature *made = f->x.signatures, *got;

    assert_non_null(strstr(doc, "<ds:X509Certificate>"));
    assert_non_null(strstr(doc, "URI=\"\""));
    assert_non_null(strstr(doc, "<Amt>10</Amt>"));
    assert_int_equal(made->made, 1);
    assert_string_equal(made->alg, RSA256);
    assert_string_equal(made->cert_sha256, acme_keys[0].sha256);

    assert_int_equal(run(f, VERIFY, TF_PHASE_REQUEST, doc), TF_DONE);
    got = f->x.signatures;
    assert_ptr_equal(got->next, made);
    assert_int_equal(got->made, 0);
    assert_string_equal(got->kind, "xmldsig");
    assert_string_equal(got->partner, "acme-bank");
    assert_string_equal(got->alg, RSA256);
    assert_string_equal(got->kid, "acme-rsa");
    assert_string_equal(got->cert_sha256, acme_keys[0].sha256);
    /* the verified bytes are the signed ones: the same canonical SignedInfo */
    assert_string_equal(got->signed_sha256, made->signed_sha256);
    /* an enveloped signature: the document goes on whole, signature and all */
    assert_string_equal(tfx_body(f), doc);
}

static void
round_trip_ec_kid(void **state)
{
    struct tfx *f = *state;
    const char *doc = signed_by(f, SIGN_EC, DOC);

    assert_non_null(strstr(doc, "<ds:KeyName>acme-ec</ds:KeyName>"));
    assert_null(strstr(doc, "X509Certificate"));
    assert_int_equal(run(f, VERIFY, TF_PHASE_RESPONSE, doc), TF_DONE);
    assert_string_equal(f->x.signatures->kid, "acme-ec");
    assert_string_equal(f->x.signatures->alg, ES256);
    assert_string_equal(f->x.signatures->cert_sha256, acme_keys[1].sha256);
    assert_string_equal(f->x.signatures->signed_sha256, f->x.signatures->next->signed_sha256);
}

static void
tampered(void **state)
{
    struct tfx *f = *state;
    char *doc = replace(signed_by(f, SIGN_RSA, DOC), "<Amt>10</Amt>", "<Amt>10000</Amt>");

    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-invalid",
                   "does not verify");
    assert_refused(f, run(f, VERIFY, TF_PHASE_RESPONSE, doc), 502, "signature-invalid", NULL);
    free(doc);
}

static void
wrong_signer(void **state)
{
    struct tfx *f = *state;
    const char *doc;

    /* named by its certificate */
    doc = signed_by(f, SIGN_OTHER_CERT, DOC);
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-wrong-signer",
                   "other-bank");
    /* not named at all: other-bank's key verifies it */
    doc = signed_by(f, SIGN_OTHER, DOC);
    assert_null(strstr(doc, "KeyInfo"));
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-wrong-signer",
                   "other-bank");
    /* a certificate in KeyInfo is only a name: other-bank's signature under acme's
     * certificate is not acme's */
    {
        char *raw = sign_raw(DOC, "", key_o, xmlSecTransformRsaSha256Id, xmlSecTransformSha256Id,
                             1);
        const char *acme_doc = signed_by(f, SIGN_RSA, DOC);
        const char *c0 = strstr(acme_doc, "<ds:KeyInfo>"), *c1 = strstr(acme_doc, "</ds:KeyInfo>");
        char ki[4096];
        char *forged;
        snprintf(ki, sizeof ki, "%.*s</ds:Signature>", (int)(c1 - c0 + 13), c0);
        forged = replace(raw, "</ds:Signature>", ki);
        assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, forged), 401,
                       "signature-wrong-signer", "other-bank");
        free(forged);
        free(raw);
    }
}

static void
missing(void **state)
{
    struct tfx *f = *state;

    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, DOC), 401, "signature-missing", NULL);
    assert_refused(f, run(f, VERIFY, TF_PHASE_RESPONSE, DOC), 502, "signature-missing", NULL);
    /* no body at all is not a body to skip */
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, ""), 401, "signature-missing", "no body");
    assert_null(f->x.signatures);
}

static void
algorithm_refused(void **state)
{
    struct tfx *f = *state;
    char *doc;

    /* rsa-sha1: the signature verifies with acme's key, but the allow-list has no SHA-1 */
    doc = sign_raw(DOC, "", key_a, xmlSecTransformRsaSha1Id, xmlSecTransformSha256Id, 1);
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-algorithm-refused",
                   "\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\" is not accepted");
    free(doc);
    /* rsa-sha256 with an allow-list of ES256 only */
    doc = sign_raw(DOC, "", key_a, xmlSecTransformRsaSha256Id, xmlSecTransformSha256Id, 1);
    assert_int_equal(run(f, VERIFY, TF_PHASE_REQUEST, doc), TF_DONE);
    assert_refused(f, run(f, VERIFY_ES, TF_PHASE_REQUEST, doc), 401,
                   "signature-algorithm-refused", RSA256);
    free(doc);
    /* a SHA-1 digest */
    doc = sign_raw(DOC, "", key_a, xmlSecTransformRsaSha256Id, xmlSecTransformSha1Id, 1);
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-algorithm-refused",
                   "DigestMethod \"http://www.w3.org/2000/09/xmldsig#sha1\"");
    free(doc);
}

/* ---- detached, and signature wrapping -------------------------------------------------------- */

static void
detached_hands_on_signed(void **state)
{
    struct tfx *f = *state;
    char *doc = sign_raw(DETACHED, "#p", key_a, xmlSecTransformRsaSha256Id,
                         xmlSecTransformSha256Id, 0);
    const char *body;

    assert_int_equal(run(f, VERIFY, TF_PHASE_REQUEST, doc), TF_DONE);
    body = tfx_body(f);
    assert_string_equal(body, "<Payload xmlns:t=\"urn:example:types\" Id=\"p\"><Amt>10</Amt>"
                              "</Payload>");
    assert_null(strstr(body, "Envelope"));
    /* the prefixes in scope where it was signed still are (a QName in it may use them) */
    assert_non_null(strstr(body, "xmlns:t=\"urn:example:types\""));
    assert_null(strstr(body, "Signature"));
    free(doc);
}

static void
wrapping_moved(void **state)
{
    struct tfx *f = *state;
    char *doc = sign_raw(DOC_ID, "#d", key_a, xmlSecTransformRsaSha256Id,
                         xmlSecTransformSha256Id, 1);
    const char *sig = strstr(doc, "<ds:Signature");
    char *attack;
    size_t n = strlen(doc) + 256;

    assert_int_equal(run(f, VERIFY, TF_PHASE_REQUEST, doc), TF_DONE);
    /* the attacker's document around the signed one, the signature beside it */
    attack = malloc(n);
    snprintf(attack, n, "<Document Id=\"e\"><Amt>1000000</Amt>%.*s<Wrapper>%s</Wrapper>"
             "</Document>", (int)(strstr(doc, "</Document>") - sig), sig, DOC_ID);
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, attack), 401, "signature-invalid",
                   "moved");
    free(attack);
    free(doc);

    /* detached: the signed payload moved into a wrapper, the attacker's where it was */
    doc = sign_raw(DETACHED, "#p", key_a, xmlSecTransformRsaSha256Id, xmlSecTransformSha256Id, 0);
    attack = replace(doc, "<Payload Id=\"p\"><Amt>10</Amt></Payload>",
                     "<Payload><Amt>1000000</Amt></Payload>"
                     "<Wrapper><Payload Id=\"p\"><Amt>10</Amt></Payload></Wrapper>");
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, attack), 401, "signature-invalid",
                   "moved");
    free(attack);
    free(doc);
}

static void
wrapping_duplicate_id(void **state)
{
    struct tfx *f = *state;
    char *doc = sign_raw(DETACHED, "#p", key_a, xmlSecTransformRsaSha256Id,
                         xmlSecTransformSha256Id, 0);
    char *attack = replace(doc, "<Payload Id=\"p\">",
                           "<Payload Id=\"p\"><Amt>1000000</Amt></Payload><Payload Id=\"p\">");

    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, attack), 401, "signature-invalid",
                   "two attributes carry the Id \"p\"");
    free(attack);
    attack = replace(doc, "urn:example:types\">", "urn:example:types\"><Other ID=\"p\"/>");
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, attack), 401, "signature-invalid",
                   "two attributes carry the Id");
    free(attack);
    free(doc);
}

static void
wrapping_two_signatures(void **state)
{
    struct tfx *f = *state;
    const char *once = signed_by(f, SIGN_RSA, DOC);
    const char *twice = signed_by(f, SIGN_EC, once);

    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, twice), 401, "signature-invalid",
                   "2 Signatures");
}

static void
external_reference(void **state)
{
    struct tfx *f = *state;
    char *doc = replace(signed_by(f, SIGN_RSA, DOC), "URI=\"\"", "URI=\"http://example.com/x\"");

    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-invalid",
                   "not in this document");
    free(doc);
    doc = replace(signed_by(f, SIGN_RSA, DOC), "URI=\"\"", "URI=\"#xpointer(/)\"");
    assert_refused(f, run(f, VERIFY, TF_PHASE_REQUEST, doc), 401, "signature-invalid",
                   "not in this document");
    free(doc);
}

static void
config_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_xmldsig_ops, TF_PHASE_REQUEST,
                           "{\"verify\": {\"algorithms\": [\"" MORE "rsa-sha1\"]}}", dir));
    TFX_ASSERT_DIAG(&f->d, "error: " TFX_FILE ":2:28: routes[0].request[0].xmldsig.verify."
                           "algorithms[0]: not an algorithm this step knows");
    gw_diag_free(&f->d);
    assert_null(tfx_create(f, &tf_xmldsig_ops, TF_PHASE_REQUEST,
                           "{\"verify\": {\"algorithms\": [\"" RSA256 "\"]},\n"
                           " \"sign\": {\"key\": \"a.key\", \"alg\": \"" RSA256 "\"}}", dir));
    TFX_ASSERT_DIAG(&f->d, "error: " TFX_FILE ":1:27: routes[0].request[0].xmldsig: needs exactly "
                           "one of \"verify\" and \"sign\"");
    gw_diag_free(&f->d);
    /* known to sig.c, not to xmlsec1 1.2: refused when loading, not when a message comes */
    assert_null(tfx_create(f, &tf_xmldsig_ops, TF_PHASE_REQUEST,
                           "{\"verify\": {\"algorithms\": [\"" RSA256 "\", "
                           "\"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1\"]}}", dir));
    TFX_ASSERT_DIAG(&f->d, "error: " TFX_FILE ":2:81: routes[0].request[0].xmldsig.verify."
                           "algorithms[1]: xmlsec1 openssl cannot verify it");
    gw_diag_free(&f->d);
    assert_null(tfx_create(f, &tf_xmldsig_ops, TF_PHASE_REQUEST, "{\"verify\": {}}", dir));
    TFX_ASSERT_DIAG(&f->d, "error: " TFX_FILE ":2:2: routes[0].request[0].xmldsig.verify."
                           "algorithms: the algorithms accepted: a non-empty list of names");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(config_errors, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(round_trip_rsa_cert, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(round_trip_ec_kid, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(tampered, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(wrong_signer, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(missing, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(algorithm_refused, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(detached_hands_on_signed, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(wrapping_moved, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(wrapping_duplicate_id, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(wrapping_two_signatures, setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(external_reference, setup, tfx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
