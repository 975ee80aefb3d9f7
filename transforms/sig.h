/* sig.h: what the signature steps share (jws, xmldsig, http_signature): the algorithms by
 * their names in each standard, verifying and signing with OpenSSL, finding who signed among
 * the partners' signing keys, the refusals, and the note the audit event keeps.
 *
 * Who may sign: the calling partner's "signing" keys (partners/bundle_signing.h). A signature
 * that one of them verifies is good; one made with another partner's key is refused as
 * signature-wrong-signer, whichever way it names the key; the algorithm must be in the step's
 * allow-list and fit the key (an HMAC algorithm only with a shared secret, never with a public
 * key: the algorithm confusion attack; "none" is never accepted).
 */
#ifndef TF_SIG_H
#define TF_SIG_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "partner.h"
#include "transform.h"

enum tf_sig_family { TF_SIG_HMAC, TF_SIG_RSA, TF_SIG_RSA_PSS, TF_SIG_EC, TF_SIG_ED25519 };

/* An algorithm and its names: JOSE's (RFC 7518, "ES256"), HTTP signatures' (RFC 9421,
 * "ecdsa-p256-sha256") and XML-DSig's (the SignatureMethod URI); NULL where a standard has none. */
struct tf_sig_alg {
    const char *jose;
    const char *http;
    const char *xml;
    enum tf_sig_family family;
    const char *md;          /* the digest ("SHA256"); NULL for Ed25519 */
    int curve;               /* EC: the curve's NID */
    size_t half;             /* EC: the bytes of r (and of s) in the raw r||s form */
};

enum tf_sig_names { TF_SIG_JOSE, TF_SIG_HTTP, TF_SIG_XML };

/* The algorithm `name` names in that standard, or NULL (unknown, or "none"). */
const struct tf_sig_alg *tf_sig_alg_find(enum tf_sig_names names, const char *name, size_t len);
/* Its name in that standard (NULL when it has none there). */
const char *tf_sig_alg_name(const struct tf_sig_alg *a, enum tf_sig_names names);

/* A step's allow-list: a bit per algorithm of the table. */
typedef unsigned tf_sig_algs;
int tf_sig_allowed(tf_sig_algs allowed, const struct tf_sig_alg *a);
/* The table's algorithm i (0, 1, ...), or NULL past its end: to walk an allow-list. */
const struct tf_sig_alg *tf_sig_alg_at(size_t i);

/* Read "algorithms" of obj, the step's config or its member sub ("verify"; NULL: the config
 * itself): a list of names in that standard, required; unknown names, "none" and duplicates
 * reported. Returns the set, 0 after reporting. */
tf_sig_algs tf_sig_algs_conf(const struct tf_conf *cc, const json_t *obj, const char *sub,
                             enum tf_sig_names names);

/* Does key k suit algorithm a: a secret for HMAC, a public key of a's type (and curve) else? */
int tf_sig_key_fits(const struct tf_sig_alg *a, const struct pt_sign_key *k);

/* Is sig[0..siglen) a's signature of data[0..n) under k? 1 yes, 0 no. ECDSA signatures are the
 * raw r||s of JOSE and RFC 9421. */
int tf_sig_verify(const struct tf_sig_alg *a, const struct pt_sign_key *k, const void *data,
                  size_t n, const unsigned char *sig, size_t siglen);

/* Our signing key for a step that signs ("sign": {"key", "certificate", "kid", "alg"}). */
struct tf_sig_own {
    EVP_PKEY *key;
    X509 *cert;              /* or NULL */
    char *kid;               /* or NULL */
    const struct tf_sig_alg *alg;
    char sha256[65];         /* SHA-256 (hex) of the certificate's DER, "" without one */
    unsigned char x5t[32];
};

/* Read the "sign" object at obj (path sub) of a step into o: the private key (PEM, in the
 * bundle), an optional certificate that must match it, the kid, and "alg" in that standard's
 * names, which must fit the key (no HMAC: we sign with private keys). 0, or -1 after reporting. */
int tf_sig_own_conf(const struct tf_conf *cc, const json_t *obj, const char *sub,
                    enum tf_sig_names names, struct tf_sig_own *o);
void tf_sig_own_free(struct tf_sig_own *o);

/* Sign data[0..n) with o: the signature into the arena (*sig, *siglen; ECDSA as raw r||s).
 * 0, or -1 (OpenSSL failed: then x has failed with 500). */
int tf_sig_sign(struct tf_ctx *x, const struct tf_sig_own *o, const void *data, size_t n,
                unsigned char **sig, size_t *siglen);

/* Find who signed. check(k, arg) says whether key k verifies the signature (1) or not (0).
 * Tried: the calling partner's keys that fit a (only those with kid when kid is not NULL; only
 * the one whose x5t#S256 is x5t when x5t is not NULL). Returns 0 with *out the key that
 * verified; else the exchange fails (-1, TF_ERROR): signature-wrong-signer when kid or x5t
 * names another partner's key, when one of another partner's keys verifies it, or when the
 * caller has no key for a; signature-invalid when none verifies. `who` starts the details. */
int tf_sig_find_signer(struct tf_ctx *x, const struct tf_message *m, const char *who,
                       const struct tf_sig_alg *a, const char *kid, const unsigned char *x5t,
                       int (*check)(const struct pt_sign_key *k, void *arg), void *arg,
                       const struct pt_sign_key **out);

/* Refuse the message: 401 for a request (a partner's), 502 for a response (an upstream's), with
 * code "signature-missing", "signature-invalid", "signature-wrong-signer" or
 * "signature-algorithm-refused". Returns TF_ERROR. */
int tf_sig_refuse(struct tf_ctx *x, const struct tf_message *m, const char *code, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* Add to x->signatures: what `kind` verified (key k of partner `owner`) or made (k NULL: ours,
 * own), over data[0..n), whose SHA-256 is audited. */
void tf_sig_note(struct tf_ctx *x, const struct tf_message *m, const char *kind,
                 const struct tf_sig_alg *a, enum tf_sig_names names, const char *kid,
                 const struct pt_sign_key *k, const struct tf_sig_own *own, const void *data,
                 size_t n);

#endif
