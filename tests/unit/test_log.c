/* test_log.c: the log line (base/log.h) in both formats: today's text line, and the JSON object a
 * collector reads (its fields, escaping, bytes that are not UTF-8, a message too long for the
 * line), every JSON line read back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* 2026-11-26T23:40:00.123Z */
static uint64_t
when(void)
{
    struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = 26, .tm_hour = 23, .tm_min = 40};

    return (uint64_t)timegm(&tm) * 1000000 + 123456;
}

static const struct gw_log_ctx exchange = {"4f3a9c0e12d4b7a1", "acme", "10.0.0.7"};
static const struct gw_log_ctx conn_only = {"", "", "10.0.0.7"}; /* no request yet */

static void
test_text_lines(void **state)
{
    static const struct {
        int level, worker;
        const struct gw_log_ctx *ctx;
        const char *msg, *want;
    } cases[] = {
        {GW_LOG_INFO, -1, NULL, "started", "2026-11-26T23:40:00.123Z [info] started\n"},
        {GW_LOG_WARN, 1, &exchange, "upstream down",
         "2026-11-26T23:40:00.123Z [warn] w1 rid=4f3a9c0e12d4b7a1 partner=acme "
         "client=10.0.0.7: upstream down\n"},
        {GW_LOG_DEBUG, 0, &conn_only, "x", "2026-11-26T23:40:00.123Z [debug] w0 partner= "
                                           "client=10.0.0.7: x\n"},
        {99, 2, NULL, "clamped", "2026-11-26T23:40:00.123Z [debug] w2: clamped\n"},
    };
    char out[GW_LOG_LINE_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_log_rec r = {when(), cases[i].level, cases[i].worker, cases[i].ctx,
                               cases[i].msg, strlen(cases[i].msg)};
        size_t n = gw_log_format_line(out, GW_LOG_LINE_MAX, GW_LOG_TEXT, &r);
        out[n] = '\0';
        assert_string_equal(out, cases[i].want);
    }
}

/* The JSON line of r, checked to be one line and one object; returned parsed. */
static json_t *
json_line(const struct gw_log_rec *r, size_t *len)
{
    char out[GW_LOG_LINE_MAX];
    json_error_t e;
    size_t n = gw_log_format_line(out, sizeof out, GW_LOG_JSON, r);
    json_t *j;

    assert_true(n > 2 && n <= sizeof out);
    assert_int_equal(out[n - 1], '\n');
    assert_null(memchr(out, '\n', n - 1));
    j = json_loadb(out, n - 1, 0, &e);
    if (j == NULL)
        fail_msg("not JSON (%s): %.*s", e.text, (int)n, out);
    assert_true(json_is_object(j));
    if (len != NULL)
        *len = n;
    return j;
}

static const char *
str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void
test_json_fields(void **state)
{
    struct gw_log_rec r = {when(), GW_LOG_ERROR, 3, &exchange, "boom", 4};
    json_t *j = json_line(&r, NULL);

    (void)state;
    assert_int_equal(json_object_size(j), 7);
    assert_string_equal(str(j, "time"), "2026-11-26T23:40:00.123Z");
    assert_string_equal(str(j, "level"), "error");
    assert_int_equal(json_integer_value(json_object_get(j, "worker")), 3);
    assert_string_equal(str(j, "request_id"), "4f3a9c0e12d4b7a1");
    assert_string_equal(str(j, "partner"), "acme");
    assert_string_equal(str(j, "client"), "10.0.0.7");
    assert_string_equal(str(j, "message"), "boom");
    json_decref(j);

    /* not a worker, no context: time, level and message only */
    r = (struct gw_log_rec){when(), GW_LOG_INFO, -1, NULL, "started", 7};
    j = json_line(&r, NULL);
    assert_int_equal(json_object_size(j), 3);
    assert_null(json_object_get(j, "worker"));
    json_decref(j);

    /* a connection's context before its first request: no request id, the partner "" kept */
    r = (struct gw_log_rec){when(), GW_LOG_INFO, 0, &conn_only, "x", 1};
    j = json_line(&r, NULL);
    assert_null(json_object_get(j, "request_id"));
    assert_string_equal(str(j, "partner"), "");
    assert_string_equal(str(j, "client"), "10.0.0.7");
    json_decref(j);
}

static void
test_json_escaping(void **state)
{
    static const struct {
        const char *msg, *want; /* want: the message read back */
    } cases[] = {
        {"say \"hi\" \\ there", "say \"hi\" \\ there"},
        {"two\nlines\tand\r\x01\x1f", "two\nlines\tand\r\x01\x1f"},
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"},           /* UTF-8 as is */
        {"bad \xff byte \xc3(", "bad \xef\xbf\xbd byte \xef\xbf\xbd("}, /* U+FFFD */
        {"</script> /", "</script> /"},
    };
    const struct gw_log_ctx odd = {"id\"1", "p\\x", "::1"};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_log_rec r = {when(), GW_LOG_INFO, 0, &odd, cases[i].msg, strlen(cases[i].msg)};
        json_t *j = json_line(&r, NULL);
        assert_string_equal(str(j, "message"), cases[i].want);
        assert_string_equal(str(j, "request_id"), "id\"1");
        assert_string_equal(str(j, "partner"), "p\\x");
        json_decref(j);
    }
}

/* A message longer than the line: cut at a whole character, the object still closed. */
static void
test_json_cut(void **state)
{
    static const char *const units[] = {"\"", "\xc3\xa9", "\x01", "a"};
    char *msg = malloc(3 * GW_LOG_LINE_MAX);
    size_t len;

    (void)state;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u]), n = 0;
        while (n + k <= 3 * GW_LOG_LINE_MAX - 1) {
            memcpy(msg + n, units[u], k);
            n += k;
        }
        struct gw_log_rec r = {when(), GW_LOG_INFO, 1, &exchange, msg, n};
        json_t *j = json_line(&r, &len);
        const char *m = str(j, "message");
        assert_true(len > GW_LOG_LINE_MAX - 8); /* filled, not given up */
        assert_true(strlen(m) > 0 && strlen(m) < n);
        assert_memory_equal(m, msg, strlen(m)); /* a prefix of the message */
        json_decref(j);

        /* the text line is cut too, and still ends the line */
        char out[GW_LOG_LINE_MAX];
        len = gw_log_format_line(out, sizeof out, GW_LOG_TEXT, &r);
        assert_int_equal(len, sizeof out);
        assert_int_equal(out[len - 1], '\n');
    }
    free(msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
