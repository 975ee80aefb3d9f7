/* body_forms.c: see body_forms.h. */
#include "body_forms.h"

#include <stdio.h>

#include <libxml/tree.h>

#include "json_tree.h"
#include "threat.h"
#include "xml_util.h"

/* An XML document the message holds: freed when the body leaves that form, or with the
 * exchange (whichever comes first: a parsed request body is not kept while the upstream
 * answers). */
struct xml_hold {
    xmlDocPtr doc;
};

static void
free_hold(void *h)
{
    xmlFreeDoc(((struct xml_hold *)h)->doc);
}

static void
hold_xml(struct tf_ctx *x, struct tf_message *m, xmlDocPtr doc)
{
    struct xml_hold *h = x->alloc(x, sizeof *h);

    h->doc = doc;
    x->cleanup(x, free_hold, h);
    m->xml = doc;
    m->xml_hold = h;
}

void
tf_body_forms_drop_xml(struct tf_message *m)
{
    struct xml_hold *h = m->xml_hold;

    if (h != NULL) {
        xmlFreeDoc(h->doc);
        h->doc = NULL;
    }
    m->xml_hold = NULL;
    m->xml = NULL;
}

static const char *
body_bytes(struct tf_ctx *x, struct tf_message *m, size_t *len)
{
    unsigned forms = tf_body_forms(m);

    if (!(forms & TF_FORM_BYTES)) {
        char err[128];
        if (forms & TF_FORM_JSON) {
            m->body = tf_jv_write(m->json, m->json_pretty, tf_body_max(x), x, &m->body_len);
        } else {
            struct gw_buf b;
            tf_arena_buf(&b, x, tf_body_max(x), 4096);
            m->body = tf_xml_node_dump(&b, m->xml, xmlDocGetRootElement(m->xml)) == 0 && !b.over
                          ? gw_buf_str(&b) : NULL;
            m->body_len = b.len;
        }
        if (m->body == NULL) {
            snprintf(err, sizeof err, "the body written exceeds the limit of %zu bytes",
                     tf_body_max(x));
            tf_body_refused(x, m, TF_THREAT_TOO_LARGE, x->err_step ? x->err_step : "chain", err);
            return NULL;
        }
        m->form = forms | TF_FORM_BYTES;
    }
    *len = m->body_len;
    return m->body != NULL ? m->body : "";
}

static struct jv *
body_json(struct tf_ctx *x, struct tf_message *m, const char *who)
{
    const struct tf_limits *l = x->limits;
    enum tf_threat why = TF_THREAT_OK;
    struct tf_limits def;
    char err[256] = "";
    const char *bytes;
    struct jv *doc;
    size_t len;

    if (tf_body_forms(m) & TF_FORM_JSON)
        return m->json;
    if ((bytes = body_bytes(x, m, &len)) == NULL)
        return NULL;
    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    doc = x->alloc(x, sizeof *doc);
    /* the size first, as every JSON reader of a body does (413 "body-too-large": the reader
     * itself does not know the body limit) */
    if ((why = tf_body_precheck("JSON", len, SIZE_MAX, l, err, sizeof err)) != TF_THREAT_OK ||
        tf_json_tree_read(bytes, len, l, x, doc, &why, err, sizeof err) < 0) {
        tf_body_refused(x, m, why, who, err);
        return NULL;
    }
    m->json = doc;
    m->json_pretty = 0;
    m->form = tf_body_forms(m) | TF_FORM_JSON;
    return doc;
}

static struct _xmlDoc *
body_xml(struct tf_ctx *x, struct tf_message *m, const char *who)
{
    xmlDocPtr doc;
    size_t len;

    if (tf_body_forms(m) & TF_FORM_XML)
        return m->xml;
    if (body_bytes(x, m, &len) == NULL || (doc = tf_xml_body_parse(m, x, who)) == NULL)
        return NULL;
    hold_xml(x, m, doc);
    m->form = tf_body_forms(m) | TF_FORM_XML;
    return doc;
}

static void
set_json(struct tf_ctx *x, struct tf_message *m, struct jv *doc, int pretty)
{
    (void)x;
    tf_body_forms_drop_xml(m);
    m->json = doc;
    m->json_pretty = pretty;
    m->body = NULL;
    m->body_len = 0;
    m->form = TF_FORM_JSON;
}

static void
set_xml(struct tf_ctx *x, struct tf_message *m, struct _xmlDoc *doc)
{
    if (doc != m->xml) {
        tf_body_forms_drop_xml(m);
        hold_xml(x, m, doc);
    }
    m->json = NULL;
    m->body = NULL;
    m->body_len = 0;
    m->form = TF_FORM_XML;
}

void
tf_body_forms_after(struct tf_message *m, unsigned takes)
{
    /* a step on bytes may have written them without a word (a plugin built for ABI 1): what
     * was parsed before no longer holds; a step that takes documents says what it wrote */
    if ((takes & ~TF_FORM_BYTES) == 0) {
        tf_body_forms_drop_xml(m);
        m->form = TF_FORM_BYTES;
    }
}

void
tf_body_forms_init(struct tf_ctx *x)
{
    x->body_bytes = body_bytes;
    x->body_json = body_json;
    x->body_xml = body_xml;
    x->set_json = set_json;
    x->set_xml = set_xml;
}
