/* xml_map.c: the xml_map transform at run time: evaluate the compiled fields over the XML body
 * and write the JSON object they describe as the new body (see xml_map.h; configuration in
 * xml_map_conf.c).
 *
 * The JSON is written directly, not built with jansson, so that a number taken from the XML is
 * written with its own text ("6.20" stays 6.20, jansson would print 6.2). Compiled XPath
 * expressions are shared by the workers (libxml2 only reads them); each run has its own XPath
 * context over its own document.
 */
#include "xml_map.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>

#include "builtins_xml.h"
#include "text.h"
#include "xml_util.h"

struct xm_run {
    struct tf_ctx *x;
    struct tf_message *m;
    xmlXPathContextPtr xp;
    struct gw_buf out;
    char path[512];  /* JSON pointer of the value being written, for messages */
    size_t plen;
    char err[256];   /* the last XPath error */
};

static int write_obj(struct xm_run *r, const struct xm_obj *o, xmlNodePtr node, int pos, int size);

/* ---- JSON text -------------------------------------------------------------------------------- */

/* An XPath number in the shortest text that reads back the same. */
static void
put_double(struct gw_buf *b, double v)
{
    char buf[40];

    if (v == 0)
        snprintf(buf, sizeof buf, "0");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    gw_buf_adds(b, buf);
}

/* ---- failures --------------------------------------------------------------------------------- */

static void
path_push(struct xm_run *r, const char *name, size_t *saved)
{
    *saved = r->plen;
    r->plen += (size_t)snprintf(r->path + r->plen, sizeof r->path - r->plen, "/%s", name);
    if (r->plen >= sizeof r->path)
        r->plen = sizeof r->path - 1;
}

static void
path_pop(struct xm_run *r, size_t saved)
{
    r->plen = saved;
    r->path[saved] = '\0';
}

/* The message's content does not fit the mapping: 400 on the request, 502 on the response. */
static int __attribute__((format(printf, 2, 3)))
content_fail(struct xm_run *r, const char *fmt, ...)
{
    char buf[512];

    GW_FORMAT_ARGS(buf, sizeof buf, fmt);
    return r->x->fail(r->x, tf_content_fail_status(r->m), "transform-failed", NULL,
                      "xml_map %s: %s", r->path, buf);
}

/* ---- values ----------------------------------------------------------------------------------- */

/* Trim XML white space. */
static const char *
trim(const char *s, size_t *n)
{
    size_t len = strlen(s);

    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
        len--;
    *n = len;
    return s;
}

/* Write text as the type: a string as is; a number or boolean from its (trimmed) text, empty
 * text being null. */
static int
put_text(struct xm_run *r, enum xm_type type, const char *text)
{
    size_t n;
    const char *t = trim(text, &n);

    if (type == XM_STRING) {
        gw_json_str(&r->out, text, strlen(text), 0);
        return 0;
    }
    if (n == 0) {
        gw_buf_adds(&r->out, "null");
        return 0;
    }
    if (type == XM_NUMBER) {
        if (!gw_json_number_ok(t, n))
            return content_fail(r, "\"%.*s\" is not a number", (int)(n > 64 ? 64 : n), t);
        gw_buf_add(&r->out, t, n);
        return 0;
    }
    if ((n == 4 && memcmp(t, "true", 4) == 0) || (n == 1 && *t == '1'))
        gw_buf_adds(&r->out, "true");
    else if ((n == 5 && memcmp(t, "false", 5) == 0) || (n == 1 && *t == '0'))
        gw_buf_adds(&r->out, "false");
    else
        return content_fail(r, "\"%.*s\" is not a boolean (true, false, 1 or 0)",
                            (int)(n > 64 ? 64 : n), t);
    return 0;
}

/* Does an XPath result hold no value (empty node-set, empty string, NaN)? */
static int
no_value(const xmlXPathObject *res)
{
    switch (res->type) {
    case XPATH_NODESET:
        return res->nodesetval == NULL || res->nodesetval->nodeNr == 0;
    case XPATH_STRING:
        return res->stringval == NULL || res->stringval[0] == '\0';
    case XPATH_NUMBER:
        return isnan(res->floatval);
    default:
        return 0;
    }
}

/* Write a scalar field's value (res has a value). */
static int
put_scalar(struct xm_run *r, enum xm_type type, xmlXPathObjectPtr res)
{
    xmlChar *text;
    int rc;

    if (type == XM_NUMBER && res->type == XPATH_NUMBER) {
        if (isinf(res->floatval))
            return content_fail(r, "%s is not a JSON number", res->floatval > 0 ? "Infinity"
                                                                                : "-Infinity");
        put_double(&r->out, res->floatval);
        return 0;
    }
    if (type == XM_BOOLEAN && (res->type == XPATH_BOOLEAN || res->type == XPATH_NUMBER)) {
        gw_buf_adds(&r->out, xmlXPathCastToBoolean(res) ? "true" : "false");
        return 0;
    }
    if (type == XM_NUMBER && res->type == XPATH_BOOLEAN) {
        gw_buf_adds(&r->out, res->boolval ? "1" : "0");
        return 0;
    }
    if ((text = xmlXPathCastToString(res)) == NULL)
        return r->x->fail(r->x, 500, "transform-failed", NULL, "xml_map: out of memory");
    rc = put_text(r, type, (const char *)text);
    xmlFree(text);
    return rc;
}

static int
put_array(struct xm_run *r, const struct xm_member *f, xmlXPathObjectPtr res)
{
    xmlNodeSetPtr set = res->nodesetval;
    int n = set != NULL ? set->nodeNr : 0;

    if (res->type != XPATH_NODESET)
        return r->x->fail(r->x, 500, "transform-failed", NULL,
                          "xml_map %s: \"%s\" gives no node-set for an array", r->path, f->expr);
    gw_buf_add(&r->out, "[", 1);
    for (int i = 0; i < n; i++) {
        char idx[16];
        size_t saved;
        int rc;
        if (i > 0)
            gw_buf_add(&r->out, ",", 1);
        snprintf(idx, sizeof idx, "%d", i);
        path_push(r, idx, &saved);
        if (f->obj != NULL) {
            rc = write_obj(r, f->obj, set->nodeTab[i], i + 1, n);
        } else {
            xmlChar *text = xmlXPathCastNodeToString(set->nodeTab[i]);
            rc = put_text(r, f->items, text ? (const char *)text : "");
            xmlFree(text);
        }
        if (rc < 0)
            return rc;
        path_pop(r, saved);
    }
    gw_buf_add(&r->out, "]", 1);
    return 0;
}

/* ---- objects ---------------------------------------------------------------------------------- */

static xmlXPathObjectPtr
eval(struct xm_run *r, const struct xm_member *f, xmlNodePtr node, int pos, int size)
{
    xmlXPathObjectPtr res;

    r->xp->node = node;
    r->xp->proximityPosition = pos;
    r->xp->contextSize = size;
    r->err[0] = '\0';
    res = xmlXPathCompiledEval(f->xpath, r->xp);
    if (res == NULL)
        r->x->fail(r->x, 500, "transform-failed", NULL, "xml_map %s: \"%s\" failed: %s", r->path,
                   f->expr, r->err[0] ? r->err : "XPath error");
    return res;
}

static void
put_key(struct xm_run *r, const char *name, int *first)
{
    if (!*first)
        gw_buf_add(&r->out, ",", 1);
    *first = 0;
    gw_json_str(&r->out, name, strlen(name), 0);
    gw_buf_add(&r->out, ":", 1);
}

/* Evaluate one field and write it as a member (or not, when it has no value and is omitted). */
static int
write_field(struct xm_run *r, const struct xm_member *f, xmlNodePtr node, int pos, int size,
            int *first)
{
    xmlXPathObjectPtr res = eval(r, f, node, pos, size);
    int rc = 0;

    if (res == NULL)
        return TF_ERROR;
    if (f->type == XM_EXISTS) {
        put_key(r, f->name, first);
        gw_buf_adds(&r->out, no_value(res) ? "false" : "true");
    } else if (f->type == XM_ARRAY) {
        put_key(r, f->name, first);
        rc = put_array(r, f, res);
    } else if (!no_value(res)) {
        put_key(r, f->name, first);
        rc = put_scalar(r, f->type, res);
    } else if (f->missing == XM_NULL) {
        put_key(r, f->name, first);
        gw_buf_adds(&r->out, "null");
    } else if (f->missing == XM_FAIL) {
        rc = content_fail(r, "\"%s\" has no value", f->expr);
    }
    xmlXPathFreeObject(res);
    return rc;
}

static int
write_obj(struct xm_run *r, const struct xm_obj *o, xmlNodePtr node, int pos, int size)
{
    int first = 1, rc = 0;

    gw_buf_add(&r->out, "{", 1);
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        const struct xm_member *f = &o->m[i];
        size_t saved;
        path_push(r, f->name, &saved);
        if (f->type == XM_OBJECT) {
            put_key(r, f->name, &first);
            rc = write_obj(r, f->obj, node, pos, size);
        } else {
            rc = write_field(r, f, node, pos, size, &first);
        }
        path_pop(r, saved);
    }
    gw_buf_add(&r->out, "}", 1);
    return rc;
}

static int
xml_map_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct xm_inst *in = inst;
    struct xm_run r = { .x = x, .m = m };
    struct xm_quiet q;
    xmlDocPtr doc;
    int rc;

    if (tf_body_empty(m))
        return TF_SKIP;
    /* the chain's document (parsed now, or kept from a step before): the fields only read it.
     * Numbering its elements for XPath's document order writes a cache libxml2 keeps in each
     * element (its unused content pointer), not the document's content. */
    if ((doc = x->body_xml(x, m, "xml_map")) == NULL)
        return TF_ERROR;
    xmlXPathOrderDocElems(doc);
    if ((r.xp = xmlXPathNewContext(doc)) == NULL)
        return x->fail(x, 500, "transform-failed", NULL, "xml_map: out of memory");
    r.xp->namespaces = in->ns;
    r.xp->nsNr = in->nns;
    r.xp->error = tf_xm_xpath_error;
    r.xp->userData = r.err;
    tf_arena_buf(&r.out, x, 0, m->body_len / 4 + 256);
    tf_xm_quiet_begin(&q);
    rc = write_obj(&r, in->root, (xmlNodePtr)doc, 1, 1);
    tf_xm_quiet_end(&q);
    xmlXPathFreeContext(r.xp);
    if (rc != 0)
        return rc;
    /* JSON text: the document is dropped with the bytes it was read from */
    tf_set_body(m, x, gw_buf_str(&r.out), r.out.len, "application/json");
    return TF_DONE;
}

const struct tf_ops tf_xml_map_ops = {
    .abi = TF_ABI_VERSION,
    .name = "xml_map",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = tf_xml_map_create,
    .apply = xml_map_apply,
    .destroy = tf_xml_map_destroy,
    .takes = TF_FORM_BYTES | TF_FORM_XML,
};
