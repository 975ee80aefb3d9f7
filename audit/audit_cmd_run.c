/* audit_cmd_run.c: `portico audit tail | report | verify` reading the topic (audit_cli.h): tail
 * prints the events that pass the filters as they come, report counts them to the end of the
 * topic (report --usage: a period's exchanges per caller, usage.h), verify checks every node's
 * hash chain (verify.h).
 */
#include "audit_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "usage.h"
#include "verify.h"

static void
notice(const char *msg)
{
    au_cli_fail("%s; still trying", msg);
}

static struct au_consumer *
open_reader(struct au_cli *c, const char *group, int64_t since_ms)
{
    struct au_consume_opts o = {
        .brokers = c->brokers,
        .topic = c->topic,
        .props = c->props,
        .group = group,
        .since_ms = since_ms > 0 && since_ms != INT64_MIN ? since_ms : -1,
        .follow = c->follow,
        .timeout_ms = c->timeout_s * 1000,
        .stop = &au_cli_stop,
        .notice = notice,
    };
    struct au_consumer *k;
    char err[1024];

    if ((k = au_consume_open(&o, err, sizeof err)) == NULL && err[0] != '\0')
        au_cli_fail("%s", err);
    return k;
}

/* Every message to fn, to the end of the topic or until a signal. Returns 0 at the end, 1 when
 * interrupted, -1 on an error (reported). */
static int
read_all(struct au_consumer *k, int (*fn)(void *arg, const struct au_msg *m), void *arg)
{
    struct au_msg m;
    char err[1024];

    for (;;) {
        switch (au_consume_next(k, &m, 1000, err, sizeof err)) {
        case AU_CONSUME_MSG:
            if (fn(arg, &m) < 0)
                return -1;
            break;
        case AU_CONSUME_END:
            return 0;
        case AU_CONSUME_AGAIN:
            if (au_cli_stop)
                return 1;
            break;
        default:
            au_cli_fail("%s", err);
            return -1;
        }
    }
}

/* The whole topic, from since_ms (or its start when -1), to fn: for the subcommands that need all
 * of it. Returns 0 at its end, or -1 when it could not be read or the reading was interrupted
 * (reported: `lost` says what the interruption costs). */
static int
read_whole(struct au_cli *c, int64_t since_ms, int (*fn)(void *arg, const struct au_msg *m),
           void *arg, const char *lost)
{
    struct au_consumer *k = open_reader(c, NULL, since_ms);
    int rc;

    if (k == NULL)
        return -1;
    rc = read_all(k, fn, arg);
    au_consume_close(k);
    if (rc > 0)
        au_cli_fail("interrupted before the end of the topic: %s", lost);
    return rc == 0 ? 0 : -1;
}

/* A report as indented JSON and a newline on standard output. Returns 0, or -1 on a write
 * error. */
static int
put_json(const json_t *doc, size_t flags)
{
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | flags) < 0 || fputc('\n', stdout) == EOF)
        return -1;
    return 0;
}

/* Messages that are not JSON objects: counted, and the first one's place kept. */
struct skipped {
    uint64_t n;
    int32_t partition;
    int64_t offset;
};

static json_t *
parse_msg(const struct au_msg *m, struct skipped *s)
{
    json_t *ev = m->value != NULL ? json_loadb(m->value, m->len, JSON_ALLOW_NUL, NULL) : NULL;

    if (json_is_object(ev))
        return ev;
    json_decref(ev);
    if (s->n++ == 0) {
        s->partition = m->partition;
        s->offset = m->offset;
    }
    return NULL;
}

static void
report_skipped(const struct skipped *s)
{
    if (s->n > 0)
        au_cli_fail("%llu message%s not a JSON object, left out (the first at %d:%lld); "
                    "`portico audit verify` lists them",
                    (unsigned long long)s->n, s->n == 1 ? " was" : "s were", (int)s->partition,
                    (long long)s->offset);
}

/* --- the subcommands --- */

struct tail {
    struct au_cli *c;
    struct skipped skipped;
    int gone; /* the reader of standard output went away (`tail -f | head`) */
};

static int
tail_one(void *arg, const struct au_msg *m)
{
    struct tail *t = arg;
    json_t *ev = parse_msg(m, &t->skipped);

    if (ev != NULL && au_filter_match(&t->c->filter, ev)) {
        if (t->c->table) {
            au_tail_row(ev, stdout);
        } else {
            fwrite(m->value, 1, m->len, stdout);
            fputc('\n', stdout);
        }
        if (t->c->follow)
            fflush(stdout);
    }
    json_decref(ev);
    if (!ferror(stdout))
        return 0;
    if (errno == EPIPE)
        t->gone = 1; /* a normal end: the group is left, nothing to say */
    else
        au_cli_fail("standard output: %s", strerror(errno));
    return -1;
}

int
au_cli_tail(struct au_cli *c)
{
    struct tail t = {.c = c};
    struct au_consumer *k = open_reader(c, c->group, c->filter.since_ms);
    int rc;

    if (k == NULL)
        return au_cli_stop ? 0 : 2;
    if (c->table)
        au_tail_header(stdout);
    rc = read_all(k, tail_one, &t);
    au_consume_close(k);
    if (t.gone)
        return 0;
    if (fflush(stdout) != 0 && rc >= 0 && errno != EPIPE) {
        au_cli_fail("standard output: %s", strerror(errno));
        rc = -1;
    }
    report_skipped(&t.skipped);
    return rc < 0 ? 2 : 0;
}

struct report {
    struct au_cli *c;
    struct au_report *r;
    struct skipped skipped;
};

static int
report_one(void *arg, const struct au_msg *m)
{
    struct report *rp = arg;
    json_t *ev = parse_msg(m, &rp->skipped);
    int rc = 0;

    if (ev != NULL && au_filter_match(&rp->c->filter, ev) && au_report_add(rp->r, ev) < 0) {
        au_cli_fail("out of memory");
        rc = -1;
    }
    json_decref(ev);
    return rc;
}

/* The report with what it covers: topic, since and until (RFC 3339 or null). */
static json_t *
report_doc(struct au_cli *c, struct au_report *r)
{
    char since[40], until[40];
    json_t *body = au_report_json(r), *doc;

    if (c->filter.since_ms != INT64_MIN)
        au_time_format(c->filter.since_ms, since, sizeof since);
    if (c->filter.until_ms != INT64_MAX)
        au_time_format(c->filter.until_ms, until, sizeof until);
    doc = json_pack("{s:s,s:s?,s:s?}", "topic", c->topic, "since",
                    c->filter.since_ms != INT64_MIN ? since : NULL, "until",
                    c->filter.until_ms != INT64_MAX ? until : NULL);
    if (doc == NULL || json_object_update_new(doc, body) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int
print_report(struct au_cli *c, const json_t *doc)
{
    const char *since = json_string_value(json_object_get(doc, "since"));
    const char *until = json_string_value(json_object_get(doc, "until"));

    if (c->json)
        return put_json(doc, JSON_REAL_PRECISION(15));
    printf("topic %s: ", c->topic);
    if (since != NULL && until != NULL)
        printf("events received from %s to %s\n\n", since, until);
    else if (since != NULL || until != NULL)
        printf("events received %s %s\n\n", since ? "since" : "before", since ? since : until);
    else
        printf("all events\n\n");
    return au_report_print(doc, stdout);
}

int
au_cli_report(struct au_cli *c)
{
    struct report rp = {.c = c, .r = au_report_new()};
    json_t *doc = NULL;
    int rc = 2;

    if (rp.r == NULL || read_whole(c, c->filter.since_ms, report_one, &rp, "no report") < 0)
        goto out;
    report_skipped(&rp.skipped);
    if ((doc = report_doc(c, rp.r)) == NULL)
        au_cli_fail("out of memory");
    else if (print_report(c, doc) < 0 || fflush(stdout) != 0)
        au_cli_fail("standard output: %s", strerror(errno));
    else
        rc = 0;

out:
    json_decref(doc);
    au_report_free(rp.r);
    return rc;
}

struct usage {
    struct au_usage *u;
    struct skipped skipped;
};

static int
usage_one(void *arg, const struct au_msg *m)
{
    struct usage *us = arg;
    json_t *ev = parse_msg(m, &us->skipped);
    int rc = 0;

    if (ev != NULL && au_usage_add(us->u, ev) < 0) {
        au_cli_fail("out of memory");
        rc = -1;
    }
    json_decref(ev);
    return rc;
}

/* Where the brokers look offsets up by time, reading starts this long before the period: a
 * message's timestamp is when it was produced (never before its event was received, on the
 * node's clock), or when a broker appended it, on a clock that may lag the node's. */
#define USAGE_LOOKBACK_MS (3600 * 1000)

int
au_cli_usage(struct au_cli *c)
{
    struct usage us = {.u = au_usage_new(c->period_from_ms, c->period_to_ms)};
    json_t *doc = NULL;
    int rc = 2, wrc;

    if (us.u == NULL ||
        read_whole(c, c->period_from_ms - USAGE_LOOKBACK_MS, usage_one, &us, "no usage report") < 0)
        goto out;
    report_skipped(&us.skipped);
    if (au_usage_replays(us.u) > 0)
        au_cli_fail("%llu event%s shipped twice (after a restart of a node) counted once",
                    (unsigned long long)au_usage_replays(us.u),
                    au_usage_replays(us.u) == 1 ? "" : "s");
    if ((doc = au_usage_json(us.u, c->period)) == NULL) {
        au_cli_fail("out of memory");
        goto out;
    }
    if (c->csv)
        wrc = au_usage_csv(doc, stdout) < 0;
    else
        wrc = put_json(doc, 0) < 0 || fflush(stdout) != 0;
    if (wrc)
        au_cli_fail("standard output: %s", strerror(errno));
    else
        rc = 0;

out:
    json_decref(doc);
    au_usage_free(us.u);
    return rc;
}

static int
verify_one(void *arg, const struct au_msg *m)
{
    au_verify_add(arg, m->partition, m->offset, m->value, m->len);
    return 0;
}

int
au_cli_verify(struct au_cli *c)
{
    struct au_verify *v = au_verify_new();
    json_t *r = NULL;
    int rc = 2, wrc;

    if (v == NULL || read_whole(c, -1, verify_one, v, "nothing verified") < 0)
        goto out;
    if ((r = au_verify_report(v)) == NULL) {
        au_cli_fail("out of memory");
        goto out;
    }
    if (c->json)
        wrc = put_json(r, 0) < 0 || fflush(stdout) != 0;
    else
        wrc = au_verify_print(r, stdout) < 0;
    if (wrc)
        au_cli_fail("standard output: %s", strerror(errno));
    else
        rc = json_is_true(json_object_get(r, "clean")) ? 0 : 1;

out:
    json_decref(r);
    au_verify_free(v);
    return rc;
}
