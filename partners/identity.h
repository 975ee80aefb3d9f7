/* identity.h: which partner a verified client certificate belongs to.
 *
 * A partner is bound to the CA that actually anchored the verified chain, plus the partner's own
 * constraints (subject, SAN, pinned fingerprints), every configured one of which must hold. So a
 * certificate issued by partner B's CA that copies partner A's subject is never taken for A.
 */
#ifndef PT_IDENTITY_H
#define PT_IDENTITY_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "snapshot.h"

enum { PT_ID_OK = 0, PT_ID_UNKNOWN = 1, PT_ID_AMBIGUOUS = 2 };

/* Resolve the partner for a chain verified by OpenSSL: leaf is the client certificate, anchor the
 * trust anchor that ended the verified chain (the last element of SSL_get0_verified_chain()).
 * Returns PT_ID_OK with *out set, PT_ID_UNKNOWN when no partner's CA is the anchor or no such
 * partner's constraints hold, PT_ID_AMBIGUOUS when more than one partner matches. */
int pt_identity_resolve(const struct pt_snapshot *s, X509 *leaf, X509 *anchor,
                        const struct pt_partner **out);

/* Do all of partner p's configured constraints hold for leaf? (The anchor is not checked.) */
int pt_identity_constraints_hold(const struct pt_partner *p, X509 *leaf);

/* Why pt_identity_resolve() found no single partner for leaf (anchored at anchor), in words for
 * the log and the audit, never for the client: each configured constraint that fails for each
 * partner the anchor is a CA of, with what the certificate had (`partner initech: subject
 * "O=Initech,CN=initech-client" is not "CN=initech-client,O=Initech" (...)`), or that no
 * partner's CA anchored the chain, or the partners it matches when more than one does. For the
 * failure path only: it does the resolver's work again, and more. One line of valid UTF-8,
 * malloc'd (free it); NULL when out of memory or the arguments are NULL. */
char *pt_identity_mismatch(const struct pt_snapshot *s, X509 *leaf, X509 *anchor);

/* The text of a subjectAltName entry of kind DNS or URI: 1 with *data (len bytes, not
 * NUL-terminated, possibly holding a NUL) set; 0 for the other kinds. */
int pt_san_text(const GENERAL_NAME *gn, const unsigned char **data, size_t *len);

/* SHA-256 of the certificate's DER encoding. Returns 0 or -1. */
int pt_cert_sha256(X509 *c, unsigned char out[32]);

/* The serial number in uppercase hex ("0A1B..."), as `openssl x509 -serial` prints it; "" when it
 * does not fit. Returns out. */
char *pt_cert_serial(X509 *c, char *out, size_t len);

/* Subject (or issuer) as an RFC 2253 string ("CN=acme-client,O=ACME Bank,C=CH"), malloc'd;
 * NULL on failure. Same format as `openssl x509 -noout -subject -nameopt RFC2253`. */
char *pt_name_rfc2253(X509_NAME *name);

#endif
