/* audit_cli.h: what the three files of `portico audit tail | report | verify` share, and nothing
 * else includes: audit_cmd.c reads the command line and runs the subcommand, audit_cmd_conf.c finds
 * the topic (brokers, name, librdkafka properties: the options over portico.json), audit_cmd_run.c
 * reads it for tail, report (and report --usage) and verify.
 */
#ifndef AU_AUDIT_CLI_H
#define AU_AUDIT_CLI_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "consume.h"
#include "report.h" /* struct au_filter */

enum au_cli_sub { AU_CLI_TAIL = 1, AU_CLI_REPORT = 2, AU_CLI_VERIFY = 4 };

/* The command line, then what it resolves to. */
struct au_cli {
    enum au_cli_sub sub;
    const char *config, *brokers_arg, *topic_arg, *group;
    json_t *xprops; /* -X, an object of strings */
    int timeout_s, follow, table, json;
    int64_t since_ms;
    struct au_filter filter;
    const char *format;          /* --format as given (checked once every option is read) */
    /* report --usage: the period's usage per caller (usage.h), as CSV or JSON */
    int usage, csv;
    const char *period;          /* as given: "2026-12" or "2026-12-05" */
    int64_t period_from_ms, period_to_ms;
    /* resolved (au_cli_resolve), freed by au_cmd_audit */
    char *brokers, *topic;
    json_t *props;
};

/* Set by SIGINT and SIGTERM: the reading ends at the next wait. */
extern volatile sig_atomic_t au_cli_stop;

/* "portico: audit: " and the message, on standard error. */
void au_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Brokers, topic and properties from the options over the config's "audit" section, into c.
 * Returns 0, or -1 (reported). */
int au_cli_resolve(struct au_cli *c);

/* The subcommands, once resolved. Each returns the exit status (audit_cmd.h). */
int au_cli_tail(struct au_cli *c);
int au_cli_report(struct au_cli *c);
int au_cli_usage(struct au_cli *c);
int au_cli_verify(struct au_cli *c);

#endif
