/* xml_util.c: see xml_util.h. */
#include "xml_util.h"

#include <string.h>

#include <libxml/xmlsave.h>

#include "body_forms.h"
#include "context.h"
#include "threat.h"

xmlDocPtr
tf_xml_body_parse(const struct tf_message *m, struct tf_ctx *x, const char *who)
{
    enum tf_threat why = TF_THREAT_OK;
    char err[256] = "";
    xmlDocPtr doc;

    doc = tf_xml_parse(m->body, m->body_len, x->limits, &why, err, sizeof err);
    if (doc == NULL)
        tf_body_refused(x, m, why, who, err);
    return doc;
}

int
tf_content_fail_status(const struct tf_message *m)
{
    return m->phase == TF_PHASE_REQUEST ? 400 : 502;
}

int
tf_body_empty(const struct tf_message *m)
{
    /* a body held only as a document has no bytes yet: it is not empty */
    return (tf_body_forms(m) & TF_FORM_BYTES) && (m->body == NULL || m->body_len == 0);
}

size_t
tf_body_max(const struct tf_ctx *x)
{
    uint64_t max = x->limits != NULL ? x->limits->max_body : (10u << 20);

    return max > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)max;
}

void
tf_arena_buf(struct gw_buf *b, struct tf_ctx *x, size_t max, size_t hint)
{
    gw_buf_init(b, tf_ctx_alloc, x, max, hint);
}

int
tf_xml_node_dump(struct gw_buf *b, xmlDocPtr doc, xmlNodePtr node)
{
    xmlBufferPtr xb = xmlBufferCreate();
    int rc = -1;

    if (xb == NULL)
        return -1;
    /* xmlNodeDump writes UTF-8 as is (no character references) and escapes markup */
    if (xmlNodeDump(xb, doc, node, 0, 0) >= 0) {
        gw_buf_add(b, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
        rc = 0;
    }
    xmlBufferFree(xb);
    return rc;
}

void
tf_set_body(struct tf_message *m, struct tf_ctx *x, char *body, size_t len,
            const char *content_type)
{
    m->body = body;
    m->body_len = len;
    m->form = TF_FORM_BYTES; /* what was parsed before no longer holds */
    m->json = NULL;
    tf_body_forms_drop_xml(m);
    if (content_type != NULL)
        x->header_set(x, m, "Content-Type", content_type, strlen(content_type));
}

int
tf_header_value_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    return 1;
}

static int
prefix_declared(xmlNsPtr *ns, int nns, const char *prefix, size_t n)
{
    if (n == 3 && strncmp(prefix, "xml", 3) == 0)
        return 1;
    for (int i = 0; i < nns; i++)
        if (strlen((const char *)ns[i]->prefix) == n &&
            strncmp((const char *)ns[i]->prefix, prefix, n) == 0)
            return 1;
    return 0;
}

static int
xpath_name_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

const char *
tf_xpath_undeclared_prefix(const char *expr, xmlNsPtr *ns, int nns, size_t *len)
{
    for (const char *p = expr; *p != '\0';) {
        if (*p == '\'' || *p == '"') {
            const char *end = strchr(p + 1, *p);
            p = end ? end + 1 : p + strlen(p);
            continue;
        }
        if (!xpath_name_char((unsigned char)*p) || (*p >= '0' && *p <= '9') || *p == '.' ||
            *p == '-') {
            p++;
            continue;
        }
        const char *start = p;
        while (xpath_name_char((unsigned char)*p))
            p++;
        if (p[0] == ':' && p[1] != ':' && !prefix_declared(ns, nns, start, (size_t)(p - start))) {
            *len = (size_t)(p - start);
            return start;
        }
    }
    return NULL;
}
