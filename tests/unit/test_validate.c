/* test_validate.c: the `validate` transform and the JSON Schema subset.
 *
 * Golden cases: every tests/data/validate/NAME.conf.json holds {"validate": config, "test":
 * {"input": file (relative to tests/data/validate), "content_type", "phase", "expect": "done" |
 * "skip" | "fail"}}; the bundle folder is tests/data, so schemas are named "samples/..." or
 * "validate/schemas/...". A failing case's NAME.out.json is the expected problem:
 * {"status", "code", "detail", "errors"}. Each case is one test. Then the config errors, as
 * `portico check` prints them, schema files included.
 *
 * PORTICO_GOLDEN_WRITE=1 in the environment rewrites the .out.json of the failing cases from what
 * they give (review the diff before committing it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <pthread.h>

#include <cmocka.h>

#include "builtins_json.h"
#include "json_schema.h"
#include "json_tree.h"
#include "tf_fixture.h"

#define GOLDEN_DIR "tests/data/validate"

/* ---- golden cases ---------------------------------------------------------------------------- */

static const char *
test_param(const json_t *test, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(test, key));
    return v ? v : def;
}

static void
check_failure(struct tfx *f, const char *name, int rc)
{
    char path[256];
    json_error_t e;
    json_t *want, *got = tfx_problem(&f->x);

    snprintf(path, sizeof path, GOLDEN_DIR "/%s.out.json", name);
    if (getenv("PORTICO_GOLDEN_WRITE") != NULL && rc == TF_ERROR) /* then review the diff */
        json_dump_file(got, path, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    want = json_load_file(path, 0, &e);
    if (rc != TF_ERROR || want == NULL || !json_equal(want, got)) {
        char *s = json_dumps(got, JSON_INDENT(2));
        fail_msg("%s: apply returned %d; the problem (want %s):\n%s", name, rc, path, s);
    }
    json_decref(want);
    json_decref(got);
}

static void
golden(void **state)
{
    const char *name = *state;
    char conf[256], in[256];
    struct gw_jdoc doc;
    struct tfx f;

    snprintf(conf, sizeof conf, GOLDEN_DIR "/%s.conf.json", name);
    tfx_init(&f);
    assert_int_equal(gw_jdoc_load(&doc, conf, "tests/data", &f.d, NULL), 0);
    const json_t *test = json_object_get(doc.root, "test");
    enum tf_phase phase = strcmp(test_param(test, "phase", "request"), "response") == 0
                              ? TF_PHASE_RESPONSE
                              : TF_PHASE_REQUEST;
    if (tfx_create_doc(&f, &tf_validate_ops, phase, doc.ctx.file, doc.ctx.dir,
                       json_object_get(doc.root, "validate"), "validate") == NULL) {
        gw_diag_print(&f.d, stderr);
        fail_msg("%s: the config was refused", name);
    }
    snprintf(in, sizeof in, GOLDEN_DIR "/%s", test_param(test, "input", "?"));
    char *body = tfx_read(in, NULL);
    tfx_message(&f, phase, test_param(test, "content_type", NULL), body);
    int rc = f.ops->apply(f.inst, &f.m, &f.x);
    const char *expect = test_param(test, "expect", "done");
    if (strcmp(expect, "fail") == 0) {
        check_failure(&f, name, rc);
    } else {
        if (rc != (strcmp(expect, "skip") == 0 ? TF_SKIP : TF_DONE))
            fail_msg("%s: apply returned %d (%s)", name, rc, f.x.err_detail);
        assert_string_equal(tfx_body(&f), body); /* validation never changes the body */
    }
    free(body);
    tfx_free(&f);
    gw_jdoc_free(&doc);
}


/* ---- unit tests ------------------------------------------------------------------------------ */


static void
test_config_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST, "{}", NULL));
    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                           "{\"xml_schema\": \"a.xsd\", \"json_schema\": {},\n"
                           " \"max_errors\": 0, \"strict\": 1, \"schema\": \"x\"}",
                           NULL));
    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST, "{\"json_schema\": 5}", NULL));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " TFX_FILE ":1:27: routes[0].request[0].validate: give one schema: \"xml_schema\" "
        "or \"json_schema\"",
        "error: " TFX_FILE ":3:32: routes[0].request[0].validate.schema: unknown key (expected "
        "one of: xml_schema, json_schema, strict, max_errors)",
        "error: " TFX_FILE ":3:19: routes[0].request[0].validate.strict: expected a boolean "
        "(true or false), got an integer",
        "error: " TFX_FILE ":3:2: routes[0].request[0].validate.max_errors: 0 is out of "
        "range (1 to 1000)",
        "error: " TFX_FILE ":1:27: routes[0].request[0].validate: give one schema: \"xml_schema\" "
        "or \"json_schema\"",
        "error: " TFX_FILE ":2:2: routes[0].request[0].validate.json_schema: expected a file "
        "name or an inline schema (an object), got an integer");
}

static void
test_xml_schema_file_errors(void **state)
{
    struct tfx *f = *state;
    static const char *const names[] = {
        "missing.xsd",
        "../samples/pacs.008.001.09.xsd",
        "/etc/passwd",
        "schemas/include-outside.xsd",
        "schemas/include-http.xsd",
        "schemas/with-dtd.xsd",
        "schemas/include-dtd.xsd",
        "schemas/not-a-schema.xsd",
        "schemas/broken-type.xsd",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char conf[256];
        snprintf(conf, sizeof conf, "{\"xml_schema\": \"%s\"}", names[i]);
        assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST, conf, GOLDEN_DIR));
    }
#define AT "error: " TFX_FILE ":2:2: routes[0].request[0].validate.xml_schema: "
    TFX_ASSERT_DIAG(
        &f->d,
        AT "cannot read " GOLDEN_DIR "/missing.xsd: No such file or directory",
        AT "\"../samples/pacs.008.001.09.xsd\" is outside the bundle folder (use a name relative "
           "to it, without \"..\")",
        AT "\"/etc/passwd\" is outside the bundle folder (use a name relative to it, without "
           "\"..\")",
        AT "\"../../etc/passwd\" is outside the bundle folder (use a name relative to it, "
           "without \"..\")",
        AT "\"http://127.0.0.1:9/x.xsd\": a schema may only include or import files of the "
           "bundle, by a relative name",
        AT "schemas/with-dtd.xsd: XML: DTDs are not accepted (line 2)",
        AT "schemas/dtd.xsd: XML: DTDs are not accepted (line 2)",
        AT "schemas/not-a-schema.xsd: The XML document 'schemas/not-a-schema.xsd' is not a "
           "schema document.",
        AT "schemas/broken-type.xsd:3: element decl. 'Doc', attribute 'type': The QName value "
           "'NoSuchType' does not resolve to a(n) type definition.");
#undef AT
}

static void
test_json_schema_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(
        f, &tf_validate_ops, TF_PHASE_RESPONSE,
        "{\"json_schema\": {\n"
        "  \"type\": [\"object\", \"map\"],\n"
        "  \"format\": \"date\",\n"
        "  \"required\": \"id\",\n"
        "  \"properties\": {\n"
        "    \"a\": {\"minimum\": \"1\", \"exclusiveMaximum\": true},\n"
        "    \"b\": {\"minLength\": -1, \"maxItems\": 1.5},\n"
        "    \"c\": {\"pattern\": \"[\\\\d]+\"},\n"
        "    \"d\": {\"pattern\": \"a{2\"},\n"
        "    \"e\": {\"$ref\": \"other.json#/x\"},\n"
        "    \"f\": {\"$ref\": \"#/$defs/none\"},\n"
        "    \"g\": {\"items\": [{}]},\n"
        "    \"h\": 3,\n"
        "    \"i\": {\"enum\": []}\n"
        "  },\n"
        "  \"$defs\": {\"loop\": {\"$ref\": \"#/$defs/loop2\"}, \"loop2\": {\"$ref\": "
        "\"#/$defs/loop\"}},\n"
        "  \"additionalProperties\": \"no\",\n"
        "  \"allOf\": []\n"
        "}}",
        NULL));
#define AT "error: " TFX_FILE
#define JS "routes[0].response[0].validate.json_schema"
    TFX_ASSERT_DIAG(
        &f->d,
        AT ":3:22: " JS ".type[1]: expected a type name (null, boolean, object, array, number, "
           "string, integer)",
        AT ":4:3: " JS ".format: unsupported keyword \"format\" (supported: type, properties, "
           "required, additionalProperties, items, minItems, maxItems, enum, const, minimum, "
           "maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, $ref, "
           "$defs, definitions)",
        AT ":5:3: " JS ".required: expected an array of property names, got a string",
        AT ":7:11: " JS ".properties.a.minimum: expected a number, got a string",
        AT ":7:27: " JS ".properties.a.exclusiveMaximum: a boolean here is draft 4, which is not "
           "supported: give the bound itself as a number (draft 6 and later)",
        AT ":8:11: " JS ".properties.b.minLength: must not be negative",
        AT ":8:28: " JS ".properties.b.maxItems: expected a non-negative integer, got a number",
        AT ":9:11: " JS ".properties.c.pattern: pattern \"[\\d]+\": a backslash inside [...] is "
           "refused (POSIX reads it as a backslash, ECMA-262 as an escape)",
        AT ":10:11: " JS ".properties.d.pattern: pattern \"a{2\" is not a POSIX extended regular "
           "expression: Unmatched \\{",
        AT ":11:11: " JS ".properties.e.$ref: \"other.json#/x\": only references inside this "
           "schema are supported (\"#/$defs/name\")",
        AT ":12:11: " JS ".properties.f.$ref: \"#/$defs/none\" does not name a place in this "
           "schema",
        AT ":13:11: " JS ".properties.g.items: the array form of items (a tuple) is not "
           "supported: give one schema for every element",
        AT ":14:5: " JS ".properties.h: expected a schema (an object, true or false), got an "
           "integer",
        AT ":15:11: " JS ".properties.i.enum: expected a non-empty array of the allowed values",
        AT ":18:3: " JS ".additionalProperties: expected true, false or a schema, got a string",
        AT ":19:3: " JS ".allOf: unsupported keyword \"allOf\" (supported: type, properties, "
           "required, additionalProperties, items, minItems, maxItems, enum, const, minimum, "
           "maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, $ref, "
           "$defs, definitions)",
        AT ":17:22: " JS ".$defs.loop.$ref: this $ref leads back to itself through $ref only (an "
           "endless loop)",
        AT ":17:58: " JS ".$defs.loop2.$ref: this $ref leads back to itself through $ref only (an "
           "endless loop)");
#undef JS
#undef AT
}

static void
test_json_schema_file_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                           "{\"json_schema\": \"schemas/bad.json\"}", GOLDEN_DIR));
    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                           "{\"json_schema\": \"schemas/syntax.json\"}", GOLDEN_DIR));
    assert_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                           "{\"json_schema\": \"../validate/schemas/bad.json\"}", GOLDEN_DIR));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " GOLDEN_DIR "/schemas/bad.json:4:32: properties.when.format: unsupported keyword "
        "\"format\" (supported: type, properties, required, additionalProperties, items, "
        "minItems, maxItems, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, "
        "minLength, maxLength, pattern, $ref, $defs, definitions)",
        "error: " GOLDEN_DIR "/schemas/bad.json:6:13: items.type: expected a type name (null, "
        "boolean, object, array, number, string, integer) or a non-empty array of them",
        "error: " GOLDEN_DIR "/schemas/syntax.json:3:1: string or '}' expected near end of file",
        "error: " TFX_FILE ":2:2: routes[0].request[0].validate.json_schema: "
        "\"../validate/schemas/bad.json\" is outside the bundle folder (use a name relative to "
        "it, without \"..\")");
}

/* The JSON Schema module on its own: the details the golden cases do not show. */
static void
report_fail(void *arg, const char *path, const char *msg)
{
    print_error("schema refused at \"%s\": %s\n", path, msg);
    fail();
}

/* Errors of validating text (read as a body is: the one reader, into the chain's document)
 * against schema text, as compact JSON. */
static char *
check_json(const char *schema_text, const char *text, size_t max, size_t *count)
{
    json_t *schema = json_loads(schema_text, JSON_DECODE_ANY, NULL);
    json_t *errors = json_array();
    struct tf_limits limits;
    struct gw_arena arena;
    struct tf_ctx x;
    struct tf_jschema *s;
    enum tf_threat why;
    char err[256], *out;
    struct jv v;

    assert_non_null(schema);
    tf_limits_default(&limits);
    gw_arena_init(&arena);
    tf_ctx_init(&x, &arena, &limits);
    if (tf_json_tree_read(text, strlen(text), &limits, &x, &v, &why, err, sizeof err) < 0)
        fail_msg("%s: %s", text, err);
    s = tf_jschema_compile(schema, report_fail, NULL);
    assert_non_null(s);
    *count = tf_jschema_check(s, &v, errors, max);
    out = json_dumps(errors, JSON_COMPACT);
    tf_jschema_free(s);
    json_decref(schema);
    json_decref(errors);
    gw_arena_free(&arena);
    return out;
}

static void
test_json_schema_module(void **state)
{
    static const struct {
        const char *schema, *value, *errors;
    } cases[] = {
        {"true", "[1]", "[]"},
        {"false", "1", "[{\"path\":\"\",\"message\":\"no value is allowed here\"}]"},
        {"{\"type\":\"integer\"}", "3.0", "[]"},
        {"{\"type\":\"integer\"}", "3.5",
         "[{\"path\":\"\",\"message\":\"expected an integer, got a number\"}]"},
        {"{\"type\":[\"string\",\"null\"]}", "1",
         "[{\"path\":\"\",\"message\":\"expected null or a string, got an integer\"}]"},
        {"{\"const\":{\"a\":[1,2.0]}}", "{\"a\":[1.0,2]}", "[]"},
        {"{\"enum\":[1,\"a\"]}", "true",
         "[{\"path\":\"\",\"message\":\"must be one of [1,\\\"a\\\"]\"}]"},
        {"{\"minLength\":2,\"maxLength\":3}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\"", "[]"}, /* 3 chars */
        {"{\"pattern\":\"\\\\d{3}\"}", "\"ab123\"", "[]"}, /* unanchored, like ECMA-262 */
        {"{\"pattern\":\"^\\\\D+$\"}", "\"ab1\"",
         "[{\"path\":\"\",\"message\":\"must match the pattern ^\\\\D+$\"}]"},
        {"{\"pattern\":\"^\\\\w+\\\\s[]a-]$\"}", "\"x_1 ]\"", "[]"},
        {"{\"minimum\":0.1}", "0.05", "[{\"path\":\"\",\"message\":\"must be at least 0.1\"}]"},
        {"{\"properties\":{\"a/b\":{\"properties\":{\"m~n\":false}}}}", "{\"a/b\":{\"m~n\":1}}",
         "[{\"path\":\"/a~1b/m~0n\",\"message\":\"no value is allowed here\"}]"},
        {"{\"$ref\":\"#/$defs/n\",\"$defs\":{\"n\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$"
         "defs/n\"}}}}",
         "[[],[[1]]]", "[{\"path\":\"/1/0/0\",\"message\":\"expected an array, got an integer\"}]"},
        {"{\"$ref\":\"#/$defs/a%20b\",\"$defs\":{\"a b\":{\"minItems\":1}},\"type\":\"array\"}",
         "[]", "[{\"path\":\"\",\"message\":\"must have at least 1 element (has 0)\"}]"},
        {"{\"items\":{\"type\":\"string\"}}", "[1,2,3]",
         "[{\"path\":\"/0\",\"message\":\"expected a string, got an integer\"},"
         "{\"path\":\"/1\",\"message\":\"expected a string, got an integer\"}]"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t count;
        char *got = check_json(cases[i].schema, cases[i].value, 2, &count);
        if (strcmp(got, cases[i].errors) != 0)
            fail_msg("%s on %s:\n got  %s\n want %s", cases[i].schema, cases[i].value, got,
                     cases[i].errors);
        free(got);
    }
}

static void
test_error_cap(void **state)
{
    size_t count;
    char *got = check_json("{\"items\":{\"type\":\"string\"}}", "[1,2,3,4,5]", 2, &count);

    assert_int_equal(count, 5); /* all counted, 2 listed */
    free(got);
}

/* A libxml2 message longer than an error holds is cut on a character boundary, still UTF-8. */
static void
test_long_xml_message(void **state)
{
    struct tfx *f = *state;
    char body[4096];
    size_t off;

    assert_non_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                               "{\"xml_schema\": \"validate/schemas/main.xsd\"}", "tests/data"));
    off = (size_t)snprintf(body, sizeof body, "<Doc xmlns=\"urn:portico:test\"><Code>");
    for (int i = 0; i < 700; i++)
        off += (size_t)snprintf(body + off, sizeof body - off, "\xc3\x89"); /* É */
    snprintf(body + off, sizeof body - off, "</Code><N>1</N></Doc>");
    tfx_message(f, TF_PHASE_REQUEST, "application/xml", body);
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_ERROR);
    assert_int_equal(json_array_size(f->x.err_errors), 2);
    for (size_t i = 0; i < 2; i++) {
        const json_t *e = json_array_get(f->x.err_errors, i);
        assert_string_equal(json_string_value(json_object_get(e, "path")), "/Doc/Code");
        assert_true(strncmp(json_string_value(json_object_get(e, "message")),
                            "Element '{urn:portico:test}Code': [facet", 40) == 0);
    }
}

/* One instance, four threads at once (as the workers share it): each thread has its own
 * context, the xmlSchema and the compiled JSON Schema are only read. */
struct worker {
    void *inst;
    const char *body, *ct;
    size_t want_errors;
    int failures;
};

static void *
worker_run(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 40; i++) {
        struct tfx f;
        tfx_init(&f);
        tfx_message(&f, TF_PHASE_REQUEST, w->ct, w->body);
        int rc = tf_validate_ops.apply(w->inst, &f.m, &f.x);
        if (rc != TF_ERROR || json_array_size(f.x.err_errors) != w->want_errors)
            w->failures++;
        tfx_free(&f);
    }
    return NULL;
}

static void
run_workers(void *inst, const char *body, const char *ct, size_t want_errors)
{
    struct worker w[4];
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){inst, body, ct, want_errors, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
}

static void
test_concurrent_apply(void **state)
{
    struct tfx *f = *state;
    char *xml = tfx_read(GOLDEN_DIR "/pacs008-invalid.xml", NULL);
    char *json = tfx_read(GOLDEN_DIR "/order-invalid.json", NULL);

    assert_non_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                               "{\"xml_schema\": \"samples/pacs.008.001.09.xsd\"}",
                               "tests/data"));
    run_workers(f->inst, xml, "application/xml", 5);
    assert_non_null(tfx_create(f, &tf_validate_ops, TF_PHASE_REQUEST,
                               "{\"json_schema\": \"validate/schemas/order.json\"}",
                               "tests/data"));
    run_workers(f->inst, json, "application/json", 17);
    free(xml);
    free(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_xml_schema_file_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_json_schema_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_json_schema_file_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test(test_json_schema_module),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test_setup_teardown(test_long_xml_message, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_apply, tfx_setup, tfx_teardown),
    };
    char **names = NULL, label[128][96];
    size_t n = tfx_golden_names(GOLDEN_DIR, ".conf.json", &names);
    struct CMUnitTest golden_tests[128];
    int rc;

    if (n == 0 || n > 128) {
        fprintf(stderr, "no golden cases in " GOLDEN_DIR " (run from the repository root)\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(label[i], sizeof label[i], "golden %s", names[i]);
        golden_tests[i] = (struct CMUnitTest){label[i], golden, NULL, NULL, names[i]};
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rc += _cmocka_run_group_tests("validate golden", golden_tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
