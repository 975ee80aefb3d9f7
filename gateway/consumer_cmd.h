/* consumer_cmd.h: `portico consumer new | key | revoke`, the consumers of consumers_dir (one
 * <id>.json each, partners/consumer.h) and their API keys, from the command line.
 *
 * A key is printed once, when it is made, and kept nowhere: the file holds its HMAC-SHA-256
 * under api_keys.secret_file's secret, read as the gateway reads it (pt_key_secret_load). Files
 * are rewritten whole through a temporary file renamed into place, so a reload never reads half
 * of one. The gateway sees a change at its next reload. */
#ifndef GW_CONSUMER_CMD_H
#define GW_CONSUMER_CMD_H

/* argv[0] is "consumer", argv[1] "new", "key", "revoke" or "help". Results go to standard output
 * (a new key on a line of its own), errors to standard error ("portico consumer SUB: ...").
 * Returns the exit status: 0 done, 1 refused or failed, 2 a usage error. */
int gw_cmd_consumer(int argc, char **argv);

#endif
