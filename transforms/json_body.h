/* json_body.h: a JSON body for transforms that edit it, with its numbers kept exactly as written.
 *
 * jansson keeps a number as a long long or a double: "6.20" becomes 6.2 and json_dumpb prints
 * it back as "6.2000000000000002", "1e2" as "100.0"; a payment amount must not change like that.
 * So the body is read by the one JSON reader (threat limits; tf_json_parse_numbers), which tells
 * its number literals in document order, then parsed by jansson; the literals are paired in
 * document order with the numbers of the parsed tree. The
 * writer prints every number that came from the body with its literal, byte for byte, wherever
 * the mapping moved it. Numbers made afterwards (constants from the configuration) are printed in
 * the shortest form that reads back to the same double ("6.2", "0.1").
 *
 * The pairing holds a reference on every number it records, so an address can never be reused by
 * a new value while the body is alive. Copy values with tf_json_body_copy (containers are new,
 * numbers and strings shared) so that copies keep their literals.
 */
#ifndef TF_JSON_BODY_H
#define TF_JSON_BODY_H

#include <stddef.h>

#include <jansson.h>

#include "transform.h"

struct tf_json_num; /* a number of the tree and where its literal is in the body */

struct tf_json_body {
    json_t *root;               /* the parsed body (owned) */
    struct tf_json_num *nums;   /* sorted by node address */
    size_t nnums;
};

/* Parse m's body (threat limits of x). Returns 0 with b filled, or TF_ERROR after x->fail:
 * in the request phase 413 "body-too-large" or 400 "invalid-body", in the response phase 502
 * "bad-upstream-response". `who` names the transform in the detail ("json_map"). b is empty on
 * error. The body must stay unchanged until tf_json_body_dump has run. */
int tf_json_body_parse(struct tf_json_body *b, const struct tf_message *m, struct tf_ctx *x,
                       const char *who);

/* Write v as compact JSON (object members in their order, no spaces, non-ASCII as UTF-8,
 * numbers of b's body with their literals). b may be NULL. Returns a NUL-terminated buffer that
 * is freed with the exchange (x->cleanup), its length in *len. */
char *tf_json_body_dump(const struct tf_json_body *b, const json_t *v, struct tf_ctx *x,
                        size_t *len);

/* A copy of v that owns new containers and shares the scalars. Returns a new reference. */
json_t *tf_json_body_copy(json_t *v);

/* Release b (its tree and the recorded numbers). */
void tf_json_body_free(struct tf_json_body *b);

#endif
