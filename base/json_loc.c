/* json_loc.c: positions of JSON values, and the reading context shared by config loaders. */
#include "json_loc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "arena.h"
#include "buf.h"
#include "json_read.h"
#include "text.h"

/* ---- positions ------------------------------------------------------------------------------ */

struct jl_entry {
    char *path;
    int line, col;
};

struct gw_jsonloc {
    struct jl_entry *v;
    size_t n, cap;
};

/* The walk over the reader's tokens: the path of the value being read, and the containers open
 * around it. */
struct jl_walk {
    struct gw_jsonloc *loc;
    struct gw_buf path;          /* malloc'd */
    struct jl_frame {
        size_t base;             /* the container's own path ends there */
        size_t index;            /* the next element's (arrays) */
        int object;
    } *open;
    size_t depth, cap;
    struct gw_json_cursor at;
};

/* Config files nest far less deeply; jansson itself stops at 2048. */
#define JL_MAX_DEPTH 4096

static int
jl_record(struct jl_walk *w, const char *text, size_t len, size_t pos)
{
    struct gw_jsonloc *loc = w->loc;
    size_t line, col;
    char *p;

    if (loc->n == loc->cap) {
        size_t cap = loc->cap ? loc->cap * 2 : 64;
        struct jl_entry *v = realloc(loc->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        loc->v = v;
        loc->cap = cap;
    }
    if ((p = strndup(w->path.len > 0 ? w->path.p : "", w->path.len)) == NULL)
        return -1;
    gw_json_line_col(text, len, &w->at, pos, &line, &col);
    loc->v[loc->n++] = (struct jl_entry){ p, (int)line, (int)col };
    return 0;
}

/* A value's path (its parent's and its key or index) and where it is recorded: at its key in an
 * object, where it starts elsewhere. */
static size_t
jl_enter(struct jl_walk *w, const struct gw_json_token *t)
{
    struct jl_frame *f;

    if (w->depth == 0)
        return t->pos;
    f = &w->open[w->depth - 1];
    w->path.len = f->base;
    if (!f->object) {
        gw_buf_printf(&w->path, "[%zu]", f->index++);
        return t->pos;
    }
    if (f->base > 0)
        gw_buf_addc(&w->path, '.');
    gw_buf_add(&w->path, t->key, t->kn);
    return t->kpos;
}

static int
jl_walk(struct jl_walk *w, struct gw_json_reader *r, const char *text, size_t len)
{
    struct gw_json_token t;
    int type;

    while ((type = gw_json_next(r, &t)) != GW_JSON_END) {
        if (type < 0)
            return -1;
        if (type == GW_JSON_CLOSE) {
            w->depth--;
            continue;
        }
        if (jl_record(w, text, len, jl_enter(w, &t)) < 0 || gw_buf_failed(&w->path))
            return -1;
        if (type != GW_JSON_OBJECT && type != GW_JSON_ARRAY)
            continue;
        if (w->depth == w->cap) {
            struct jl_frame *o = realloc(w->open, (w->cap ? w->cap * 2 : 16) * sizeof *o);
            if (o == NULL)
                return -1;
            w->open = o;
            w->cap = w->cap ? w->cap * 2 : 16;
        }
        w->open[w->depth++] = (struct jl_frame){ w->path.len, 0, type == GW_JSON_OBJECT };
    }
    return 0;
}

static int
jl_cmp(const void *a, const void *b)
{
    return strcmp(((const struct jl_entry *)a)->path, ((const struct jl_entry *)b)->path);
}

static void *
jl_arena_alloc(void *a, size_t n)
{
    return gw_arena_alloc(a, n);
}

struct gw_jsonloc *
gw_jsonloc_build(const char *text, size_t len)
{
    static const struct gw_json_limits limits = { JL_MAX_DEPTH, SIZE_MAX, SIZE_MAX };
    struct jl_walk w = { .loc = calloc(1, sizeof *w.loc) };
    struct gw_json_reader r;
    struct gw_arena keys; /* decoded keys with escapes */
    int rc;

    if (w.loc == NULL)
        return NULL;
    gw_arena_init(&keys);
    gw_json_reader_init(&r, text, len, &limits, jl_arena_alloc, &keys, NULL, 0);
    rc = jl_walk(&w, &r, text, len);
    gw_json_reader_done(&r);
    gw_arena_free(&keys);
    gw_buf_free(&w.path);
    free(w.open);
    if (rc < 0) {
        gw_jsonloc_free(w.loc);
        return NULL;
    }
    qsort(w.loc->v, w.loc->n, sizeof *w.loc->v, jl_cmp);
    return w.loc;
}

static const struct jl_entry *
jl_lookup(const struct gw_jsonloc *loc, const char *path)
{
    struct jl_entry key = { .path = (char *)path };

    return bsearch(&key, loc->v, loc->n, sizeof *loc->v, jl_cmp);
}

void
gw_jsonloc_find(const struct gw_jsonloc *loc, const char *path, int *line, int *col)
{
    char buf[GW_JPATH_MAX];

    *line = *col = 0;
    if (loc == NULL || loc->n == 0)
        return;
    snprintf(buf, sizeof buf, "%s", path ? path : "");
    for (;;) {
        const struct jl_entry *e = jl_lookup(loc, buf);
        if (e != NULL) {
            *line = e->line;
            *col = e->col;
            return;
        }
        if (buf[0] == '\0')
            return;
        /* drop the last component: ".key" or "[i]" (a key holding '.' or '[' only costs
         * precision: the walk still ends at a real parent or the root) */
        char *dot = strrchr(buf, '.'), *br = strrchr(buf, '[');
        char *cut = dot > br ? dot : br;
        if (cut == NULL)
            cut = buf;
        *cut = '\0';
    }
}

void
gw_jsonloc_free(struct gw_jsonloc *loc)
{
    if (loc == NULL)
        return;
    for (size_t i = 0; i < loc->n; i++)
        free(loc->v[i].path);
    free(loc->v);
    free(loc);
}

char *
gw_jpath_key(char *out, size_t outlen, const char *parent, const char *key)
{
    size_t plen = parent ? strlen(parent) : 0, klen = strlen(key), off;

    if (outlen == 0)
        return out;
    /* out may be parent itself; a truncated path only shortens a message */
    if (plen >= outlen)
        plen = outlen - 1;
    if (out != parent)
        memmove(out, parent ? parent : "", plen);
    off = plen;
    if (plen > 0 && off < outlen - 1)
        out[off++] = '.';
    if (klen > outlen - 1 - off)
        klen = outlen - 1 - off;
    memcpy(out + off, key, klen);
    out[off + klen] = '\0';
    return out;
}

char *
gw_jpath_index(char *out, size_t outlen, const char *parent, size_t i)
{
    char idx[24];
    size_t plen = parent ? strlen(parent) : 0, ilen;

    ilen = (size_t)snprintf(idx, sizeof idx, "[%zu]", i);
    if (outlen == 0)
        return out;
    if (plen >= outlen) /* a truncated path only shortens a message */
        plen = outlen - 1;
    if (ilen > outlen - 1 - plen)
        ilen = outlen - 1 - plen;
    if (out != parent)
        memmove(out, parent ? parent : "", plen);
    memcpy(out + plen, idx, ilen);
    out[plen + ilen] = '\0';
    return out;
}

/* ---- messages ------------------------------------------------------------------------------- */

void
gw_jctx_report(const struct gw_jctx *c, enum gw_diag_level level, const char *path,
               const char *fmt, ...)
{
    char msg[1024];
    int line, col;

    GW_FORMAT_ARGS(msg, sizeof msg, fmt);
    gw_jsonloc_find(c->loc, path, &line, &col);
    gw_diag_add(c->d, level, c->file, line, col, path, "%s", msg);
}

static const char *
type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

const char *
gw_json_type_name(const json_t *v)
{
    return type_name(json_typeof(v));
}

/* The type a member should have had, as an error message says it. */
static const char *
type_wanted(json_type t)
{
    return t == JSON_TRUE || t == JSON_FALSE ? "a boolean (true or false)" : type_name(t);
}

int
gw_jctx_check_keys(const struct gw_jctx *c, const json_t *obj, const char *path,
                   const char *const *allowed)
{
    char list[512], kpath[GW_JPATH_MAX];
    size_t off = 0;
    const char *key;
    json_t *v;
    int bad = 0;

    list[0] = '\0';
    for (size_t i = 0; allowed[i] != NULL && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", allowed[i]);
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] != NULL)
            continue;
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, key),
                      "unknown key (expected one of: %s)", list);
        bad++;
    }
    return bad;
}

json_t *
gw_jctx_get(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
            json_type type, int required)
{
    char kpath[GW_JPATH_MAX];
    json_t *v = json_object_get(obj, key);
    int ok;

    gw_jpath_key(kpath, sizeof kpath, path, key);
    if (v == NULL) {
        if (required)
            gw_jctx_error(c, kpath, "required key \"%s\" is missing", key);
        return NULL;
    }
    if (type == JSON_TRUE || type == JSON_FALSE)
        ok = json_is_boolean(v);
    else
        ok = json_typeof(v) == type;
    if (!ok) {
        gw_jctx_error(c, kpath, "expected %s, got %s", type_wanted(type), gw_json_type_name(v));
        return NULL;
    }
    return v;
}

const char *
gw_jctx_string(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
               int required)
{
    char kpath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, key, JSON_STRING, required);

    if (v == NULL)
        return NULL;
    if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, key), "must not be empty");
        return NULL;
    }
    return json_string_value(v);
}

/* An optional member of JSON type `type`: the borrowed value, or NULL with *rc 0 when it is
 * absent, -1 when it is reported (wrong type). */
static json_t *
jctx_optional(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
              json_type type, int *rc)
{
    *rc = 0;
    if (json_object_get(obj, key) == NULL)
        return NULL;
    *rc = -1;
    return gw_jctx_get(c, obj, path, key, type, 0);
}

int
gw_jctx_int(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
            long long min, long long max, long long *out)
{
    char kpath[GW_JPATH_MAX];
    json_t *v;
    int rc;

    if ((v = jctx_optional(c, obj, path, key, JSON_INTEGER, &rc)) == NULL)
        return rc;
    long long n = json_integer_value(v);
    if (n < min || n > max) {
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, path, key),
                      "%lld is out of range (%lld to %lld)", n, min, max);
        return -1;
    }
    *out = n;
    return 1;
}

int
gw_jctx_bool(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
             int *out)
{
    json_t *v;
    int rc;

    if ((v = jctx_optional(c, obj, path, key, JSON_TRUE, &rc)) == NULL)
        return rc;
    *out = json_is_true(v);
    return 1;
}

json_t *
gw_jctx_string_map(const struct gw_jctx *c, const json_t *obj, const char *path, const char *key,
                   const char *what)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *v = gw_jctx_get(c, obj, path, key, JSON_OBJECT, 0), *val;
    const char *name;
    int bad = 0;

    if (v == NULL)
        return NULL;
    gw_jpath_key(kpath, sizeof kpath, path, key);
    json_object_foreach(v, name, val) {
        if (!json_is_string(val)) {
            gw_jctx_error(c, gw_jpath_key(ipath, sizeof ipath, kpath, name), "%s is a string, not %s",
                          what, gw_json_type_name(val));
            bad = 1;
        }
    }
    return bad ? NULL : v;
}

json_t *
gw_jctx_string_list(const struct gw_jctx *c, const json_t *obj, const char *path,
                    const char *key, int allow_single, int required)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *v = json_object_get(obj, key), *item;
    size_t i;
    int bad = 0;

    gw_jpath_key(kpath, sizeof kpath, path, key);
    if (v == NULL) {
        if (required)
            gw_jctx_error(c, kpath, "required key \"%s\" is missing", key);
        return NULL;
    }
    if (allow_single && json_is_string(v))
        return gw_jctx_string(c, obj, path, key, 1) ? v : NULL;
    if (!json_is_array(v)) {
        gw_jctx_error(c, kpath, "expected %s, got %s",
                      allow_single ? "a string or an array of strings" : "an array of strings",
                      gw_json_type_name(v));
        return NULL;
    }
    if (json_array_size(v) == 0) {
        gw_jctx_error(c, kpath, "must not be empty");
        return NULL;
    }
    json_array_foreach(v, i, item) {
        gw_jpath_index(ipath, sizeof ipath, kpath, i);
        if (!json_is_string(item)) {
            gw_jctx_error(c, ipath, "expected a string, got %s", gw_json_type_name(item));
            bad++;
        } else if (json_string_length(item) == 0 ||
                   strlen(json_string_value(item)) != json_string_length(item)) {
            gw_jctx_error(c, ipath, "must not be empty");
            bad++;
        }
    }
    return bad ? NULL : v;
}

size_t
gw_jlist_size(const json_t *list)
{
    return json_is_array(list) ? json_array_size(list) : list != NULL;
}

const char *
gw_jlist_at(const json_t *list, size_t i, const char *path, char *ipath, size_t ilen)
{
    if (json_is_array(list)) {
        gw_jpath_index(ipath, ilen, path, i);
        return json_string_value(json_array_get(list, i));
    }
    snprintf(ipath, ilen, "%s", path);
    return json_string_value(list);
}

/* ---- files ---------------------------------------------------------------------------------- */

char *
gw_path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || dir == NULL || dir[0] == '\0' || strcmp(dir, ".") == 0)
        return strdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return p;
}

/* Config files and PEMs are small; anything bigger is a mistake (a log file named by accident). */
#define GW_MAX_FILE_BYTES (16u << 20)

int
gw_read_file(const char *file, char **buf, size_t *len)
{
    FILE *f = fopen(file, "rb");
    char *b = NULL;
    size_t n = 0, cap = 0;
    int err = 0;

    if (f == NULL)
        return -1;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = cap > GW_MAX_FILE_BYTES + 8192 ? NULL : realloc(b, cap + 1);
            if (nb == NULL) {
                err = cap > GW_MAX_FILE_BYTES + 8192 ? EFBIG : ENOMEM;
                goto fail;
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                err = errno ? errno : EIO;
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
fail:
    fclose(f);
    free(b);
    errno = err;
    return -1;
}

int
gw_jctx_read_file(const struct gw_jctx *c, const char *path, const char *name, char **buf,
                  size_t *len, char **resolved)
{
    char *file = gw_path_join(c->dir, name);

    *buf = NULL;
    *len = 0;
    if (file == NULL || gw_read_file(file, buf, len) < 0) {
        gw_jctx_error(c, path, "cannot read %s: %s", file ? file : name, strerror(errno));
        free(file);
        return -1;
    }
    if (c->md != NULL)
        EVP_DigestUpdate(c->md, *buf, *len);
    if (resolved != NULL)
        *resolved = file;
    else
        free(file);
    return 0;
}

int
gw_jdoc_load(struct gw_jdoc *doc, const char *file, const char *dir, struct gw_diag *d,
             EVP_MD_CTX *md)
{
    char *text = NULL;
    size_t len = 0;
    json_error_t jerr;

    memset(doc, 0, sizeof *doc);
    doc->file = strdup(file);
    if (dir != NULL) {
        doc->dir = strdup(dir);
    } else {
        const char *slash = strrchr(file, '/');
        doc->dir = slash == NULL ? strdup(".")
                   : slash == file ? strdup("/") : strndup(file, (size_t)(slash - file));
    }
    if (doc->file == NULL || doc->dir == NULL)
        goto fail;
    doc->ctx = (struct gw_jctx){ .file = doc->file, .dir = doc->dir, .d = d, .md = md };
    if (gw_read_file(file, &text, &len) < 0) {
        gw_diag_add(d, GW_DIAG_ERROR, file, 0, 0, NULL, "cannot read: %s", strerror(errno));
        goto fail;
    }
    if (md != NULL)
        EVP_DigestUpdate(md, text, len);
    doc->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc->root == NULL) {
        gw_diag_add(d, GW_DIAG_ERROR, file, jerr.line > 0 ? jerr.line : 0, jerr.column, NULL,
                    "%s", jerr.text);
        goto fail;
    }
    doc->loc = gw_jsonloc_build(text, len);
    doc->ctx.loc = doc->loc;
    if (!json_is_object(doc->root)) {
        gw_diag_add(d, GW_DIAG_ERROR, file, 1, 1, NULL, "expected an object at the top, got %s",
                    gw_json_type_name(doc->root));
        goto fail;
    }
    free(text);
    return 0;
fail:
    free(text);
    gw_jdoc_free(doc);
    return -1;
}

void
gw_jdoc_free(struct gw_jdoc *doc)
{
    json_decref(doc->root);
    gw_jsonloc_free(doc->loc);
    free(doc->file);
    free(doc->dir);
    memset(doc, 0, sizeof *doc);
}

/* ---- certificates --------------------------------------------------------------------------- */

/* OpenSSL must never prompt on the terminal for a pass phrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

STACK_OF(X509) *
gw_jctx_load_certs(const struct gw_jctx *c, const char *path, const char *name, char **resolved)
{
    STACK_OF(X509) *certs = NULL;
    char *buf = NULL, *file = NULL;
    size_t len;
    BIO *bio = NULL;
    X509 *x;

    if (gw_jctx_read_file(c, path, name, &buf, &len, &file) < 0)
        goto fail;
    bio = BIO_new_mem_buf(buf, (int)len);
    certs = sk_X509_new_null();
    if (bio == NULL || certs == NULL)
        goto fail;
    while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        if (sk_X509_push(certs, x) <= 0) {
            X509_free(x);
            goto fail;
        }
    }
    ERR_clear_error(); /* the loop always ends on "no start line" */
    if (sk_X509_num(certs) == 0) {
        gw_jctx_error(c, path, "no certificate in %s (expected PEM \"BEGIN CERTIFICATE\")", file);
        goto fail;
    }
    BIO_free(bio);
    free(buf);
    if (resolved != NULL)
        *resolved = file;
    else
        free(file);
    return certs;
fail:
    BIO_free(bio);
    free(buf);
    free(file);
    sk_X509_pop_free(certs, X509_free);
    return NULL;
}

EVP_PKEY *
gw_jctx_load_key(const struct gw_jctx *c, const char *path, const char *name, char **resolved)
{
    EVP_PKEY *key = NULL;
    char *buf = NULL, *file = NULL;
    size_t len;
    BIO *bio = NULL;

    if (gw_jctx_read_file(c, path, name, &buf, &len, &file) < 0)
        goto out;
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (key == NULL) {
        gw_jctx_error(c, path, "no usable private key in %s (expected an unencrypted PEM key)",
                      file);
        ERR_clear_error();
    }
out:
    BIO_free(bio);
    if (buf != NULL)
        OPENSSL_cleanse(buf, len); /* key material does not linger in freed memory */
    free(buf);
    if (key != NULL && resolved != NULL)
        *resolved = file;
    else
        free(file);
    return key;
}

void
gw_asn1_time_str(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "?");
}

#define GW_EXPIRY_WARN_DAYS 30

int
gw_jctx_check_validity(const struct gw_jctx *c, const char *path, X509 *x, const char *what)
{
    const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
    char subj[256], when[64];
    int days = 0, secs = 0;

    gw_x509_subject(x, subj, sizeof subj);
    if (X509_cmp_current_time(na) <= 0) {
        gw_asn1_time_str(na, when, sizeof when);
        gw_jctx_error(c, path, "certificate \"%s\" in %s expired on %s", subj, what, when);
        return -1;
    }
    if (X509_cmp_current_time(nb) >= 0) {
        gw_asn1_time_str(nb, when, sizeof when);
        gw_jctx_warning(c, path, "certificate \"%s\" in %s is not valid before %s", subj, what,
                        when);
    }
    if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1 && days < GW_EXPIRY_WARN_DAYS) {
        gw_asn1_time_str(na, when, sizeof when);
        gw_jctx_warning(c, path, "certificate \"%s\" in %s expires in %d day%s (%s)", subj, what,
                        days, days == 1 ? "" : "s", when);
    }
    return 0;
}

const char *
gw_x509_name(const X509_NAME *name, char *buf, size_t len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n;

    snprintf(buf, len, "?");
    if (bio == NULL)
        return buf;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_read(bio, buf, (int)len - 1);
        buf[n > 0 ? n : 0] = '\0';
        if (n <= 0)
            snprintf(buf, len, "?");
    }
    BIO_free(bio);
    return buf;
}

const char *
gw_x509_subject(X509 *x, char *buf, size_t len)
{
    return gw_x509_name(X509_get_subject_name(x), buf, len);
}
