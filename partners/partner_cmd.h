/* partner_cmd.h: `portico partner new | csr | expiry`, onboarding from the command line
 * (partners/partner_cmd.c). */
#ifndef PT_PARTNER_CMD_H
#define PT_PARTNER_CMD_H

/* Run the subcommand: argv[0] is "partner", argv[1] "new", "csr", "expiry" or "help". Results go
 * to standard output, errors (one line each, "portico partner SUB: ...") to standard error.
 * Returns the exit status: 0 done (expiry: nothing expires within the days asked), 1 refused or
 * failed (expiry: something expires within them, or could not be read), 2 a usage error. */
int pt_cmd_partner(int argc, char **argv);

#endif
