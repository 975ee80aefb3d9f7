/* bundle_signing.h: the keys a partner signs its messages with ("signing" in partner.json), read
 * by the bundle loader (bundle.c) for the signature steps (transforms/sig.h). */
#ifndef PT_BUNDLE_SIGNING_H
#define PT_BUNDLE_SIGNING_H

#include <jansson.h>

#include "json_loc.h"
#include "partner.h"

/* The optional "signing" list of root into p->sign_keys: each entry names one of
 * "certificate" (PEM; its first certificate, in date), "public_key" (PEM) or "secret" (a file
 * holding a base64url HMAC secret of at least 32 bytes), and optionally its "kid" (unique in the
 * bundle). */
void pt_bundle_signing(const struct gw_jctx *c, const json_t *root, struct pt_partner *p);

/* k's kind for the signature algorithms that fit it: its base type (EVP_PKEY_RSA,
 * EVP_PKEY_RSA_PSS, EVP_PKEY_EC, EVP_PKEY_ED25519 ...) and, for EC, its curve's NID (else 0). */
void pt_key_kind(const EVP_PKEY *k, int *type, int *curve);

/* Free p's signing keys. */
void pt_sign_keys_free(struct pt_sign_key *k, size_t n);

#endif
