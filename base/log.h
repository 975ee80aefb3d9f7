/* log.h: one log line per event, to stderr, with level, worker and (for exchanges) request id.
 *
 * The macro checks the level before the arguments are evaluated. Levels follow nginx's names so
 * that tests can fail on any "[alert]" or "[crit]" line (an internal error).
 */
#ifndef GW_LOG_H
#define GW_LOG_H

enum gw_log_level {
    GW_LOG_CRIT = 0, /* an internal error: a bug, or the process cannot go on */
    GW_LOG_ERROR,    /* an operation failed (config refused, upstream TLS error) */
    GW_LOG_WARN,     /* something a user should look at */
    GW_LOG_INFO,     /* start, stop, reload, listeners */
    GW_LOG_DEBUG,    /* per exchange */
};

extern int gw_log_level;

#define gw_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((int)(level) <= gw_log_level)                                                          \
            gw_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

/* Write one line: "2026-11-26T23:40:00.123Z [level] message\n" (one write(2), thread-safe). */
void gw_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "crit", "error", "warn", "info", "debug". Returns the level or -1. */
int gw_log_level_from(const char *name);

#endif
