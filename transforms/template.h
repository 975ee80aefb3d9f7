/* template.h: string templates with exchange variables, compiled once at load.
 *
 * "${partner.id}/${request.id}" expands per exchange. Variables:
 *   ${partner.id} ${partner.name} ${partner.subject}   the identified partner ("" when none)
 *   ${request.id} ${request.method} ${request.path} ${request.query}
 *   ${route.name}
 *   ${header.NAME}          the first NAME field of the message being transformed ("" if absent)
 *   ${request.header.NAME}  the first NAME field of the request (also in the response phase)
 *   ${response.status}      the response status ("" in the request phase)
 * "$$" is a literal "$". Anything else after "$" is an error at load, with its column.
 */
#ifndef TF_TEMPLATE_H
#define TF_TEMPLATE_H

#include <stddef.h>

#include "transform.h"

struct tf_template;

/* Compile src. Returns the template (free with tf_template_free), or NULL with a message in err
 * ("unknown variable ${partner.foo} at column 3"). */
struct tf_template *tf_template_compile(const char *src, char *err, size_t errlen);

/* Does the template hold no variable (its expansion is always the same)? */
int tf_template_is_constant(const struct tf_template *t);

/* Expand for the message m of the exchange x. Returns a NUL-terminated string from x's arena,
 * with its length in *len (len may be NULL). */
char *tf_template_expand(const struct tf_template *t, struct tf_ctx *x, const struct tf_message *m,
                         size_t *len);

void tf_template_free(struct tf_template *t);

#endif
