/* capture.c: a body as the audit event keeps it: redacted, cut at the cap, base64 when it is not
 * text. The configuration is compiled by capture_conf.c; capture.h gives the contract.
 *
 * Redaction works on the parsed document, never on the text: a JSON body is read by the one JSON
 * reader under the threat limits into the transforms' JSON document (json_tree.h: number
 * literals kept), every pointer replaces the values it reaches, and the tree is written again; an XML body goes through tf_xml_parse (no
 * DTD, no network), every expression's nodes get their content replaced, and the document is
 * serialized again. Anything that goes wrong on the way withholds the body.
 */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/xmlsave.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>

#include "arena.h"
#include "context.h"
#include "json_tree.h"
#include "text.h"
#include "threat.h"
#include "xml_map.h" /* tf_xm_xpath_error, tf_xm_quiet_* */

/* XPath operations one expression may take on one body (libxml2's opLimit). A node-selecting
 * expression is linear in the document: //x over the largest document the limits let in
 * (max_nodes, 1,000,000) takes about 2,000,000; a quadratic one fails here, and the body is
 * withheld, rather than holding a worker. */
#define AU_XPATH_OP_LIMIT 50000000UL

enum au_capture_mode
au_capture_mode(const struct au_capture *cap)
{
    return cap != NULL ? cap->mode : AU_CAPTURE_DIGEST;
}

size_t
au_capture_max(const struct au_capture *cap)
{
    return cap != NULL ? cap->max : AU_CAPTURE_MAX_DEFAULT;
}

/* ---- text, the cap and base64 ---------------------------------------------------------------- */

/* How many bytes at the start of s[0..n) are UTF-8 (n when all are). */
static size_t
utf8_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
        } else if ((k = gw_utf8_len(s + i, n - i)) > 0) {
            i += k;
        } else {
            return i;
        }
    }
    return n;
}

/* Is s[0..n) (1 to 3 bytes) the start of a UTF-8 character that a cut split? Completed with
 * continuation bytes, it must read as one character. 0x80 suits every lead byte's second byte but
 * E0 and F0's, 0xA0 every one but ED and F4's. */
static int
utf8_split(const unsigned char *s, size_t n)
{
    static const unsigned char pads[] = {0x80, 0xA0};
    unsigned char buf[4];

    if (n == 0 || n > 3)
        return 0;
    for (size_t k = 0; k < sizeof pads; k++) {
        memcpy(buf, s, n);
        memset(buf + n, pads[k], sizeof buf - n);
        if (gw_utf8_len(buf, sizeof buf) > n)
            return 1;
    }
    return 0;
}

static void
base64_add(struct gw_buf *out, const unsigned char *s, size_t n)
{
    if (gw_buf_reserve(out, 4 * ((n + 2) / 3) + 1) < 0) /* EVP_EncodeBlock writes a NUL */
        return;
    out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->p + out->len, s, (int)n);
}

/* Append s[0..len) cut at the cap: as text when it is UTF-8 (a character split by the cut goes
 * too), else base64. `complete` 0: s was cut already. */
static int
capture_raw(const struct au_capture *cap, const char *s, size_t len, int complete,
            struct gw_buf *out, int *truncated)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = len < cap->max ? len : cap->max;
    int cut = n < len || !complete;
    size_t ok = utf8_prefix(u, n);

    *truncated = cut;
    if (ok < n && cut && n - ok < 4 && utf8_split(u + ok, n - ok))
        n = ok;
    if (ok < n) {
        base64_add(out, u, len < cap->max ? len : cap->max);
        return AU_CAPTURED_BASE64;
    }
    if (n > 0)
        gw_buf_add(out, s, n);
    return AU_CAPTURED_TEXT;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static struct jv
redacted(void)
{
    return tf_jv_string(AU_REDACTED, sizeof AU_REDACTED - 1);
}

/* Replace what p reaches from node through its segments [i, n) (i < n). */
static void
jptr_redact(struct jv *node, const struct au_jptr *p, size_t i)
{
    const struct au_jseg *s = &p->segs[i];
    int last = i + 1 == p->n;
    struct jv *child;

    if (node->t == J_OBJ && s->wild) {
        for (size_t j = 0; j < node->n; j++)
            if (last)
                node->mems[j].v = redacted();
            else
                jptr_redact(&node->mems[j].v, p, i + 1);
    } else if (node->t == J_OBJ) {
        if ((child = tf_jv_get(node, s->key, strlen(s->key))) == NULL)
            return;
        if (last)
            *child = redacted();
        else
            jptr_redact(child, p, i + 1);
    } else if (node->t == J_ARR) {
        size_t from = s->wild ? 0 : (size_t)s->index;
        size_t to = s->wild ? node->n : (size_t)s->index + 1;
        if (!s->wild && (s->index < 0 || to > node->n))
            return;
        for (size_t j = from; j < to; j++)
            if (last)
                node->items[j] = redacted();
            else
                jptr_redact(&node->items[j], p, i + 1);
    }
}

/* Redact body[0..len) as JSON into to. Returns 0, or -1 when it does not parse. */
static int
redact_json(const struct au_capture *cap, const struct tf_limits *limits, const char *body,
            size_t len, struct gw_buf *to)
{
    struct tf_message m;
    struct gw_arena a;
    struct tf_ctx x;
    struct jv *root;
    const char *text;
    size_t n;
    int rc = -1;

    gw_arena_init(&a);
    tf_ctx_init(&x, &a, limits);
    tf_message_init(&m, TF_PHASE_REQUEST);
    m.body = (char *)body; /* only read */
    m.body_len = len;
    if ((root = x.body_json(&x, &m, "audit capture")) != NULL) {
        for (size_t i = 0; i < cap->njson; i++) {
            if (cap->json[i].n > 0)
                jptr_redact(root, &cap->json[i], 0);
            else
                *root = redacted();
        }
        if ((text = tf_jv_write(root, 0, 0, &x, &n)) != NULL) {
            gw_buf_add(to, text, n);
            rc = 0;
        }
    }
    tf_ctx_clear_error(&x);
    gw_arena_free(&a);
    return rc;
}

/* ---- XML ------------------------------------------------------------------------------------- */

static int
ptr_cmp(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;

    return x < y ? -1 : x > y;
}

/* Replace the content of every node of set: an element's (everything in it: text, CDATA, child
 * elements, comments; its attributes stay), an attribute's value, a text, comment or PI's text.
 * A node inside an element that is replaced too is left (it goes with the element): that is
 * decided for all of them first, as replacing frees nodes. "/" stands for the root element;
 * namespace nodes are not redacted (a namespace URI is no value). */
static int
redact_nodes(xmlDocPtr doc, const xmlNodeSet *set)
{
    xmlNodePtr *targets, *elems;
    size_t n, ne = 0;

    if (set == NULL || set->nodeNr <= 0)
        return 0;
    n = (size_t)set->nodeNr;
    targets = calloc(n, sizeof *targets);
    elems = calloc(n, sizeof *elems);
    if (targets == NULL || elems == NULL) {
        free(targets);
        free(elems);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr t = set->nodeTab[i];
        if (t->type == XML_DOCUMENT_NODE)
            t = xmlDocGetRootElement(doc);
        else if (t->type == XML_NAMESPACE_DECL)
            t = NULL;
        targets[i] = t;
        if (t != NULL && t->type == XML_ELEMENT_NODE)
            elems[ne++] = t;
    }
    qsort(elems, ne, sizeof *elems, ptr_cmp);
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr t = targets[i], p;
        if (t == NULL)
            continue;
        /* an attribute survives its own element's replacement, not an ancestor's */
        p = t->type == XML_ATTRIBUTE_NODE && t->parent != NULL ? t->parent->parent : t->parent;
        for (; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
            if (bsearch(&p, elems, ne, sizeof *elems, ptr_cmp) != NULL) {
                targets[i] = NULL;
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (targets[i] != NULL)
            xmlNodeSetContent(targets[i], (const xmlChar *)AU_REDACTED);
    free(targets);
    free(elems);
    return 0;
}

/* Run every expression on doc. Returns 0, or -1 when one failed (its error, the op limit). */
static int
xml_apply(const struct au_capture *cap, xmlDocPtr doc)
{
    xmlXPathContextPtr ctx;
    char err[256] = "";
    struct xm_quiet q;
    int rc = 0;

    xmlXPathOrderDocElems(doc);
    if ((ctx = xmlXPathNewContext(doc)) == NULL)
        return -1;
    ctx->namespaces = cap->ns;
    ctx->nsNr = cap->nns;
    ctx->error = tf_xm_xpath_error;
    ctx->userData = err;
    ctx->opLimit = AU_XPATH_OP_LIMIT;
    tf_xm_quiet_begin(&q);
    for (size_t i = 0; rc == 0 && i < cap->nxml; i++) {
        xmlXPathObjectPtr res;
        ctx->node = (xmlNodePtr)doc;
        ctx->contextSize = 1;
        ctx->proximityPosition = 1;
        ctx->opCount = 0;
        res = xmlXPathCompiledEval(cap->xml[i].comp, ctx);
        if (res == NULL || err[0] != '\0' || res->type != XPATH_NODESET ||
            redact_nodes(doc, res->nodesetval) < 0)
            rc = -1;
        xmlXPathFreeObject(res);
    }
    tf_xm_quiet_end(&q);
    xmlXPathFreeContext(ctx);
    return rc;
}

/* Redact body[0..len) as XML into to (UTF-8, no XML declaration: the text is UTF-8 whatever the
 * body declared). Returns 0, or -1 when it does not parse or an expression fails on it. */
static int
redact_xml(const struct au_capture *cap, const struct tf_limits *limits, const char *body,
           size_t len, struct gw_buf *to)
{
    enum tf_threat why = TF_THREAT_OK;
    xmlBufferPtr xb = NULL;
    xmlSaveCtxtPtr sc;
    char err[256];
    xmlDocPtr doc;
    int rc = -1;

    if ((doc = tf_xml_parse(body, len, limits, &why, err, sizeof err)) == NULL)
        return -1;
    if (xml_apply(cap, doc) < 0 || (xb = xmlBufferCreate()) == NULL)
        goto out;
    if ((sc = xmlSaveToBuffer(xb, "UTF-8", XML_SAVE_NO_DECL)) == NULL)
        goto out;
    rc = xmlSaveDoc(sc, doc) < 0 ? -1 : 0;
    if (xmlSaveClose(sc) < 0)
        rc = -1;
    if (rc == 0)
        gw_buf_add(to, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
out:
    xmlBufferFree(xb);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- the body -------------------------------------------------------------------------------- */

enum rules { R_NONE, R_JSON, R_XML, R_MISSING };

/* Which rules a body of type ct gets: none (captured as is), its own, or missing (withheld). */
static enum rules
rules_for(const struct au_capture *cap, const char *ct, size_t ct_len)
{
    if (!cap->redact)
        return R_NONE;
    if (ct != NULL && tf_media_is_json(ct, ct_len))
        return !cap->has_json ? R_MISSING : cap->njson > 0 ? R_JSON : R_NONE;
    if (ct != NULL && tf_media_is_xml(ct, ct_len))
        return !cap->has_xml ? R_MISSING : cap->nxml > 0 ? R_XML : R_NONE;
    return R_MISSING;
}

int
au_capture_body(const struct au_capture *cap, const struct tf_limits *limits,
                const char *content_type, size_t ct_len, const char *body, size_t len, int complete,
                struct gw_buf *out, int *truncated)
{
    struct gw_buf red = {0};
    struct tf_limits deflimits;
    enum rules r;
    int rc;

    *truncated = 0;
    if (au_capture_mode(cap) != AU_CAPTURE_BODY)
        return AU_CAPTURED_NONE;
    if (len == 0) {
        *truncated = !complete;
        return AU_CAPTURED_TEXT;
    }
    if ((r = rules_for(cap, content_type, ct_len)) == R_NONE)
        return capture_raw(cap, body, len, complete, out, truncated);
    if (r == R_MISSING || !complete)
        return AU_CAPTURED_WITHHELD;
    if (limits == NULL) {
        tf_limits_default(&deflimits);
        limits = &deflimits;
    }
    rc = r == R_JSON ? redact_json(cap, limits, body, len, &red)
                     : redact_xml(cap, limits, body, len, &red);
    if (rc < 0 || red.oom) {
        gw_buf_free(&red);
        return AU_CAPTURED_WITHHELD;
    }
    rc = capture_raw(cap, red.p, red.len, 1, out, truncated);
    gw_buf_free(&red);
    return rc;
}
