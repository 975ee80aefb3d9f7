/* log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int gw_log_level = GW_LOG_INFO;
_Thread_local int gw_log_worker = -1;
_Thread_local const struct gw_log_ctx *gw_log_current;

static const char *const level_names[] = {"crit", "error", "warn", "info", "debug"};

/* "w1 rid=... partner=... client=...: " as far as known, into out (room: 300 bytes at least);
 * returns its length. */
static size_t
context(char *out, size_t room)
{
    const struct gw_log_ctx *c = gw_log_current;
    int n = 0;

    if (gw_log_worker >= 0)
        n += snprintf(out, room, "w%d ", gw_log_worker);
    if (c != NULL && c->request_id != NULL && c->request_id[0] != '\0')
        n += snprintf(out + n, room - (size_t)n, "rid=%.128s ", c->request_id);
    if (c != NULL && c->partner != NULL)
        n += snprintf(out + n, room - (size_t)n, "partner=%.64s ", c->partner);
    if (c != NULL && c->client != NULL && c->client[0] != '\0')
        n += snprintf(out + n, room - (size_t)n, "client=%.46s ", c->client);
    if (n == 0)
        return 0;
    out[n - 1] = ':'; /* "w1 rid=x " -> "w1 rid=x: " */
    out[n++] = ' ';
    return (size_t)n;
}

void
gw_log_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    size_t n;
    int r;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof line - n, ".%03dZ [%s] ", (int)(tv.tv_usec / 1000),
                 level_names[level < 0 ? 0 : level > GW_LOG_DEBUG ? GW_LOG_DEBUG : level]);
    n += (size_t)r;
    n += context(line + n, sizeof line - n);
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (r < 0)
        r = 0;
    n += (size_t)r < sizeof line - n - 1 ? (size_t)r : sizeof line - n - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}

int
gw_log_level_from(const char *name)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}
