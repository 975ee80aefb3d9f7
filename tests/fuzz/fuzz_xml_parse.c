/* fuzz_xml_parse.c: libFuzzer target for tf_xml_parse and the xml_to_json conversion.
 *
 * Each input is parsed under small limits. What parses is converted to JSON with three sets of
 * knobs (defaults; comments, strip, arrays and typing; a namespace map), and beyond the
 * sanitizers it checks what must always hold, abort()ing otherwise: a refusal has a known reason
 * and a one-line "XML: " message; the JSON is valid (jansson reads it, duplicate keys refused);
 * json_to_xml takes it back to XML that parses; and that XML converts to the same JSON again
 * (XML -> JSON -> XML -> JSON is stable; not checked with the map, see convert()). An input
 * with pj:type="number", "boolean" or "string" markers goes back with "types": true added to
 * the knobs: xml_to_json types what they mark, and only with types does json_to_xml write them
 * again (without, numbers and booleans come back as strings by design: transforms/README.md,
 * "Round trips").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "arena.h"
#include "fuzz_xj.h"
#include "json_tree.h"

static const char *const configs[] = {
    NULL,
    "{\"comments\": true, \"namespaces\": \"strip\", \"arrays\": [\"a\", \"/r/b\"], "
    "\"numbers\": [\"n\", \"@n\"], \"booleans\": [\"b\"], \"empty\": \"null\", \"pretty\": true}",
    "{\"namespaces\": {\"urn:a\": \"a\", \"urn:b\": \"b\"}, \"attribute_prefix\": \"-\", "
    "\"text_key\": \"#t\", \"comments\": true}",
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static struct tf_xj *compiled[NCONFIGS], *typed[NCONFIGS];

/* The knobs of text (NULL: the defaults) with "types": true. */
static struct tf_xj *
compile_typed(const char *text)
{
    json_t *cfg = text ? json_loads(text, 0, NULL) : json_object();
    char *typed_text;
    struct tf_xj *c;

    CHECK(cfg != NULL && json_object_set_new(cfg, "types", json_true()) == 0);
    typed_text = json_dumps(cfg, 0);
    c = compile(typed_text);
    free(typed_text);
    json_decref(cfg);
    return c;
}

/* Does an element of the list carry pj:type="number", "boolean" or "string"? */
static int
type_marked(const xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
            if (a->ns == NULL || a->ns->href == NULL ||
                strcmp((const char *)a->ns->href, TF_XJ_NS) != 0 ||
                strcmp((const char *)a->name, "type") != 0)
                continue;
            xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
            int marked = v != NULL && (xmlStrEqual(v, BAD_CAST "number") ||
                                       xmlStrEqual(v, BAD_CAST "boolean") ||
                                       xmlStrEqual(v, BAD_CAST "string"));
            xmlFree(v);
            if (marked)
                return 1;
        }
        if (type_marked(n->children))
            return 1;
    }
    return 0;
}

/* The small limits inputs are parsed with, and the larger ones the way back gets (JSON nests
 * deeper than the XML it comes from: arrays add levels). */
static void
limits(struct tf_limits *small, struct tf_limits *large)
{
    tf_limits_default(small);
    small->max_body = 1 << 16;
    small->xml.max_depth = 24;
    small->xml.max_children = 200;
    small->xml.max_attrs = 16;
    small->xml.max_name_len = 64;
    small->xml.max_text_len = 4096;
    small->xml.max_nodes = 4000;
    tf_limits_default(large);
    large->json.max_depth = 256;
}

/* stable: check XML -> JSON -> XML -> JSON gives the first JSON again (not for the namespace
 * map: a document may use the map's prefixes for other namespaces, which the map cannot undo).
 * back: the knobs of the way back to XML (c, or c with types). */
static void
convert(const struct tf_xj *c, const struct tf_xj *back, xmlDocPtr doc, struct tf_ctx *x,
        int stable)
{
    enum tf_threat why;
    char err[256];
    size_t jlen, xlen, j2len;
    char *json, *xml, *json2;
    json_error_t e;
    json_t *v;
    xmlDocPtr doc2;

    json = tf_xml_to_json(c, doc, x, &jlen, &why, err, sizeof err);
    CHECK(json != NULL && strlen(json) == jlen);
    {   /* the document a next step would get, written out, is the same text */
        size_t tlen = 0;
        char *tree = tf_jv_write(tf_xml_to_json_tree(c, doc, x), c->pretty, 0, x, &tlen);
        CHECK(tree != NULL && tlen == jlen && memcmp(tree, json, jlen) == 0);
    }
    v = json_loadb(json, jlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    CHECK(v != NULL);
    json_decref(v);
    xml = tf_json_to_xml(back, json, jlen, x, &xlen, &why, err, sizeof err);
    CHECK(xml != NULL);
    doc2 = tf_xml_parse(xml, xlen, x->limits, &why, err, sizeof err);
    CHECK(doc2 != NULL);
    json2 = tf_xml_to_json(c, doc2, x, &j2len, &why, err, sizeof err);
    xmlFreeDoc(doc2);
    CHECK(json2 != NULL);
    if (stable)
        CHECK(j2len == jlen && memcmp(json, json2, jlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tf_limits small, large;
    struct gw_arena a;
    struct tf_ctx x;
    enum tf_threat why = TF_THREAT_OK;
    char err[256];
    xmlDocPtr doc;
    int marked;

    if (compiled[0] == NULL)
        for (size_t i = 0; i < NCONFIGS; i++) {
            compiled[i] = compile(configs[i]);
            typed[i] = compile_typed(configs[i]);
        }
    limits(&small, &large);
    doc = tf_xml_parse((const char *)data, size, &small, &why, err, sizeof err);
    if (doc == NULL) {
        check_refusal(why, err, "XML: ");
        return 0;
    }
    CHECK(why == TF_THREAT_OK && err[0] == '\0');
    gw_arena_init(&a);
    tf_ctx_init(&x, &a, &large);
    marked = type_marked(doc->children);
    for (size_t i = 0; i < NCONFIGS; i++)
        convert(compiled[i], marked ? typed[i] : compiled[i], doc, &x, i < 2);
    gw_arena_free(&a);
    xmlFreeDoc(doc);
    return 0;
}
