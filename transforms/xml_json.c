/* xml_json.c: the xml_to_json and json_to_xml transforms (see xml_json.h for the convention,
 * xml_json_conf.c for their configuration). The conversions they run: xml_to_json.c and
 * json_to_xml.c (with json_to_xml_ns.c and json_tree.c), over what xj_convention.c shares.
 */
#include "xml_json.h"

#include <string.h>

#include "body_forms.h"
#include "xml_util.h"

/* A body of another media type: skipped, or refused when the step is strict. */
static int
wrong_type(const struct tf_xj *c, const struct tf_message *m, struct tf_ctx *x, const char *who,
           const char *want)
{
    const struct tf_header *h = x->header_get(m, "content-type");
    int n = h != NULL ? (int)(h->value_len > 100 ? 100 : h->value_len) : 4;
    const char *v = h != NULL ? h->value : "none";

    if (!c->strict)
        return TF_SKIP;
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL,
                       "%s: the upstream's body is not %s (Content-Type: %.*s)", who, want, n, v);
    return x->fail(x, 415, "unsupported-media-type", NULL,
                   "%s: the body is not %s (Content-Type: %.*s)", who, want, n, v);
}

/* XML to JSON: the body's document (parsed now unless a step before left one) into a JSON
 * document when the next step takes one, else into JSON text. */
static int
xml_to_json(const struct tf_xj *c, struct tf_message *m, struct tf_ctx *x)
{
    xmlDocPtr doc = x->body_xml(x, m, "xml_to_json");
    enum tf_threat why;
    char err[256], *out;
    size_t len;

    if (doc == NULL)
        return TF_ERROR;
    if (x->next_takes & TF_FORM_JSON) {
        x->set_json(x, m, tf_xml_to_json_tree(c, doc, x), c->pretty);
        x->header_set(x, m, "Content-Type", "application/json", 16);
        return TF_DONE;
    }
    if ((out = tf_xml_to_json(c, doc, x, &len, &why, err, sizeof err)) == NULL)
        return tf_body_refused(x, m, why, "xml_to_json", err);
    tf_set_body(m, x, out, len, "application/json");
    return TF_DONE;
}

/* JSON to XML: the body's document (read now unless a step before left one), into XML text. */
static int
json_to_xml(const struct tf_xj *c, struct tf_message *m, struct tf_ctx *x)
{
    size_t hint = tf_body_forms(m) & TF_FORM_BYTES ? m->body_len * 2 + 64 : 4096, len;
    struct jv *doc = x->body_json(x, m, "json_to_xml");
    enum tf_threat why;
    char err[256], *out;

    if (doc == NULL)
        return TF_ERROR;
    if ((out = tf_json_tree_to_xml(c, doc, hint, x, &len, &why, err, sizeof err)) == NULL)
        return tf_body_refused(x, m, why, "json_to_xml", err);
    tf_set_body(m, x, out, len, "application/xml");
    return TF_DONE;
}

/* Either conversion: an empty body is skipped, one of another media type skipped or refused,
 * a refused one fails the exchange; the result becomes the body. */
static int
xj_apply(const struct tf_xj *c, struct tf_message *m, struct tf_ctx *x, int to_json)
{
    if ((tf_body_forms(m) & TF_FORM_BYTES) && (m->body == NULL || m->body_len == 0))
        return TF_SKIP;
    if (!(to_json ? tf_is_xml(m, x) : tf_is_json(m, x)))
        return wrong_type(c, m, x, to_json ? "xml_to_json" : "json_to_xml",
                          to_json ? "XML" : "JSON");
    return to_json ? xml_to_json(c, m, x) : json_to_xml(c, m, x);
}

static int
xml_to_json_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    return xj_apply(inst, m, x, 1);
}

static int
json_to_xml_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    return xj_apply(inst, m, x, 0);
}

static void *
xj_create(const struct tf_conf *cc)
{
    return tf_xj_create(cc);
}

static void
xj_destroy(void *inst)
{
    tf_xj_free(inst);
}

const struct tf_ops tf_xml_to_json_ops = {
    .abi = TF_ABI_VERSION,
    .name = "xml_to_json",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = xj_create,
    .apply = xml_to_json_apply,
    .destroy = xj_destroy,
    .takes = TF_FORM_BYTES | TF_FORM_XML,
};

const struct tf_ops tf_json_to_xml_ops = {
    .abi = TF_ABI_VERSION,
    .name = "json_to_xml",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = xj_create,
    .apply = json_to_xml_apply,
    .destroy = xj_destroy,
    .takes = TF_FORM_BYTES | TF_FORM_JSON,
};
