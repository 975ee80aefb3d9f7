/* forms_probe.c: a test plugin that tells which forms hold the body when a chain reaches it.
 * It takes an XML document, so the chain hands it the body as it is held (no bytes written for
 * it), and it adds a header "X-Forms: <forms> <document>" (TF_FORM_* bits held, and the address
 * of the XML document held, 0 when none) without reading or changing the body. test_chain_forms
 * puts it between steps to see that a step kept the document it read, and that two steps read
 * the same document: one parse. */
#include <stdio.h>
#include <string.h>

#include "transform.h"

static void *
probe_create(const struct tf_conf *cc)
{
    static int instance;

    (void)cc;
    return &instance;
}

static int
probe_apply(void *inst, struct tf_message *m, struct tf_ctx *x)
{
    char v[64];

    (void)inst;
    snprintf(v, sizeof v, "%u %p", m->form != 0 ? m->form : TF_FORM_BYTES, (void *)m->xml);
    x->header_add(x, m, "X-Forms", v, strlen(v));
    return TF_SKIP; /* the body is as it was */
}

static const struct tf_ops probe = {
    .abi = TF_ABI_VERSION,
    .name = "forms_probe",
    .phases = TF_PHASE_REQUEST | TF_PHASE_RESPONSE,
    .create = probe_create,
    .apply = probe_apply,
    .takes = TF_FORM_XML,
};

const struct tf_ops *const portico_transforms[] = { &probe, NULL };
