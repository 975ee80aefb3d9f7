/* validate_conf.c: the `validate` transform's configuration: load and compile the schema once.
 * The runtime is validate.c; the format is in transforms/README.md.
 *
 *   { "validate": { "xml_schema": "schemas/pacs.008.001.09.xsd" } }
 *   { "validate": { "json_schema": "schemas/order.json", "max_errors": 20, "strict": true } }
 *   { "validate": { "json_schema": { "type": "object", "required": ["id"] } } }
 *
 * XML Schema files stay inside the bundle. libxml2 2.9 has no per-parser resource loader: a
 * schema's xs:include / xs:import / xs:redefine are read through the process-wide external entity
 * loader. validate installs its loader once (pthread_once) and it acts only on the thread that is
 * compiling a schema at that moment (thread-local state, set around xmlSchemaParse): there it
 * reads the file through tf_conf.read_file (relative to the bundle, never outside it), refuses
 * any URL with a scheme (no network, no file:), and checks the file through tf_xml_parse (no DTD,
 * no entities, limits) before libxml2 sees it. Every other load, on any thread, goes to the
 * loader that was installed before (another component replacing the loader must chain the same
 * way; if it did not, validate refuses to compile rather than load unconfined).
 */
#include "builtins_json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "alloc.h"
#include "context.h"
#include "json_loc.h"
#include "threat.h"
#include "validate.h"

#define VD_MAX_ERRORS_DEFAULT 20

/* ---- the confined schema loader -------------------------------------------------------------- */

/* One schema being compiled on this thread. */
struct vd_load {
    const struct tf_conf *cc;
    const char *sub;   /* where to report: "xml_schema" */
    const char *name;  /* the top schema file */
    int refused;       /* the loader refused a file (reported) */
    int reported;      /* problems reported */
};

static _Thread_local struct vd_load *vd_loading;
static xmlExternalEntityLoader vd_prev_loader;
static pthread_once_t vd_once = PTHREAD_ONCE_INIT;

/* A URL with a scheme ("http:", "file:")? Relative references have no ':' before any '/'. */
static int
vd_has_scheme(const char *url)
{
    size_t n = strcspn(url, ":/?#");

    return url[n] == ':';
}

static xmlParserInputPtr
vd_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    struct vd_load *l = vd_loading;
    enum tf_threat why = TF_THREAT_OK;
    xmlParserInputPtr in = NULL;
    xmlParserInputBufferPtr ib = NULL;
    char err[256], *buf = NULL, *name = NULL;
    size_t len;
    xmlDocPtr doc;

    if (l == NULL)
        return vd_prev_loader ? vd_prev_loader(url, id, ctxt) : NULL;
    l->refused++;
    if (url == NULL || vd_has_scheme(url)) {
        l->cc->error(l->cc, l->sub, "\"%s\": a schema may only include or import files of the "
                     "bundle, by a relative name", url ? url : "(none)");
        goto out;
    }
    if ((name = xmlURIUnescapeString(url, 0, NULL)) == NULL ||
        l->cc->read_file(l->cc, l->sub, name, &buf, &len) < 0)
        goto out;
    if ((doc = tf_xml_parse(buf, len, l->cc->limits, &why, err, sizeof err)) == NULL) {
        l->cc->error(l->cc, l->sub, "%s: %s", name, err);
        goto out;
    }
    xmlFreeDoc(doc);
    /* a memory input buffer copies buf and is freed with the stream (xmlNewStringInputStream
     * would point at buf); the stream's file name is the base of the includes it holds */
    if ((ib = xmlParserInputBufferCreateMem(buf, (int)len, XML_CHAR_ENCODING_NONE)) == NULL ||
        (in = xmlNewIOInputStream(ctxt, ib, XML_CHAR_ENCODING_NONE)) == NULL) {
        xmlFreeParserInputBuffer(ib);
        goto out;
    }
    in->filename = (const char *)xmlStrdup((const xmlChar *)url);
    l->refused--;
out:
    xmlFree(name);
    free(buf);
    return in;
}

static void
vd_install_loader(void)
{
    xmlInitParser();
    vd_prev_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(vd_loader);
}

/* Schema parser errors, reported as config errors with the schema file and line. */
static void
vd_schema_error(void *arg, xmlErrorPtr e)
{
    struct vd_load *l = arg;
    char msg[512];
    size_t n;

    if (l->refused > 0) /* "failed to load ...": the loader said why already */
        return;
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "error");
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    if (e->line > 0)
        l->cc->error(l->cc, l->sub, "%s:%d: %s", e->file ? e->file : l->name, e->line, msg);
    else
        l->cc->error(l->cc, l->sub, "%s: %s", e->file ? e->file : l->name, msg);
    l->reported++;
}

/* What libxml2 says outside the schema parser while we compile (the loader already reported). */
static void
vd_quiet(void *arg, xmlErrorPtr e)
{
    (void)arg, (void)e;
}

/* Compile the XML Schema `name` of the bundle into in. Returns 0, or -1 after reporting. */
static int
vd_conf_xsd(const struct tf_conf *cc, struct vd_inst *in, const char *name)
{
    struct vd_load l = {cc, "xml_schema", name, 0, 0};
    xmlStructuredErrorFunc saved_fn;
    void *saved_ctx;
    xmlSchemaParserCtxtPtr pc;
    enum tf_threat why;
    char err[256], *buf;
    size_t len;

    pthread_once(&vd_once, vd_install_loader);
    if (xmlGetExternalEntityLoader() != vd_loader) {
        cc->error(cc, "xml_schema", "libxml2's entity loader was replaced by another component: "
                  "the schema's includes could not be kept inside the bundle; refused");
        return -1;
    }
    if (cc->read_file(cc, "xml_schema", name, &buf, &len) < 0)
        return -1;
    in->xsd_doc = tf_xml_parse(buf, len, cc->limits, &why, err, sizeof err);
    free(buf);
    if (in->xsd_doc == NULL) {
        cc->error(cc, "xml_schema", "%s: %s", name, err);
        return -1;
    }
    xmlFree((xmlChar *)in->xsd_doc->URL); /* the base its includes are resolved against */
    in->xsd_doc->URL = xmlStrdup((const xmlChar *)name);
    if ((pc = xmlSchemaNewDocParserCtxt(in->xsd_doc)) == NULL)
        abort();
    xmlSchemaSetParserStructuredErrors(pc, vd_schema_error, &l);
    saved_fn = xmlStructuredError;
    saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(NULL, vd_quiet);
    vd_loading = &l;
    in->xsd = xmlSchemaParse(pc);
    vd_loading = NULL;
    xmlSetStructuredErrorFunc(saved_ctx, saved_fn);
    xmlSchemaFreeParserCtxt(pc);
    if (in->xsd == NULL && l.refused == 0 && l.reported == 0)
        cc->error(cc, "xml_schema", "%s: not a usable XML Schema", name);
    return in->xsd != NULL ? 0 : -1;
}

/* ---- JSON Schema ----------------------------------------------------------------------------- */

struct vd_jreport {
    const struct tf_conf *cc;
    const struct gw_jctx *file; /* a schema from its own file; NULL: inline */
};

static void
vd_jreport(void *arg, const char *path, const char *msg)
{
    const struct vd_jreport *r = arg;
    char sub[GW_JPATH_MAX];

    if (r->file != NULL) {
        gw_jctx_error(r->file, path, "%s", msg);
        return;
    }
    if (snprintf(sub, sizeof sub, "json_schema%s%s", path[0] == '[' || path[0] == '\0' ? "" : ".",
                 path) >= (int)sizeof sub)
        sub[sizeof sub - 1] = '\0';
    r->cc->error(r->cc, sub, "%s", msg);
}

/* Load the JSON Schema file `name` and compile it: its problems carry its own file name, line
 * and column. Returns 0, or -1 after reporting. */
static int
vd_conf_json_file(const struct tf_conf *cc, struct vd_inst *in, const char *name)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    struct gw_jctx fj = *jc;
    struct vd_jreport r = {cc, &fj};
    json_error_t e;
    json_t *doc = NULL;
    char *buf, *file = NULL;
    size_t len;

    if (cc->read_file(cc, "json_schema", name, &buf, &len) < 0)
        return -1;
    if ((file = gw_path_join(cc->dir, name)) == NULL)
        abort();
    fj.file = file;
    fj.loc = NULL;
    if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL) {
        gw_diag_add(jc->d, GW_DIAG_ERROR, file, e.line, e.column, NULL, "%s", e.text);
        goto out;
    }
    fj.loc = gw_jsonloc_build(buf, len);
    in->json = tf_jschema_compile(doc, vd_jreport, &r);
    gw_jsonloc_free((struct gw_jsonloc *)fj.loc);
out:
    json_decref(doc);
    free(buf);
    free(file);
    return in->json != NULL ? 0 : -1;
}

static int
vd_conf_json(const struct tf_conf *cc, struct vd_inst *in, const json_t *v)
{
    struct vd_jreport r = {cc, NULL};

    if (json_is_string(v) && json_string_length(v) > 0)
        return vd_conf_json_file(cc, in, json_string_value(v));
    if (!json_is_object(v) && !json_is_boolean(v)) {
        cc->error(cc, "json_schema", "expected a file name or an inline schema (an object), "
                  "got %s", gw_json_type_name(v));
        return -1;
    }
    in->json = tf_jschema_compile(v, vd_jreport, &r);
    return in->json != NULL ? 0 : -1;
}

/* ---- create / destroy ------------------------------------------------------------------------ */

static void
vd_destroy(void *p)
{
    struct vd_inst *in = p;

    if (in == NULL)
        return;
    if (in->xsd != NULL)
        xmlSchemaFree(in->xsd);
    xmlFreeDoc(in->xsd_doc);
    tf_jschema_free(in->json);
    free(in);
}

static void *
vd_create(const struct tf_conf *cc)
{
    static const char *const keys[] = {"xml_schema", "json_schema", "strict", "max_errors", NULL};
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    const json_t *xsd, *js;
    struct vd_inst *in;
    long long max = VD_MAX_ERRORS_DEFAULT;
    int bad;

    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object, got %s", gw_json_type_name(cc->config));
        return NULL;
    }
    in = gw_xcalloc(1, sizeof *in);
    in->strict = 1;
    bad = gw_jctx_check_keys(jc, cc->config, cc->path, keys);
    bad += gw_jctx_bool(jc, cc->config, cc->path, "strict", &in->strict) < 0;
    bad += gw_jctx_int(jc, cc->config, cc->path, "max_errors", 1, 1000, &max) < 0;
    in->max_errors = (size_t)max;
    xsd = json_object_get(cc->config, "xml_schema");
    js = json_object_get(cc->config, "json_schema");
    if ((xsd == NULL) == (js == NULL)) {
        cc->error(cc, NULL, "give one schema: \"xml_schema\" or \"json_schema\"");
        bad++;
    } else if (xsd != NULL) {
        const char *name = gw_jctx_string(jc, cc->config, cc->path, "xml_schema", 1);
        bad += name == NULL || vd_conf_xsd(cc, in, name) < 0;
    } else {
        bad += vd_conf_json(cc, in, js) < 0;
    }
    if (bad > 0) {
        vd_destroy(in);
        return NULL;
    }
    return in;
}

const struct tf_ops tf_validate_ops = {
    .abi = TF_ABI_VERSION,
    .name = "validate",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = vd_create,
    .apply = tf_vd_apply,
    .destroy = vd_destroy,
    /* a JSON Schema checks the chain's JSON document, an XML Schema its XML document: each is
     * read (parsed now when the body is held otherwise) and left as the message holds it */
    .takes = TF_FORM_BYTES | TF_FORM_JSON | TF_FORM_XML,
};
