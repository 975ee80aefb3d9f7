/* xml_map_conf.c: the xml_map transform's configuration: namespaces, and fields compiled into the
 * output tree with their XPath expressions (see xml_map.h).
 *
 *   { "xml_map": {
 *       "namespaces": { "p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" },
 *       "fields": {
 *         "/msgId": "string(/p:Document/p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId)",
 *         "/count": { "xpath": "count(//p:CdtTrfTxInf)", "type": "number" },
 *         "/payments": { "xpath": "//p:CdtTrfTxInf", "type": "array",
 *                        "fields": { "/id": "string(p:PmtId/p:EndToEndId)" } } } } }
 */
#include "xml_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpathInternals.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"
#include "xml_util.h"

#define ERRLEN 256

/* What compiling needs besides the config: the instance (its namespaces) and a document to try
 * every expression on once. */
struct xm_load {
    const struct tf_conf *cc;
    struct xm_inst *in;
    xmlDocPtr trial;
};

/* libxml2 hands an XPath context's handler the error code and the expression, not the text. */
static const char *
xpath_message(int code)
{
    static const char *const msgs[] = {
        "ok", "number encoding", "unfinished literal", "start of literal",
        "expected $ for variable reference", "undefined variable", "invalid predicate",
        "invalid expression", "missing closing curly brace", "unregistered function",
        "invalid operand", "invalid type", "invalid number of arguments", "invalid context size",
        "invalid context position", "memory allocation error", "syntax error", "resource error",
        "sub resource error", "undefined namespace prefix", "encoding error",
        "character out of XML range", "invalid or incomplete context", "stack usage error",
        "forbidden variable", "operation limit exceeded", "recursion limit exceeded",
    };
    int i = code - XML_XPATH_EXPRESSION_OK;

    return i >= 0 && i < (int)(sizeof msgs / sizeof msgs[0]) ? msgs[i] : "XPath error";
}

void
tf_xm_xpath_error(void *userData, xmlErrorPtr e)
{
    char *buf = userData;

    if (buf[0] != '\0') /* keep the first: the later ones follow from it */
        return;
    if (e->domain == XML_FROM_XPATH && e->str1 != NULL && e->int1 > 0 &&
        e->code != XML_XPATH_UNKNOWN_FUNC_ERROR && e->code != XML_XPATH_UNDEF_VARIABLE_ERROR)
        snprintf(buf, ERRLEN, "%s at character %d", xpath_message(e->code), e->int1 + 1);
    else
        snprintf(buf, ERRLEN, "%s", xpath_message(e->code));
}

static void __attribute__((format(printf, 2, 3)))
quiet(void *ctx, const char *fmt, ...)
{
    (void)ctx, (void)fmt;
}

void
tf_xm_quiet_begin(struct xm_quiet *q)
{
    q->fn = xmlGenericError;
    q->ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, quiet);
}

void
tf_xm_quiet_end(const struct xm_quiet *q)
{
    xmlSetGenericErrorFunc(q->ctx, q->fn);
}

void
tf_xm_obj_free(struct xm_obj *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n; i++) {
        struct xm_member *m = &o->m[i];
        free(m->name);
        free(m->pointer);
        free(m->expr);
        xmlXPathFreeCompExpr(m->xpath);
        tf_xm_obj_free(m->obj);
    }
    free(o->m);
    free(o);
}

void
tf_xml_map_destroy(void *p)
{
    struct xm_inst *in = p;

    if (in == NULL)
        return;
    for (int i = 0; i < in->nns; i++)
        xmlFreeNs(in->ns[i]);
    free(in->ns);
    tf_xm_obj_free(in->root);
    free(in);
}

/* ---- namespaces ------------------------------------------------------------------------------- */

static void
namespaces_load(struct xm_load *ld)
{
    const struct tf_conf *cc = ld->cc;
    json_t *obj = gw_jctx_get(tf_conf_jctx(cc), cc->config, cc->path, "namespaces", JSON_OBJECT, 0);
    char sub[GW_JPATH_MAX];
    const char *prefix;
    json_t *v;

    if (obj == NULL)
        return;
    ld->in->ns = gw_xcalloc(json_object_size(obj) + 1, sizeof *ld->in->ns);
    json_object_foreach(obj, prefix, v) {
        gw_jpath_key(sub, sizeof sub, "namespaces", prefix);
        if (*prefix == '\0')
            cc->error(cc, sub, "XPath 1.0 names have no default namespace: give it a prefix");
        else if (xmlValidateNCName((const xmlChar *)prefix, 0) != 0)
            cc->error(cc, sub, "\"%s\" is not a prefix (an XML name without ':')", prefix);
        else if (strcmp(prefix, "xml") == 0 || strcmp(prefix, "xmlns") == 0)
            cc->error(cc, sub, "\"%s\" is a reserved prefix", prefix);
        else if (!json_is_string(v) || json_string_length(v) == 0)
            cc->error(cc, sub, "expected a namespace URI (a non-empty string)");
        else
            ld->in->ns[ld->in->nns++] =
                xmlNewNs(NULL, (const xmlChar *)json_string_value(v), (const xmlChar *)prefix);
    }
}

/* Every prefix expr uses must be declared. Reports the first that is not; returns 0 or -1. */
static int
prefixes_check(struct xm_load *ld, const char *sub, const char *expr)
{
    size_t n;
    const char *p = tf_xpath_undeclared_prefix(expr, ld->in->ns, ld->in->nns, &n);

    if (p == NULL)
        return 0;
    ld->cc->error(ld->cc, sub, "prefix \"%.*s\" is not declared in \"namespaces\"", (int)n, p);
    return -1;
}

/* ---- expressions ------------------------------------------------------------------------------ */

/* Compile expr (at sub) and try it once on a small document, so that unknown functions, variables
 * and type errors show now rather than on the first exchange. */
static xmlXPathCompExprPtr
xpath_compile(struct xm_load *ld, const char *sub, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(ld->trial);
    xmlXPathCompExprPtr comp = NULL;
    xmlXPathObjectPtr res;
    char err[ERRLEN] = "";

    if (ctx == NULL)
        abort();
    ctx->error = tf_xm_xpath_error;
    ctx->userData = err;
    ctx->namespaces = ld->in->ns;
    ctx->nsNr = ld->in->nns;
    comp = xmlXPathCtxtCompile(ctx, (const xmlChar *)expr);
    if (comp == NULL) {
        ld->cc->error(ld->cc, sub, "invalid XPath expression \"%s\": %s", expr,
                      err[0] ? err : "syntax error");
    } else if (prefixes_check(ld, sub, expr) == 0) {
        struct xm_quiet q;
        ctx->node = xmlDocGetRootElement(ld->trial);
        ctx->contextSize = 1;
        ctx->proximityPosition = 1;
        tf_xm_quiet_begin(&q);
        res = xmlXPathCompiledEval(comp, ctx);
        tf_xm_quiet_end(&q);
        if (res == NULL || err[0] != '\0')
            ld->cc->error(ld->cc, sub, "XPath expression \"%s\": %s", expr,
                          err[0] ? err : "cannot be evaluated");
        xmlXPathFreeObject(res);
    }
    xmlXPathFreeContext(ctx);
    if (comp != NULL && err[0] != '\0') {
        xmlXPathFreeCompExpr(comp);
        comp = NULL;
    }
    return comp;
}

/* ---- the output tree -------------------------------------------------------------------------- */

static struct xm_member *
obj_find(struct xm_obj *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->m[i].name, name) == 0)
            return &o->m[i];
    return NULL;
}

static struct xm_member *
obj_add(struct xm_obj *o, const char *name)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 8;
        o->m = gw_xrealloc(o->m, o->cap * sizeof *o->m);
    }
    o->m[o->n] = (struct xm_member){ .name = strdup(name) };
    return &o->m[o->n++];
}

/* Split a JSON pointer into its tokens ("~1" is '/', "~0" is '~'), in place in a copy. Returns
 * the number of tokens, or -1 after reporting. */
static int
pointer_split(const struct tf_conf *cc, const char *sub, const char *ptr, char *copy,
              char **tok, int max)
{
    int n = 0;
    char *w = copy;

    if (ptr[0] != '/') {
        cc->error(cc, sub, "\"%s\" is not a JSON pointer (start it with '/')", ptr);
        return -1;
    }
    for (const char *p = ptr; *p != '\0';) {
        if (n == max) {
            cc->error(cc, sub, "\"%s\": more than %d levels", ptr, max);
            return -1;
        }
        tok[n++] = w;
        for (p++; *p != '\0' && *p != '/'; p++) {
            if (*p == '~' && (p[1] == '0' || p[1] == '1'))
                *w++ = *++p == '0' ? '~' : '/';
            else if (*p == '~') {
                cc->error(cc, sub, "\"%s\": '~' must be followed by 0 ('~') or 1 ('/')", ptr);
                return -1;
            } else
                *w++ = *p;
        }
        *w++ = '\0';
        if (tok[n - 1][0] == '\0') {
            cc->error(cc, sub, "\"%s\": empty member name", ptr);
            return -1;
        }
    }
    return n;
}

/* The member a pointer names in o, objects on the way made as needed. NULL after reporting a
 * clash with another field. */
static struct xm_member *
place(const struct tf_conf *cc, const char *sub, struct xm_obj *o, const char *ptr)
{
    char copy[GW_JPATH_MAX], *tok[32];
    struct xm_member *m;
    int n;

    if (strlen(ptr) >= sizeof copy) {
        cc->error(cc, sub, "pointer too long");
        return NULL;
    }
    if ((n = pointer_split(cc, sub, ptr, copy, tok, 32)) < 0)
        return NULL;
    for (int i = 0; i < n - 1; i++) {
        if ((m = obj_find(o, tok[i])) == NULL) {
            m = obj_add(o, tok[i]);
            m->type = XM_OBJECT;
            m->obj = gw_xcalloc(1, sizeof *m->obj);
        } else if (m->type != XM_OBJECT) {
            cc->error(cc, sub, "\"%s\" is inside the value of field \"%s\"", ptr, m->pointer);
            return NULL;
        }
        o = m->obj;
    }
    if ((m = obj_find(o, tok[n - 1])) != NULL) {
        cc->error(cc, sub, "\"%s\" is already an object made by other fields", ptr);
        return NULL;
    }
    return obj_add(o, tok[n - 1]);
}

/* ---- fields ----------------------------------------------------------------------------------- */

static int
type_parse(const char *s, enum xm_type *t)
{
    static const char *const names[] = { "string", "number", "boolean", "exists", "array" };

    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *t = (enum xm_type)i;
            return 0;
        }
    return -1;
}

static int fields_load(struct xm_load *ld, const char *sub, const json_t *fields, struct xm_obj *o,
                       int depth);

/* A string member of the field object at fsub (NULL when absent or reported). */
static const char *
field_string(struct xm_load *ld, const json_t *v, const char *fsub, const char *key)
{
    char sub[GW_JPATH_MAX];
    json_t *s = json_object_get(v, key);

    if (s == NULL || json_is_string(s))
        return json_string_value(s);
    gw_jpath_key(sub, sizeof sub, fsub, key);
    ld->cc->error(ld->cc, sub, "expected a string, got %s", gw_json_type_name(s));
    return NULL;
}

/* "type", "items", "missing" and "fields" of a field object. */
static void
field_options(struct xm_load *ld, const char *fsub, const json_t *v, struct xm_member *m,
              int depth)
{
    const struct tf_conf *cc = ld->cc;
    const char *type = field_string(ld, v, fsub, "type");
    const char *items = field_string(ld, v, fsub, "items");
    const char *missing = field_string(ld, v, fsub, "missing");
    const json_t *fields = json_object_get(v, "fields");
    char sub[GW_JPATH_MAX];

    gw_jpath_key(sub, sizeof sub, fsub, "type");
    if (type != NULL && type_parse(type, &m->type) < 0)
        cc->error(cc, sub, "\"%s\" is not a type (string, number, boolean, exists or array)", type);
    gw_jpath_key(sub, sizeof sub, fsub, "items");
    if (items != NULL && (m->type != XM_ARRAY || fields != NULL))
        cc->error(cc, sub, "\"items\" goes with \"type\": \"array\" and no \"fields\"");
    else if (items != NULL && (type_parse(items, &m->items) < 0 || m->items > XM_BOOLEAN))
        cc->error(cc, sub, "\"%s\" is not an item type (string, number or boolean)", items);
    gw_jpath_key(sub, sizeof sub, fsub, "missing");
    if (missing != NULL && (m->type == XM_ARRAY || m->type == XM_EXISTS))
        cc->error(cc, sub, "an %s always has a value", m->type == XM_ARRAY ? "array" : "exists");
    else if (missing != NULL && strcmp(missing, "omit") != 0 && strcmp(missing, "null") != 0 &&
             strcmp(missing, "fail") != 0)
        cc->error(cc, sub, "\"%s\" is not \"omit\", \"null\" or \"fail\"", missing);
    else if (missing != NULL)
        m->missing = missing[0] == 'o' ? XM_OMIT : missing[0] == 'n' ? XM_NULL : XM_FAIL;
    if (fields == NULL)
        return;
    gw_jpath_key(sub, sizeof sub, fsub, "fields");
    if (m->type != XM_ARRAY)
        cc->error(cc, sub, "\"fields\" goes with \"type\": \"array\" (an object per node)");
    else if (depth >= XM_MAX_NESTING)
        cc->error(cc, sub, "arrays of objects nest %d deep at most", XM_MAX_NESTING);
    else
        fields_load(ld, sub, fields, m->obj = gw_xcalloc(1, sizeof *m->obj), depth + 1);
}

/* One field: "pointer": "xpath" or "pointer": { "xpath": ..., options }. */
static void
field_load(struct xm_load *ld, const char *fsub, const char *ptr, const json_t *v,
           struct xm_obj *o, int depth)
{
    static const char *const keys[] = { "xpath", "type", "items", "missing", "fields", NULL };
    const struct tf_conf *cc = ld->cc;
    char sub[GW_JPATH_MAX], full[GW_JPATH_MAX];
    const char *expr = json_string_value(v);
    struct xm_member *m;

    if (json_is_object(v)) {
        gw_jctx_check_keys(tf_conf_jctx(cc), v, gw_jpath_key(full, sizeof full, cc->path, fsub),
                           keys);
        gw_jpath_key(sub, sizeof sub, fsub, "xpath");
        expr = field_string(ld, v, fsub, "xpath");
        if (json_object_get(v, "xpath") == NULL)
            cc->error(cc, sub, "required key \"xpath\" is missing");
    } else if (expr == NULL) {
        cc->error(cc, fsub, "expected an XPath expression or an object { \"xpath\": ... }, got %s",
                  gw_json_type_name(v));
        return;
    } else {
        snprintf(sub, sizeof sub, "%s", fsub);
    }
    if ((m = place(cc, fsub, o, ptr)) == NULL)
        return;
    m->pointer = strdup(ptr);
    m->expr = strdup(expr ? expr : "");
    if (json_is_object(v))
        field_options(ld, fsub, v, m, depth);
    if (expr != NULL)
        m->xpath = xpath_compile(ld, sub, expr);
}

static int
fields_load(struct xm_load *ld, const char *sub, const json_t *fields, struct xm_obj *o, int depth)
{
    const struct tf_conf *cc = ld->cc;
    char fsub[GW_JPATH_MAX];
    const char *ptr;
    json_t *v;

    if (!json_is_object(fields) || json_object_size(fields) == 0) {
        cc->error(cc, sub, "expected a non-empty object { \"/pointer\": \"xpath\" }, got %s",
                  json_is_object(fields) ? "an empty object" : gw_json_type_name(fields));
        return -1;
    }
    json_object_foreach((json_t *)fields, ptr, v) {
        gw_jpath_key(fsub, sizeof fsub, sub, ptr);
        field_load(ld, fsub, ptr, v, o, depth);
    }
    return 0;
}

void *
tf_xml_map_create(const struct tf_conf *cc)
{
    static const char *const keys[] = { "namespaces", "fields", NULL };
    const struct gw_jctx *j = tf_conf_jctx(cc);
    size_t errors = j->d->errors;
    struct xm_load ld = { .cc = cc };
    json_t *fields;

    xmlInitParser();
    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object { \"fields\": { \"/pointer\": \"xpath\" } }, "
                  "got %s", gw_json_type_name(cc->config));
        return NULL;
    }
    ld.in = gw_xcalloc(1, sizeof *ld.in);
    ld.in->root = gw_xcalloc(1, sizeof *ld.in->root);
    ld.trial = xmlReadMemory("<trial/>", 8, NULL, NULL, XML_PARSE_NONET);
    gw_jctx_check_keys(j, cc->config, cc->path, keys);
    namespaces_load(&ld);
    if ((fields = gw_jctx_get(j, cc->config, cc->path, "fields", JSON_OBJECT, 1)) != NULL)
        fields_load(&ld, "fields", fields, ld.in->root, 0);
    xmlFreeDoc(ld.trial);
    if (j->d->errors > errors) {
        tf_xml_map_destroy(ld.in);
        return NULL;
    }
    return ld.in;
}
