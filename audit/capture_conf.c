/* capture_conf.c: a route's "audit" object checked and compiled once, when its bundle loads. The
 * runtime is capture.c; capture.h says what a compiled capture holds.
 *
 *   "audit": {
 *     "capture": "body",            "none" | "digest" (default) | "body"
 *     "max_body_bytes": 65536,      0 .. 1048576 (default 65536)
 *     "redact": {
 *       "json": ["/card/number"],   JSON pointers (RFC 6901), a "*" segment for every member or
 *                                   element at its level; "" is the whole document
 *       "xml": ["//p:IBAN", "//@secret"],      XPath 1.0 expressions that select nodes
 *       "namespaces": { "p": "urn:..." }       the prefixes the expressions use
 *     } }
 *
 * Every value a pointer reaches becomes the string "[redacted]" (whatever its type); every node
 * an expression selects has its content replaced by the text "[redacted]": an element all it
 * holds (text, CDATA, comments, child elements; its attributes stay), an attribute its value, a
 * text, comment or PI its text. Once "redact" gives a list, a body whose type has no list of its
 * own is withheld; an empty list ("json": []) declares that type clean.
 *
 * Errors: unknown keys, wrong types, values out of range, a JSON pointer that is not one, an XPath
 * expression that does not compile, uses an undeclared prefix or does not select nodes, a bad
 * namespace prefix or URI, a "redact" without any rule list. Warnings (the section still loads):
 * "redact" or "max_body_bytes" with a capture other than "body" (they have nothing to act on, but
 * they are checked all the same, so that switching to "body" cannot bring an error), and
 * "namespaces" without "xml".
 */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpathInternals.h>

#include "alloc.h" /* configuration loading does not go on without memory */
#include "conf_table.h"
#include "json_loc.h"
#include "json_pointer.h"
#include "xml_util.h"
#include "xml_map.h" /* tf_xm_xpath_error, tf_xm_quiet_*: libxml2's XPath errors as text */

#define ERRLEN 256 /* what tf_xm_xpath_error writes */

static const char *const mode_names[] = {"digest", "none", "body", NULL}; /* by au_capture_mode */

/* What compiling needs besides the section. */
struct cc_load {
    const struct gw_jctx *c;
    struct au_capture *cap;
    xmlDocPtr trial; /* a small document every XPath expression is tried on once */
};

void
au_capture_free(struct au_capture *cap)
{
    if (cap == NULL)
        return;
    for (size_t i = 0; i < cap->njson; i++) {
        for (size_t j = 0; j < cap->json[i].n; j++)
            free(cap->json[i].segs[j].key);
        free(cap->json[i].segs);
        free(cap->json[i].text);
    }
    free(cap->json);
    for (size_t i = 0; i < cap->nxml; i++) {
        free(cap->xml[i].text);
        xmlXPathFreeCompExpr(cap->xml[i].comp);
    }
    free(cap->xml);
    for (int i = 0; i < cap->nns; i++)
        xmlFreeNs(cap->ns[i]);
    free(cap->ns);
    free(cap);
}

/* ---- JSON pointers --------------------------------------------------------------------------- */

/* Unescape one segment text[0..n) into seg. Returns 0, or -1 on a "~" not followed by 0 or 1. */
static int
jseg_parse(const char *text, size_t n, struct au_jseg *seg)
{
    *seg = (struct au_jseg){.wild = n == 1 && text[0] == '*'};
    return gw_jptr_segment(text, n, &seg->key, &seg->index);
}

/* Compile the pointer text (at path) into p. Returns 0, or -1 after reporting. */
static int
jptr_compile(const struct gw_jctx *c, const char *path, const char *text, struct au_jptr *p)
{
    size_t nseg = 0;

    p->text = gw_xstrdup(text);
    if (text[0] != '\0' && text[0] != '/') {
        gw_jctx_error(c, path, "\"%s\" is not a JSON pointer: it must start with \"/\" (or be "
                      "\"\", the whole document)", text);
        return -1;
    }
    for (const char *s = text; *s != '\0'; s++)
        nseg += *s == '/';
    p->segs = gw_xcalloc(nseg, sizeof *p->segs);
    for (const char *s = text; *s == '/';) {
        const char *end = strchr(s + 1, '/');
        size_t n = end ? (size_t)(end - s - 1) : strlen(s + 1);
        if (jseg_parse(s + 1, n, &p->segs[p->n]) < 0) {
            gw_jctx_error(c, path, "\"%s\": \"~\" must be followed by 0 (for \"~\") or 1 (for "
                          "\"/\")", text);
            return -1;
        }
        p->n++;
        s += n + 1;
    }
    return 0;
}

/* ---- rule lists ------------------------------------------------------------------------------ */

/* The rule list `key` of "redact" (at rpath), its path written to kpath; NULL when absent. */
static json_t *
rule_list(struct cc_load *ld, const json_t *redact, const char *rpath, const char *key,
          char kpath[GW_JPATH_MAX])
{
    json_t *arr = gw_jctx_get(ld->c, redact, rpath, key, JSON_ARRAY, 0);

    if (arr != NULL)
        gw_jpath_key(kpath, GW_JPATH_MAX, rpath, key);
    return arr;
}

/* Each element of the rule list arr (at kpath) that is text to add(), with its path; the others
 * reported: not a string (or empty, when nonempty), or holding U+0000. `what` names a rule in the
 * messages: "a JSON pointer". */
static void
rules_each(struct cc_load *ld, const json_t *arr, const char *kpath, const char *what,
           int nonempty, void (*add)(struct cc_load *ld, const char *ipath, const char *text))
{
    char ipath[GW_JPATH_MAX];
    const json_t *v;
    size_t i;

    json_array_foreach(arr, i, v) {
        gw_jpath_index(ipath, sizeof ipath, kpath, i);
        if (!json_is_string(v) || (nonempty && json_string_length(v) == 0))
            gw_jctx_error(ld->c, ipath, "expected %s (a %sstring), got %s", what,
                          nonempty ? "non-empty " : "",
                          json_is_string(v) ? "\"\"" : gw_json_type_name(v));
        else if (strlen(json_string_value(v)) != json_string_length(v))
            gw_jctx_error(ld->c, ipath, "%s may not hold U+0000", what);
        else
            add(ld, ipath, json_string_value(v));
    }
}

static void
json_rule_add(struct cc_load *ld, const char *ipath, const char *text)
{
    /* counted even when bad, so that au_capture_free releases what it holds */
    jptr_compile(ld->c, ipath, text, &ld->cap->json[ld->cap->njson++]);
}

static void
json_rules_load(struct cc_load *ld, const json_t *redact, const char *rpath)
{
    char kpath[GW_JPATH_MAX];
    json_t *arr = rule_list(ld, redact, rpath, "json", kpath);

    if (arr == NULL)
        return;
    ld->cap->has_json = 1;
    ld->cap->json = gw_xcalloc(json_array_size(arr), sizeof *ld->cap->json);
    rules_each(ld, arr, kpath, "a JSON pointer", 0, json_rule_add);
}

/* ---- namespaces and XPath -------------------------------------------------------------------- */

static void
namespaces_load(struct cc_load *ld, const json_t *redact, const char *rpath)
{
    json_t *obj = gw_jctx_get(ld->c, redact, rpath, "namespaces", JSON_OBJECT, 0), *v;
    char kpath[GW_JPATH_MAX], sub[GW_JPATH_MAX];
    const char *prefix;

    if (obj == NULL)
        return;
    gw_jpath_key(kpath, sizeof kpath, rpath, "namespaces");
    if (json_object_get(redact, "xml") == NULL)
        gw_jctx_warning(ld->c, kpath, "only \"xml\" expressions use namespaces, and there are "
                        "none");
    ld->cap->ns = gw_xcalloc(json_object_size(obj) + 1, sizeof *ld->cap->ns);
    json_object_foreach(obj, prefix, v) {
        gw_jpath_key(sub, sizeof sub, kpath, prefix);
        if (*prefix == '\0')
            gw_jctx_error(ld->c, sub, "XPath 1.0 names have no default namespace: give it a "
                          "prefix");
        else if (xmlValidateNCName((const xmlChar *)prefix, 0) != 0)
            gw_jctx_error(ld->c, sub, "\"%s\" is not a prefix (an XML name without ':')", prefix);
        else if (strcmp(prefix, "xml") == 0 || strcmp(prefix, "xmlns") == 0)
            gw_jctx_error(ld->c, sub, "\"%s\" is a reserved prefix", prefix);
        else if (!json_is_string(v) || json_string_length(v) == 0 ||
                 strlen(json_string_value(v)) != json_string_length(v))
            gw_jctx_error(ld->c, sub, "expected a namespace URI (a non-empty string)");
        else if ((ld->cap->ns[ld->cap->nns++] =
                      xmlNewNs(NULL, (const xmlChar *)json_string_value(v),
                               (const xmlChar *)prefix)) == NULL)
            abort();
    }
}

/* libxml2 resolves a prefix only when a step that names it is evaluated, which a trial on a small
 * document may never do (//a[p:b] without any a): every prefix the text uses must be declared.
 * Reports the first that is not. */
static int
prefixes_check(struct cc_load *ld, const char *path, const char *expr)
{
    size_t n;
    const char *p = tf_xpath_undeclared_prefix(expr, ld->cap->ns, ld->cap->nns, &n);

    if (p == NULL)
        return 0;
    gw_jctx_error(ld->c, path, "prefix \"%.*s\" is not declared in \"namespaces\"", (int)n, p);
    return -1;
}

static const char *
xpath_type_name(xmlXPathObjectType t)
{
    switch (t) {
    case XPATH_BOOLEAN: return "a boolean";
    case XPATH_NUMBER: return "a number";
    case XPATH_STRING: return "a string";
    default: return "no node-set";
    }
}

/* Compile expr (at path), then try it once on a small document, so that unknown functions and
 * variables, and expressions that give a string or a number, show now rather than on a body.
 * Returns the compiled expression, or NULL after reporting. */
static xmlXPathCompExprPtr
xpath_compile(struct cc_load *ld, const char *path, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(ld->trial);
    xmlXPathCompExprPtr comp;
    xmlXPathObjectPtr res = NULL;
    char err[ERRLEN] = "";
    struct xm_quiet q;
    int ok = 0;

    if (ctx == NULL)
        abort();
    ctx->error = tf_xm_xpath_error;
    ctx->userData = err;
    ctx->namespaces = ld->cap->ns;
    ctx->nsNr = ld->cap->nns;
    tf_xm_quiet_begin(&q);
    comp = xmlXPathCtxtCompile(ctx, (const xmlChar *)expr);
    if (comp == NULL) {
        gw_jctx_error(ld->c, path, "invalid XPath expression \"%s\": %s", expr,
                      err[0] ? err : "syntax error");
    } else if (prefixes_check(ld, path, expr) == 0) {
        ctx->node = (xmlNodePtr)ld->trial;
        res = xmlXPathCompiledEval(comp, ctx);
        if (res == NULL || err[0] != '\0')
            gw_jctx_error(ld->c, path, "XPath expression \"%s\": %s", expr,
                          err[0] ? err : "cannot be evaluated");
        else if (res->type != XPATH_NODESET)
            gw_jctx_error(ld->c, path, "XPath expression \"%s\" gives %s: it must select the "
                          "nodes to redact (elements, attributes, text)", expr,
                          xpath_type_name(res->type));
        else
            ok = 1;
    }
    tf_xm_quiet_end(&q);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    if (!ok) {
        xmlXPathFreeCompExpr(comp);
        comp = NULL;
    }
    return comp;
}

static void
xml_rule_add(struct cc_load *ld, const char *ipath, const char *text)
{
    struct au_xrule *r = &ld->cap->xml[ld->cap->nxml++];

    r->text = gw_xstrdup(text);
    r->comp = xpath_compile(ld, ipath, r->text);
}

static void
xml_rules_load(struct cc_load *ld, const json_t *redact, const char *rpath)
{
    char kpath[GW_JPATH_MAX];
    json_t *arr = rule_list(ld, redact, rpath, "xml", kpath);

    if (arr == NULL)
        return;
    ld->cap->has_xml = 1;
    ld->cap->xml = gw_xcalloc(json_array_size(arr), sizeof *ld->cap->xml);
    if (json_array_size(arr) > 0 &&
        ((ld->trial = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
         xmlDocSetRootElement(ld->trial, xmlNewDocNode(ld->trial, NULL, (const xmlChar *)"a",
                                                       NULL)) != NULL))
        abort();
    rules_each(ld, arr, kpath, "an XPath expression", 1, xml_rule_add);
    xmlFreeDoc(ld->trial);
    ld->trial = NULL;
}

/* ---- the section ----------------------------------------------------------------------------- */

static void
redact_load(struct cc_load *ld, const json_t *obj, const char *path)
{
    static const char *const keys[] = {"json", "xml", "namespaces", NULL};
    char rpath[GW_JPATH_MAX];
    json_t *redact = gw_jctx_get(ld->c, obj, path, "redact", JSON_OBJECT, 0);

    if (redact == NULL)
        return;
    gw_jpath_key(rpath, sizeof rpath, path, "redact");
    gw_jctx_check_keys(ld->c, redact, rpath, keys);
    if (ld->cap->mode != AU_CAPTURE_BODY)
        gw_jctx_warning(ld->c, rpath, "redact applies only to captured bodies (\"capture\": "
                        "\"body\"); with \"%s\" it does nothing", mode_names[ld->cap->mode]);
    namespaces_load(ld, redact, rpath); /* first: the expressions need them */
    json_rules_load(ld, redact, rpath);
    xml_rules_load(ld, redact, rpath);
    ld->cap->redact = ld->cap->has_json || ld->cap->has_xml;
    if (json_object_get(redact, "json") == NULL && json_object_get(redact, "xml") == NULL)
        gw_jctx_error(ld->c, rpath, "give the values to redact: \"json\" (JSON pointers), "
                      "\"xml\" (XPath expressions) or both");
}

struct au_capture *
au_capture_compile(const struct gw_jctx *c, const json_t *obj, const char *path, int *bad)
{
    enum { KEY_CAPTURE, KEY_MAX }; /* rows of keys[] */
    static const struct gw_conf_key keys[] = {
        [KEY_CAPTURE] = {.name = "capture", .type = GW_CONF_CHOICE,
                         GW_CONF_AT(struct au_capture, mode), .choices = mode_names,
                         .dflt = AU_CAPTURE_DIGEST, .what = "a capture mode (none, digest or body)",
                         .flags = GW_CONF_EMPTY_OK},
        [KEY_MAX] = {.name = "max_body_bytes", .type = GW_CONF_INT,
                     GW_CONF_AT(struct au_capture, max), .min = 0, .max = AU_CAPTURE_MAX_LIMIT,
                     .dflt = AU_CAPTURE_MAX_DEFAULT},
        {GW_KEY_OTHER("redact", NULL)}, /* after the table: it needs the mode */
        GW_KEY_END,
    };
    struct cc_load ld = {.c = c};
    size_t errors;
    uint64_t set;

    if (obj == NULL)
        return NULL;
    errors = c->d->errors;
    if (!json_is_object(obj)) {
        gw_jctx_error(c, path, "expected an object, got %s", gw_json_type_name(obj));
        *bad = 1;
        return NULL;
    }
    ld.cap = gw_xcalloc(1, sizeof *ld.cap);
    gw_conf_read(c, obj, path, keys, ld.cap, &set);
    if (set & (1u << KEY_MAX)) {
        char kpath[GW_JPATH_MAX];
        gw_jpath_key(kpath, sizeof kpath, path, "max_body_bytes");
        if (ld.cap->mode != AU_CAPTURE_BODY)
            gw_jctx_warning(c, kpath, "max_body_bytes applies only to captured bodies "
                            "(\"capture\": \"body\"); with \"%s\" it does nothing",
                            mode_names[ld.cap->mode]);
        else if (ld.cap->max == 0)
            gw_jctx_warning(c, kpath, "0 captures nothing of any body (every non-empty body is "
                            "cut to \"\"); \"capture\": \"digest\" says so");
    }
    redact_load(&ld, obj, path);
    if (c->d->errors != errors) {
        au_capture_free(ld.cap);
        *bad = 1;
        return NULL;
    }
    return ld.cap;
}
