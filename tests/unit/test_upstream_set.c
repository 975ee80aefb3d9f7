/* test_upstream_set.c: upstream sets (partners/upstream_set.c): reading "upstreams", the problems
 * reported with their place, and the weighted round robin's spread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "upstream_set.h"

struct doc {
    struct gw_diag d;
    struct gw_jctx jc;
    struct gw_jsonloc *loc;
    json_t *root;
    struct pt_upset **sets;
    size_t n;
    int rc;
};

static void
doc_load(struct doc *x, const char *text)
{
    json_error_t e;

    memset(x, 0, sizeof *x);
    if ((x->root = json_loads(text, JSON_REJECT_DUPLICATES, &e)) == NULL)
        fail_msg("bad test document (line %d): %s\n%s", e.line, e.text, text);
    assert_non_null(x->loc = gw_jsonloc_build(text, strlen(text)));
    x->jc = (struct gw_jctx){.file = "p.json", .dir = ".", .loc = x->loc, .d = &x->d};
    x->rc = pt_upsets_load(&x->jc, x->root, &x->sets, &x->n);
}

static void
doc_free(struct doc *x)
{
    pt_upsets_free(x->sets, x->n);
    json_decref(x->root);
    gw_jsonloc_free(x->loc);
    gw_diag_free(&x->d);
}

/* Does one of the reported problems read exactly `want`? */
static int
reported(const struct doc *x, const char *want)
{
    for (size_t i = 0; i < x->d.n; i++)
        if (strcmp(x->d.items[i].text, want) == 0)
            return 1;
    for (size_t i = 0; i < x->d.n; i++)
        fprintf(stderr, "reported: %s\n", x->d.items[i].text);
    return 0;
}

static void
test_round_robin_follows_weights(void **state)
{
    struct doc x;
    int counts[3] = {0};

    (void)state;
    doc_load(&x, "{\"upstreams\": {\"orders\": {\"targets\": ["
                 "{\"url\": \"http://127.0.0.1:9001\", \"weight\": 1},"
                 "{\"url\": \"http://127.0.0.1:9002\", \"weight\": 2},"
                 "\"http://127.0.0.1:9003/base\"], \"balance\": \"round_robin\"}}}");
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.d.errors, 0);
    assert_int_equal(x.n, 1);
    struct pt_upset *s = pt_upset_find(x.sets, x.n, "orders");
    assert_non_null(s);
    assert_null(pt_upset_find(x.sets, x.n, "other"));
    assert_int_equal(s->ntargets, 3);
    assert_int_equal(s->targets[2].weight, 1);
    assert_string_equal(s->targets[2].up.path, "/base");
    /* 3,000 picks: exactly 1:2:1, and never the weight-2 target three times in a row */
    int run = 0;
    const struct pt_upstream *last = NULL;
    for (int i = 0; i < 3000; i++) {
        const struct pt_upstream *u = pt_upset_pick(s, NULL, 0);
        run = u == last ? run + 1 : 1;
        assert_true(run <= 2);
        last = u;
        counts[u->port - 9001]++;
    }
    assert_int_equal(counts[0], 750);
    assert_int_equal(counts[1], 1500);
    assert_int_equal(counts[2], 750);
    doc_free(&x);
}

/* Heavy and light: the light one's picks fall between the heavy one's, not in a block. */
static void
test_round_robin_spreads(void **state)
{
    struct doc x;

    (void)state;
    doc_load(&x, "{\"upstreams\": {\"s\": {\"targets\": ["
                 "{\"url\": \"http://127.0.0.1:9001\", \"weight\": 5},"
                 "{\"url\": \"http://127.0.0.1:9002\", \"weight\": 1},"
                 "{\"url\": \"http://127.0.0.1:9003\", \"weight\": 1}]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *s = x.sets[0];
    assert_int_equal(s->nturn, 7);
    int heavy_run = 0, longest = 0;
    for (size_t k = 0; k < s->nturn; k++) {
        heavy_run = s->turn[k] == 0 ? heavy_run + 1 : 0;
        longest = heavy_run > longest ? heavy_run : longest;
    }
    assert_true(longest <= 3);
    doc_free(&x);
}

/* Least outstanding: a target that holds its exchanges gets no more while another is free; with
 * nothing ever done, the picks follow the weights. */
static void
test_least_outstanding(void **state)
{
    struct doc x;
    int held = 0, counts[2] = {0};

    (void)state;
    doc_load(&x, "{\"upstreams\": {\"s\": {\"balance\": \"least_outstanding\", \"targets\": ["
                 "\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]},"
                 "\"w\": {\"balance\": \"least_outstanding\", \"targets\": ["
                 "{\"url\": \"http://127.0.0.1:9001\", \"weight\": 3}, \"http://127.0.0.1:9002\"]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *s = pt_upset_find(x.sets, x.n, "s"), *w = pt_upset_find(x.sets, x.n, "w");
    /* the first target is slow: what it gets, it keeps; the second answers at once */
    for (int i = 0; i < 100; i++) {
        const struct pt_upstream *t = pt_upset_pick(s, NULL, 0);
        if (t->port == 9001)
            held++;
        else
            pt_upset_done(s, t);
    }
    assert_int_equal(held, 1);
    for (int i = 0; i < 400; i++)
        counts[pt_upset_pick(w, NULL, 0)->port - 9001]++;
    assert_int_equal(counts[0], 300);
    assert_int_equal(counts[1], 100);
    doc_free(&x);
}

/* Hash: a key stays on one target; keys spread by weight; a target taken out of the set moves
 * only the keys it had (the others keep theirs). */
static void
test_hash_ring(void **state)
{
    struct doc x;
    int counts[3] = {0}, wcounts[2] = {0};
    char key[32];

    (void)state;
    doc_load(&x, "{\"upstreams\": {"
                 "\"three\": {\"balance\": \"hash\", \"targets\": [\"http://127.0.0.1:9001\","
                 "\"http://127.0.0.1:9002\", \"http://127.0.0.1:9003\"]},"
                 "\"two\": {\"balance\": \"hash\", \"hash_on\": \"partner\", \"targets\": ["
                 "\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]},"
                 "\"w\": {\"balance\": \"hash\", \"hash_on\": \"field:X-Customer\", \"targets\": ["
                 "{\"url\": \"http://127.0.0.1:9001\", \"weight\": 3}, \"http://127.0.0.1:9002\"]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *three = pt_upset_find(x.sets, x.n, "three"), *two = pt_upset_find(x.sets, x.n, "two");
    struct pt_upset *w = pt_upset_find(x.sets, x.n, "w");
    assert_null(three->hash_field);
    assert_string_equal(w->hash_field, "X-Customer");
    int moved = 0;
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "partner-%d", i);
        const struct pt_upstream *a = pt_upset_pick(three, key, (size_t)n);
        assert_ptr_equal(pt_upset_pick(three, key, (size_t)n), a); /* it stays */
        counts[a->port - 9001]++;
        const struct pt_upstream *b = pt_upset_pick(two, key, (size_t)n);
        if (a->port != 9003)
            assert_int_equal(b->port, a->port); /* kept where its target is still there */
        else
            moved++;
        wcounts[pt_upset_pick(w, key, (size_t)n)->port - 9001]++;
    }
    for (int t = 0; t < 3; t++) /* a third each, within a fifth of it */
        assert_true(counts[t] > 800 && counts[t] < 1200);
    assert_int_equal(moved, counts[2]);
    assert_true(wcounts[0] > 2000 && wcounts[0] < 2500); /* weight 3 of 4: 2,250 */
    /* no key: round robin */
    assert_int_not_equal(pt_upset_pick(two, NULL, 0), pt_upset_pick(two, NULL, 0));
    doc_free(&x);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int
picks_of(struct pt_upset *s, const struct pt_upstream *t, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += pt_upset_pick(s, NULL, 0) == t;
    return k;
}

static void
fail_n(struct pt_upset *s, const struct pt_upstream *t, int n)
{
    for (int i = 0; i < n; i++)
        pt_upset_result(s, t, 0);
}

/* Outlier ejection: out after the failures in a row, back after the base time, out again at
 * once and for twice as long when its first answer fails; a success ends the row; the cap; every
 * target out; ejection off. */
static void
test_outlier_ejection(void **state)
{
    struct doc x;

    (void)state;
    doc_load(&x, "{\"upstreams\": {"
                 "\"e\": {\"outlier\": {\"consecutive_failures\": 3, \"base_ejection_ms\": 200, "
                 "\"max_ejection_percent\": 100}, \"targets\": [\"http://127.0.0.1:9001\", "
                 "\"http://127.0.0.1:9002\", \"http://127.0.0.1:9003\"]},"
                 "\"cap\": {\"outlier\": {\"consecutive_failures\": 1}, \"targets\": ["
                 "\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]},"
                 "\"off\": {\"outlier\": {\"consecutive_failures\": 0}, \"targets\": ["
                 "\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *e = pt_upset_find(x.sets, x.n, "e");
    const struct pt_upstream *a = &e->targets[0].up, *b = &e->targets[1].up, *c = &e->targets[2].up;

    fail_n(e, a, 2);
    assert_int_equal(picks_of(e, a, 30), 10); /* two in a row: still in */
    pt_upset_result(e, a, 1);
    fail_n(e, a, 2);
    assert_int_equal(picks_of(e, a, 30), 10); /* the success ended the row */
    pt_upset_result(e, a, 0);
    assert_int_equal(picks_of(e, a, 30), 0);  /* the third: out */
    assert_true(pt_upset_back_in_ms(e) > 0 && pt_upset_back_in_ms(e) <= 200);
    sleep_ms(250);
    assert_int_equal(picks_of(e, a, 30), 10); /* back */
    pt_upset_result(e, a, 0);                 /* its first answer fails: out again, 400 ms */
    assert_int_equal(picks_of(e, a, 30), 0);
    sleep_ms(250);
    assert_int_equal(picks_of(e, a, 30), 0);
    sleep_ms(200);
    assert_int_equal(picks_of(e, a, 30), 10);
    pt_upset_result(e, a, 1);                 /* back for good: the next row starts over */
    fail_n(e, a, 2);
    assert_int_equal(picks_of(e, a, 30), 10);
    /* every target out: no pick, and when the first comes back */
    fail_n(e, a, 1);
    fail_n(e, b, 3);
    fail_n(e, c, 3);
    assert_null(pt_upset_pick(e, NULL, 0));
    assert_true(pt_upset_back_in_ms(e) > 100 && pt_upset_back_in_ms(e) <= 200);
    /* the default cap, half of two: one out at most */
    struct pt_upset *cap = pt_upset_find(x.sets, x.n, "cap");
    fail_n(cap, &cap->targets[0].up, 1);
    fail_n(cap, &cap->targets[1].up, 5);
    assert_int_equal(picks_of(cap, &cap->targets[1].up, 10), 10);
    /* off */
    struct pt_upset *off = pt_upset_find(x.sets, x.n, "off");
    fail_n(off, &off->targets[0].up, 100);
    assert_int_equal(picks_of(off, &off->targets[0].up, 10), 5);
    doc_free(&x);
}

/* max_connections: a target at its maximum takes no more until one of its exchanges is done;
 * with every target there, no pick. */
static void
test_max_connections(void **state)
{
    struct doc x;
    int counts[2] = {0};

    (void)state;
    doc_load(&x, "{\"upstreams\": {"
                 "\"m\": {\"targets\": [{\"url\": \"http://127.0.0.1:9001\", \"max_connections\": 2}, "
                 "\"http://127.0.0.1:9002\"]},"
                 "\"one\": {\"targets\": [{\"url\": \"http://127.0.0.1:9001\", \"max_connections\": 1}]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *m = pt_upset_find(x.sets, x.n, "m"), *one = pt_upset_find(x.sets, x.n, "one");
    assert_true(m->counting);
    for (int i = 0; i < 10; i++)
        counts[pt_upset_pick(m, NULL, 0)->port - 9001]++;
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 8);
    pt_upset_done(m, &m->targets[0].up);
    int again = 0;
    for (int i = 0; i < 4; i++)
        again += pt_upset_pick(m, NULL, 0) == &m->targets[0].up;
    assert_int_equal(again, 1);
    const struct pt_upstream *t = pt_upset_pick(one, NULL, 0);
    assert_non_null(t);
    assert_null(pt_upset_pick(one, NULL, 0));
    pt_upset_done(one, t);
    assert_ptr_equal(pt_upset_pick(one, NULL, 0), t);
    doc_free(&x);
}

/* Retries: within the attempts, and at most the budget's share of the window's exchanges (but a
 * few always). */
static void
test_retry_budget(void **state)
{
    struct doc x;
    int yes = 0;

    (void)state;
    doc_load(&x, "{\"upstreams\": {"
                 "\"r\": {\"retries\": {\"attempts\": 3, \"budget_percent\": 20}, \"targets\": ["
                 "\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]},"
                 "\"dflt\": {\"targets\": [\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]},"
                 "\"single\": {\"targets\": [\"http://127.0.0.1:9001\"]}}}");
    assert_int_equal(x.rc, 0);
    struct pt_upset *r = pt_upset_find(x.sets, x.n, "r");
    struct pt_upset *dflt = pt_upset_find(x.sets, x.n, "dflt");
    struct pt_upset *single = pt_upset_find(x.sets, x.n, "single");
    unsigned a = r->retry.attempts;
    assert_false(pt_upset_may_retry(r, a, 2));   /* the third try was the last */
    assert_true(pt_upset_may_retry(r, a, 0));    /* a quiet set may retry a few */
    for (int i = 0; i < 100; i++)
        pt_upset_started(r);
    for (int i = 0; i < 50; i++)
        yes += pt_upset_may_retry(r, a, i % 2);
    assert_int_equal(yes, 19);                   /* 20 of 100, one already taken */
    /* the next window: the last one's counts still weigh (no fresh start at the turn) */
    atomic_store(&r->retry.window, atomic_load(&r->retry.window) - 1);
    for (int i = 0; i < 10; i++)
        pt_upset_started(r);
    assert_true(pt_upset_may_retry(r, a, 0));    /* 22 of 110 */
    assert_true(pt_upset_may_retry(r, a, 0));
    assert_false(pt_upset_may_retry(r, a, 0));
    /* two windows without an exchange: the counts are gone */
    atomic_store(&r->retry.window, atomic_load(&r->retry.window) - 2);
    assert_true(pt_upset_may_retry(r, a, 0));
    assert_int_equal(atomic_load(&r->retry.prev_requests), 0);
    assert_int_equal(dflt->retry.attempts, 2);
    assert_int_equal(dflt->retry.replay_bytes, 65536);
    assert_true(pt_upset_may_retry(dflt, 2, 0));
    assert_false(pt_upset_may_retry(dflt, 2, 1));
    assert_true(pt_upset_may_retry(dflt, 3, 1));  /* a route's own attempts */
    assert_false(pt_upset_may_retry(single, 3, 0)); /* one target: no other to try */
    doc_free(&x);
}

static void
test_problems_reported_where(void **state)
{
    struct doc x;

    (void)state;
    doc_load(&x, "{\"upstreams\": {\n"
                 "\"a\": {\"targets\": []},\n"
                 "\"b\": {\"targets\": [\"kafka://t\"]},\n"
                 "\"c\": {\"targets\": [{\"url\": \"http://127.0.0.1:1\", \"weight\": 0}]},\n"
                 "\"d\": {\"targets\": [\"http://127.0.0.1:1\", \"http://127.0.0.1:1\"]},\n"
                 "\"e\": {\"targets\": [\"http://127.0.0.1:1\"], \"balance\": \"random\"},\n"
                 "\"f\": {\"targets\": [\"http://127.0.0.1:1\"], \"health\": {}},\n"
                 "\"Bad Name\": {\"targets\": [\"http://127.0.0.1:1\"]},\n"
                 "\"h\": {\"targets\": [\"http://127.0.0.1:1\"], \"hash_on\": \"partner\"},\n"
                 "\"i\": {\"targets\": [\"http://127.0.0.1:1\"], \"balance\": \"hash\", "
                 "\"hash_on\": \"field:a b\"},\n"
                 "\"g\": {\"targets\": [\"http://127.0.0.1:1\"]},\n"
                 "\"k\": {\"targets\": [\"http://127.0.0.1:1\"], \"health\": {\"path\": \"/h\", "
                 "\"statuses\": [200, 700], \"method\": \"POST\"}},\n"
                 "\"l\": {\"targets\": [\"http://127.0.0.1:1\"], \"health\": {\"path\": \"/h\", "
                 "\"timeout_ms\": 5000, \"interval_ms\": 1000}},\n"
                 "\"m\": {\"targets\": [\"http://127.0.0.1:1\"], \"health\": {\"path\": \"/a b\"}}\n"
                 "}}");
    assert_int_equal(x.rc, -1);
    assert_true(reported(&x, "p.json:2:7: upstreams.a.targets: a set has 1 to 64 targets, not 0"));
    assert_true(reported(&x, "p.json:3:19: upstreams.b.targets[0]: \"kafka://t\": a set's targets "
                             "are http:// or https:// URLs"));
    assert_true(reported(&x, "p.json:4:49: upstreams.c.targets[0].weight: 0 is out of range (1 to "
                             "1000)"));
    assert_true(reported(&x, "p.json:5:41: upstreams.d.targets[1]: \"http://127.0.0.1:1\" is "
                             "already target 0 of the set (give it a weight instead)"));
    assert_true(reported(&x, "p.json:6:42: upstreams.e.balance: \"random\" is not a balance "
                             "(round_robin, least_outstanding or hash)"));
    assert_true(reported(&x, "p.json:7:42: upstreams.f.health.path: required key \"path\" is "
                             "missing"));
    assert_true(reported(&x, "p.json:12:85: upstreams.k.health.statuses[1]: expected a status "
                             "from 100 to 599"));
    assert_true(reported(&x, "p.json:12:91: upstreams.k.health.method: \"POST\" is not GET, HEAD "
                             "or OPTIONS"));
    assert_true(reported(&x, "p.json:13:67: upstreams.l.health.timeout_ms: 5000 is not below "
                             "interval_ms (1000): a check ends before the next"));
    assert_true(reported(&x, "p.json:14:53: upstreams.m.health.path: \"/a b\" is not a request "
                             "path (from \"/\", no spaces or controls)"));
    assert_true(reported(&x, "p.json:8:1: upstreams.Bad Name: \"Bad Name\" is not a set name "
                             "([a-z0-9][a-z0-9._-]*, at most 64)"));
    assert_true(reported(&x, "p.json:9:42: upstreams.h.hash_on: only \"balance\": \"hash\" takes "
                             "\"hash_on\" (this set's is \"round_robin\")"));
    assert_true(reported(&x, "p.json:10:61: upstreams.i.hash_on: expected \"partner\" or "
                             "\"field:NAME\" (NAME a request field's name), got \"field:a b\""));
    /* only the good set is kept */
    assert_int_equal(x.n, 1);
    assert_string_equal(x.sets[0]->name, "g");
    assert_int_equal(x.d.errors, 13);
    doc_free(&x);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_follows_weights),
        cmocka_unit_test(test_round_robin_spreads),
        cmocka_unit_test(test_least_outstanding),
        cmocka_unit_test(test_hash_ring),
        cmocka_unit_test(test_outlier_ejection),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_retry_budget),
        cmocka_unit_test(test_problems_reported_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
