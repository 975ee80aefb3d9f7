/* xmldsig_sign.c: the xmldsig transform signs (see xmldsig.h).
 *
 * An enveloped signature over the whole document, the last child of its document element:
 * Reference URI="" with the enveloped-signature transform and exclusive C14N, SHA-256, the
 * configured SignatureMethod; then KeyInfo with our certificate (X509Data) or, without one, the
 * kid (KeyName). KeyInfo is added after signing: the enveloped transform leaves the whole
 * Signature out of what is signed, so it changes nothing, and xmlsec1 has no key writer to
 * run. The step signs a copy: the chain's document is read, never changed.
 */
#include "xmldsig.h"

#include <string.h>

#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>

#include "arena.h"
#include "body_forms.h"
#include "sig.h"
#include "text.h"
#include "xml_alloc.h"

#define WHO "xmldsig"

/* KeyInfo naming our key, after SignatureValue. 0, or -1. */
static int
add_key_info(struct tf_ctx *x, const struct tf_sig_own *own, xmlNodePtr sig)
{
    xmlNodePtr ki, cert;
    unsigned char *der = NULL;
    char *b64;
    int len;

    if (own->cert == NULL && own->kid == NULL)
        return 0;
    if ((ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL)
        return -1;
    if (own->cert == NULL)
        return xmlSecTmplKeyInfoAddKeyName(ki, (const xmlChar *)own->kid) != NULL ? 0 : -1;
    if ((len = i2d_X509(own->cert, &der)) <= 0)
        return -1;
    b64 = x->alloc(x, ((size_t)len + 2) / 3 * 4 + 1);
    b64[gw_base64_encode(b64, der, (size_t)len, 0)] = '\0';
    OPENSSL_free(der);
    cert = xmlSecTmplX509DataAddCertificate(xmlSecTmplKeyInfoAddX509Data(ki));
    if (cert == NULL)
        return -1;
    xmlNodeSetContent(cert, (const xmlChar *)b64);
    return 0;
}

/* The template: SignedInfo with one Reference to the whole document. */
static xmlNodePtr
template(const struct xd_inst *in, xmlDocPtr doc)
{
    xmlNodePtr sig, ref;

    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, in->sign_method, NULL,
                                          BAD_CAST "ds");
    if (sig == NULL)
        return NULL;
    if (xmlAddChild(xmlDocGetRootElement(doc), sig) == NULL) {
        xmlFreeNode(sig);
        return NULL;
    }
    ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST "", NULL);
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
        return NULL;
    return sig;
}

int
tf_xd_sign(const struct xd_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    xmlDocPtr doc, copy;
    xmlSecDSigCtx d;
    xmlNodePtr sig;
    unsigned char *signed_info;
    const char *kid = NULL;
    size_t n;

    if ((tf_body_forms(m) & TF_FORM_BYTES) && (m->body == NULL || m->body_len == 0))
        return TF_SKIP; /* nothing to sign */
    if ((doc = x->body_xml(x, m, WHO)) == NULL)
        return TF_ERROR;
    if ((copy = xmlCopyDoc(doc, 1)) == NULL)
        return x->fail(x, 500, "transform-failed", NULL, WHO ": out of memory");
    if ((sig = template(in, copy)) == NULL) {
        xmlFreeDoc(copy);
        return x->fail(x, 500, "signing-failed", NULL, WHO ": xmlsec1 could not set up the "
                       "signature");
    }
    struct tf_ctx *arena = tf_xml_alloc_pause(); /* xmlsec1's churn on the heap (xml_alloc.h) */
    int set_up = tf_xd_ctx_init(in, &d, tf_xd_key_evp(in->own.key)) == 0, made = 0;
    if (set_up) {
        made = xmlSecDSigCtxSign(&d, sig) == 0 && d.status == xmlSecDSigStatusSucceeded;
        if (made)
            tf_xd_signed_info(x, &d, &signed_info, &n);
        xmlSecDSigCtxFinalize(&d);
    }
    tf_xml_alloc_resume(arena);
    if (!made) {
        xmlFreeDoc(copy);
        if (!set_up)
            return x->fail(x, 500, "signing-failed", NULL, WHO ": xmlsec1 could not set up the "
                           "signature");
        return x->fail(x, 500, "signing-failed", NULL, WHO ": signing with %s failed",
                       tf_sig_alg_name(in->own.alg, TF_SIG_XML));
    }
    if (add_key_info(x, &in->own, sig) < 0) {
        xmlFreeDoc(copy);
        return x->fail(x, 500, "signing-failed", NULL, WHO ": out of memory");
    }
    x->set_xml(x, m, copy);
    if (in->own.kid != NULL) /* the audit event is written after the exchange */
        kid = gw_arena_strndup(x->host, in->own.kid, strlen(in->own.kid));
    tf_sig_note(x, m, WHO, in->own.alg, TF_SIG_XML, kid, NULL, &in->own, signed_info, n);
    return TF_DONE;
}
