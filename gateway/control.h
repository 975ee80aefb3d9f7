/* control.h: the main thread's part once the workers run: it waits for what may change the node
 * (signals, the configuration watch, the admin API's POST /reload), reloads, tells the workers,
 * and writes an audit event (kind "admin") for every reload, taken or refused.
 *
 * One thread does every reload, so two never race: the admin thread hands its request over
 * (gw_control_reload) and waits for the answer.
 */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "snapshot.h"

struct au_log;
struct gw_worker;

struct gw_control {
    const char *config_path;
    struct gw_worker *workers;
    int n;
    struct pt_snapshot *snap;        /* served now (the control's reference) */
    struct au_log *audit;            /* NULL: audit off */
    struct ex_observers *delivery_obs;
};

/* Who asks for a reload through the admin API. */
struct gw_admin_caller {
    const char *who;                 /* the admin identity's name, or "loopback" */
    const char *addr;
    int port;
    const struct ex_cert *cert;      /* NULL: no client certificate */
    uint64_t received_us;
};

/* What a reload did. */
struct gw_reload_result {
    int accepted;
    int changed;                     /* 0: the files give the configuration already served */
    char before[17], after[17];      /* versions ("" after when refused) */
    char **problems;                 /* as `portico check` prints them, when refused */
    size_t nproblems;
};

void gw_reload_result_free(struct gw_reload_result *r);

/* Serve until SIGINT or SIGTERM (returns the signal). */
int gw_control_run(struct gw_control *c);

/* The node stops (or never started its loop): reloads asked for from now on are refused. */
void gw_control_close(void);

/* From the admin thread: reload now, on the main thread, and wait for the result (a request
 * made before the loop started waits for it). 0, or -1 when the node is stopping. */
int gw_control_reload(const struct gw_admin_caller *caller, struct gw_reload_result *out);

#endif
