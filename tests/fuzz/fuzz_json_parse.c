/* fuzz_json_parse.c: libFuzzer target for tf_json_parse and the json_to_xml conversion.
 *
 * Each input goes to tf_json_parse (jansson after the limits scan) and to tf_json_to_xml (its own
 * parser, which keeps numbers as written) under the same small limits. Beyond the sanitizers it
 * checks, abort()ing otherwise: refusals have a known reason and a one-line "JSON: " message; the
 * two parsers agree (what jansson takes, json_to_xml takes too unless XML cannot carry it; what
 * json_to_xml takes, jansson takes; what both refuse, they refuse for the same reason with the
 * same message, so that json_map, validate and json_to_xml answer a body alike); the XML parses; and
 * converting it to JSON and back gives the same XML again (JSON -> XML -> JSON -> XML is stable).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "arena.h"
#include "fuzz_xj.h"

static struct tf_xj *knobs;

/* Refusals json_to_xml adds to the parser's: what XML cannot carry. */
static int
xml_cannot_carry(const char *err)
{
    static const char *const why[] = {
        "XML 1.0 cannot carry", "a comment cannot", "an attribute must be", "must hold",
        "\"#order\" must be",   "XML name longer",   "output exceeds", "namespace declaration",
    };

    for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
        if (strstr(err, why[i]) != NULL)
            return 1;
    return 0;
}

/* XML -> JSON -> XML gives the same XML. */
static void
stable(const char *xml, size_t xlen, struct tf_ctx *x, const struct tf_limits *large)
{
    enum tf_threat why;
    char err[256];
    size_t jlen, x2len;
    xmlDocPtr doc = tf_xml_parse(xml, xlen, large, &why, err, sizeof err);
    char *json, *xml2;

    CHECK(doc != NULL);
    json = tf_xml_to_json(knobs, doc, x, &jlen, &why, err, sizeof err);
    xmlFreeDoc(doc);
    CHECK(json != NULL);
    xml2 = tf_json_to_xml(knobs, json, jlen, x, &x2len, &why, err, sizeof err);
    CHECK(xml2 != NULL && x2len == xlen && memcmp(xml, xml2, xlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct tf_limits small, large;
    struct gw_arena a;
    struct tf_ctx x;
    enum tf_threat why1 = TF_THREAT_OK, why2 = TF_THREAT_OK;
    char err1[256], err2[256];
    size_t xlen;
    json_t *v;
    char *xml;

    if (knobs == NULL)
        knobs = compile("{\"types\": true, \"comments\": true, \"arrays\": [\"a\"], "
                        "\"numbers\": [\"n\"], \"booleans\": [\"b\"]}");
    tf_limits_default(&small);
    small.max_body = 1 << 16;
    small.json.max_depth = 20;
    small.json.max_entries = 100;
    small.json.max_string_len = 1000;
    tf_limits_default(&large);
    large.json.max_depth = 200;
    large.xml.max_depth = 200;
    gw_arena_init(&a);
    tf_ctx_init(&x, &a, &small);

    v = tf_json_parse(buf, size, &small, &why1, err1, sizeof err1);
    if (v == NULL)
        check_refusal(why1, err1, "JSON: ");
    json_decref(v);
    xml = tf_json_to_xml(knobs, buf, size, &x, &xlen, &why2, err2, sizeof err2);
    if (xml == NULL)
        check_refusal(why2, err2, "JSON: ");
    if (v != NULL && xml == NULL)
        CHECK(xml_cannot_carry(err2));
    CHECK(v != NULL || xml == NULL);
    if (v == NULL)
        CHECK(why1 == why2 && strcmp(err1, err2) == 0);
    if (xml != NULL) {
        CHECK(strlen(xml) == xlen);
        x.limits = &large;
        stable(xml, xlen, &x, &large);
    }
    gw_arena_free(&a);
    return 0;
}
