/* access_log.h: the access log: one line per exchange when it finishes, in the habit of nginx's
 * combined log or as one JSON object, appended to a file (portico.json's "access_log").
 *
 * It is an observer of exchanges (connectors/exchange_t.h). Each worker writes its lines into a
 * buffer of its own and appends them to the file, whole lines only, with one write(2) when the
 * buffer holds GW_ACCESS_FLUSH_BYTES or a second after its first line, whichever comes first.
 * The file is opened O_APPEND: the workers' writes never mix within a line. Without
 * "access_log" nothing is registered, and an exchange pays nothing for it.
 *
 * gw_access_log_reopen() (SIGUSR1, logrotate's postrotate) opens the path again and puts the new
 * file on the descriptor the workers write to, with dup2(2): each write goes wholly to the old
 * file or wholly to the new one, with no lock and nothing for the workers to do. Lines a worker
 * still held go to the new file.
 */
#ifndef GW_ACCESS_LOG_H
#define GW_ACCESS_LOG_H

#include <stddef.h>

#include "exchange_t.h"
#include "json_loc.h"
#include "log.h"

struct event_base;

/* A worker writes its buffer out when it holds this much. */
#define GW_ACCESS_FLUSH_BYTES 8192

struct gw_access_log_conf { /* portico.json's "access_log" */
    int on;
    char *path;               /* resolved */
    enum gw_log_format format; /* text (nginx's combined, and more) or json */
};

/* Read the "access_log" section (NULL: off). Returns the number of errors reported. */
int gw_access_log_conf_load(const struct gw_jctx *c, const json_t *obj,
                            struct gw_access_log_conf *out);
void gw_access_log_conf_free(struct gw_access_log_conf *a);
int gw_access_log_conf_same(const struct gw_access_log_conf *a,
                            const struct gw_access_log_conf *b);

/* Open the file conf names, at start (nothing when it is off). 0, or -1 with a message in err. */
int gw_access_log_open(const struct gw_access_log_conf *conf, char *err, size_t errlen);
/* Register the access log on a worker's observers, its buffer's timer on the worker's loop
 * (nothing when it is off). 0, or -1. */
int gw_access_log_add(struct ex_observers *obs, struct event_base *base);
/* Open the path again onto the descriptor the workers write to (any thread, any time; nothing
 * when the access log is off). A failure is logged and the old file kept. */
void gw_access_log_reopen(void);
/* Close the file, once the workers' observers are freed (they write out what they held). */
void gw_access_log_close(void);

#endif
