/* headers.c: the `headers` transform: edit the header fields of the request or the response.
 *
 *   { "headers": { "remove": ["X-Debug"], "rename": {"X-Old": "X-New"},
 *                  "set": {"X-Partner": "${partner.id}"}, "append": {"Via-Partner": "${partner.id}"},
 *                  "add": {"X-Tag": "b2b"} } }
 *
 * The operations run in that fixed order (remove, rename, set, append, add), each in the order its
 * object lists the fields. Names and values are checked at load; values are templates. Fields the
 * gateway owns (framing, hop-by-hop, forwarding, identity) are refused at load, whatever the
 * operation, so that no chain can spoof a partner's identity or desynchronise the framing.
 */
#include "builtins_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "context.h"
#include "http_parser.h"
#include "template.h"

enum hdr_kind { HDR_REMOVE, HDR_RENAME, HDR_SET, HDR_APPEND, HDR_ADD };

struct hdr_op {
    enum hdr_kind kind;
    char *name;
    char *to;                 /* HDR_RENAME: the new name */
    struct tf_template *value; /* HDR_SET, HDR_APPEND, HDR_ADD */
};

struct hdr_inst {
    struct hdr_op *ops;
    size_t nops;
};

static const char *const hdr_keys[] = {"remove", "rename", "set", "append", "add", NULL};

/* ---- names and values ------------------------------------------------------------------------ */


/* Offset of the first byte a field value may not hold (CTL other than HTAB, DEL), or -1. */
static long
hdr_bad_value_byte(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return (long)i;
    }
    return -1;
}

/* Why the gateway keeps the field to itself, or NULL when a transform may touch it. */
static const char *
hdr_owned(const char *name)
{
    static const struct {
        const char *name;
        const char *why;
    } owned[] = {
        {"content-length", "framing"},         {"transfer-encoding", "framing"},
        {"connection", "hop-by-hop"},          {"keep-alive", "hop-by-hop"},
        {"proxy-connection", "hop-by-hop"},    {"te", "hop-by-hop"},
        {"trailer", "hop-by-hop"},             {"upgrade", "hop-by-hop"},
        {"proxy-authorization", "hop-by-hop"}, {"proxy-authenticate", "hop-by-hop"},
        {"host", "routing"},                   {"expect", "framing"},
        {"via", "forwarding"},                 {"forwarded", "forwarding"},
        {"x-forwarded-for", "forwarding"},     {"x-forwarded-host", "forwarding"},
        {"x-forwarded-proto", "forwarding"},   {"x-request-id", "request identity"},
    };

    if (strncasecmp(name, "x-partner-", 10) == 0 || strncasecmp(name, "x-client-cert", 13) == 0)
        return "partner identity";
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcasecmp(name, owned[i].name) == 0)
            return owned[i].why;
    return NULL;
}

/* Check a field name used at `sub`. Returns 0, or -1 after reporting. */
static int
hdr_check_name(const struct tf_conf *cc, const char *sub, const char *name)
{
    const char *why;

    if (!gw_http_token_valid(name, strlen(name))) {
        cc->error(cc, sub, "\"%s\" is not a valid header field name (RFC 9110 token)", name);
        return -1;
    }
    if ((why = hdr_owned(name)) != NULL) {
        cc->error(cc, sub, "%s is a %s field the gateway owns; a transform may not change it",
                  name, why);
        return -1;
    }
    return 0;
}

/* ---- configuration ----------------------------------------------------------------------------- */

static void
hdr_free(void *p)
{
    struct hdr_inst *in = p;

    if (in == NULL)
        return;
    for (size_t i = 0; i < in->nops; i++) {
        free(in->ops[i].name);
        free(in->ops[i].to);
        tf_template_free(in->ops[i].value);
    }
    free(in->ops);
    free(in);
}

static struct hdr_op *
hdr_push(struct hdr_inst *in, enum hdr_kind kind, const char *name)
{
    struct hdr_op *op = &in->ops[in->nops++];

    *op = (struct hdr_op){.kind = kind, .name = gw_xstrdup(name)};
    return op;
}

/* The "remove" list. Returns the number of errors reported. */
static int
hdr_conf_remove(const struct tf_conf *cc, struct hdr_inst *in)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char path[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *list;
    int bad = 0;

    gw_jpath_key(path, sizeof path, cc->path, "remove");
    if (json_object_get(cc->config, "remove") == NULL)
        return 0;
    list = gw_jctx_string_list(jc, cc->config, cc->path, "remove", 1, 0);
    if (list == NULL)
        return 1;
    for (size_t i = 0; i < gw_jlist_size(list); i++) {
        const char *name = gw_jlist_at(list, i, "remove", ipath, sizeof ipath);
        if (hdr_check_name(cc, ipath, name) < 0)
            bad++;
        else
            hdr_push(in, HDR_REMOVE, name);
    }
    return bad;
}

/* One "set" / "append" / "add" entry: name -> template. Returns 0 or -1 after reporting. */
static int
hdr_conf_value(const struct tf_conf *cc, struct hdr_inst *in, enum hdr_kind kind,
               const char *sub, const char *name, const json_t *v)
{
    char err[256];
    const char *src = json_string_value(v);
    struct tf_template *t;
    long bad;

    if (hdr_check_name(cc, sub, name) < 0)
        return -1;
    if (src == NULL) {
        cc->error(cc, sub, "expected a string, got %s", gw_json_type_name(v));
        return -1;
    }
    if (kind == HDR_APPEND && strcasecmp(name, "set-cookie") == 0) {
        cc->error(cc, sub, "Set-Cookie fields cannot be combined into one line (RFC 6265); "
                  "use \"add\"");
        return -1;
    }
    if ((bad = hdr_bad_value_byte(src, json_string_length(v))) >= 0) {
        cc->error(cc, sub, "a header value may not hold control characters (byte 0x%02x at "
                  "offset %ld)", (unsigned char)src[bad], bad);
        return -1;
    }
    if ((t = tf_template_compile(src, err, sizeof err)) == NULL) {
        cc->error(cc, sub, "%s", err);
        return -1;
    }
    hdr_push(in, kind, name)->value = t;
    return 0;
}

/* The "rename" object, or one of the name -> value objects. Returns the number of errors. */
static int
hdr_conf_object(const struct tf_conf *cc, struct hdr_inst *in, enum hdr_kind kind, const char *key)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char sub[GW_JPATH_MAX];
    const json_t *obj;
    const char *name;
    json_t *v;
    int bad = 0;

    if (json_object_get(cc->config, key) == NULL)
        return 0;
    if ((obj = gw_jctx_get(jc, cc->config, cc->path, key, JSON_OBJECT, 0)) == NULL)
        return 1;
    json_object_foreach((json_t *)obj, name, v) {
        gw_jpath_key(sub, sizeof sub, key, name);
        if (kind != HDR_RENAME) {
            bad += hdr_conf_value(cc, in, kind, sub, name, v) < 0;
            continue;
        }
        if (hdr_check_name(cc, sub, name) < 0) {
            bad++;
        } else if (!json_is_string(v)) {
            cc->error(cc, sub, "expected the new name (a string), got %s", gw_json_type_name(v));
            bad++;
        } else if (hdr_check_name(cc, sub, json_string_value(v)) == 0) {
            struct hdr_op *op = hdr_push(in, HDR_RENAME, name);
            op->to = gw_xstrdup(json_string_value(v));
        } else {
            bad++;
        }
    }
    return bad;
}

/* The most operations a config can hold: one per string of remove, one per member elsewhere. */
static size_t
hdr_count(const json_t *cfg)
{
    size_t n = 0;

    for (size_t i = 0; hdr_keys[i] != NULL; i++) {
        const json_t *v = json_object_get(cfg, hdr_keys[i]);
        n += json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 1;
    }
    return n;
}

static void *
hdr_create(const struct tf_conf *cc)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    struct hdr_inst *in = NULL;
    int bad;

    if (!json_is_object(cc->config)) {
        cc->error(cc, NULL, "expected an object, got %s", gw_json_type_name(cc->config));
        return NULL;
    }
    bad = gw_jctx_check_keys(jc, cc->config, cc->path, hdr_keys);
    in = gw_xcalloc(1, sizeof *in);
    in->ops = gw_xcalloc(hdr_count(cc->config) + 1, sizeof *in->ops);
    bad += hdr_conf_remove(cc, in);
    bad += hdr_conf_object(cc, in, HDR_RENAME, "rename");
    bad += hdr_conf_object(cc, in, HDR_SET, "set");
    bad += hdr_conf_object(cc, in, HDR_APPEND, "append");
    bad += hdr_conf_object(cc, in, HDR_ADD, "add");
    if (bad == 0 && in->nops == 0) {
        cc->error(cc, NULL, "nothing to do: give at least one of remove, rename, set, append, add");
        bad++;
    }
    if (bad > 0) {
        hdr_free(in);
        return NULL;
    }
    return in;
}

/* ---- apply --------------------------------------------------------------------------------------- */

static int
hdr_name_is(const struct tf_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Every field named `name` joined with ", ", then v: the combined field value (RFC 9110 5.3). */
static char *
hdr_appended(struct tf_ctx *x, const struct tf_message *m, const char *name, const char *v,
             size_t *len)
{
    size_t n = strlen(v), total = n;
    char *out, *p;

    for (size_t i = 0; i < m->nheaders; i++)
        if (hdr_name_is(&m->headers[i], name))
            total += m->headers[i].value_len + 2;
    p = out = x->alloc(x, total + 1);
    for (size_t i = 0; i < m->nheaders; i++) {
        if (hdr_name_is(&m->headers[i], name)) {
            memcpy(p, m->headers[i].value, m->headers[i].value_len);
            p += m->headers[i].value_len;
            memcpy(p, ", ", 2);
            p += 2;
        }
    }
    memcpy(p, v, n + 1);
    *len = total;
    return out;
}

/* Set, append or add one field. Returns TF_DONE, or TF_ERROR when the expanded value is not a
 * valid field value (a variable brought a control character in). */
static int
hdr_write(const struct hdr_op *op, struct tf_message *m, struct tf_ctx *x)
{
    size_t n;
    char *v = tf_template_expand(op->value, x, m, &n);

    if (!tf_template_is_constant(op->value) && hdr_bad_value_byte(v, n) >= 0)
        return x->fail(x, 500, "transform-failed",
                       NULL, "headers: the value computed for %s holds a control character",
                       op->name);
    if (op->kind == HDR_ADD) {
        x->header_add(x, m, op->name, v, n);
    } else {
        if (op->kind == HDR_APPEND && x->header_get(m, op->name) != NULL)
            v = hdr_appended(x, m, op->name, v, &n);
        x->header_set(x, m, op->name, v, n);
    }
    return TF_DONE;
}

static int
hdr_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    const struct hdr_inst *in = inst;
    int changed = 0;

    for (size_t i = 0; i < in->nops; i++) {
        const struct hdr_op *op = &in->ops[i];
        switch (op->kind) {
        case HDR_REMOVE:
            changed |= x->header_remove(m, op->name) > 0;
            break;
        case HDR_RENAME:
            /* the new name lives in the instance, which outlives the exchange */
            for (size_t j = 0; j < m->nheaders; j++) {
                if (hdr_name_is(&m->headers[j], op->name)) {
                    m->headers[j].name = op->to;
                    m->headers[j].name_len = strlen(op->to);
                    changed = 1;
                }
            }
            break;
        default:
            if (hdr_write(op, m, x) < 0)
                return TF_ERROR;
            changed = 1;
        }
    }
    return changed ? TF_DONE : TF_SKIP;
}

const struct tf_ops tf_headers_ops = {
    .abi = TF_ABI_VERSION,
    .name = "headers",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = hdr_create,
    .apply = hdr_apply,
    .destroy = hdr_free,
    .flags = TF_FLAG_NO_BODY,
};
