/* builtin.h: the table of built-in transforms (transforms/builtin.c). */
#ifndef TF_BUILTIN_H
#define TF_BUILTIN_H

#include "transform.h"

/* Every built-in transform, NULL-terminated. */
extern const struct tf_ops *const tf_builtins[];

#endif
