/* http_signature_conf.c: the configuration of `http_signature` (transforms/README.md):
 *
 *   { "http_signature": { "verify": { "algorithms": ["ed25519"], "components": ["@method",
 *       "@path", "content-digest"], "label": "sig1", "max_age_s": 300,
 *       "content_digest": "required" } } }
 *   { "http_signature": { "sign": { "key": "keys/sign.key", "alg": "ecdsa-p256-sha256",
 *       "kid": "portico-1" }, "components": ["@status", "content-type", "content-digest"],
 *       "label": "sig1", "content_digest": "sha-256" } }
 */
#include "http_signature.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "context.h"

/* Is s an RFC 8941 key (a signature's label)? */
static int
label_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '*'))
        return 0;
    for (const char *p = s + 1; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_-.*", *p) != NULL))
            return 0;
    return 1;
}

/* "components" of obj (at path) into in->comps: 0, or -1 after reporting. */
static int
conf_components(const struct tf_conf *cc, const json_t *obj, const char *path,
                struct hs_inst *in, int *has_digest)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    const json_t *list = json_object_get(obj, "components");
    struct gw_sfv_member **tail = &in->comps;
    char ipath[GW_JPATH_MAX], cpath[GW_JPATH_MAX];
    int bad = 0;
    size_t i;
    json_t *v;

    gw_jpath_key(cpath, sizeof cpath, path, "components");
    if (!json_is_array(list)) {
        gw_jctx_error(jc, list != NULL ? cpath : path, "\"components\": the components the "
                      "signature %s, a list of strings (\"@method\", \"content-digest\", ...)",
                      in->sign ? "covers" : "must cover, at least");
        return -1;
    }
    if (json_array_size(list) == 0 && in->sign) {
        gw_jctx_error(jc, cpath, "a signature that covers nothing signs nothing");
        return -1;
    }
    if (json_array_size(list) == 0)
        gw_jctx_warning(jc, cpath, "no component required: a signature that covers nothing "
                        "is accepted");
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v), *why = NULL;
        struct gw_sfv_member *m = gw_arena_alloc(&in->arena, sizeof *m);
        gw_jpath_index(ipath, sizeof ipath, cpath, i);
        memset(m, 0, sizeof *m);
        if (s == NULL || hs_comp_parse(&in->arena, s, &m->v) < 0)
            why = "a component: a name and its parameters (\"@query-param;name=\\\"id\\\"\")";
        else
            why = hs_comp_unsupported(&m->v, cc->phase);
        for (const struct gw_sfv_member *e = in->comps; why == NULL && e != NULL; e = e->next)
            if (strcmp(e->v.str, m->v.str) == 0 && e->v.params == NULL && m->v.params == NULL)
                why = "listed twice";
        if (why != NULL) {
            gw_jctx_error(jc, ipath, "%s", why);
            bad++;
            continue;
        }
        if (strcmp(m->v.str, "content-digest") == 0)
            *has_digest = 1;
        *tail = m;
        tail = &m->next;
    }
    return bad ? -1 : 0;
}

/* "label" of obj: 0 (in->label set, or left NULL when absent and def is NULL), -1 reported. */
static int
conf_label(const struct tf_conf *cc, const json_t *obj, const char *path, struct hs_inst *in,
           const char *def)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char lpath[GW_JPATH_MAX];
    const char *s = gw_jctx_string(jc, obj, path, "label", 0);

    if (s == NULL && json_object_get(obj, "label") != NULL)
        return -1;
    if (s != NULL && !label_ok(s)) {
        gw_jctx_error(jc, gw_jpath_key(lpath, sizeof lpath, path, "label"),
                      "a label is a structured field key: lower case letters, digits, '_', "
                      "'-', '.', '*', starting with a letter or '*'");
        return -1;
    }
    if (s != NULL || def != NULL)
        in->label = gw_xstrdup(s != NULL ? s : def);
    return 0;
}

static int
conf_verify(const struct tf_conf *cc, const json_t *obj, struct hs_inst *in)
{
    static const char *const keys[] = { "algorithms", "components", "label", "max_age_s",
                                        "content_digest", NULL };
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char path[GW_JPATH_MAX], dpath[GW_JPATH_MAX];
    const char *cd;
    long long age = 0;
    int has_digest = 0, bad = 0;

    gw_jpath_key(path, sizeof path, cc->path, "verify");
    if (!json_is_object(obj)) {
        gw_jctx_error(jc, path, "must be an object: {\"algorithms\", \"components\", ...}");
        return -1;
    }
    bad += gw_jctx_check_keys(jc, obj, path, keys) > 0;
    if ((in->algs = tf_sig_algs_conf(cc, obj, "verify", TF_SIG_HTTP)) == 0)
        bad++;
    bad += conf_components(cc, obj, path, in, &has_digest) < 0;
    bad += conf_label(cc, obj, path, in, NULL) < 0;
    if (gw_jctx_int(jc, obj, path, "max_age_s", 1, 31 * 86400, &age) < 0)
        bad++;
    in->max_age_s = age;
    in->digest = HS_CD_DEFAULT;
    cd = gw_jctx_string(jc, obj, path, "content_digest", 0);
    if (cd != NULL && strcmp(cd, "required") == 0)
        in->digest = HS_CD_REQUIRED;
    else if (cd != NULL && strcmp(cd, "if-present") == 0)
        in->digest = HS_CD_IF_PRESENT;
    else if (cd != NULL || json_object_get(obj, "content_digest") != NULL) {
        gw_jctx_error(jc, gw_jpath_key(dpath, sizeof dpath, path, "content_digest"),
                      "\"required\" or \"if-present\"");
        bad++;
    }
    return bad ? -1 : 0;
}

static int
conf_sign(const struct tf_conf *cc, struct hs_inst *in)
{
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    char dpath[GW_JPATH_MAX];
    const char *cd;
    int has_digest = 0, bad = 0;

    in->sign = 1;
    bad += tf_sig_own_conf(cc, json_object_get(cc->config, "sign"), "sign", TF_SIG_HTTP,
                           &in->own) < 0;
    bad += conf_components(cc, cc->config, cc->path, in, &has_digest) < 0;
    bad += conf_label(cc, cc->config, cc->path, in, "sig1") < 0;
    in->digest = HS_CD_NONE;
    cd = gw_jctx_string(jc, cc->config, cc->path, "content_digest", 0);
    gw_jpath_key(dpath, sizeof dpath, cc->path, "content_digest");
    if (cd != NULL && strcmp(cd, "sha-256") == 0)
        in->digest = HS_CD_SHA256;
    else if (cd != NULL && strcmp(cd, "sha-512") == 0)
        in->digest = HS_CD_SHA512;
    else if (cd != NULL || json_object_get(cc->config, "content_digest") != NULL) {
        gw_jctx_error(jc, dpath, "\"sha-256\" or \"sha-512\"");
        bad++;
    }
    if (!bad && (in->digest != HS_CD_NONE) != has_digest) {
        gw_jctx_error(jc, has_digest ? cc->path : dpath,
                      has_digest ? "\"content-digest\" is covered: \"content_digest\" "
                                   "(\"sha-256\" or \"sha-512\") says how to write it"
                                 : "the Content-Digest written must be covered: add "
                                   "\"content-digest\" to \"components\"");
        bad++;
    }
    return bad ? -1 : 0;
}

int
hs_conf(const struct tf_conf *cc, struct hs_inst *in)
{
    static const char *const verify_keys[] = { "verify", NULL };
    static const char *const sign_keys[] = { "sign", "components", "label", "content_digest",
                                             NULL };
    const struct gw_jctx *jc = tf_conf_jctx(cc);
    const json_t *verify = json_object_get(cc->config, "verify");
    const json_t *sign = json_object_get(cc->config, "sign");

    if (!json_is_object(cc->config) || (verify == NULL) == (sign == NULL)) {
        cc->error(cc, NULL, "exactly one of \"verify\": {...} and \"sign\": {...}");
        return -1;
    }
    if (gw_jctx_check_keys(jc, cc->config, cc->path, verify != NULL ? verify_keys : sign_keys))
        return -1;
    return verify != NULL ? conf_verify(cc, verify, in) : conf_sign(cc, in);
}
