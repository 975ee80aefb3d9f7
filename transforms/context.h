/* context.h: the gateway's side of the transform ABI: a tf_ctx over an arena, a tf_conf over a
 * config reading context, and the media type helpers.
 *
 * The exchange pipeline, `portico transform` and the unit tests all make their tf_ctx here, so
 * a transform behaves the same in all three.
 */
#ifndef TF_CONTEXT_H
#define TF_CONTEXT_H

#include "arena.h"
#include "json_loc.h"
#include "transform.h"

/* A context whose memory comes from arena a; every exchange field is "" and limits point at
 * `limits` (which must outlive the context). Fill the exchange fields afterwards. */
void tf_ctx_init(struct tf_ctx *x, struct gw_arena *a, const struct tf_limits *limits);

/* x->alloc(x, n) for the base helpers that take an allocator and its context (struct gw_buf,
 * the JSON reader): x is the struct tf_ctx. */
void *tf_ctx_alloc(void *x, size_t n);

/* Forget a failure (err_* fields), releasing err_errors. */
void tf_ctx_clear_error(struct tf_ctx *x);

/* A message with no headers and no body, for the phase; headers can then be added. */
void tf_message_init(struct tf_message *m, enum tf_phase phase);

/* A config context for one chain step: reports go through jctx at `path` + sub, files are read
 * relative to jctx->dir and confined to it. path is copied. */
void tf_conf_init(struct tf_conf *cc, const struct gw_jctx *jctx, const char *path,
                  const json_t *config, enum tf_phase phase, const struct tf_limits *limits);
void tf_conf_done(struct tf_conf *cc);

/* For built-ins: the gw_jctx behind a tf_conf made by tf_conf_init, to use the gw_jctx_* readers
 * with cc->path as the parent path. */
const struct gw_jctx *tf_conf_jctx(const struct tf_conf *cc);

#endif
