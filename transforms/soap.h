/* soap.h: the soap transform's compiled form, shared by its runtime (soap.c) and its
 * configuration (soap_conf.c). Other modules use tf_soap_ops (builtins_xml.h).
 */
#ifndef TF_SOAP_H
#define TF_SOAP_H

#include <stddef.h>

#include <libxml/tree.h>

#include "template.h"
#include "transform.h"

#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

struct soap_inst {
    int unwrap;                  /* 1: unwrap, 0: wrap */
    int version;                 /* 11 or 12; unwrap: 0 takes either */
    char *prefix;                /* wrap: the envelope's prefix */
    struct tf_template *action;  /* wrap: SOAPAction (1.1) or action parameter (1.2); NULL: none */
    /* wrap with "header": <prefix:Header xmlns:prefix="ns">fragment</prefix:Header> */
    xmlDocPtr header;
    char *header_text;           /* the fragment serialized, when it holds no template */
    size_t header_len;
    struct tf_template **tpl;    /* the templated text and attribute values, in document order */
    size_t ntpl;
};

/* The envelope namespace of a version (11 or 12). */
const char *tf_soap_ns(int version);

/* Call fn on every text node (attr NULL) and attribute (text NULL) under the children of node,
 * in document order. */
void tf_soap_walk(xmlNodePtr node, void (*fn)(xmlNodePtr text, xmlAttrPtr attr, void *arg),
                  void *arg);

void *tf_soap_create(const struct tf_conf *cc);
void tf_soap_destroy(void *inst);

#endif
