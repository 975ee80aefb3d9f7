/* diag.c: collected configuration problems (see diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gw_diag_add(struct gw_diag *d, enum gw_diag_level level, const char *file, int line, int col,
            const char *path, const char *fmt, ...)
{
    char msg[1024], where[1536];
    va_list ap;
    int off = 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    where[0] = '\0';
    if (file != NULL && line > 0)
        off = snprintf(where, sizeof where, "%s:%d:%d: ", file, line, col > 0 ? col : 1);
    else if (file != NULL)
        off = snprintf(where, sizeof where, "%s: ", file);
    if (path != NULL && path[0] != '\0' && off >= 0 && (size_t)off < sizeof where)
        snprintf(where + off, sizeof where - (size_t)off, "%s: ", path);

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct gw_diag_item *items = realloc(d->items, cap * sizeof *items);
        if (items == NULL)
            return;
        d->items = items;
        d->cap = cap;
    }
    size_t len = strlen(where) + strlen(msg) + 1;
    char *text = malloc(len);
    if (text == NULL)
        return;
    snprintf(text, len, "%s%s", where, msg);
    d->items[d->n].level = level;
    d->items[d->n].text = text;
    d->n++;
    if (level == GW_DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
}

void
gw_diag_print(const struct gw_diag *d, void *out)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf((FILE *)out, "%s: %s\n", d->items[i].level == GW_DIAG_ERROR ? "error" : "warning",
                d->items[i].text);
}

void
gw_diag_free(struct gw_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i].text);
    free(d->items);
    memset(d, 0, sizeof *d);
}
