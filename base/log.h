/* log.h: one log line per event, to stderr, with level, worker and (for exchanges) request id.
 *
 * The macro checks the level before the arguments are evaluated. Levels follow nginx's names so
 * that tests can fail on any "[alert]" or "[crit]" line (an internal error).
 *
 * A line says which worker wrote it and, while a worker works for a client connection or an
 * exchange, whose it is: the event callbacks of a connection, an exchange or a connector enter
 * its log context (nginx's log handler), so no message passes ids by hand:
 *   2026-11-26T23:40:00.123Z [info] w1 rid=4f3a9c0e12d4b7a1 partner=acme client=10.0.0.7: ...
 *
 * or, in the JSON format (portico.json's "log_format"), one object a line for a log collector:
 *   {"time":"2026-11-26T23:40:00.123Z","level":"info","worker":1,"request_id":"4f3a9c0e12d4b7a1",
 *    "partner":"acme","client":"10.0.0.7","message":"..."}
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stddef.h>
#include <stdint.h>

enum gw_log_level {
    GW_LOG_CRIT = 0, /* an internal error: a bug, or the process cannot go on */
    GW_LOG_ERROR,    /* an operation failed (config refused, upstream TLS error) */
    GW_LOG_WARN,     /* something a user should look at */
    GW_LOG_INFO,     /* start, stop, reload, listeners */
    GW_LOG_DEBUG,    /* per exchange */
};

extern int gw_log_level;

/* How a line is written: "text" (the default) or "json". */
enum gw_log_format {
    GW_LOG_TEXT = 0,
    GW_LOG_JSON,
};

/* The formats' names by value, NULL-terminated: the choices of portico.json's "log_format" (and
 * of the access log's "format"). */
extern const char *const gw_log_formats[];

/* The format of the lines written from now on, by any thread (a reload may change it). */
void gw_log_set_format(enum gw_log_format f);

/* Whose a line is: an exchange's or a client connection's (fields NULL or "" are left out). */
struct gw_log_ctx {
    const char *request_id;
    const char *partner;
    const char *client;
};

/* The worker this thread is (-1: not a worker), set once when it starts. */
extern _Thread_local int gw_log_worker;
/* The context the thread works in now, or NULL. */
extern _Thread_local const struct gw_log_ctx *gw_log_current;

/* Enter ctx (NULL: none); returns the context to restore when the callback returns. */
static inline const struct gw_log_ctx *
gw_log_enter(const struct gw_log_ctx *ctx)
{
    const struct gw_log_ctx *prev = gw_log_current;

    gw_log_current = ctx;
    return prev;
}

/* Run stmt in ctx, then back in the context before (an event callback's body). */
#define GW_LOG_IN(ctx, stmt)                                                                       \
    do {                                                                                           \
        const struct gw_log_ctx *gw_log_prev_ = gw_log_enter(ctx);                                 \
        stmt;                                                                                      \
        gw_log_enter(gw_log_prev_);                                                                \
    } while (0)

/* ctx goes away (its exchange or connection ends): no line may name it any more. */
static inline void
gw_log_forget(const struct gw_log_ctx *ctx)
{
    if (gw_log_current == ctx)
        gw_log_current = NULL;
}

#define gw_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((int)(level) <= gw_log_level)                                                          \
            gw_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

/* Write one line: "2026-11-26T23:40:00.123Z [level] <context>: message\n", or its JSON object
 * (one write(2), thread-safe); the context is the worker and the current gw_log_ctx, when there
 * are. */
void gw_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What one line says. */
struct gw_log_rec {
    uint64_t time_us;             /* UTC, µs since the epoch */
    int level;                    /* GW_LOG_* */
    int worker;                   /* -1: not a worker */
    const struct gw_log_ctx *ctx; /* NULL: none */
    const char *msg;
    size_t msg_len;
};

/* The line r makes in format f, '\n' included, into out[0..room) (room: GW_LOG_LINE_MAX): a
 * message too long for it is cut (in JSON, at a whole character, the object still closed).
 * Returns its length. */
#define GW_LOG_LINE_MAX 4096
size_t gw_log_format_line(char *out, size_t room, enum gw_log_format f, const struct gw_log_rec *r);

/* Parse "crit", "error", "warn", "info", "debug". Returns the level or -1. */
int gw_log_level_from(const char *name);

#endif
