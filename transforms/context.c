/* context.c: see context.h. */
#include "context.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "body_forms.h"
#include "text.h"

/* ---- runtime: memory, headers, failure ------------------------------------------------------- */

static void *
ctx_alloc(struct tf_ctx *x, size_t n)
{
    return gw_arena_alloc(x->host, n);
}

static void
ctx_cleanup(struct tf_ctx *x, void (*fn)(void *), void *arg)
{
    gw_arena_cleanup(x->host, fn, arg);
}

static int
name_eq(const struct tf_header *h, const char *name)
{
    return strlen(name) == h->name_len && strncasecmp(h->name, name, h->name_len) == 0;
}

static const struct tf_header *
header_get(const struct tf_message *m, const char *name)
{
    for (size_t i = 0; i < m->nheaders; i++)
        if (name_eq(&m->headers[i], name))
            return &m->headers[i];
    return NULL;
}

static size_t
header_remove(struct tf_message *m, const char *name)
{
    size_t kept = 0, n = m->nheaders;

    for (size_t i = 0; i < n; i++)
        if (!name_eq(&m->headers[i], name))
            m->headers[kept++] = m->headers[i];
    m->nheaders = kept;
    return n - kept;
}

static void
header_add(struct tf_ctx *x, struct tf_message *m, const char *name, const char *value,
           size_t value_len)
{
    if (m->nheaders == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct tf_header *h = x->alloc(x, cap * sizeof *h);
        if (m->nheaders > 0)
            memcpy(h, m->headers, m->nheaders * sizeof *h);
        m->headers = h;
        m->cap = cap;
    }
    size_t nlen = strlen(name);
    m->headers[m->nheaders++] = (struct tf_header){
        .name = gw_arena_strndup(x->host, name, nlen),
        .name_len = nlen,
        .value = gw_arena_strndup(x->host, value, value_len),
        .value_len = value_len,
    };
}

static void
header_set(struct tf_ctx *x, struct tf_message *m, const char *name, const char *value,
           size_t value_len)
{
    header_remove(m, name);
    header_add(x, m, name, value, value_len);
}

static int
ctx_fail(struct tf_ctx *x, int status, const char *code, json_t *errors, const char *fmt, ...)
{
    char buf[1024];

    GW_FORMAT_ARGS(buf, sizeof buf, fmt);
    tf_ctx_clear_error(x);
    x->err_status = status;
    x->err_code = code;
    x->err_detail = gw_arena_strndup(x->host, buf, strlen(buf));
    x->err_errors = errors;
    return TF_ERROR;
}

void
tf_ctx_clear_error(struct tf_ctx *x)
{
    json_decref(x->err_errors);
    x->err_errors = NULL;
    x->err_status = 0;
    x->err_code = NULL;
    x->err_detail = NULL;
}

void *
tf_ctx_alloc(void *x, size_t n)
{
    return ((struct tf_ctx *)x)->alloc(x, n);
}

void
tf_ctx_init(struct tf_ctx *x, struct gw_arena *a, const struct tf_limits *limits)
{
    *x = (struct tf_ctx){
        .abi = TF_ABI_VERSION,
        .request_id = "", .partner_id = "", .partner_name = "", .cert_subject = "",
        .route_name = "", .method = "", .path = "", .query = "", .scheme = "",
        .limits = limits,
        .alloc = ctx_alloc,
        .cleanup = ctx_cleanup,
        .header_get = header_get,
        .header_add = header_add,
        .header_set = header_set,
        .header_remove = header_remove,
        .fail = ctx_fail,
        .host = a,
    };
    tf_body_forms_init(x);
}

void
tf_message_init(struct tf_message *m, enum tf_phase phase)
{
    *m = (struct tf_message){ .phase = phase };
}

/* ---- media types ------------------------------------------------------------------------------ */

/* The type/subtype of a Content-Type value, without parameters and surrounding blanks. */
static void
media_type(const char *v, size_t n, const char **t, size_t *tlen)
{
    size_t i = 0, end;

    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    end = i;
    while (end < n && v[end] != ';')
        end++;
    while (end > i && (v[end - 1] == ' ' || v[end - 1] == '\t'))
        end--;
    *t = v + i;
    *tlen = end - i;
}

static int
media_is(const char *v, size_t n, const char *plain, const char *suffix)
{
    const char *t;
    size_t tl, pl = strlen(plain), sl = strlen(suffix);

    media_type(v, n, &t, &tl);
    if (tl == pl && strncasecmp(t, plain, pl) == 0)
        return 1;
    return tl > sl && memchr(t, '/', tl) != NULL && strncasecmp(t + tl - sl, suffix, sl) == 0;
}

int
tf_media_is_xml(const char *v, size_t n)
{
    const char *t;
    size_t tl;

    media_type(v, n, &t, &tl);
    if (tl == 8 && strncasecmp(t, "text/xml", 8) == 0)
        return 1;
    return media_is(v, n, "application/xml", "+xml");
}

int
tf_media_is_json(const char *v, size_t n)
{
    return media_is(v, n, "application/json", "+json");
}

int
tf_is_xml(const struct tf_message *m, const struct tf_ctx *x)
{
    const struct tf_header *h = x->header_get(m, "content-type");
    return h != NULL && tf_media_is_xml(h->value, h->value_len);
}

int
tf_is_json(const struct tf_message *m, const struct tf_ctx *x)
{
    const struct tf_header *h = x->header_get(m, "content-type");
    return h != NULL && tf_media_is_json(h->value, h->value_len);
}

/* ---- configuration ---------------------------------------------------------------------------- */

struct conf_host {
    const struct gw_jctx *jctx;
    char path[GW_JPATH_MAX];
};

static void
conf_path(const struct tf_conf *cc, const char *sub, char *out, size_t len)
{
    if (sub == NULL || *sub == '\0')
        snprintf(out, len, "%s", cc->path);
    else if (*sub == '[')
        snprintf(out, len, "%s%s", cc->path, sub);
    else
        snprintf(out, len, "%s.%s", cc->path, sub);
}

static void
conf_report(const struct tf_conf *cc, enum gw_diag_level level, const char *sub, const char *msg)
{
    const struct conf_host *h = cc->host;
    char path[GW_JPATH_MAX];

    conf_path(cc, sub, path, sizeof path);
    gw_jctx_report(h->jctx, level, path, "%s", msg);
}

static void
conf_error(const struct tf_conf *cc, const char *sub, const char *fmt, ...)
{
    char msg[1024];

    GW_FORMAT_ARGS(msg, sizeof msg, fmt);
    conf_report(cc, GW_DIAG_ERROR, sub, msg);
}

static void
conf_warning(const struct tf_conf *cc, const char *sub, const char *fmt, ...)
{
    char msg[1024];

    GW_FORMAT_ARGS(msg, sizeof msg, fmt);
    conf_report(cc, GW_DIAG_WARNING, sub, msg);
}

/* A name a bundle may use: relative, no ".." segment, and (after symbolic links) inside dir. */
static int
confined(const char *dir, const char *name)
{
    char rdir[PATH_MAX], rfile[PATH_MAX];
    char *file;
    int ok;

    if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
        strstr(name, "/../") != NULL ||
        (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0))
        return 0;
    file = gw_path_join(dir, name);
    if (file == NULL)
        return 0;
    ok = realpath(dir && *dir ? dir : ".", rdir) != NULL && realpath(file, rfile) != NULL;
    if (ok) {
        size_t n = strlen(rdir);
        ok = strncmp(rfile, rdir, n) == 0 && (rfile[n] == '/' || strcmp(rdir, "/") == 0);
    } else {
        ok = 1; /* does not exist: gw_jctx_read_file reports it */
    }
    free(file);
    return ok;
}

static int
conf_read_file(const struct tf_conf *cc, const char *sub, const char *name, char **buf,
               size_t *len)
{
    const struct conf_host *h = cc->host;
    char path[GW_JPATH_MAX];

    conf_path(cc, sub, path, sizeof path);
    *buf = NULL;
    *len = 0;
    if (!confined(h->jctx->dir, name)) {
        gw_jctx_error(h->jctx, path, "\"%s\" is outside the bundle folder (use a name relative "
                      "to it, without \"..\")", name);
        return -1;
    }
    return gw_jctx_read_file(h->jctx, path, name, buf, len, NULL);
}

void
tf_conf_init(struct tf_conf *cc, const struct gw_jctx *jctx, const char *path,
             const json_t *config, enum tf_phase phase, const struct tf_limits *limits)
{
    struct conf_host *h = gw_xcalloc(1, sizeof *h);

    h->jctx = jctx;
    snprintf(h->path, sizeof h->path, "%s", path);
    *cc = (struct tf_conf){
        .abi = TF_ABI_VERSION,
        .config = config,
        .path = h->path,
        .file = jctx->file,
        .dir = jctx->dir,
        .phase = phase,
        .limits = limits,
        .error = conf_error,
        .warning = conf_warning,
        .read_file = conf_read_file,
        .host = h,
    };
}

void
tf_conf_done(struct tf_conf *cc)
{
    free(cc->host);
    cc->host = NULL;
}

const struct gw_jctx *
tf_conf_jctx(const struct tf_conf *cc)
{
    const struct conf_host *h = cc->host;
    return h->jctx;
}
