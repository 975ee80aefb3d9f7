/* test_chain_forms.c: the body held parsed between the steps of a chain (transform.h, ABI 2):
 * chains compiled and run as the gateway runs them, on the ISO 20022 samples. A JSON document
 * handed from xml_to_json to json_to_xml, or left at the chain's end, gives the bytes the same
 * steps give through text; a bytes step after a document step gets the document written; the
 * chain's end refuses a written body over the limit with the problem a step would give; validate
 * checks the document json_map leaves as it checks the bytes json_map writes. The XML steps
 * (validate, xslt, xml_map, soap) on the chain's document give the bytes they give apart, and a
 * document validate read is the one the steps after it get (tests/plugins/forms_probe.c tells
 * which forms hold the body between two steps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <libxml/parser.h>

#include "arena.h"
#include "body_forms.h"
#include "chain.h"
#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "tf_fixture.h" /* tfx_read */
#include "threat.h"
#include "xml_alloc.h"

#define PAIN "tests/data/samples/pain.001.001.03.ch.02-musterfile.xml"
#define CAMT "tests/data/samples/camt.053-sample.xml"
#define CAMT08 "tests/data/validate/camt053-valid.xml" /* valid against CAMT08_XSD */
#define PACS "tests/data/validate/pacs008-valid.xml"   /* valid against PACS_XSD */
#define SOAP_NS "tests/data/soap/unwrap-ns.xml"        /* its payload needs declarations carried */
#define VALIDATE_CAMT08                                                                            \
    "{\"validate\": {\"xml_schema\": \"tests/data/samples/camt.053.001.08.xsd\"}}"
#define VALIDATE_PACS "{\"validate\": {\"xml_schema\": \"tests/data/samples/pacs.008.001.09.xsd\"}}"
#define XSLT_STRIP "{\"xslt\": {\"stylesheet\": \"tests/data/chain_forms/strip-copy.xsl\"}}"
#define UNWRAP "{\"soap\": {\"action\": \"unwrap\"}}"
#define WRAP "{\"soap\": {\"action\": \"wrap\"}}"
#define PROBE "{\"forms_probe\": {}}"

struct env {
    struct tf_registry *reg;
    struct tf_limits limits;
    struct gw_diag d;
    struct gw_arena arena;
    struct tf_ctx x;
    struct tf_message m;
};

static struct tf_chain *
compile(struct env *e, const char *text)
{
    json_error_t jerr;
    json_t *arr = json_loads(text, 0, &jerr);
    struct gw_jsonloc *loc = gw_jsonloc_build(text, strlen(text));
    struct gw_jctx c = { .file = "portico.json", .dir = ".", .loc = loc, .d = &e->d };
    struct tf_chain *ch;

    assert_non_null(arr);
    ch = tf_chain_compile(&c, arr, "routes[0].request", TF_PHASE_REQUEST, e->reg, &e->limits);
    for (size_t i = 0; i < e->d.n; i++)
        fprintf(stderr, "%s\n", e->d.items[i].text);
    assert_non_null(ch);
    json_decref(arr);
    gw_jsonloc_free(loc);
    return ch;
}

/* Run the chain `text` on body with Content-Type ct in a fresh exchange; the result in e->m. */
static int
run(struct env *e, const char *text, const char *body, size_t len, const char *ct)
{
    struct tf_chain *ch = compile(e, text);
    uint32_t applied;
    int rc;

    tf_ctx_clear_error(&e->x);
    gw_arena_free(&e->arena);
    gw_arena_init(&e->arena);
    tf_ctx_init(&e->x, &e->arena, &e->limits);
    tf_message_init(&e->m, TF_PHASE_REQUEST);
    e->x.header_add(&e->x, &e->m, "Content-Type", ct, strlen(ct));
    e->m.body = e->x.alloc(&e->x, len + 1);
    memcpy(e->m.body, body, len);
    e->m.body_len = len;
    rc = tf_chain_run(ch, &e->m, &e->x, &applied);
    tf_chain_free(ch);
    return rc;
}

/* What the chain gave, copied out of the exchange. */
static char *
result(struct env *e, size_t *len)
{
    char *out = malloc(e->m.body_len + 1);

    assert_int_equal(tf_body_forms(&e->m) & TF_FORM_BYTES, TF_FORM_BYTES);
    assert_non_null(out);
    memcpy(out, e->m.body, e->m.body_len);
    out[e->m.body_len] = '\0';
    *len = e->m.body_len;
    return out;
}

static int
setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);

    assert_non_null(e);
    e->reg = tf_registry_new();
    tf_limits_default(&e->limits);
    gw_arena_init(&e->arena);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct env *e = *state;

    tf_ctx_clear_error(&e->x);
    gw_arena_free(&e->arena);
    tf_registry_free(e->reg);
    gw_diag_free(&e->d);
    free(e);
    return 0;
}

/* xml_to_json then json_to_xml: the document handed between them gives the XML that the two
 * steps give through JSON text (each the last step of a chain of its own; a headers step in
 * between does not stop the document). */
static void
test_document_handed_on(void **state)
{
    struct env *e = *state;
    const char *files[] = {PAIN, CAMT};

    for (size_t i = 0; i < 2; i++) {
        size_t len, a_len, b_len;
        char *xml = tfx_read(files[i], &len), *a, *b;
        assert_int_equal(run(e, "[{\"xml_to_json\": {}}, {\"json_to_xml\": {}}]", xml, len,
                             "application/xml"), 0);
        a = result(e, &a_len);
        assert_int_equal(run(e, "[{\"xml_to_json\": {}}]", xml, len, "application/xml"), 0);
        b = result(e, &b_len);
        assert_int_equal(run(e, "[{\"json_to_xml\": {}}]", b, b_len, "application/json"), 0);
        free(b);
        b = result(e, &b_len);
        assert_true(a_len == b_len && memcmp(a, b, a_len) == 0);
        free(b);
        assert_int_equal(run(e, "[{\"xml_to_json\": {}}, {\"headers\": {\"set\": {\"X-A\": "
                                "\"1\"}}}, {\"json_to_xml\": {}}]", xml, len, "application/xml"), 0);
        b = result(e, &b_len);
        assert_true(a_len > len / 3 && strncmp(a, "<?xml", 5) == 0);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
        free(a);
        free(b);
        free(xml);
    }
}

/* A chain that ends on a document writes it once at its end: pretty or compact, the bytes the
 * step writes as text when it is the last. */
static void
test_written_at_the_end(void **state)
{
    struct env *e = *state;
    const char *configs[] = {"{}", "{\"pretty\": true}", "{\"comments\": true}"};
    size_t len;
    char *xml = tfx_read(CAMT, &len);

    for (size_t i = 0; i < 3; i++) {
        char c1[256], c2[256];
        size_t a_len, b_len;
        char *a, *b;
        /* json_to_xml after a "when" that never holds: xml_to_json hands it a document, the
         * chain writes it */
        snprintf(c1, sizeof c1, "[{\"xml_to_json\": %s}, {\"json_to_xml\": {}, \"when\": "
                 "{\"content_type\": \"text/csv\"}}]", configs[i]);
        snprintf(c2, sizeof c2, "[{\"xml_to_json\": %s}]", configs[i]);
        assert_int_equal(run(e, c1, xml, len, "application/xml"), 0);
        a = result(e, &a_len);
        assert_int_equal(run(e, c2, xml, len, "application/xml"), 0);
        b = result(e, &b_len);
        if (a_len != b_len || memcmp(a, b, a_len) != 0)
            fail_msg("config %s: the document written at the end differs from the text", configs[i]);
        free(a);
        free(b);
    }
    free(xml);
}

/* The written body over the body limit: 413 body-too-large at the chain's end, as the step
 * itself answers when it writes text. (Empty elements with an attribute each: their pretty JSON
 * is larger than the XML.) */
static void
test_written_over_the_limit(void **state)
{
    struct env *e = *state;
    size_t len = 0, json_len;
    char *xml = malloc(8192), *json;

    assert_non_null(xml);
    len += (size_t)sprintf(xml, "<r>");
    for (int i = 0; i < 400; i++)
        len += (size_t)sprintf(xml + len, "<e k=\"%d\"/>", i % 10);
    len += (size_t)sprintf(xml + len, "</r>");

    assert_int_equal(run(e, "[{\"xml_to_json\": {\"pretty\": true}}]", xml, len,
                         "application/xml"), 0);
    json = result(e, &json_len);
    assert_true(json_len > len);
    e->limits.max_body = (len + json_len) / 2; /* the XML fits; its JSON does not */
    assert_int_equal(run(e, "[{\"xml_to_json\": {\"pretty\": true}}, {\"json_to_xml\": {}, "
                            "\"when\": {\"content_type\": \"text/csv\"}}]", xml, len,
                         "application/xml"), -1);
    assert_int_equal(e->x.err_status, 413);
    assert_string_equal(e->x.err_code, "body-too-large");
    assert_int_equal(run(e, "[{\"xml_to_json\": {\"pretty\": true}}]", xml, len,
                         "application/xml"), -1);
    assert_int_equal(e->x.err_status, 413);
    assert_string_equal(e->x.err_code, "body-too-large");
    tf_limits_default(&e->limits);
    free(json);
    free(xml);
}

/* json_map then validate: validate checks the document json_map leaves (no JSON text between
 * them) and answers as it does alone on the bytes json_map writes: the same body when it
 * passes, the same problem and errors when it fails. */
static void
test_validate_on_document(void **state)
{
    struct env *e = *state;
    const char *map = "{\"json_map\": {\"ops\": [{\"set\": {\"path\": \"/meta/via\", "
                      "\"value\": \"chain\"}}]}}";
    const char *check = "{\"validate\": {\"json_schema\": "
                        "\"tests/data/validate/schemas/order.json\"}}";
    const char *files[] = {"tests/data/validate/order-valid.json",
                           "tests/data/validate/order-invalid.json"};
    char both[512], one[256], alone[256];

    snprintf(both, sizeof both, "[%s, %s]", map, check);
    snprintf(one, sizeof one, "[%s]", map);
    snprintf(alone, sizeof alone, "[%s]", check);
    assert_true(tf_registry_find(e->reg, "validate")->takes & TF_FORM_JSON);
    for (size_t i = 0; i < 2; i++) {
        size_t len, m_len, c_len;
        char *json = tfx_read(files[i], &len), *mapped, *chained;
        json_t *want, *got;
        int rc;
        /* json_map alone: the bytes it writes; validate alone on them */
        assert_int_equal(run(e, one, json, len, "application/json"), 0);
        mapped = result(e, &m_len);
        rc = run(e, alone, mapped, m_len, "application/json");
        assert_int_equal(rc, i == 0 ? 0 : -1);
        want = tfx_problem(&e->x);
        /* both in one chain */
        assert_int_equal(run(e, both, json, len, "application/json"), rc);
        got = tfx_problem(&e->x);
        if (!json_equal(want, got)) {
            char *w = json_dumps(want, JSON_COMPACT), *g = json_dumps(got, JSON_COMPACT);
            fail_msg("%s:\n alone   %s\n chained %s", files[i], w, g);
        }
        if (rc == 0) { /* passed: the body json_map wrote, written once at the chain's end */
            chained = result(e, &c_len);
            assert_int_equal(c_len, m_len);
            assert_memory_equal(chained, mapped, m_len);
            free(chained);
        } else {
            assert_int_equal(json_array_size(e->x.err_errors), 17);
            assert_string_equal(e->x.err_step, "validate");
        }
        json_decref(want);
        json_decref(got);
        free(mapped);
        free(json);
    }
}

/* validate reads each number by its own literal: an integer beyond 64 bits is an integer (and
 * does not make the other numbers of the body reals, as jansson's reading did), 2.0 equals 2. */
static void
test_validate_number_literals(void **state)
{
    struct env *e = *state;
    const char *chain = "[{\"validate\": {\"json_schema\": {\"properties\": {"
                        "\"n\": {\"type\": \"string\"}, \"r\": {\"type\": \"integer\", "
                        "\"enum\": [2]}, \"big\": {\"type\": \"integer\", \"minimum\": 1}}}}}]";
    const char *body = "{\"big\": 123456789012345678901234567890, \"n\": 1, \"r\": 2.0}";
    char *got;

    assert_int_equal(run(e, chain, body, strlen(body), "application/json"), -1);
    got = json_dumps(e->x.err_errors, JSON_COMPACT);
    assert_string_equal(got, "[{\"path\":\"/n\",\"message\":\"expected a string, got an "
                             "integer\"}]");
    free(got);
}

/* A plugin built for ABI version 1 (tests/plugins/abi1_upper.c) still loads, and is given
 * bytes: xml_to_json before it writes text; json_to_xml after it reads what it wrote. */
static void
test_abi1_plugin_gets_bytes(void **state)
{
    struct env *e = *state;
    const char *build = getenv("BUILD");
    char dir[512];
    const char *plugins_text = "[\"abi1_upper.so\"]";
    json_t *plugins = json_loads(plugins_text, 0, NULL);
    struct gw_jsonloc *loc = gw_jsonloc_build(plugins_text, strlen(plugins_text));
    struct gw_jctx c = { .file = "portico.json", .dir = dir, .loc = loc, .d = &e->d };
    size_t len, a_len, b_len;
    char *xml = tfx_read(PAIN, &len), *a, *b;

    snprintf(dir, sizeof dir, "%s/test-plugins", build && *build ? build : "build/release");
    assert_int_equal(tf_registry_load_plugins(e->reg, &c, plugins), 0);
    assert_non_null(tf_registry_find(e->reg, "abi1_upper"));
    assert_int_equal(tf_registry_find(e->reg, "abi1_upper")->takes, TF_FORM_BYTES);
    /* after xml_to_json: its JSON text, upper-cased */
    assert_int_equal(run(e, "[{\"xml_to_json\": {}}]", xml, len, "application/xml"), 0);
    b = result(e, &b_len);
    for (size_t i = 0; i < b_len; i++)
        if (b[i] >= 'a' && b[i] <= 'z')
            b[i] = (char)(b[i] - 32);
    assert_int_equal(run(e, "[{\"xml_to_json\": {}}, {\"abi1_upper\": {}}]", xml, len,
                         "application/xml"), 0);
    a = result(e, &a_len);
    assert_true(a_len == b_len && memcmp(a, b, a_len) == 0);
    free(a);
    /* and json_to_xml after it converts those bytes */
    assert_int_equal(run(e, "[{\"json_to_xml\": {}}]", b, b_len, "application/json"), 0);
    free(b);
    b = result(e, &b_len);
    assert_int_equal(run(e, "[{\"xml_to_json\": {}}, {\"abi1_upper\": {}}, {\"json_to_xml\": {}}]",
                         xml, len, "application/xml"), 0);
    a = result(e, &a_len);
    assert_true(a_len == b_len && memcmp(a, b, a_len) == 0);
    assert_non_null(strstr(a, "<DOCUMENT"));
    free(a);
    free(b);
    free(xml);
    json_decref(plugins);
    gw_jsonloc_free(loc);
}

/* ---- the XML steps on the chain's document ------------------------------------------------- */

/* n bytes of s, NUL-terminated, on the heap. */
static char *
copy_out(const char *s, size_t n)
{
    char *out = malloc(n + 1);

    assert_non_null(out);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* Run the chain `text`, which must succeed; its body into *out (heap) and Content-Type into *ct. */
static void
run_ok(struct env *e, const char *text, const char *body, size_t len, const char *in_ct,
       char **out, size_t *out_len, char **ct)
{
    const struct tf_header *h;

    if (run(e, text, body, len, in_ct) != 0)
        fail_msg("%s: %d %s: %s", text, e->x.err_status, e->x.err_code, e->x.err_detail);
    *out = result(e, out_len);
    h = e->x.header_get(&e->m, "Content-Type");
    *ct = h != NULL ? copy_out(h->value, h->value_len) : copy_out("", 0);
}

/* The chain [step1, step2] gives the body and Content-Type that step1's chain then step2's give,
 * each on its own, step2 on what step1 wrote. Returns the body (heap). */
static char *
same_as_apart(struct env *e, const char *step1, const char *step2, const char *file,
              const char *ct, size_t *len)
{
    char text[4096], *xml, *a, *a_ct, *mid, *mid_ct, *b, *b_ct;
    size_t xml_len, a_len, mid_len, b_len;

    xml = tfx_read(file, &xml_len);
    snprintf(text, sizeof text, "[%s, %s]", step1, step2);
    run_ok(e, text, xml, xml_len, ct, &a, &a_len, &a_ct);
    snprintf(text, sizeof text, "[%s]", step1);
    run_ok(e, text, xml, xml_len, ct, &mid, &mid_len, &mid_ct);
    snprintf(text, sizeof text, "[%s]", step2);
    run_ok(e, text, mid, mid_len, mid_ct, &b, &b_len, &b_ct);
    if (a_len != b_len || memcmp(a, b, a_len) != 0)
        fail_msg("%s then %s on %s: the chain's body differs from the steps' apart", step1, step2,
                 file);
    assert_string_equal(a_ct, b_ct);
    assert_true(a_len > 0);
    free(xml);
    free(mid);
    free(mid_ct);
    free(b);
    free(b_ct);
    free(a_ct);
    *len = a_len;
    return a;
}

/* Load tests/plugins/forms_probe.c into e's registry. */
static void
load_probe(struct env *e)
{
    const char *build = getenv("BUILD");
    const char *text = "[\"forms_probe.so\"]";
    json_t *plugins = json_loads(text, 0, NULL);
    struct gw_jsonloc *loc = gw_jsonloc_build(text, strlen(text));
    char dir[512];
    struct gw_jctx c = { .file = "portico.json", .dir = dir, .loc = loc, .d = &e->d };

    snprintf(dir, sizeof dir, "%s/test-plugins", build && *build ? build : "build/release");
    assert_int_equal(tf_registry_load_plugins(e->reg, &c, plugins), 0);
    json_decref(plugins);
    gw_jsonloc_free(loc);
}

/* What the probes of the last run saw, in chain order: forms[i] and doc[i] (the document's
 * address as text). Returns how many probes ran. */
static size_t
probes(struct env *e, unsigned *forms, char (*doc)[32], size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < e->m.nheaders && n < max; i++) {
        const struct tf_header *h = &e->m.headers[i];
        char v[64];
        if (h->name_len != 7 || strncasecmp(h->name, "X-Forms", 7) != 0)
            continue;
        snprintf(v, sizeof v, "%.*s", (int)h->value_len, h->value);
        assert_int_equal(sscanf(v, "%u %31s", &forms[n], doc[n]), 2);
        n++;
    }
    return n;
}

/* validate (XML Schema) then xml_to_json, xml_map or xslt: the bytes the steps give apart. */
static void
test_validate_then_xml_steps(void **state)
{
    struct env *e = *state;
    char map[2048], *xml_map, *p, *out;
    size_t len, n;

    out = same_as_apart(e, VALIDATE_CAMT08, "{\"xml_to_json\": {}}", CAMT08, "text/xml", &len);
    assert_non_null(strstr(out, "\"AAAASESS-FP-STAT001\""));
    free(out);
    out = same_as_apart(e, VALIDATE_PACS, "{\"xml_to_json\": {\"pretty\": true}}", PACS,
                        "application/xml", &len);
    free(out);
    /* xml_map's camt.053 mapping, on the camt.053.001.08 namespace */
    xml_map = tfx_read("tests/data/xml_map/camt053.json", &n);
    while ((p = strstr(xml_map, "camt.053.001.02")) != NULL)
        p[14] = '8';
    snprintf(map, sizeof map, "%s", xml_map);
    out = same_as_apart(e, VALIDATE_CAMT08, map, CAMT08, "text/xml", &len);
    assert_non_null(strstr(out, "\"iban\":\"FI2112345600000785\""));
    assert_non_null(strstr(out, "1006.20"));
    free(out);
    free(xml_map);
    out = same_as_apart(e, VALIDATE_CAMT08, XSLT_STRIP, CAMT08, "text/xml", &len);
    assert_non_null(strstr(out, "<Stmt><Id>AAAASESS-FP-STAT001</Id>"));
    free(out);
    /* and xml_to_json after the xslt step's text */
    out = same_as_apart(e, XSLT_STRIP, "{\"xml_to_json\": {}}", CAMT08, "text/xml", &len);
    free(out);
}

/* soap: unwrap then xml_to_json (with and without declarations to carry down), wrap then
 * unwrap, unwrap then validate: the bytes the steps give apart. */
static void
test_soap_then_xml_steps(void **state)
{
    struct env *e = *state;
    char *pain, *wrapped, *ct, *out;
    size_t len, wlen;
    FILE *f;

    out = same_as_apart(e, UNWRAP, "{\"xml_to_json\": {}}", SOAP_NS, "text/xml", &len);
    assert_non_null(strstr(out, "PAY-0001"));
    free(out);
    out = same_as_apart(e, WRAP, UNWRAP, PAIN, "application/xml", &len);
    free(out);
    /* an envelope whose payload declares what it uses (nothing carried down): pain.001 wrapped */
    pain = tfx_read(PAIN, &len);
    run_ok(e, "[" WRAP "]", pain, len, "application/xml", &wrapped, &wlen, &ct);
    free(pain);
    f = fopen("build/chain_forms_wrapped.xml", "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(wrapped, 1, wlen, f), wlen);
    fclose(f);
    out = same_as_apart(e, UNWRAP, "{\"xml_to_json\": {}}", "build/chain_forms_wrapped.xml",
                        ct, &len);
    assert_non_null(strstr(out, "MsgId-001"));
    free(out);
    free(wrapped);
    free(ct);
    remove("build/chain_forms_wrapped.xml");
}

/* One parse: validate keeps the document it read beside the bytes, and the steps after it that
 * take a document get that one (forms_probe tells the forms held and the document's address).
 * The steps that write text (xslt, xml_map, soap) leave bytes only. */
static void
test_xml_parsed_once(void **state)
{
    struct env *e = *state;
    unsigned forms[8];
    char doc[8][32], *xml, *a, *b, *a_ct, *b_ct;
    size_t len, a_len, b_len;

    load_probe(e);
    xml = tfx_read(CAMT08, &len);
    run_ok(e, "[" PROBE ", " VALIDATE_CAMT08 ", " PROBE ", " VALIDATE_CAMT08 ", " PROBE ", "
           "{\"xml_to_json\": {}}]", xml, len, "text/xml", &a, &a_len, &a_ct);
    assert_int_equal(probes(e, forms, doc, 8), 3);
    assert_int_equal(forms[0], TF_FORM_BYTES);
    assert_int_equal(forms[1], TF_FORM_BYTES | TF_FORM_XML);
    assert_int_equal(forms[2], TF_FORM_BYTES | TF_FORM_XML);
    assert_string_equal(doc[1], doc[2]); /* validated twice, parsed once */
    run_ok(e, "[{\"xml_to_json\": {}}]", xml, len, "text/xml", &b, &b_len, &b_ct);
    assert_true(a_len == b_len && memcmp(a, b, a_len) == 0);
    free(a);
    free(a_ct);
    free(b);
    free(b_ct);
    /* the chain ends on validate: the document is left beside the bytes, which still hold */
    assert_int_equal(run(e, "[" VALIDATE_CAMT08 "]", xml, len, "text/xml"), 0);
    assert_int_equal(tf_body_forms(&e->m), TF_FORM_BYTES | TF_FORM_XML);
    assert_true(e->m.body_len == len && memcmp(e->m.body, xml, len) == 0);
    /* the steps that write text */
    run_ok(e, "[" VALIDATE_CAMT08 ", " XSLT_STRIP ", " PROBE "]", xml, len, "text/xml", &a,
           &a_len, &a_ct);
    assert_int_equal(probes(e, forms, doc, 8), 1);
    assert_int_equal(forms[0], TF_FORM_BYTES);
    free(a);
    free(a_ct);
    free(xml);
    xml = tfx_read(SOAP_NS, &len);
    run_ok(e, "[" PROBE ", " UNWRAP ", " PROBE "]", xml, len, "text/xml", &a, &a_len, &a_ct);
    assert_int_equal(probes(e, forms, doc, 8), 2);
    assert_int_equal(forms[0], TF_FORM_BYTES);
    assert_int_equal(forms[1], TF_FORM_BYTES);
    free(a);
    free(a_ct);
    free(xml);
}

/* A step that fails on the chain's document refuses as it did when it parsed the body itself. */
static void
test_xml_refusals(void **state)
{
    struct env *e = *state;
    static const char *const steps[] = {VALIDATE_CAMT08, XSLT_STRIP, UNWRAP,
                                        "{\"xml_map\": {\"fields\": {\"/a\": \"string(/)\"}}}"};
    static const char *const names[] = {"validate", "xslt", "soap", "xml_map"};
    char text[512], want[64];

    for (size_t i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "[%s]", steps[i]);
        assert_int_equal(run(e, text, "<a><b></a>", 10, "application/xml"), -1);
        assert_int_equal(e->x.err_status, 400);
        assert_string_equal(e->x.err_code, "invalid-body");
        snprintf(want, sizeof want, "%s: ", names[i]);
        if (strncmp(e->x.err_detail, want, strlen(want)) != 0)
            fail_msg("%s: detail \"%s\"", names[i], e->x.err_detail);
    }
}

int
main(void)
{
    tf_xml_alloc_init(); /* as the gateway: libxml2 initialised, its blocks from the exchange's arena */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_document_handed_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_at_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_over_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abi1_plugin_gets_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_on_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_number_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_then_xml_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soap_then_xml_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xml_parsed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xml_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
