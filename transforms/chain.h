/* chain.h: transform chains: the registry of transforms, compiling a route's chain from its JSON,
 * and running it on a message.
 *
 * A chain is the JSON array of a route's "request" or "response" (or a partner's "transforms"
 * defaults): each step is an object with exactly one transform name as key and that transform's
 * config as value, plus an optional "when" that makes the step conditional:
 *
 *   { "xml_to_json": { ... }, "when": { "content_type": "xml", "status": ["2xx"], "accept": "json" } }
 *
 * "content_type": the message's media type, one or a list of "xml", "json" or a type/subtype;
 * "status" (response chains only): codes or classes ("2xx"); "accept": the request's Accept names
 * that type explicitly (q > 0; wildcards do not count), one or a list of "xml", "json" or a
 * type/subtype. Every condition given must hold. Steps run in the declared order.
 */
#ifndef TF_CHAIN_H
#define TF_CHAIN_H

#include <stdint.h>

#include "json_loc.h"
#include "transform.h"

#define TF_CHAIN_MAX 32

struct tf_registry;
struct tf_chain;

/* The built-in transforms. Free with tf_registry_free. */
struct tf_registry *tf_registry_new(void);

/* Load the plugins named by the gateway config's "plugins" array (at path "plugins"): each .so
 * is dlopen'ed, its `portico_transforms` array read, every entry's ABI version checked and its
 * name checked against those already known. Problems are reported through c. Returns 0 or -1. */
int tf_registry_load_plugins(struct tf_registry *r, const struct gw_jctx *c, const json_t *plugins);

const struct tf_ops *tf_registry_find(const struct tf_registry *r, const char *name);

/* Destroys nothing but the registry and its plugin handles: free every chain first. */
void tf_registry_free(struct tf_registry *r);

/* Compile the chain `arr` (a JSON array at `path` of c's document) for `phase`. Every problem is
 * reported. Returns the chain (NULL for an absent or empty array, and after errors). */
struct tf_chain *tf_chain_compile(const struct gw_jctx *c, const json_t *arr, const char *path,
                                  enum tf_phase phase, const struct tf_registry *reg,
                                  const struct tf_limits *limits);

/* Does any step need the message body (then the gateway buffers it)? */
int tf_chain_needs_body(const struct tf_chain *ch);

size_t tf_chain_size(const struct tf_chain *ch);
const char *tf_chain_step_name(const struct tf_chain *ch, size_t i);

/* Run the chain on m: each step whose "when" holds, in order; steps that work on the body are
 * skipped when the message has none. Returns 0, or -1 when a step failed (x->err_* say how to answer). Bit i of
 * *applied is set for each step i that ran and did not skip. */
int tf_chain_run(const struct tf_chain *ch, struct tf_message *m, struct tf_ctx *x,
                 uint32_t *applied);

void tf_chain_free(struct tf_chain *ch);

#endif
