/* fuzz_xml_parse.c: libFuzzer target for tf_xml_parse and the xml_to_json conversion.
 *
 * Each input is parsed under small limits. What parses is converted to JSON with three sets of
 * knobs (defaults; comments, strip, arrays and typing; a namespace map), and beyond the
 * sanitizers it checks what must always hold, abort()ing otherwise: a refusal has a known reason
 * and a one-line "XML: " message; the JSON is valid (jansson reads it, duplicate keys refused);
 * json_to_xml takes it back to XML that parses; and that XML converts to the same JSON again
 * (XML -> JSON -> XML -> JSON is stable; not checked with the map, see convert()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "arena.h"
#include "fuzz_xj.h"

static const char *const configs[] = {
    NULL,
    "{\"comments\": true, \"namespaces\": \"strip\", \"arrays\": [\"a\", \"/r/b\"], "
    "\"numbers\": [\"n\", \"@n\"], \"booleans\": [\"b\"], \"empty\": \"null\", \"pretty\": true}",
    "{\"namespaces\": {\"urn:a\": \"a\", \"urn:b\": \"b\"}, \"attribute_prefix\": \"-\", "
    "\"text_key\": \"#t\", \"comments\": true}",
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static struct tf_xj *compiled[NCONFIGS];

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
 * map: a document may use the map's prefixes for other namespaces, which the map cannot undo). */
static void
convert(const struct tf_xj *c, xmlDocPtr doc, struct tf_ctx *x, int stable)
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
    v = json_loadb(json, jlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    CHECK(v != NULL);
    json_decref(v);
    xml = tf_json_to_xml(c, json, jlen, x, &xlen, &why, err, sizeof err);
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

    if (compiled[0] == NULL)
        for (size_t i = 0; i < NCONFIGS; i++)
            compiled[i] = compile(configs[i]);
    limits(&small, &large);
    doc = tf_xml_parse((const char *)data, size, &small, &why, err, sizeof err);
    if (doc == NULL) {
        check_refusal(why, err, "XML: ");
        return 0;
    }
    CHECK(why == TF_THREAT_OK && err[0] == '\0');
    gw_arena_init(&a);
    tf_ctx_init(&x, &a, &large);
    for (size_t i = 0; i < NCONFIGS; i++)
        convert(compiled[i], doc, &x, i < 2);
    gw_arena_free(&a);
    xmlFreeDoc(doc);
    return 0;
}
