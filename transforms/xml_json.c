/* xml_json.c: the xml_to_json and json_to_xml transforms (see xml_json.h for the convention,
 * xml_json_conf.c for their configuration). The conversions they run: xml_to_json.c and
 * json_to_xml.c (with json_to_xml_ns.c and json_tree.c), over what xj_convention.c shares.
 */
#include "xml_json.h"

#include <string.h>

static int
fail_body(struct tf_ctx *x, const struct tf_message *m, enum tf_threat why, const char *who,
          const char *err)
{
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL, "%s: %s", who, err);
    if (why == TF_THREAT_TOO_LARGE)
        return x->fail(x, 413, "body-too-large", NULL, "%s: %s", who, err);
    return x->fail(x, tf_threat_status(why), "invalid-body", NULL, "%s: %s", who, err);
}

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

static int
xml_to_json_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct tf_xj *c = inst;
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc;
    char *out;
    size_t len;

    if (m->body == NULL || m->body_len == 0)
        return TF_SKIP;
    if (!tf_is_xml(m, x))
        return wrong_type(c, m, x, "xml_to_json", "XML");
    doc = tf_xml_parse(m->body, m->body_len, x->limits, &why, err, sizeof err);
    if (doc == NULL)
        return fail_body(x, m, why, "xml_to_json", err);
    out = tf_xml_to_json(c, doc, x, &len, &why, err, sizeof err);
    xmlFreeDoc(doc);
    if (out == NULL)
        return fail_body(x, m, why, "xml_to_json", err);
    m->body = out;
    m->body_len = len;
    x->header_set(x, m, "Content-Type", "application/json", 16);
    return TF_DONE;
}

static int
json_to_xml_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct tf_xj *c = inst;
    enum tf_threat why;
    char err[256];
    char *out;
    size_t len;

    if (m->body == NULL || m->body_len == 0)
        return TF_SKIP;
    if (!tf_is_json(m, x))
        return wrong_type(c, m, x, "json_to_xml", "JSON");
    out = tf_json_to_xml(c, m->body, m->body_len, x, &len, &why, err, sizeof err);
    if (out == NULL)
        return fail_body(x, m, why, "json_to_xml", err);
    m->body = out;
    m->body_len = len;
    x->header_set(x, m, "Content-Type", "application/xml", 15);
    return TF_DONE;
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
