/* audit_cmd.h: `portico audit tail | report | verify` (audit/audit_cmd.c). */
#ifndef AU_AUDIT_CMD_H
#define AU_AUDIT_CMD_H

/* Run the subcommand: argv[0] is "audit", argv[1] "tail", "report", "verify" or "help". Writes
 * results to standard output and errors, prefixed "portico: audit: ", to standard error. Returns
 * the exit status: 0 done (verify: the chains are clean), 1 verify found something, 2 a usage
 * error, an unreadable config, or brokers that could not be read. */
int au_cmd_audit(int argc, char **argv);

#endif
