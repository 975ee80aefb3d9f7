/* xslt.c: the xslt transform at run time, and the libxslt hooks that confine stylesheets to
 * their bundle folder (see xslt.h; the configuration is in xslt_conf.c).
 *
 * Threads: the compiled xsltStylesheet is shared by every worker and only read. Each run has its
 * own xsltTransformContext (xsltNewTransformContext), which holds everything a run changes:
 * variables, the documents document() loaded, keys, the result tree, the error handler and the
 * security preferences. This is the use libxslt supports for a shared stylesheet (its
 * testThreads program applies one stylesheet from several threads, and libxml2 documents XPath
 * as safe over documents nobody modifies). The stylesheet's string dictionary is shared too:
 * libxml2 locks it. The process-wide hooks (document loader, libxslt's generic error function)
 * are installed once and keep no state of their own: they find the run through the transform
 * context's _private, or the current thread's collector (a thread-local pointer).
 */
#include "xslt.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxslt/documents.h>
#include <libxslt/extensions.h>
#include <libxslt/extra.h>
#include <libxslt/imports.h>
#include <libxslt/transform.h>
#include <libxslt/variables.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltutils.h>

#include "builtins_xml.h"
#include "json_loc.h"
#include "text.h"
#include "threat.h"
#include "xml_util.h"

/* Files the stylesheet reads: no DTD loading, no entity substitution, no network. */
#define SAFE_PARSE_OPTIONS                                                                         \
    (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* The collector of the compile or run in progress on this thread (NULL: none). */
static _Thread_local struct xslt_msgs *tl_msgs;

/* ---- messages --------------------------------------------------------------------------------- */

/* End the message in progress: the next one starts after "; ". */
static void
msgs_sep(struct xslt_msgs *msgs)
{
    if (msgs->len == 0 || msgs->len + 3 > sizeof msgs->text ||
        (msgs->len >= 2 && strcmp(msgs->text + msgs->len - 2, "; ") == 0))
        return;
    memcpy(msgs->text + msgs->len, "; ", 3);
    msgs->len += 2;
}

/* Append text with bundle paths made relative and line ends turned into "; ". */
static void
msgs_add(struct xslt_msgs *msgs, const char *text)
{
    size_t rl = msgs->root ? strlen(msgs->root) : 0;

    for (const char *p = text; *p != '\0'; p++) {
        if (rl > 0 && strncmp(p, msgs->root, rl) == 0 && p[rl] == '/') {
            p += rl; /* and the '/' */
            continue;
        }
        if (*p == '\n') {
            msgs_sep(msgs);
            continue;
        }
        if (msgs->len + 1 >= sizeof msgs->text)
            return;
        msgs->text[msgs->len++] = *p;
        msgs->text[msgs->len] = '\0';
    }
}

const char *
tf_xslt_msgs_text(struct xslt_msgs *msgs)
{
    char *dump = strstr(msgs->text, "; Templates:"); /* libxslt's stack dump after a recursion */

    if (dump != NULL) {
        *dump = '\0';
        msgs->len = (size_t)(dump - msgs->text);
    }
    while (msgs->len > 0 && (msgs->text[msgs->len - 1] == ' ' || msgs->text[msgs->len - 1] == ';'))
        msgs->text[--msgs->len] = '\0';
    return msgs->len > 0 ? msgs->text : NULL;
}

void
tf_xslt_msg(struct xslt_msgs *msgs, const char *fmt, ...)
{
    char buf[1024];

    GW_FORMAT_ARGS(buf, sizeof buf, fmt);
    msgs_sep(msgs);
    msgs_add(msgs, buf);
    msgs_sep(msgs);
}

/* libxslt and libxml2 print a message in pieces (a context line first), each ending with a new
 * line. */
static void __attribute__((format(printf, 2, 3)))
msgs_generic(void *ctx, const char *fmt, ...)
{
    struct xslt_msgs *msgs = ctx;
    char buf[1024];

    GW_FORMAT_ARGS(buf, sizeof buf, fmt);
    msgs_add(msgs, buf);
}

static void
msgs_structured(void *ctx, xmlErrorPtr e)
{
    struct xslt_msgs *msgs = ctx;
    char msg[512];
    size_t n;

    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "error");
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    if (e->domain == XML_FROM_XPATH && e->str1 != NULL)
        tf_xslt_msg(msgs, "XPath error: %s in %s", msg, e->str1);
    else if (e->file != NULL && e->line > 0)
        tf_xslt_msg(msgs, "%s:%d: %s", e->file, e->line, msg);
    else
        tf_xslt_msg(msgs, "%s", msg);
}

/* libxslt's process-wide error function: to this thread's collector, else to stderr as libxslt
 * would. */
static void __attribute__((format(printf, 2, 3)))
dispatch_generic(void *ctx, const char *fmt, ...)
{
    struct xslt_msgs *msgs = tl_msgs;
    char buf[1024];

    GW_FORMAT_ARGS(buf, sizeof buf, fmt);
    if (msgs != NULL)
        msgs_generic(msgs, "%s", buf);
    else
        fputs(buf, stderr);
}

void
tf_xslt_msgs_begin(struct xslt_msgs *msgs, const char *root, struct xslt_saved *saved)
{
    msgs->root = root;
    saved->gen = xmlGenericError;
    saved->gen_ctx = xmlGenericErrorContext;
    saved->st = xmlStructuredError;
    saved->st_ctx = xmlStructuredErrorContext;
    saved->prev = tl_msgs;
    xmlSetGenericErrorFunc(msgs, msgs_generic);
    xmlSetStructuredErrorFunc(msgs, msgs_structured);
    tl_msgs = msgs;
}

void
tf_xslt_msgs_end(const struct xslt_saved *saved)
{
    xmlSetGenericErrorFunc(saved->gen_ctx, saved->gen);
    xmlSetStructuredErrorFunc(saved->st_ctx, saved->st);
    tl_msgs = saved->prev;
}

/* ---- confinement ------------------------------------------------------------------------------ */

int
tf_xslt_inside(const char *root, const char *path, char *why, size_t whylen)
{
    char real[PATH_MAX];
    size_t n = root ? strlen(root) : 0;

    if (root == NULL || path == NULL || *path == '\0') {
        snprintf(why, whylen, "no file name");
        return 0;
    }
    if (realpath(path, real) == NULL) {
        snprintf(why, whylen, "%s", strerror(errno));
        return 0;
    }
    if (strncmp(real, root, n) != 0 || (real[n] != '/' && strcmp(root, "/") != 0)) {
        snprintf(why, whylen, "outside the bundle folder");
        return 0;
    }
    return 1;
}

/* path as a message shows it: relative to the bundle folder when it is in it or next to it
 * ("../other/x.xml"), else as it is ("/etc/passwd"), so that a problem does not spell out where
 * the bundles are. */
static const char *
shown_path(const char *root, const char *path, char *out, size_t outlen)
{
    size_t rl, common = 0, ups = 0;

    if (root == NULL || path == NULL || path[0] != '/')
        return path ? path : "(none)";
    rl = strlen(root);
    for (size_t i = 1; i <= rl && root[i - 1] == path[i - 1]; i++)
        if ((root[i] == '/' || root[i] == '\0') && path[i] == '/')
            common = i; /* root[0..i) is a folder holding path */
    for (size_t i = common; i < rl; i++)
        ups += root[i] == '/';
    if (common == 0 || ups > 2)
        return path;
    out[0] = '\0';
    for (size_t i = 0; i < ups; i++)
        strncat(out, "../", outlen - strlen(out) - 1);
    strncat(out, path + common + 1, outlen - strlen(out) - 1);
    return out;
}

/* The file a URI names (its path, unescaped), when it is a local one; NULL for a network URI.
 * Free with xmlFree. */
static char *
uri_file(const xmlChar *uri)
{
    xmlURIPtr u = xmlParseURI((const char *)uri);
    char *path = NULL;

    if (u == NULL)
        return NULL;
    if ((u->scheme == NULL || strcmp(u->scheme, "file") == 0) && u->server == NULL &&
        u->path != NULL)
        path = (char *)xmlStrdup((const xmlChar *)u->path);
    xmlFreeURI(u);
    return path;
}

/* The messages of the run a security check or a load belongs to. */
static struct xslt_msgs *
run_msgs(xsltTransformContextPtr t)
{
    struct xslt_call *call = t != NULL ? t->_private : NULL;

    return call != NULL ? call->msgs : tl_msgs;
}

/* Record the first refusal of a run (it becomes the problem's detail). */
static void __attribute__((format(printf, 2, 3)))
refused(struct xslt_msgs *msgs, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (msgs == NULL || msgs->refused[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(msgs->refused, sizeof msgs->refused, "%s", buf);
}

static int
sec_read_file(xsltSecurityPrefsPtr sec, xsltTransformContextPtr t, const char *path)
{
    struct xslt_call *call = t != NULL ? t->_private : NULL;
    char why[128];

    char shown[PATH_MAX];

    if (call != NULL && tf_xslt_inside(call->inst->root, path, why, sizeof why))
        return 1;
    if (call == NULL)
        snprintf(why, sizeof why, "no bundle folder");
    refused(run_msgs(t), "reading %s refused: %s",
            shown_path(call ? call->inst->root : NULL, path, shown, sizeof shown), why);
    return 0;
}

static int
sec_read_net(xsltSecurityPrefsPtr sec, xsltTransformContextPtr t, const char *url)
{
    refused(run_msgs(t), "network access to %s refused", url);
    return 0;
}

static int
sec_write(xsltSecurityPrefsPtr sec, xsltTransformContextPtr t, const char *what)
{
    refused(run_msgs(t), "writing %s refused: a stylesheet writes no file", what);
    return 0;
}

static int
sec_mkdir(xsltSecurityPrefsPtr sec, xsltTransformContextPtr t, const char *what)
{
    refused(run_msgs(t), "creating directory %s refused", what);
    return 0;
}

xsltSecurityPrefsPtr
tf_xslt_security_new(void)
{
    xsltSecurityPrefsPtr sec = xsltNewSecurityPrefs();

    if (sec == NULL)
        return NULL;
    if (xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, sec_read_file) < 0 ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, sec_write) < 0 ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, sec_mkdir) < 0 ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, sec_read_net) < 0 ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, sec_write) < 0) {
        xsltFreeSecurityPrefs(sec);
        return NULL;
    }
    return sec;
}

/* The instance a load is for: the run's (document()) or the top stylesheet's (import,
 * include). */
static const struct xslt_inst *
load_inst(void *ctxt, xsltLoadType type)
{
    if (ctxt == NULL)
        return NULL;
    if (type == XSLT_LOAD_DOCUMENT) {
        struct xslt_call *call = ((xsltTransformContextPtr)ctxt)->_private;
        return call != NULL ? call->inst : NULL;
    }
    if (type == XSLT_LOAD_STYLESHEET) {
        xsltStylesheetPtr s = ctxt;
        while (s->parent != NULL)
            s = s->parent;
        return s->_private;
    }
    return NULL;
}

/* A parser context with the dictionary libxslt asks for (NULL: its own), or NULL. */
static xmlParserCtxtPtr
parser_with_dict(xmlDictPtr dict)
{
    xmlParserCtxtPtr p = xmlNewParserCtxt();

    if (p != NULL && dict != NULL) {
        xmlDictFree(p->dict);
        p->dict = dict;
        xmlDictReference(dict);
    }
    return p;
}

/* Parse a bundle file safely, with the dictionary libxslt asks for. */
static xmlDocPtr
parse_file(const char *path, xmlDictPtr dict)
{
    xmlParserCtxtPtr p = parser_with_dict(dict);
    xmlDocPtr doc;

    if (p == NULL)
        return NULL;
    doc = xmlCtxtReadFile(p, path, NULL, SAFE_PARSE_OPTIONS);
    xmlFreeParserCtxt(p);
    return doc;
}

int
tf_xslt_check_file(const char *buf, size_t len, const struct tf_limits *l, const char *shown,
                   struct xslt_msgs *msgs)
{
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc = tf_xml_parse(buf, len, l, &why, err, sizeof err);

    xmlFreeDoc(doc);
    if (doc != NULL || why == TF_THREAT_MALFORMED)
        return 0;
    if (msgs == NULL)
        return -1;
    if (shown != NULL)
        tf_xslt_msg(msgs, "%s: %s", shown, err);
    else
        tf_xslt_msg(msgs, "%s", err);
    return -1;
}

/* Read, check (tf_xslt_check_file) and parse a stylesheet file an import or include names, with
 * the dictionary libxslt asks for. NULL when it cannot be read or parsed, or, with *refused set,
 * after adding the check's reason to msgs. */
static xmlDocPtr
parse_stylesheet(const char *path, xmlDictPtr dict, const struct xslt_inst *in,
                 struct xslt_msgs *msgs, int *refused_)
{
    char shown[PATH_MAX], *buf = NULL;
    xmlParserCtxtPtr p = NULL;
    xmlDocPtr doc = NULL;
    size_t len;

    if (gw_read_file(path, &buf, &len) < 0 || len > INT_MAX)
        goto out;
    *refused_ = tf_xslt_check_file(buf, len, &in->limits,
                                   shown_path(in->root, path, shown, sizeof shown), msgs) < 0;
    if (*refused_ || (p = parser_with_dict(dict)) == NULL)
        goto out;
    doc = xmlCtxtReadMemory(p, buf, (int)len, path, NULL, SAFE_PARSE_OPTIONS);
out:
    xmlFreeParserCtxt(p);
    free(buf);
    return doc;
}

/* Why a load is refused (into why), or NULL when path may be read. */
static const char *
load_refusal(const xmlChar *uri, const char *path, const char *root, char *why, size_t len)
{
    char reason[128], shown[PATH_MAX];

    if (path == NULL)
        snprintf(why, len, "network access to %s refused", (const char *)uri);
    else if (root == NULL)
        snprintf(why, len, "reading %s refused: no bundle folder", path);
    else if (!tf_xslt_inside(root, path, reason, sizeof reason))
        snprintf(why, len, "reading %s refused: %s", shown_path(root, path, shown, sizeof shown),
                 reason);
    else
        return NULL;
    return why;
}

/* The process's document loader (xsltSetLoaderFunc): bundle files only. A refused document()
 * becomes the run's failure; a refused import or include a compile message. An imported or
 * included stylesheet is checked as the top one is (tf_xslt_check_file); document() reads data,
 * parsed without DTD loading or entity substitution. */
static xmlDocPtr
loader(const xmlChar *uri, xmlDictPtr dict, int options, void *ctxt, xsltLoadType type)
{
    struct xslt_msgs *msgs = type == XSLT_LOAD_DOCUMENT ? run_msgs(ctxt) : tl_msgs;
    char *path = uri_file(uri), why[PATH_MAX + 128] = "";
    const struct xslt_inst *in = load_inst(ctxt, type);
    xmlDocPtr doc = NULL;
    int said = 0;

    if (load_refusal(uri, path, in != NULL ? in->root : NULL, why, sizeof why) != NULL) {
        if (type == XSLT_LOAD_DOCUMENT)
            refused(msgs, "%s", why);
        else if (msgs != NULL)
            tf_xslt_msg(msgs, "%s", why);
        said = 1;
    } else if (type == XSLT_LOAD_STYLESHEET) {
        doc = parse_stylesheet(path, dict, in, msgs, &said);
    } else {
        doc = parse_file(path, dict);
    }
    if (doc == NULL && path != NULL && msgs != NULL && !said)
        tf_xslt_msg(msgs, "cannot load %s", path);
    xmlFree(path);
    return doc;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
    xmlInitParser();
    xsltInit();
    /* exsl:node-set, the one EXSLT function XSLT 1.0 mappings can hardly do without; the rest of
     * EXSLT (libexslt) is not loaded */
    xsltRegisterExtModuleFunction((const xmlChar *)"node-set",
                                  (const xmlChar *)"http://exslt.org/common", xsltFunctionNodeSet);
    xsltSetLoaderFunc(loader);
    xsltSetGenericErrorFunc(NULL, dispatch_generic);
}

void
tf_xslt_global_init(void)
{
    pthread_once(&global_once, global_init);
}

/* ---- a run ------------------------------------------------------------------------------------ */

/* Apply the stylesheet to doc with the exchange's parameters. Returns the result document, or
 * NULL with the reasons in call->msgs. */
static xmlDocPtr
run(struct xslt_call *call, xmlDocPtr doc, const struct tf_message *m, struct tf_ctx *x)
{
    const struct xslt_inst *in = call->inst;
    xsltTransformContextPtr t = xsltNewTransformContext(in->style, doc);
    xmlDocPtr res = NULL;
    int state;

    if (t == NULL) {
        tf_xslt_msg(call->msgs, "out of memory");
        return NULL;
    }
    t->_private = call;
    xsltSetCtxtSecurityPrefs(in->sec, t);
    xsltSetTransformErrorFunc(t, call->msgs, msgs_generic);
    for (size_t i = 0; i < in->nparams; i++) {
        char *v = tf_template_expand(in->params[i].value, x, m, NULL);
        if (xsltQuoteOneUserParam(t, (const xmlChar *)in->params[i].name, (const xmlChar *)v) < 0)
            goto out;
    }
    res = xsltApplyStylesheetUser(in->style, doc, NULL, NULL, NULL, t);
out:
    state = t->state;
    xsltFreeTransformContext(t);
    if (res != NULL && (state == XSLT_STATE_ERROR || state == XSLT_STATE_STOPPED)) {
        xmlFreeDoc(res);
        res = NULL;
    }
    return res;
}

/* Make the serialized result the message's body. */
static int
set_result(const struct xslt_inst *in, xmlDocPtr res, struct tf_message *m, struct tf_ctx *x)
{
    xmlChar *out = NULL;
    int len = 0;
    char *body;

    if (xsltSaveResultToString(&out, &len, res, in->style) < 0)
        return x->fail(x, 500, "transform-failed", NULL, "xslt %s: cannot serialize the result",
                       in->name);
    body = x->alloc(x, (size_t)len + 1);
    if (len > 0)
        memcpy(body, out, (size_t)len);
    body[len] = '\0';
    xmlFree(out);
    tf_set_body(m, x, body, (size_t)len, in->content_type);
    return TF_DONE;
}

/* Does the stylesheet (or one it imports) strip whitespace text from its input? libxslt does
 * that on the input tree itself (xsl:strip-space). */
static int
strips_spaces(xsltStylesheetPtr style)
{
    for (; style != NULL; style = xsltNextImport(style))
        if (style->stripSpaces != NULL)
            return 1;
    return 0;
}

static int
xslt_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct xslt_inst *in = inst;
    struct xslt_msgs msgs = { 0 };
    struct xslt_call call = { .inst = in, .msgs = &msgs };
    struct xslt_saved saved;
    xmlDocPtr doc, copy = NULL, res;
    int rc;

    if (tf_body_empty(m))
        return TF_SKIP;
    /* the chain's document (parsed now, or kept from a step before) belongs to the message: a
     * stylesheet that strips whitespace gets a copy, since libxslt removes it from the input.
     * Otherwise libxslt only notes things in the input's nodes for itself (the document order,
     * which nodes a key matched), not in what they hold. */
    if ((doc = x->body_xml(x, m, "xslt")) == NULL)
        return TF_ERROR;
    if (strips_spaces(in->style) && (doc = copy = xmlCopyDoc(doc, 1)) == NULL)
        return x->fail(x, 500, "transform-failed", NULL, "xslt %s: out of memory", in->name);
    tf_xslt_msgs_begin(&msgs, in->root, &saved);
    res = run(&call, doc, m, x);
    tf_xslt_msgs_end(&saved);
    if (res != NULL) {
        /* written as the stylesheet's xsl:output says (the document alone would not carry
         * that): text, which the next step parses if it takes a document */
        rc = set_result(in, res, m, x);
    } else {
        const char *why = msgs.refused[0] ? msgs.refused : tf_xslt_msgs_text(&msgs);
        rc = x->fail(x, tf_content_fail_status(m), "transform-failed", NULL, "xslt %s: %s",
                     in->name, why ? why : "the stylesheet failed");
    }
    xmlFreeDoc(res);
    xmlFreeDoc(copy);
    return rc;
}

const struct tf_ops tf_xslt_ops = {
    .abi = TF_ABI_VERSION,
    .name = "xslt",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = tf_xslt_create,
    .apply = xslt_apply,
    .destroy = tf_xslt_destroy,
    .takes = TF_FORM_BYTES | TF_FORM_XML,
};
