/* bundle_identity.h: the identities in a partner bundle (partners/bundle_identity.c), read by
 * the bundle loader (bundle.c): the partner's "identity" and our "outbound" one. Problems are
 * reported through the reading context, as the rest of the bundle's. */
#ifndef PT_BUNDLE_IDENTITY_H
#define PT_BUNDLE_IDENTITY_H

#include <stddef.h>

#include <jansson.h>

#include "json_loc.h"
#include "partner.h"

/* The required "identity" of root into p: CAs (each a CA certificate, in date), their SHA-256
 * fingerprints, CRLs (signed by one of those CAs, in date) and the constraints (subject, SAN,
 * fingerprints). */
void pt_bundle_identity(const struct gw_jctx *c, const json_t *root, struct pt_partner *p);

/* The same for an identity object id found at path (an admin's, gateway/admin.c): p's cas,
 * ca_fps, crls, subject, san and fingerprints. */
void pt_identity_read(const struct gw_jctx *c, const json_t *id, const char *path,
                      struct pt_partner *p);

/* Warn when one of p's CAs also anchors a bundle of loaded[0..nloaded) and one of the two
 * partners has no constraints: their clients could not be told apart. */
void pt_bundle_shared_cas(const struct gw_jctx *c, const struct pt_partner *p,
                          struct pt_partner *const *loaded, size_t nloaded);

/* The optional "outbound" of root: its files checked, then p->outbound_ctx built from them. */
void pt_bundle_outbound(const struct gw_jctx *c, const json_t *root, struct pt_partner *p);

#endif
