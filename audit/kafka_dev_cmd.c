/* kafka_dev_cmd.c: `portico kafka-dev`, the development Kafka broker as a process.
 *
 *   portico kafka-dev [--addr-file FILE] [--topic NAME]... [--partitions N]
 *
 * Runs audit/dev_broker.c's mock broker until SIGTERM or SIGINT. SIGUSR1 takes the broker down and
 * SIGUSR2 brings it back up, so that tests can show the gateway riding out a Kafka outage. Each
 * event is one line on standard output, flushed, so that a test can wait for it.
 */
#include "kafka_dev_cmd.h"

#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev_broker.h"

#define MAX_TOPICS 64

struct opts {
    const char *addr_file;
    const char *topics[MAX_TOPICS + 1]; /* NULL-terminated */
    size_t ntopics;
    int partitions;
};

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: portico kafka-dev [--addr-file FILE] [--topic NAME]... [--partitions N]\n"
            "\n"
            "DEVELOPMENT ONLY: a Kafka broker that keeps everything in memory and loses it\n"
            "on exit (librdkafka's mock cluster, one broker on 127.0.0.1). Never point\n"
            "production at it.\n"
            "\n"
            "  --addr-file FILE   write the bootstrap address (127.0.0.1:PORT) to FILE,\n"
            "                     removed on exit\n"
            "  --topic NAME       create this topic (repeatable; default portico.audit);\n"
            "                     other topics are created on first use, 4 partitions each\n"
            "  --partitions N     partitions of each --topic (default 4)\n"
            "  -h, --help         this text\n"
            "\n"
            "Signals: SIGUSR1 takes the broker down (clients are disconnected, data is kept),\n"
            "SIGUSR2 brings it back up, SIGTERM or SIGINT stop it.\n");
}

/* Returns 0, 1 after --help, or -1 on a usage error (reported). */
static int
parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"addr-file", required_argument, NULL, 'a'},
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    long n;
    int ch;

    *o = (struct opts){.partitions = 4};
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 'a':
            o->addr_file = optarg;
            break;
        case 't':
            if (o->ntopics == MAX_TOPICS) {
                fprintf(stderr, "portico kafka-dev: %d topics at most\n", MAX_TOPICS);
                return -1;
            }
            o->topics[o->ntopics++] = optarg;
            break;
        case 'p':
            n = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || n < 1 || n > INT_MAX) {
                fprintf(stderr, "portico kafka-dev: --partitions takes a positive number\n");
                return -1;
            }
            o->partitions = (int)n;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "portico kafka-dev: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (o->ntopics == 0)
        o->topics[o->ntopics++] = "portico.audit";
    return 0;
}

int
au_cmd_kafka_dev(int argc, char **argv)
{
    struct au_dev_broker *b;
    struct opts o;
    char err[512];
    sigset_t set;
    int rc, sig;

    if ((rc = parse(argc, argv, &o)) != 0)
        return rc > 0 ? 0 : 2;
    /* Blocked before librdkafka starts its threads, which inherit the mask: the signals can then
     * only be taken by sigwait() below. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
        fprintf(stderr, "portico kafka-dev: pthread_sigmask: %s\n", strerror(rc));
        return 1;
    }
    if ((b = au_dev_broker_start(o.topics, o.partitions, o.addr_file, err, sizeof err)) == NULL) {
        fprintf(stderr, "portico: %s\n", err);
        return 1;
    }
    printf("kafka-dev: listening on %s (development only: data is kept in memory)\n",
           au_dev_broker_bootstraps(b));
    fflush(stdout);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (au_dev_broker_set_up(b, sig == SIGUSR2) != 0)
            fprintf(stderr, "portico kafka-dev: could not %s\n",
                    sig == SIGUSR2 ? "bring the broker up" : "take the broker down");
        else
            printf("kafka-dev: broker %s\n", sig == SIGUSR2 ? "up" : "down");
        fflush(stdout);
    }
    au_dev_broker_stop(b);
    printf("kafka-dev: stopped\n");
    fflush(stdout);
    return 0;
}
