/* diag.h: the list of problems found while loading configuration.
 *
 * Every loader reports into one gw_diag so that `portico check` and a refused start (or reload)
 * can print every problem at once, each as "error: file:line:column: json.path: message" (or
 * "warning: ..."): every line says its level, as nginx -t's and haproxy -c's do.
 */
#ifndef GW_DIAG_H
#define GW_DIAG_H

#include <stddef.h>

enum gw_diag_level { GW_DIAG_WARNING, GW_DIAG_ERROR };

struct gw_diag_item {
    enum gw_diag_level level;
    char *text; /* "file:line:column: path: message", owned by the list */
};

struct gw_diag {
    struct gw_diag_item *items;
    size_t n, cap;
    size_t errors, warnings;
};

/* Append one problem. file may be NULL (then the prefix is omitted), line/col 0 when unknown
 * (then printed as "file: "), path NULL or "" when the problem is about the file as a whole. */
void gw_diag_add(struct gw_diag *d, enum gw_diag_level level, const char *file, int line, int col,
                 const char *path, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Print every item to `out`, one per line: errors as "error: TEXT", warnings as "warning: TEXT"
 * (the format README.md and partners/README.md show; tests/integration/cases_check.py holds the
 * two to each other). */
void gw_diag_print(const struct gw_diag *d, void *out /* FILE * */);

void gw_diag_free(struct gw_diag *d);

#endif
