/* kafka_dev_cmd.h: `portico kafka-dev` (audit/kafka_dev_cmd.c). */
#ifndef AU_KAFKA_DEV_CMD_H
#define AU_KAFKA_DEV_CMD_H

/* Run the subcommand with its arguments (argv[0] is "kafka-dev") until SIGTERM or SIGINT.
 * Returns the exit status: 0 after a signal to stop, 1 if the broker could not start, 2 on a
 * usage error. */
int au_cmd_kafka_dev(int argc, char **argv);

#endif
