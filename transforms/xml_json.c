/* xml_json.c: the xml_to_json and json_to_xml transforms (see xml_json.h for the convention,
 * xml_json_conf.c for their configuration). The conversions they run: xml_to_json.c and
 * json_to_xml.c (with json_to_xml_ns.c and json_tree.c), over what xj_convention.c shares.
 */
#include "xml_json.h"

#include <string.h>

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

/* XML text to JSON text in x's arena, or NULL with why and err set. */
static char *
xml_text_to_json(const struct tf_xj *c, const struct tf_message *m, struct tf_ctx *x,
                 size_t *len, enum tf_threat *why, char *err, size_t errlen)
{
    xmlDocPtr doc = tf_xml_parse(m->body, m->body_len, x->limits, why, err, errlen);
    char *out;

    if (doc == NULL)
        return NULL;
    out = tf_xml_to_json(c, doc, x, len, why, err, errlen);
    xmlFreeDoc(doc);
    return out;
}

/* Either conversion: an empty body is skipped, one of another media type skipped or refused,
 * a refused one fails the exchange; the result becomes the body. */
static int
xj_apply(const struct tf_xj *c, struct tf_message *m, struct tf_ctx *x, int to_json)
{
    const char *who = to_json ? "xml_to_json" : "json_to_xml";
    enum tf_threat why;
    char err[256];
    char *out;
    size_t len;

    if (m->body == NULL || m->body_len == 0)
        return TF_SKIP;
    if (!(to_json ? tf_is_xml(m, x) : tf_is_json(m, x)))
        return wrong_type(c, m, x, who, to_json ? "XML" : "JSON");
    if (to_json)
        out = xml_text_to_json(c, m, x, &len, &why, err, sizeof err);
    else
        out = tf_json_to_xml(c, m->body, m->body_len, x, &len, &why, err, sizeof err);
    if (out == NULL)
        return tf_body_refused(x, m, why, who, err);
    m->body = out;
    m->body_len = len;
    x->header_set(x, m, "Content-Type", to_json ? "application/json" : "application/xml",
                  to_json ? 16 : 15);
    return TF_DONE;
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
};

const struct tf_ops tf_json_to_xml_ops = {
    .abi = TF_ABI_VERSION,
    .name = "json_to_xml",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = xj_create,
    .apply = json_to_xml_apply,
    .destroy = xj_destroy,
};
