/* test_json_map.c: the `json_map` transform.
 *
 * Golden cases: every tests/data/json_map/NAME.conf.json holds {"json_map": config, "test":
 * {"phase", "content_type", "expect": "done" | "skip" | "fail", "status", "code", "detail"}}
 * (test and its members optional: request phase, application/json, done); NAME.in.json is the
 * body; NAME.out.json the exact body expected (without its last newline) when done. Each case is
 * one test. Then the config errors, as `portico check` prints them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>

#include <cmocka.h>

#include "builtins_json.h"
#include "tf_fixture.h"
#include "xml_json.h"

#define GOLDEN_DIR "tests/data/json_map"

/* ---- golden cases ---------------------------------------------------------------------------- */

static const char *
test_param(const json_t *test, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(test, key));
    return v ? v : def;
}

/* Check the failure the case expects. */
static void
check_failure(struct tfx *f, const json_t *test, int rc, const char *name)
{
    const char *detail = json_string_value(json_object_get(test, "detail"));

    if (rc != TF_ERROR)
        fail_msg("%s: apply returned %d, want an error", name, rc);
    assert_int_equal(f->x.err_status, json_integer_value(json_object_get(test, "status")));
    assert_string_equal(f->x.err_code, json_string_value(json_object_get(test, "code")));
    if (detail != NULL)
        assert_string_equal(f->x.err_detail, detail);
}

static void
golden(void **state)
{
    const char *name = *state;
    char conf[256], in[256], out[256];
    struct gw_jdoc doc;
    struct tfx f;

    snprintf(conf, sizeof conf, GOLDEN_DIR "/%s.conf.json", name);
    snprintf(in, sizeof in, GOLDEN_DIR "/%s.in.json", name);
    snprintf(out, sizeof out, GOLDEN_DIR "/%s.out.json", name);
    tfx_init(&f);
    assert_int_equal(gw_jdoc_load(&doc, conf, "tests/data", &f.d, NULL), 0);
    const json_t *test = json_object_get(doc.root, "test");
    enum tf_phase phase = strcmp(test_param(test, "phase", "request"), "response") == 0
                              ? TF_PHASE_RESPONSE
                              : TF_PHASE_REQUEST;
    f.loc = NULL;
    if (tfx_create_doc(&f, &tf_json_map_ops, phase, doc.ctx.file, doc.ctx.dir,
                       json_object_get(doc.root, "json_map"), "json_map") == NULL) {
        gw_diag_print(&f.d, stderr);
        fail_msg("%s: the config was refused", name);
    }
    char *body = tfx_read(in, NULL);
    tfx_message(&f, phase, test_param(test, "content_type", "application/json"), body);
    int rc = f.ops->apply(f.inst, &f.m, &f.x);
    const char *expect = test_param(test, "expect", "done");
    if (strcmp(expect, "fail") == 0) {
        check_failure(&f, test, rc, name);
    } else if (strcmp(expect, "skip") == 0) {
        assert_int_equal(rc, TF_SKIP);
        assert_string_equal(tfx_body(&f), body);
    } else {
        char *want = tfx_read(out, NULL);
        size_t n = strlen(want);
        if (n > 0 && want[n - 1] == '\n')
            want[n - 1] = '\0';
        if (rc != TF_DONE)
            fail_msg("%s: apply returned %d (%s)", name, rc, f.x.err_detail);
        if (strcmp(tfx_body(&f), want) != 0)
            fail_msg("%s:\n got  %s\n want %s", name, tfx_body(&f), want);
        assert_int_equal(f.m.body_len, strlen(want));
        const struct tf_header *ct = f.x.header_get(&f.m, "content-type");
        assert_non_null(ct); /* unchanged */
        free(want);
    }
    free(body);
    tfx_free(&f);
    gw_jdoc_free(&doc);
}


/* ---- config errors --------------------------------------------------------------------------- */


static void
test_config_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(
        f, &tf_json_map_ops, TF_PHASE_REQUEST,
        "{\n"
        "  \"ops\": [\n"
        "    {\"copy\": {\"from\": \"a/b\", \"to\": \"/x\"}},\n"
        "    {\"move\": {\"from\": \"/a\", \"to\": \"/a/b\"}},\n"
        "    {\"copy\": {\"from\": \"/a/*/b/*\", \"to\": \"/x/*\"}},\n"
        "    {\"rename\": {\"path\": \"/a/*\", \"to\": \"x\"}},\n"
        "    {\"rename\": {\"path\": \"/a/b\", \"to\": \"/c\"}},\n"
        "    {\"delete\": {\"path\": \"\"}},\n"
        "    {\"default\": {\"path\": \"\", \"value\": 1}},\n"
        "    {\"set\": {\"path\": \"/a~2\"}},\n"
        "    {\"set\": {\"path\": \"/x\", \"value\": \"${nope}\"}},\n"
        "    {\"set\": {\"path\": \"/x\", \"value\": {\"deep\": [\"ok\", \"${partner.bad}\"]}}},\n"
        "    {\"copy\": {\"from\": \"/a/-\", \"to\": \"/b\"}},\n"
        "    {\"frobnicate\": {}},\n"
        "    {\"copy\": {\"from\": \"/a\", \"to\": \"/b\", \"extra\": 1}},\n"
        "    {\"copy\": \"x\"},\n"
        "    {\"copy\": {\"from\": \"/a\"}},\n"
        "    {\"delete\": {\"path\": 5}},\n"
        "    {\"copy\": {\"from\": \"/a\", \"to\": \"/b\"}, \"move\": {}},\n"
        "    {\"set\": {\"path\": \"/*/*/*/*/*/*/*/*/*\", \"value\": 1}},\n"
        "    {\"move\": {\"from\": \"/a/*/x\", \"to\": \"/a/0/x/y\"}}\n"
        "  ],\n"
        "  \"strict\": \"yes\",\n"
        "  \"other\": 1\n"
        "}",
        NULL));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " TFX_FILE ":25:3: routes[0].request[0].json_map.other: unknown key (expected one "
        "of: ops, strict)",
        "error: " TFX_FILE ":24:3: routes[0].request[0].json_map.strict: expected a boolean (true "
        "or false), got a string",
        "error: " TFX_FILE ":4:15: routes[0].request[0].json_map.ops[0].copy.from: \"a/b\" is not "
        "a JSON pointer: it must start with \"/\" (or be \"\", the whole document)",
        "error: " TFX_FILE ":5:29: routes[0].request[0].json_map.ops[1].move.to: cannot move "
        "\"/a\" to \"/a/b\": one lies inside the other (copy, then delete what is no longer "
        "wanted)",
        "error: " TFX_FILE ":6:35: routes[0].request[0].json_map.ops[2].copy.to: \"to\" has 1 "
        "\"*\" and \"from\" has 2: give \"to\" as many (element by element) or none (to collect "
        "the values into an array)",
        "error: " TFX_FILE ":7:17: routes[0].request[0].json_map.ops[3].rename.path: \"/a/*\" does "
        "not name an object member",
        "error: " TFX_FILE ":8:33: routes[0].request[0].json_map.ops[4].rename.to: \"to\" is the "
        "new member name, not a path (to change the place, use move)",
        "error: " TFX_FILE ":9:17: routes[0].request[0].json_map.ops[5].delete.path: cannot "
        "delete the whole document",
        "error: " TFX_FILE ":10:18: routes[0].request[0].json_map.ops[6].default.path: \"\" (the "
        "whole document) always exists: use set",
        "error: " TFX_FILE ":11:14: routes[0].request[0].json_map.ops[7].set.path: \"/a~2\": \"~\" "
        "must be followed by 0 (for \"~\") or 1 (for \"/\")",
        "error: " TFX_FILE ":11:6: routes[0].request[0].json_map.ops[7].set.value: required key "
        "\"value\" is missing",
        "error: " TFX_FILE ":12:28: routes[0].request[0].json_map.ops[8].set.value: unknown "
        "variable ${nope} at column 1",
        "error: " TFX_FILE ":13:53: routes[0].request[0].json_map.ops[9].set.value.deep[1]: "
        "unknown variable ${partner.bad} at column 1",
        "error: " TFX_FILE ":14:15: routes[0].request[0].json_map.ops[10].copy.from: \"/a/-\": "
        "\"-\" (a new array element) can only be written to",
        "error: " TFX_FILE ":15:5: routes[0].request[0].json_map.ops[11]: expected an operation: "
        "an object with one key, one of copy, move, rename, delete, set, default",
        "error: " TFX_FILE ":16:41: routes[0].request[0].json_map.ops[12].copy.extra: unknown key "
        "(expected one of: from, to)",
        "error: " TFX_FILE ":17:6: routes[0].request[0].json_map.ops[13].copy: expected an "
        "object, got a string",
        "error: " TFX_FILE ":18:6: routes[0].request[0].json_map.ops[14].copy.to: required key "
        "\"to\" is missing",
        "error: " TFX_FILE ":19:17: routes[0].request[0].json_map.ops[15].delete.path: expected a "
        "string, got an integer",
        "error: " TFX_FILE ":20:5: routes[0].request[0].json_map.ops[16]: expected an operation: "
        "an object with one key, one of copy, move, rename, delete, set, default",
        "error: " TFX_FILE ":21:14: routes[0].request[0].json_map.ops[17].set.path: "
        "\"/*/*/*/*/*/*/*/*/*\" has more than 8 \"*\" segments",
        "error: " TFX_FILE ":22:33: routes[0].request[0].json_map.ops[18].move.to: cannot move "
        "\"/a/*/x\" to \"/a/0/x/y\": one lies inside the other (copy, then delete what is no "
        "longer wanted)");
}

static void
test_config_shape_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST, "\"copy\"", NULL));
    assert_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST, "{}", NULL));
    assert_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST, "{\"ops\": []}", NULL));
    assert_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST, "{\"ops\": {}}", NULL));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " TFX_FILE ":1:27: routes[0].request[0].json_map: expected an object, got a "
        "string",
        "error: " TFX_FILE ":1:27: routes[0].request[0].json_map.ops: required key \"ops\" is "
        "missing",
        "error: " TFX_FILE ":2:2: routes[0].request[0].json_map.ops: at least one operation is "
        "needed",
        "error: " TFX_FILE ":2:2: routes[0].request[0].json_map.ops: expected an array, got an "
        "object");
}

/* One instance, many threads' worth of calls: apply never writes to the instance. */
static void
test_instance_reused(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST,
                               "{\"ops\": [{\"set\": {\"path\": \"/t\", \"value\": {\"a\": [1]}}},"
                               " {\"set\": {\"path\": \"/t/a/-\", \"value\": 2}}]}",
                               NULL));
    for (int i = 0; i < 3; i++) {
        tfx_message(f, TF_PHASE_REQUEST, "application/json", "{}");
        assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
        assert_string_equal(tfx_body(f), "{\"t\":{\"a\":[1,2]}}");
    }
}

/* The instance keeps nothing of the configuration's JSON (the loader frees it): constants
 * included, their strings and keys. */
static void
test_config_freed(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST,
                               "{\"ops\": [{\"set\": {\"path\": \"/t\", \"value\": "
                               "{\"name\": [\"text\", 6.2, {\"k\": \"v\"}]}}}]}",
                               NULL));
    json_decref(f->root);
    f->root = NULL;
    tfx_message(f, TF_PHASE_REQUEST, "application/json", "{}");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    assert_string_equal(tfx_body(f), "{\"t\":{\"name\":[\"text\",6.2,{\"k\":\"v\"}]}}");
}

/* A body the step before left as a document (no bytes: body_len 0) is mapped, not skipped as
 * an empty one, and its numbers keep their literals. */
static void
test_document_body(void **state)
{
    struct tfx *f = *state;
    struct jv *doc;

    assert_non_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST,
                               "{\"ops\": [{\"rename\": {\"path\": \"/a\", \"to\": \"b\"}}]}",
                               NULL));
    tfx_message(f, TF_PHASE_REQUEST, "application/json", "{\"a\":6.20,\"c\":[1e2]}");
    assert_non_null(doc = f->x.body_json(&f->x, &f->m, "test"));
    f->x.set_json(&f->x, &f->m, doc, 0);
    assert_int_equal(f->m.body_len, 0);
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    assert_string_equal(tfx_body(f), "{\"b\":6.20,\"c\":[1e2]}");
}

/* A body over the body limit is refused as too large (413), before it is read. */
static void
test_body_too_large(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_json_map_ops, TF_PHASE_REQUEST,
                               "{\"ops\": [{\"delete\": {\"path\": \"/a\"}}]}", NULL));
    f->limits.max_body = 4;
    tfx_message(f, TF_PHASE_REQUEST, "application/json", "{\"a\":1}");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_ERROR);
    assert_int_equal(f->x.err_status, 413);
    assert_string_equal(f->x.err_code, "body-too-large");
    assert_string_equal(f->x.err_detail,
                        "json_map: JSON: body of 7 bytes exceeds the limit of 4 bytes");
}

/* ---- one answer, one message, whichever transform reads the body ---------------------------- */

/* validate, json_map and json_to_xml read bodies with the one reader into the chain's document
 * (json_tree.h): the same body must get the same answer from all three, in both phases: accepted (json_map giving back every number's literal), or refused with
 * the same status, code and message. */
static void
test_json_readers_agree(void **state)
{
    static const struct {
        const struct tf_ops *ops;
        const char *conf;
    } steps[] = {
        { &tf_json_map_ops, "{\"ops\": [{\"copy\": {\"from\": \"/nope\", \"to\": \"/x\"}}]}" },
        { &tf_validate_ops, "{\"json_schema\": {}}" },
        { &tf_json_to_xml_ops, "{}" },
    };
    static const char beyond[] = "JSON: number beyond the range of a double at line 1, column ";
    char zeros[512], deep[80];
    struct {
        const char *body;
        const char *refusal; /* NULL: accepted */
        const char *code;    /* of the request's refusal (400) */
    } t[] = {
        { "{\"id\":\"PO-1\",\n \"id\":\"PO-2\"}",
          "JSON: duplicate object key \"id\" at line 2, column 2", "invalid-body" },
        { "{\"a\":{\"k\\u0041\":1,\"kA\":2}}",
          "JSON: duplicate object key \"kA\" at line 1, column 19", "invalid-body" },
        { "[1.5e+9999]", NULL, "invalid-body" },
        { "{\"t\":-1e309}", NULL, "invalid-body" },
        { zeros, NULL, "invalid-body" },
        { "{\"t\":-1e-9999}", NULL, NULL },
        { "[1e-400,2.5e-324,1.0e+308,-0]", NULL, NULL },
        { "[123456789012345678901234567890,-98765432109876543210987654321]", NULL, NULL },
        { "{\"n\":18446744073709551616,\"m\":-9223372036854775809}", NULL, NULL },
        { "{\"amount\":12345678901234567890.12345}", NULL, NULL },
        { deep, "JSON: nesting deeper than 64 at line 1, column 65", "invalid-body" },
        { "{\"name\":\"M\xfcller\"}", "JSON: invalid UTF-8 in a string at line 1, column 11",
          "invalid-body" },
        { "[\"\xc0\xaf\"]", "JSON: invalid UTF-8 in a string at line 1, column 3", "invalid-body" },
        { "[\"\xed\xa0\x80\"]", "JSON: invalid UTF-8 in a string at line 1, column 3",
          "invalid-body" },
        { "[1,\xff]", "JSON: invalid token at line 1, column 4", "invalid-body" },
        { "\xef\xbb\xbf{}", "JSON: invalid token at line 1, column 1", "invalid-body" },
        { "[\"\\udd1e\"]", "JSON: invalid \\u escape (lone surrogate) at line 1, column 3",
          "invalid-body" },
        { "[\"a\\u0000\"]", "JSON: \\u0000 in a string is not accepted at line 1, column 4",
          "invalid-body" },
        { "[\"a\tb\"]", "JSON: control character in a string at line 1, column 4", "invalid-body" },
        { "{\"a\":1}}", "JSON: end of input expected at line 1, column 8", "invalid-body" },
        { "{\"a\":1}\n{\"b\":2}", "JSON: end of input expected at line 2, column 1",
          "invalid-body" },
        { "{\"a\":1,}", "JSON: expected a key at line 1, column 8", "invalid-body" },
        { "[1,]", "JSON: invalid token at line 1, column 4", "invalid-body" },
        { "[NaN]", "JSON: invalid token at line 1, column 2", "invalid-body" },
        { "[007]", "JSON: invalid number at line 1, column 2", "invalid-body" },
        { "{\"a\" 1}", "JSON: expected ':' at line 1, column 6", "invalid-body" },
        { "[1}", "JSON: expected ',' or ']' at line 1, column 3", "invalid-body" },
        { " \n\t", "JSON: the document is empty", "invalid-body" },
    };
    struct tfx *f = *state;
    char refusal[3][128];

    snprintf(zeros, sizeof zeros, "{\"n\":1%0400d}", 0);
    memset(deep, '[', 70);
    deep[70] = '\0';
    snprintf(refusal[0], sizeof refusal[0], "%s2", beyond);
    snprintf(refusal[1], sizeof refusal[1], "%s6", beyond);
    snprintf(refusal[2], sizeof refusal[2], "%s6", beyond);
    for (size_t i = 0, r = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].refusal == NULL && t[i].code != NULL)
            t[i].refusal = refusal[r++];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (int resp = 0; resp < 2; resp++) {
            enum tf_phase phase = resp ? TF_PHASE_RESPONSE : TF_PHASE_REQUEST;
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
                const char *name = steps[k].ops->name;
                char want[256];

                if (tfx_create(f, steps[k].ops, phase, steps[k].conf, NULL) == NULL) {
                    gw_diag_print(&f->d, stderr);
                    fail_msg("%s: the config was refused", name);
                }
                tfx_message(f, phase, "application/json", t[i].body);
                int rc = f->ops->apply(f->inst, &f->m, &f->x);
                if (t[i].refusal == NULL) {
                    if (rc == TF_ERROR)
                        fail_msg("case %zu, %s: %s refused it: %s", i, resp ? "response" : "request",
                                 name, f->x.err_detail);
                    if (steps[k].ops == &tf_json_map_ops)
                        assert_string_equal(tfx_body(f), t[i].body); /* every literal kept */
                    continue;
                }
                snprintf(want, sizeof want, "%s: %s", name, t[i].refusal);
                if (rc != TF_ERROR || strcmp(f->x.err_detail ? f->x.err_detail : "", want) != 0)
                    fail_msg("case %zu, %s, %s: returned %d (%s), want \"%s\"", i,
                             resp ? "response" : "request", name, rc, f->x.err_detail, want);
                assert_int_equal(f->x.err_status, resp ? 502 : 400);
                assert_string_equal(f->x.err_code, resp ? "bad-upstream-response" : t[i].code);
                tf_ctx_clear_error(&f->x);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_config_shape_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_instance_reused, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_config_freed, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_document_body, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_json_readers_agree, tfx_setup, tfx_teardown),
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
    rc += _cmocka_run_group_tests("json_map golden", golden_tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
