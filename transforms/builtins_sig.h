/* builtins_sig.h: the built-in transforms that verify and make signatures (transforms/sig.h):
 *
 *   jws        JSON Web Signature (RFC 7515, unencoded detached payload RFC 7797)
 *   xmldsig    XML Signature (enveloped, or detached by Id), with xmlsec1
 *   http_signature  HTTP Message Signatures (RFC 9421) with Content-Digest (RFC 9530)
 *
 * Their configuration is documented in transforms/README.md.
 */
#ifndef TF_BUILTINS_SIG_H
#define TF_BUILTINS_SIG_H

#include "transform.h"

extern const struct tf_ops tf_jws_ops;
extern const struct tf_ops tf_xmldsig_ops;
extern const struct tf_ops tf_http_signature_ops;

#endif
