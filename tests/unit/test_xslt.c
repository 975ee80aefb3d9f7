/* test_xslt.c: the xslt transform: golden outputs on the samples, parameters, content types,
 * confinement to the bundle folder (no writes, no network, no document() outside), run-time
 * failures and their problems, config errors as "file:line:column: path: message", and one
 * stylesheet applied from several threads at once. */
#include "tf_xml_fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins_xml.h"

#define DIR "tests/data/xslt"
#define SAMPLES "tests/data/samples"
#define PAIN SAMPLES "/pain.001.001.03.ch.02-musterfile.xml"
#define UBL SAMPLES "/ubl-invoice-example1.xml"

static const char pain_conf[] =
    "{\"xslt\": {\"stylesheet\": \"pain001-to-json.xsl\",\n"
    "          \"params\": {\"partner\": \"${partner.id}\", \"request\": \"${request.id}\"}}}";

/* A config naming only a stylesheet. */
static void *
create_simple(struct fx *f, const char *dir, const char *stylesheet)
{
    char conf[512];

    snprintf(conf, sizeof conf, "{\"xslt\": {\"stylesheet\": \"%s\"}}", stylesheet);
    return fx_create(f, &tf_xslt_ops, dir, conf);
}

static int
apply_text(struct fx *f, enum tf_phase phase, const char *body)
{
    fx_message(f, phase, "application/xml", body, strlen(body));
    return fx_apply(f);
}

/* ---- golden outputs ------------------------------------------------------------------------- */

/* pain.001 to JSON: xsl:include, parameters from templates, xsl:output media-type. */
static void
pain_to_json(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR, pain_conf));
    assert_int_equal(f->d.n, 0);
    fx_apply_file(f, TF_PHASE_REQUEST, "application/xml", PAIN);
    fx_golden(f, DIR "/pain001-to-json.out");
    assert_string_equal(fx_header(f, "content-type"), "application/json");
}

/* UBL to an XML summary: xsl:import with an overriding rule, document() of a bundle file, on
 * the response. */
static void
ubl_summary(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR,
                              "{\"xslt\": {\"stylesheet\": \"ubl-summary.xsl\", "
                              "\"params\": {\"partner\": \"${partner.name}\"}}}"));
    assert_int_equal(f->d.n, 0);
    fx_apply_file(f, TF_PHASE_RESPONSE, "application/xml", UBL);
    fx_golden(f, DIR "/ubl-summary.out");
    assert_string_equal(fx_header(f, "content-type"), "application/xml; charset=utf-8");
}

/* UBL lines to CSV: method text, and "output" naming the content type. */
static void
ubl_lines_csv(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR,
                              "{\"xslt\": {\"stylesheet\": \"ubl-lines.xsl\", "
                              "\"output\": \"text/csv; charset=utf-8\"}}"));
    fx_apply_file(f, TF_PHASE_REQUEST, "text/xml", UBL);
    fx_golden(f, DIR "/ubl-lines.out");
    assert_string_equal(fx_header(f, "content-type"), "text/csv; charset=utf-8");
}

/* ---- parameters and content types ----------------------------------------------------------- */

/* Values are strings: quotes, apostrophes and XPath syntax arrive as they are. */
static void
params_are_strings(void **state)
{
    struct fx *f = *state;
    static const char val[] = "O'Brien \"&\" count(//*)";

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR,
                              "{\"xslt\": {\"stylesheet\": \"echo-param.xsl\", \"params\": "
                              "{\"who\": \"${header.X-Who}\", \"expr\": \"1 + 1\"}}}"));
    fx_message(f, TF_PHASE_REQUEST, "application/xml", "<a/>", 4);
    f->x.header_add(&f->x, &f->m, "X-Who", val, strlen(val));
    assert_int_equal(fx_apply(f), TF_DONE);
    assert_string_equal(f->m.body,
                        "<echo who=\"O'Brien &quot;&amp;&quot; count(//*)\" expr=\"1 + 1\" "
                        "root=\"a\"/>\n");
}

/* A parameter the config leaves out keeps the stylesheet's default. */
static void
params_default(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "echo-param.xsl"));
    assert_int_equal(apply_text(f, TF_PHASE_REQUEST, "<b/>"), TF_DONE);
    assert_string_equal(f->m.body, "<echo who=\"nobody\" expr=\"\" root=\"b\"/>\n");
}

/* method="text" with an encoding: text/plain with that charset, the text in that encoding. */
static void
content_type_text(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR,
                              "{\"xslt\": {\"stylesheet\": \"output-text.xsl\", "
                              "\"params\": {\"who\": \"${partner.id}\"}}}"));
    assert_int_equal(apply_text(f, TF_PHASE_REQUEST, "<hello>Z\xc3\xbcrich</hello>"), TF_DONE);
    assert_string_equal(fx_header(f, "content-type"), "text/plain; charset=ISO-8859-1");
    assert_string_equal(f->m.body, "Hello acme-bank: Z\xfcrich");
}

/* exsl:node-set is there without the rest of EXSLT. */
static void
exsl_node_set(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "node-set.xsl"));
    assert_int_equal(f->d.n, 0);
    assert_int_equal(apply_text(f, TF_PHASE_REQUEST, "<a><v>3</v><v>1</v><v>2</v></a>"), TF_DONE);
    assert_string_equal(f->m.body, "<first>1</first>\n");
}

/* An empty body is left alone. */
static void
empty_body_skipped(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "echo-param.xsl"));
    fx_message(f, TF_PHASE_REQUEST, NULL, NULL, 0);
    assert_int_equal(fx_apply(f), TF_SKIP);
    assert_null(fx_header(f, "content-type"));
}

/* ---- confinement ---------------------------------------------------------------------------- */

/* Each stylesheet tries to write a file; the run fails and nothing is written or created. */
static void
no_writes(void **state)
{
    static const struct {
        const char *xsl, *file, *detail;
    } cases[] = {
        { "sec-xsl-document.xsl", "/tmp/portico-xslt-test-dir",
          "xslt sec-xsl-document.xsl: writing /tmp/portico-xslt-test-dir/pwned.xml refused: a "
          "stylesheet writes no file" },
        { "sec-saxon-output.xsl", "/tmp/portico-xslt-test-saxon.xml",
          "xslt sec-saxon-output.xsl: writing /tmp/portico-xslt-test-saxon.xml refused" },
        { "sec-exsl-document.xsl", "/tmp/portico-xslt-test-exsl.xml",
          "failed to find extension document" },
    };
    struct fx *f = *state;
    struct stat st;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        remove(cases[i].file);
        assert_non_null(create_simple(f, DIR, cases[i].xsl));
        fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, "<a/>"), 400, "transform-failed",
                       cases[i].detail);
        if (stat(cases[i].file, &st) == 0)
            fail_msg("%s created %s", cases[i].xsl, cases[i].file);
    }
}

/* document() outside the bundle folder or over the network is refused, whoever names it. */
static void
no_reads_outside(void **state)
{
    static const struct {
        const char *xsl, *body, *detail;
    } cases[] = {
        { "sec-passwd.xsl", "<a/>",
          "xslt sec-passwd.xsl: reading /etc/passwd refused: outside the bundle folder" },
        { "sec-file-uri.xsl", "<a/>",
          "xslt sec-file-uri.xsl: reading /etc/passwd refused: outside the bundle folder" },
        { "sec-http.xsl", "<a/>",
          "xslt sec-http.xsl: network access to http://127.0.0.1:1/ refused" },
        { "sec-dotdot.xsl", "<a/>",
          "xslt sec-dotdot.xsl: reading ../samples/ubl-invoice-example1.xml refused: outside the "
          "bundle folder" },
        { "sec-from-input.xsl", "<fetch href='/etc/hostname'/>",
          "xslt sec-from-input.xsl: reading /etc/hostname refused: outside the bundle folder" },
        { "sec-from-input.xsl", "<fetch href='ftp://127.0.0.1:1/x.xml'/>",
          "xslt sec-from-input.xsl: network access to ftp://127.0.0.1:1/x.xml refused" },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_non_null(create_simple(f, DIR, cases[i].xsl));
        fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, cases[i].body), 400,
                       "transform-failed", cases[i].detail);
        assert_string_equal(f->x.err_detail, cases[i].detail);
    }
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A symbolic link in the bundle that points outside is outside; one that stays inside is fine. */
static void
symlink_out_of_bundle(void **state)
{
    struct fx *f = *state;
    char dir[] = "/tmp/portico-test-xslt-XXXXXX", path[256], target[PATH_MAX];
    static const char xsl[] =
        "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
        "<xsl:template match='/'><r><xsl:value-of select='document(string(/f/@href))/*'/></r>"
        "</xsl:template></xsl:stylesheet>";

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.xsl", dir);
    fx_write(path, xsl, strlen(xsl));
    snprintf(path, sizeof path, "%s/data.xml", dir);
    fx_write(path, "<d>inside</d>", 13);
    snprintf(path, sizeof path, "%s/alias.xml", dir);
    assert_int_equal(symlink("data.xml", path), 0);
    assert_non_null(realpath(DIR "/codes.xml", target));
    snprintf(path, sizeof path, "%s/escape.xml", dir);
    assert_int_equal(symlink(target, path), 0);

    assert_non_null(create_simple(f, dir, "s.xsl"));
    if (apply_text(f, TF_PHASE_REQUEST, "<f href='alias.xml'/>") != TF_DONE)
        fail_msg("alias.xml: %s", f->x.err_detail);
    assert_string_equal(f->m.body, "<?xml version=\"1.0\"?>\n<r>inside</r>\n");
    fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, "<f href='escape.xml'/>"), 400,
                   "transform-failed", "reading escape.xml refused: outside the bundle folder");
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- run-time failures ---------------------------------------------------------------------- */

/* xsl:message terminate="yes": 400 on the request, 502 on the response, the message as detail. */
static void
terminate_message(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "terminate.xsl"));
    {
        size_t len;
        char *body = tfx_read(PAIN, &len);
        fx_message(f, TF_PHASE_REQUEST, "application/xml", body, len);
        fx_assert_fail(f, fx_apply(f), 400, "transform-failed",
                       "xslt terminate.xsl: NbOfTxs 7 but 8 transactions");
        fx_message(f, TF_PHASE_RESPONSE, "application/xml", body, len);
        fx_assert_fail(f, fx_apply(f), 502, "transform-failed",
                       "xslt terminate.xsl: NbOfTxs 7 but 8 transactions");
        free(body);
    }
    assert_int_equal(apply_text(f, TF_PHASE_REQUEST, "<other/>"), TF_DONE);
}

/* Unbounded recursion driven by the input stops at libxslt's depth limit, and the problem does
 * not carry libxslt's stack dump. */
static void
recursion_limit(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "recursion.xsl"));
    assert_int_equal(apply_text(f, TF_PHASE_REQUEST, "<n>100</n>"), TF_DONE);
    fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, "<n>100000</n>"), 400, "transform-failed",
                   "A potential infinite template recursion was detected");
    assert_null(strstr(f->x.err_detail, "Templates:"));
}

/* A body that is not XML, or that the threat limits refuse. */
static void
bad_bodies(void **state)
{
    struct fx *f = *state;

    assert_non_null(create_simple(f, DIR, "echo-param.xsl"));
    fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, "{\"json\": true}"), 400, "invalid-body",
                   "xslt: ");
    fx_assert_fail(f, apply_text(f, TF_PHASE_RESPONSE, "<a>"), 502, "bad-upstream-response",
                   "xslt: ");
    fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST,
                                 "<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                                 "<a>&x;</a>"),
                   400, "invalid-body", "xslt: ");
    f->limits.max_body = 8;
    fx_assert_fail(f, apply_text(f, TF_PHASE_REQUEST, "<a>0123456789</a>"), 413,
                   "body-too-large", "xslt: ");
}

/* ---- configuration -------------------------------------------------------------------------- */

static void
config_errors(void **state)
{
    struct fx *f = *state;

    assert_null(fx_create(f, &tf_xslt_ops, DIR,
                          "{\"xslt\": {\n"
                          "  \"stylesheet\": 42,\n"
                          "  \"params\": {\"a b\": \"x\", \"p\": 1, \"q\": \"${nope}\"},\n"
                          "  \"output\": \"json\",\n"
                          "  \"extra\": true\n"
                          "}}"));
    FX_ASSERT_DIAG(
        f,
        "error: partner.json:5:3: xslt.extra: unknown key (expected one of: stylesheet, params, "
        "output)",
        "error: partner.json:2:3: xslt.stylesheet: expected a string, got an integer",
        "error: partner.json:4:3: xslt.output: \"json\" is not a media type (type/subtype)",
        "error: partner.json:3:14: xslt.params.a b: \"a b\" is not a parameter name (an XML "
        "name without ':')",
        "error: partner.json:3:26: xslt.params.p: expected a string (a template), got an integer",
        "error: partner.json:3:34: xslt.params.q: unknown variable ${nope} at column 1");

    assert_null(fx_create(f, &tf_xslt_ops, DIR, "{\"xslt\": {}}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:2: xslt.stylesheet: required key \"stylesheet\" is "
                      "missing");
    assert_null(fx_create(f, &tf_xslt_ops, DIR, "{\"xslt\": \"a.xsl\"}"));
    FX_ASSERT_DIAG(f, "error: partner.json:1:2: xslt: expected an object { \"stylesheet\": "
                      "\"file.xsl\" }, got a string");
}

/* Stylesheets that cannot be used: each problem at "stylesheet", with the stylesheet's line. */
static void
config_bad_stylesheets(void **state)
{
    static const struct {
        const char *xsl, *want;
    } cases[] = {
        { "missing.xsl", "error: partner.json:1:11: xslt.stylesheet: cannot read "
                         "tests/data/xslt/missing.xsl: No such file or directory" },
        { "../samples/camt.053-sample.xml",
          "error: partner.json:1:11: xslt.stylesheet: \"../samples/camt.053-sample.xml\" is "
          "outside the bundle folder (use a name relative to it, without \"..\")" },
        { "bad-wellformed.xsl",
          "error: partner.json:1:11: xslt.stylesheet: bad-wellformed.xsl: bad-wellformed.xsl:5: "
          "Opening and ending tag mismatch: unclosed line 4 and xsl:template; "
          "bad-wellformed.xsl:6: Opening and ending tag mismatch: template line 3 and "
          "stylesheet; bad-wellformed.xsl:7: Premature end of data in tag stylesheet line 2" },
        { "bad-xpath.xsl",
          "error: partner.json:1:11: xslt.stylesheet: bad-xpath.xsl: XPath error: Invalid "
          "expression in count(//a[); compilation error: file bad-xpath.xsl line 4 element "
          "value-of; xsl:value-of : could not compile select expression 'count(//a[)'" },
        { "not-xslt.xml",
          "error: partner.json:1:11: xslt.stylesheet: not-xslt.xml: compilation error: file "
          "not-xslt.xml line 2 element hello; xsltParseStylesheetProcess : document is not a "
          "stylesheet" },
        { "sec-import-outside.xsl",
          "error: partner.json:1:11: xslt.stylesheet: sec-import-outside.xsl: reading "
          "../samples/ubl-invoice-example1.xml refused: outside the bundle folder; compilation "
          "error: file sec-import-outside.xsl line 4 element import; xsl:import : unable to load "
          "%ROOT%/tests/data/samples/ubl-invoice-example1.xml" },
        { "sec-include-passwd.xsl",
          "error: partner.json:1:11: xslt.stylesheet: sec-include-passwd.xsl: reading /etc/passwd "
          "refused: outside the bundle folder; compilation error: file sec-include-passwd.xsl "
          "line 4 element include; xsl:include : unable to load /etc/passwd" },
        /* a DOCTYPE, in the stylesheet or in one it includes: its entities would come out
         * empty, so it is refused as a schema with a DTD is */
        { "dtd-entity.xsl",
          "error: partner.json:1:11: xslt.stylesheet: dtd-entity.xsl: XML: DTDs are not accepted "
          "(line 2)" },
        { "dtd-include.xsl",
          "error: partner.json:1:11: xslt.stylesheet: dtd-include.xsl: lib/dtd-lib.xsl: XML: DTDs "
          "are not accepted (line 2); compilation error: file dtd-include.xsl line 4 element "
          "include; xsl:include : unable to load lib/dtd-lib.xsl" },
    };
    struct fx *f = *state;
    char cwd[PATH_MAX], want[2 * PATH_MAX];

    assert_non_null(getcwd(cwd, sizeof cwd));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *root = strstr(cases[i].want, "%ROOT%");
        if (root != NULL)
            snprintf(want, sizeof want, "%.*s%s%s", (int)(root - cases[i].want), cases[i].want,
                     cwd, root + 6);
        else
            snprintf(want, sizeof want, "%s", cases[i].want);
        assert_null(create_simple(f, DIR, cases[i].xsl));
        const char *const lines[] = { want };
        fx_assert_diag(f, lines, 1);
    }
}

/* A parameter the stylesheet does not declare is a warning, not an error. */
static void
config_undeclared_param(void **state)
{
    struct fx *f = *state;

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR,
                              "{\"xslt\": {\"stylesheet\": \"echo-param.xsl\",\n"
                              "  \"params\": {\"who\": \"x\", \"whom\": \"y\"}}}"));
    FX_ASSERT_DIAG(f, "warning: partner.json:2:26: xslt.params.whom: echo-param.xsl declares no "
                      "top-level xsl:param \"whom\": it is ignored");
}

/* ---- threads -------------------------------------------------------------------------------- */

struct worker {
    void *inst;
    const char *body;
    size_t len;
    const char *want;
    size_t want_len;
    struct tf_limits *limits;
    int failures;
};

static void *
worker_run(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 40; i++) {
        struct gw_arena a;
        struct tf_ctx x;
        struct tf_message m;
        gw_arena_init(&a);
        tf_ctx_init(&x, &a, w->limits);
        x.partner_id = "acme-bank";
        x.request_id = "req-1";
        tf_message_init(&m, TF_PHASE_REQUEST);
        m.body = x.alloc(&x, w->len);
        memcpy(m.body, w->body, w->len);
        m.body_len = w->len;
        if (tf_xslt_ops.apply(w->inst, &m, &x) != TF_DONE || m.body_len != w->want_len ||
            memcmp(m.body, w->want, w->want_len) != 0)
            w->failures++;
        tf_ctx_clear_error(&x);
        gw_arena_free(&a);
    }
    return NULL;
}

/* One instance, four threads, each its own exchanges: every result is the golden one. */
static void
threads_share_instance(void **state)
{
    struct fx *f = *state;
    struct worker w[4];
    pthread_t t[4];
    size_t len, want_len;
    char *body = tfx_read(PAIN, &len), *want = tfx_read(DIR "/pain001-to-json.out", &want_len);

    assert_non_null(fx_create(f, &tf_xslt_ops, DIR, pain_conf));
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ f->inst, body, len, want, want_len, &f->limits, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    free(body);
    free(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pain_to_json, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(ubl_summary, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(ubl_lines_csv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(params_are_strings, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(params_default, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(content_type_text, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(exsl_node_set, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(empty_body_skipped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(no_writes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(no_reads_outside, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(symlink_out_of_bundle, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(terminate_message, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(recursion_limit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_bodies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_bad_stylesheets, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_undeclared_param, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(threads_share_instance, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
