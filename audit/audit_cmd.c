/* audit_cmd.c: `portico audit tail | report | verify`, the consumer side of the audit: the
 * command line (usage, options, which belong to which subcommand) and the run. Where the topic
 * is: audit_cmd_conf.c; reading it: audit_cmd_run.c (audit_cli.h is what the three share).
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

#include <jansson.h>

#include "audit_cli.h"
#include "clock.h"
#include "usage.h"

volatile sig_atomic_t au_cli_stop;

static void
on_signal(int sig)
{
    (void)sig;
    au_cli_stop = 1;
}

void
au_cli_fail(const char *fmt, ...)
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
        "       portico audit report [OPTIONS] --usage --period PERIOD [--format csv|json]\n"
        "       portico audit verify [OPTIONS] [--json]\n"
        "\n"
        "Read the audit topic: print its events (tail), count them per partner and route\n"
        "(report), count a month's or a day's exchanges per caller for billing (report\n"
        "--usage), or check every node's hash chain for missing, altered, duplicated and\n"
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
        "report --usage (audit/README.md, \"Usage report\")\n"
        "  --usage          per caller (consumer, partner, or anonymous), the exchanges\n"
        "                   received in the period: requests, accepted, refused by a limit,\n"
        "                   refused otherwise, errors, request and response bytes, and the\n"
        "                   caller's plan; no FILTERS, --since or --until\n"
        "  --period PERIOD  a UTC calendar month (2026-12) or a UTC day (2026-12-05)\n"
        "  --format F       json (default; --json too) or csv (RFC 4180, a header line)\n"
        "verify\n"
        "  --json           the report as JSON\n"
        "\n"
        "Exit status: 0 done (verify: every chain is clean), 1 verify has findings, 2 usage,\n"
        "config or connection error.\n");
}

/* -X NAME=VALUE into c->xprops. */
static int
add_prop(struct au_cli *c, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *name;
    int rc;

    if (eq == NULL || eq == arg) {
        au_cli_fail("-X takes NAME=VALUE, not \"%s\"", arg);
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
    O_USAGE,
    O_PERIOD,
};

/* The options that belong to some subcommands only. */
static const struct {
    int opt;
    unsigned subs;
    const char *name;
} only[] = {
    {O_GROUP, AU_CLI_TAIL, "--group"},
    {'f', AU_CLI_TAIL, "--follow"},
    {O_FORMAT, AU_CLI_TAIL | AU_CLI_REPORT, "--format"},
    {O_USAGE, AU_CLI_REPORT, "--usage"},
    {O_PERIOD, AU_CLI_REPORT, "--period"},
    {O_SINCE, AU_CLI_TAIL | AU_CLI_REPORT, "--since"},
    {O_UNTIL, AU_CLI_REPORT, "--until"},
    {O_PARTNER, AU_CLI_TAIL | AU_CLI_REPORT, "--partner"},
    {O_ROUTE, AU_CLI_TAIL | AU_CLI_REPORT, "--route"},
    {O_STATUS, AU_CLI_TAIL | AU_CLI_REPORT, "--status"},
    {O_OUTCOME, AU_CLI_TAIL | AU_CLI_REPORT, "--outcome"},
    {O_JSON, AU_CLI_REPORT | AU_CLI_VERIFY, "--json"},
};

static const char *
sub_name(enum au_cli_sub s)
{
    return s == AU_CLI_TAIL ? "tail" : s == AU_CLI_REPORT ? "report" : "verify";
}

/* A time argument for --since or --until. */
static int
time_opt(const char *name, const char *arg, int64_t *ms)
{
    if (au_time_arg(arg, (int64_t)(gw_wall_us() / 1000), ms) == 0)
        return 0;
    au_cli_fail("%s \"%s\": not a time (2026-12-02T17:00:00Z) nor a duration (30s, 10m, 2h, 1d)",
                name, arg);
    return -1;
}

/* An option whose value must be checked. Returns 0, or -1 (reported). */
static int
checked_option(struct au_cli *c, int ch, const char *arg)
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
        au_cli_fail("--timeout takes seconds, 1 to 86400, not \"%s\"", arg);
        return -1;
    case O_STATUS:
        if (au_filter_status(&c->filter, arg) == 0)
            return 0;
        au_cli_fail("--status takes a status (404) or a class (1xx to 5xx), not \"%s\"", arg);
        return -1;
    case O_OUTCOME:
        if (strcmp(arg, "ok") == 0 || strcmp(arg, "refused") == 0 || strcmp(arg, "error") == 0) {
            c->filter.outcome = arg;
            return 0;
        }
        au_cli_fail("--outcome is ok, refused or error, not \"%s\"", arg);
        return -1;
    case O_PERIOD:
        if (au_period_parse(arg, &c->period_from_ms, &c->period_to_ms) == 0) {
            c->period = arg;
            return 0;
        }
        au_cli_fail("--period \"%s\": not a UTC month (2026-12) nor a UTC day (2026-12-05)", arg);
        return -1;
    default:
        au_cli_fail("option %d is not handled", ch); /* a longs[] entry without a case */
        return -1;
    }
}

/* One option. Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int
option(struct au_cli *c, int ch, const char *arg)
{
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
        if (only[i].opt == ch && !(only[i].subs & c->sub)) {
            au_cli_fail("%s is not an option of `audit %s`", only[i].name, sub_name(c->sub));
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
    case O_FORMAT:
        c->format = arg;
        return 0;
    case O_USAGE:
        c->usage = 1;
        return 0;
    case 'h':
        usage(stdout);
        return 1;
    default:
        return checked_option(c, ch, arg);
    }
}

/* tail's --format. Returns 0, or -1 (reported). */
static int
check_format(struct au_cli *c)
{
    if (c->format == NULL || strcmp(c->format, "json") == 0)
        return 0;
    if (strcmp(c->format, "table") == 0) {
        c->table = 1;
        return 0;
    }
    au_cli_fail("--format is json or table, not \"%s\"", c->format);
    return -1;
}

/* report's options that go with --usage, and those that do not. Returns 0, or -1 (reported). */
static int
check_report(struct au_cli *c)
{
    const struct au_filter *f = &c->filter;
    const char *other = f->partner                 ? "--partner"
                        : f->route                 ? "--route"
                        : f->outcome               ? "--outcome"
                        : f->status_max            ? "--status"
                        : f->since_ms != INT64_MIN ? "--since"
                        : f->until_ms != INT64_MAX ? "--until"
                                                   : NULL;

    if (!c->usage) {
        if (c->period != NULL || c->format != NULL) {
            au_cli_fail("%s goes with --usage", c->period != NULL ? "--period" : "--format");
            return -1;
        }
        return 0;
    }
    if (c->period == NULL) {
        au_cli_fail("--usage needs --period: a UTC month (2026-12) or a UTC day (2026-12-05)");
        return -1;
    }
    if (other != NULL) {
        au_cli_fail("--usage counts every exchange of the period: %s is not an option with it",
                    other);
        return -1;
    }
    if (c->format != NULL && strcmp(c->format, "csv") != 0 && strcmp(c->format, "json") != 0) {
        au_cli_fail("--format is csv or json with --usage, not \"%s\"", c->format);
        return -1;
    }
    c->csv = c->format != NULL && strcmp(c->format, "csv") == 0;
    if (c->csv && c->json) {
        au_cli_fail("--json and --format csv: one format");
        return -1;
    }
    return 0;
}

/* argv[0] is the subcommand. Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int
parse(int argc, char **argv, struct au_cli *c)
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
        {"usage", no_argument, NULL, O_USAGE},
        {"period", required_argument, NULL, O_PERIOD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc;

    optind = 1;
    opterr = 0; /* getopt would name the subcommand as the program */
    while ((ch = getopt_long(argc, argv, ":c:b:t:X:fh", longs, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            au_cli_fail("%s: %s (portico audit help)", argv[optind - 1],
                        ch == ':' ? "needs a value" : "unknown option");
            return -1;
        }
        if ((rc = option(c, ch, optarg)) != 0)
            return rc;
    }
    if (optind < argc) {
        au_cli_fail("unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (c->sub == AU_CLI_REPORT ? check_report(c) < 0 : check_format(c) < 0)
        return -1;
    if (c->group != NULL && c->filter.since_ms != INT64_MIN) {
        au_cli_fail("--group goes on from the group's offsets: it cannot start --since a time");
        return -1;
    }
    if (c->filter.since_ms != INT64_MIN && c->filter.until_ms != INT64_MAX &&
        c->filter.since_ms >= c->filter.until_ms) {
        au_cli_fail("--since must come before --until");
        return -1;
    }
    return 0;
}

int
au_cmd_audit(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "help";
    struct sigaction sa = {.sa_handler = on_signal};
    struct au_cli c = {.timeout_s = 10};
    int rc;

    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    c.sub = strcmp(sub, "tail") == 0     ? AU_CLI_TAIL
            : strcmp(sub, "report") == 0 ? AU_CLI_REPORT
            : strcmp(sub, "verify") == 0 ? AU_CLI_VERIFY
                                         : 0;
    if (c.sub == 0) {
        au_cli_fail("unknown subcommand \"%s\"\n", sub);
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
    if (au_cli_resolve(&c) < 0) {
        rc = 2;
        goto out;
    }
    /* no SA_RESTART: a signal ends the waits at once; librdkafka's threads may take it too */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* tail: a reader that goes away (`tail -f | head`) is a write error, not the end of the
     * process, so that the consumer still leaves its group (consume.c) */
    if (c.sub == AU_CLI_TAIL)
        signal(SIGPIPE, SIG_IGN);
    rc = c.sub == AU_CLI_TAIL     ? au_cli_tail(&c)
         : c.sub == AU_CLI_REPORT ? (c.usage ? au_cli_usage(&c) : au_cli_report(&c))
                                  : au_cli_verify(&c);

out:
    free(c.brokers);
    free(c.topic);
    json_decref(c.props);
    json_decref(c.xprops);
    return rc;
}
