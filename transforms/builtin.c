/* builtin.c: the built-in transforms, each documented in transforms/README.md. */
#include "builtin.h"

#include "builtins_json.h"
#include "builtins_sig.h"
#include "builtins_xml.h"
#include "xml_json.h"

const struct tf_ops *const tf_builtins[] = {
    &tf_headers_ops,
    &tf_xml_to_json_ops,
    &tf_json_to_xml_ops,
    &tf_json_map_ops,
    &tf_validate_ops,
    &tf_xslt_ops,
    &tf_xml_map_ops,
    &tf_soap_ops,
    &tf_jws_ops,
    &tf_xmldsig_ops,
    &tf_http_signature_ops,
    NULL,
};
