/* xmldsig.c: the xmldsig transform at run time: verify (see xmldsig.h; signing in
 * xmldsig_sign.c, configuration in xmldsig_conf.c).
 *
 * Before xmlsec1 sees the signature, the step reads its shape itself, so that what is refused
 * says why and nothing the step does not vouch for is run:
 *   no ds:Signature                                                  signature-missing
 *   a SignatureMethod not in the allow-list (or with parameters), a
 *   CanonicalizationMethod or transform other than the C14N ones and
 *   enveloped-signature, a DigestMethod weaker than SHA-256          signature-algorithm-refused
 *   more than one Signature, one that is not a child of the document
 *   element, not exactly one Reference, a Reference URI that is not
 *   "" or "#id", an Id value on two attributes, a signed element that
 *   is not the document element nor a child of it (moved: wrapping)  signature-invalid
 * then the calling partner's keys verify it (tf_sig_find_signer: signature-invalid,
 * signature-wrong-signer). Every refusal is 401 on a request, 502 on a response.
 */
#include "xmldsig.h"

#include <string.h>

#include <libxml/hash.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/buffer.h>
#include <xmlsec/strings.h>

#include "arena.h"
#include "body_forms.h"
#include "builtins_sig.h"
#include "sha256.h"
#include "text.h"
#include "xml_alloc.h"

#define WHO "xmldsig"

static int
is_ds(const xmlNode *n, const xmlChar *local)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, xmlSecDSigNs) && xmlStrEqual(n->name, local);
}

/* The next element sibling of n (n itself when first is set), or NULL. */
static xmlNodePtr
elem(xmlNodePtr n, int first)
{
    for (n = first ? n : n->next; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* The ds child `local` of n, or NULL. */
static xmlNodePtr
ds_child(xmlNodePtr n, const xmlChar *local)
{
    for (xmlNodePtr c = n != NULL ? elem(n->children, 1) : NULL; c != NULL; c = elem(c, 0))
        if (is_ds(c, local))
            return c;
    return NULL;
}

static char *
dup_str(struct tf_ctx *x, const char *v)
{
    return gw_arena_strndup(x->host, v, strlen(v));
}

/* n's Algorithm, in x's arena ("" when none). */
static const char *
algorithm(struct tf_ctx *x, xmlNodePtr n)
{
    xmlChar *v = xmlGetNoNsProp(n, xmlSecAttrAlgorithm);
    const char *s = dup_str(x, v != NULL ? (const char *)v : "");

    xmlFree(v);
    return s;
}

/* ---- the document: its Signatures and its Ids ------------------------------------------------ */

struct scan {
    struct tf_ctx *x;
    xmlNodePtr sig;          /* the first ds:Signature */
    size_t nsig;
    xmlHashTablePtr ids;     /* Id value -> its element */
    const char *dup;         /* an Id value two attributes carry (in the arena) */
    xmlDocPtr doc;
};

static int
is_id_name(const xmlChar *name)
{
    return xmlStrEqual(name, BAD_CAST "Id") || xmlStrEqual(name, BAD_CAST "ID") ||
           xmlStrEqual(name, BAD_CAST "id");
}

static void
scan_ids(struct scan *s, xmlNodePtr n)
{
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        xmlChar *v;
        if (!is_id_name(a->name))
            continue;
        v = xmlNodeListGetString(n->doc, a->children, 1);
        if (v == NULL)
            continue;
        if (xmlHashAddEntry(s->ids, v, a) < 0 && s->dup == NULL)
            s->dup = dup_str(s->x, (const char *)v);
        xmlFree(v);
    }
}

/* Walk the elements in document order, without recursion (a deep document is not a deep
 * stack). */
static void
scan_doc(struct scan *s, xmlNodePtr root)
{
    xmlNodePtr n = root;

    while (n != NULL) {
        if (is_ds(n, xmlSecNodeSignature) && s->nsig++ == 0)
            s->sig = n;
        scan_ids(s, n);
        if (elem(n->children, 1) != NULL) {
            n = elem(n->children, 1);
            continue;
        }
        while (n != root && elem(n, 0) == NULL)
            n = n->parent;
        n = n == root ? NULL : elem(n, 0);
    }
}

/* Make every Id attribute an ID of the document, so that xmlsec1 finds "#id" (libxml2 only
 * knows xml:id, or what a DTD declares). An ID the document already has on another attribute
 * (one its DTD declares, named otherwise) would be what xmlsec1 verifies: a duplicate too. */
static void
register_id(void *payload, void *data, const xmlChar *name)
{
    xmlAttrPtr a = payload, had;
    struct scan *s = data;

    if ((had = xmlGetID(s->doc, name)) == NULL)
        xmlAddID(NULL, s->doc, name, a);
    else if (had != a && s->dup == NULL)
        s->dup = dup_str(s->x, (const char *)name);
}

/* ---- the signature's shape ------------------------------------------------------------------- */

struct shape {
    xmlNodePtr sig;
    const struct tf_sig_alg *alg;
    xmlNodePtr target;       /* the element the Reference signs */
    char *kid;               /* KeyName, or NULL */
    unsigned char x5t[32];   /* SHA-256 of KeyInfo's first X509Certificate ... */
    int has_x5t;             /* ... when it has one */
};

static int
check_transforms(struct tf_ctx *x, struct tf_message *m, xmlNodePtr ref)
{
    xmlNodePtr ts = ds_child(ref, xmlSecNodeTransforms), dm = ds_child(ref, xmlSecNodeDigestMethod);
    const char *uri;

    for (xmlNodePtr t = ts != NULL ? elem(ts->children, 1) : NULL; t != NULL; t = elem(t, 0)) {
        uri = algorithm(x, t);
        if (strcmp(uri, "http://www.w3.org/2000/09/xmldsig#enveloped-signature") != 0 &&
            !tf_xd_uri_in(tf_xd_c14n_uris, uri))
            return tf_sig_refuse(x, m, "signature-algorithm-refused", WHO ": the transform \"%s\" "
                                 "is not accepted (only enveloped-signature and the C14N ones)",
                                 uri);
    }
    uri = dm != NULL ? algorithm(x, dm) : "";
    if (!tf_xd_uri_in(tf_xd_digest_uris, uri))
        return tf_sig_refuse(x, m, "signature-algorithm-refused", WHO ": the DigestMethod \"%s\" "
                             "is not accepted (SHA-256, SHA-384 or SHA-512)", uri);
    return 0;
}

/* The element the Reference names: the document element for "", the one with that Id for
 * "#id"; nothing else (another document, an XPointer) is this step's. */
static int
find_target(struct tf_ctx *x, struct tf_message *m, xmlNodePtr ref, const struct scan *s,
            struct shape *sh)
{
    xmlChar *uri = xmlGetNoNsProp(ref, xmlSecAttrURI);
    xmlNodePtr root = xmlDocGetRootElement(sh->sig->doc);
    xmlAttrPtr a = NULL;
    int rc = 0;

    if (uri == NULL)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the Reference has no URI");
    if (uri[0] == '\0')
        sh->target = root;
    else if (uri[0] == '#' && xmlValidateNCName(uri + 1, 0) == 0 &&
             (a = xmlHashLookup(s->ids, uri + 1)) != NULL)
        sh->target = a->parent;
    else if (uri[0] == '#' && xmlValidateNCName(uri + 1, 0) == 0)
        rc = tf_sig_refuse(x, m, "signature-invalid", WHO ": no element has the Id the Reference "
                           "names (\"%s\")", (const char *)uri + 1);
    else
        rc = tf_sig_refuse(x, m, "signature-invalid", WHO ": the Reference URI \"%.100s\" is not "
                           "in this document: only \"\" and \"#id\" are accepted",
                           (const char *)uri);
    xmlFree(uri);
    if (rc < 0)
        return rc;
    if (sh->target != root && (sh->target->parent != root || sh->target == sh->sig))
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the signed element <%s> is not "
                             "where the step takes it from (the document element, or a child of "
                             "it beside the Signature): moved, as in a signature wrapping attack",
                             (const char *)sh->target->name);
    return 0;
}

/* KeyName and X509Certificate: they only name a key of the partners' (never the key itself). */
static int
key_names(struct tf_ctx *x, struct tf_message *m, struct shape *sh)
{
    xmlNodePtr ki = ds_child(sh->sig, xmlSecNodeKeyInfo), kn = ds_child(ki, xmlSecNodeKeyName);
    xmlNodePtr cert = ds_child(ds_child(ki, xmlSecNodeX509Data), xmlSecNodeX509Certificate);
    xmlChar *v;

    if (kn != NULL && (v = xmlNodeGetContent(kn)) != NULL) {
        sh->kid = dup_str(x, (const char *)v);
        xmlFree(v);
    }
    if (cert != NULL && (v = xmlNodeGetContent(cert)) != NULL) {
        size_t n = 0, len = strlen((const char *)v);
        char *b64 = x->alloc(x, len + 1);
        unsigned char *der = x->alloc(x, len * 3 / 4 + 3);
        long dlen;
        for (size_t i = 0; i < len; i++) /* base64Binary may be broken into lines */
            if (!strchr(" \t\r\n", v[i]))
                b64[n++] = (char)v[i];
        xmlFree(v);
        if ((dlen = gw_base64_decode(b64, n, der, 0)) <= 0)
            return tf_sig_refuse(x, m, "signature-invalid", WHO ": KeyInfo's X509Certificate is "
                                 "not base64");
        gw_sha256_once(der, (size_t)dlen, sh->x5t);
        sh->has_x5t = 1;
    }
    return 0;
}

static int
read_shape(struct tf_ctx *x, struct tf_message *m, const struct xd_inst *in, const struct scan *s,
           struct shape *sh)
{
    xmlNodePtr si = ds_child(sh->sig, xmlSecNodeSignedInfo), c14n, sm, ref;
    const char *uri;
    int rc;

    c14n = si != NULL ? elem(si->children, 1) : NULL;
    sm = c14n != NULL ? elem(c14n, 0) : NULL;
    ref = sm != NULL ? elem(sm, 0) : NULL;
    if (!is_ds(c14n, xmlSecNodeCanonicalizationMethod) || !is_ds(sm, xmlSecNodeSignatureMethod))
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": the Signature has no SignedInfo "
                             "with a CanonicalizationMethod and a SignatureMethod");
    if (!tf_xd_uri_in(tf_xd_c14n_uris, uri = algorithm(x, c14n)))
        return tf_sig_refuse(x, m, "signature-algorithm-refused", WHO ": the "
                             "CanonicalizationMethod \"%s\" is not accepted", uri);
    uri = algorithm(x, sm);
    sh->alg = tf_sig_alg_find(TF_SIG_XML, uri, strlen(uri));
    if (!tf_sig_allowed(in->algs, sh->alg) || elem(sm->children, 1) != NULL)
        return tf_sig_refuse(x, m, "signature-algorithm-refused", WHO ": the SignatureMethod "
                             "\"%s\"%s is not accepted", uri, elem(sm->children, 1) != NULL
                             ? " with parameters" : "");
    if (!is_ds(ref, xmlSecNodeReference) || elem(ref, 0) != NULL)
        return tf_sig_refuse(x, m, "signature-invalid", WHO ": SignedInfo must hold exactly one "
                             "Reference");
    if ((rc = check_transforms(x, m, ref)) < 0 || (rc = find_target(x, m, ref, s, sh)) < 0)
        return rc;
    return key_names(x, m, sh);
}

/* ---- verifying with a partner's key ---------------------------------------------------------- */

struct check {
    const struct xd_inst *in;
    struct tf_ctx *x;
    xmlNodePtr sig;
    unsigned char *signed_info; /* what the last key that verified signed */
    size_t n;
};

static xmlSecKeyPtr
key_of(const struct pt_sign_key *k)
{
    if (k->pub != NULL)
        return tf_xd_key_evp(k->pub);
    if (k->secret != NULL)
        return xmlSecKeyReadMemory(xmlSecKeyDataHmacId, k->secret, (xmlSecSize)k->secret_len);
    return NULL;
}

static int
check_key(const struct pt_sign_key *k, void *arg)
{
    struct check *c = arg;
    xmlSecDSigCtx d;
    int ok = 0;

    struct tf_ctx *arena = tf_xml_alloc_pause(); /* xmlsec1's churn on the heap (xml_alloc.h) */

    if (tf_xd_ctx_init(c->in, &d, key_of(k)) == 0) {
        if (xmlSecDSigCtxVerify(&d, c->sig) == 0 && d.status == xmlSecDSigStatusSucceeded) {
            ok = 1;
            tf_xd_signed_info(c->x, &d, &c->signed_info, &c->n);
        }
        xmlSecDSigCtxFinalize(&d);
    }
    tf_xml_alloc_resume(arena);
    return ok;
}

/* The signed element alone, as the new document (a copy: the chain's document stays whole),
 * declaring every namespace in scope where it was, as inclusive C14N signed it (a QName in its
 * content, xsi:type="t:Amount", may use a prefix only an ancestor declared). */
static int
hand_on(struct tf_ctx *x, struct tf_message *m, xmlNodePtr target)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = doc != NULL ? xmlDocCopyNode(target, doc, 1) : NULL;
    xmlNsPtr *scope;

    if (copy == NULL) {
        xmlFreeDoc(doc);
        return x->fail(x, 500, "transform-failed", NULL, WHO ": out of memory");
    }
    xmlDocSetRootElement(doc, copy);
    if ((scope = xmlGetNsList(target->doc, target)) != NULL) {
        for (xmlNsPtr *ns = scope; *ns != NULL; ns++)
            if (xmlSearchNs(doc, copy, (*ns)->prefix) == NULL)
                xmlNewNs(copy, (*ns)->href, (*ns)->prefix);
        xmlFree(scope);
    }
    x->set_xml(x, m, doc);
    return 0;
}

int
tf_xd_verify(const struct xd_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    xmlDocPtr doc;
    struct scan s = { 0 };
    struct shape sh = { 0 };
    struct check c = { .in = in, .x = x };
    const struct pt_sign_key *k = NULL;
    const char *kid;
    int rc = TF_ERROR;

    /* no body is no signature (not a body to skip, as the other XML steps do) */
    if ((tf_body_forms(m) & TF_FORM_BYTES) && (m->body == NULL || m->body_len == 0))
        return tf_sig_refuse(x, m, "signature-missing", WHO ": the message has no body");
    if ((doc = x->body_xml(x, m, WHO)) == NULL)
        return TF_ERROR;
    s = (struct scan){ .x = x, .doc = doc };
    if ((s.ids = xmlHashCreate(16)) == NULL)
        return x->fail(x, 500, "transform-failed", NULL, WHO ": out of memory");
    scan_doc(&s, xmlDocGetRootElement(doc));
    if (s.nsig == 0) {
        tf_sig_refuse(x, m, "signature-missing", WHO ": the document carries no ds:Signature");
        goto out;
    }
    if (s.nsig > 1) {
        tf_sig_refuse(x, m, "signature-invalid", WHO ": the document carries %zu Signatures, one "
                      "is accepted (signature wrapping)", s.nsig);
        goto out;
    }
    if (s.dup == NULL)
        xmlHashScan(s.ids, register_id, &s);
    if (s.dup != NULL) {
        tf_sig_refuse(x, m, "signature-invalid", WHO ": two attributes carry the Id \"%.100s\" "
                      "(signature wrapping)", (const char *)s.dup);
        goto out;
    }
    sh.sig = c.sig = s.sig;
    if (s.sig->parent != (xmlNodePtr)xmlDocGetRootElement(doc)) {
        tf_sig_refuse(x, m, "signature-invalid", WHO ": the Signature is not a child of the "
                      "document element (signature wrapping)");
        goto out;
    }
    if (read_shape(x, m, in, &s, &sh) < 0)
        goto out;
    if (tf_sig_find_signer(x, m, WHO, sh.alg, sh.kid, sh.has_x5t ? sh.x5t : NULL, check_key, &c,
                           &k) < 0)
        goto out;
    kid = sh.kid;
    if (kid == NULL && k->kid != NULL)
        kid = dup_str(x, k->kid);
    tf_sig_note(x, m, WHO, sh.alg, TF_SIG_XML, kid, k, NULL, c.signed_info, c.n);
    rc = TF_DONE;
    if (sh.target != xmlDocGetRootElement(doc) && hand_on(x, m, sh.target) < 0)
        rc = TF_ERROR;
out:
    xmlHashFree(s.ids, NULL);
    return rc;
}

/* ---- the step -------------------------------------------------------------------------------- */

static int
xd_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct xd_inst *in = inst;

    return in->sign ? tf_xd_sign(in, m, x) : tf_xd_verify(in, m, x);
}

const struct tf_ops tf_xmldsig_ops = {
    .abi = TF_ABI_VERSION,
    .name = "xmldsig",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = tf_xd_create,
    .apply = xd_apply,
    .destroy = tf_xd_destroy,
    .takes = TF_FORM_XML,
};
