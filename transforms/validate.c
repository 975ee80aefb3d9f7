/* validate.c: the `validate` transform at run time: check the body against the compiled schema
 * and fail the exchange with the list of errors when it does not match. The configuration is
 * compiled by validate_conf.c.
 *
 * Failures: in the request phase 400 "validation-failed", in the response phase 502
 * "bad-upstream-response", the errors in the problem body as
 * [{"path": "/items/0/qty", "message": "..."}] (JSON; a JSON pointer) or
 * [{"path": "/Document/GrpHdr/MsgId", "line": 5, "message": "..."}] (XML; local names, with a
 * [n] position where an element has same-named siblings), at most max_errors of them.
 */
#include "builtins_json.h"

#include <stdio.h>
#include <string.h>

#include <libxml/xmlerror.h>

#include "body_forms.h"
#include "validate.h"
#include "xml_util.h"

struct vd_errors {
    json_t *list;
    size_t max, count;
};

static int
vd_fail(const struct tf_message *m, struct tf_ctx *x, struct vd_errors *e, const char *what)
{
    int resp = m->phase == TF_PHASE_RESPONSE;

    return x->fail(x, resp ? 502 : 400, resp ? "bad-upstream-response" : "validation-failed",
                   e->list, "validate: the %s body does not match the %s (%zu error%s%s)",
                   resp ? "response" : "request", what, e->count, e->count == 1 ? "" : "s",
                   e->count > e->max ? ", the first ones listed" : "");
}

static int
vd_wrong_media(const struct vd_inst *in, const struct tf_message *m, struct tf_ctx *x)
{
    const char *want = in->xsd != NULL ? "XML" : "JSON";

    if (!in->strict)
        return TF_SKIP;
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL,
                       "validate: the upstream's response is not %s", want);
    return x->fail(x, 415, "unsupported-media-type", NULL,
                   "validate: the request body must be %s", want);
}

/* ---- XML ------------------------------------------------------------------------------------- */

static int
vd_same_name(const xmlNode *a, const xmlNode *b)
{
    return a->type == XML_ELEMENT_NODE && xmlStrEqual(a->name, b->name);
}

/* The 1-based position of element n among its same-named siblings into *pos; returns whether it
 * has any (only then does its path show the position). */
static int
vd_position(const xmlNode *n, size_t *pos)
{
    int others = 0;

    *pos = 1;
    for (const xmlNode *s = n->prev; s != NULL; s = s->prev)
        if (vd_same_name(s, n))
            (*pos)++, others = 1;
    for (const xmlNode *s = n->next; s != NULL && !others; s = s->next)
        others = vd_same_name(s, n);
    return others;
}

/* "/Document/CdtTrfTxInf[2]/Amt" or ".../@Ccy" for node, into buf. */
static const char *
vd_xml_path(const xmlNode *node, char *buf, size_t len)
{
    const xmlNode *chain[128];
    size_t n = 0, off = 0, pos;

    buf[0] = '\0';
    for (const xmlNode *c = node; c != NULL && n < 128; c = c->parent)
        if (c->type == XML_ELEMENT_NODE || c->type == XML_ATTRIBUTE_NODE)
            chain[n++] = c;
    while (n-- > 0 && off < len) {
        const xmlNode *c = chain[n];
        if (c->type == XML_ATTRIBUTE_NODE) {
            off += (size_t)snprintf(buf + off, len - off, "/@%s", (const char *)c->name);
        } else if (vd_position(c, &pos)) {
            off += (size_t)snprintf(buf + off, len - off, "/%s[%zu]", (const char *)c->name, pos);
        } else {
            off += (size_t)snprintf(buf + off, len - off, "/%s", (const char *)c->name);
        }
    }
    return buf;
}

/* Drop a UTF-8 sequence that snprintf cut at the end of s, and trailing blanks and newlines. */
static void
vd_trim(char *s)
{
    size_t n = strlen(s), lead = n;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead > 0 && ((unsigned char)s[lead - 1] & 0x80)) {
        unsigned char c = (unsigned char)s[lead - 1];
        size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (n - (lead - 1) < want)
            s[n = lead - 1] = '\0';
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void
vd_xml_error(void *arg, xmlErrorPtr e)
{
    struct vd_errors *errs = arg;
    char path[1024], msg[1024];
    json_t *item;

    if (++errs->count > errs->max)
        return;
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "invalid");
    vd_trim(msg);
    vd_xml_path(e->node, path, sizeof path);
    vd_trim(path);
    item = json_pack("{s:s,s:i,s:s}", "path", path, "line", e->line, "message", msg);
    if (item == NULL) /* not UTF-8 after all: keep the line */
        item = json_pack("{s:s,s:i,s:s}", "path", "", "line", e->line, "message", "invalid");
    json_array_append_new(errs->list, item);
}

static int
vd_apply_xml(const struct vd_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    struct vd_errors errs = {json_array(), in->max_errors, 0};
    xmlSchemaValidCtxtPtr vc;
    xmlDocPtr doc;
    int rc;

    /* the chain's document (parsed now, or kept from a step before): validation only reads it,
     * and it stays the message's for the steps after */
    if ((doc = x->body_xml(x, m, "validate")) == NULL) {
        json_decref(errs.list);
        return TF_ERROR;
    }
    /* the schema is shared read-only; a validation context is one exchange's */
    if ((vc = xmlSchemaNewValidCtxt(in->xsd)) == NULL)
        abort();
    xmlSchemaSetValidStructuredErrors(vc, vd_xml_error, &errs);
    rc = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    if (rc == 0) {
        json_decref(errs.list);
        return TF_DONE;
    }
    if (rc < 0 || errs.count == 0) {
        json_decref(errs.list);
        return x->fail(x, 500, "transform-failed", NULL,
                       "validate: libxml2 could not validate the body (%d)", rc);
    }
    return vd_fail(m, x, &errs, "XML Schema");
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* The check reads the chain's JSON document (parsed now when the body is held as bytes, and then
 * kept beside them) and leaves the body as it is held: validate never changes it. */
static int
vd_apply_json(const struct vd_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    struct vd_errors errs = {NULL, in->max_errors, 0};
    struct jv *doc;

    if ((doc = x->body_json(x, m, "validate")) == NULL)
        return TF_ERROR;
    errs.list = json_array();
    errs.count = tf_jschema_check(in->json, doc, errs.list, in->max_errors);
    if (errs.count == 0) {
        json_decref(errs.list);
        return TF_DONE;
    }
    return vd_fail(m, x, &errs, "JSON Schema");
}

int
tf_vd_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct vd_inst *in = inst;

    /* no body to check, whatever Content-Type says: as the chain runner (a body held as a
     * document is never empty) */
    if ((tf_body_forms(m) & TF_FORM_BYTES) && (m->body == NULL || m->body_len == 0))
        return TF_SKIP;
    if (in->xsd != NULL)
        return tf_is_xml(m, x) ? vd_apply_xml(in, m, x) : vd_wrong_media(in, m, x);
    return tf_is_json(m, x) ? vd_apply_json(in, m, x) : vd_wrong_media(in, m, x);
}
