/* abi1_upper.c: a plugin as one built for the transform ABI version 1 looks to the gateway (its
 * struct tf_ops ends before `takes`; it knows nothing of the body's forms): it upper-cases the
 * ASCII letters of the body it is given as bytes. test_chain_forms loads it to check that such a
 * plugin still loads and always gets bytes, written from a document a step before left. */
#include <stddef.h>

#include "transform.h"

/* struct tf_ops as ABI version 1 had it */
struct tf_ops_v1 {
    unsigned abi;
    const char *name;
    unsigned phases;
    void *(*create)(const struct tf_conf *cc);
    int (*apply)(void *inst, struct tf_message *m, struct tf_ctx *x);
    void (*destroy)(void *inst);
    unsigned flags;
};

static void *
upper_create(const struct tf_conf *cc)
{
    static int instance;

    (void)cc;
    return &instance;
}

static int
upper_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    char *b = x->alloc(x, m->body_len + 1);

    (void)inst;
    for (size_t i = 0; i < m->body_len; i++)
        b[i] = m->body[i] >= 'a' && m->body[i] <= 'z' ? (char)(m->body[i] - 32) : m->body[i];
    b[m->body_len] = '\0';
    m->body = b; /* as a version 1 plugin writes its result: straight into the message */
    return TF_DONE;
}

static const struct tf_ops_v1 upper = {
    .abi = 1,
    .name = "abi1_upper",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = upper_create,
    .apply = upper_apply,
};

const void *const portico_transforms[] = { &upper, NULL };
