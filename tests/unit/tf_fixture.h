/* tf_fixture.h: shared by the transform unit tests (test_headers, test_json_map, test_validate).
 *
 * A transform is created the way the bundle loader creates it: from JSON text with positions
 * (gw_jsonloc) and a tf_conf made by tf_conf_init, so that config errors come out as the exact
 * "file:line:column: path: message" lines `portico check` prints. apply gets a tf_ctx over an
 * arena with a known exchange (partner acme-bank, request r-123, route payments).
 *
 * Include after <cmocka.h>. Every function is static inline so that a test need not use all.
 */
#ifndef TF_FIXTURE_H
#define TF_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "context.h"
#include "threat.h"
#include "diag.h"
#include "json_loc.h"

/* The file name config errors carry for text configs. */
#define TFX_FILE "partners.d/acme/partner.json"

struct tfx {
    struct gw_diag d;
    struct gw_jctx jc;
    struct gw_jsonloc *loc;
    json_t *root;
    struct tf_conf cc;
    int have_cc;
    struct tf_limits limits;
    struct gw_arena arena;
    struct tf_ctx x;
    const struct tf_ops *ops;
    void *inst;
    struct tf_message m;
};

static inline void
tfx_init(struct tfx *f)
{
    memset(f, 0, sizeof *f);
    tf_limits_default(&f->limits);
    gw_arena_init(&f->arena);
    tf_ctx_init(&f->x, &f->arena, &f->limits);
    f->x.partner_id = "acme-bank";
    f->x.partner_name = "ACME Bank";
    f->x.cert_subject = "CN=acme";
    f->x.request_id = "r-123";
    f->x.method = "POST";
    f->x.path = "/payments";
    f->x.route_name = "payments";
}

/* Destroy the instance and its config (the diag list stays). */
static inline void
tfx_release(struct tfx *f)
{
    if (f->inst != NULL && f->ops->destroy != NULL)
        f->ops->destroy(f->inst);
    f->inst = NULL;
    if (f->have_cc)
        tf_conf_done(&f->cc);
    f->have_cc = 0;
    json_decref(f->root);
    f->root = NULL;
    gw_jsonloc_free(f->loc);
    f->loc = NULL;
}

static inline void
tfx_free(struct tfx *f)
{
    tfx_release(f);
    gw_diag_free(&f->d);
    tf_ctx_clear_error(&f->x);
    gw_arena_free(&f->arena);
    memset(f, 0, sizeof *f);
}

/* Create ops from config (at JSON path `path` of `file`, positions in f->loc); dir is the bundle
 * folder. Returns the instance (also in f->inst) or NULL; problems are in f->d. */
static inline void *
tfx_create_doc(struct tfx *f, const struct tf_ops *ops, enum tf_phase phase, const char *file,
               const char *dir, const json_t *config, const char *path)
{
    f->jc = (struct gw_jctx){.file = file, .dir = dir, .loc = f->loc, .d = &f->d};
    tf_conf_init(&f->cc, &f->jc, path, config, phase, &f->limits);
    f->have_cc = 1;
    f->ops = ops;
    f->inst = ops->create(&f->cc);
    return f->inst;
}

/* Create ops from a config written as text: it becomes the step
 * routes[0].<request|response>[0].<ops->name> of TFX_FILE, its first line on line 2 (the line
 * before holds the wrapper), so that a line of config_text is line n + 1 of the file. */
static inline void *
tfx_create(struct tfx *f, const struct tf_ops *ops, enum tf_phase phase, const char *config_text,
           const char *dir)
{
    const char *chain = phase == TF_PHASE_REQUEST ? "request" : "response";
    char *text, path[128];
    json_error_t e;
    size_t n = strlen(config_text) + 256;

    tfx_release(f);
    text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "{\"routes\": [{\"%s\": [{\"%s\":\n%s\n}]}]}", chain, ops->name,
             config_text);
    f->root = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (f->root == NULL)
        fail_msg("bad test config (line %d): %s\n%s", e.line, e.text, text);
    f->loc = gw_jsonloc_build(text, strlen(text));
    snprintf(path, sizeof path, "routes[0].%s[0].%s", chain, ops->name);
    const json_t *config = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(f->root, "routes"), 0),
                                       chain), 0),
        ops->name);
    tfx_create_doc(f, ops, phase, TFX_FILE, dir, config, path);
    free(text);
    return f->inst;
}

/* Assert the diag list is exactly `want` (each "error: ..." or "warning: ..."), in order; on a
 * mismatch every line is printed. */
static inline void
tfx_assert_diag(const struct gw_diag *d, const char *const *want, size_t n)
{
    int ok = d->n == n;

    for (size_t i = 0; ok && i < n; i++) {
        char line[2048];
        snprintf(line, sizeof line, "%s: %s",
                 d->items[i].level == GW_DIAG_ERROR ? "error" : "warning", d->items[i].text);
        ok = strcmp(line, want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "expected %zu lines:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
        fprintf(stderr, "got %zu lines:\n", d->n);
        gw_diag_print(d, stderr);
    }
    assert_true(ok);
}

#define TFX_ASSERT_DIAG(d, ...)                                                                    \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        tfx_assert_diag((d), want_, sizeof want_ / sizeof want_[0]);                               \
    } while (0)

/* Make f->m a message of the phase with Content-Type ct (NULL: none) and the body (NULL: none;
 * copied into the arena). */
static inline struct tf_message *
tfx_message(struct tfx *f, enum tf_phase phase, const char *ct, const char *body)
{
    tf_message_init(&f->m, phase);
    if (phase == TF_PHASE_RESPONSE)
        f->m.status = 200;
    if (ct != NULL)
        f->x.header_add(&f->x, &f->m, "Content-Type", ct, strlen(ct));
    if (body != NULL) {
        f->m.body = gw_arena_strndup(&f->arena, body, strlen(body));
        f->m.body_len = strlen(body);
    }
    return &f->m;
}

/* The message's body as a NUL-terminated string (in the arena), written the way the chain
 * writes it at its end when a step left it as a document. */
static inline const char *
tfx_body(struct tfx *f)
{
    size_t len;
    const char *body = f->x.body_bytes(&f->x, &f->m, &len);

    return body != NULL ? gw_arena_strndup(&f->arena, body, len) : "";
}

/* The failure x holds as the problem the partner gets (status, code, detail, errors). */
static inline json_t *
tfx_problem(const struct tf_ctx *x)
{
    return json_pack("{s:i,s:s,s:s,s:O}", "status", x->err_status, "code",
                     x->err_code ? x->err_code : "", "detail", x->err_detail ? x->err_detail : "",
                     "errors", x->err_errors ? x->err_errors : json_null());
}

/* Read a whole file (malloc'd, NUL-terminated); fails the test when it cannot. */
static inline char *
tfx_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

/* cmocka setup / teardown with a struct tfx as the state. */
static inline int
tfx_setup(void **state)
{
    static struct tfx f;

    tfx_init(&f);
    *state = &f;
    return 0;
}

static inline int
tfx_teardown(void **state)
{
    tfx_free(*state);
    return 0;
}

static inline int
tfx_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The golden case names in dir: NAME of every NAME<suffix>, sorted, malloc'd (free each and the
 * array). Returns how many. */
static inline size_t
tfx_golden_names(const char *dir, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, sl = strlen(suffix);

    *out = NULL;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        assert_non_null(names);
        names[n++] = strndup(e->d_name, len - sl);
    }
    closedir(d);
    qsort(names, n, sizeof *names, tfx_name_cmp);
    *out = names;
    return n;
}

#endif
