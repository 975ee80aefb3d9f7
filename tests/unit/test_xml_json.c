/* test_xml_json.c: the xml_to_json and json_to_xml transforms (transforms/xml_json.c).
 *
 * - name escaping and number typing, as tables and as properties over generated strings;
 * - golden files under tests/data/xml_json/ for every knob, and pain.001 / camt.053 in full,
 *   compared byte for byte (PORTICO_UPDATE_GOLDEN=1 rewrites them: review the diff);
 * - the round trip XML -> JSON -> XML keeps the infoset on every sample (tests/data/samples),
 *   with the default knobs and each namespace mode, and JSON -> XML -> JSON gives the same JSON;
 * - XML -> JSON -> XML -> JSON gives the same JSON on inputs that failed the fuzz target;
 * - refusals (threat limits, what XML cannot carry) and the transforms through a tf_ctx;
 * - config errors with their positions.
 * Runs with the repository root as the working directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>
#include <libxml/tree.h>

#include "arena.h"
#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "json_tree.h"
#include "threat.h"
#include "xml_json.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char *
read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        return NULL;
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void
write_all(const char *path, const char *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* A transform context over its own arena. */
struct env {
    struct gw_arena a;
    struct tf_limits l;
    struct tf_ctx x;
};

static void
env_init(struct env *e)
{
    gw_arena_init(&e->a);
    tf_limits_default(&e->l);
    tf_ctx_init(&e->x, &e->a, &e->l);
}

static void
env_free(struct env *e)
{
    tf_ctx_clear_error(&e->x);
    gw_arena_free(&e->a);
}

/* Compile a step config given as JSON text ("" or NULL: the defaults); problems go to d. */
static struct tf_xj *
make_conf(const char *text, struct gw_diag *d)
{
    struct gw_jsonloc *loc = NULL;
    struct gw_jctx j = { .file = "step.json", .dir = ".", .d = d };
    struct tf_limits l;
    struct tf_conf cc;
    struct tf_xj *c;
    json_error_t e;
    json_t *cfg = NULL;

    json_t *doc = NULL;
    char *full = NULL;

    tf_limits_default(&l);
    if (text != NULL && *text) {
        /* the step inside a document, as in a bundle: {"step": CONFIG} */
        assert_true(asprintf(&full, "{\"step\": %s}", text) > 0);
        doc = json_loads(full, 0, &e);
        if (doc == NULL)
            fprintf(stderr, "config: %s\n", e.text);
        assert_non_null(doc);
        cfg = json_object_get(doc, "step");
        loc = gw_jsonloc_build(full, strlen(full));
    }
    j.loc = loc;
    tf_conf_init(&cc, &j, "step", cfg, TF_PHASE_REQUEST, &l);
    c = tf_xj_create(&cc);
    tf_conf_done(&cc);
    json_decref(doc);
    gw_jsonloc_free(loc);
    free(full);
    return c;
}

static struct tf_xj *
conf_ok(const char *text)
{
    struct gw_diag d = { 0 };
    struct tf_xj *c = make_conf(text, &d);

    if (c == NULL || d.n > 0)
        gw_diag_print(&d, stderr);
    assert_non_null(c);
    assert_int_equal(d.n, 0);
    gw_diag_free(&d);
    return c;
}

/* XML text -> JSON text (in e's arena). */
static char *
x2j(const struct tf_xj *c, const char *xml, size_t len, struct env *e, size_t *outlen)
{
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc = tf_xml_parse(xml, len, &e->l, &why, err, sizeof err);
    char *out;

    if (doc == NULL)
        fprintf(stderr, "parse: %s\n", err);
    assert_non_null(doc);
    out = tf_xml_to_json(c, doc, &e->x, outlen, &why, err, sizeof err);
    if (out == NULL)
        fprintf(stderr, "xml_to_json: %s\n", err);
    assert_non_null(out);
    /* the same conversion into a document (for a next step that takes one), written out, is the
     * same text byte for byte, pretty or not */
    {
        const struct tf_xj *k = c != NULL ? c : tf_xj_defaults();
        size_t tlen = 0;
        char *tree = tf_jv_write(tf_xml_to_json_tree(c, doc, &e->x), k->pretty, 0, &e->x, &tlen);
        assert_non_null(tree);
        if (tlen != *outlen || memcmp(tree, out, tlen) != 0)
            fprintf(stderr, "text:\n%s\ntree:\n%s\n", out, tree);
        assert_int_equal(tlen, *outlen);
        assert_memory_equal(tree, out, tlen);
    }
    xmlFreeDoc(doc);
    return out;
}

static char *
j2x(const struct tf_xj *c, const char *json, size_t len, struct env *e, size_t *outlen)
{
    enum tf_threat why;
    char err[256];
    char *out = tf_json_to_xml(c, json, len, &e->x, outlen, &why, err, sizeof err);

    if (out == NULL)
        fprintf(stderr, "json_to_xml: %s\n", err);
    assert_non_null(out);
    return out;
}

/* ---- names and numbers --------------------------------------------------------------------- */

/* Is s an element name libxml2 accepts (XML 1.0 fifth edition, as it parses)? */
static int
parses_as_name(const char *s)
{
    char doc[1100];
    xmlDocPtr d;

    snprintf(doc, sizeof doc, "<%s/>", s);
    d = tf_xml_parse(doc, strlen(doc), NULL, NULL, NULL, 0);
    xmlFreeDoc(d);
    return d != NULL;
}

static void
test_name_escaping(void **state)
{
    static const struct {
        const char *key, *name;
    } t[] = {
        { "Document", "Document" },
        { "a b", "a_x0020_b" },
        { "1x", "_x0031_x" },
        { "-a", "_x002D_a" },
        { "a-.1", "a-.1" },
        { "", "_x_" },
        { "_x_", "_x005F_x_" },
        { "_x_y", "_x_y" },
        { "x:y", "x_x003A_y" },
        { "_x0041_", "_x005F_x0041_" },
        { "_x0041", "_x0041" },
        { "_x0041_a", "_x005F_x0041_a" },
        { "_x0041 ", "_x005F_x0041_x0020_" },
        { "__x0041_", "__x005F_x0041_" },
        { "_x0000_", "_x0000_" },
        { "_xd800_", "_xd800_" },
        { "a_b", "a_b" },
        { "caf\xc3\xa9", "caf\xc3\xa9" },
        { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
        { "\xf3\xb0\x80\x80", "_x000F0000_" },
        { "@id", "_x0040_id" },
        { "#text", "_x0023_text" },
        { "a\"<&>", "a_x0022__x003C__x0026__x003E_" },
    };
    char out[128], back[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = tf_xj_name_encode(t[i].key, strlen(t[i].key), out, sizeof out);
        if (strcmp(out, t[i].name) != 0)
            fprintf(stderr, "encode \"%s\": \"%s\", want \"%s\"\n", t[i].key, out, t[i].name);
        assert_string_equal(out, t[i].name);
        assert_int_equal(n, strlen(t[i].name));
        assert_true(parses_as_name(out));
        n = tf_xj_name_decode(out, n, back, sizeof back);
        assert_string_equal(back, t[i].key);
    }
    /* truncation reports the full length */
    assert_int_equal(tf_xj_name_encode("a b", 3, out, 4), 9);
    assert_string_equal(out, "a_x");
}

/* xorshift: reproducible strings */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Any key comes back from its name, and the name is an NCName; a name without "_x" comes back
 * from its key unchanged. */
static void
test_name_properties(void **state)
{
    static const char *const alphabet[] = {
        "_", "x", "0", "4", "1", "F", "A", "a", ":", " ", "-", ".", "\xc3\xa9", "\xf0\x9f\x98\x80",
        "\t", "@", "#", "\xc2\xb7", "\xef\xbf\xbd",
    };
    uint64_t s = 0x1234567;
    char key[64], name[1024], back[64];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t len = rnd(&s) % 10, k = 0, n;
        for (size_t i = 0; i < len; i++) {
            const char *a = alphabet[rnd(&s) % (sizeof alphabet / sizeof alphabet[0])];
            memcpy(key + k, a, strlen(a));
            k += strlen(a);
        }
        key[k] = '\0';
        n = tf_xj_name_encode(key, k, name, sizeof name);
        assert_true(n < sizeof name);
        if (!parses_as_name(name))
            fprintf(stderr, "key \"%s\" -> \"%s\": not a name\n", key, name);
        assert_true(parses_as_name(name));
        tf_xj_name_decode(name, n, back, sizeof back);
        if (strcmp(back, key) != 0)
            fprintf(stderr, "key \"%s\" -> \"%s\" -> \"%s\"\n", key, name, back);
        assert_string_equal(back, key);
        if (k > 0 && strpbrk(key, ": \t") == NULL && parses_as_name(key) &&
            strstr(key, "_x") == NULL) {
            assert_string_equal(name, key);
            tf_xj_name_decode(key, k, back, sizeof back);
            assert_string_equal(back, key);
        }
    }
}

static void
test_number_ok(void **state)
{
    static const struct {
        const char *s;
        int ok;
    } t[] = {
        { "0", 1 },        { "7", 1 },         { "-3", 1 },       { "7.5", 1 },
        { "0.05", 1 },     { "-0.5", 1 },      { "100", 1 },      { "6.20", 0 },
        { "1000.00", 0 },  { "014295803", 0 }, { "-0", 0 },       { "-0.0", 0 },
        { "1e5", 0 },      { "+1", 0 },        { " 1", 0 },       { "1 ", 0 },
        { "1.", 0 },       { ".5", 0 },        { "", 0 },         { "-", 0 },
        { "CH0309000000250090342", 0 },        { "123456789012345", 1 },
        { "1234567890123456", 1 },             { "9007199254740992", 1 },
        { "9007199254740993", 0 },             { "12345678901234567", 0 },
        { "1.23456789012345", 1 },             { "1.234567890123456", 0 },
        { "0.000000000000001", 1 },            { "0x10", 0 },
        { "1_000", 0 },    { "NaN", 0 },       { "Infinity", 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (tf_xj_number_ok(t[i].s, strlen(t[i].s)) != t[i].ok)
            fprintf(stderr, "number \"%s\": want %d\n", t[i].s, t[i].ok);
        assert_int_equal(tf_xj_number_ok(t[i].s, strlen(t[i].s)), t[i].ok);
    }
}

/* ---- golden files -------------------------------------------------------------------------- */

#define GOLDEN "tests/data/xml_json/"

static const struct golden {
    const char *in, *config, *out;
} goldens[] = {
    /* xml_to_json, one knob each */
    { GOLDEN "basic.in.xml", NULL, GOLDEN "basic.out.json" },
    { GOLDEN "knobs.in.xml", GOLDEN "knobs.config.json", GOLDEN "knobs.out.json" },
    { GOLDEN "arrays.in.xml", GOLDEN "arrays.config.json", GOLDEN "arrays.out.json" },
    { GOLDEN "ns.in.xml", NULL, GOLDEN "ns.out.json" },
    { GOLDEN "ns-strip.in.xml", GOLDEN "ns-strip.config.json", GOLDEN "ns-strip.out.json" },
    { GOLDEN "ns-map.in.xml", GOLDEN "ns-map.config.json", GOLDEN "ns-map.out.json" },
    { GOLDEN "typing.in.xml", GOLDEN "typing.config.json", GOLDEN "typing.out.json" },
    { GOLDEN "empty.in.xml", GOLDEN "empty.config.json", GOLDEN "empty.out.json" },
    { GOLDEN "comments.in.xml", GOLDEN "comments.config.json", GOLDEN "comments.out.json" },
    { GOLDEN "comments-off.in.xml", NULL, GOLDEN "comments-off.out.json" },
    { GOLDEN "pretty.in.xml", GOLDEN "pretty.config.json", GOLDEN "pretty.out.json" },
    { GOLDEN "names.in.xml", NULL, GOLDEN "names.out.json" },
    /* the samples in full, default knobs */
    { "tests/data/samples/pain.001.001.03.ch.02-musterfile.xml", NULL, GOLDEN "pain.001.out.json" },
    { "tests/data/samples/camt.053-sample.xml", NULL, GOLDEN "camt.053.out.json" },
    /* json_to_xml */
    { GOLDEN "j2x-basic.in.json", NULL, GOLDEN "j2x-basic.out.xml" },
    { GOLDEN "j2x-wrapper.in.json", GOLDEN "j2x-wrapper.config.json", GOLDEN "j2x-wrapper.out.xml" },
    { GOLDEN "j2x-multi.in.json", NULL, GOLDEN "j2x-multi.out.xml" },
    { GOLDEN "j2x-types.in.json", GOLDEN "j2x-types.config.json", GOLDEN "j2x-types.out.xml" },
    { GOLDEN "j2x-nil-empty.in.json", GOLDEN "j2x-nil-empty.config.json",
      GOLDEN "j2x-nil-empty.out.xml" },
    { GOLDEN "j2x-ns-map.in.json", GOLDEN "j2x-ns-map.config.json", GOLDEN "j2x-ns-map.out.xml" },
    { GOLDEN "j2x-pretty.in.json", GOLDEN "j2x-pretty.config.json", GOLDEN "j2x-pretty.out.xml" },
    { GOLDEN "j2x-order.in.json", NULL, GOLDEN "j2x-order.out.xml" },
    { GOLDEN "j2x-basic.in.json", GOLDEN "j2x-no-markers.config.json",
      GOLDEN "j2x-no-markers.out.xml" },
    { GOLDEN "pain.001.out.json", NULL, GOLDEN "pain.001.out.xml" },
};

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void
run_golden(const struct golden *g, int update)
{
    struct env e;
    char *cfg_text = g->config ? read_all(g->config, NULL) : NULL;
    struct tf_xj *c = conf_ok(cfg_text);
    size_t in_len, want_len, got_len;
    char *in = read_all(g->in, &in_len), *want, *got;

    assert_non_null(in);
    env_init(&e);
    if (ends_with(g->in, ".xml") || ends_with(g->in, ".xsd"))
        got = x2j(c, in, in_len, &e, &got_len);
    else
        got = j2x(c, in, in_len, &e, &got_len);
    if (update)
        write_all(g->out, got, got_len);
    want = read_all(g->out, &want_len);
    if (want == NULL || want_len != got_len || memcmp(want, got, got_len) != 0)
        fprintf(stderr, "%s differs from the conversion of %s:\n%.*s\n", g->out, g->in,
                (int)got_len, got);
    assert_non_null(want);
    assert_int_equal(want_len, got_len);
    assert_memory_equal(want, got, got_len);
    free(want);
    free(in);
    free(cfg_text);
    tf_xj_free(c);
    env_free(&e);
}

static void
test_goldens(void **state)
{
    const char *u = getenv("PORTICO_UPDATE_GOLDEN");

    (void)state;
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++)
        run_golden(&goldens[i], u != NULL && *u == '1');
}

/* ---- the infoset, for round trips ---------------------------------------------------------- */

enum ns_cmp { CMP_PREFIX, CMP_URI, CMP_LOCAL };

struct sb {
    char *p;
    size_t len, cap;
};

static void
sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < b->cap - b->len)
            break;
        b->cap = (b->cap + (size_t)n + 16) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    b->len += (size_t)n;
}

static void
sb_name(struct sb *b, const xmlNs *ns, const xmlChar *name, enum ns_cmp how)
{
    const char *uri = ns ? (const char *)ns->href : "", *pre = ns && ns->prefix ? (const char *)ns->prefix : "";

    if (how == CMP_LOCAL)
        sb_add(b, "%s", (const char *)name);
    else if (how == CMP_URI)
        sb_add(b, "{%s}%s", uri, (const char *)name);
    else
        sb_add(b, "{%s}%s:%s", uri, pre, (const char *)name);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sb_attrs(struct sb *b, xmlNodePtr e, enum ns_cmp how)
{
    char *list[256];
    size_t n = 0;

    for (xmlAttrPtr a = e->properties; a != NULL && n < 256; a = a->next) {
        struct sb one = { 0 };
        xmlChar *v = xmlNodeListGetString(e->doc, a->children, 1);
        sb_add(&one, " ");
        sb_name(&one, a->ns, a->name, how);
        sb_add(&one, "=[%s]", v ? (const char *)v : "");
        xmlFree(v);
        list[n++] = one.p;
    }
    qsort(list, n, sizeof list[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        sb_add(b, "%s", list[i]);
        free(list[i]);
    }
}

static int
text_node(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

/* The children of a node as compared: comments when asked, texts merged over what is left out,
 * whitespace-only texts left out next to elements (or kept comments). */
static void
sb_children(struct sb *b, xmlNodePtr parent, int comments, enum ns_cmp how, int depth)
{
    int elem_content = 0;

    for (xmlNodePtr k = parent->children; k != NULL; k = k->next)
        elem_content |= k->type == XML_ELEMENT_NODE || (comments && k->type == XML_COMMENT_NODE);
    for (xmlNodePtr k = parent->children; k != NULL;) {
        if (k->type == XML_ELEMENT_NODE) {
            sb_add(b, "%*sE ", depth, "");
            sb_name(b, k->ns, k->name, how);
            sb_attrs(b, k, how);
            sb_add(b, "\n");
            sb_children(b, k, comments, how, depth + 1);
            k = k->next;
        } else if (k->type == XML_COMMENT_NODE && comments) {
            sb_add(b, "%*sC [%s]\n", depth, "", (const char *)k->content);
            k = k->next;
        } else if (text_node(k)) {
            struct sb t = { 0 };
            int ws = 1;
            sb_add(&t, "%s", "");
            for (; k != NULL && (text_node(k) || k->type == XML_PI_NODE ||
                                 (k->type == XML_COMMENT_NODE && !comments));
                 k = k->next)
                if (text_node(k)) {
                    sb_add(&t, "%s", (const char *)k->content);
                    ws &= strspn((const char *)k->content, " \t\r\n") ==
                          strlen((const char *)k->content);
                }
            if (!(ws && elem_content))
                sb_add(b, "%*sT [%s]\n", depth, "", t.p);
            free(t.p);
        } else {
            k = k->next;
        }
    }
}

static char *
infoset(const char *xml, size_t len, int comments, enum ns_cmp how)
{
    xmlDocPtr doc = tf_xml_parse(xml, len, NULL, NULL, NULL, 0);
    struct sb b = { 0 };

    assert_non_null(doc);
    sb_add(&b, "%s", "");
    sb_children(&b, (xmlNodePtr)doc, comments, how, 0);
    xmlFreeDoc(doc);
    return b.p;
}

static void
collect_ns(xmlNodePtr e, json_t *map, int *n)
{
    char prefix[16];

    for (; e != NULL; e = e->next) {
        if (e->type != XML_ELEMENT_NODE)
            continue;
        for (xmlNsPtr ns = e->nsDef; ns != NULL; ns = ns->next)
            if (ns->href[0] && json_object_get(map, (const char *)ns->href) == NULL) {
                snprintf(prefix, sizeof prefix, "n%d", (*n)++);
                json_object_set_new(map, (const char *)ns->href, json_string(prefix));
            }
        collect_ns(e->children, map, n);
    }
}

/* Every namespace the document declares, mapped to n0, n1, ... as a "namespaces" config. */
static char *
map_config(const char *xml, size_t len)
{
    xmlDocPtr doc = tf_xml_parse(xml, len, NULL, NULL, NULL, 0);
    json_t *map = json_object(), *cfg;
    char *text;
    int n = 0;

    assert_non_null(doc);
    collect_ns(doc->children, map, &n);
    xmlFreeDoc(doc);
    if (n == 0) {
        json_decref(map);
        map = json_string("keep");
    }
    cfg = json_pack("{s:o}", "namespaces", map);
    text = json_dumps(cfg, 0);
    json_decref(cfg);
    return text;
}

static const char *const samples[] = {
    "tests/data/samples/pain.001.001.03.ch.02-musterfile.xml",
    "tests/data/samples/camt.053-sample.xml",
    "tests/data/samples/ubl-invoice-example1.xml",
    "tests/data/samples/cii-invoice-example1.xml",
    "tests/data/samples/edifact-invoic-example1.xml",
    "tests/data/samples/camt.053.001.08.xsd",
    "tests/data/samples/pacs.008.001.09.xsd",
};

/* XML -> JSON -> XML keeps the infoset; XML -> JSON -> XML -> JSON gives the same JSON. */
static void
round_trip(const char *file, const char *cfg_text, int comments, enum ns_cmp how)
{
    struct tf_xj *c = conf_ok(cfg_text);
    struct env e;
    size_t len, jlen, xlen, j2len;
    char *xml = read_all(file, &len), *json, *xml2, *json2, *a, *b;

    assert_non_null(xml);
    env_init(&e);
    json = x2j(c, xml, len, &e, &jlen);
    xml2 = j2x(c, json, jlen, &e, &xlen);
    json2 = x2j(c, xml2, xlen, &e, &j2len);
    a = infoset(xml, len, comments, how);
    b = infoset(xml2, xlen, comments, how);
    if (strcmp(a, b) != 0 || jlen != j2len || memcmp(json, json2, jlen) != 0) {
        fprintf(stderr, "round trip of %s with %s differs\n", file, cfg_text ? cfg_text : "{}");
        write_all("/tmp/portico-rt-before.txt", a, strlen(a));
        write_all("/tmp/portico-rt-after.txt", b, strlen(b));
    }
    assert_string_equal(a, b);
    assert_int_equal(jlen, j2len);
    assert_memory_equal(json, json2, jlen);
    free(a);
    free(b);
    free(xml);
    tf_xj_free(c);
    env_free(&e);
}

static void
test_round_trip_samples(void **state)
{
    static const struct {
        const char *cfg;
        int comments;
        enum ns_cmp how;
    } modes[] = {
        { NULL, 0, CMP_PREFIX },
        { "{\"comments\": true}", 1, CMP_PREFIX },
        { "{\"namespaces\": \"keep\", \"pretty\": true, \"comments\": true}", 1, CMP_PREFIX },
        { "{\"namespaces\": \"strip\"}", 0, CMP_LOCAL },
        { "{\"attribute_prefix\": \"-\", \"text_key\": \"#v\", \"empty\": \"null\", "
          "\"nil\": \"empty\", \"types\": true}", 0, CMP_PREFIX },
        { "{\"arrays\": [\"/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf\", \"Ntry\", "
          "\"xs:element\"], \"numbers\": [\"NbOfTxs\", \"Amt\", \"@maxOccurs\"], "
          "\"booleans\": [\"BtchBookg\"]}", 0, CMP_PREFIX },
    };

    (void)state;
    for (size_t f = 0; f < sizeof samples / sizeof samples[0]; f++) {
        size_t len;
        char *xml = read_all(samples[f], &len), *map;

        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
            round_trip(samples[f], modes[m].cfg, modes[m].comments, modes[m].how);
        map = map_config(xml, len);
        round_trip(samples[f], map, 0, CMP_URI);
        free(map);
        free(xml);
    }
}

/* JSON -> XML -> JSON gives the JSON back (written compact, as xml_to_json writes). */
static void
test_round_trip_json(void **state)
{
    static const char *const docs[] = {
        "{\"a\":[]}",
        "{\"a\":{}}",
        "{\"a\":[[]]}",
        "{\"a\":[[1,2],[3]]}",
        "{\"a\":[{}]}",
        "{\"a\":[[{}]]}",
        "{\"a\":null}",
        "{\"a\":[null,null]}",
        "{\"a\":[null]}",
        "{\"a\":[\"x\"]}",
        "{\"a\":[\"\"]}",
        "{\"r\":{\"a\":6.20,\"b\":123456789012345678901234567890,\"c\":-0.0e-5,\"d\":true,"
        "\"e\":false}}",
        "{\"r\":{\"a\":\"6.20\",\"b\":\"true\",\"c\":\"\",\"d\":\" x \"}}",
        "[1,\"2\",[3],{},[],null]",
        "\"just a string\"",
        "42",
        "null",
        "{}",
        "[]",
        "{\"a\":1,\"b\":2}",
        "{\"@x\":\"1\"}",
        "{\"r\":{\"@\":\"14\",\"a b\":1,\"1x\":2,\"\":3,\"_x0041_\":4,\"x:y\":5,\"_x_\":6,\"_\":7,\"\xc3\xa9\":8,"
        "\"a:\":9,\":a\":10,\"_x005F_\":11,\"\\t\":12,\"\xf0\x9f\x98\x80\":13}}",
        "{\"r\":{\"@a b\":\"1\",\"@\":\"2\",\"@x:y\":\"3\",\"#text\":\"t\",\"c\":\"d\"}}",
        "{\"r\":{\"@v\":\"a<b&c>d\\\"e'f\\r\\ng\\th  \"}}",
        "{\"r\":{\"#comment\":\"hi\",\"a\":\"1\"}}",
        "{\"r\":{\"#comment\":[\"x\",\"y\"],\"a\":\"1\",\"#order\":[\"#comment\",\"a\",\"#comment\"]}}",
        "{\"r\":{\"b\":[\"1\",\"2\"],\"c\":\"2\",\"#order\":[\"b\",\"c\",\"b\"]}}",
        "{\"r\":{\"@xmlns\":\"urn:x\",\"@xmlns:p\":\"urn:p\",\"p:a\":\"1\",\"b\":{\"@xmlns\":\"\","
        "\"c\":\"2\"}}}",
        "{\"r\":{\"q:a\":\"1\"}}",
        "{\"#comment\":\"top\",\"Doc\":{\"a\":\"1\"}}",
        "{\"Doc\":{\"a\":\"1\"},\"#comment\":\"after\"}",
        "{\"r\":{\"a\":{\"#text\":[\"x\",\"y\"],\"b\":\"1\",\"#order\":[\"#text\",\"b\",\"#text\"]}}}",
        "{\"r\":\"\xf0\x9f\x98\x80 \xc3\xbc \xe2\x80\xa8 \\\\\"}",
        "{\"r\":{\"n\":null,\"e\":\"\",\"o\":{},\"l\":[]}}",
        "{\"r\":{\"@pj:x\":\"attribute in the markers' namespace\"}}",
        "{\"r\":{\"@xmlns:x\":\"urn:a&b<c>&#38;\",\"x:a\":\"1\"}}",
        /* prefixes the document binds elsewhere: the markers and xsi:nil take others */
        "{\"r\":{\"@xmlns:pj\":\"urn:other\",\"pj:a\":\"1\",\"b\":[],\"c\":[\"x\"]}}",
        "{\"r\":{\"@xmlns:xsi\":\"urn:other\",\"@xsi:a\":\"1\",\"n\":null}}",
        "{\"r\":{\"@xsi:schemaLocation\":\"urn:x x.xsd\",\"s\":{\"@xmlns:xsi\":\"urn:o\","
        "\"@xsi1:type\":\"t\",\"n\":null}}}",
        /* prefixes that are not names: escaped both ways, in declarations, elements, attributes */
        "{\"r\":{\"@xmlns:#p\":\"urn:p\",\"@xmlns:@q\":\"urn:q\",\"@@q:c\":\"2\",\"#p:a\":\"1\"}}",
    };
    struct tf_xj *c = conf_ok("{\"types\": true, \"comments\": true}");
    size_t xlen, jlen;
    struct env e;

    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        env_init(&e);
        char *xml = j2x(c, docs[i], strlen(docs[i]), &e, &xlen);
        char *json = x2j(c, xml, xlen, &e, &jlen);
        if (strlen(docs[i]) != jlen || memcmp(docs[i], json, jlen) != 0)
            fprintf(stderr, "JSON %s\n  -> %s\n  -> %.*s\n", docs[i], xml, (int)jlen, json);
        assert_int_equal(strlen(docs[i]), jlen);
        assert_memory_equal(docs[i], json, jlen);
        env_free(&e);
    }
    tf_xj_free(c);
}

/* XML -> JSON -> XML -> JSON gives the first JSON again on inputs that failed fuzz_xml_parse's
 * check: names whose escapes unescape to another kind of member (the text, an attribute, a
 * declaration), elements of one key, and pj:type markers (json_to_xml writes them with types). */
static void
test_round_trip_xml(void **state)
{
    static const struct {
        const char *cfg, *back, *xml, *json;
    } cases[] = {
        /* escapes that would read as the text, a comment, "#order" or an attribute stay */
        { NULL, NULL, "<r><_x0023_text>1</_x0023_text></r>", "{\"r\":{\"_x0023_text\":\"1\"}}" },
        { NULL, NULL, "<r><_x0023_comment>c</_x0023_comment><_x0023_order/></r>",
          "{\"r\":{\"_x0023_comment\":\"c\",\"_x0023_order\":\"\"}}" },
        { NULL, NULL, "<r><b/><_x0040_a>1</_x0040_a></r>",
          "{\"r\":{\"b\":\"\",\"_x0040_a\":\"1\"}}" },
        { "{\"attribute_prefix\": \"-\", \"text_key\": \"#t\"}", NULL,
          "<r a=\"1\"><_x002D_a>2</_x002D_a><_x0023_t>3</_x0023_t><_x0023_text>4</_x0023_text></r>",
          "{\"r\":{\"-a\":\"1\",\"_x002D_a\":\"2\",\"_x0023_t\":\"3\",\"#text\":\"4\"}}" },
        { NULL, NULL, "<_x0023_text>1</_x0023_text>", "{\"_x0023_text\":\"1\"}" },
        { NULL, NULL, "<r xmlns:_x0040_p=\"urn:p\"><_x0040_p:a _x0040_p:b=\"1\"/></r>",
          "{\"r\":{\"@xmlns:@p\":\"urn:p\",\"_x0040_p:a\":{\"@@p:b\":\"1\"}}}" },
        /* escapes that would read as a declaration, or declare xml or xmlns, stay */
        { NULL, NULL, "<r _x0078_mlns_x003A_p=\"\" xmlns:_x0078_ml=\"urn:u\"><_x0078_ml:a/></r>",
          "{\"r\":{\"@xmlns:_x0078_ml\":\"urn:u\",\"@_x0078_mlns_x003A_p\":\"\","
          "\"_x0078_ml:a\":\"\"}}" },
        { NULL, NULL, "<r a=\"q\" xmlns_x003A_p=\"urn:c\"/>",
          "{\"r\":{\"@a\":\"q\",\"@xmlns_x003A_p\":\"urn:c\"}}" },
        /* names of one key are one member */
        { NULL, NULL, "<r><A/><b/><_x0041_/></r>",
          "{\"r\":{\"A\":[\"\",\"\"],\"b\":\"\",\"#order\":[\"A\",\"b\",\"A\"]}}" },
        { NULL, NULL, "<r><_x0023_text/><_x005F_x0023_text/></r>",
          "{\"r\":{\"_x0023_text\":[\"\",\"\"]}}" },
        { NULL, NULL, "<r xmlns:p=\"urn:p\"><p:a/><p_x003A_a/></r>",
          "{\"r\":{\"@xmlns:p\":\"urn:p\",\"p:a\":[\"\",\"\"]}}" },
        /* attributes of one key: the escaped one keeps its escapes; declarations of one key:
         * the first is kept */
        { NULL, NULL, "<r A=\"1\" _x0041_=\"2\"/>", "{\"r\":{\"@A\":\"1\",\"@_x0041_\":\"2\"}}" },
        { NULL, NULL, "<r _x0041_=\"2\" A=\"1\"/>", "{\"r\":{\"@_x0041_\":\"2\",\"@A\":\"1\"}}" },
        { NULL, NULL, "<r xmlns:A=\"urn:a\" xmlns:_x0041_=\"urn:b\"><A:x/></r>",
          "{\"r\":{\"@xmlns:A\":\"urn:a\",\"A:x\":\"\"}}" },
        /* pj:type markers come back with types (and "" with "empty": "null" is marked) */
        { NULL, "{\"types\": true}",
          "<a xmlns:pj=\"urn:portico:json\" pj:type=\"number\">1</a>", "{\"a\":1}" },
        { "{\"numbers\": [\"n\"]}", "{\"numbers\": [\"n\"], \"types\": true}",
          "<r xmlns:pj=\"urn:portico:json\"><n>1</n><n pj:type=\"string\">2</n></r>",
          "{\"r\":{\"n\":[1,\"2\"]}}" },
        { "{\"empty\": \"null\"}", "{\"empty\": \"null\", \"types\": true}",
          "<r xmlns:pj=\"urn:portico:json\"><a pj:type=\"string\"/><b/></r>",
          "{\"r\":{\"a\":\"\",\"b\":null}}" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tf_xj *c = conf_ok(cases[i].cfg);
        struct tf_xj *back = conf_ok(cases[i].back ? cases[i].back : cases[i].cfg);
        size_t jlen, xlen, j2len;
        struct env e;

        env_init(&e);
        char *json = x2j(c, cases[i].xml, strlen(cases[i].xml), &e, &jlen);
        char *xml = j2x(back, json, jlen, &e, &xlen);
        char *json2 = x2j(c, xml, xlen, &e, &j2len);
        if (strcmp(json, cases[i].json) != 0 || strcmp(json2, json) != 0)
            fprintf(stderr, "XML %s\n  -> %s\n  -> %s\n  -> %s\n", cases[i].xml, json, xml, json2);
        assert_string_equal(json, cases[i].json);
        assert_string_equal(json2, json);
        env_free(&e);
        tf_xj_free(back);
        tf_xj_free(c);
    }
}

/* Stripping namespaces turns p:xmlns into "@xmlns": the way back writes it as an attribute,
 * not as a namespace declaration, so XML -> JSON -> XML -> JSON gives the same JSON. */
static void
test_strip_xmlns_attribute(void **state)
{
    static const char xml[] = "<r xmlns:p=\"urn:p\" p:xmlns=\"v\"><p:a p:xmlns=\"w\">x</p:a></r>";
    static const char want[] = "{\"r\":{\"@xmlns\":\"v\",\"a\":{\"@xmlns\":\"w\",\"#text\":\"x\"}}}";
    struct tf_xj *c = conf_ok("{\"namespaces\": \"strip\"}");
    size_t jlen, xlen, j2len;
    struct env e;

    (void)state;
    env_init(&e);
    char *json = x2j(c, xml, strlen(xml), &e, &jlen);
    assert_int_equal(jlen, strlen(want));
    assert_memory_equal(json, want, jlen);
    char *back = j2x(c, json, jlen, &e, &xlen);
    assert_null(strstr(back, " xmlns="));
    char *json2 = x2j(c, back, xlen, &e, &j2len);
    assert_int_equal(j2len, jlen);
    assert_memory_equal(json2, json, jlen);
    env_free(&e);
    tf_xj_free(c);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static char *
repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = malloc(pl + ul * n + sl + 1), *p = s;

    assert_non_null(s);
    memcpy(p, prefix, pl);
    p += pl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, suffix, sl + 1);
    return s;
}

/* json_to_xml refuses what tf_json_parse refuses, with the same message (tf_json_parse says it
 * in this reader's words), and what XML cannot carry. */
static void
test_json_to_xml_refusals(void **state)
{
    struct {
        char *json;
        enum tf_threat why;
        const char *err;      /* exact, or words in it after '~' */
        int same_as_parser;   /* tf_json_parse gives the same refusal and message (all but what
                               * XML cannot carry) */
    } t[] = {
        { repeat("", "[", 10000, ""), TF_THREAT_LIMIT,
          "JSON: nesting deeper than 64 at line 1, column 65", 1 },
        { repeat("{\"a\":", "{\"a\":", 100, ""), TF_THREAT_LIMIT,
          "JSON: nesting deeper than 64 at line 1, column 321", 1 },
        { repeat("[0", ",0", 10000, "]"), TF_THREAT_LIMIT,
          "JSON: more than 10000 entries in one container at line 1, column 20001", 1 },
        { repeat("{\"r\":\"", "xxxxxxxxxxxxxxxx", 65537, "\"}"), TF_THREAT_LIMIT,
          "JSON: string longer than 1048576 bytes at line 1, column 6", 1 },
        { strdup("{\"a\":\"x\\u0000y\"}"), TF_THREAT_FORBIDDEN,
          "JSON: \\u0000 in a string is not accepted at line 1, column 8", 1 },
        { strdup("{\"a\":1,\n \"a\":2}"), TF_THREAT_FORBIDDEN,
          "JSON: duplicate object key \"a\" at line 2, column 2", 1 },
        { repeat("{\"k0\":0", ",\"k\":0", 20, "}"), TF_THREAT_FORBIDDEN,
          "~duplicate object key \"k\"", 1 },
        { strdup("[\"caf\xc3\x28\"]"), TF_THREAT_MALFORMED,
          "JSON: invalid UTF-8 in a string at line 1, column 6", 1 },
        { strdup("[\"\\ud800\"]"), TF_THREAT_MALFORMED, "~lone surrogate", 1 },
        { strdup("[\"\\udc00\\ud800\"]"), TF_THREAT_MALFORMED, "~lone surrogate", 1 },
        { strdup(""), TF_THREAT_MALFORMED, "JSON: the document is empty", 1 },
        { strdup(" \n "), TF_THREAT_MALFORMED, "JSON: the document is empty", 1 },
        { strdup("{} x"), TF_THREAT_MALFORMED, "JSON: end of input expected at line 1, column 4", 1 },
        { strdup("{\"a\" 1}"), TF_THREAT_MALFORMED, "JSON: expected ':' at line 1, column 6", 1 },
        { strdup("[01]"), TF_THREAT_MALFORMED, "JSON: invalid number at line 1, column 2", 1 },
        { strdup("[1.]"), TF_THREAT_MALFORMED, "JSON: invalid number at line 1, column 2", 1 },
        { strdup("[tru]"), TF_THREAT_MALFORMED, "JSON: invalid token at line 1, column 2", 1 },
        { strdup("[\"a\tb\"]"), TF_THREAT_MALFORMED, "~control character in a string", 1 },
        { strdup("[\"\\x\"]"), TF_THREAT_MALFORMED, "~invalid escape", 1 },
        { strdup("{\"a\":\"x"), TF_THREAT_MALFORMED, "~unterminated string", 1 },
        /* what XML 1.0 cannot carry */
        { strdup("{\"a\":\"\\u0001\"}"), TF_THREAT_MALFORMED,
          "JSON: a string holds U+0001, which XML 1.0 cannot carry", 0 },
        { strdup("{\"a\":\"\xef\xbf\xbf\"}"), TF_THREAT_MALFORMED, "~U+FFFF", 0 },
        { strdup("{\"a\":{\"#comment\":\"x--y\"}}"), TF_THREAT_MALFORMED,
          "JSON: a comment cannot hold \"--\"", 0 },
        { strdup("{\"a\":{\"#comment\":\"x-\"}}"), TF_THREAT_MALFORMED, "~end with", 0 },
        { strdup("{\"a\":{\"@b\":{}}}"), TF_THREAT_MALFORMED,
          "JSON: member \"@b\": an attribute must be a string, a number or a boolean", 0 },
        { strdup("{\"a\":{\"#text\":{}}}"), TF_THREAT_MALFORMED, "~\"#text\" must hold", 0 },
        { strdup("{\"a\":{\"#order\":\"a\",\"b\":\"1\"}}"), TF_THREAT_MALFORMED, "~\"#order\" must be", 0 },
        { strdup("{\"a\":{\"@xmlns:p\":\"\"}}"), TF_THREAT_MALFORMED,
          "JSON: member \"@xmlns:p\": this namespace declaration is not allowed in XML", 0 },
        { strdup("{\"a\":{\"@xmlns:xml\":\"urn:x\"}}"), TF_THREAT_MALFORMED,
          "~namespace declaration is not allowed", 0 },
        { strdup("{\"a\":{\"@xmlns\":\"http://www.w3.org/2000/xmlns/\"}}"), TF_THREAT_MALFORMED,
          "~namespace declaration is not allowed", 0 },
        { repeat("{\"", "k", 257, "\":1}"), TF_THREAT_MALFORMED,
          "~makes an XML name longer than the limit (256)", 0 },
    };
    struct env e;
    enum tf_threat why, why2;
    char err[256], err2[256];
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        env_init(&e);
        char *out = tf_json_to_xml(NULL, t[i].json, strlen(t[i].json), &e.x, &len, &why, err,
                                   sizeof err);
        int match = t[i].err[0] == '~' ? strstr(err, t[i].err + 1) != NULL
                                       : strcmp(err, t[i].err) == 0;
        if (out != NULL || why != t[i].why || !match)
            fprintf(stderr, "case %zu: why %d (want %d), \"%s\" (want \"%s\")\n", i, (int)why,
                    (int)t[i].why, err, t[i].err);
        assert_null(out);
        assert_int_equal(why, t[i].why);
        assert_true(match);
        if (t[i].same_as_parser) {
            json_t *v = tf_json_parse(t[i].json, strlen(t[i].json), &e.l, &why2, err2,
                                      sizeof err2);
            assert_null(v);
            assert_int_equal(why2, why);
            assert_string_equal(err2, err);
        }
        free(t[i].json);
        env_free(&e);
    }
}

/* The output is bounded by the body limit, both ways. */
static void
test_output_limit(void **state)
{
    struct env e;
    enum tf_threat why;
    char err[256];
    size_t len;
    char *key = repeat("", "k", 200, ""), *json, *xml;
    xmlDocPtr doc;

    (void)state;
    env_init(&e);
    json = malloc(300 + 2 * 5000);
    assert_non_null(json);
    sprintf(json, "{\"%s\":[1", key);
    for (int i = 1; i < 5000; i++)
        strcat(json, ",1");
    strcat(json, "]}");
    e.l.max_body = 100000; /* the input passes; the XML would be 2 MB */
    assert_null(tf_json_to_xml(NULL, json, strlen(json), &e.x, &len, &why, err, sizeof err));
    assert_int_equal(why, TF_THREAT_TOO_LARGE);
    assert_string_equal(err, "XML output exceeds the body limit of 100000 bytes");
    /* xml_to_json: quotes double */
    xml = repeat("<a>", "\"\"\"\"\"\"\"\"", 1000, "</a>");
    e.l.max_body = 10000;
    doc = tf_xml_parse(xml, strlen(xml), &e.l, &why, err, sizeof err);
    assert_non_null(doc);
    assert_null(tf_xml_to_json(NULL, doc, &e.x, &len, &why, err, sizeof err));
    assert_int_equal(why, TF_THREAT_TOO_LARGE);
    xmlFreeDoc(doc);
    free(xml);
    free(json);
    free(key);
    env_free(&e);
}

/* ---- the transforms ------------------------------------------------------------------------ */

struct apply_case {
    const struct tf_ops *ops;
    const char *config;
    enum tf_phase phase;
    const char *content_type; /* NULL: none */
    const char *body;
    int rc, status;
    const char *code, *detail_words, *out_type;
};

static void
run_apply(const struct apply_case *t, size_t i)
{
    struct gw_diag d = { 0 };
    struct tf_conf cc;
    struct gw_jctx j = { .file = "step.json", .dir = ".", .d = &d };
    struct env e;
    struct tf_message m;
    json_t *cfg = t->config ? json_loads(t->config, 0, NULL) : NULL;
    void *inst;
    int rc;

    env_init(&e);
    tf_conf_init(&cc, &j, "step", cfg, t->phase, &e.l);
    inst = t->ops->create(&cc);
    assert_non_null(inst);
    tf_message_init(&m, t->phase);
    if (t->content_type)
        e.x.header_add(&e.x, &m, "Content-Type", t->content_type, strlen(t->content_type));
    m.body = gw_arena_strndup(&e.a, t->body, strlen(t->body));
    m.body_len = strlen(t->body);
    rc = t->ops->apply(inst, &m, &e.x);
    if (rc != t->rc || e.x.err_status != t->status)
        fprintf(stderr, "apply case %zu: rc %d status %d detail %s\n", i, rc, e.x.err_status,
                e.x.err_detail ? e.x.err_detail : "-");
    assert_int_equal(rc, t->rc);
    assert_int_equal(e.x.err_status, t->status);
    if (t->code) {
        assert_string_equal(e.x.err_code, t->code);
        assert_non_null(strstr(e.x.err_detail, t->detail_words));
        assert_null(strstr(e.x.err_detail, "root:"));
    }
    if (t->out_type) {
        const struct tf_header *h = e.x.header_get(&m, "content-type");
        assert_non_null(h);
        assert_int_equal(h->value_len, strlen(t->out_type));
        assert_memory_equal(h->value, t->out_type, h->value_len);
        assert_non_null(strstr(m.body, t->detail_words));
        assert_int_equal(strlen(m.body), m.body_len);
    }
    if (rc == TF_SKIP)
        assert_string_equal(m.body, t->body);
    t->ops->destroy(inst);
    tf_conf_done(&cc);
    json_decref(cfg);
    gw_diag_free(&d);
    env_free(&e);
}

static void
test_apply(void **state)
{
    static const char xxe[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "
                              "\"file:///etc/passwd\">]>\n<foo>&xxe;</foo>";
    const struct tf_ops *x2j_ops = &tf_xml_to_json_ops, *j2x_ops = &tf_json_to_xml_ops;
    char *deep = repeat("", "[", 10000, "");
    struct apply_case t[] = {
        { x2j_ops, NULL, TF_PHASE_REQUEST, "application/xml; charset=utf-8",
          "<a b=\"1\">6.20</a>", TF_DONE, 0, NULL, "{\"a\":{\"@b\":\"1\",\"#text\":\"6.20\"}}",
          "application/json" },
        { x2j_ops, NULL, TF_PHASE_RESPONSE, "application/soap+xml", "<a/>", TF_DONE, 0, NULL,
          "{\"a\":\"\"}", "application/json" },
        { x2j_ops, NULL, TF_PHASE_REQUEST, "text/plain", "<a/>", TF_SKIP, 0, NULL, NULL, NULL },
        { x2j_ops, NULL, TF_PHASE_REQUEST, NULL, "<a/>", TF_SKIP, 0, NULL, NULL, NULL },
        { x2j_ops, "{\"strict\": true}", TF_PHASE_REQUEST, "application/json", "{}", TF_ERROR,
          415, "unsupported-media-type", "xml_to_json: the body is not XML", NULL },
        { x2j_ops, "{\"strict\": true}", TF_PHASE_RESPONSE, "text/html", "<p>", TF_ERROR, 502,
          "bad-upstream-response", "the upstream's body is not XML", NULL },
        { x2j_ops, NULL, TF_PHASE_REQUEST, "text/xml", xxe, TF_ERROR, 400, "invalid-body",
          "xml_to_json: XML: DTDs are not accepted (line 2)", NULL },
        { x2j_ops, NULL, TF_PHASE_RESPONSE, "text/xml", xxe, TF_ERROR, 502, "bad-upstream-response",
          "DTDs are not accepted", NULL },
        { x2j_ops, NULL, TF_PHASE_REQUEST, "text/xml", "<a><b></a>", TF_ERROR, 400,
          "invalid-body", "Opening and ending tag mismatch", NULL },
        { j2x_ops, NULL, TF_PHASE_REQUEST, "application/json", "{\"a\":{\"b\":[6.20]}}", TF_DONE,
          0, NULL, "<a xmlns:pj=\"urn:portico:json\"><b pj:array=\"true\">6.20</b></a>",
          "application/xml" },
        { j2x_ops, NULL, TF_PHASE_REQUEST, "application/xml", "<a/>", TF_SKIP, 0, NULL, NULL,
          NULL },
        { j2x_ops, "{\"strict\": true}", TF_PHASE_REQUEST, "application/xml", "<a/>", TF_ERROR,
          415, "unsupported-media-type", "json_to_xml: the body is not JSON", NULL },
        { j2x_ops, NULL, TF_PHASE_REQUEST, "application/json", deep, TF_ERROR, 400,
          "invalid-body", "json_to_xml: JSON: nesting deeper than 64", NULL },
        { j2x_ops, NULL, TF_PHASE_RESPONSE, "application/json", deep, TF_ERROR, 502,
          "bad-upstream-response", "nesting deeper than 64", NULL },
        { j2x_ops, NULL, TF_PHASE_REQUEST, "application/json", "{\"a\":1,\"a\":2}", TF_ERROR, 400,
          "invalid-body", "duplicate object key", NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        run_apply(&t[i], i);
    free(deep);
}

/* A body over the limit answers 413 on the request, 502 on the response. */
static void
test_apply_too_large(void **state)
{
    static const enum tf_phase phases[] = { TF_PHASE_REQUEST, TF_PHASE_RESPONSE };
    struct env e;
    struct tf_message m;
    struct gw_diag d = { 0 };
    struct gw_jctx j = { .file = "step.json", .dir = ".", .d = &d };
    struct tf_conf cc;
    void *inst;

    (void)state;
    for (size_t p = 0; p < 2; p++) {
        for (int dir = 0; dir < 2; dir++) {
            const struct tf_ops *ops = dir ? &tf_json_to_xml_ops : &tf_xml_to_json_ops;
            const char *type = dir ? "application/json" : "application/xml";
            const char *body = dir ? "{\"a\":\"0123456789\"}" : "<a>0123456789</a>";
            env_init(&e);
            e.l.max_body = 10;
            tf_conf_init(&cc, &j, "step", NULL, phases[p], &e.l);
            inst = ops->create(&cc);
            tf_message_init(&m, phases[p]);
            e.x.header_add(&e.x, &m, "Content-Type", type, strlen(type));
            m.body = gw_arena_strndup(&e.a, body, strlen(body));
            m.body_len = strlen(body);
            assert_int_equal(ops->apply(inst, &m, &e.x), TF_ERROR);
            assert_int_equal(e.x.err_status, p == 0 ? 413 : 502);
            assert_string_equal(e.x.err_code, p == 0 ? "body-too-large" : "bad-upstream-response");
            assert_non_null(strstr(e.x.err_detail, "exceeds the limit of 10 bytes"));
            ops->destroy(inst);
            tf_conf_done(&cc);
            env_free(&e);
        }
    }
    gw_diag_free(&d);
}

/* ---- configuration ------------------------------------------------------------------------- */

static void
expect_conf_errors(const char *text, const char *const *want, size_t n)
{
    struct gw_diag d = { 0 };
    struct tf_xj *c = make_conf(text, &d);
    int ok = c == NULL && d.n == n;

    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(d.items[i].text, want[i]) == 0;
    if (!ok) {
        fprintf(stderr, "config %s: expected %zu lines:\n", text, n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
        fprintf(stderr, "got %zu lines:\n", d.n);
        gw_diag_print(&d, stderr);
    }
    assert_true(ok);
    gw_diag_free(&d);
}

#define EXPECT_CONF_ERRORS(text, ...)                                                              \
    do {                                                                                           \
        static const char *const want_[] = { __VA_ARGS__ };                                        \
        expect_conf_errors((text), want_, sizeof want_ / sizeof want_[0]);                         \
    } while (0)

static void
test_config(void **state)
{
    struct tf_xj *c;

    (void)state;
    EXPECT_CONF_ERRORS("[1]", "step.json:1:2: step: expected an object, got an array");
    EXPECT_CONF_ERRORS("{\"bogus\": 1, \"comments\": \"yes\"}",
                       "step.json:1:11: step.bogus: unknown key (expected one of: "
                       "attribute_prefix, text_key, arrays, numbers, booleans, namespaces, "
                       "comments, empty, nil, root, types, strict, pretty, markers)",
                       "step.json:1:23: step.comments: expected a boolean (true or false), got a string");
    EXPECT_CONF_ERRORS(
        "{\"attribute_prefix\": \"a\",\n \"text_key\": \"text\"}",
        "step.json:1:11: step.attribute_prefix: \"a\" cannot start an attribute key: use a "
        "character that cannot start an XML name and is not \"#\" (\"@\", \"-\", \"$\")",
        "step.json:2:2: step.text_key: \"text\": the text key must start with \"#\" and not be "
        "\"#comment\" or \"#order\"");
    EXPECT_CONF_ERRORS(
        "{\"arrays\": [\"/a//b\", \"x/y\", \"/a/@b/c\", \"@c\"]}",
        "step.json:1:22: step.arrays[0]: \"/a//b\": empty step in the path",
        "step.json:1:31: step.arrays[1]: \"x/y\": a path either starts with \"/\" (from the root) "
        "or is one key (anywhere)",
        "step.json:1:38: step.arrays[2]: \"/a/@b/c\": an attribute can only be the last step of "
        "a path",
        "step.json:1:49: step.arrays[3]: \"@c\": an attribute cannot be an array");
    EXPECT_CONF_ERRORS("{\"namespaces\": \"drop\"}",
                       "step.json:1:11: step.namespaces: expected \"keep\", \"strip\" or an object "
                       "mapping namespace URIs to prefixes");
    EXPECT_CONF_ERRORS(
        "{\"namespaces\": {\"urn:x\": \"1bad\", \"urn:y\": \"p\", \"urn:z\": \"p\", \"urn:w\": 1}}",
        "step.json:1:26: step.namespaces.urn:x: \"1bad\" is not a usable prefix (an XML name "
        "without a colon, or \"\" for the default namespace)",
        "step.json:1:57: step.namespaces.urn:z: prefix \"p\" is already given to \"urn:y\"",
        "step.json:1:71: step.namespaces.urn:w: expected a prefix (a string), got an integer");
    EXPECT_CONF_ERRORS("{\"empty\": \"nothing\", \"nil\": \"none\", \"root\": \"a:b\"}",
                       "step.json:1:11: step.empty: \"nothing\" is not \"string\" or \"null\"",
                       "step.json:1:31: step.nil: \"none\" is not \"xsi\" or \"empty\"",
                       "step.json:1:46: step.root: \"a:b\" is not an XML name (without a colon)");
    c = conf_ok("{\"arrays\": [\"/a/b\", \"/a/c\", \"b\"], \"numbers\": [\"/a/b\", \"@n\"], "
                "\"namespaces\": {\"urn:x\": \"\"}, \"root\": \"Batch\", \"attribute_prefix\": "
                "\"$\", \"empty\": \"null\", \"nil\": \"empty\"}");
    assert_int_equal(c->paths.nkids, 1);
    assert_int_equal(c->paths.kids[0].nkids, 2);
    assert_int_equal(c->paths.kids[0].kids[0].flags, TF_XJ_ARRAY | TF_XJ_NUMBER);
    assert_int_equal(c->nnames, 2);
    assert_int_equal(c->nmap, 1);
    assert_string_equal(c->root, "Batch");
    assert_true(c->empty_null && c->nil_empty);
    tf_xj_free(c);
    c = conf_ok("null");
    assert_string_equal(c->attr_prefix, "@");
    tf_xj_free(c);
}

/* ---- threads ------------------------------------------------------------------------------- */

struct thread_arg {
    const struct tf_xj *c;
    const char *xml;
    size_t len;
    const char *want;
    size_t want_len;
};

static void *
convert_loop(void *p)
{
    const struct thread_arg *a = p;
    long bad = 0;

    for (int i = 0; i < 50; i++) {
        struct env e;
        enum tf_threat why;
        char err[256];
        size_t len;
        env_init(&e);
        xmlDocPtr doc = tf_xml_parse(a->xml, a->len, &e.l, &why, err, sizeof err);
        char *out = doc ? tf_xml_to_json(a->c, doc, &e.x, &len, &why, err, sizeof err) : NULL;
        bad += out == NULL || len != a->want_len || memcmp(out, a->want, len) != 0;
        xmlFreeDoc(doc);
        env_free(&e);
    }
    return (void *)bad;
}

/* One compiled config shared by workers converting at once gives the same output. */
static void
test_threads(void **state)
{
    struct tf_xj *c = conf_ok("{\"arrays\": [\"Ntry\"], \"comments\": true}");
    struct thread_arg a = { .c = c };
    struct env e;
    pthread_t t[4];
    void *bad;

    (void)state;
    env_init(&e);
    a.xml = read_all("tests/data/samples/camt.053-sample.xml", &a.len);
    a.want = x2j(c, a.xml, a.len, &e, &a.want_len);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, convert_loop, &a), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
    free((char *)a.xml);
    env_free(&e);
    tf_xj_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_escaping),
        cmocka_unit_test(test_name_properties),
        cmocka_unit_test(test_number_ok),
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_round_trip_samples),
        cmocka_unit_test(test_round_trip_json),
        cmocka_unit_test(test_round_trip_xml),
        cmocka_unit_test(test_strip_xmlns_attribute),
        cmocka_unit_test(test_json_to_xml_refusals),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_too_large),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
