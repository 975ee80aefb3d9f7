/* transform_cmd.h: `portico transform` (gateway/transform_cmd.c). */
#ifndef GW_TRANSFORM_CMD_H
#define GW_TRANSFORM_CMD_H

/* Run the subcommand with its arguments (argv[0] is "transform"). Returns the exit status. */
int gw_cmd_transform(int argc, char **argv);

#endif
