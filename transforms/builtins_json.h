/* builtins_json.h: the built-in transforms that edit headers and JSON bodies, and validate bodies.
 *
 *   headers    add, set, append, remove, rename header fields (values from templates)
 *   json_map   declarative mapping between JSON shapes (copy, move, rename, delete, set, default)
 *   validate   XML Schema (libxml2) or a JSON Schema subset; 400 / 502 with the errors listed
 *
 * Their configuration is documented in transforms/README.md.
 */
#ifndef TF_BUILTINS_JSON_H
#define TF_BUILTINS_JSON_H

#include "transform.h"

extern const struct tf_ops tf_headers_ops;
extern const struct tf_ops tf_json_map_ops;
extern const struct tf_ops tf_validate_ops;

#endif
