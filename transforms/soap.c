/* soap.c: the soap transform at run time (see soap.h; configuration in soap_conf.c).
 *
 * wrap: the body's root element goes into <Envelope><Header>...</Header><Body>...</Body>, with
 * Content-Type and SOAPAction as the version wants them.
 * unwrap: the one element in the Body becomes the document, carrying down the namespace
 * declarations in scope on the envelope and the body (so QNames in its content still resolve);
 * a Fault becomes a problem instead:
 *   request phase (a partner sent a fault)   400 "soap-fault"
 *   response phase, Client / Sender fault    400 "upstream-fault" (the request was refused as
 *                                            wrong: retrying it unchanged will not help)
 *   response phase, any other fault          502 "upstream-fault"
 * with the code, subcodes, reason and node/role in the problem's "errors". The fault's detail
 * element is not passed on: services put stack traces there.
 */
#include "soap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "builtins_xml.h"
#include "xml_util.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

const char *
tf_soap_ns(int version)
{
    return version == 12 ? SOAP12_NS : SOAP11_NS;
}

void
tf_soap_walk(xmlNodePtr node, void (*fn)(xmlNodePtr text, xmlAttrPtr attr, void *arg), void *arg)
{
    for (xmlNodePtr c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE) {
            fn(c, NULL, arg);
        } else if (c->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = c->properties; a != NULL; a = a->next)
                fn(NULL, a, arg);
            tf_soap_walk(c, fn, arg);
        }
    }
}

static int
is_elem(const xmlNode *n, const char *ns, const char *local)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0 &&
           (ns == NULL || (n->ns != NULL && strcmp((const char *)n->ns->href, ns) == 0));
}

/* The first child element of n named local in ns (any namespace when ns is NULL). */
static xmlNodePtr
child(const xmlNode *n, const char *ns, const char *local)
{
    for (xmlNodePtr c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
        if (is_elem(c, ns, local))
            return c;
    return NULL;
}

/* ---- wrap ------------------------------------------------------------------------------------- */

/* Expanding the header's templates into a copy of it, in the order they were compiled. */
struct expand {
    const struct soap_inst *in;
    struct tf_message *m;
    struct tf_ctx *x;
    size_t i;
    int bad;
};

static void
expand_one(xmlNodePtr text, xmlAttrPtr attr, void *arg)
{
    struct expand *e = arg;
    xmlChar *v = text != NULL ? xmlNodeGetContent(text) : xmlNodeGetContent((xmlNodePtr)attr);
    int templated = v != NULL && strchr((const char *)v, '$') != NULL;
    char *s;

    xmlFree(v);
    if (!templated || e->i >= e->in->ntpl)
        return;
    s = tf_template_expand(e->in->tpl[e->i++], e->x, e->m, NULL);
    if (!xmlCheckUTF8((const xmlChar *)s))
        e->bad = 1;
    else if (text != NULL)
        xmlNodeSetContent(text, (const xmlChar *)s); /* a text node's content is not markup */
    else
        xmlSetNsProp(attr->parent, attr->ns, attr->name, (const xmlChar *)s);
}

static int
put_header(const struct soap_inst *in, struct tf_message *m, struct tf_ctx *x, struct gw_buf *b)
{
    struct expand e = { .in = in, .m = m, .x = x };
    xmlDocPtr copy;
    int rc = 0;

    if (in->header_text != NULL) {
        gw_buf_add(b, in->header_text, in->header_len);
        return 0;
    }
    if ((copy = xmlCopyDoc(in->header, 1)) == NULL)
        return x->fail(x, 500, "transform-failed", NULL, "soap: out of memory");
    tf_soap_walk(xmlDocGetRootElement(copy), expand_one, &e);
    if (e.bad)
        rc = x->fail(x, tf_content_fail_status(m), "transform-failed", NULL,
                     "soap: a header template gave text that is not UTF-8");
    for (xmlNodePtr c = xmlDocGetRootElement(copy)->children; rc == 0 && c != NULL; c = c->next)
        if (tf_xml_node_dump(b, copy, c) < 0)
            rc = x->fail(x, 500, "transform-failed", NULL, "soap: out of memory");
    xmlFreeDoc(copy);
    return rc;
}

/* Content-Type, and SOAPAction (1.1) or the action parameter (1.2) on a request. */
static int
wrap_headers(const struct soap_inst *in, struct tf_message *m, struct tf_ctx *x)
{
    const char *action = NULL;
    char *ct;

    if (m->phase == TF_PHASE_REQUEST)
        action = in->action != NULL ? tf_template_expand(in->action, x, m, NULL) : "";
    if (action != NULL && (!tf_header_value_ok(action) || strchr(action, '"') != NULL))
        return x->fail(x, tf_content_fail_status(m), "transform-failed", NULL,
                       "soap: the SOAP action \"%s\" cannot go in a header", action);
    if (in->version == 11) {
        x->header_set(x, m, "Content-Type", "text/xml; charset=utf-8", 23);
        if (action != NULL) {
            size_t n = strlen(action) + 3;
            char *v = x->alloc(x, n);
            snprintf(v, n, "\"%s\"", action);
            x->header_set(x, m, "SOAPAction", v, n - 1);
        }
        return 0;
    }
    x->header_remove(m, "SOAPAction");
    if (action == NULL || *action == '\0') {
        x->header_set(x, m, "Content-Type", "application/soap+xml; charset=utf-8", 36);
        return 0;
    }
    ct = x->alloc(x, strlen(action) + 64);
    snprintf(ct, strlen(action) + 64, "application/soap+xml; charset=utf-8; action=\"%s\"", action);
    x->header_set(x, m, "Content-Type", ct, strlen(ct));
    return 0;
}

static int
wrap(const struct soap_inst *in, xmlDocPtr doc, struct tf_message *m, struct tf_ctx *x)
{
    const char *p = in->prefix;
    struct gw_buf b;

    tf_arena_buf(&b, x, 0, m->body_len + 256 + in->header_len);
    gw_buf_adds(&b, XML_DECL "<");
    gw_buf_adds(&b, p);
    gw_buf_adds(&b, ":Envelope xmlns:");
    gw_buf_adds(&b, p);
    gw_buf_adds(&b, "=\"");
    gw_buf_adds(&b, tf_soap_ns(in->version));
    gw_buf_adds(&b, "\">");
    if (in->header != NULL) {
        gw_buf_adds(&b, "<");
        gw_buf_adds(&b, p);
        gw_buf_adds(&b, ":Header>");
        if (put_header(in, m, x, &b) < 0)
            return TF_ERROR;
        gw_buf_adds(&b, "</");
        gw_buf_adds(&b, p);
        gw_buf_adds(&b, ":Header>");
    }
    gw_buf_adds(&b, "<");
    gw_buf_adds(&b, p);
    gw_buf_adds(&b, ":Body>");
    if (tf_xml_node_dump(&b, doc, xmlDocGetRootElement(doc)) < 0)
        return x->fail(x, 500, "transform-failed", NULL, "soap: out of memory");
    gw_buf_adds(&b, "</");
    gw_buf_adds(&b, p);
    gw_buf_adds(&b, ":Body></");
    gw_buf_adds(&b, p);
    gw_buf_adds(&b, ":Envelope>");
    if (wrap_headers(in, m, x) < 0)
        return TF_ERROR;
    tf_set_body(m, x, gw_buf_str(&b), b.len, NULL); /* Content-Type: wrap_headers' */
    return TF_DONE;
}

/* ---- faults ----------------------------------------------------------------------------------- */

/* The trimmed text of n, at most 1 KiB (cut on a character boundary), in the arena. */
static char *
text_of(struct tf_ctx *x, const xmlNode *n)
{
    xmlChar *c = n != NULL ? xmlNodeGetContent(n) : NULL;
    const char *s = c != NULL ? (const char *)c : "";
    size_t len;
    char *out;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
        len--;
    if (len > 1024) {
        len = 1024;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    out = x->alloc(x, len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    xmlFree(c);
    return out;
}

/* Is the QName code (written in element e) the envelope's Client (1.1) or Sender (1.2)? */
static int
sender_fault(const xmlNode *e, const char *code, int version)
{
    const char *colon = strchr(code, ':'), *local = colon ? colon + 1 : code;
    const char *want = version == 12 ? "Sender" : "Client";
    size_t wl = strlen(want);

    if (strncmp(local, want, wl) != 0 ||
        (local[wl] != '\0' && !(version == 11 && local[wl] == '.')))
        return 0;
    if (colon != NULL) {
        char prefix[128];
        xmlNsPtr ns;
        snprintf(prefix, sizeof prefix, "%.*s", (int)(colon - code), code);
        ns = xmlSearchNs(e->doc, (xmlNodePtr)e, (const xmlChar *)prefix);
        return ns != NULL && strcmp((const char *)ns->href, tf_soap_ns(version)) == 0;
    }
    return 1; /* unprefixed: not conformant, but meant as the standard code */
}

static void
set_str(json_t *o, const char *key, const char *v)
{
    if (v != NULL && *v != '\0')
        json_object_set_new(o, key, json_string(v));
}

/* Turn a Fault into the exchange's failure. */
static int
fault(int version, const xmlNode *f, struct tf_message *m, struct tf_ctx *x)
{
    const char *ns = tf_soap_ns(version);
    json_t *e = json_object(), *errors = json_array();
    const xmlNode *code_el;
    const char *code, *reason;
    int status;

    if (version == 11) {
        code_el = child(f, NULL, "faultcode");
        reason = text_of(x, child(f, NULL, "faultstring"));
        set_str(e, "node", text_of(x, child(f, NULL, "faultactor")));
    } else {
        json_t *subs = json_array();
        const xmlNode *c = child(f, ns, "Code");
        code_el = child(c, ns, "Value");
        for (int i = 0; i < 8 && (c = child(c, ns, "Subcode")) != NULL; i++)
            json_array_append_new(subs, json_string(text_of(x, child(c, ns, "Value"))));
        reason = text_of(x, child(child(f, ns, "Reason"), ns, "Text"));
        if (json_array_size(subs) > 0)
            json_object_set(e, "subcodes", subs);
        json_decref(subs);
        set_str(e, "node", text_of(x, child(f, ns, "Node")));
        set_str(e, "role", text_of(x, child(f, ns, "Role")));
    }
    code = text_of(x, code_el);
    json_object_set_new(e, "soap", json_string(version == 12 ? "1.2" : "1.1"));
    set_str(e, "code", code);
    set_str(e, "reason", reason);
    json_array_append_new(errors, e);
    if (m->phase == TF_PHASE_REQUEST)
        return x->fail(x, 400, "soap-fault", errors, "SOAP fault %s: %s", code, reason);
    status = code_el != NULL && sender_fault(code_el, code, version) ? 400 : 502;
    return x->fail(x, status, "upstream-fault", errors, "upstream SOAP fault %s: %s", code, reason);
}

/* ---- unwrap ----------------------------------------------------------------------------------- */

/* Does an element of the subtree n (or one of its attributes) use the declaration ns? */
static int
uses_ns(const xmlNode *n, const xmlNs *ns)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns == ns)
            return 1;
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
            if (a->ns == ns)
                return 1;
        if (uses_ns(n->children, ns))
            return 1;
    }
    return 0;
}

/* Declare on payload every namespace in scope there that it does not declare itself, so that
 * prefixes in its content (xsi:type="t:Amount") still resolve; the envelope's namespace only
 * when the payload uses that very declaration. With add 0, only count them. Returns how many. */
static int
carry_namespaces(xmlNodePtr payload, const char *env_ns, int add)
{
    xmlNsPtr *list = xmlGetNsList(payload->doc, payload);
    int n = 0;

    for (int i = 0; list != NULL && list[i] != NULL; i++) {
        xmlNsPtr ns = list[i];
        int own = 0;
        for (xmlNsPtr d = payload->nsDef; d != NULL && !own; d = d->next)
            own = d == ns || xmlStrEqual(d->prefix, ns->prefix);
        if (own || (strcmp((const char *)ns->href, env_ns) == 0 && !uses_ns(payload, ns)))
            continue;
        n++;
        if (add)
            xmlNewNs(payload, ns->href, ns->prefix);
    }
    xmlFree(list);
    return n;
}

static int
envelope_version(const xmlNode *root)
{
    if (is_elem(root, SOAP11_NS, "Envelope"))
        return 11;
    if (is_elem(root, SOAP12_NS, "Envelope"))
        return 12;
    return 0;
}

static int
invalid(struct tf_message *m, struct tf_ctx *x, const char *why)
{
    return x->fail(x, tf_content_fail_status(m), "invalid-soap", NULL, "soap: %s", why);
}

/* The Body of an envelope of version and its element children: the first into *payload (NULL
 * when none); returns how many. -1 when there is no Body. */
static int
body_payload(xmlDocPtr doc, int version, xmlNodePtr *payload)
{
    xmlNodePtr body = child(xmlDocGetRootElement(doc), tf_soap_ns(version), "Body");
    int n = 0;

    *payload = NULL;
    if (body == NULL)
        return -1;
    for (xmlNodePtr c = body->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && n++ == 0)
            *payload = c;
    return n;
}

/* The payload written as the new body, with the declarations it needs carried down. The
 * message's document is only read: they are declared in a copy of it. */
static int
write_payload(xmlDocPtr doc, xmlNodePtr payload, int version, struct tf_message *m,
              struct tf_ctx *x)
{
    const char *env_ns = tf_soap_ns(version);
    xmlDocPtr copy = NULL;
    struct gw_buf b;
    int rc = TF_DONE;

    if (carry_namespaces(payload, env_ns, 0) > 0) {
        if ((copy = xmlCopyDoc(doc, 1)) == NULL)
            return x->fail(x, 500, "transform-failed", NULL, "soap: out of memory");
        body_payload(copy, version, &payload);
        carry_namespaces(payload, env_ns, 1);
        doc = copy;
    }
    tf_arena_buf(&b, x, 0, m->body_len);
    gw_buf_adds(&b, XML_DECL);
    if (tf_xml_node_dump(&b, doc, payload) < 0)
        rc = x->fail(x, 500, "transform-failed", NULL, "soap: out of memory");
    xmlFreeDoc(copy);
    /* text with a declaration (the document alone would be written without one): the next
     * step that takes a document parses it */
    if (rc == TF_DONE)
        tf_set_body(m, x, gw_buf_str(&b), b.len, "application/xml; charset=utf-8");
    return rc;
}

static int
unwrap(const struct soap_inst *in, xmlDocPtr doc, struct tf_message *m, struct tf_ctx *x)
{
    int version = envelope_version(xmlDocGetRootElement(doc)), n;
    xmlNodePtr payload;

    if (version == 0)
        return invalid(m, x, "the body is not a SOAP 1.1 or 1.2 envelope");
    if (in->version != 0 && version != in->version)
        return invalid(m, x, version == 12 ? "a SOAP 1.2 envelope where 1.1 is expected"
                                           : "a SOAP 1.1 envelope where 1.2 is expected");
    if ((n = body_payload(doc, version, &payload)) < 0)
        return invalid(m, x, "the envelope has no Body");
    x->header_remove(m, "SOAPAction");
    if (n > 1)
        return invalid(m, x, "the Body holds more than one element");
    if (payload == NULL) { /* an empty Body: an empty message */
        x->header_remove(m, "Content-Type");
        tf_set_body(m, x, m->body, 0, NULL);
        return TF_DONE;
    }
    if (is_elem(payload, tf_soap_ns(version), "Fault"))
        return fault(version, payload, m, x);
    return write_payload(doc, payload, version, m, x);
}

static int
soap_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct soap_inst *in = inst;
    xmlDocPtr doc;

    if (tf_body_empty(m))
        return TF_SKIP;
    /* the chain's document (parsed now, or kept from a step before): both actions only read it
     * and write text */
    if ((doc = x->body_xml(x, m, "soap")) == NULL)
        return TF_ERROR;
    return in->unwrap ? unwrap(in, doc, m, x) : wrap(in, doc, m, x);
}

const struct tf_ops tf_soap_ops = {
    .abi = TF_ABI_VERSION,
    .name = "soap",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = tf_soap_create,
    .apply = soap_apply,
    .destroy = tf_soap_destroy,
    .takes = TF_FORM_BYTES | TF_FORM_XML,
};
