/* snapshot_load.h: building the snapshot (partners/snapshot.h) from portico.json and the bundles.
 *
 * Order: the gateway config; every bundle folder of partners_dir, by name (dot-folders skipped);
 * the shared routes (which may name partners); the router over every route, shared ones first;
 * the TLS state; each https route's client context. Nothing half-built is ever returned: with any
 * error the whole snapshot is freed and NULL returned, every problem listed in the diag.
 */
#ifndef GW_SNAPSHOT_LOAD_H
#define GW_SNAPSHOT_LOAD_H

#include "diag.h"
#include "snapshot.h"

/* Load portico.json and every bundle under its partners_dir, validate everything, compile routes
 * and TLS contexts. Every problem goes to `d`. Returns a snapshot with one reference (release it
 * with pt_snapshot_unref), or NULL when there was any error (warnings alone do not fail). */
struct pt_snapshot *gw_snapshot_load(const char *config_path, struct gw_diag *d);

#endif
