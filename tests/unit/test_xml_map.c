/* test_xml_map.c: the xml_map transform: golden JSON from pain.001, camt.053 and the UBL invoice,
 * every type and "missing" knob, numbers kept as written, string escaping, content failures
 * (400 on the request, 502 on the response) and config errors as
 * "file:line:column: path: message". */
#include "tf_xml_fixture.h"

#include "builtins_xml.h"

#define DIR "tests/data/xml_map"
#define SAMPLES "tests/data/samples"

/* ---- golden outputs on the samples ---------------------------------------------------------- */

static void
golden(struct fx *f, const char *conf, enum tf_phase phase, const char *input, const char *out)
{
    char confpath[256];
    char *text;

    snprintf(confpath, sizeof confpath, DIR "/%s", conf);
    text = tfx_read(confpath, NULL);
    if (fx_create_phase(f, &tf_xml_map_ops, DIR, text, phase) == NULL) {
        fx_print_diag(f);
        free(text);
        fail_msg("%s refused", conf);
    }
    free(text);
    assert_int_equal(f->d.n, 0);
    fx_apply_file(f, phase, "application/xml", input);
    assert_string_equal(fx_header(f, "content-type"), "application/json");
    fx_golden(f, out);
}

static void
pain001(void **state)
{
    golden(*state, "pain001.json", TF_PHASE_REQUEST,
           SAMPLES "/pain.001.001.03.ch.02-musterfile.xml", DIR "/pain001.out");
}

static void
camt053(void **state)
{
    golden(*state, "camt053.json", TF_PHASE_RESPONSE, SAMPLES "/camt.053-sample.xml",
           DIR "/camt053.out");
}

static void
ubl_invoice(void **state)
{
    golden(*state, "ubl.json", TF_PHASE_REQUEST, SAMPLES "/ubl-invoice-example1.xml",
           DIR "/ubl.out");
}

/* ---- types and knobs on small documents ----------------------------------------------------- */

/* Map `body` with the fields object `fields` (JSON text); returns the apply result. */
static int
map(struct fx *f, enum tf_phase phase, const char *fields, const char *body)
{
    char conf[4096];

    snprintf(conf, sizeof conf, "{\"xml_map\": {\"namespaces\": {\"o\": \"urn:example:order\"}, "
                                "\"fields\": %s}}", fields);
    if (fx_create_phase(f, &tf_xml_map_ops, DIR, conf, phase) == NULL) {
        fx_print_diag(f);
        fail_msg("config refused: %s", fields);
    }
    fx_message(f, phase, "application/xml", body, strlen(body));
    return fx_apply(f);
}

static void
assert_map(struct fx *f, const char *fields, const char *body, const char *want)
{
    int rc = map(f, TF_PHASE_REQUEST, fields, body);

    if (rc != TF_DONE)
        fail_msg("%s: rc %d: %s", fields, rc, f->x.err_detail ? f->x.err_detail : "");
    assert_string_equal(f->m.body, want);
}

static const char order[] =
    "<o:order xmlns:o='urn:example:order' id='A-7'>"
    "<o:line n='1'><o:qty>2</o:qty><o:price>6.20</o:price><o:urgent>true</o:urgent>"
    "<o:discount/></o:line>"
    "<o:line n='2'><o:qty>10</o:qty><o:price>0.10</o:price><o:urgent>0</o:urgent>"
    "<o:note>He said \"hi\"\n\tthen \\left</o:note></o:line>"
    "<o:ref>014295803</o:ref><o:total>1e3</o:total>"
    "</o:order>";

static void
types(void **state)
{
    struct fx *f = *state;

    assert_map(f, "{\"/id\": \"string(/o:order/@id)\"}", order, "{\"id\":\"A-7\"}");
    /* a node-set as a string: its first node */
    assert_map(f, "{\"/qty\": \"//o:qty\"}", order, "{\"qty\":\"2\"}");
    /* numbers: the text as written, or the XPath number in its shortest form */
    assert_map(f,
               "{\"/p\": {\"xpath\": \"//o:price\", \"type\": \"number\"},"
               " \"/t\": {\"xpath\": \"/o:order/o:total\", \"type\": \"number\"},"
               " \"/n\": {\"xpath\": \"count(//o:line)\", \"type\": \"number\"},"
               " \"/s\": {\"xpath\": \"sum(//o:price)\", \"type\": \"number\"},"
               " \"/r\": {\"xpath\": \"1 div 3\", \"type\": \"number\"},"
               " \"/b\": {\"xpath\": \"1 = 1\", \"type\": \"number\"},"
               " \"/z\": {\"xpath\": \"-0\", \"type\": \"number\"}}",
               order, "{\"p\":6.20,\"t\":1e3,\"n\":2,\"s\":6.3,\"r\":0.3333333333333333,\"b\":1,"
                      "\"z\":0}");
    assert_map(f,
               "{\"/u\": {\"xpath\": \"//o:line[1]/o:urgent\", \"type\": \"boolean\"},"
               " \"/v\": {\"xpath\": \"//o:line[2]/o:urgent\", \"type\": \"boolean\"},"
               " \"/w\": {\"xpath\": \"count(//o:line) > 1\", \"type\": \"boolean\"},"
               " \"/x\": {\"xpath\": \"count(//o:note)\", \"type\": \"boolean\"}}",
               order, "{\"u\":true,\"v\":false,\"w\":true,\"x\":true}");
    assert_map(f,
               "{\"/note\": {\"xpath\": \"//o:note\", \"type\": \"exists\"},"
               " \"/gift\": {\"xpath\": \"//o:gift\", \"type\": \"exists\"},"
               " \"/yes\": {\"xpath\": \"true()\", \"type\": \"exists\"}}",
               order, "{\"note\":true,\"gift\":false,\"yes\":true}");
    assert_map(f, "{\"/note\": \"//o:note\"}", order,
               "{\"note\":\"He said \\\"hi\\\"\\n\\tthen \\\\left\"}");
}

static void
arrays(void **state)
{
    struct fx *f = *state;

    assert_map(f, "{\"/qty\": {\"xpath\": \"//o:qty\", \"type\": \"array\"}}", order,
               "{\"qty\":[\"2\",\"10\"]}");
    assert_map(f,
               "{\"/qty\": {\"xpath\": \"//o:qty\", \"type\": \"array\", \"items\": \"number\"},"
               " \"/none\": {\"xpath\": \"//o:gift\", \"type\": \"array\"},"
               " \"/urgent\": {\"xpath\": \"//o:urgent\", \"type\": \"array\","
               " \"items\": \"boolean\"}, \"/d\": {\"xpath\": \"//o:discount | //o:qty\", "
               "\"type\": \"array\", \"items\": \"number\"}}",
               order, "{\"qty\":[2,10],\"none\":[],\"urgent\":[true,false],\"d\":[2,null,10]}");
    assert_map(f,
               "{\"/lines\": {\"xpath\": \"//o:line\", \"type\": \"array\", \"fields\": {"
               "\"/n\": {\"xpath\": \"@n\", \"type\": \"number\"},"
               " \"/pos\": {\"xpath\": \"position()\", \"type\": \"number\"},"
               " \"/of\": {\"xpath\": \"last()\", \"type\": \"number\"},"
               " \"/price/amount\": {\"xpath\": \"o:price\", \"type\": \"number\"},"
               " \"/note\": {\"xpath\": \"o:note\", \"missing\": \"null\"}}}}",
               order, "{\"lines\":[{\"n\":1,\"pos\":1,\"of\":2,\"price\":{\"amount\":6.20},"
                      "\"note\":null},{\"n\":2,\"pos\":2,\"of\":2,\"price\":{\"amount\":0.10},"
                      "\"note\":\"He said \\\"hi\\\"\\n\\tthen \\\\left\"}]}");
}

/* Nested pointers make objects, in the order the config first names them; "~1" is '/'. */
static void
pointers(void **state)
{
    struct fx *f = *state;

    assert_map(f,
               "{\"/order/id\": \"string(/o:order/@id)\", \"/total\": \"string(//o:total)\","
               " \"/order/lines/count\": \"count(//o:line)\", \"/a~1b~0c\": \"'x'\"}",
               order, "{\"order\":{\"id\":\"A-7\",\"lines\":{\"count\":\"2\"}},\"total\":\"1e3\","
                      "\"a/b~c\":\"x\"}");
}

/* No value: omitted (default), null, or the exchange fails. An object whose fields are all
 * omitted stays, empty. */
static void
missing(void **state)
{
    struct fx *f = *state;

    assert_map(f,
               "{\"/gift\": \"//o:gift\", \"/empty\": \"string(//o:gift)\","
               " \"/nan\": {\"xpath\": \"number(//o:gift)\", \"type\": \"number\"},"
               " \"/n\": {\"xpath\": \"//o:gift\", \"missing\": \"null\"},"
               " \"/o/gift\": \"//o:gift\", \"/id\": \"string(/o:order/@id)\"}",
               order, "{\"n\":null,\"o\":{},\"id\":\"A-7\"}");
    fx_assert_fail(f, map(f, TF_PHASE_REQUEST,
                          "{\"/x/gift\": {\"xpath\": \"//o:gift\", \"missing\": \"fail\"}}", order),
                   400, "transform-failed", "xml_map /x/gift: \"//o:gift\" has no value");
    fx_assert_fail(f, map(f, TF_PHASE_RESPONSE,
                          "{\"/gift\": {\"xpath\": \"//o:gift\", \"missing\": \"fail\"}}", order),
                   502, "transform-failed", "xml_map /gift: \"//o:gift\" has no value");
}

/* Text that is not a number or a boolean where one is asked for: the message is at fault. */
static void
bad_values(void **state)
{
    struct fx *f = *state;

    fx_assert_fail(f, map(f, TF_PHASE_REQUEST,
                          "{\"/ref\": {\"xpath\": \"//o:ref\", \"type\": \"number\"}}", order),
                   400, "transform-failed", "xml_map /ref: \"014295803\" is not a number");
    fx_assert_fail(f, map(f, TF_PHASE_REQUEST,
                          "{\"/l\": {\"xpath\": \"//o:line\", \"type\": \"array\", \"fields\": "
                          "{\"/q\": {\"xpath\": \"o:note\", \"type\": \"number\"}}}}",
                          order),
                   400, "transform-failed", "xml_map /l/1/q: \"He said \"hi\"");
    fx_assert_fail(f, map(f, TF_PHASE_RESPONSE,
                          "{\"/u\": {\"xpath\": \"//o:price\", \"type\": \"boolean\"}}", order),
                   502, "transform-failed",
                   "xml_map /u: \"6.20\" is not a boolean (true, false, 1 or 0)");
    fx_assert_fail(f, map(f, TF_PHASE_REQUEST,
                          "{\"/i\": {\"xpath\": \"1 div 0\", \"type\": \"number\"}}", order),
                   400, "transform-failed", "xml_map /i: Infinity is not a JSON number");
    fx_assert_fail(f, map(f, TF_PHASE_REQUEST,
                          "{\"/a\": {\"xpath\": \"string(//o:qty)\", \"type\": \"array\"}}", order),
                   500, "transform-failed",
                   "xml_map /a: \"string(//o:qty)\" gives no node-set for an array");
}

static void
bodies(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xml_map_ops, DIR,
                              "{\"xml_map\": {\"fields\": {\"/a\": \"string(/a)\"}}}"));
    fx_message(f, TF_PHASE_REQUEST, "application/xml", NULL, 0);
    assert_int_equal(fx_apply(f), TF_SKIP);
    fx_message(f, TF_PHASE_REQUEST, "application/xml", "<a>", 3);
    fx_assert_fail(f, fx_apply(f), 400, "invalid-body", "xml_map: ");
    fx_message(f, TF_PHASE_RESPONSE, "application/xml", "<a>", 3);
    fx_assert_fail(f, fx_apply(f), 502, "bad-upstream-response", "xml_map: ");
    fx_message(f, TF_PHASE_REQUEST, "application/xml", "<a>x</a>", 8);
    assert_int_equal(fx_apply(f), TF_DONE);
    assert_string_equal(f->m.body, "{\"a\":\"x\"}");
}

/* ---- configuration -------------------------------------------------------------------------- */

static void
config_errors(void **state)
{
    struct fx *f = *state;
    char *conf = tfx_read(DIR "/errors.json", NULL);

    assert_null(fx_create(f, &tf_xml_map_ops, DIR, conf));
    free(conf);
    FX_ASSERT_DIAG(
        f,
        "error: partner.json:18:3: xml_map.other: unknown key (expected one of: namespaces, "
        "fields)",
        "error: partner.json:2:18: xml_map.namespaces.: XPath 1.0 names have no default "
        "namespace: give it a prefix",
        "error: partner.json:2:31: xml_map.namespaces.x:y: \"x:y\" is not a prefix (an XML name "
        "without ':')",
        "error: partner.json:2:47: xml_map.namespaces.xml: \"xml\" is a reserved prefix",
        "error: partner.json:2:59: xml_map.namespaces.n: expected a namespace URI (a non-empty "
        "string)",
        "error: partner.json:4:5: xml_map.fields.msgId: \"msgId\" is not a JSON pointer (start it "
        "with '/')",
        "error: partner.json:5:5: xml_map.fields./a//b: \"/a//b\": empty member name",
        "error: partner.json:6:5: xml_map.fields./a~2: \"/a~2\": '~' must be followed by 0 ('~') "
        "or 1 ('/')",
        "error: partner.json:7:5: xml_map.fields./bad: invalid XPath expression \"count(//a[)\": "
        "invalid expression at character 11",
        "error: partner.json:8:5: xml_map.fields./prefix: prefix \"q\" is not declared in "
        "\"namespaces\"",
        "error: partner.json:9:5: xml_map.fields./func: XPath expression \"frobnicate(/a)\": "
        "unregistered function",
        "error: partner.json:10:5: xml_map.fields./var: XPath expression \"$nope\": undefined "
        "variable",
        "error: partner.json:11:5: xml_map.fields./num: expected an XPath expression or an object "
        "{ \"xpath\": ... }, got an integer",
        "error: partner.json:12:64: xml_map.fields./obj.extra: unknown key (expected one of: "
        "xpath, type, items, missing, fields)",
        "error: partner.json:12:14: xml_map.fields./obj.type: \"int\" is not a type (string, "
        "number, boolean, exists or array)",
        "error: partner.json:12:29: xml_map.fields./obj.missing: \"maybe\" is not \"omit\", "
        "\"null\" or \"fail\"",
        "error: partner.json:13:46: xml_map.fields./arr.items: \"exists\" is not an item type "
        "(string, number or boolean)",
        "error: partner.json:13:65: xml_map.fields./arr.missing: an array always has a value",
        "error: partner.json:14:29: xml_map.fields./str.items: \"items\" goes with \"type\": "
        "\"array\" and no \"fields\"",
        "error: partner.json:14:48: xml_map.fields./str.fields: \"fields\" goes with \"type\": "
        "\"array\" (an object per node)",
        "error: partner.json:15:58: xml_map.fields./objs.fields.x: \"x\" is not a JSON pointer "
        "(start it with '/')",
        "error: partner.json:16:16: xml_map.fields./v/w: \"/v/w\" is inside the value of field "
        "\"/v\"",
        "error: partner.json:16:42: xml_map.fields./t: \"/t\" is already an object made by other "
        "fields");

    assert_null(fx_create(f, &tf_xml_map_ops, DIR, "{\"xml_map\": {\"fields\": {}}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:14: xml_map.fields: expected a non-empty object { "
                      "\"/pointer\": \"xpath\" }, got an empty object");
    assert_null(fx_create(f, &tf_xml_map_ops, DIR, "{\"xml_map\": {}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:2: xml_map.fields: required key \"fields\" is "
                      "missing");
    assert_null(fx_create(f, &tf_xml_map_ops, DIR, "{\"xml_map\": [1]}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:2: xml_map: expected an object { \"fields\": { "
                      "\"/pointer\": \"xpath\" } }, got an array");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pain001, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(camt053, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(ubl_invoice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(types, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(arrays, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(pointers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(missing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bodies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_errors, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
