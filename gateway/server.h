/* server.h: start the workers, serve until a signal, reload on SIGHUP.
 *
 * SIGTERM and SIGINT stop gracefully: listeners close, idle connections close, exchanges under way
 * finish (for at most GW_STOP_GRACE_MS), then the process exits 0. SIGHUP loads and validates the
 * configuration again; a valid one is swapped in for new connections, an invalid one is refused
 * with every problem logged and the old one keeps serving.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "snapshot.h"

#define GW_STOP_GRACE_MS 10000

/* Serve `snap` (the caller's reference is taken over). Returns the process exit code. */
int gw_server_run(const char *config_path, struct pt_snapshot *snap);

#endif
