/* xslt_conf.c: the xslt transform's configuration: checking it and compiling the stylesheet
 * once, when the bundle is loaded (see xslt.h).
 *
 *   { "xslt": { "stylesheet": "to-internal.xsl",
 *               "params": { "partner": "${partner.id}" },
 *               "output": "application/json" } }
 */
#include "xslt.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxslt/imports.h>
#include <libxslt/xslt.h>

#include "context.h"
#include "json_loc.h"
#include "threat.h"

#define SAFE_PARSE_OPTIONS                                                                         \
    (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

void
tf_xslt_destroy(void *p)
{
    struct xslt_inst *in = p;

    if (in == NULL)
        return;
    if (in->style != NULL)
        xsltFreeStylesheet(in->style); /* and its document */
    if (in->sec != NULL)
        xsltFreeSecurityPrefs(in->sec);
    for (size_t i = 0; i < in->nparams; i++) {
        free(in->params[i].name);
        tf_template_free(in->params[i].value);
    }
    free(in->params);
    free(in->root);
    free(in->name);
    free(in->content_type);
    free(in);
}

/* "type/subtype", parameters allowed, nothing that could break a header. */
static int
media_type_ok(const char *s)
{
    const char *slash = strchr(s, '/');

    if (slash == NULL || slash == s || slash[1] == '\0' || slash[1] == ';')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* "params": { "<xsl:param name>": "<template>" } */
static void
params_load(const struct tf_conf *cc, struct xslt_inst *in)
{
    const struct gw_jctx *j = tf_conf_jctx(cc);
    json_t *params = gw_jctx_get(j, cc->config, cc->path, "params", JSON_OBJECT, 0), *v;
    char sub[GW_JPATH_MAX], err[256];
    const char *key;

    if (params == NULL || json_object_size(params) == 0)
        return;
    in->params = calloc(json_object_size(params), sizeof *in->params);
    if (in->params == NULL) {
        cc->error(cc, "params", "out of memory");
        return;
    }
    json_object_foreach(params, key, v) {
        struct tf_template *t;
        snprintf(sub, sizeof sub, "params.%s", key);
        if (xmlValidateNCName((const xmlChar *)key, 0) != 0) {
            cc->error(cc, sub, "\"%s\" is not a parameter name (an XML name without ':')", key);
            continue;
        }
        if (!json_is_string(v)) {
            cc->error(cc, sub, "expected a string (a template), got %s", gw_json_type_name(v));
            continue;
        }
        if ((t = tf_template_compile(json_string_value(v), err, sizeof err)) == NULL) {
            cc->error(cc, sub, "%s", err);
            continue;
        }
        in->params[in->nparams].name = strdup(key);
        in->params[in->nparams++].value = t;
    }
}

/* Is name a top-level xsl:param of the stylesheet or one it imports or includes? */
static int
param_declared(xsltStylesheetPtr style, const char *name)
{
    for (xsltStylesheetPtr s = style; s != NULL; s = xsltNextImport(s))
        for (xsltStackElemPtr v = s->variables; v != NULL; v = v->next)
            if (v->nameURI == NULL && v->comp != NULL && v->comp->type == XSLT_FUNC_PARAM &&
                strcmp((const char *)v->name, name) == 0)
                return 1;
    return 0;
}

/* Warn about parameters the stylesheet would ignore. */
static void
params_check(const struct tf_conf *cc, const struct xslt_inst *in, const char *name)
{
    char sub[GW_JPATH_MAX];

    for (size_t i = 0; i < in->nparams; i++) {
        if (param_declared(in->style, in->params[i].name))
            continue;
        snprintf(sub, sizeof sub, "params.%s", in->params[i].name);
        cc->warning(cc, sub, "%s declares no top-level xsl:param \"%s\": it is ignored", name,
                    in->params[i].name);
    }
}

/* A string member of xsl:output (at offset in xsltStylesheet) in import precedence. */
static const xmlChar *
output_attr(xsltStylesheetPtr style, size_t offset)
{
    for (xsltStylesheetPtr s = style; s != NULL; s = xsltNextImport(s)) {
        const xmlChar *v = *(const xmlChar *const *)((const char *)s + offset);
        if (v != NULL)
            return v;
    }
    return NULL;
}

/* The result's Content-Type: the config's "output", else xsl:output's media-type or method,
 * with its encoding as charset (none for JSON). */
static char *
content_type(xsltStylesheetPtr style, const char *output)
{
    const char *media = (const char *)output_attr(style, offsetof(xsltStylesheet, mediaType));
    const char *method = (const char *)output_attr(style, offsetof(xsltStylesheet, method));
    const char *enc = (const char *)output_attr(style, offsetof(xsltStylesheet, encoding));
    char buf[256];

    if (output != NULL)
        return strdup(output);
    if (media == NULL)
        media = method == NULL               ? "application/xml"
                : strcmp(method, "text") == 0 ? "text/plain"
                : strcmp(method, "html") == 0 ? "text/html"
                                              : "application/xml";
    if (tf_media_is_json(media, strlen(media)) || strchr(media, ';') != NULL)
        snprintf(buf, sizeof buf, "%s", media);
    else
        snprintf(buf, sizeof buf, "%s; charset=%s", media, enc ? enc : "utf-8");
    return strdup(buf);
}

/* Check (a DTD is refused, see tf_xslt_check_file), parse and compile the stylesheet; messages
 * go to msgs. Returns 0 or -1. */
static int
compile(struct xslt_inst *in, const char *buf, size_t len, const char *url,
        struct xslt_msgs *msgs)
{
    struct xslt_saved saved;
    xmlParserCtxtPtr p = NULL;
    xmlDocPtr doc = NULL;

    tf_xslt_msgs_begin(msgs, in->root, &saved);
    if (tf_xslt_check_file(buf, len, &in->limits, NULL, msgs) == 0 &&
        (p = xmlNewParserCtxt()) != NULL && len <= INT_MAX)
        doc = xmlCtxtReadMemory(p, buf, (int)len, url, NULL, SAFE_PARSE_OPTIONS);
    xmlFreeParserCtxt(p);
    if (doc != NULL && (in->style = xsltNewStylesheet()) != NULL) {
        in->style->_private = in; /* the loader finds the bundle folder here */
        if (xsltParseStylesheetUser(in->style, doc) != 0) {
            xsltFreeStylesheet(in->style);
            in->style = NULL;
        }
    }
    tf_xslt_msgs_end(&saved);
    if (in->style == NULL)
        xmlFreeDoc(doc);
    return in->style != NULL ? 0 : -1;
}

/* Read and compile the stylesheet `name`. Returns 0 or -1 after reporting. */
static int
stylesheet_load(const struct tf_conf *cc, struct xslt_inst *in, const char *name)
{
    struct xslt_msgs msgs = { 0 };
    char *buf = NULL, *file = NULL, *url = NULL;
    const char *text;
    size_t len;
    int rc = -1;

    if (cc->read_file(cc, "stylesheet", name, &buf, &len) < 0)
        return -1;
    in->root = realpath(cc->dir != NULL && *cc->dir != '\0' ? cc->dir : ".", NULL);
    file = gw_path_join(cc->dir, name);
    if (in->root == NULL || file == NULL || (url = realpath(file, NULL)) == NULL) {
        cc->error(cc, "stylesheet", "%s: cannot resolve its path", name);
        goto out;
    }
    rc = compile(in, buf, len, url, &msgs);
    text = tf_xslt_msgs_text(&msgs);
    if (rc < 0)
        cc->error(cc, "stylesheet", "%s: %s", name, text ? text : "not an XSLT stylesheet");
    else if (text != NULL)
        cc->warning(cc, "stylesheet", "%s: %s", name, text);
out:
    free(url);
    free(file);
    free(buf);
    return rc;
}

void *
tf_xslt_create(const struct tf_conf *cc)
{
    static const char *const keys[] = { "stylesheet", "params", "output", NULL };
    const struct gw_jctx *j = tf_conf_jctx(cc);
    size_t errors = j->d->errors;
    struct xslt_inst *in;
    const char *name, *output;

    tf_xslt_global_init();
    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object { \"stylesheet\": \"file.xsl\" }, got %s",
                  gw_json_type_name(cc->config));
        return NULL;
    }
    if ((in = calloc(1, sizeof *in)) == NULL) {
        cc->error(cc, NULL, "out of memory");
        return NULL;
    }
    if (cc->limits != NULL)
        in->limits = *cc->limits;
    else
        tf_limits_default(&in->limits);
    gw_jctx_check_keys(j, cc->config, cc->path, keys);
    name = gw_jctx_string(j, cc->config, cc->path, "stylesheet", 1);
    output = gw_jctx_string(j, cc->config, cc->path, "output", 0);
    if (output != NULL && !media_type_ok(output))
        cc->error(cc, "output", "\"%s\" is not a media type (type/subtype)", output);
    params_load(cc, in);
    if (name != NULL && stylesheet_load(cc, in, name) == 0) {
        in->name = strdup(name);
        in->content_type = content_type(in->style, output);
        if ((in->sec = tf_xslt_security_new()) == NULL)
            cc->error(cc, NULL, "out of memory");
        params_check(cc, in, name);
    }
    if (j->d->errors > errors || in->style == NULL) {
        tf_xslt_destroy(in);
        return NULL;
    }
    return in;
}
