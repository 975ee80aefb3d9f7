/* threat.c: see threat.h.
 *
 * XML: one parser context per call (several workers parse at once), with its own SAX handler
 * copy: the DTD callbacks stop the parser (a DOCTYPE is refused before anything in it is read),
 * startElementNs / characters / comment / PI count what the limits bound before libxml2 builds
 * the node, and a structured error handler on the context keeps the first error for the message
 * instead of letting libxml2 print it.
 *
 * JSON: the one JSON reader (base/json_read.h) over the text, for the limits, the syntax and the
 * words of every refusal (json_to_xml reads with it too, so that every transform gives a body
 * the same message), then jansson builds the tree.
 */
#include "threat.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "context.h"
#include "text.h"

/* Deeper than this libxml2 refuses by itself (without XML_PARSE_HUGE). */
#define XML_HARD_DEPTH 256

/* CDATA sections arrive as text (the infoset does not tell them apart); no network, no DTD
 * loading, no entity substitution, no XInclude (none of those flags is set); libxml2's own
 * printing off (errors reach the structured handler). */
#define TF_XML_OPTIONS                                                                             \
    (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |              \
     XML_PARSE_COMPACT | XML_PARSE_BIG_LINES)

void
tf_limits_default(struct tf_limits *l)
{
    l->max_body = 10u << 20;
    l->xml.max_depth = 64;
    l->xml.max_children = 10000;
    l->xml.max_attrs = 64;
    l->xml.max_name_len = 256;
    l->xml.max_text_len = 1u << 20;
    l->xml.max_nodes = 1000000;
    l->json.max_depth = 64;
    l->json.max_entries = 10000;
    l->json.max_string_len = 1u << 20;
}

int
tf_threat_status(enum tf_threat t)
{
    return t == TF_THREAT_TOO_LARGE ? 413 : 400;
}

/* The JSON part of l as the reader takes it. */
static struct gw_json_limits
json_limits(const struct tf_limits *l)
{
    return (struct gw_json_limits){ .max_depth = l->json.max_depth,
                                    .max_entries = l->json.max_entries,
                                    .max_string_len = l->json.max_string_len };
}

void
tf_json_reader_init(struct gw_json_reader *r, const char *buf, size_t len,
                    const struct tf_limits *l, struct tf_ctx *x, char *err, size_t errlen)
{
    struct tf_limits def;
    struct gw_json_limits jl;

    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    jl = json_limits(l);
    gw_json_reader_init(r, buf, len, &jl, tf_ctx_alloc, x, err, errlen);
}

enum tf_threat
tf_threat_of(enum gw_json_refusal why)
{
    switch (why) {
    case GW_JSON_OK: return TF_THREAT_OK;
    case GW_JSON_FORBIDDEN: return TF_THREAT_FORBIDDEN;
    case GW_JSON_LIMIT: return TF_THREAT_LIMIT;
    default: return TF_THREAT_MALFORMED;
    }
}

int
tf_body_refused(struct tf_ctx *x, const struct tf_message *m, enum tf_threat why,
                const char *who, const char *err)
{
    if (m->phase == TF_PHASE_RESPONSE)
        return x->fail(x, 502, "bad-upstream-response", NULL, "%s: %s", who, err);
    return x->fail(x, tf_threat_status(why),
                   why == TF_THREAT_TOO_LARGE ? "body-too-large" : "invalid-body", NULL, "%s: %s",
                   who, err);
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    GW_FORMAT_ARGS(err, errlen, fmt);
    gw_text_one_line(err); /* messages quote the input (jansson's "near '...'") */
}

enum tf_threat
tf_body_precheck(const char *kind, size_t len, size_t hard_max, const struct tf_limits *l,
                 char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if ((uint64_t)len > l->max_body || len > hard_max) {
        set_err(err, errlen, "%s: body of %zu bytes exceeds the limit of %llu bytes", kind, len,
                (unsigned long long)l->max_body);
        return TF_THREAT_TOO_LARGE;
    }
    if (len == 0) {
        set_err(err, errlen, "%s: the document is empty", kind);
        return TF_THREAT_MALFORMED;
    }
    return TF_THREAT_OK;
}

/* ---- XML --------------------------------------------------------------------------------- */

/* Per-parse state, reached from the SAX callbacks through ctxt->_private. */
struct xml_state {
    const struct tf_xml_limits *l;
    enum tf_threat why;      /* set by a refusing callback (then the parser is stopped) */
    char msg[200];
    char first_error[200];   /* libxml2's first error, for a document that is not well-formed */
    int first_code;
    int errors;              /* libxml2's errors that refuse the document */
    size_t depth, nodes;
    size_t *kids;            /* children counted per open element (kids[0]: the document) */
    size_t kids_cap;
    size_t text_len;         /* of the text node being delivered */
    int in_text;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init_once(void)
{
    xmlInitParser();
}

static struct xml_state *
state_of(void *ctx)
{
    return ((xmlParserCtxtPtr)ctx)->_private;
}

static int
line_of(void *ctx)
{
    return xmlSAX2GetLineNumber(ctx);
}

/* Refuse the document: remember why and stop the parser (nothing more is read). */
static void
refuse(void *ctx, enum tf_threat why, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
refuse(void *ctx, enum tf_threat why, const char *fmt, ...)
{
    struct xml_state *st = state_of(ctx);
    va_list ap;

    if (st->why == TF_THREAT_OK) {
        st->why = why;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
    }
    xmlStopParser(ctx);
}

static void
on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
    (void)name, (void)eid, (void)sid;
    refuse(ctx, TF_THREAT_FORBIDDEN, "XML: DTDs are not accepted (line %d)", line_of(ctx));
}

static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid, const xmlChar *sid,
               xmlChar *content)
{
    (void)type, (void)pid, (void)sid, (void)content;
    refuse(ctx, TF_THREAT_FORBIDDEN, "XML: entity declaration %s is not accepted (line %d)",
           (const char *)name, line_of(ctx));
}

static void
on_reference(void *ctx, const xmlChar *name)
{
    refuse(ctx, TF_THREAT_FORBIDDEN, "XML: entity reference &%s; is not accepted (line %d)",
           (const char *)name, line_of(ctx));
}

/* Count one more child of the open element; 0, or -1 after refusing. */
static int
count_child(void *ctx, struct xml_state *st)
{
    if (++st->nodes > st->l->max_nodes) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: more than %zu nodes in the document at line %d",
               st->l->max_nodes, line_of(ctx));
        return -1;
    }
    if (++st->kids[st->depth] > st->l->max_children) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: more than %zu children in one element at line %d",
               st->l->max_children, line_of(ctx));
        return -1;
    }
    return 0;
}

static size_t
qname_len(const xmlChar *prefix, const xmlChar *local)
{
    return (prefix != NULL ? strlen((const char *)prefix) + 1 : 0) + strlen((const char *)local);
}

/* Attributes and namespace declarations of one start tag; 0, or -1 after refusing. */
static int
check_attrs(void *ctx, struct xml_state *st, int nb_ns, const xmlChar **ns, int nb_attrs,
            const xmlChar **attrs)
{
    const struct tf_xml_limits *l = st->l;
    int i;

    if ((size_t)nb_ns + (size_t)nb_attrs > l->max_attrs) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: more than %zu attributes on one element at line %d",
               l->max_attrs, line_of(ctx));
        return -1;
    }
    st->nodes += (size_t)nb_ns + (size_t)nb_attrs;
    if (st->nodes > l->max_nodes) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: more than %zu nodes in the document at line %d",
               l->max_nodes, line_of(ctx));
        return -1;
    }
    for (i = 0; i < nb_ns; i++) {
        const xmlChar *uri = ns[2 * i + 1];

        size_t nlen = ns[2 * i] != NULL ? qname_len(BAD_CAST "xmlns", ns[2 * i]) : 5;

        if (nlen > l->max_name_len ||
            (uri != NULL && strlen((const char *)uri) > l->max_text_len)) {
            refuse(ctx, TF_THREAT_LIMIT,
                   "XML: namespace declaration longer than the limits at line %d", line_of(ctx));
            return -1;
        }
    }
    for (i = 0; i < nb_attrs; i++) {
        const xmlChar **a = attrs + 5 * i;

        if (qname_len(a[1], a[0]) > l->max_name_len) {
            refuse(ctx, TF_THREAT_LIMIT, "XML: attribute name longer than %zu at line %d",
                   l->max_name_len, line_of(ctx));
            return -1;
        }
        if ((size_t)(a[4] - a[3]) > l->max_text_len) {
            refuse(ctx, TF_THREAT_LIMIT, "XML: attribute value longer than %zu at line %d",
                   l->max_text_len, line_of(ctx));
            return -1;
        }
    }
    return 0;
}

static void
on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nb_ns,
         const xmlChar **ns, int nb_attrs, int nb_defaulted, const xmlChar **attrs)
{
    struct xml_state *st = state_of(ctx);

    st->in_text = 0;
    if (st->depth + 1 > st->l->max_depth || st->depth + 2 >= st->kids_cap) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: element depth exceeds %zu at line %d",
               st->l->max_depth, line_of(ctx));
        return;
    }
    if (qname_len(prefix, local) > st->l->max_name_len) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: element name longer than %zu at line %d",
               st->l->max_name_len, line_of(ctx));
        return;
    }
    if (count_child(ctx, st) < 0 || check_attrs(ctx, st, nb_ns, ns, nb_attrs, attrs) < 0)
        return;
    st->kids[++st->depth] = 0;
    xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, ns, nb_attrs, nb_defaulted, attrs);
}

static void
on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    struct xml_state *st = state_of(ctx);

    st->in_text = 0;
    if (st->depth > 0)
        st->depth--;
    xmlSAX2EndElementNs(ctx, local, prefix, uri);
}

/* Text arrives in pieces; a piece right after another belongs to the same text node. Text
 * nodes are counted as nodes, not as children (they lie between the counted ones). */
static void
on_characters(void *ctx, const xmlChar *ch, int len)
{
    struct xml_state *st = state_of(ctx);

    if (!st->in_text) {
        st->in_text = 1;
        st->text_len = 0;
        if (++st->nodes > st->l->max_nodes) {
            refuse(ctx, TF_THREAT_LIMIT, "XML: more than %zu nodes in the document at line %d",
                   st->l->max_nodes, line_of(ctx));
            return;
        }
    }
    st->text_len += (size_t)len;
    if (st->text_len > st->l->max_text_len) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: text longer than %zu at line %d", st->l->max_text_len,
               line_of(ctx));
        return;
    }
    xmlSAX2Characters(ctx, ch, len);
}

static void
on_comment(void *ctx, const xmlChar *value)
{
    struct xml_state *st = state_of(ctx);

    st->in_text = 0;
    if (count_child(ctx, st) < 0)
        return;
    if (strlen((const char *)value) > st->l->max_text_len) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: comment longer than %zu at line %d",
               st->l->max_text_len, line_of(ctx));
        return;
    }
    xmlSAX2Comment(ctx, value);
}

static void
on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    struct xml_state *st = state_of(ctx);

    st->in_text = 0;
    if (count_child(ctx, st) < 0)
        return;
    if (data != NULL && strlen((const char *)data) > st->l->max_text_len) {
        refuse(ctx, TF_THREAT_LIMIT, "XML: processing instruction longer than %zu at line %d",
               st->l->max_text_len, line_of(ctx));
        return;
    }
    xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* libxml2's errors: keep the first real one (warnings are not refusals). */
static void
on_error(void *ud, xmlErrorPtr e)
{
    struct xml_state *st = state_of(ud);
    size_t n;

    /* a namespace name that is not a valid (or is a relative) URI: libxml2 reports it as an
     * error but builds the document; the namespace spec only deprecates it */
    if (e == NULL || e->level < XML_ERR_ERROR || e->code == XML_WAR_NS_URI ||
        e->code == XML_WAR_NS_URI_RELATIVE)
        return;
    st->errors++;
    if (st->first_error[0] != '\0')
        return;
    st->first_code = e->code;
    snprintf(st->first_error, sizeof st->first_error, "%s", e->message ? e->message : "error");
    n = strlen(st->first_error);
    while (n > 0 && (st->first_error[n - 1] == '\n' || st->first_error[n - 1] == ' '))
        st->first_error[--n] = '\0';
    if (e->line > 0)
        snprintf(st->first_error + n, sizeof st->first_error - n, " (line %d)", e->line);
}

static void
hook_sax(xmlSAXHandlerPtr sax)
{
    sax->internalSubset = on_internal_subset;
    sax->externalSubset = on_internal_subset;
    sax->entityDecl = on_entity_decl;
    sax->reference = on_reference;
    sax->startElementNs = on_start;
    sax->endElementNs = on_end;
    sax->characters = on_characters;
    sax->ignorableWhitespace = on_characters;
    sax->cdataBlock = NULL; /* CDATA goes to characters */
    sax->comment = on_comment;
    sax->processingInstruction = on_pi;
    sax->serror = on_error;
}

static enum tf_threat
classify_error(int code)
{
    switch (code) {
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
    case XML_ERR_ENTITY_LOOP:
    case XML_ERR_ENTITY_BOUNDARY:
    case XML_ERR_EXT_ENTITY_STANDALONE:
        return TF_THREAT_FORBIDDEN;
    default:
        return TF_THREAT_MALFORMED;
    }
}

xmlDocPtr
tf_xml_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
             char *err, size_t errlen)
{
    struct tf_limits def;
    struct xml_state st;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    enum tf_threat w = TF_THREAT_OK;

    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    memset(&st, 0, sizeof st);
    st.l = &l->xml;
    if ((w = tf_body_precheck("XML", len, INT_MAX, l, err, errlen)) != TF_THREAT_OK)
        goto out;
    pthread_once(&xml_once, xml_init_once);
    st.kids_cap = (l->xml.max_depth < XML_HARD_DEPTH ? l->xml.max_depth : XML_HARD_DEPTH) + 3;
    st.kids = calloc(st.kids_cap, sizeof *st.kids);
    ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
    if (st.kids == NULL || ctxt == NULL) {
        w = TF_THREAT_MALFORMED;
        set_err(err, errlen, "XML: out of memory");
        goto out;
    }
    xmlCtxtUseOptions(ctxt, TF_XML_OPTIONS);
    hook_sax(ctxt->sax);
    ctxt->_private = &st;
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (st.why != TF_THREAT_OK) {
        w = st.why;
        set_err(err, errlen, "%s", st.msg);
    } else if (!ctxt->wellFormed || st.errors > 0 || doc == NULL) {
        w = classify_error(st.first_code);
        set_err(err, errlen, "XML: %s",
                st.first_error[0] ? st.first_error : "not a well-formed document");
    }
out:
    if (w != TF_THREAT_OK && doc != NULL) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    if (ctxt != NULL)
        xmlFreeParserCtxt(ctxt);
    free(st.kids);
    if (why != NULL)
        *why = w;
    return doc;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static enum tf_threat
classify_json(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_duplicate_key:
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return TF_THREAT_FORBIDDEN;
    case json_error_stack_overflow:
        return TF_THREAT_LIMIT;
    default:
        return TF_THREAT_MALFORMED;
    }
}

static void *
arena_take(void *a, size_t n)
{
    return gw_arena_alloc(a, n);
}

/* The one reader over the whole text under l: TF_THREAT_OK, or its refusal (message in err). */
static enum tf_threat
json_verdict(const char *buf, size_t len, const struct tf_limits *l, char *err, size_t errlen)
{
    struct gw_json_limits jl = json_limits(l);
    struct gw_arena strings; /* what the reader decodes */
    struct gw_json_reader r;
    struct gw_json_token t;
    int type;

    gw_arena_init(&strings);
    gw_json_reader_init(&r, buf, len, &jl, arena_take, &strings, err, errlen);
    while ((type = gw_json_next(&r, &t)) > GW_JSON_END)
        ;
    gw_json_reader_done(&r);
    gw_arena_free(&strings);
    return type < 0 ? tf_threat_of(r.why) : TF_THREAT_OK;
}

int
tf_json_check(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
              char *err, size_t errlen)
{
    struct tf_limits def;

    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    *why = json_verdict(buf, len, l, err, errlen);
    return *why == TF_THREAT_OK ? 0 : -1;
}

json_t *
tf_json_parse(const char *buf, size_t len, const struct tf_limits *l, enum tf_threat *why,
              char *err, size_t errlen)
{
    struct tf_limits def;
    json_error_t e;
    json_t *v = NULL;
    enum tf_threat w = TF_THREAT_OK;

    if (l == NULL) {
        tf_limits_default(&def);
        l = &def;
    }
    if ((w = tf_body_precheck("JSON", len, SIZE_MAX, l, err, errlen)) != TF_THREAT_OK)
        goto out;
    /* the one reader first: the limits, and the words of every refusal */
    if ((w = json_verdict(buf, len, l, err, errlen)) != TF_THREAT_OK)
        goto out;
    v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (v == NULL && json_error_code(&e) == json_error_numeric_overflow)
        /* an integer beyond 64 bits is valid JSON: hold it as a real; one beyond the range of a
         * double is refused by the reader, as json_to_xml does */
        v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
                       JSON_DECODE_INT_AS_REAL, &e);
    if (v == NULL) { /* what the reader took: not expected */
        w = classify_json(&e);
        set_err(err, errlen, "JSON: %s at line %d, column %d", e.text, e.line, e.column);
    }
out:
    if (why != NULL)
        *why = w;
    return v;
}
