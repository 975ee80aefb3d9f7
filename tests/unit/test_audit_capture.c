/* test_audit_capture.c: a route's audit capture (audit/capture.h): the bodies the event keeps,
 * redacted, cut, base64'd or withheld (a table of cases, each also searching the raw output for
 * the secrets the body held), a real pain.001 with every IBAN redacted, and the configuration's
 * errors and warnings as `portico check` prints them.
 *
 * A capture is compiled from text as a bundle loader would: the "audit" object of the third route
 * of TFX_FILE (so at "routes[2].audit"), on line 2 onwards, with positions from gw_jsonloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "capture.h"
#include "tf_fixture.h"

#define PAIN001 "tests/data/samples/pain.001.001.03.ch.02-musterfile.xml"
#define PAIN_NS "http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd"

/* ---- fixture --------------------------------------------------------------------------------- */

struct cx {
    struct gw_diag d;
    struct gw_jctx jc;
    struct gw_jsonloc *loc;
    json_t *root;
    struct au_capture *cap;
    struct tf_limits limits;
    int bad;
};

static void
cx_release(struct cx *f)
{
    au_capture_free(f->cap);
    f->cap = NULL;
    json_decref(f->root);
    f->root = NULL;
    gw_jsonloc_free(f->loc);
    f->loc = NULL;
    gw_diag_free(&f->d);
    f->bad = 0;
}

/* Compile audit_text as routes[2].audit of TFX_FILE, its first line on line 2. Returns f->cap;
 * the problems are in f->d, f->bad is au_capture_compile's. */
static struct au_capture *
cx_compile(struct cx *f, const char *audit_text)
{
    size_t n = strlen(audit_text) + 128;
    char *text = malloc(n);
    json_error_t e;

    cx_release(f);
    assert_non_null(text);
    snprintf(text, n,
             "{\"routes\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c\", "
             "\"audit\":\n%s\n}]}",
             audit_text);
    if ((f->root = json_loads(text, JSON_REJECT_DUPLICATES, &e)) == NULL)
        fail_msg("bad test config (line %d): %s\n%s", e.line, e.text, text);
    f->loc = gw_jsonloc_build(text, strlen(text));
    assert_non_null(f->loc);
    f->jc = (struct gw_jctx){.file = TFX_FILE, .dir = "tests/data", .loc = f->loc, .d = &f->d};
    f->cap = au_capture_compile(
        &f->jc, json_object_get(json_array_get(json_object_get(f->root, "routes"), 2), "audit"),
        "routes[2].audit", &f->bad);
    free(text);
    return f->cap;
}

static int
cx_setup(void **state)
{
    static struct cx f;

    memset(&f, 0, sizeof f);
    tf_limits_default(&f.limits);
    *state = &f;
    return 0;
}

static int
cx_teardown(void **state)
{
    cx_release(*state);
    return 0;
}

static size_t
count(const char *s, size_t n, const char *what)
{
    size_t k = 0, wl = strlen(what);

    for (const char *p = s; n > 0 && (p = memmem(p, n - (size_t)(p - s), what, wl)) != NULL;
         p += wl)
        k++;
    return k;
}

/* ---- bodies ---------------------------------------------------------------------------------- */

#define JSON_CARD "{\"capture\": \"body\", \"redact\": {\"json\": [\"/card/number\"]}}"
#define XML_NS                                                                                     \
    "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//p:IBAN\"], \"namespaces\": {\"p\": "      \
    "\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"}}}"
#define BOTH                                                                                       \
    "{\"capture\": \"body\", \"redact\": {\"json\": [\"/iban\"], \"xml\": [\"//IBAN\"]}}"
#define PLAIN "{\"capture\": \"body\"}"

struct bcase {
    const char *name;
    const char *conf;          /* the route's audit object */
    const char *ct;            /* Content-Type, NULL: none */
    const char *body;
    size_t len;                /* 0: strlen(body) */
    int cut;                   /* the caller cut the body (complete = 0) */
    int want;                  /* AU_CAPTURED_* */
    const char *out;           /* the exact output (NULL: not compared) */
    int truncated;
    const char *secrets[6];    /* in the body, and nowhere in the output */
};

static const struct bcase bodies[] = {
    /* JSON: nested, arrays, wildcards, escapes; numbers keep their literals */
    {"json nested", JSON_CARD, "application/json",
     "{\"card\": {\"number\": \"4111111111111111\", \"holder\": \"Ann\"}, \"amount\": 6.20}", 0, 0,
     AU_CAPTURED_TEXT,
     "{\"card\":{\"number\":\"[redacted]\",\"holder\":\"Ann\"},\"amount\":6.20}", 0,
     {"4111111111111111"}},
    {"json +json type with parameters", JSON_CARD, "application/vnd.acme.pay+json; charset=utf-8",
     "{\"card\":{\"number\":4111111111111111}}", 0, 0, AU_CAPTURED_TEXT,
     "{\"card\":{\"number\":\"[redacted]\"}}", 0, {"4111111111111111"}},
    {"json value written with escapes",
     JSON_CARD, "application/json", "{\"card\":{\"number\":\"\\u00341111\\/2222\"}}", 0, 0,
     AU_CAPTURED_TEXT, "{\"card\":{\"number\":\"[redacted]\"}}", 0, {"1111", "2222"}},
    {"json array index",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/payments/1/iban\"]}}", "application/json",
     "{\"payments\":[{\"iban\":\"DE01\"},{\"iban\":\"DE02\"},{\"iban\":\"DE03\"}]}", 0, 0,
     AU_CAPTURED_TEXT,
     "{\"payments\":[{\"iban\":\"DE01\"},{\"iban\":\"[redacted]\"},{\"iban\":\"DE03\"}]}", 0,
     {"DE02"}},
    {"json wildcard over an array",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/payments/*/iban\"]}}", "application/json",
     "{\"payments\":[{\"iban\":\"DE01\",\"amt\":1},{\"amt\":2},{\"iban\":{\"deep\":\"DE03\"}}],"
     "\"iban\":\"keep\"}", 0, 0, AU_CAPTURED_TEXT,
     "{\"payments\":[{\"iban\":\"[redacted]\",\"amt\":1},{\"amt\":2},{\"iban\":\"[redacted]\"}],"
     "\"iban\":\"keep\"}", 0, {"DE01", "DE03"}},
    {"json wildcard over members, then deeper",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/accounts/*/number\", \"/tokens/*\"]}}",
     "application/json",
     "{\"accounts\":{\"main\":{\"number\":\"S-1\"},\"spare\":{\"number\":\"S-2\",\"n\":[1,2]}},"
     "\"tokens\":{\"a\":\"T-1\",\"b\":[\"T-2\"],\"c\":null}}", 0, 0, AU_CAPTURED_TEXT,
     "{\"accounts\":{\"main\":{\"number\":\"[redacted]\"},\"spare\":{\"number\":\"[redacted]\","
     "\"n\":[1,2]}},\"tokens\":{\"a\":\"[redacted]\",\"b\":\"[redacted]\",\"c\":\"[redacted]\"}}",
     0, {"S-1", "S-2", "T-1", "T-2"}},
    {"json wildcard at the root of an array",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/*/pin\"]}}", "application/json",
     "[{\"pin\":\"1234\"},{\"pin\":\"5678\"},7]", 0, 0, AU_CAPTURED_TEXT,
     "[{\"pin\":\"[redacted]\"},{\"pin\":\"[redacted]\"},7]", 0, {"1234", "5678"}},
    {"json ~0 and ~1 in names",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/a~1b/c~0d\"]}}", "application/json",
     "{\"a/b\":{\"c~d\":\"SECRET\",\"c\":\"x\"}}", 0, 0, AU_CAPTURED_TEXT,
     "{\"a/b\":{\"c~d\":\"[redacted]\",\"c\":\"x\"}}", 0, {"SECRET"}},
    {"json digits are a member name on an object",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/0\"]}}", "application/json",
     "{\"0\":\"SECRET\",\"1\":\"x\"}", 0, 0, AU_CAPTURED_TEXT,
     "{\"0\":\"[redacted]\",\"1\":\"x\"}", 0, {"SECRET"}},
    {"json a whole subtree",
     "{\"capture\": \"body\", \"redact\": {\"json\": [\"/card\"]}}", "application/json",
     "{\"card\":{\"number\":\"4111\",\"cvc\":\"987\"},\"ok\":true}", 0, 0, AU_CAPTURED_TEXT,
     "{\"card\":\"[redacted]\",\"ok\":true}", 0, {"4111", "987"}},
    {"json the whole document", "{\"capture\": \"body\", \"redact\": {\"json\": [\"\"]}}",
     "application/json", "{\"pin\":\"1234\"}", 0, 0, AU_CAPTURED_TEXT, "\"[redacted]\"", 0,
     {"1234"}},
    {"json pointer that finds nothing", JSON_CARD, "application/json",
     "{ \"card\" : [ \"x\" ], \"n\": 1e2 }", 0, 0, AU_CAPTURED_TEXT,
     "{\"card\":[\"x\"],\"n\":1e2}", 0, {NULL}},
    {"json redacted, then cut at the cap",
     "{\"capture\": \"body\", \"max_body_bytes\": 20, \"redact\": {\"json\": [\"/pin\"]}}",
     "application/json", "{\"pin\":\"12345678\",\"note\":\"a long note\"}", 0, 0,
     AU_CAPTURED_TEXT, "{\"pin\":\"[redacted]\",", 1, {"12345678"}},

    /* XML: element text, attributes, namespaces, text split by comments and CDATA */
    {"xml namespaced element", XML_NS, "application/xml",
     "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\">"
     "<Acct><IBAN>CH9300762011623852957</IBAN><Ccy>CHF</Ccy></Acct></Document>", 0, 0,
     AU_CAPTURED_TEXT,
     "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><Acct><IBAN>[redacted]"
     "</IBAN><Ccy>CHF</Ccy></Acct></Document>\n", 0, {"CH9300762011623852957"}},
    {"xml same name in another namespace is not matched", XML_NS, "text/xml",
     "<d xmlns:o=\"urn:other\"><o:IBAN>NOTSECRET</o:IBAN><IBAN>NOTSECRET2</IBAN></d>", 0, 0,
     AU_CAPTURED_TEXT,
     "<d xmlns:o=\"urn:other\"><o:IBAN>NOTSECRET</o:IBAN><IBAN>NOTSECRET2</IBAN></d>\n", 0,
     {NULL}},
    {"xml local-name()",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//*[local-name()='CardNumber']\"]}}",
     "application/soap+xml",
     "<e:Envelope xmlns:e=\"urn:env\"><e:Body><c:Pay xmlns:c=\"urn:card\"><c:CardNumber>"
     "4111111111111111</c:CardNumber><CardNumber>5500000000000004</CardNumber></c:Pay></e:Body>"
     "</e:Envelope>", 0, 0, AU_CAPTURED_TEXT,
     "<e:Envelope xmlns:e=\"urn:env\"><e:Body><c:Pay xmlns:c=\"urn:card\"><c:CardNumber>"
     "[redacted]</c:CardNumber><CardNumber>[redacted]</CardNumber></c:Pay></e:Body>"
     "</e:Envelope>\n", 0, {"4111111111111111", "5500000000000004"}},
    {"xml attributes",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//@secret\", \"//p:Acct/@p:pin\"], "
     "\"namespaces\": {\"p\": \"urn:p\"}}}", "application/xml",
     "<a secret=\"S1\" keep=\"k\"><b secret='S2 &amp; more'/>"
     "<p:Acct xmlns:p=\"urn:p\" p:pin=\"P1\" pin=\"notsecret\"/></a>", 0, 0, AU_CAPTURED_TEXT,
     "<a secret=\"[redacted]\" keep=\"k\"><b secret=\"[redacted]\"/><p:Acct xmlns:p=\"urn:p\" "
     "p:pin=\"[redacted]\" pin=\"notsecret\"/></a>\n", 0, {"S1", "S2", "more", "P1"}},
    {"xml text split by a comment", BOTH, "application/xml",
     "<a><IBAN>DE89<!-- 3704 -->37040044<!--x-->0532</IBAN></a>", 0, 0, AU_CAPTURED_TEXT,
     "<a><IBAN>[redacted]</IBAN></a>\n", 0, {"DE89", "3704", "37040044", "0532"}},
    {"xml text split by CDATA", BOTH, "application/xml",
     "<a><IBAN>DE89<![CDATA[3704<0044>]]>0532</IBAN></a>", 0, 0, AU_CAPTURED_TEXT,
     "<a><IBAN>[redacted]</IBAN></a>\n", 0, {"DE89", "3704", "0044", "0532"}},
    {"xml element with child elements and attributes",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//Cdtr\"]}}", "application/xml",
     "<a><Cdtr id=\"c1\"><Nm>Maria Bernasconi</Nm><Adr><Twn>Bern</Twn></Adr>tail</Cdtr></a>", 0,
     0, AU_CAPTURED_TEXT, "<a><Cdtr id=\"c1\">[redacted]</Cdtr></a>\n", 0,
     {"Maria", "Bern", "tail"}},
    {"xml text nodes and comments",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//Note/text()\", \"//comment()\"]}}",
     "application/xml", "<a><!--pin 1234--><Note>one<b>mid</b>two</Note></a>", 0, 0,
     AU_CAPTURED_TEXT, "<a><!--[redacted]--><Note>[redacted]<b>mid</b>[redacted]</Note></a>\n", 0,
     {"1234", "one", "two"}},
    {"xml a match inside a match, one expression",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//Acct | //IBAN | //IBAN/text() | "
     "//IBAN/@cc | //Acct/@kind\"]}}", "application/xml",
     "<a><Acct kind=\"K1\"><IBAN cc=\"C1\">DE01</IBAN></Acct><IBAN cc=\"C2\">DE02</IBAN></a>", 0,
     0, AU_CAPTURED_TEXT,
     "<a><Acct kind=\"[redacted]\">[redacted]</Acct>"
     "<IBAN cc=\"[redacted]\">[redacted]</IBAN></a>\n",
     0, {"K1", "C1", "C2", "DE01", "DE02"}},
    {"xml a match inside a match, two expressions",
     "{\"capture\": \"body\", \"redact\": {\"xml\": [\"//Acct\", \"//IBAN\"]}}", "application/xml",
     "<a><Acct><IBAN>DE01</IBAN></Acct><IBAN>DE02</IBAN></a>", 0, 0, AU_CAPTURED_TEXT,
     "<a><Acct>[redacted]</Acct><IBAN>[redacted]</IBAN></a>\n", 0, {"DE01", "DE02"}},
    {"xml the document", "{\"capture\": \"body\", \"redact\": {\"xml\": [\"/\"]}}",
     "application/xml", "<!--c--><a x=\"1\"><b>SECRET</b></a>", 0, 0, AU_CAPTURED_TEXT,
     "<!--c-->\n<a x=\"1\">[redacted]</a>\n", 0, {"SECRET"}},
    {"xml in ISO-8859-1 comes out as UTF-8", BOTH, "application/xml",
     "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a><n>Z\xfcrich</n><IBAN>CH93</IBAN></a>", 0,
     0, AU_CAPTURED_TEXT, "<a><n>Z\xc3\xbcrich</n><IBAN>[redacted]</IBAN></a>\n", 0, {"CH93"}},

    /* withheld: what has to be redacted and cannot be */
    {"json that does not parse", JSON_CARD, "application/json",
     "{\"card\": {\"number\": \"4111111111111111\"", 0, 0, AU_CAPTURED_WITHHELD, "", 0,
     {"4111111111111111"}},
    {"json with a duplicate key", JSON_CARD, "application/json",
     "{\"card\": {\"number\": \"4111\"}, \"card\": {\"number\": \"5500\"}}", 0, 0,
     AU_CAPTURED_WITHHELD, "", 0, {"4111", "5500"}},
    {"json deeper than the limits", JSON_CARD, "application/json",
     "{\"card\":{\"number\":\"4111\"},\"x\":" "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
     0, 0, AU_CAPTURED_WITHHELD, "", 0, {"4111"}},
    {"json as deep as the limits allow", JSON_CARD, "application/json",
     "{\"card\":{\"number\":\"4111\"},\"x\":" "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
     0, 0, AU_CAPTURED_TEXT, NULL, 0, {"4111"}},
    {"json cut by the caller", JSON_CARD, "application/json",
     "{\"card\": {\"number\": \"4111111111111111\"}, \"more\": \"", 0, 1,
     AU_CAPTURED_WITHHELD, "", 0, {"4111111111111111"}},
    {"json cut by the caller right at its end", JSON_CARD, "application/json",
     "{\"card\": {\"number\": \"4111111111111111\"}}", 0, 1, AU_CAPTURED_WITHHELD, "", 0,
     {"4111111111111111"}},
    {"xml that does not parse", BOTH, "application/xml", "<a><IBAN>DE89370400440532</IBAN>", 0, 0,
     AU_CAPTURED_WITHHELD, "", 0, {"DE89370400440532"}},
    {"xml with a DTD", BOTH, "application/xml",
     "<!DOCTYPE a [<!ENTITY e \"x\">]><a><IBAN>DE89370400440532</IBAN></a>", 0, 0,
     AU_CAPTURED_WITHHELD, "", 0, {"DE89370400440532"}},
    {"xml with an undeclared prefix", BOTH, "application/xml",
     "<a><q:IBAN>DE89370400440532</q:IBAN></a>", 0, 0, AU_CAPTURED_WITHHELD, "", 0,
     {"DE89370400440532"}},
    {"xml cut by the caller", XML_NS, "application/xml",
     "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><IBAN>CH93</IBAN></Docu",
     0, 1, AU_CAPTURED_WITHHELD, "", 0, {"CH93"}},
    {"rules and a type that is neither JSON nor XML", BOTH, "text/plain",
     "iban=DE89370400440532", 0, 0, AU_CAPTURED_WITHHELD, "", 0, {"DE89370400440532"}},
    {"rules and no type", BOTH, NULL, "{\"iban\":\"DE89370400440532\"}", 0, 0,
     AU_CAPTURED_WITHHELD, "", 0, {"DE89370400440532"}},
    {"json rules only, an XML body", JSON_CARD, "application/xml",
     "<card><number>4111111111111111</number></card>", 0, 0, AU_CAPTURED_WITHHELD, "", 0,
     {"4111111111111111"}},
    {"xml rules only, a JSON body", XML_NS, "application/json",
     "{\"IBAN\":\"CH9300762011623852957\"}", 0, 0, AU_CAPTURED_WITHHELD, "", 0,
     {"CH9300762011623852957"}},
    {"xml rules, a body that is not XML though it says so", XML_NS, "application/xml",
     "{\"IBAN\":\"CH9300762011623852957\"}", 0, 0, AU_CAPTURED_WITHHELD, "", 0,
     {"CH9300762011623852957"}},
    {"an empty json list: JSON bodies need nothing redacted",
     "{\"capture\": \"body\", \"redact\": {\"json\": [], \"xml\": [\"//IBAN\"]}}",
     "application/json", "{ \"status\": \"ok\" }", 0, 0, AU_CAPTURED_TEXT,
     "{ \"status\": \"ok\" }", 0, {NULL}},
    {"an empty json list: other types are still withheld",
     "{\"capture\": \"body\", \"redact\": {\"json\": []}}", "text/plain", "pin=1234", 0, 0,
     AU_CAPTURED_WITHHELD, "", 0, {"1234"}},

    /* no rules: the body as it came, cut at the cap; base64 when not UTF-8 */
    {"no rules: as is", PLAIN, "application/json", "{ \"card\" : \"4111\" }", 0, 0,
     AU_CAPTURED_TEXT, "{ \"card\" : \"4111\" }", 0, {NULL}},
    {"no rules, no type", PLAIN, NULL, "hello\r\n\tworld", 0, 0, AU_CAPTURED_TEXT,
     "hello\r\n\tworld", 0, {NULL}},
    {"no rules: cut at the cap", "{\"capture\": \"body\", \"max_body_bytes\": 10}", "text/plain",
     "abcdefghijklmnopqrstuvwxyz", 0, 0, AU_CAPTURED_TEXT, "abcdefghij", 1, {"k"}},
    {"no rules: exactly the cap", "{\"capture\": \"body\", \"max_body_bytes\": 10}", "text/plain",
     "abcdefghij", 0, 0, AU_CAPTURED_TEXT, "abcdefghij", 0, {NULL}},
    {"no rules: cut by the caller", PLAIN, "application/json", "{\"a\": \"b", 0, 1,
     AU_CAPTURED_TEXT, "{\"a\": \"b", 1, {NULL}},
    {"the cap does not split a character", "{\"capture\": \"body\", \"max_body_bytes\": 5}",
     "text/plain", "abcd\xc3\xa9z", 0, 0, AU_CAPTURED_TEXT, "abcd", 1, {NULL}},
    {"the caller's cut does not make it base64", PLAIN, "text/plain", "ab\xe2\x82", 0, 1,
     AU_CAPTURED_TEXT, "ab", 1, {NULL}},
    {"a split character at the end of a complete body is not UTF-8", PLAIN, "text/plain",
     "ab\xe2\x82", 0, 0, AU_CAPTURED_BASE64, "YWLigg==", 0, {NULL}},
    {"not UTF-8: base64", PLAIN, "application/octet-stream", "\xff\xfe\x00\x01z", 5, 0,
     AU_CAPTURED_BASE64, "//4AAXo=", 0, {NULL}},
    {"not UTF-8: base64 of the bytes under the cap",
     "{\"capture\": \"body\", \"max_body_bytes\": 4}", "text/plain", "ab\xc0\xafzz", 0, 0,
     AU_CAPTURED_BASE64, "YWLArw==", 1, {NULL}},
    {"surrogates are not UTF-8", PLAIN, "text/plain", "a\xed\xa0\x80", 0, 0, AU_CAPTURED_BASE64,
     "Ye2ggA==", 0, {NULL}},
    {"UTF-8 with NUL is text", PLAIN, "text/plain", "a\0b", 3, 0, AU_CAPTURED_TEXT, NULL, 0,
     {NULL}},
    {"an empty body", BOTH, "text/plain", "", 0, 0, AU_CAPTURED_TEXT, "", 0, {NULL}},
    {"max_body_bytes 0", "{\"capture\": \"body\", \"max_body_bytes\": 0}", "text/plain", "abc", 0,
     0, AU_CAPTURED_TEXT, "", 1, {"abc"}},

    /* nothing captured */
    {"capture digest", "{\"capture\": \"digest\"}", "text/plain", "x", 0, 0, AU_CAPTURED_NONE, "",
     0, {"x"}},
    {"capture none", "{\"capture\": \"none\"}", "text/plain", "x", 0, 0, AU_CAPTURED_NONE, "", 0,
     {"x"}},
    {"default capture", "{}", "text/plain", "x", 0, 0, AU_CAPTURED_NONE, "", 0, {"x"}},
};

static void
body_case(struct cx *f, const struct bcase *c)
{
    size_t len = c->len ? c->len : strlen(c->body);
    struct gw_buf out = {0};
    int truncated = -1, rc;

    if (cx_compile(f, c->conf) == NULL && f->bad) {
        gw_diag_print(&f->d, stderr);
        fail_msg("%s: the config was refused", c->name);
    }
    rc = au_capture_body(f->cap, &f->limits, c->ct, c->ct ? strlen(c->ct) : 0, c->body, len,
                         !c->cut, &out, &truncated);
    if (rc != c->want || truncated != c->truncated ||
        (c->out != NULL && (out.len != strlen(c->out) ||
                            (out.len > 0 && memcmp(out.p, c->out, out.len) != 0))))
        fail_msg("%s: got %d (truncated %d) \"%.*s\"\n  want %d (truncated %d) \"%s\"", c->name,
                 rc, truncated, (int)out.len, out.p ? out.p : "", c->want, c->truncated,
                 c->out ? c->out : "(any)");
    assert_false(out.oom);
    if (rc == AU_CAPTURED_WITHHELD || rc == AU_CAPTURED_NONE)
        assert_int_equal(out.len, 0);
    for (size_t i = 0; i < sizeof c->secrets / sizeof c->secrets[0] && c->secrets[i]; i++) {
        if (memmem(c->body, len, c->secrets[i], strlen(c->secrets[i])) == NULL)
            fail_msg("%s: the secret \"%s\" is not in the body", c->name, c->secrets[i]);
        if (out.len > 0 && memmem(out.p, out.len, c->secrets[i], strlen(c->secrets[i])) != NULL)
            fail_msg("%s: the secret \"%s\" is in the output: %.*s", c->name, c->secrets[i],
                     (int)out.len, out.p);
    }
    gw_buf_free(&out);
}

static void
test_bodies(void **state)
{
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        body_case(*state, &bodies[i]);
}

/* The defaults, and NULL. */
static void
test_defaults(void **state)
{
    struct cx *f = *state;
    struct gw_buf out = {0};
    int truncated = 1;

    assert_null(au_capture_compile(&f->jc, NULL, "routes[2].audit", &f->bad));
    assert_int_equal(f->bad, 0);
    assert_int_equal(au_capture_mode(NULL), AU_CAPTURE_DIGEST);
    assert_int_equal(au_capture_max(NULL), 65536);
    assert_int_equal(au_capture_body(NULL, &f->limits, NULL, 0, "x", 1, 1, &out, &truncated),
                     AU_CAPTURED_NONE);
    assert_int_equal(truncated, 0);
    assert_non_null(cx_compile(f, "{}"));
    assert_int_equal(au_capture_mode(f->cap), AU_CAPTURE_DIGEST);
    assert_int_equal(au_capture_max(f->cap), 65536);
    assert_int_equal(f->d.n, 0);
    assert_non_null(cx_compile(f, "{\"capture\": \"body\", \"max_body_bytes\": 1048576}"));
    assert_int_equal(au_capture_mode(f->cap), AU_CAPTURE_BODY);
    assert_int_equal(au_capture_max(f->cap), 1048576);
    assert_non_null(cx_compile(f, "{\"capture\": \"none\"}"));
    assert_int_equal(au_capture_mode(f->cap), AU_CAPTURE_NONE);
    /* limits NULL: the gateway's defaults */
    assert_non_null(cx_compile(f, JSON_CARD));
    assert_int_equal(au_capture_body(f->cap, NULL, "application/json", 16,
                                     "{\"card\":{\"number\":1}}", 21, 1, &out, &truncated),
                     AU_CAPTURED_TEXT);
    assert_int_equal(out.len, strlen("{\"card\":{\"number\":\"[redacted]\"}}"));
    gw_buf_free(&out);
}

/* A real pain.001: every IBAN and every party's name goes, the rest stays, and what comes out
 * is XML with the same shape. */
static void
test_pain001(void **state)
{
    struct cx *f = *state;
    struct gw_buf out = {0};
    size_t len, nsecrets = 0;
    char *body = tfx_read(PAIN001, &len);
    xmlChar *secrets[64];
    int truncated;

    assert_non_null(cx_compile(f, "{\"capture\": \"body\", \"max_body_bytes\": 1048576, "
                                  "\"redact\": {\"xml\": [\"//p:IBAN\", \"//p:Nm\"], "
                                  "\"namespaces\": {\"p\": \"" PAIN_NS "\"}}}"));
    /* the values, found independently */
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xp, (const xmlChar *)"p", (const xmlChar *)PAIN_NS);
    xmlXPathObjectPtr res = xmlXPathEvalExpression(
        (const xmlChar *)"//p:IBAN | //p:Nm", xp);
    assert_non_null(res);
    assert_true(res->nodesetval->nodeNr >= 8 && res->nodesetval->nodeNr <= 64);
    for (int i = 0; i < res->nodesetval->nodeNr; i++)
        secrets[nsecrets++] = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
    size_t nbic = count(body, len, "<BIC>");

    assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15, body, len, 1, &out,
                                     &truncated),
                     AU_CAPTURED_TEXT);
    assert_int_equal(truncated, 0);
    for (size_t i = 0; i < nsecrets; i++) {
        if (memmem(out.p, out.len, secrets[i], strlen((const char *)secrets[i])) != NULL)
            fail_msg("\"%s\" is in the output", secrets[i]);
        xmlFree(secrets[i]);
    }
    assert_int_equal(count(out.p, out.len, AU_REDACTED), nsecrets);
    assert_int_equal(count(out.p, out.len, "<BIC>"), nbic);
    assert_true(nbic > 0);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);

    /* what comes out parses, with as many IBAN elements */
    doc = xmlReadMemory(out.p, (int)out.len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xp = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xp, (const xmlChar *)"p", (const xmlChar *)PAIN_NS);
    res = xmlXPathEvalExpression((const xmlChar *)"//p:IBAN[. = '[redacted]'] | "
                                                  "//p:Nm[. = '[redacted]']", xp);
    assert_int_equal(res->nodesetval->nodeNr, nsecrets);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);

    /* the same body cut by the caller is withheld */
    gw_buf_free(&out);
    assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15, body, len / 2, 0,
                                     &out, &truncated),
                     AU_CAPTURED_WITHHELD);
    assert_int_equal(out.len, 0);
    gw_buf_free(&out);
    free(body);
}

/* A compiled capture serves again and again (it is shared by the workers and only read). */
static void
test_reused(void **state)
{
    struct cx *f = *state;

    assert_non_null(cx_compile(f, BOTH));
    for (int i = 0; i < 3; i++) {
        struct gw_buf out = {0};
        int truncated;
        assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15,
                                         "<a><IBAN>DE01</IBAN></a>", 24, 1, &out, &truncated),
                         AU_CAPTURED_TEXT);
        assert_int_equal(count(out.p, out.len, "DE01"), 0);
        gw_buf_free(&out);
        assert_int_equal(au_capture_body(f->cap, &f->limits, "application/json", 16,
                                         "{\"iban\":\"DE01\"}", 15, 1, &out, &truncated),
                         AU_CAPTURED_TEXT);
        assert_int_equal(count(out.p, out.len, "DE01"), 0);
        gw_buf_free(&out);
    }
}

/* An expression that is quadratic in the body stops at the operation limit: withheld, not a
 * worker held for minutes. A linear one on the same body, and the same one on a small body,
 * work. */
static void
test_xpath_op_limit(void **state)
{
    static const char elem[] = "<b k=\"SECRET\"/>";
    struct cx *f = *state;
    struct gw_buf out = {0}, body = {0};
    int truncated;

    gw_buf_adds(&body, "<a>");
    for (int i = 0; i < 9000; i++)
        gw_buf_adds(&body, elem);
    gw_buf_adds(&body, "</a>");
    assert_non_null(cx_compile(f, "{\"capture\": \"body\", \"max_body_bytes\": 1048576, "
                                  "\"redact\": {\"xml\": [\"//b/@k\"]}}"));
    assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15, body.p, body.len,
                                     1, &out, &truncated),
                     AU_CAPTURED_TEXT);
    assert_int_equal(count(out.p, out.len, "SECRET"), 0);
    gw_buf_free(&out);

    assert_non_null(cx_compile(f, "{\"capture\": \"body\", \"max_body_bytes\": 1048576, "
                                  "\"redact\": {\"xml\": [\"//b[count(//b) > 1]/@k\"]}}"));
    assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15, body.p, body.len,
                                     1, &out, &truncated),
                     AU_CAPTURED_WITHHELD);
    assert_int_equal(out.len, 0);

    body.len = 3 + (sizeof elem - 1) * 50;
    gw_buf_adds(&body, "</a>");
    assert_int_equal(au_capture_body(f->cap, &f->limits, "application/xml", 15, body.p, body.len,
                                     1, &out, &truncated),
                     AU_CAPTURED_TEXT);
    assert_int_equal(count(out.p, out.len, "SECRET"), 0);
    assert_int_equal(count(out.p, out.len, "k=\"[redacted]\""), 50);
    gw_buf_free(&out);
    gw_buf_free(&body);
}

/* ---- configuration --------------------------------------------------------------------------- */

#define P "error: " TFX_FILE ":"
#define W "warning: " TFX_FILE ":"

static void
test_config_errors(void **state)
{
    struct cx *f = *state;

    assert_null(cx_compile(f,
        "{\n"
        "  \"capture\": \"bodies\",\n"
        "  \"max_body_bytes\": 2000000,\n"
        "  \"captur\": \"body\",\n"
        "  \"redact\": {\n"
        "    \"json\": [\"/card/number\", \"card/number\", \"/a~2b\", 5, \"/payments/*/iban\"],\n"
        "    \"xml\": [\"//p:IBAN\", \"//q:IBAN\", \"//[\", \"count(//a)\", \"\", 7,\n"
        "            \"//a[nope()]\", \"//a[$v]\", \"//x[q:y]\", \"string(//a)\",\n"
        "            \"//*[local-name()='q:x']\"],\n"
        "    \"namespaces\": {\"p\": \"urn:p\", \"\": \"urn:d\", \"1x\": \"urn:x\", "
        "\"xml\": \"urn:y\",\n"
        "                   \"r\": 5, \"s\": \"\"},\n"
        "    \"other\": true\n"
        "  }\n"
        "}"));
    assert_int_equal(f->bad, 1);
    TFX_ASSERT_DIAG(
        &f->d,
        P "5:3: routes[2].audit.captur: unknown key (expected one of: capture, max_body_bytes, "
          "redact)",
        P "3:3: routes[2].audit.capture: \"bodies\" is not a capture mode (none, digest or body)",
        P "4:3: routes[2].audit.max_body_bytes: 2000000 is out of range (0 to 1048576)",
        P "13:5: routes[2].audit.redact.other: unknown key (expected one of: json, xml, "
          "namespaces)",
        W "6:3: routes[2].audit.redact: redact applies only to captured bodies (\"capture\": "
          "\"body\"); with \"digest\" it does nothing",
        P "11:34: routes[2].audit.redact.namespaces.: XPath 1.0 names have no default namespace: "
          "give it a prefix",
        P "11:47: routes[2].audit.redact.namespaces.1x: \"1x\" is not a prefix (an XML name "
          "without ':')",
        P "11:62: routes[2].audit.redact.namespaces.xml: \"xml\" is a reserved prefix",
        P "12:20: routes[2].audit.redact.namespaces.r: expected a namespace URI (a non-empty "
          "string)",
        P "12:28: routes[2].audit.redact.namespaces.s: expected a namespace URI (a non-empty "
          "string)",
        P "7:30: routes[2].audit.redact.json[1]: \"card/number\" is not a JSON pointer: it must "
          "start with \"/\" (or be \"\", the whole document)",
        P "7:45: routes[2].audit.redact.json[2]: \"/a~2b\": \"~\" must be followed by 0 (for "
          "\"~\") or 1 (for \"/\")",
        P "7:54: routes[2].audit.redact.json[3]: expected a JSON pointer (a string), got an "
          "integer",
        P "8:25: routes[2].audit.redact.xml[1]: prefix \"q\" is not declared in \"namespaces\"",
        P "8:37: routes[2].audit.redact.xml[2]: invalid XPath expression \"//[\": invalid "
          "expression at character 3",
        P "8:44: routes[2].audit.redact.xml[3]: XPath expression \"count(//a)\" gives a number: "
          "it must select the nodes to redact (elements, attributes, text)",
        P "8:58: routes[2].audit.redact.xml[4]: expected an XPath expression (a non-empty "
          "string), got \"\"",
        P "8:62: routes[2].audit.redact.xml[5]: expected an XPath expression (a non-empty "
          "string), got an integer",
        P "9:13: routes[2].audit.redact.xml[6]: XPath expression \"//a[nope()]\": unregistered "
          "function",
        P "9:28: routes[2].audit.redact.xml[7]: XPath expression \"//a[$v]\": undefined variable",
        P "9:39: routes[2].audit.redact.xml[8]: prefix \"q\" is not declared in \"namespaces\"",
        P "9:51: routes[2].audit.redact.xml[9]: XPath expression \"string(//a)\" gives a string: "
          "it must select the nodes to redact (elements, attributes, text)");
}

/* Smaller cases: the config, then exactly the lines it must give (and whether it loads). */
struct ccase {
    const char *conf;
    int loads;
    const char *want[4];
};

static const struct ccase confs[] = {
    {"\"body\"", 0, {P "1:57: routes[2].audit: expected an object, got a string"}},
    {"{\"capture\": 1, \"max_body_bytes\": \"64k\"}", 0,
     {P "2:2: routes[2].audit.capture: expected a string, got an integer",
      P "2:16: routes[2].audit.max_body_bytes: expected an integer, got a string"}},
    {"{\"capture\": \"body\", \"max_body_bytes\": -1}", 0,
     {P "2:21: routes[2].audit.max_body_bytes: -1 is out of range (0 to 1048576)"}},
    {"{\"capture\": \"body\", \"max_body_bytes\": 1.5}", 0,
     {P "2:21: routes[2].audit.max_body_bytes: expected an integer, got a number"}},
    {"{\"capture\": \"body\", \"redact\": []}", 0,
     {P "2:21: routes[2].audit.redact: expected an object, got an array"}},
    {"{\"capture\": \"body\", \"redact\": {}}", 0,
     {P "2:21: routes[2].audit.redact: give the values to redact: \"json\" (JSON pointers), "
        "\"xml\" (XPath expressions) or both"}},
    {"{\"capture\": \"body\", \"redact\": {\"namespaces\": {\"p\": \"urn:p\"}}}", 0,
     {W "2:32: routes[2].audit.redact.namespaces: only \"xml\" expressions use namespaces, and "
        "there are none",
      P "2:21: routes[2].audit.redact: give the values to redact: \"json\" (JSON pointers), "
        "\"xml\" (XPath expressions) or both"}},
    {"{\"capture\": \"body\", \"redact\": {\"json\": \"/a\", \"xml\": {}}}", 0,
     {P "2:32: routes[2].audit.redact.json: expected an array, got a string",
      P "2:46: routes[2].audit.redact.xml: expected an array, got an object"}},
    {"{\"capture\": \"none\", \"max_body_bytes\": 10, \"redact\": {\"json\": [\"/a\"]}}", 1,
     {W "2:21: routes[2].audit.max_body_bytes: max_body_bytes applies only to captured bodies "
        "(\"capture\": \"body\"); with \"none\" it does nothing",
      W "2:43: routes[2].audit.redact: redact applies only to captured bodies (\"capture\": "
        "\"body\"); with \"none\" it does nothing"}},
    {"{\"capture\": \"body\", \"max_body_bytes\": 0}", 1,
     {W "2:21: routes[2].audit.max_body_bytes: 0 captures nothing of any body (every non-empty "
        "body is cut to \"\"); \"capture\": \"digest\" says so"}},
    {"{\"capture\": \"body\", \"redact\": {\"json\": [], \"xml\": []}}", 1, {NULL}},
    {"{\"capture\": \"body\", \"redact\": {\"xml\": [\"//p:a/@q:b\", \"//a[@xml:lang]\"],\n"
     " \"namespaces\": {\"p\": \"urn:p\", \"q\": \"urn:q\"}}}", 1, {NULL}},
    {"{\"capture\": \"digest\", \"redact\": {\"xml\": [\"//p:a\"]}}", 0,
     {W "2:23: routes[2].audit.redact: redact applies only to captured bodies (\"capture\": "
        "\"body\"); with \"digest\" it does nothing",
      P "2:42: routes[2].audit.redact.xml[0]: prefix \"p\" is not declared in \"namespaces\""}},
};

static void
test_config_table(void **state)
{
    struct cx *f = *state;

    for (size_t i = 0; i < sizeof confs / sizeof confs[0]; i++) {
        const struct ccase *c = &confs[i];
        size_t n = 0;
        while (n < sizeof c->want / sizeof c->want[0] && c->want[n] != NULL)
            n++;
        cx_compile(f, c->conf);
        if ((f->cap != NULL) != c->loads || f->bad != !c->loads) {
            gw_diag_print(&f->d, stderr);
            fail_msg("%s: loads %d, want %d", c->conf, f->cap != NULL, c->loads);
        }
        tfx_assert_diag(&f->d, c->want, n);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bodies, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_defaults, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_pain001, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_reused, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_xpath_op_limit, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, cx_setup, cx_teardown),
        cmocka_unit_test_setup_teardown(test_config_table, cx_setup, cx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
