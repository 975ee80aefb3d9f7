/* xmldsig_conf.c: the xmldsig transform's configuration and xmlsec1's set-up (see xmldsig.h).
 *
 *   { "xmldsig": { "verify": { "algorithms": [ SignatureMethod URI, ... ] } } }
 *   { "xmldsig": { "sign": { "key": "our.key", "certificate": "our.pem", "alg": URI,
 *                            "kid": "ours-2025" } } }
 */
#include "xmldsig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"

const char *const tf_xd_c14n_uris[] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    NULL,
};
#define ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

const char *const tf_xd_digest_uris[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    NULL,
};

int
tf_xd_uri_in(const char *const *list, const char *uri)
{
    for (size_t i = 0; uri != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], uri) == 0)
            return 1;
    return 0;
}

/* ---- xmlsec1, once --------------------------------------------------------------------------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

/* A refused message is not an error of the gateway's: xmlsec1's reports (to stderr by default)
 * are dropped; the step says why it refused. */
static void
quiet(const char *file, int line, const char *func, const char *obj, const char *subject,
      int reason, const char *msg)
{
    (void)file, (void)line, (void)func, (void)obj, (void)subject, (void)reason, (void)msg;
}

static void
xmlsec_init(void)
{
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
        return;
    xmlSecErrorsSetCallback(quiet); /* after xmlSecInit, which sets its own */
    init_rc = 0;
}

/* The transform of xmlsec1's for uri in that usage, or NULL. */
static xmlSecTransformId
find_id(const char *uri, xmlSecTransformUsage usage)
{
    xmlSecTransformId id = xmlSecTransformIdListFindByHref(xmlSecTransformIdsGet(),
                                                           (const xmlChar *)uri, usage);
    return id != xmlSecTransformIdUnknown ? id : NULL;
}

/* What an xmlSecDSigCtx of this instance may run. */
static int
allow_ids(struct xd_inst *in)
{
    for (size_t i = 0; tf_xd_c14n_uris[i] != NULL; i++) {
        xmlSecTransformId id = find_id(tf_xd_c14n_uris[i], xmlSecTransformUsageC14NMethod);
        if (id != NULL) {
            in->sig_ids[in->nsig_ids++] = id;
            in->ref_ids[in->nref_ids++] = id;
        }
    }
    for (size_t i = 0; tf_xd_digest_uris[i] != NULL; i++) {
        xmlSecTransformId id = find_id(tf_xd_digest_uris[i], xmlSecTransformUsageDigestMethod);
        if (id != NULL)
            in->ref_ids[in->nref_ids++] = id;
    }
    if ((in->ref_ids[in->nref_ids] = find_id(ENVELOPED, xmlSecTransformUsageDSigTransform)) ==
        NULL)
        return -1;
    in->nref_ids++;
    return 0;
}

/* The accepted SignatureMethods: each one xmlsec1 must know. */
static int
verify_conf(const struct tf_conf *cc, const json_t *obj, struct xd_inst *in)
{
    static const char *const keys[] = { "algorithms", NULL };
    const struct gw_jctx *c = tf_conf_jctx(cc);
    struct tf_conf sub = *cc;
    char path[GW_JPATH_MAX];
    size_t i;
    json_t *v;

    gw_jpath_key(path, sizeof path, cc->path, "verify");
    if (!json_is_object(obj)) {
        cc->error(cc, "verify", "must be an object: {\"algorithms\": [SignatureMethod URIs]}");
        return -1;
    }
    gw_jctx_check_keys(c, obj, path, keys);
    sub.path = path;
    sub.config = obj;
    if ((in->algs = tf_sig_algs_conf(&sub, obj, NULL, TF_SIG_XML)) == 0)
        return -1;
    json_array_foreach(json_object_get(obj, "algorithms"), i, v) {
        xmlSecTransformId id = find_id(json_string_value(v), xmlSecTransformUsageSignatureMethod);
        char at[48];
        if (id == NULL) {
            snprintf(at, sizeof at, "algorithms[%zu]", i);
            sub.error(&sub, at, "xmlsec1 %s cannot verify it", xmlSecGetDefaultCrypto());
            return -1;
        }
        in->sig_ids[in->nsig_ids++] = id; /* at most one per algorithm of sig.c's table */
    }
    return 0;
}

void *
tf_xd_create(const struct tf_conf *cc)
{
    static const char *const keys[] = { "verify", "sign", NULL };
    const struct gw_jctx *c = tf_conf_jctx(cc);
    const json_t *verify, *sign;
    struct xd_inst *in;

    pthread_once(&once, xmlsec_init);
    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object {\"verify\": {...}} or {\"sign\": {...}}, got %s",
                  gw_json_type_name(cc->config));
        return NULL;
    }
    if (init_rc < 0) {
        cc->error(cc, NULL, "xmlsec1 could not be initialised");
        return NULL;
    }
    gw_jctx_check_keys(c, cc->config, cc->path, keys);
    verify = json_object_get(cc->config, "verify");
    sign = json_object_get(cc->config, "sign");
    if ((verify == NULL) == (sign == NULL)) {
        cc->error(cc, NULL, "needs exactly one of \"verify\" and \"sign\"");
        return NULL;
    }
    in = gw_xcalloc(1, sizeof *in);
    in->sign = sign != NULL;
    if (in->sign) {
        if (tf_sig_own_conf(cc, sign, "sign", TF_SIG_XML, &in->own) < 0)
            goto fail;
        in->sign_method = find_id(tf_sig_alg_name(in->own.alg, TF_SIG_XML),
                                  xmlSecTransformUsageSignatureMethod);
        if (in->sign_method == NULL) {
            cc->error(cc, "sign.alg", "xmlsec1 %s cannot sign with it", xmlSecGetDefaultCrypto());
            goto fail;
        }
        in->sig_ids[in->nsig_ids++] = in->sign_method;
    } else if (verify_conf(cc, verify, in) < 0) {
        goto fail;
    }
    if (allow_ids(in) < 0) {
        cc->error(cc, NULL, "xmlsec1 lacks the enveloped-signature transform");
        goto fail;
    }
    return in;
fail:
    tf_xd_destroy(in);
    return NULL;
}

void
tf_xd_destroy(void *p)
{
    struct xd_inst *in = p;

    if (in == NULL)
        return;
    tf_sig_own_free(&in->own);
    free(in);
}

/* ---- what an apply uses ---------------------------------------------------------------------- */

xmlSecKeyPtr
tf_xd_key_evp(EVP_PKEY *pkey)
{
    xmlSecKeyDataPtr data;
    xmlSecKeyPtr key;

    if (EVP_PKEY_up_ref(pkey) != 1)
        return NULL;
    if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    if ((key = xmlSecKeyCreate()) == NULL || xmlSecKeySetValue(key, data) < 0) {
        xmlSecKeyDataDestroy(data);
        if (key != NULL)
            xmlSecKeyDestroy(key);
        return NULL;
    }
    return key;
}

int
tf_xd_ctx_init(const struct xd_inst *in, xmlSecDSigCtx *d, xmlSecKeyPtr key)
{
    if (xmlSecDSigCtxInitialize(d, NULL) < 0) {
        if (key != NULL)
            xmlSecKeyDestroy(key);
        return -1;
    }
    d->signKey = key; /* the context's: destroyed with it */
    if (key == NULL)
        goto fail;
    /* manifests are not References of SignedInfo: the step vouches for none */
    d->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNATURE | XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    d->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
    for (size_t i = 0; i < in->nsig_ids; i++)
        if (xmlSecDSigCtxEnableSignatureTransform(d, in->sig_ids[i]) < 0)
            goto fail;
    for (size_t i = 0; i < in->nref_ids; i++)
        if (xmlSecDSigCtxEnableReferenceTransform(d, in->ref_ids[i]) < 0)
            goto fail;
    return 0;
fail:
    xmlSecDSigCtxFinalize(d);
    return -1;
}

void
tf_xd_signed_info(struct tf_ctx *x, xmlSecDSigCtx *d, unsigned char **out, size_t *n)
{
    xmlSecBufferPtr b = xmlSecDSigCtxGetPreSignBuffer(d);

    *n = b != NULL ? xmlSecBufferGetSize(b) : 0;
    *out = x->alloc(x, *n + 1);
    if (*n > 0)
        memcpy(*out, xmlSecBufferGetData(b), *n);
}
