/* validate.h: the compiled form of a `validate` config, shared by validate_conf.c (load) and
 * validate.c (run time). Private to those two files.
 */
#ifndef TF_VALIDATE_H
#define TF_VALIDATE_H

#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "json_schema.h"
#include "transform.h"

struct vd_inst {
    int strict;               /* a body of another media type fails (default) or is skipped */
    size_t max_errors;        /* errors listed in the problem body (default 20) */
    xmlDocPtr xsd_doc;        /* xml_schema: the top schema document, kept for the schema */
    xmlSchemaPtr xsd;         /* read-only once parsed: shared by the workers */
    struct tf_jschema *json;  /* json_schema */
};

/* tf_validate_ops.apply. In validate.c. */
int tf_vd_apply(void *inst, struct tf_message *m, struct tf_ctx *x);

#endif
