/* audit_cmd.c: `portico audit tail | report | verify`, the consumer side of the audit.
 *
 * Brokers and topic come from -b/-t, else from the "audit" section of portico.json (-c), read
 * here with jansson alone so that a config the gateway would refuse for another reason can still
 * be used to read its audit. "brokers": "embedded" means the gateway's development broker, whose
 * address the gateway writes to broker.addr in its audit directory.
 */
#include "audit_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "consume.h"
#include "report.h"
#include "verify.h"

enum sub { TAIL = 1, REPORT = 2, VERIFY = 4, ALL = 7 };

struct cmd {
    enum sub sub;
    const char *config, *brokers_arg, *topic_arg, *group;
    json_t *xprops; /* -X, an object of strings */
    int timeout_s, follow, table, json;
    int64_t since_ms;
    struct au_filter filter;
    /* resolved */
    char *brokers, *topic;
    json_t *props;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void
fail_msg(const char *fmt, ...)
{
    va_list ap;

    fputs("portico: audit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: portico audit tail   [OPTIONS] [--group G | --since TIME] [-f] [FILTERS]\n"
        "                            [--format json|table]\n"
        "       portico audit report [OPTIONS] [--since TIME] [--until TIME] [FILTERS] [--json]\n"
        "       portico audit verify [OPTIONS] [--json]\n"
        "\n"
        "Read the audit topic: print its events (tail), count them per partner and route\n"
        "(report), or check every node's hash chain for missing, altered, duplicated and\n"
        "reordered events (verify).\n"
        "\n"
        "OPTIONS\n"
        "  -c FILE          portico.json: brokers, topic and kafka properties from its \"audit\"\n"
        "                   section\n"
        "  -b BROKERS       bootstrap brokers, host:port[,host:port...]; \"embedded\": the\n"
        "                   address the gateway's embedded broker wrote in its audit directory\n"
        "                   (needs -c)\n"
        "  -t TOPIC         the topic (default: the config's, else portico.audit)\n"
        "  -X NAME=VALUE    a librdkafka property, over the config's \"kafka\" (repeatable)\n"
        "  --timeout SEC    how long unreachable brokers are waited for (default 10)\n"
        "FILTERS (tail, report)\n"
        "  --partner ID     one partner's events (\"-\": events without a partner)\n"
        "  --route NAME     one route's events (\"-\": events without a route)\n"
        "  --status N       one status (404) or a class of them (5xx)\n"
        "  --outcome O      ok, refused or error\n"
        "tail\n"
        "  --group G        read as consumer group G, committing offsets: the next run with G\n"
        "                   goes on where this one stopped\n"
        "  --since TIME     events received since TIME: RFC 3339 (2026-12-02T17:00:00Z) or a\n"
        "                   duration ago (30s, 10m, 2h, 1d)\n"
        "  -f, --follow     wait for new events until interrupted (default: stop at the end)\n"
        "  --format F       json: each event as received, one per line (default); table\n"
        "report\n"
        "  --since TIME, --until TIME\n"
        "                   count the events received from since (included) to until\n"
        "  --json           the report as JSON\n"
        "verify\n"
        "  --json           the report as JSON\n"
        "\n"
        "Exit status: 0 done (verify: every chain is clean), 1 verify has findings, 2 usage,\n"
        "config or connection error.\n");
}

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -X NAME=VALUE into c->xprops. */
static int
add_prop(struct cmd *c, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *name;
    int rc;

    if (eq == NULL || eq == arg) {
        fail_msg("-X takes NAME=VALUE, not \"%s\"", arg);
        return -1;
    }
    if ((name = strndup(arg, (size_t)(eq - arg))) == NULL)
        return -1;
    rc = json_object_set_new(c->xprops, name, json_string(eq + 1));
    free(name);
    return rc;
}

static int
parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

enum {
    O_TIMEOUT = 256,
    O_GROUP,
    O_SINCE,
    O_UNTIL,
    O_PARTNER,
    O_ROUTE,
    O_STATUS,
    O_OUTCOME,
    O_FORMAT,
    O_JSON,
};

/* The options that belong to some subcommands only. */
static const struct {
    int opt;
    unsigned subs;
    const char *name;
} only[] = {
    {O_GROUP, TAIL, "--group"},
    {'f', TAIL, "--follow"},
    {O_FORMAT, TAIL, "--format"},
    {O_SINCE, TAIL | REPORT, "--since"},
    {O_UNTIL, REPORT, "--until"},
    {O_PARTNER, TAIL | REPORT, "--partner"},
    {O_ROUTE, TAIL | REPORT, "--route"},
    {O_STATUS, TAIL | REPORT, "--status"},
    {O_OUTCOME, TAIL | REPORT, "--outcome"},
    {O_JSON, REPORT | VERIFY, "--json"},
};

static const char *
sub_name(enum sub s)
{
    return s == TAIL ? "tail" : s == REPORT ? "report" : "verify";
}

/* A time argument for --since or --until. */
static int
time_opt(const char *name, const char *arg, int64_t *ms)
{
    if (au_time_arg(arg, wall_ms(), ms) == 0)
        return 0;
    fail_msg("%s \"%s\": not a time (2026-12-02T17:00:00Z) nor a duration (30s, 10m, 2h, 1d)", name,
             arg);
    return -1;
}

/* An option whose value must be checked. Returns 0, or -1 (reported). */
static int
checked_option(struct cmd *c, int ch, const char *arg)
{
    switch (ch) {
    case 'X':
        return add_prop(c, arg);
    case O_SINCE:
        return time_opt("--since", arg, &c->filter.since_ms);
    case O_UNTIL:
        return time_opt("--until", arg, &c->filter.until_ms);
    case O_TIMEOUT:
        if (parse_int(arg, 1, 86400, &c->timeout_s) == 0)
            return 0;
        fail_msg("--timeout takes seconds, 1 to 86400, not \"%s\"", arg);
        return -1;
    case O_STATUS:
        if (au_filter_status(&c->filter, arg) == 0)
            return 0;
        fail_msg("--status takes a status (404) or a class (1xx to 5xx), not \"%s\"", arg);
        return -1;
    case O_OUTCOME:
        if (strcmp(arg, "ok") == 0 || strcmp(arg, "refused") == 0 || strcmp(arg, "error") == 0) {
            c->filter.outcome = arg;
            return 0;
        }
        fail_msg("--outcome is ok, refused or error, not \"%s\"", arg);
        return -1;
    case O_FORMAT:
        if (strcmp(arg, "json") == 0 || strcmp(arg, "table") == 0) {
            c->table = strcmp(arg, "table") == 0;
            return 0;
        }
        fail_msg("--format is json or table, not \"%s\"", arg);
        return -1;
    default:
        fail_msg("option %d is not handled", ch); /* a longs[] entry without a case */
        return -1;
    }
}

/* One option. Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int
option(struct cmd *c, int ch, const char *arg)
{
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
        if (only[i].opt == ch && !(only[i].subs & c->sub)) {
            fail_msg("%s is not an option of `audit %s`", only[i].name, sub_name(c->sub));
            return -1;
        }
    }
    switch (ch) {
    case 'c':
        c->config = arg;
        return 0;
    case 'b':
        c->brokers_arg = arg;
        return 0;
    case 't':
        c->topic_arg = arg;
        return 0;
    case 'f':
        c->follow = 1;
        return 0;
    case O_GROUP:
        c->group = arg;
        return 0;
    case O_PARTNER:
        c->filter.partner = arg;
        return 0;
    case O_ROUTE:
        c->filter.route = arg;
        return 0;
    case O_JSON:
        c->json = 1;
        return 0;
    case 'h':
        usage(stdout);
        return 1;
    default:
        return checked_option(c, ch, arg);
    }
}

/* argv[0] is the subcommand. Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int
parse(int argc, char **argv, struct cmd *c)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"group", required_argument, NULL, O_GROUP},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"follow", no_argument, NULL, 'f'},
        {"partner", required_argument, NULL, O_PARTNER},
        {"route", required_argument, NULL, O_ROUTE},
        {"status", required_argument, NULL, O_STATUS},
        {"outcome", required_argument, NULL, O_OUTCOME},
        {"format", required_argument, NULL, O_FORMAT},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc;

    optind = 1;
    opterr = 0; /* getopt would name the subcommand as the program */
    while ((ch = getopt_long(argc, argv, ":c:b:t:X:fh", longs, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            fail_msg("%s: %s (portico audit help)", argv[optind - 1],
                     ch == ':' ? "needs a value" : "unknown option");
            return -1;
        }
        if ((rc = option(c, ch, optarg)) != 0)
            return rc;
    }
    if (optind < argc) {
        fail_msg("unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (c->group != NULL && c->filter.since_ms != INT64_MIN) {
        fail_msg("--group goes on from the group's offsets: it cannot start --since a time");
        return -1;
    }
    if (c->filter.since_ms != INT64_MIN && c->filter.until_ms != INT64_MAX &&
        c->filter.since_ms >= c->filter.until_ms) {
        fail_msg("--since must come before --until");
        return -1;
    }
    return 0;
}

/* --- the config --- */

/* dir/broker.addr, dir relative to the config's folder: the embedded broker's address. */
static char *
embedded_addr(const char *config, const char *dir)
{
    const char *slash = config != NULL ? strrchr(config, '/') : NULL;
    char *path = NULL, *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int n;

    if (config == NULL) {
        fail_msg("-b embedded needs -c FILE: the broker's address is in the audit directory");
        return NULL;
    }
    if (dir[0] == '/')
        n = asprintf(&path, "%s/broker.addr", dir);
    else if (slash != NULL)
        n = asprintf(&path, "%.*s/%s/broker.addr", (int)(slash - config), config, dir);
    else
        n = asprintf(&path, "%s/broker.addr", dir);
    if (n < 0)
        return NULL;
    if ((f = fopen(path, "r")) == NULL || getline(&line, &cap, f) < 0) {
        fail_msg("%s: %s (the gateway writes the embedded broker's address there while it "
                 "runs)",
                 path, f == NULL ? strerror(errno) : "empty");
        free(line);
        line = NULL;
        goto out;
    }
    line[strcspn(line, " \t\r\n")] = '\0';
    if (line[0] == '\0') {
        fail_msg("%s: empty", path);
        free(line);
        line = NULL;
    }
out:
    if (f != NULL)
        fclose(f);
    free(path);
    return line;
}

/* *out set to the string member `name` of the audit section, when there is one. Returns 0, or
 * -1 (reported) when the member is not a string. */
static int
conf_str(const char *file, const json_t *audit, const char *name, const char **out)
{
    const json_t *j = json_object_get(audit, name);

    if (j == NULL)
        return 0;
    if (!json_is_string(j)) {
        fail_msg("%s: audit.%s must be a string", file, name);
        return -1;
    }
    *out = json_string_value(j);
    return 0;
}

/* The config's librdkafka properties under the -X ones, in c->props. */
static int
merge_props(struct cmd *c, const json_t *kafka)
{
    const char *name;
    json_t *val;

    if (kafka != NULL && !json_is_object(kafka)) {
        fail_msg("%s: audit.kafka must be an object of librdkafka properties", c->config);
        return -1;
    }
    json_object_foreach((json_t *)kafka, name, val)
    {
        if (!json_is_string(val)) {
            fail_msg("%s: audit.kafka.%s: a librdkafka property is a string", c->config, name);
            return -1;
        }
    }
    c->props = kafka != NULL ? json_deep_copy(kafka) : json_object();
    if (c->props == NULL || json_object_update(c->props, c->xprops) < 0) {
        fail_msg("out of memory");
        return -1;
    }
    return 0;
}

/* Brokers, topic and properties from the options over the config. Returns 0 or -1 (reported). */
static int
resolve(struct cmd *c)
{
    const char *brokers = NULL, *topic = NULL, *dir = "audit";
    json_t *root = NULL, *audit = NULL;
    json_error_t jerr;
    int rc = -1;

    if (c->config != NULL) {
        if ((root = json_load_file(c->config, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
            fail_msg("%s:%d:%d: %s", c->config, jerr.line, jerr.column, jerr.text);
            goto out;
        }
        audit = json_object_get(root, "audit");
        if (audit != NULL && !json_is_object(audit)) {
            fail_msg("%s: \"audit\" must be an object", c->config);
            goto out;
        }
        if (conf_str(c->config, audit, "brokers", &brokers) < 0 ||
            conf_str(c->config, audit, "topic", &topic) < 0 ||
            conf_str(c->config, audit, "dir", &dir) < 0)
            goto out;
    }
    if (c->brokers_arg != NULL)
        brokers = c->brokers_arg;
    if (c->topic_arg != NULL)
        topic = c->topic_arg;
    if (brokers == NULL || brokers[0] == '\0') {
        if (c->config != NULL)
            fail_msg("%s: no audit.brokers, and no -b BROKERS", c->config);
        else
            fail_msg("where is the audit topic? give -c FILE (portico.json) or -b BROKERS");
        goto out;
    }
    c->brokers = strcmp(brokers, "embedded") == 0 ? embedded_addr(c->config, dir) : strdup(brokers);
    c->topic = strdup(topic != NULL ? topic : "portico.audit");
    if (c->brokers == NULL || c->topic == NULL)
        goto out;
    rc = merge_props(c, json_object_get(audit, "kafka"));

out:
    json_decref(root);
    return rc;
}

/* --- reading --- */

static void
notice(const char *msg)
{
    fail_msg("%s; still trying", msg);
}

static struct au_consumer *
open_reader(struct cmd *c, const char *group, int64_t since_ms)
{
    struct au_consume_opts o = {
        .brokers = c->brokers,
        .topic = c->topic,
        .props = c->props,
        .group = group,
        .since_ms = since_ms > 0 && since_ms != INT64_MIN ? since_ms : -1,
        .follow = c->follow,
        .timeout_ms = c->timeout_s * 1000,
        .stop = &stop,
        .notice = notice,
    };
    struct au_consumer *k;
    char err[1024];

    if ((k = au_consume_open(&o, err, sizeof err)) == NULL && err[0] != '\0')
        fail_msg("%s", err);
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
            if (stop)
                return 1;
            break;
        default:
            fail_msg("%s", err);
            return -1;
        }
    }
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
        fail_msg("%llu message%s not a JSON object, left out (the first at %d:%lld); "
                 "`portico audit verify` lists them",
                 (unsigned long long)s->n, s->n == 1 ? " was" : "s were", (int)s->partition,
                 (long long)s->offset);
}

/* --- the subcommands --- */

struct tail {
    struct cmd *c;
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
        fail_msg("standard output: %s", strerror(errno));
    return -1;
}

static int
run_tail(struct cmd *c)
{
    struct tail t = {.c = c};
    struct au_consumer *k = open_reader(c, c->group, c->filter.since_ms);
    int rc;

    if (k == NULL)
        return stop ? 0 : 2;
    if (c->table)
        au_tail_header(stdout);
    rc = read_all(k, tail_one, &t);
    au_consume_close(k);
    if (t.gone)
        return 0;
    if (fflush(stdout) != 0 && rc >= 0 && errno != EPIPE) {
        fail_msg("standard output: %s", strerror(errno));
        rc = -1;
    }
    report_skipped(&t.skipped);
    return rc < 0 ? 2 : 0;
}

struct report {
    struct cmd *c;
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
        fail_msg("out of memory");
        rc = -1;
    }
    json_decref(ev);
    return rc;
}

/* The report with what it covers: topic, since and until (RFC 3339 or null). */
static json_t *
report_doc(struct cmd *c, struct au_report *r)
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
print_report(struct cmd *c, const json_t *doc)
{
    const char *since = json_string_value(json_object_get(doc, "since"));
    const char *until = json_string_value(json_object_get(doc, "until"));

    if (c->json)
        return json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) < 0 ||
                       fputc('\n', stdout) == EOF
                   ? -1
                   : 0;
    printf("topic %s: ", c->topic);
    if (since != NULL && until != NULL)
        printf("events received from %s to %s\n\n", since, until);
    else if (since != NULL || until != NULL)
        printf("events received %s %s\n\n", since ? "since" : "before", since ? since : until);
    else
        printf("all events\n\n");
    return au_report_print(doc, stdout);
}

static int
run_report(struct cmd *c)
{
    struct report rp = {.c = c, .r = au_report_new()};
    struct au_consumer *k;
    json_t *doc = NULL;
    int rc = 2;

    if (rp.r == NULL || (k = open_reader(c, NULL, c->filter.since_ms)) == NULL)
        goto out;
    rc = read_all(k, report_one, &rp);
    au_consume_close(k);
    if (rc != 0) {
        if (rc > 0)
            fail_msg("interrupted before the end of the topic: no report");
        rc = 2;
        goto out;
    }
    report_skipped(&rp.skipped);
    rc = 2;
    if ((doc = report_doc(c, rp.r)) == NULL)
        fail_msg("out of memory");
    else if (print_report(c, doc) < 0 || fflush(stdout) != 0)
        fail_msg("standard output: %s", strerror(errno));
    else
        rc = 0;

out:
    json_decref(doc);
    au_report_free(rp.r);
    return rc;
}

static int
verify_one(void *arg, const struct au_msg *m)
{
    au_verify_add(arg, m->partition, m->offset, m->value, m->len);
    return 0;
}

static int
run_verify(struct cmd *c)
{
    struct au_verify *v = au_verify_new();
    struct au_consumer *k;
    json_t *r = NULL;
    int rc = 2, wrc;

    if (v == NULL || (k = open_reader(c, NULL, -1)) == NULL)
        goto out;
    rc = read_all(k, verify_one, v);
    au_consume_close(k);
    if (rc != 0) {
        if (rc > 0)
            fail_msg("interrupted before the end of the topic: nothing verified");
        rc = 2;
        goto out;
    }
    rc = 2;
    if ((r = au_verify_report(v)) == NULL) {
        fail_msg("out of memory");
        goto out;
    }
    if (c->json)
        wrc = json_dumpf(r, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF ||
              fflush(stdout) != 0;
    else
        wrc = au_verify_print(r, stdout) < 0;
    if (wrc)
        fail_msg("standard output: %s", strerror(errno));
    else
        rc = json_is_true(json_object_get(r, "clean")) ? 0 : 1;

out:
    json_decref(r);
    au_verify_free(v);
    return rc;
}

int
au_cmd_audit(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "help";
    struct sigaction sa = {.sa_handler = on_signal};
    struct cmd c = {.timeout_s = 10};
    int rc;

    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    c.sub = strcmp(sub, "tail") == 0     ? TAIL
            : strcmp(sub, "report") == 0 ? REPORT
            : strcmp(sub, "verify") == 0 ? VERIFY
                                         : 0;
    if (c.sub == 0) {
        fail_msg("unknown subcommand \"%s\"\n", sub);
        usage(stderr);
        return 2;
    }
    au_filter_init(&c.filter);
    if ((c.xprops = json_object()) == NULL)
        return 2;
    if ((rc = parse(argc - 1, argv + 1, &c)) != 0) {
        rc = rc > 0 ? 0 : 2;
        goto out;
    }
    if (resolve(&c) < 0) {
        rc = 2;
        goto out;
    }
    /* no SA_RESTART: a signal ends the waits at once; librdkafka's threads may take it too */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* tail: a reader that goes away (`tail -f | head`) is a write error, not the end of the
     * process, so that the consumer still leaves its group (consume.c) */
    if (c.sub == TAIL)
        signal(SIGPIPE, SIG_IGN);
    rc = c.sub == TAIL ? run_tail(&c) : c.sub == REPORT ? run_report(&c) : run_verify(&c);

out:
    free(c.brokers);
    free(c.topic);
    json_decref(c.props);
    json_decref(c.xprops);
    return rc;
}
