/* test_audit_verify.c: au_verify on synthetic topics, a table of tamperings and what each must
 * show; then the report helpers (time parsing, percentiles, filters, the per-route report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonw.h"
#include "report.h"
#include "verify.h"

#define NSEQ 10   /* events per node */
#define NPART 3   /* partitions: an event goes to seq % NPART */
#define MAXMSG 64 /* messages in a topic */

/* A topic before it is fed: each message an event (ev) or raw bytes (raw), in one partition. */
struct msg {
    json_t *ev;
    const char *raw;
    int32_t partition;
};

struct topic {
    struct msg m[MAXMSG];
    size_t n;
};

/* Set ev's hash from its prev and its content, as the gateway does. */
static void
seal(json_t *ev)
{
    unsigned char prev[32], h[32];
    struct gw_buf b = {0};
    char hex[65];

    assert_int_equal(au_hex_decode(json_string_value(json_object_get(ev, "prev")), prev, 32), 0);
    assert_int_equal(au_json_canon(&b, ev, "hash"), 0);
    assert_false(b.oom);
    au_chain_hash(prev, b.p, b.len, h);
    gw_buf_free(&b);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    json_object_set_new(ev, "hash", json_string(hex));
}

/* Event seq of node, chained to prev (64 hex digits), in the shape audit/README.md gives. */
static json_t *
event(const char *node, int seq, const char *prev)
{
    char id[33];
    json_t *ev;

    snprintf(id, sizeof id, "%08x%08x%016x", (unsigned)node[3], (unsigned)seq, 0xabcdu);
    ev = json_pack(
        "{s:i,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s,s:n,s:{s:s,s:i},s:s,s:s,s:s,s:i,"
        "s:s,s:n,s:n,s:i,s:{s:i,s:n,s:i,s:n},s:{s:i,s:n,s:i,s:n},s:{s:[],s:[]},s:n,s:s}",
        "v", 1, "id", id, "kind", "exchange", "node", node, "seq", seq, "prev", prev, "hash", "",
        "request_id", "r-1", "time", "received", "2026-12-02T17:28:10.123Z", "forwarded",
        "2026-12-02T17:28:10.125Z", "responded", "2026-12-02T17:28:10.140Z", "partner",
        seq % 2 ? "acme" : "bolt", "cert", "client", "address", "192.0.2.7", "port", 40000 + seq,
        "route", "orders", "method", "POST", "path", "/v1/orders", "status", 200, "outcome", "ok",
        "reason", "upstream", "latency_us", 17000 + seq, "request", "bytes", 100, "sha256",
        "bytes_out", 100, "sha256_out", "response", "bytes", 50, "sha256", "bytes_out", 50,
        "sha256_out", "chain", "request", "response", "capture", "config", "v1");
    assert_non_null(ev);
    seal(ev);
    return ev;
}

static void
push(struct topic *t, json_t *ev, const char *raw, int32_t partition)
{
    assert_true(t->n < MAXMSG);
    t->m[t->n++] = (struct msg){.ev = ev, .raw = raw, .partition = partition};
}

/* Two nodes of NSEQ events each, interleaved as they would be shipped. */
static void
topic_make(struct topic *t)
{
    static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *prev[2] = {zeros, zeros};
    const char *nodes[2] = {"gw-a", "gw-b"};

    memset(t, 0, sizeof *t);
    for (int seq = 1; seq <= NSEQ; seq++) {
        for (int k = 0; k < 2; k++) {
            json_t *ev = event(nodes[k], seq, prev[k]);
            push(t, ev, NULL, seq % NPART);
            prev[k] = json_string_value(json_object_get(ev, "hash"));
        }
    }
}

static void
topic_free(struct topic *t)
{
    for (size_t i = 0; i < t->n; i++)
        json_decref(t->m[i].ev);
    t->n = 0;
}

/* The index of node's event seq in t. */
static size_t
find(const struct topic *t, const char *node, int seq)
{
    for (size_t i = 0; i < t->n; i++) {
        const json_t *ev = t->m[i].ev;
        if (ev != NULL && strcmp(json_string_value(json_object_get(ev, "node")), node) == 0 &&
            json_integer_value(json_object_get(ev, "seq")) == seq)
            return i;
    }
    fail_msg("no %s seq %d", node, seq);
    return 0;
}

static void
drop(struct topic *t, size_t i)
{
    json_decref(t->m[i].ev);
    memmove(&t->m[i], &t->m[i + 1], (t->n - i - 1) * sizeof t->m[0]);
    t->n--;
}

/* Feed the topic, offsets counted per partition, and return the report. */
static json_t *
verify(const struct topic *t)
{
    struct au_verify *v = au_verify_new();
    int64_t next[NPART + 1] = {0};
    json_t *r;

    assert_non_null(v);
    for (size_t i = 0; i < t->n; i++) {
        const struct msg *m = &t->m[i];
        char *s = m->ev != NULL ? json_dumps(m->ev, JSON_COMPACT) : NULL;
        const char *val = s != NULL ? s : m->raw;
        au_verify_add(v, m->partition, next[m->partition]++, val, val ? strlen(val) : 0);
        free(s);
    }
    r = au_verify_report(v);
    assert_non_null(r);
    au_verify_free(v);
    return r;
}

/* --- the tamperings --- */

static void
none(struct topic *t)
{
    (void)t;
}

static void
delete_a5(struct topic *t)
{
    drop(t, find(t, "gw-a", 5));
}

static void
delete_a5_a6_a8(struct topic *t)
{
    drop(t, find(t, "gw-a", 5));
    drop(t, find(t, "gw-a", 6));
    drop(t, find(t, "gw-a", 8));
}

static void
alter_a5(struct topic *t)
{
    json_object_set_new(t->m[find(t, "gw-a", 5)].ev, "status", json_integer(500));
}

static void
alter_reseal_a5(struct topic *t)
{
    json_t *ev = t->m[find(t, "gw-a", 5)].ev;

    json_object_set_new(ev, "status", json_integer(500));
    seal(ev);
}

static void
reseal_a1_prev(struct topic *t)
{
    json_t *ev = t->m[find(t, "gw-a", 1)].ev;

    json_object_set_new(ev, "prev",
                        json_string("00000000000000000000000000000000"
                                    "00000000000000000000000000000001"));
    seal(ev);
}

/* seq 4 and 7 both live in partition 1: swapping their places puts 7 before 4. */
static void
swap_a4_a7(struct topic *t)
{
    size_t i = find(t, "gw-a", 4), j = find(t, "gw-a", 7);
    struct msg m = t->m[i];

    assert_int_equal(t->m[i].partition, t->m[j].partition);
    t->m[i] = t->m[j];
    t->m[j] = m;
}

static void
replay_a3(struct topic *t)
{
    const struct msg *m = &t->m[find(t, "gw-a", 3)];

    push(t, json_deep_copy(m->ev), NULL, m->partition);
}

/* The same event again in another partition (the partition count changed): still a replay. */
static void
replay_a3_elsewhere(struct topic *t)
{
    const struct msg *m = &t->m[find(t, "gw-a", 3)];

    push(t, json_deep_copy(m->ev), NULL, (m->partition + 1) % NPART);
}

static void
conflict_a6(struct topic *t)
{
    const json_t *a5 = t->m[find(t, "gw-a", 5)].ev;
    json_t *ev = event("gw-a", 6, json_string_value(json_object_get(a5, "hash")));

    json_object_set_new(ev, "id", json_string("ffffffffffffffffffffffffffffffff"));
    json_object_set_new(ev, "route", json_string("invoices"));
    seal(ev);
    push(t, ev, NULL, 6 % NPART);
}

/* Same id and content, another hash: a conflict told by its hash alone. */
static void
conflict_a2_hash(struct topic *t)
{
    json_t *ev = json_deep_copy(t->m[find(t, "gw-a", 2)].ev);

    json_object_set_new(ev, "hash",
                        json_string("abababababababababababababababab"
                                    "abababababababababababababababab"));
    push(t, ev, NULL, 2 % NPART);
}

static void
garbage(struct topic *t)
{
    push(t, NULL, "hello", 0);
    push(t, NULL, "", 1);
    push(t, NULL, "[1,2]", 2);
    push(t, NULL, "{\"v\":1,\"node\":\"gw-a\",\"seq\":3}", 0);
    push(t, NULL, "{\"v\":2,\"node\":\"gw-a\",\"seq\":3}", 0);
    push(t, NULL, "{\"v\":1,\"v\":1}", 0);
}

static void
bad_hash_a4(struct topic *t)
{
    json_object_set_new(t->m[find(t, "gw-a", 4)].ev, "hash", json_string("XYZ"));
}

/* Retention removed the oldest messages of gw-b. */
static void
retention_b(struct topic *t)
{
    for (int seq = 1; seq <= 3; seq++)
        drop(t, find(t, "gw-b", seq));
}

/* --- the table --- */

#define SEQS(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__, 0                                                                             \
    }

struct vcase {
    const char *name;
    void (*tamper)(struct topic *);
    int clean;
    int64_t gaps[8];                                          /* from, to pairs, 0-terminated */
    int64_t broken[4], altered[4], conflicts[4], disorder[4]; /* seq numbers, 0-terminated */
    int replayed, unreadable;
    int64_t b_first; /* gw-b's first seq: 1 unless retention removed some */
};

static const struct vcase vcases[] = {
    {"clean", none, 1, {0}, {0}, {0}, {0}, {0}, 0, 0, 1},
    {"one deleted", delete_a5, 0, SEQS(5, 5), {0}, {0}, {0}, {0}, 0, 0, 1},
    {"three deleted", delete_a5_a6_a8, 0, SEQS(5, 6, 8, 8), {0}, {0}, {0}, {0}, 0, 0, 1},
    {"altered", alter_a5, 0, {0}, {0}, SEQS(5), {0}, {0}, 0, 0, 1},
    {"altered, hash rewritten", alter_reseal_a5, 0, {0}, SEQS(6), {0}, {0}, {0}, 0, 0, 1},
    {"seq 1 prev not zeros", reseal_a1_prev, 0, {0}, SEQS(1, 2), {0}, {0}, {0}, 0, 0, 1},
    {"swapped", swap_a4_a7, 0, {0}, {0}, {0}, {0}, SEQS(4), 0, 0, 1},
    {"replayed", replay_a3, 1, {0}, {0}, {0}, {0}, {0}, 1, 0, 1},
    {"replayed elsewhere", replay_a3_elsewhere, 1, {0}, {0}, {0}, {0}, {0}, 1, 0, 1},
    {"conflicting duplicate", conflict_a6, 0, {0}, {0}, {0}, SEQS(6), {0}, 0, 0, 1},
    {"conflicting hash", conflict_a2_hash, 0, {0}, {0}, {0}, SEQS(2), {0}, 0, 0, 1},
    {"garbage", garbage, 0, {0}, {0}, {0}, {0}, {0}, 0, 6, 1},
    {"malformed hash", bad_hash_a4, 0, SEQS(4, 4), {0}, {0}, {0}, {0}, 0, 1, 1},
    {"retention", retention_b, 1, {0}, {0}, {0}, {0}, {0}, 0, 0, 4},
};

/* The seq members of list (or from/to for gaps) match want, 0-terminated. */
static void
check_seqs(const char *cname, const char *what, const json_t *list, const int64_t *want)
{
    size_t n = 0, i;
    const json_t *f;

    json_array_foreach(list, i, f)
    {
        if (strcmp(what, "gaps") == 0) {
            if (want[n] != json_integer_value(json_object_get(f, "from")) ||
                want[n + 1] != json_integer_value(json_object_get(f, "to")))
                fail_msg("%s: %s[%zu]: want %lld..%lld", cname, what, i, (long long)want[n],
                         (long long)want[n + 1]);
            n += 2;
        } else if (want[n++] != json_integer_value(json_object_get(f, "seq"))) {
            fail_msg("%s: %s[%zu]: want seq %lld", cname, what, i, (long long)want[n - 1]);
        }
    }
    if (want[n] != 0)
        fail_msg("%s: %s: %zu found, more wanted", cname, what, i);
}

static void
check_case(const struct vcase *c, const json_t *r)
{
    const json_t *a = json_array_get(json_object_get(r, "nodes"), 0);
    const json_t *b = json_array_get(json_object_get(r, "nodes"), 1);

    assert_string_equal(json_string_value(json_object_get(a, "node")), "gw-a");
    assert_string_equal(json_string_value(json_object_get(b, "node")), "gw-b");
    if (json_is_true(json_object_get(r, "clean")) != c->clean)
        fail_msg("%s: clean is %d", c->name, !c->clean);
    assert_true(json_is_true(json_object_get(r, "complete")));
    check_seqs(c->name, "gaps", json_object_get(a, "gaps"), c->gaps);
    check_seqs(c->name, "broken_links", json_object_get(a, "broken_links"), c->broken);
    check_seqs(c->name, "altered", json_object_get(a, "altered"), c->altered);
    check_seqs(c->name, "conflicts", json_object_get(a, "conflicts"), c->conflicts);
    check_seqs(c->name, "out_of_order", json_object_get(a, "out_of_order"), c->disorder);
    assert_int_equal(json_integer_value(json_object_get(a, "replayed")), c->replayed);
    assert_int_equal(json_array_size(json_object_get(r, "unreadable")), c->unreadable);
    /* gw-b is never touched but by retention, which is not a finding */
    assert_true(json_is_true(json_object_get(b, "clean")));
    assert_int_equal(json_integer_value(json_object_get(b, "first_seq")), c->b_first);
    assert_int_equal(json_integer_value(json_object_get(b, "last_seq")), NSEQ);
    assert_int_equal(json_is_null(json_object_get(b, "missing_start")), c->b_first == 1);
}

static void
test_tamperings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
        struct topic t;
        json_t *r;
        topic_make(&t);
        vcases[i].tamper(&t);
        r = verify(&t);
        check_case(&vcases[i], r);
        json_decref(r);
        topic_free(&t);
    }
}

/* The text report names each finding with its seq and partition:offset. */
static void
test_text(void **state)
{
    static const struct {
        void (*tamper)(struct topic *);
        const char *want[3];
    } cases[] = {
        {none,
         {"node gw-a: 10 events, seq 1 to 10: clean", "result: clean (20 events from 2 "
                                                      "nodes in 20 messages, 0 replayed)"}},
        {delete_a5,
         {"  gap: seq 5 is missing (after seq 4 at 1:2, before seq 6 at 0:2)",
          "result: NOT CLEAN: 1 finding"}},
        {delete_a5_a6_a8,
         {"  gap: seq 5 to 6 are missing, 2 events (after seq 4 at 1:2, "
          "before seq 7 at 1:4)"}},
        {alter_a5, {"  altered: seq 5 at 2:2: its hash does not match its content"}},
        {alter_reseal_a5,
         {"  broken link: seq 6 at 0:2: its prev is not the hash of seq 5 "
          "(at 2:2)"}},
        {reseal_a1_prev, {"  broken link: seq 1 at 1:0: its prev is not 64 zeros"}},
        {swap_a4_a7, {"  out of order: seq 4 at 1:4 comes after seq 7 at 1:2 in partition 1"}},
        {replay_a3, {"  replayed: 1 message repeats an event unchanged", "result: clean"}},
        {conflict_a6,
         {"  conflicting duplicate: seq 6 at 0:6 is not the seq 6 seen first at "
          "0:2 (different id, content, hash)"}},
        {garbage,
         {"6 messages are not an audit event:", "  0:6: not JSON", "  1:8: an empty message"}},
        {retention_b,
         {"node gw-b: 7 events, seq 4 to 10: clean",
          "  note: the chain starts at seq 4; seq 1 to 3 are not in the topic"}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct topic t;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        json_t *r;
        assert_non_null(f);
        topic_make(&t);
        cases[i].tamper(&t);
        r = verify(&t);
        assert_int_equal(au_verify_print(r, f), 0);
        fclose(f);
        for (size_t j = 0; j < 3 && cases[i].want[j] != NULL; j++)
            if (strstr(text, cases[i].want[j]) == NULL)
                fail_msg("case %zu: no \"%s\" in:\n%s", i, cases[i].want[j], text);
        free(text);
        json_decref(r);
        topic_free(&t);
    }
}

/* Strings from the topic cannot reach the terminal as control characters. */
static void
test_text_safe(void **state)
{
    struct topic t;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    json_t *r;

    (void)state;
    topic_make(&t);
    for (size_t i = 0; i < t.n; i++) {
        if (strcmp(json_string_value(json_object_get(t.m[i].ev, "node")), "gw-b") != 0)
            continue;
        json_object_set_new(t.m[i].ev, "node", json_string("gw-\x1b[2Jb"));
    }
    r = verify(&t);
    assert_int_equal(au_verify_print(r, f), 0);
    fclose(f);
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "node gw-?[2Jb:"));
    free(text);
    json_decref(r);
    topic_free(&t);
}

/* Events of every schema version verify (version 4 with its consumer and plan, 5 with its
 * signatures); a version this verifier does not know is unreadable. */
static void
test_versions(void **state)
{
    static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";

    (void)state;
    for (int v = 1; v <= 6; v++) {
        struct topic t = {0};
        json_t *ev = event("gw-a", 1, zeros), *r;
        json_object_set_new(ev, "v", json_integer(v));
        if (v >= 4) {
            json_object_set_new(ev, "consumer",
                                json_pack("{s:s,s:s}", "id", "app-1", "key", "0123456789ab"));
            json_object_set_new(ev, "plan", json_string("pro"));
        }
        if (v >= 5)
            json_object_set_new(ev, "signatures", json_array());
        seal(ev);
        push(&t, ev, NULL, 0);
        r = verify(&t);
        if (json_is_true(json_object_get(r, "clean")) != (v <= 5) ||
            json_array_size(json_object_get(r, "unreadable")) != (v <= 5 ? 0u : 1u))
            fail_msg("version %d: %s", v, json_dumps(r, JSON_COMPACT));
        json_decref(r);
        topic_free(&t);
    }
}

static void
test_time_parse(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 1, 0},
        {"2026-12-02T17:28:10.123Z", 1, 1796232490123},
        {"2026-12-02t17:28:10.123z", 1, 1796232490123},
        {"2026-12-02 17:28:10.123Z", 1, 1796232490123},
        {"2026-12-02T17:28:10.1239999Z", 1, 1796232490123},
        {"2026-12-02T17:28:10.1Z", 1, 1796232490100},
        {"2026-12-02T18:28:10.123+01:00", 1, 1796232490123},
        {"2026-12-02T12:58:10.123-04:30", 1, 1796232490123},
        {"2026-12-02", 1, 1796169600000},
        {"2000-02-29T00:00:00Z", 1, 951782400000},
        {"1969-12-31T23:59:59.999Z", 1, -1},
        {"2024-02-29T00:00:00Z", 1, 1709164800000},
        {"2023-02-29T00:00:00Z", 0, 0},
        {"1900-02-29T00:00:00Z", 0, 0},
        {"2026-13-01T00:00:00Z", 0, 0},
        {"2026-12-32T00:00:00Z", 0, 0},
        {"2026-12-02T24:00:00Z", 0, 0},
        {"2026-12-02T17:28:10", 0, 0},
        {"2026-12-02T17:28Z", 0, 0},
        {"2026-12-02T17:28:10.Z", 0, 0},
        {"2026-12-02T17:28:10Z ", 0, 0},
        {"2026-12-2", 0, 0},
        {"", 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 42;
        int rc = au_time_parse(cases[i].s, &ms);
        if (rc != (cases[i].ok ? 0 : -1) || (cases[i].ok && ms != cases[i].ms))
            fail_msg("\"%s\": rc %d, ms %lld", cases[i].s, rc, (long long)ms);
        if (cases[i].ok && cases[i].s[10] != '\0' && ms % 1000 == 123) {
            char back[32];
            au_time_format(ms, back, sizeof back);
            assert_string_equal(back, "2026-12-02T17:28:10.123Z");
        }
    }
}

static void
test_time_arg(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t ago_ms;
    } cases[] = {
        {"30s", 1, 30000},
        {"10m", 1, 600000},
        {"2h", 1, 7200000},
        {"1d", 1, 86400000},
        {"0s", 0, 0},
        {"-5m", 0, 0},
        {"5", 0, 0},
        {"5w", 0, 0},
        {"5mm", 0, 0},
        {"m", 0, 0},
        {" 5m", 0, 0},
        {"+5m", 0, 0},
        {"99999999999999999999d", 0, 0},
    };
    const int64_t now = 1796232490123;
    char s[32];
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = au_time_arg(cases[i].s, now, &ms);
        if (rc != (cases[i].ok ? 0 : -1) || (cases[i].ok && ms != now - cases[i].ago_ms))
            fail_msg("\"%s\": rc %d", cases[i].s, rc);
    }
    assert_int_equal(au_time_arg("2026-12-02T17:00:00Z", now, &ms), 0);
    au_time_format(ms, s, sizeof s);
    assert_string_equal(s, "2026-12-02T17:00:00.000Z");
    au_time_format(-1, s, sizeof s);
    assert_string_equal(s, "1969-12-31T23:59:59.999Z");
}

static void
test_percentile(void **state)
{
    int64_t v[100];
    static const struct {
        size_t n;
        unsigned pct;
        int64_t want; /* values are 1..n */
    } cases[] = {
        {1, 50, 1},      {1, 99, 1},   {2, 50, 1},    {2, 95, 2},    {3, 50, 2},
        {4, 50, 2},      {4, 75, 3},   {10, 50, 5},   {10, 95, 10},  {10, 99, 10},
        {20, 95, 19},    {20, 99, 20}, {100, 50, 50}, {100, 95, 95}, {100, 99, 99},
        {100, 100, 100}, {100, 1, 1},  {5, 20, 1},    {5, 21, 2},
    };

    (void)state;
    for (size_t i = 0; i < 100; i++)
        v[i] = (int64_t)i + 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (au_percentile(v, cases[i].n, cases[i].pct) != cases[i].want)
            fail_msg("p%u of 1..%zu: %lld, want %lld", cases[i].pct, cases[i].n,
                     (long long)au_percentile(v, cases[i].n, cases[i].pct),
                     (long long)cases[i].want);
    assert_int_equal(au_percentile(v, 0, 50), 0);
}

/* A small event for the filters and the report. */
static json_t *
small(const char *partner, const char *route, int status, const char *outcome, int latency_us,
      const char *received)
{
    json_t *ev = json_pack("{s:s?,s:s?,s:i,s:s,s:i,s:{s:s},s:{s:i},s:{s:i,s:i}}", "partner",
                           partner, "route", route, "status", status, "outcome", outcome,
                           "latency_us", latency_us, "time", "received", received, "request",
                           "bytes", 10, "response", "bytes", 99, "bytes_out", 20);
    assert_non_null(ev);
    return ev;
}

static void
test_filter(void **state)
{
    json_t *ev = small("acme", "orders", 503, "refused", 1000, "2026-12-02T17:28:10.123Z");
    json_t *anon = small(NULL, NULL, 400, "refused", 10, "2026-12-02T17:28:10.123Z");
    struct au_filter f;

    (void)state;
    au_filter_init(&f);
    assert_true(au_filter_match(&f, ev));
    f.partner = "acme";
    assert_true(au_filter_match(&f, ev));
    assert_false(au_filter_match(&f, anon));
    f.partner = "-";
    assert_false(au_filter_match(&f, ev));
    assert_true(au_filter_match(&f, anon));
    au_filter_init(&f);
    f.route = "orders";
    f.outcome = "refused";
    assert_int_equal(au_filter_status(&f, "5xx"), 0);
    assert_true(au_filter_match(&f, ev));
    assert_int_equal(au_filter_status(&f, "503"), 0);
    assert_true(au_filter_match(&f, ev));
    assert_int_equal(au_filter_status(&f, "502"), 0);
    assert_false(au_filter_match(&f, ev));
    assert_int_equal(au_filter_status(&f, "4xx"), 0);
    assert_false(au_filter_match(&f, ev));
    assert_int_equal(au_filter_status(&f, "6xx"), -1);
    assert_int_equal(au_filter_status(&f, "50"), -1);
    assert_int_equal(au_filter_status(&f, "5031"), -1);
    au_filter_init(&f);
    f.outcome = "ok";
    assert_false(au_filter_match(&f, ev));
    au_filter_init(&f);
    assert_int_equal(au_time_parse("2026-12-02T17:28:10.123Z", &f.since_ms), 0);
    assert_true(au_filter_match(&f, ev));
    f.until_ms = f.since_ms; /* [since, until): empty */
    assert_false(au_filter_match(&f, ev));
    f.since_ms++;
    f.until_ms = INT64_MAX;
    assert_false(au_filter_match(&f, ev));
    json_decref(ev);
    json_decref(anon);
}

static void
test_report(void **state)
{
    struct au_report *r = au_report_new();
    const json_t *g;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    json_t *j;

    (void)state;
    assert_non_null(r);
    /* acme/orders: latencies 1..20 ms, 2 refused, 1 error */
    for (int i = 1; i <= 20; i++) {
        const char *outcome = i <= 2 ? "refused" : i == 3 ? "error" : "ok";
        j = small("acme", "orders", 200, outcome, i * 1000 + 1, "2026-12-02T17:28:10.123Z");
        assert_int_equal(au_report_add(r, j), 0);
        json_decref(j);
    }
    j = small(NULL, NULL, 400, "refused", 500, "2026-12-02T17:28:10.123Z");
    assert_int_equal(au_report_add(r, j), 0);
    json_decref(j);
    j = au_report_json(r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "events")), 21);
    assert_int_equal(json_array_size(json_object_get(j, "groups")), 2);
    g = json_array_get(json_object_get(j, "groups"), 0); /* null sorts first */
    assert_true(json_is_null(json_object_get(g, "partner")));
    g = json_array_get(json_object_get(j, "groups"), 1);
    assert_string_equal(json_string_value(json_object_get(g, "partner")), "acme");
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 20);
    assert_int_equal(json_integer_value(json_object_get(g, "ok")), 17);
    assert_int_equal(json_integer_value(json_object_get(g, "refused")), 2);
    assert_int_equal(json_integer_value(json_object_get(g, "error")), 1);
    /* refusals (the partner's doing) and errors (the gateway's or the upstream's) apart */
    assert_true(json_real_value(json_object_get(g, "refused_rate")) == 0.1);
    assert_true(json_real_value(json_object_get(g, "error_rate")) == 0.05);
    assert_true(json_real_value(json_object_get(json_object_get(g, "latency_ms"), "p50")) ==
                10.001);
    assert_true(json_real_value(json_object_get(json_object_get(g, "latency_ms"), "p95")) ==
                19.001);
    assert_true(json_real_value(json_object_get(json_object_get(g, "latency_ms"), "p99")) ==
                20.001);
    assert_int_equal(json_integer_value(json_object_get(g, "request_bytes")), 200);
    assert_int_equal(json_integer_value(json_object_get(g, "response_bytes")), 400);
    g = json_object_get(j, "total");
    assert_int_equal(json_integer_value(json_object_get(g, "count")), 21);
    assert_true(json_real_value(json_object_get(g, "refused_rate")) == 0.1429); /* 3 / 21 */
    assert_true(json_real_value(json_object_get(g, "error_rate")) == 0.0476);   /* 1 / 21 */
    assert_true(json_real_value(json_object_get(json_object_get(g, "latency_ms"), "p50")) ==
                10.001); /* rank 11 of 0.5, 1.001 ... 20.001 */
    f = open_memstream(&text, &len);
    assert_int_equal(au_report_print(j, f), 0);
    fclose(f);
    assert_non_null(strstr(text, "REFUSED%   ERROR%"));
    assert_non_null(strstr(text, "acme     orders        20       17        2        1    10.0%"
                                 "     5.0%     10.001     19.001     20.001          200          "
                                 "400\n"));
    assert_non_null(strstr(text, "TOTAL"));
    free(text);
    json_decref(j);
    au_report_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tamperings), cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_safe),  cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_arg),   cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_filter),     cmocka_unit_test(test_report),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
