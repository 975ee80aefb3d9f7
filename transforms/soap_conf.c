/* soap_conf.c: the soap transform's configuration (see soap.h).
 *
 *   { "soap": { "action": "wrap", "version": "1.1", "prefix": "soapenv",
 *               "soap_action": "urn:example:payments#submit",
 *               "header": "<wsa:MessageID xmlns:wsa='http://www.w3.org/2005/08/addressing'>
 *                          urn:uuid:${request.id}</wsa:MessageID>" } }
 *   { "soap": { "action": "unwrap", "version": "1.2" } }
 */
#include "soap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"

void
tf_soap_destroy(void *p)
{
    struct soap_inst *in = p;

    if (in == NULL)
        return;
    free(in->prefix);
    tf_template_free(in->action);
    xmlFreeDoc(in->header);
    free(in->header_text);
    for (size_t i = 0; i < in->ntpl; i++)
        tf_template_free(in->tpl[i]);
    free(in->tpl);
    free(in);
}

/* What compiling the header's templates needs. */
struct tpl_load {
    const struct tf_conf *cc;
    struct soap_inst *in;
    size_t cap;
};

static void
tpl_compile(xmlNodePtr text, xmlAttrPtr attr, void *arg)
{
    struct tpl_load *tl = arg;
    xmlChar *v = text != NULL ? xmlNodeGetContent(text) : xmlNodeGetContent((xmlNodePtr)attr);
    struct tf_template *t;
    char err[256];

    if (v == NULL || strchr((const char *)v, '$') == NULL) {
        xmlFree(v);
        return;
    }
    if ((t = tf_template_compile((const char *)v, err, sizeof err)) == NULL) {
        tl->cc->error(tl->cc, "header", "%s in \"%s\"", err, (const char *)v);
    } else {
        if (tl->in->ntpl == tl->cap) {
            tl->cap = tl->cap ? tl->cap * 2 : 4;
            tl->in->tpl = gw_xrealloc(tl->in->tpl, tl->cap * sizeof *tl->in->tpl);
        }
        tl->in->tpl[tl->in->ntpl++] = t;
    }
    xmlFree(v);
}

/* The header's children serialized once, for a header without templates. */
static void
header_freeze(struct soap_inst *in)
{
    xmlBufferPtr b = xmlBufferCreate();

    if (b == NULL)
        abort();
    for (xmlNodePtr c = xmlDocGetRootElement(in->header)->children; c != NULL; c = c->next)
        xmlNodeDump(b, in->header, c, 0, 0);
    in->header_len = (size_t)xmlBufferLength(b);
    in->header_text = gw_xmalloc(in->header_len + 1);
    memcpy(in->header_text, xmlBufferContent(b), in->header_len);
    in->header_text[in->header_len] = '\0';
    xmlBufferFree(b);
}

/* Keep a parse's first error (the last one is often just "premature end of data"). The parser
 * context is the handler's data; its _private holds the buffer. */
static void
first_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr pc = data;
    char *buf = pc->_private;

    if (buf[0] == '\0' && e->message != NULL) {
        snprintf(buf, 256, "%s", e->message);
        buf[strcspn(buf, "\n")] = '\0';
    }
}

/* Parse the header fragment inside <prefix:Header xmlns:prefix="ns"> (so that it may use the
 * envelope's prefix) and compile the templates in its text and attribute values. */
static void
header_load(const struct tf_conf *cc, struct soap_inst *in, const char *frag)
{
    const char *p = in->prefix, *ns = tf_soap_ns(in->version);
    size_t n = strlen(frag) + 2 * strlen(p) + strlen(ns) + 40;
    char *buf = malloc(n);
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    struct tpl_load tl = { .cc = cc, .in = in };
    char err[256] = "";

    if (buf == NULL || pc == NULL)
        abort();
    pc->_private = err;
    pc->sax->serror = first_error;
    snprintf(buf, n, "<%s:Header xmlns:%s=\"%s\">%s</%s:Header>", p, p, ns, frag, p);
    in->header = xmlCtxtReadMemory(pc, buf, (int)strlen(buf), NULL, NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                                       XML_PARSE_NOWARNING);
    if (in->header == NULL || !pc->wellFormed || !pc->nsWellFormed) {
        cc->error(cc, "header", "not a well-formed XML fragment: %s", err[0] ? err : "error");
        goto out;
    }
    for (xmlNodePtr c = xmlDocGetRootElement(in->header)->children; c != NULL; c = c->next)
        if (c->type == XML_TEXT_NODE && !xmlIsBlankNode(c)) {
            cc->error(cc, "header", "holds text outside elements: header blocks are elements");
            goto out;
        }
    tf_soap_walk(xmlDocGetRootElement(in->header), tpl_compile, &tl);
    if (in->ntpl == 0)
        header_freeze(in);
out:
    xmlFreeParserCtxt(pc);
    free(buf);
}

/* The keys that go with "wrap" only. */
static void
wrap_options(const struct tf_conf *cc, struct soap_inst *in)
{
    const struct gw_jctx *j = tf_conf_jctx(cc);
    const char *prefix = gw_jctx_string(j, cc->config, cc->path, "prefix", 0);
    const char *action = gw_jctx_string(j, cc->config, cc->path, "soap_action", 0);
    const char *header = gw_jctx_string(j, cc->config, cc->path, "header", 0);
    char err[256];

    if (prefix != NULL && xmlValidateNCName((const xmlChar *)prefix, 0) != 0) {
        cc->error(cc, "prefix", "\"%s\" is not a prefix (an XML name without ':')", prefix);
        prefix = NULL;
    }
    in->prefix = strdup(prefix != NULL ? prefix : "soap");
    if (action != NULL && (in->action = tf_template_compile(action, err, sizeof err)) == NULL)
        cc->error(cc, "soap_action", "%s", err);
    if (header != NULL)
        header_load(cc, in, header);
}

void *
tf_soap_create(const struct tf_conf *cc)
{
    static const char *const keys[] = { "action",      "version", "prefix",
                                        "soap_action", "header",  NULL };
    static const char *const wrap_only[] = { "prefix", "soap_action", "header", NULL };
    const struct gw_jctx *j = tf_conf_jctx(cc);
    size_t errors = j->d->errors;
    const char *action, *version;
    struct soap_inst *in;

    xmlInitParser();
    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object { \"action\": \"wrap\" | \"unwrap\" }, got %s",
                  gw_json_type_name(cc->config));
        return NULL;
    }
    in = gw_xcalloc(1, sizeof *in);
    gw_jctx_check_keys(j, cc->config, cc->path, keys);
    action = gw_jctx_string(j, cc->config, cc->path, "action", 1);
    version = gw_jctx_string(j, cc->config, cc->path, "version", 0);
    if (action != NULL && strcmp(action, "wrap") != 0 && strcmp(action, "unwrap") != 0)
        cc->error(cc, "action", "\"%s\" is not \"wrap\" or \"unwrap\"", action);
    in->unwrap = action != NULL && strcmp(action, "unwrap") == 0;
    if (version != NULL && strcmp(version, "1.1") != 0 && strcmp(version, "1.2") != 0)
        cc->error(cc, "version", "\"%s\" is not \"1.1\" or \"1.2\"", version);
    in->version = version != NULL && strcmp(version, "1.2") == 0 ? 12
                  : version != NULL || !in->unwrap               ? 11
                                                                  : 0;
    if (in->unwrap) {
        for (int i = 0; wrap_only[i] != NULL; i++)
            if (json_object_get(cc->config, wrap_only[i]) != NULL)
                cc->error(cc, wrap_only[i], "goes with \"action\": \"wrap\"");
    } else {
        wrap_options(cc, in);
    }
    if (j->d->errors > errors) {
        tf_soap_destroy(in);
        return NULL;
    }
    return in;
}
