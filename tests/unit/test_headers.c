/* test_headers.c: the `headers` transform: every operation and its fixed order, both phases,
 * templates in values, and the config errors as `portico check` prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "builtins_json.h"
#include "tf_fixture.h"


static void
add(struct tfx *f, const char *name, const char *value)
{
    f->x.header_add(&f->x, &f->m, name, value, strlen(value));
}

/* The message's headers must be exactly want ("Name: value" each), in order. */
static void
assert_headers(const struct tf_message *m, const char *const *want, size_t n)
{
    int ok = m->nheaders == n;

    for (size_t i = 0; ok && i < n; i++) {
        char line[512];
        snprintf(line, sizeof line, "%.*s: %.*s", (int)m->headers[i].name_len,
                 m->headers[i].name, (int)m->headers[i].value_len, m->headers[i].value);
        ok = strcmp(line, want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "expected:\n");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
        fprintf(stderr, "got:\n");
        for (size_t i = 0; i < m->nheaders; i++)
            fprintf(stderr, "  %.*s: %.*s\n", (int)m->headers[i].name_len, m->headers[i].name,
                    (int)m->headers[i].value_len, m->headers[i].value);
    }
    assert_true(ok);
}

#define ASSERT_HEADERS(m, ...)                                                                     \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        assert_headers((m), want_, sizeof want_ / sizeof want_[0]);                                \
    } while (0)

static void
test_all_operations_in_order(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                               "{ \"add\": {\"X-Trace\": \"t1\"},\n"
                               "  \"append\": {\"X-Tags\": \"c\", \"Accept-Language\": \"en\"},\n"
                               "  \"set\": {\"X-Caller\": \"${partner.id}\",\n"
                               "          \"X-Route\": \"${route.name}/${request.id}\"},\n"
                               "  \"rename\": {\"x-old\": \"X-New\"},\n"
                               "  \"remove\": [\"X-Debug\"] }",
                               NULL));
    assert_int_equal(f->d.n, 0);
    tfx_message(f, TF_PHASE_REQUEST, "application/json", "{}");
    add(f, "X-Debug", "1");
    add(f, "X-OLD", "v");
    add(f, "Accept-Language", "de");
    add(f, "X-Tags", "a");
    add(f, "x-tags", "b");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    /* remove, rename, set, append, add: whatever the order of the keys */
    ASSERT_HEADERS(&f->m, "Content-Type: application/json", "X-New: v", "X-Caller: acme-bank",
                   "X-Route: payments/r-123", "X-Tags: a, b, c", "Accept-Language: de, en",
                   "X-Trace: t1");
    assert_string_equal(tfx_body(f), "{}");
}

/* The example of transforms/README.md. */
static void
test_readme_example(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                               "{ \"remove\": [\"X-Debug\", \"Server\"],\n"
                               "  \"rename\": {\"X-Old-Id\": \"X-Order-Id\"},\n"
                               "  \"set\": {\"X-Caller\": \"${partner.id}\", "
                               "\"Accept\": \"application/json\"},\n"
                               "  \"append\": {\"Cache-Control\": \"no-transform\"},\n"
                               "  \"add\": {\"X-Route\": \"${route.name}\"} }",
                               NULL));
    f->x.route_name = "orders";
    tfx_message(f, TF_PHASE_REQUEST, "application/json", NULL);
    add(f, "X-Debug", "1");
    add(f, "X-Old-Id", "42");
    add(f, "Accept", "application/xml");
    add(f, "Cache-Control", "no-cache");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    ASSERT_HEADERS(&f->m, "Content-Type: application/json", "X-Order-Id: 42",
                   "X-Caller: acme-bank", "Accept: application/json",
                   "Cache-Control: no-cache, no-transform", "X-Route: orders");
}

static void
test_set_add_append(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                               "{ \"set\": {\"Accept\": \"application/json\", \"X-Empty\": \"\"},\n"
                               "  \"append\": {\"X-New-List\": \"x\"},\n"
                               "  \"add\": {\"X-Dup\": \"2\", \"X-Price\": \"$$5\"} }",
                               NULL));
    tfx_message(f, TF_PHASE_REQUEST, NULL, NULL);
    add(f, "accept", "text/xml");
    add(f, "Accept", "application/xml");
    add(f, "X-Dup", "1");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    ASSERT_HEADERS(&f->m, "X-Dup: 1", "Accept: application/json", "X-Empty: ", "X-New-List: x",
                   "X-Dup: 2", "X-Price: $5");
}

static void
test_response_phase(void **state)
{
    struct tfx *f = *state;
    static const struct tf_header req[] = {{"Accept", 6, "application/xml", 15}};

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_RESPONSE,
                               "{ \"remove\": \"Server\",\n"
                               "  \"set\": {\"X-Upstream-Status\": \"${response.status}\",\n"
                               "          \"X-Asked\": \"${request.header.accept}\",\n"
                               "          \"X-Type\": \"${header.Content-Type}\"} }",
                               NULL));
    f->x.req_headers = req;
    f->x.nreq_headers = 1;
    tfx_message(f, TF_PHASE_RESPONSE, "application/json", "[]");
    f->m.status = 201;
    add(f, "Server", "nginx");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_DONE);
    ASSERT_HEADERS(&f->m, "Content-Type: application/json", "X-Upstream-Status: 201",
                   "X-Asked: application/xml", "X-Type: application/json");
}

static void
test_nothing_changed_is_skip(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                               "{ \"remove\": [\"X-Debug\"], \"rename\": {\"X-A\": \"X-B\"} }",
                               NULL));
    tfx_message(f, TF_PHASE_REQUEST, "text/plain", "x");
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_SKIP);
    ASSERT_HEADERS(&f->m, "Content-Type: text/plain");
}

static void
test_control_character_from_a_variable(void **state)
{
    struct tfx *f = *state;

    assert_non_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                               "{ \"set\": {\"X-Who\": \"${partner.name}\"} }", NULL));
    f->x.partner_name = "ACME\r\nX-Injected: 1";
    tfx_message(f, TF_PHASE_REQUEST, NULL, NULL);
    assert_int_equal(f->ops->apply(f->inst, &f->m, &f->x), TF_ERROR);
    assert_int_equal(f->x.err_status, 500);
    assert_string_equal(f->x.err_code, "transform-failed");
    assert_string_equal(f->x.err_detail,
                        "headers: the value computed for X-Who holds a control character");
    assert_int_equal(f->m.nheaders, 0);
}

static void
test_config_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_headers_ops, TF_PHASE_REQUEST,
                           "{\n"
                           "  \"set\": {\"Content-Length\": \"5\", \"X-Partner-Id\": \"evil\",\n"
                           "          \"X-Forwarded-For\": \"1.2.3.4\", \"X-Line\": \"a\\nb\"},\n"
                           "  \"add\": {\"Bad Name\": \"x\", \"X-Ok\": \"${nope}\", \"X-N\": 5},\n"
                           "  \"append\": {\"Set-Cookie\": \"a=b\"},\n"
                           "  \"remove\": [\"Connection\", \"x-client-cert\", \"X-Fine\"],\n"
                           "  \"rename\": {\"X-A\": \"Host\", \"X-B\": 3, \"Via\": \"X-Via\"},\n"
                           "  \"replace\": {}\n"
                           "}",
                           NULL));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " TFX_FILE ":9:3: routes[0].request[0].headers.replace: unknown key (expected "
        "one of: remove, rename, set, append, add)",
        "error: " TFX_FILE ":7:14: routes[0].request[0].headers.remove[0]: Connection is a "
        "hop-by-hop field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":7:28: routes[0].request[0].headers.remove[1]: x-client-cert is a "
        "partner identity field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":8:14: routes[0].request[0].headers.rename.X-A: Host is a routing "
        "field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":8:29: routes[0].request[0].headers.rename.X-B: expected the new "
        "name (a string), got an integer",
        "error: " TFX_FILE ":8:39: routes[0].request[0].headers.rename.Via: Via is a forwarding "
        "field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":3:11: routes[0].request[0].headers.set.Content-Length: "
        "Content-Length is a framing field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":3:34: routes[0].request[0].headers.set.X-Partner-Id: X-Partner-Id "
        "is a partner identity field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":4:11: routes[0].request[0].headers.set.X-Forwarded-For: "
        "X-Forwarded-For is a forwarding field the gateway owns; a transform may not change it",
        "error: " TFX_FILE ":4:41: routes[0].request[0].headers.set.X-Line: a header value may "
        "not hold control characters (byte 0x0a at offset 1)",
        "error: " TFX_FILE ":6:14: routes[0].request[0].headers.append.Set-Cookie: Set-Cookie "
        "fields cannot be combined into one line (RFC 6265); use \"add\"",
        "error: " TFX_FILE ":5:11: routes[0].request[0].headers.add.Bad Name: \"Bad Name\" is "
        "not a valid header field name (RFC 9110 token)",
        "error: " TFX_FILE ":5:28: routes[0].request[0].headers.add.X-Ok: unknown variable "
        "${nope} at column 1",
        "error: " TFX_FILE ":5:47: routes[0].request[0].headers.add.X-N: expected a string, got "
        "an integer");
}

static void
test_config_shape_errors(void **state)
{
    struct tfx *f = *state;

    assert_null(tfx_create(f, &tf_headers_ops, TF_PHASE_RESPONSE, "[\"set\"]", NULL));
    assert_null(tfx_create(f, &tf_headers_ops, TF_PHASE_RESPONSE, "{}", NULL));
    assert_null(tfx_create(f, &tf_headers_ops, TF_PHASE_RESPONSE,
                           "{\"set\": [\"X-A\"], \"remove\": [1]}", NULL));
    TFX_ASSERT_DIAG(
        &f->d,
        "error: " TFX_FILE ":1:28: routes[0].response[0].headers: expected an object, got an "
        "array",
        "error: " TFX_FILE ":1:28: routes[0].response[0].headers: nothing to do: give at least "
        "one of remove, rename, set, append, add",
        "error: " TFX_FILE ":2:29: routes[0].response[0].headers.remove[0]: expected a "
        "string, got an integer",
        "error: " TFX_FILE ":2:2: routes[0].response[0].headers.set: expected an object, got an "
        "array");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_operations_in_order, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_readme_example, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_set_add_append, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_response_phase, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_nothing_changed_is_skip, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_control_character_from_a_variable, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, tfx_setup, tfx_teardown),
        cmocka_unit_test_setup_teardown(test_config_shape_errors, tfx_setup, tfx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
