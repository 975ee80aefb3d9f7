/* server.h: start the workers, serve until a signal, reload on SIGHUP.
 *
 * SIGTERM and SIGINT stop gracefully: listeners close, idle connections close, exchanges under way
 * finish (for at most GW_STOP_GRACE_MS), then the process exits 0. SIGHUP loads and validates the
 * configuration again; a valid one is swapped in for new connections, an invalid one is refused
 * with every problem logged and the old one keeps serving.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "config.h"
#include "snapshot.h"

#define GW_STOP_GRACE_MS 10000
/* After the workers: how long a stop waits for Kafka to take what the audit log holds (the rest
 * stays in the log for the next start). */
#define GW_AUDIT_FLUSH_MS 5000

/* Serve `snap` (the caller's reference is taken over). Returns the process exit code. */
int gw_server_run(const char *config_path, struct pt_snapshot *snap);

#endif
