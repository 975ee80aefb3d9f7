/* json_loc.h: where each value of a JSON document is, and a reading context for config loaders.
 *
 * jansson reports a line and column only for syntax errors. A config error must also say where
 * the offending value is, so gw_jsonloc scans the (already valid) text once and records, for every
 * value, its JSON path ("routes[0].upstream", "identity.fingerprints[1]") with the line and column
 * where its member key starts (for an array element: where the element starts; for the root: where
 * the document starts). Lines and columns are 1-based, columns counted in bytes.
 *
 * struct gw_jctx bundles what every message needs (file name, positions, the diag list) so that the
 * gateway config and the partner bundles report problems the same way:
 * "file:line:column: path: message".
 */
#ifndef GW_JSON_LOC_H
#define GW_JSON_LOC_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "diag.h"

struct gw_jsonloc;

/* Scan text[0..len) (valid JSON, as jansson accepted it) and record every value's position.
 * Returns NULL on allocation failure or text that is not valid JSON. Free with gw_jsonloc_free. */
struct gw_jsonloc *gw_jsonloc_build(const char *text, size_t len);

/* Position of the value at `path` ("" is the root). When the path is absent, the nearest recorded
 * parent answers ("routes[2].path" missing: where routes[2] starts). *line and *col are 0 when
 * nothing is known (loc NULL or empty). */
void gw_jsonloc_find(const struct gw_jsonloc *loc, const char *path, int *line, int *col);

void gw_jsonloc_free(struct gw_jsonloc *loc);

/* Longest JSON path the helpers build; a longer one is truncated (only messages would suffer). */
#define GW_JPATH_MAX 512

/* "parent.key" (or "key" when parent is ""), written to out (which may be parent); returns out. */
char *gw_jpath_key(char *out, size_t outlen, const char *parent, const char *key);
/* "parent[i]", written to out (which may be parent); returns out. */
char *gw_jpath_index(char *out, size_t outlen, const char *parent, size_t i);

/* A reading context: one document being loaded. */
struct gw_jctx {
    const char *file;            /* the file name as printed in messages */
    const char *dir;             /* base for relative file names found in the document */
    const struct gw_jsonloc *loc;
    struct gw_diag *d;
    EVP_MD_CTX *md;              /* when not NULL, every file read is hashed into it */
};

/* One loaded document: the reading context plus what it owns. */
struct gw_jdoc {
    struct gw_jctx ctx;
    char *file;                  /* owned copies of ctx.file and ctx.dir */
    char *dir;
    struct gw_jsonloc *loc;
    json_t *root;
};

/* Read `file`, parse it (duplicate keys refused) and index the positions. dir is the base for the
 * relative paths the document names (NULL: the file's own folder). The bytes are hashed into md
 * when it is not NULL. Syntax errors and unreadable files go to d. Returns 0 with doc filled, or -1
 * (doc is then empty; gw_jdoc_free is still safe). A root that is not an object is an error. */
int gw_jdoc_load(struct gw_jdoc *doc, const char *file, const char *dir, struct gw_diag *d,
                 EVP_MD_CTX *md);
void gw_jdoc_free(struct gw_jdoc *doc);

/* Report a problem of `level` at `path`, located through c->loc. gw_jctx_error and
 * gw_jctx_warning say the level. */
void gw_jctx_report(const struct gw_jctx *c, enum gw_diag_level level, const char *path,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define gw_jctx_error(c, path, ...) gw_jctx_report(c, GW_DIAG_ERROR, path, __VA_ARGS__)
#define gw_jctx_warning(c, path, ...) gw_jctx_report(c, GW_DIAG_WARNING, path, __VA_ARGS__)

/* "a string", "an object", ... for messages. */
const char *gw_json_type_name(const json_t *v);

/* Report every key of obj (at path) that is not in allowed (NULL-terminated), each at its own
 * position, listing the allowed ones. Returns the number of unknown keys. */
int gw_jctx_check_keys(const struct gw_jctx *c, const json_t *obj, const char *path,
                       const char *const *allowed);

/* Member `key` of obj (at path) when it has the JSON type `type` (JSON_INTEGER accepts integers
 * only; JSON_TRUE stands for either boolean). Reports a wrong type, and a missing key when
 * required. Returns the borrowed value, or NULL when absent or wrong. */
json_t *gw_jctx_get(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
                    json_type type, int required);

/* A string member that must not be empty. Returns it (borrowed) or NULL (absent or reported). */
const char *gw_jctx_string(const struct gw_jctx *c, const json_t *obj, const char *path,
                           const char *key, int required);

/* An integer member within [min, max]. Returns 1 with *out set, 0 when absent (*out untouched),
 * -1 when reported (wrong type or out of range). */
int gw_jctx_int(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
                long long min, long long max, long long *out);

/* A boolean member. Returns 1 with *out set, 0 when absent, -1 when reported. */
int gw_jctx_bool(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
                 int *out);

/* A member that is a non-empty string, or (when allow_single is 0: only) a non-empty array of
 * non-empty strings. Every bad element is reported. Returns the borrowed value (string or array)
 * when all of it is good, else NULL. Walk it with gw_jlist_size / gw_jlist_at. */
json_t *gw_jctx_string_list(const struct gw_jctx *c, const json_t *obj, const char *path,
                            const char *key, int allow_single, int required);
size_t gw_jlist_size(const json_t *list);
/* A member that is an object of strings (what: what each value is, for the message: "a librdkafka
 * property"). Every other value is reported. Returns the borrowed object when all of it is good
 * (NULL: absent, or reported). */
json_t *gw_jctx_string_map(const struct gw_jctx *c, const json_t *obj, const char *path,
                           const char *key, const char *what);
/* Element i of a list from gw_jctx_string_list, with its path ("path" for a single string,
 * "path[i]" for an array element) written to ipath. */
const char *gw_jlist_at(const json_t *list, size_t i, const char *path, char *ipath, size_t ilen);

/* "dir/name", or name when it is absolute or dir is NULL, "" or ".". Returns a malloc'd string. */
char *gw_path_join(const char *dir, const char *name);

/* Read a whole file (at most 16 MiB) into a malloc'd, NUL-terminated *buf of *len
 * bytes. Returns 0, or -1 with errno set. Reports nothing: for callers with their own messages. */
int gw_read_file(const char *file, char **buf, size_t *len);

/* Read the file the document names at `path` (name relative to c->dir), hashing it into c->md.
 * Returns 0 with a malloc'd, NUL-terminated *buf (len bytes) and, when resolved is not NULL, the
 * malloc'd resolved path; or -1 after reporting (e.g. "cannot read ca.pem: No such file"). */
int gw_jctx_read_file(const struct gw_jctx *c, const char *path, const char *name, char **buf,
                      size_t *len, char **resolved);

/* Every certificate in the PEM file (first one first), or NULL after reporting that the file
 * cannot be read or holds no certificate. *resolved (optional) gets the malloc'd path. */
STACK_OF(X509) *gw_jctx_load_certs(const struct gw_jctx *c, const char *path, const char *name,
                                   char **resolved);

/* The (unencrypted) private key in the PEM file, or NULL after reporting. */
EVP_PKEY *gw_jctx_load_key(const struct gw_jctx *c, const char *path, const char *name,
                           char **resolved);

/* Report a certificate that has expired (error), is not valid yet or expires within 30 days
 * (warning). `what` names it in the message (e.g. the file). Returns -1 if expired, else 0. */
int gw_jctx_check_validity(const struct gw_jctx *c, const char *path, X509 *x, const char *what);

/* A name as an RFC 2253 string into buf ("?" when it cannot be printed); returns buf. */
const char *gw_x509_name(const X509_NAME *name, char *buf, size_t len);
/* The subject of x, the same way. */
const char *gw_x509_subject(X509 *x, char *buf, size_t len);

/* "2031-02-03 04:05:06 UTC" into buf ("?" when it cannot be read). */
void gw_asn1_time_str(const ASN1_TIME *t, char *buf, size_t len);

#endif
