/* tf_xml_fixture.h: what the unit tests of the XML transforms (test_xslt, test_xml_map,
 * test_soap) share: a transform created from a config text as a bundle would hold it, applied to
 * a message through a real tf_ctx, config problems checked line by line, outputs compared with
 * golden files.
 *
 * Golden files: UPDATE_GOLDEN=1 writes what the transform produced instead of comparing (then
 * review the diff before committing it). Tests run from the repository's root.
 */
#ifndef TF_XML_FIXTURE_H
#define TF_XML_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "threat.h"
#include "tf_fixture.h" /* tfx_read */
#include "transform.h"

struct fx {
    const struct tf_ops *ops;
    struct gw_diag d;
    json_t *root;
    struct gw_jsonloc *loc;
    struct gw_jctx jctx;
    struct tf_limits limits;
    void *inst;
    struct gw_arena arena;
    struct tf_ctx x;
    struct tf_message m;
};

static inline int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    tf_limits_default(&f->limits);
    gw_arena_init(&f->arena);
    *state = f;
    return 0;
}

static inline void
fx_destroy_inst(struct fx *f)
{
    if (f->inst != NULL && f->ops->destroy != NULL)
        f->ops->destroy(f->inst);
    f->inst = NULL;
}

static inline int
fx_teardown(void **state)
{
    struct fx *f = *state;

    tf_ctx_clear_error(&f->x);
    gw_arena_free(&f->arena);
    fx_destroy_inst(f);
    json_decref(f->root);
    gw_jsonloc_free(f->loc);
    gw_diag_free(&f->d);
    free(f);
    return 0;
}

/* Create the transform from `text`, a JSON object whose member named like the transform is the
 * step's config, read as the file "partner.json" of the bundle folder `dir`. Returns the
 * instance (also in f->inst), NULL when create refused the config. */
static inline void *
fx_create_phase(struct fx *f, const struct tf_ops *ops, const char *dir, const char *text,
                enum tf_phase phase)
{
    json_error_t jerr;
    struct tf_conf cc;

    fx_destroy_inst(f);
    json_decref(f->root);
    gw_jsonloc_free(f->loc);
    gw_diag_free(&f->d);
    memset(&f->d, 0, sizeof f->d);
    f->ops = ops;
    f->root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (f->root == NULL)
        fail_msg("config text: %s at line %d", jerr.text, jerr.line);
    f->loc = gw_jsonloc_build(text, strlen(text));
    assert_non_null(f->loc);
    f->jctx = (struct gw_jctx){ .file = "partner.json", .dir = dir, .loc = f->loc, .d = &f->d };
    tf_conf_init(&cc, &f->jctx, ops->name, json_object_get(f->root, ops->name), phase,
                 &f->limits);
    f->inst = ops->create(&cc);
    tf_conf_done(&cc);
    return f->inst;
}

static inline void *
fx_create(struct fx *f, const struct tf_ops *ops, const char *dir, const char *text)
{
    return fx_create_phase(f, ops, dir, text, TF_PHASE_REQUEST);
}

/* Print the diag list (for a failing test). */
static inline void
fx_print_diag(const struct fx *f)
{
    for (size_t i = 0; i < f->d.n; i++)
        fprintf(stderr, "  %s: %s\n", f->d.items[i].level == GW_DIAG_ERROR ? "error" : "warning",
                f->d.items[i].text);
}

/* Assert the diag list is exactly want[0..n) ("error: ..." or "warning: ..."). */
static inline void
fx_assert_diag(const struct fx *f, const char *const *want, size_t n)
{
    int ok = f->d.n == n;

    for (size_t i = 0; ok && i < n; i++) {
        char line[2048];
        snprintf(line, sizeof line, "%s: %s",
                 f->d.items[i].level == GW_DIAG_ERROR ? "error" : "warning", f->d.items[i].text);
        ok = strcmp(line, want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "expected %zu lines:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
        fprintf(stderr, "got %zu lines:\n", f->d.n);
        fx_print_diag(f);
    }
    assert_true(ok);
}

#define FX_ASSERT_DIAG(f, ...)                                                                     \
    do {                                                                                           \
        static const char *const want_[] = { __VA_ARGS__ };                                        \
        fx_assert_diag((f), want_, sizeof want_ / sizeof want_[0]);                                \
    } while (0)

/* A fresh message for the phase (and a fresh exchange: arena, context) with a Content-Type
 * (NULL: none) and a copy of body[0..len). */
static inline struct tf_message *
fx_message(struct fx *f, enum tf_phase phase, const char *ctype, const char *body, size_t len)
{
    tf_ctx_clear_error(&f->x);
    gw_arena_free(&f->arena);
    gw_arena_init(&f->arena);
    tf_ctx_init(&f->x, &f->arena, &f->limits);
    f->x.request_id = "req-1";
    f->x.partner_id = "acme-bank";
    f->x.partner_name = "ACME Bank";
    f->x.route_name = "payments";
    f->x.method = "POST";
    f->x.path = "/payments";
    tf_message_init(&f->m, phase);
    if (phase == TF_PHASE_RESPONSE)
        f->m.status = 200;
    if (ctype != NULL)
        f->x.header_add(&f->x, &f->m, "Content-Type", ctype, strlen(ctype));
    if (body != NULL) {
        f->m.body = f->x.alloc(&f->x, len + 1);
        memcpy(f->m.body, body, len);
        f->m.body[len] = '\0';
        f->m.body_len = len;
    }
    return &f->m;
}

static inline int
fx_apply(struct fx *f)
{
    return f->ops->apply(f->inst, &f->m, &f->x);
}

/* A header of the message as a NUL-terminated string (from the arena), or NULL. */
static inline const char *
fx_header(struct fx *f, const char *name)
{
    const struct tf_header *h = f->x.header_get(&f->m, name);
    char *s;

    if (h == NULL)
        return NULL;
    s = f->x.alloc(&f->x, h->value_len + 1);
    memcpy(s, h->value, h->value_len);
    s[h->value_len] = '\0';
    return s;
}

static inline void
fx_write(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    if (fp == NULL)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Apply the transform to the file `input` in `phase`; assert the result is TF_DONE. */
static inline void
fx_apply_file(struct fx *f, enum tf_phase phase, const char *ctype, const char *input)
{
    size_t len;
    char *in = tfx_read(input, &len);
    int rc;

    fx_message(f, phase, ctype, in, len);
    free(in);
    rc = fx_apply(f);
    if (rc != TF_DONE)
        fail_msg("apply on %s returned %d: %d %s: %s", input, rc, f->x.err_status,
                 f->x.err_code ? f->x.err_code : "", f->x.err_detail ? f->x.err_detail : "");
}

/* Compare the message's body with the golden file (or write it with UPDATE_GOLDEN=1). */
static inline void
fx_golden(struct fx *f, const char *golden)
{
    const char *update = getenv("UPDATE_GOLDEN");
    size_t len;
    char *want;

    if (update != NULL && strcmp(update, "1") == 0) {
        fx_write(golden, f->m.body ? f->m.body : "", f->m.body_len);
        return;
    }
    want = tfx_read(golden, &len);
    if (len != f->m.body_len || memcmp(want, f->m.body, len) != 0) {
        fprintf(stderr, "%s differs; got %zu bytes:\n%.*s\n", golden, f->m.body_len,
                (int)f->m.body_len, f->m.body ? f->m.body : "");
        free(want);
        fail_msg("golden %s", golden);
    }
    free(want);
}

/* Assert the last apply failed with status and code, and that the detail holds `detail`. */
static inline void
fx_assert_fail(struct fx *f, int rc, int status, const char *code, const char *detail)
{
    int ok = rc == TF_ERROR && f->x.err_status == status && f->x.err_code != NULL &&
             strcmp(f->x.err_code, code) == 0 && f->x.err_detail != NULL &&
             strstr(f->x.err_detail, detail) != NULL;

    if (!ok)
        fail_msg("expected %d %s \"...%s...\", got rc %d: %d %s: %s", status, code, detail, rc,
                 f->x.err_status, f->x.err_code ? f->x.err_code : "(none)",
                 f->x.err_detail ? f->x.err_detail : "(none)");
}

#endif
