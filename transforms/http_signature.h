/* http_signature.h: the `http_signature` transform (HTTP Message Signatures, RFC 9421, with
 * Content-Digest, RFC 9530), shared by its three files: http_signature_conf.c reads the step's
 * configuration, http_sig_base.c makes a signature base and digests bodies, http_signature.c
 * verifies and signs. Documented in transforms/README.md.
 */
#ifndef TF_HTTP_SIGNATURE_H
#define TF_HTTP_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "http_sfv.h"
#include "builtins_sig.h"
#include "sig.h"
#include "transform.h"

/* Content-Digest: what verify asks of it, what sign writes. */
enum hs_digest {
    HS_CD_DEFAULT,    /* verify: required when the message has a body, else if present */
    HS_CD_REQUIRED,   /* verify: present, covered by the signature and matching the body */
    HS_CD_IF_PRESENT, /* verify: checked when present */
    HS_CD_SHA256,     /* sign: sha-256 */
    HS_CD_SHA512,     /* sign: sha-512 */
    HS_CD_NONE,       /* sign: none written */
};

struct hs_inst {
    int sign;                     /* 1: "sign", 0: "verify" */
    tf_sig_algs algs;             /* verify: the allow-list */
    struct gw_arena arena;        /* the components (parsed at load) */
    struct gw_sfv_member *comps;  /* verify: required; sign: covered (string items, in order) */
    char *label;                  /* verify: NULL for the first that covers comps */
    int64_t max_age_s;            /* verify: 0 for no limit on created */
    enum hs_digest digest;
    struct tf_sig_own own;        /* sign: our key */
};

/* Read the step's configuration into in (hs_inst zeroed, its arena ready): 0, or -1 after
 * reporting. */
int hs_conf(const struct tf_conf *cc, struct hs_inst *in);

/* Parse a component identifier as the configuration writes it ("@method", "content-digest",
 * "@query-param;name=\"id\"", "example-dict;key=\"a\"") into it (memory from a): 0, or -1. */
int hs_comp_parse(struct gw_arena *a, const char *s, struct gw_sfv_item *it);

/* Can a signature base be made with component it in phase's messages? NULL yes, else why not
 * (a static text). */
const char *hs_comp_unsupported(const struct gw_sfv_item *it, enum tf_phase phase);

/* The signature base (RFC 9421 section 2.5) of the components of the inner list `covered`
 * (with its parameters, the @signature-params) over m, in the arena: 0 with *base and *len, or
 * -1 with *why (in the arena) when a component cannot be made (a field missing, a component
 * not supported, a component twice). */
int hs_base(struct tf_ctx *x, const struct tf_message *m, const struct gw_sfv_item *covered,
            char **base, size_t *len, const char **why);

/* The fields named name of m (case-insensitively), each value trimmed, joined with ", ", in the
 * arena (NUL-terminated): NULL when there is none. */
const char *hs_field(struct tf_ctx *x, const struct tf_message *m, const char *name,
                     size_t *len);

/* Content-Digest value for body[0..n) with sha-256 or sha-512 ("sha-256=:...:"), in the arena. */
const char *hs_digest_value(struct tf_ctx *x, enum hs_digest alg, const void *body, size_t n,
                            size_t *len);
/* Does Content-Digest value v[0..vn) hold body[0..n)'s digest? 1 yes (every sha-256 and sha-512
 * member matches, and one at least is there), else 0 with *why. */
int hs_digest_check(struct tf_ctx *x, const char *v, size_t vn, const void *body, size_t n,
                    const char **why);

#endif
