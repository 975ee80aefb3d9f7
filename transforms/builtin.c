/* builtin.c: the built-in transforms, each documented in transforms/README.md. */
#include "builtin.h"

#include "builtins_json.h"

const struct tf_ops *const tf_builtins[] = {
    &tf_headers_ops,
    &tf_json_map_ops,
    &tf_validate_ops,
    NULL,
};
