/* body_forms.h: the body calls of tf_ctx (transform.h, ABI 2): the body held as bytes, a JSON
 * document or an XML document between the steps of a chain, converted when a step asks for
 * another form, written once at the chain's end.
 *
 * m->form is the set of forms that hold the body now (0 stands for bytes): a parse adds its form
 * beside the bytes it read (the bytes still hold: a step that only reads the document leaves
 * them), a step that changes the body makes the form it wrote the only one (set_json, set_xml,
 * tf_set_body).
 */
#ifndef TF_BODY_FORMS_H
#define TF_BODY_FORMS_H

#include "transform.h"

/* Fill x's body calls (tf_ctx_init does). */
void tf_body_forms_init(struct tf_ctx *x);

/* The forms holding m's body now (TF_FORM_*; never 0). */
static inline unsigned
tf_body_forms(const struct tf_message *m)
{
    return m->form != 0 ? m->form : TF_FORM_BYTES;
}

/* After a step that takes `takes` changed m (or may have): a step on bytes only leaves bytes
 * (it may have written them without a word); one that takes documents said what it wrote. */
void tf_body_forms_after(struct tf_message *m, unsigned takes);

/* Free the XML document m holds, if any (the body is in another form now). */
void tf_body_forms_drop_xml(struct tf_message *m);

#endif
