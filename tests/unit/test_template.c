/* test_template.c: templates (transforms/template.c): every variable, "$$", and the load errors
 * with their columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "context.h"
#include "threat.h"
#include "template.h"

struct fixture {
    struct gw_arena arena;
    struct tf_limits limits;
    struct tf_ctx x;
    struct tf_message req, resp;
    struct tf_header req_headers[3];
};

static int
setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof f);
    gw_arena_init(&f.arena);
    tf_limits_default(&f.limits);
    tf_ctx_init(&f.x, &f.arena, &f.limits);
    f.x.partner_id = "acme-bank";
    f.x.partner_name = "ACME Bank";
    f.x.cert_subject = "CN=acme,O=ACME";
    f.x.request_id = "r-123";
    f.x.method = "POST";
    f.x.path = "/payments";
    f.x.query = "a=1&b=2";
    f.x.route_name = "payments";
    f.req_headers[0] = (struct tf_header){"Accept", 6, "application/xml", 15};
    f.req_headers[1] = (struct tf_header){"X-Dup", 5, "first", 5};
    f.req_headers[2] = (struct tf_header){"x-dup", 5, "second", 6};
    f.x.req_headers = f.req_headers;
    f.x.nreq_headers = 3;
    tf_message_init(&f.req, TF_PHASE_REQUEST);
    tf_message_init(&f.resp, TF_PHASE_RESPONSE);
    f.resp.status = 201;
    f.x.header_add(&f.x, &f.req, "Content-Type", "application/json", 16);
    f.x.header_add(&f.x, &f.req, "X-Dup", "req-first", 9);
    f.x.header_add(&f.x, &f.req, "X-Dup", "req-second", 10);
    f.x.header_add(&f.x, &f.resp, "Content-Type", "text/xml", 8);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    tf_ctx_clear_error(&f->x);
    gw_arena_free(&f->arena);
    return 0;
}

/* Compile src and expand it for m; the expansion must equal want. */
static void
check(struct fixture *f, const struct tf_message *m, const char *src, const char *want,
      int constant)
{
    char err[128] = "";
    struct tf_template *t = tf_template_compile(src, err, sizeof err);
    size_t len = 99;

    if (t == NULL)
        fail_msg("%s: %s", src, err);
    char *out = tf_template_expand(t, &f->x, m, &len);
    if (strcmp(out, want) != 0)
        fail_msg("%s: expanded to \"%s\", want \"%s\"", src, out, want);
    assert_int_equal(len, strlen(want));
    assert_int_equal(tf_template_is_constant(t), constant);
    assert_non_null(tf_template_expand(t, &f->x, m, NULL)); /* len may be NULL */
    tf_template_free(t);
}

static void
test_constants(void **state)
{
    struct fixture *f = *state;

    check(f, &f->req, "", "", 1);
    check(f, &f->req, "plain text", "plain text", 1);
    check(f, &f->req, "$$", "$", 1);
    check(f, &f->req, "a$$b$$", "a$b$", 1);
    check(f, &f->req, "$${partner.id}", "${partner.id}", 1);
    check(f, &f->req, "{}}{", "{}}{", 1);
    check(f, &f->req, "prix: 5 €", "prix: 5 €", 1);
}

static void
test_variables(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"${partner.id}", "acme-bank"},
        {"${partner.name}", "ACME Bank"},
        {"${partner.subject}", "CN=acme,O=ACME"},
        {"${request.id}", "r-123"},
        {"${request.method}", "POST"},
        {"${request.path}", "/payments"},
        {"${request.query}", "a=1&b=2"},
        {"${route.name}", "payments"},
        {"${response.status}", ""}, /* request phase */
        {"${header.Content-Type}", "application/json"},
        {"${header.content-type}", "application/json"},
        {"${header.x-dup}", "req-first"},
        {"${header.X-Absent}", ""},
        {"${request.header.Accept}", "application/xml"},
        {"${request.header.X-DUP}", "first"},
        {"${request.header.X-Absent}", ""},
        {"${partner.id}/${request.id}", "acme-bank/r-123"},
        {"<${partner.id}>$$<${route.name}>", "<acme-bank>$<payments>"},
        {"${partner.id}${partner.id}", "acme-bankacme-bank"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(f, &f->req, cases[i].src, cases[i].want, 0);
}

static void
test_response_phase(void **state)
{
    struct fixture *f = *state;

    check(f, &f->resp, "${response.status}", "201", 0);
    check(f, &f->resp, "${header.Content-Type}", "text/xml", 0);
    check(f, &f->resp, "${request.header.Accept}", "application/xml", 0);
    check(f, NULL, "[${header.Content-Type}${response.status}]", "[]", 0);
}

static void
test_unknown_exchange_fields(void **state)
{
    struct fixture *f = *state;

    f->x.partner_id = "";
    f->x.partner_name = NULL; /* a host that leaves a field NULL gets "" too */
    check(f, &f->req, "[${partner.id}|${partner.name}]", "[|]", 0);
}

static void
test_errors(void **state)
{
    static const struct {
        const char *src, *err;
    } cases[] = {
        {"$", "\"$\" must start ${variable} or be written \"$$\" at column 1"},
        {"ab$c", "\"$\" must start ${variable} or be written \"$$\" at column 3"},
        {"$$$", "\"$\" must start ${variable} or be written \"$$\" at column 3"},
        {"é€${x}", "unknown variable ${x} at column 3"},
        {"${partner.foo}", "unknown variable ${partner.foo} at column 1"},
        {"id=${partner.id} ${Partner.id}", "unknown variable ${Partner.id} at column 18"},
        {"${}", "unknown variable ${} at column 1"},
        {"${ partner.id}", "unknown variable ${ partner.id} at column 1"},
        {"x${partner.id", "unterminated ${ at column 2"},
        {"${header.}", "invalid header name in ${header.} at column 1"},
        {"a ${header.X Y}", "invalid header name in ${header.X Y} at column 3"},
        {"${request.header.}", "invalid header name in ${request.header.} at column 1"},
        {"${request.headers}", "unknown variable ${request.headers} at column 1"},
        {"${response.status}${route}", "unknown variable ${route} at column 19"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128] = "";
        struct tf_template *t = tf_template_compile(cases[i].src, err, sizeof err);
        if (t != NULL)
            fail_msg("%s: compiled", cases[i].src);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("%s: error \"%s\", want \"%s\"", cases[i].src, err, cases[i].err);
    }
    tf_template_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_constants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_phase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_exchange_fields, setup, teardown),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
