/* json_schema.h: a documented subset of JSON Schema, compiled once and checked many times.
 *
 * Keywords (draft 2020-12 meaning where drafts differ):
 *   type (a name or an array of names: null, boolean, object, array, number, string, integer;
 *   "integer" also takes a number with no fraction, 1.0), properties, required,
 *   additionalProperties (true, false or a schema), items (one schema for every element),
 *   minItems, maxItems, enum, const (numbers compare by value: 1 equals 1.0), minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum (numbers, draft 6 and later), minLength, maxLength (in
 *   Unicode code points), pattern (POSIX extended regular expression, see below), $ref to a place
 *   in the same document ("#", "#/$defs/name", "#/definitions/name", any JSON pointer after "#"),
 *   $defs and definitions (schemas to refer to), and the schemas true and false.
 *   Sibling keywords of $ref apply too (as in 2019-09 and later).
 * Annotations are accepted and ignored: $schema, $id, $comment, title, description, default,
 * examples, deprecated, readOnly, writeOnly. Any other keyword (format, allOf, oneOf, ...) is an
 * error at load: a schema never silently checks less than it says.
 *
 * pattern: glibc's regcomp (REG_EXTENDED), searched anywhere in the string like ECMA-262 does
 * unless anchored with ^ and $. Outside brackets \d and \D are read as [0-9] and [^0-9], and
 * glibc's \w \W \s \S work; a backslash inside brackets is refused (ERE reads it literally, ECMA
 * as an escape: rather an error than a different meaning). Matching is on the UTF-8 bytes.
 *
 * The module is pure: no transform or gateway state; thread-safe for checking once compiled.
 */
#ifndef TF_JSON_SCHEMA_H
#define TF_JSON_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

struct tf_jschema;
struct jv;

/* Called for each problem found in a schema: path is where, as a config path relative to the
 * schema's root ("" the root itself, "properties.qty.minimum", "required[2]"). */
typedef void (*tf_jschema_report_fn)(void *arg, const char *path, const char *msg);

/* Compile schema (copied: the caller keeps its reference). Returns the compiled schema, or NULL
 * after reporting every problem through report. */
struct tf_jschema *tf_jschema_compile(const json_t *schema, tf_jschema_report_fn report,
                                      void *arg);

/* Check the document v (json_tree.h: a body as the transform chain holds it). Appends the first
 * `max` errors to `errors` (a JSON array), each {"path": "/items/0/qty", "message": "must be at
 * least 1"} with path a JSON pointer into v. Returns the number of errors found (0: valid),
 * which may exceed max. A number is an integer when its literal has no '.', 'e' or 'E'. */
size_t tf_jschema_check(const struct tf_jschema *s, const struct jv *v, json_t *errors,
                        size_t max);

void tf_jschema_free(struct tf_jschema *s);

#endif
