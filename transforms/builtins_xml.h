/* builtins_xml.h: the built-in transforms that work on XML bodies with libxml2 and libxslt.
 *
 *   xslt      an XSLT 1.0 stylesheet from the bundle, parameters from templates; no file writes,
 *             no network, no document() outside the bundle folder
 *   xml_map   a JSON body built from XPath expressions over an XML body
 *   soap      wrap a body in a SOAP 1.1/1.2 envelope, or unwrap one, SOAP faults becoming problems
 *   xmldsig   verify a partner's XML Signature (enveloped, or detached by Id), or sign with ours
 *
 * Their configuration is documented in transforms/README.md.
 */
#ifndef TF_BUILTINS_XML_H
#define TF_BUILTINS_XML_H

#include "transform.h"

extern const struct tf_ops tf_xslt_ops;
extern const struct tf_ops tf_xml_map_ops;
extern const struct tf_ops tf_soap_ops;
extern const struct tf_ops tf_xmldsig_ops;

#endif
