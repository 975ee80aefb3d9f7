/* test_soap.c: the soap transform: wrap (1.1 and 1.2, prefix, SOAP action, header templates) and
 * unwrap (namespaces carried down, headers dropped) with golden files, the wrap/unwrap round trip
 * on every sample, SOAP 1.1 and 1.2 faults mapped to problems, bad envelopes, and config errors as
 * "file:line:column: path: message". */
#include "tf_xml_fixture.h"

#include <libxml/c14n.h>
#include <libxml/parser.h>

#include "builtins_xml.h"

#define DIR "tests/data/soap"
#define SAMPLES "tests/data/samples"
#define PAIN SAMPLES "/pain.001.001.03.ch.02-musterfile.xml"
#define UBL SAMPLES "/ubl-invoice-example1.xml"
#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

static void
create_ok(struct fx *f, const char *conf)
{
    if (fx_create(f, &tf_soap_ops, DIR, conf) == NULL) {
        fx_print_diag(f);
        fail_msg("config refused: %s", conf);
    }
    assert_int_equal(f->d.n, 0);
}

/* ---- wrap ----------------------------------------------------------------------------------- */

static void
wrap11(void **state)
{
    struct fx *f = *state;

    create_ok(f, "{\"soap\": {\"action\": \"wrap\"}}");
    fx_apply_file(f, TF_PHASE_REQUEST, "application/xml", PAIN);
    fx_golden(f, DIR "/wrap11-pain001.out");
    assert_string_equal(fx_header(f, "content-type"), "text/xml; charset=utf-8");
    assert_string_equal(fx_header(f, "soapaction"), "\"\"");
}

/* 1.2 with a prefix, an action from a template and a header whose text and attribute values are
 * templates (values are escaped as XML, whatever the partner put in them). */
static void
wrap12_header(void **state)
{
    struct fx *f = *state;
    static const char evil[] = "<b>&\"x'</b>";

    create_ok(f, "{\"soap\": {\"action\": \"wrap\", \"version\": \"1.2\", \"prefix\": \"env\",\n"
                 " \"soap_action\": \"urn:example:invoices#${route.name}\",\n"
                 " \"header\": \"<wsa:MessageID xmlns:wsa='http://www.w3.org/2005/08/addressing'"
                 ">urn:uuid:${request.id}</wsa:MessageID>"
                 "<p:Partner xmlns:p='urn:example:partner' env:mustUnderstand='true' "
                 "name='${partner.name}'>${header.X-Ref} costs $$5</p:Partner>\"}}");
    {
        size_t len;
        char *body = tfx_read(UBL, &len);
        fx_message(f, TF_PHASE_REQUEST, "application/xml", body, len);
        free(body);
    }
    f->x.header_add(&f->x, &f->m, "X-Ref", evil, strlen(evil));
    f->x.header_add(&f->x, &f->m, "SOAPAction", "\"old\"", 5);
    assert_int_equal(fx_apply(f), TF_DONE);
    fx_golden(f, DIR "/wrap12-ubl.out");
    assert_string_equal(fx_header(f, "content-type"),
                        "application/soap+xml; charset=utf-8; "
                        "action=\"urn:example:invoices#payments\"");
    assert_null(fx_header(f, "soapaction"));
}

/* On a response there is no SOAP action; a constant header is serialized once. */
static void
wrap_response(void **state)
{
    struct fx *f = *state;

    create_ok(f, "{\"soap\": {\"action\": \"wrap\", \"soap_action\": \"urn:x\", "
                 "\"header\": \"<h:Seen xmlns:h='urn:h'>yes</h:Seen>\"}}");
    fx_message(f, TF_PHASE_RESPONSE, "application/xml", "<r xmlns='urn:r'>ok</r>", 23);
    assert_int_equal(fx_apply(f), TF_DONE);
    assert_string_equal(f->m.body,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                        "<soap:Header><h:Seen xmlns:h=\"urn:h\">yes</h:Seen></soap:Header>"
                        "<soap:Body><r xmlns=\"urn:r\">ok</r></soap:Body></soap:Envelope>");
    assert_null(fx_header(f, "soapaction"));
    assert_string_equal(fx_header(f, "content-type"), "text/xml; charset=utf-8");
}

/* A SOAP action a partner's header could break the head with is refused. */
static void
wrap_bad_action(void **state)
{
    struct fx *f = *state;

    create_ok(f, "{\"soap\": {\"action\": \"wrap\", \"soap_action\": \"${header.X-Op}\"}}");
    fx_message(f, TF_PHASE_REQUEST, "application/xml", "<a/>", 4);
    f->x.header_add(&f->x, &f->m, "X-Op", "a\"b", 3);
    fx_assert_fail(f, fx_apply(f), 400, "transform-failed",
                   "soap: the SOAP action \"a\"b\" cannot go in a header");
}

/* ---- unwrap --------------------------------------------------------------------------------- */

static void
unwrap_namespaces(void **state)
{
    struct fx *f = *state;

    create_ok(f, "{\"soap\": {\"action\": \"unwrap\"}}");
    fx_apply_file(f, TF_PHASE_RESPONSE, "text/xml", DIR "/unwrap-ns.xml");
    fx_golden(f, DIR "/unwrap-ns.out");
    assert_string_equal(fx_header(f, "content-type"), "application/xml; charset=utf-8");
}

/* The canonical form (C14N 1.0, no comments) of an XML text. */
static char *
c14n(const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlChar *out = NULL;

    assert_non_null(doc);
    assert_true(xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 0, &out) >= 0);
    xmlFreeDoc(doc);
    return (char *)out;
}

/* wrap then unwrap gives back the same document (canonical form) for every sample and both
 * versions. */
static void
round_trip(void **state)
{
    static const char *const samples[] = {
        PAIN, UBL, SAMPLES "/camt.053-sample.xml", SAMPLES "/cii-invoice-example1.xml",
        SAMPLES "/edifact-invoic-example1.xml", DIR "/unwrap-ns.xml",
    };
    struct fx *f = *state;

    for (int v = 11; v <= 12; v++) {
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            size_t len;
            char *orig = tfx_read(samples[i], &len), *want = c14n(orig, len), *wrapped, *got;
            create_ok(f, v == 11 ? "{\"soap\": {\"action\": \"wrap\"}}"
                                 : "{\"soap\": {\"action\": \"wrap\", \"version\": \"1.2\"}}");
            fx_apply_file(f, TF_PHASE_REQUEST, "application/xml", samples[i]);
            wrapped = strndup(f->m.body, f->m.body_len);
            create_ok(f, v == 11 ? "{\"soap\": {\"action\": \"unwrap\", \"version\": \"1.1\"}}"
                                 : "{\"soap\": {\"action\": \"unwrap\", \"version\": \"1.2\"}}");
            fx_message(f, TF_PHASE_REQUEST, "text/xml", wrapped, strlen(wrapped));
            if (fx_apply(f) != TF_DONE)
                fail_msg("%s: %s", samples[i], f->x.err_detail);
            got = c14n(f->m.body, f->m.body_len);
            if (strcmp(got, want) != 0)
                fail_msg("%s (SOAP %d): the round trip changed the document", samples[i], v);
            xmlFree(got);
            xmlFree(want);
            free(wrapped);
            free(orig);
        }
    }
}

static int
unwrap_text(struct fx *f, enum tf_phase phase, const char *conf, const char *body)
{
    create_ok(f, conf);
    fx_message(f, phase, "text/xml", body, strlen(body));
    f->x.header_add(&f->x, &f->m, "SOAPAction", "\"urn:a\"", 7);
    return fx_apply(f);
}

static void
unwrap_bad(void **state)
{
    static const char any[] = "{\"soap\": {\"action\": \"unwrap\"}}";
    static const char v11[] = "{\"soap\": {\"action\": \"unwrap\", \"version\": \"1.1\"}}";
    struct fx *f = *state;

    fx_assert_fail(f, unwrap_text(f, TF_PHASE_REQUEST, any, "<Envelope><Body/></Envelope>"), 400,
                   "invalid-soap", "soap: the body is not a SOAP 1.1 or 1.2 envelope");
    fx_assert_fail(f, unwrap_text(f, TF_PHASE_RESPONSE, v11,
                                  "<e:Envelope xmlns:e='" SOAP12_NS "'><e:Body/></e:Envelope>"),
                   502, "invalid-soap", "soap: a SOAP 1.2 envelope where 1.1 is expected");
    fx_assert_fail(f, unwrap_text(f, TF_PHASE_REQUEST, any,
                                  "<e:Envelope xmlns:e='" SOAP11_NS "'><e:Header/></e:Envelope>"),
                   400, "invalid-soap", "soap: the envelope has no Body");
    fx_assert_fail(f, unwrap_text(f, TF_PHASE_REQUEST, any,
                                  "<e:Envelope xmlns:e='" SOAP11_NS "'><e:Body><a/><b/></e:Body>"
                                  "</e:Envelope>"),
                   400, "invalid-soap", "soap: the Body holds more than one element");
    fx_assert_fail(f, unwrap_text(f, TF_PHASE_REQUEST, any, "<e:Envelope"), 400, "invalid-body",
                   "soap: ");
    /* an empty Body: an empty message, no Content-Type, no SOAPAction */
    assert_int_equal(unwrap_text(f, TF_PHASE_RESPONSE, any,
                                 "<e:Envelope xmlns:e='" SOAP11_NS "'><e:Body> <!-- none --> "
                                 "</e:Body></e:Envelope>"),
                     TF_DONE);
    assert_int_equal(f->m.body_len, 0);
    assert_null(fx_header(f, "content-type"));
    assert_null(fx_header(f, "soapaction"));
    /* an empty message is left alone */
    create_ok(f, any);
    fx_message(f, TF_PHASE_RESPONSE, NULL, NULL, 0);
    assert_int_equal(fx_apply(f), TF_SKIP);
}

/* ---- faults --------------------------------------------------------------------------------- */

static void
assert_fault(struct fx *f, enum tf_phase phase, const char *file, int status, const char *code,
             const char *detail, const char *errors)
{
    char *got;
    size_t len;
    char *body = tfx_read(file, &len);

    create_ok(f, "{\"soap\": {\"action\": \"unwrap\"}}");
    fx_message(f, phase, "text/xml", body, len);
    free(body);
    fx_assert_fail(f, fx_apply(f), status, code, detail);
    assert_string_equal(f->x.err_detail, detail);
    assert_non_null(f->x.err_errors);
    got = json_dumps(f->x.err_errors, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(got, errors) != 0)
        fail_msg("%s: errors %s, expected %s", file, got, errors);
    free(got);
}

static void
faults(void **state)
{
    struct fx *f = *state;

    assert_fault(f, TF_PHASE_RESPONSE, DIR "/fault11-client.xml", 400, "upstream-fault",
                 "upstream SOAP fault soap:Client.Validation: Invalid IBAN \"CH00 0000\" in "
                 "CdtrAcct",
                 "[{\"code\":\"soap:Client.Validation\",\"node\":\"urn:example:payments\","
                 "\"reason\":\"Invalid IBAN \\\"CH00 0000\\\" in CdtrAcct\",\"soap\":\"1.1\"}]");
    assert_fault(f, TF_PHASE_RESPONSE, DIR "/fault11-server.xml", 502, "upstream-fault",
                 "upstream SOAP fault s:Server: Database unavailable",
                 "[{\"code\":\"s:Server\",\"reason\":\"Database unavailable\",\"soap\":\"1.1\"}]");
    assert_fault(f, TF_PHASE_RESPONSE, DIR "/fault11-custom.xml", 502, "upstream-fault",
                 "upstream SOAP fault x:Client: Custom",
                 "[{\"code\":\"x:Client\",\"reason\":\"Custom\",\"soap\":\"1.1\"}]");
    assert_fault(f, TF_PHASE_RESPONSE, DIR "/fault12-sender.xml", 400, "upstream-fault",
                 "upstream SOAP fault env:Sender: Creditor account checksum does not match",
                 "[{\"code\":\"env:Sender\",\"node\":\"urn:example:payments:validator\","
                 "\"reason\":\"Creditor account checksum does not match\",\"role\":"
                 "\"http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver\",\"soap\":"
                 "\"1.2\",\"subcodes\":[\"p:InvalidAccount\",\"p:ChecksumMismatch\"]}]");
    assert_fault(f, TF_PHASE_RESPONSE, DIR "/fault12-receiver.xml", 502, "upstream-fault",
                 "upstream SOAP fault env:Receiver: Timeout calling the ledger",
                 "[{\"code\":\"env:Receiver\",\"reason\":\"Timeout calling the ledger\","
                 "\"soap\":\"1.2\"}]");
    /* a partner sending a fault: 400 whatever its code */
    assert_fault(f, TF_PHASE_REQUEST, DIR "/fault12-receiver.xml", 400, "soap-fault",
                 "SOAP fault env:Receiver: Timeout calling the ledger",
                 "[{\"code\":\"env:Receiver\",\"reason\":\"Timeout calling the ledger\","
                 "\"soap\":\"1.2\"}]");
    assert_fault(f, TF_PHASE_REQUEST, DIR "/fault11-server.xml", 400, "soap-fault",
                 "SOAP fault s:Server: Database unavailable",
                 "[{\"code\":\"s:Server\",\"reason\":\"Database unavailable\",\"soap\":\"1.1\"}]");
}

/* ---- configuration -------------------------------------------------------------------------- */

static void
config_errors(void **state)
{
    struct fx *f = *state;

    assert_null(fx_create(f, &tf_soap_ops, DIR,
                          "{\"soap\": {\n"
                          "  \"action\": \"wash\",\n"
                          "  \"version\": \"1.3\",\n"
                          "  \"prefix\": \"a:b\",\n"
                          "  \"soap_action\": \"${nope}\",\n"
                          "  \"header\": \"<a>\",\n"
                          "  \"envelope\": true\n"
                          "}}"));
    FX_ASSERT_DIAG(
        f,
        "error: partner.json:7:3: soap.envelope: unknown key (expected one of: action, version, "
        "prefix, soap_action, header)",
        "error: partner.json:2:3: soap.action: \"wash\" is not \"wrap\" or \"unwrap\"",
        "error: partner.json:3:3: soap.version: \"1.3\" is not \"1.1\" or \"1.2\"",
        "error: partner.json:4:3: soap.prefix: \"a:b\" is not a prefix (an XML name without ':')",
        "error: partner.json:5:3: soap.soap_action: unknown variable ${nope} at column 1",
        "error: partner.json:6:3: soap.header: not a well-formed XML fragment: Opening and ending "
        "tag mismatch: a line 1 and soap:Header");

    assert_null(fx_create(f, &tf_soap_ops, DIR,
                          "{\"soap\": {\"action\": \"unwrap\", \"version\": 1.1,\n"
                          "  \"prefix\": \"s\", \"header\": \"<a/>\"}}"));
    FX_ASSERT_DIAG(f,
                   "error: partner.json:1:31: soap.version: expected a string, got a number",
                   "error: partner.json:2:3: soap.prefix: goes with \"action\": \"wrap\"",
                   "error: partner.json:2:18: soap.header: goes with \"action\": \"wrap\"");

    assert_null(fx_create(f, &tf_soap_ops, DIR,
                          "{\"soap\": {\"action\": \"wrap\", \"header\": \"text <a/>\"}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:29: soap.header: holds text outside elements: header "
                      "blocks are elements");
    assert_null(fx_create(f, &tf_soap_ops, DIR,
                          "{\"soap\": {\"action\": \"wrap\", \"header\": \"<q:a/>\"}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:29: soap.header: not a well-formed XML fragment: "
                      "Namespace prefix q on a is not defined");
    assert_null(fx_create(f, &tf_soap_ops, DIR,
                          "{\"soap\": {\"action\": \"wrap\", \"header\": \"<a v='${x}'/>\"}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:29: soap.header: unknown variable ${x} at column 1 "
                      "in \"${x}\"");
    assert_null(fx_create(f, &tf_soap_ops, DIR, "{\"soap\": {}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:2: soap.action: required key \"action\" is missing");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(wrap11, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wrap12_header, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wrap_response, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wrap_bad_action, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(unwrap_namespaces, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(unwrap_bad, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(faults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_errors, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
