/* main.c: the `portico` command line. One binary, subcommands in the habit of `nginx -t`. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libxml/parser.h>
#include <openssl/ssl.h>

#include "audit_cmd.h"
#include "consumer_cmd.h"
#include "kafka_dev_cmd.h"
#include "partner_diff.h"
#include "log.h"
#include "partner_cmd.h"
#include "server.h"
#include "snapshot.h"
#include "snapshot_load.h"
#include "transform_cmd.h"
#include "xml_alloc.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: portico <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve -c FILE [--log-level LEVEL]   run the gateway with this configuration\n"
            "  check -c FILE                       validate the configuration and every partner\n"
            "                                      bundle; exit 0, or 1 with every problem listed\n"
            "  transform [-c FILE] [--partner ID] --route NAME [--phase request|response]\n"
            "            [--content-type TYPE] [-H 'Name: value']... [-R 'Name: value']...\n"
            "            [--status N] [-i] [FILE]\n"
            "                                      run the route's transform chain on FILE (or\n"
            "                                      standard input) and print the result\n"
            "  partner new|csr|expiry|diff [options]\n"
            "                                      onboard a partner: scaffold its bundle, make our\n"
            "                                      outbound key and CSR, list certificates by\n"
            "                                      expiry, show what a reload would change on the\n"
            "                                      running node (portico partner help)\n"
            "  consumer new|key|revoke [options]   the public use: a consumer of consumers_dir\n"
            "                                      and its API keys, each shown once (portico\n"
            "                                      consumer help)\n"
            "  audit tail|report|verify [options]  read the audit topic (portico audit help)\n"
            "  kafka-dev [options]                 a Kafka broker for development and tests only\n"
            "                                      (in memory; portico kafka-dev --help)\n"
            "  version                             print the version\n"
            "  help                                this text\n"
            "\n"
            "LEVEL is crit, error, warn, info (default) or debug. Signals to `serve`: SIGHUP reloads\n"
            "the configuration (refused as a whole if anything is wrong), SIGUSR1 opens the access\n"
            "log again (after logrotate moved it), SIGTERM or SIGINT stop gracefully.\n");
}

/* Parse -c FILE and --log-level for serve and check. Returns the config path or NULL. */
static const char *
parse_options(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'l':
            gw_log_level = gw_log_level_from(optarg);
            if (gw_log_level < 0) {
                fprintf(stderr, "portico: unknown log level \"%s\"\n", optarg);
                return NULL;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return NULL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "portico: unexpected argument \"%s\"\n", argv[optind]);
        return NULL;
    }
    if (config == NULL)
        fprintf(stderr, "portico: -c FILE is required\n");
    return config;
}

/* Load and validate the configuration, printing its problems. serving (`serve`): no "ok" line,
 * and the process's log lines in the format it says from now on, its warnings among them. */
static struct pt_snapshot *
load(const char *config, int serving)
{
    struct gw_diag d = {0};
    struct pt_snapshot *s = gw_snapshot_load(config, &d);

    if (s != NULL && serving)
        gw_log_set_format(s->config->log_format);
    if (s != NULL && serving && s->config->log_format == GW_LOG_JSON) {
        for (size_t i = 0; i < d.n; i++) /* (a configuration that loads has warnings only) */
            gw_log(GW_LOG_WARN, "%s", d.items[i].text);
    } else {
        gw_diag_print(&d, stderr);
    }
    if (s == NULL)
        fprintf(stderr, "portico: %s: %zu error%s, %zu warning%s\n", config, d.errors,
                d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
    else if (!serving)
        printf("portico: %s: ok (%zu partner%s, %zu route%s, %zu warning%s)\n", config,
               s->npartners, s->npartners == 1 ? "" : "s", s->nroutes, s->nroutes == 1 ? "" : "s",
               d.warnings, d.warnings == 1 ? "" : "s");
    gw_diag_free(&d);
    return s;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";
    const char *config;
    struct pt_snapshot *s;

    tf_xml_alloc_init(); /* libxml2's allocator (xml_alloc.h), before its first allocation */
    xmlInitParser(); /* libxml2's global state, once, before any worker or loader thread */
    /* a peer that closes (a TLS handshake the admin listener refuses to partner diff, a broker
     * going away) is an error to report, never a signal that kills the command */
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("portico %s (%s, libevent %s)\n", PORTICO_VERSION,
               OpenSSL_version(OPENSSL_VERSION), event_get_version());
        return 0;
    }
    if (strcmp(cmd, "check") == 0) {
        if ((config = parse_options(argc - 1, argv + 1)) == NULL)
            return 2;
        s = load(config, 0);
        pt_snapshot_unref(s);
        return s != NULL ? 0 : 1;
    }
    if (strcmp(cmd, "serve") == 0) {
        if ((config = parse_options(argc - 1, argv + 1)) == NULL)
            return 2;
        s = load(config, 1);
        if (s == NULL)
            return 1;
        return gw_server_run(config, s);
    }
    if (strcmp(cmd, "transform") == 0)
        return gw_cmd_transform(argc - 1, argv + 1);
    if (strcmp(cmd, "partner") == 0 && argc > 2 && strcmp(argv[2], "diff") == 0)
        return gw_cmd_partner_diff(argc - 2, argv + 2);
    if (strcmp(cmd, "partner") == 0)
        return pt_cmd_partner(argc - 1, argv + 1);
    if (strcmp(cmd, "consumer") == 0)
        return gw_cmd_consumer(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0)
        return au_cmd_audit(argc - 1, argv + 1);
    if (strcmp(cmd, "kafka-dev") == 0)
        return au_cmd_kafka_dev(argc - 1, argv + 1);
    fprintf(stderr, "portico: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
