/* test_audit_usage.c: `portico audit report --usage` without Kafka (audit/usage.c): the periods,
 * a table of events and the row each lands in (or none), plans, replays, and the CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "usage.h"

static int64_t
ms(const char *t)
{
    int64_t v;

    assert_int_equal(au_time_parse(t, &v), 0);
    return v;
}

static void
test_period(void **state)
{
    static const struct {
        const char *s;
        const char *from, *to; /* NULL: refused */
    } cases[] = {
        {"2026-12", "2026-12-01", "2027-01-01"},
        {"2026-01", "2026-01-01", "2026-02-01"},
        {"2024-02", "2024-02-01", "2024-03-01"},
        {"2026-12-05", "2026-12-05", "2026-12-06"},
        {"2026-12-31", "2026-12-31", "2027-01-01"},
        {"2024-02-29", "2024-02-29", "2024-03-01"},
        {"2026-02-29", NULL, NULL},
        {"2026-13", NULL, NULL},
        {"2026-00", NULL, NULL},
        {"2026-12-32", NULL, NULL},
        {"2026-12-00", NULL, NULL},
        {"2026-1", NULL, NULL},
        {"2026-12-5", NULL, NULL},
        {"2026-12-", NULL, NULL},
        {"2026", NULL, NULL},
        {"", NULL, NULL},
        {"2026/12", NULL, NULL},
        {"-2026-12", NULL, NULL},
        {"2026-12-05T00:00:00Z", NULL, NULL},
        {"2026-12 ", NULL, NULL},
        {"+026-12", NULL, NULL},
        {"9999-12", NULL, NULL}, /* its end is past what a time may be */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t from = 0, to = 0;
        int rc = au_period_parse(cases[i].s, &from, &to);
        if (cases[i].from == NULL) {
            if (rc != -1)
                fail_msg("\"%s\" should be refused", cases[i].s);
            continue;
        }
        if (rc != 0 || from != ms(cases[i].from) || to != ms(cases[i].to))
            fail_msg("\"%s\": rc %d, [%lld, %lld)", cases[i].s, rc, (long long)from, (long long)to);
    }
    assert_int_equal(au_period_parse(NULL, &(int64_t){0}, &(int64_t){0}), -1);
}

/* An event as the gateway writes it, the members usage reads: consumer (an id, NULL: null,
 * NOMEMBER: no member, as before version 4), plan likewise, partner (NULL: null). */
static const char NOMEMBER[] = "(absent)";

struct ev {
    const char *kind, *received, *consumer, *partner, *plan, *outcome, *reason;
    int status;
    const char *node;
    int seq;
    int req_bytes, resp_bytes_out;
};

static json_t *
make(const struct ev *e)
{
    json_t *ev = json_pack("{s:s,s:s,s:i,s:{s:s},s:s?,s:i,s:s,s:s?,s:{s:i,s:i},s:{s:i,s:i}}",
                           "kind", e->kind, "node", e->node ? e->node : "gw-1", "seq", e->seq,
                           "time", "received", e->received, "partner", e->partner, "status",
                           e->status, "outcome", e->outcome, "reason", e->reason, "request",
                           "bytes", e->req_bytes, "bytes_out", e->req_bytes + 1, "response",
                           "bytes", e->resp_bytes_out + 7, "bytes_out", e->resp_bytes_out);

    assert_non_null(ev);
    if (e->consumer != NOMEMBER)
        json_object_set_new(ev, "consumer",
                            e->consumer
                                ? json_pack("{s:s,s:s}", "id", e->consumer, "key", "0123456789ab")
                                : json_null());
    if (e->plan != NOMEMBER)
        json_object_set_new(ev, "plan", e->plan ? json_string(e->plan) : json_null());
    return ev;
}

#define DEC "2026-12-"
#define X NOMEMBER

/* The December 2026 of a few callers: each event's row is told by the expected table below. */
static const struct ev december[] = {
    /* weather-app, a consumer on plan "free" then "pro" (the latest received wins, whatever the
     * order read) */
    {"exchange", DEC "10T10:00:00.000Z", "weather-app", NULL, "pro", "ok", NULL, 200, 0, 1, 10,
     100},
    {"exchange", DEC "01T00:00:00.000Z", "weather-app", NULL, "free", "ok", NULL, 200, 0, 2, 5, 50},
    {"exchange", DEC "02T00:00:00.000Z", "weather-app", NULL, "free", "refused", "rate-limited",
     429, 0, 3, 0, 80},
    {"exchange", DEC "03T00:00:00.000Z", "weather-app", NULL, "free", "refused",
     "concurrency-limited", 429, 0, 4, 0, 80},
    {"exchange", DEC "04T00:00:00.000Z", "weather-app", NULL, "free", "refused", "quota-exceeded",
     429, 0, 5, 0, 80},
    {"exchange", DEC "05T00:00:00.000Z", "weather-app", NULL, "free", "refused", "key-revoked", 401,
     0, 6, 0, 60},
    {"exchange", DEC "06T00:00:00.000Z", "weather-app", NULL, "free", "refused", "too-many", 429, 0,
     7, 0, 60}, /* a 429 of another reason: not a limit's */
    {"exchange", DEC "07T00:00:00.000Z", "weather-app", NULL, "free", "error", "upstream-timeout",
     504, 0, 8, 3, 0},
    /* the same event again (a replay after a restart): counted once */
    {"exchange", DEC "07T00:00:00.000Z", "weather-app", NULL, "free", "error", "upstream-timeout",
     504, 0, 8, 3, 0},
    /* the same seq on another node: another event */
    {"exchange", DEC "08T00:00:00.000Z", "weather-app", NULL, "pro", "ok", NULL, 200, "gw-2", 8, 1,
     1},
    /* a consumer that came through a partner's certificate too: the consumer's */
    {"exchange", DEC "09T00:00:00.000Z", "b,\"x\"", "acme", NULL, "ok", NULL, 200, 0, 9, 2, 2},
    /* acme, a partner: a version 3 event (no consumer, no plan), then version 4 ones */
    {"exchange", DEC "31T23:59:59.999Z", X, "acme", X, "ok", NULL, 200, 0, 10, 100, 1000},
    {"exchange", DEC "15T00:00:00.000Z", NULL, "acme", "gold", "ok", NULL, 200, 0, 11, 100, 1000},
    {"exchange", DEC "16T00:00:00.000Z", NULL, "acme", "gold", "refused", "quota-exceeded", 429, 0,
     12, 0, 90},
    /* globex: its plan was taken away, the latest event says null */
    {"exchange", DEC "01T00:00:00.000Z", NULL, "globex", "silver", "ok", NULL, 200, 0, 13, 1, 1},
    {"exchange", DEC "20T00:00:00.000Z", NULL, "globex", NULL, "ok", NULL, 200, 0, 14, 1, 1},
    /* nobody known: version 1 to 4 events alike */
    {"exchange", DEC "01T00:00:00.000Z", X, NULL, X, "refused", "route-not-found", 404, 0, 15, 0,
     70},
    {"exchange", DEC "02T00:00:00.000Z", NULL, NULL, NULL, "ok", NULL, 200, 0, 16, 4, 40},
    /* left out: other kinds, outside the period (its end is excluded), no time */
    {"delivery", DEC "02T00:00:00.000Z", X, "acme", X, "ok", NULL, 200, 0, 17, 1, 1},
    {"handshake", DEC "02T00:00:00.000Z", NULL, NULL, NULL, "refused", "certificate-expired", 0, 0,
     18, 0, 0},
    {"admin", DEC "02T00:00:00.000Z", NULL, NULL, NULL, "ok", NULL, 200, 0, 19, 0, 0},
    {"exchange", "2026-11-30T23:59:59.999Z", "weather-app", NULL, "x", "ok", NULL, 200, 0, 20, 1,
     1},
    {"exchange", "2027-01-01T00:00:00.000Z", "weather-app", NULL, "x", "ok", NULL, 200, 0, 21, 1,
     1},
    {"exchange", "not a time", "weather-app", NULL, "x", "ok", NULL, 200, 0, 22, 1, 1},
};

#undef X

static const struct {
    const char *kind, *id, *plan;
    long long requests, accepted, by_limit, refused_other, errors, req_bytes, resp_bytes;
} want[] = {
    {"anonymous", "-", NULL, 2, 1, 0, 1, 0, 4, 110},
    {"consumer", "b,\"x\"", NULL, 1, 1, 0, 0, 0, 2, 2},
    {"consumer", "weather-app", "pro", 9, 3, 3, 2, 1, 19, 511},
    {"partner", "acme", "gold", 3, 2, 1, 0, 0, 200, 2090},
    {"partner", "globex", NULL, 2, 2, 0, 0, 0, 2, 2},
};

static json_t *
december_usage(void)
{
    struct au_usage *u = au_usage_new(ms("2026-12-01"), ms("2027-01-01"));
    json_t *doc;

    assert_non_null(u);
    for (size_t i = 0; i < sizeof december / sizeof december[0]; i++) {
        json_t *ev = make(&december[i]);
        assert_int_equal(au_usage_add(u, ev), 0);
        json_decref(ev);
    }
    assert_int_equal(au_usage_replays(u), 1);
    doc = au_usage_json(u, "2026-12");
    assert_non_null(doc);
    au_usage_free(u);
    return doc;
}

static long long
num(const json_t *o, const char *name)
{
    const json_t *j = json_object_get(o, name);

    if (!json_is_integer(j))
        fail_msg("\"%s\" is not an integer", name);
    return json_integer_value(j);
}

static void
test_usage(void **state)
{
    json_t *doc = december_usage();
    const json_t *callers = json_object_get(doc, "callers"), *c;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(doc, "period")), "2026-12");
    assert_string_equal(json_string_value(json_object_get(doc, "from")),
                        "2026-12-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(doc, "to")), "2027-01-01T00:00:00.000Z");
    assert_int_equal(json_array_size(callers), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        c = json_array_get(callers, i);
        assert_int_equal(json_object_size(c), 10);
        assert_string_equal(json_string_value(json_object_get(c, "kind")), want[i].kind);
        assert_string_equal(json_string_value(json_object_get(c, "id")), want[i].id);
        if (want[i].plan == NULL)
            assert_true(json_is_null(json_object_get(c, "plan")));
        else
            assert_string_equal(json_string_value(json_object_get(c, "plan")), want[i].plan);
        if (num(c, "requests") != want[i].requests || num(c, "accepted") != want[i].accepted ||
            num(c, "refused_by_limit") != want[i].by_limit ||
            num(c, "refused_other") != want[i].refused_other ||
            num(c, "errors") != want[i].errors || num(c, "request_bytes") != want[i].req_bytes ||
            num(c, "response_bytes") != want[i].resp_bytes)
            fail_msg("%s %s: %s", want[i].kind, want[i].id, json_dumps(c, JSON_COMPACT));
    }
    json_decref(doc);
}

static void
test_csv(void **state)
{
    static const char want_csv[] =
        "kind,id,plan,requests,accepted,refused_by_limit,refused_other,errors,request_bytes,"
        "response_bytes\r\n"
        "anonymous,-,,2,1,0,1,0,4,110\r\n"
        "consumer,\"b,\"\"x\"\"\",,1,1,0,0,0,2,2\r\n"
        "consumer,weather-app,pro,9,3,3,2,1,19,511\r\n"
        "partner,acme,gold,3,2,1,0,0,200,2090\r\n"
        "partner,globex,,2,2,0,0,0,2,2\r\n";
    json_t *doc = december_usage();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    assert_int_equal(au_usage_csv(doc, f), 0);
    fclose(f);
    assert_string_equal(text, want_csv);
    free(text);
    json_decref(doc);
}

/* A day, and a period with nothing in it: the header alone, an empty list. */
static void
test_day_and_empty(void **state)
{
    struct au_usage *u;
    int64_t from, to;
    json_t *doc, *ev;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_int_equal(au_period_parse("2026-12-05", &from, &to), 0);
    u = au_usage_new(from, to);
    assert_non_null(u);
    for (size_t i = 0; i < sizeof december / sizeof december[0]; i++) {
        ev = make(&december[i]); /* the 5th's only event: weather-app's 401 */
        assert_int_equal(au_usage_add(u, ev), 0);
        json_decref(ev);
    }
    doc = au_usage_json(u, "2026-12-05");
    assert_int_equal(json_array_size(json_object_get(doc, "callers")), 1);
    assert_int_equal(num(json_array_get(json_object_get(doc, "callers"), 0), "refused_other"), 1);
    assert_string_equal(json_string_value(json_object_get(doc, "to")), "2026-12-06T00:00:00.000Z");
    json_decref(doc);
    au_usage_free(u);

    u = au_usage_new(ms("2025-01-01"), ms("2025-02-01"));
    doc = au_usage_json(u, "2025-01");
    assert_int_equal(json_array_size(json_object_get(doc, "callers")), 0);
    f = open_memstream(&text, &len);
    assert_int_equal(au_usage_csv(doc, f), 0);
    fclose(f);
    assert_string_equal(text, "kind,id,plan,requests,accepted,refused_by_limit,refused_other,"
                              "errors,request_bytes,response_bytes\r\n");
    free(text);
    json_decref(doc);
    au_usage_free(u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_day_and_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
