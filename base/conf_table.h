/* conf_table.h: config keys read through tables, one row per key (Redis's standardConfig).
 *
 * A section of a config document (an object: "limits", "timeouts", "audit", a listener's "tls")
 * is described by a table of rows: each says the key's name, its type, where its value goes in
 * the struct being filled, its bounds and its default. One routine reads any such section: it
 * applies the defaults, reports every unknown key (listing the table's names, in the table's
 * order), then reads each row in order, reporting a wrong type, a missing required key, a number
 * out of range or a name that is not a choice through the reading context (json_loc.h), so that
 * every message says "file:line:column: json.path: ...".
 *
 * Keys that are not plain settings (objects, lists, files to load) still have a row, of type
 * GW_CONF_OTHER, so that they count as known; the row's read callback reads them in their turn,
 * or, without one, the caller reads them after the table.
 *
 * The reader knows nothing of what it fills: rows are built with the GW_KEY_* macros below from
 * the struct's type and field, which also record the field's size (a number is stored as an int
 * or a 64-bit integer, as the field is).
 */
#ifndef GW_CONF_TABLE_H
#define GW_CONF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "json_loc.h"

enum gw_conf_type {
    GW_CONF_INT,    /* an integer within [min, max]: int, size_t, uint64_t, an enum (ms, bytes) */
    GW_CONF_BOOL,   /* true or false, stored as an int 1 or 0 */
    GW_CONF_STRING, /* a non-empty string, stored as a malloc'd char * (may be NULL) */
    GW_CONF_PATH,   /* a file or folder name, stored resolved against the document's folder */
    GW_CONF_CHOICE, /* one of the names in choices, stored as its index (an int or an enum) */
    GW_CONF_OTHER,  /* known, read by the row's callback or by the caller */
};

/* Row flags. */
#define GW_CONF_REQUIRED 0x1 /* a missing key is an error (the default still applies) */
#define GW_CONF_KEEP 0x2     /* no default: the field keeps what the caller put there */
#define GW_CONF_EMPTY_OK 0x4 /* STRING, CHOICE: "" is a value to check, not an error */

struct gw_conf_key;

/* A GW_CONF_OTHER row's reader: key->name of obj (the section, at path) into base. It is called
 * whether the key is there or not (it may be a required one). */
typedef void gw_conf_read_fn(const struct gw_jctx *c, const json_t *obj, const char *path,
                             const struct gw_conf_key *key, void *base);

/* A STRING row's check: 0 when value is good, else -1 with the message in err. */
typedef int gw_conf_check_fn(const char *value, char *err, size_t errlen);

struct gw_conf_key {
    const char *name;           /* the JSON key; NULL ends a table */
    enum gw_conf_type type;     /* what the value is and how it is stored */
    size_t off, size;           /* the field: offset in the struct and size */
    long long min, max;         /* INT: the accepted range */
    long long dflt;             /* INT, BOOL, CHOICE (an index): the default */
    const char *dflt_str;       /* STRING, PATH: the default (copied), NULL for none */
    const char *const *choices; /* CHOICE: the names by value, NULL-terminated */
    const char *what;           /* CHOICE: what the message says a bad name is not ("a policy
                                 * (reject or drop)"); NULL: "one of a, b, c" */
    gw_conf_check_fn *check;    /* STRING: optional check of the value */
    gw_conf_read_fn *read;      /* OTHER: optional reader */
    int flags;                  /* GW_CONF_REQUIRED, GW_CONF_KEEP, GW_CONF_EMPTY_OK */
};

/* The row that ends a table. Designated, so that no compiler takes it for a row left half
 * written (clang's -Wmissing-field-initializers). */
#define GW_KEY_END { .name = NULL }

/* Where a field is: for the GW_KEY_* macros and for rows written out by hand. */
#define GW_CONF_AT(st, field) .off = offsetof(st, field), .size = sizeof(((st *)0)->field)

/* Row contents named after the field (the JSON key is the field's name), to write between
 * braces, followed by more members where needed: { GW_KEY_INT(...), .flags = GW_CONF_KEEP }. */
#define GW_KEY_INT(st, field, lo, hi, def)                                                         \
    .name = #field, .type = GW_CONF_INT, GW_CONF_AT(st, field), .min = (lo), .max = (hi),          \
    .dflt = (def)
#define GW_KEY_BOOL(st, field, def)                                                                \
    .name = #field, .type = GW_CONF_BOOL, GW_CONF_AT(st, field), .dflt = (def)
#define GW_KEY_STRING(st, field, def)                                                              \
    .name = #field, .type = GW_CONF_STRING, GW_CONF_AT(st, field), .dflt_str = (def)
#define GW_KEY_PATH(st, field, def)                                                                \
    .name = #field, .type = GW_CONF_PATH, GW_CONF_AT(st, field), .dflt_str = (def)
#define GW_KEY_CHOICE(st, field, names, def)                                                       \
    .name = #field, .type = GW_CONF_CHOICE, GW_CONF_AT(st, field), .choices = (names), .dflt = (def)
#define GW_KEY_OTHER(key, fn) .name = (key), .type = GW_CONF_OTHER, .read = (fn)

/* Apply every row's default to base (rows flagged GW_CONF_KEEP and OTHER rows are left alone). A
 * STRING or PATH field gets a malloc'd copy of its default, or NULL (the field is overwritten, not
 * freed: call this on a zeroed struct). PATH defaults are resolved against dir. */
void gw_conf_defaults(const struct gw_conf_key *table, const char *dir, void *base);

/* Read the section obj (at path) into base through table: defaults first (gw_conf_defaults), then,
 * when obj is not NULL, every key that is not in the table reported, then each row in table order.
 * A value that is reported leaves the default in place. When set is not NULL, bit i of *set tells
 * that row i was given and accepted (at most 64 rows). Returns the number of errors reported. */
int gw_conf_read(const struct gw_jctx *c, const json_t *obj, const char *path,
                 const struct gw_conf_key *table, void *base, uint64_t *set);

/* Read one row: 1 when the key was given and stored, 0 when absent (a required one reported), -1
 * when reported. No default is applied. */
int gw_conf_read_key(const struct gw_jctx *c, const json_t *obj, const char *path,
                     const struct gw_conf_key *key, void *base);

/* Element i of the array arr (at path), its path written to ipath (GW_JPATH_MAX bytes): the element
 * when it is an object, else NULL after reporting "expected an object, got ...". For the lists of
 * sections (listeners, routes, certificates). */
json_t *gw_conf_object_at(const struct gw_jctx *c, const json_t *arr, const char *path, size_t i,
                          char *ipath);

#endif
