/* xmldsig.h: the xmldsig transform (W3C XML Signature, through xmlsec1's OpenSSL backend).
 *
 *   { "xmldsig": { "verify": { "algorithms": [
 *                                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" ] } } }
 *   { "xmldsig": { "sign": { "key": "our.key", "certificate": "our.pem",
 *                            "alg": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" } } }
 *
 * verify: the document carries one ds:Signature, a child of its document element, whose one
 * Reference names the document element (URI="" or "#id": an enveloped signature) or another
 * child of the document element by Id (a detached one: the step then hands on that element
 * alone as the document). The key is the calling partner's (sig.h); the signature's KeyInfo
 * only names it. Run-time in xmldsig.c, configuration in xmldsig_conf.c, signing in
 * xmldsig_sign.c; documented in transforms/README.md.
 *
 * xmlsec1 is initialised once, at the first create (off the workers); an apply makes its own
 * xmlSecDSigCtx, so workers share the instance read-only.
 */
#ifndef TF_XMLDSIG_H
#define TF_XMLDSIG_H

#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>

#include "sig.h"
#include "transform.h"

#define XD_MAX_IDS 24

struct xd_inst {
    int sign;                         /* 1: sign, 0: verify */
    tf_sig_algs algs;                 /* verify: the SignatureMethods accepted */
    struct tf_sig_own own;            /* sign: our key */
    xmlSecTransformId sign_method;    /* sign: own.alg's xmlsec transform */
    /* what an xmlSecDSigCtx may run: in SignedInfo (canonicalization and the accepted
     * signature methods) and in a Reference (its transforms and digests) */
    xmlSecTransformId sig_ids[XD_MAX_IDS];
    size_t nsig_ids;
    xmlSecTransformId ref_ids[XD_MAX_IDS];
    size_t nref_ids;
};

/* The URIs a Reference's transforms and SignedInfo's CanonicalizationMethod may name (the
 * canonicalizations and enveloped-signature), and the DigestMethods accepted (SHA-256 and
 * stronger); NULL-terminated. */
extern const char *const tf_xd_c14n_uris[];
extern const char *const tf_xd_digest_uris[];
int tf_xd_uri_in(const char *const *list, const char *uri);

void *tf_xd_create(const struct tf_conf *cc);
void tf_xd_destroy(void *inst);

/* A fresh signature context for one apply, allowed only what the instance allows, with key
 * (taken over, even on failure). 0 (the caller finalizes it), or -1 (nothing to finalize). */
int tf_xd_ctx_init(const struct xd_inst *in, xmlSecDSigCtx *d, xmlSecKeyPtr key);

/* An xmlsec key over pkey (a reference is taken: the caller keeps its own), or NULL. */
xmlSecKeyPtr tf_xd_key_evp(EVP_PKEY *pkey);

/* The canonical SignedInfo a finished context signed or verified, copied into x's arena. */
void tf_xd_signed_info(struct tf_ctx *x, xmlSecDSigCtx *d, unsigned char **out, size_t *n);

int tf_xd_verify(const struct xd_inst *in, struct tf_message *m, struct tf_ctx *x);
int tf_xd_sign(const struct xd_inst *in, struct tf_message *m, struct tf_ctx *x);

#endif
