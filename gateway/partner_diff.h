/* partner_diff.h: `portico partner diff -c FILE`: the partners and routes a reload of the files
 * would add, remove or change on the running node, asked through its admin API. (The other
 * `partner` subcommands work on files alone: partners/partner_cmd.h.) */
#ifndef GW_PARTNER_DIFF_H
#define GW_PARTNER_DIFF_H

/* argv[0] is "diff". Exit status: 0 nothing would change, 1 changes listed, 2 usage or trouble. */
int gw_cmd_partner_diff(int argc, char **argv);

#endif
