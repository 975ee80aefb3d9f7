/* test_threat.c: threat-protected parsing (transforms/threat.c). Every threat vector of issue 3
 * against tf_xml_parse and tf_json_parse, as tables of (input, expected refusal, words of the
 * message); the sample documents parse; libxml2 prints nothing on stderr; parses run on several
 * threads at once. Runs with the repository root as the working directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/tree.h>

#include "threat.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* A malloc'd string made of prefix, `unit` repeated n times, and suffix. */
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

/* n opening units, then n closing units (deep nesting). */
static char *
nest(const char *open, const char *close, size_t n)
{
    size_t ol = strlen(open), cl = strlen(close);
    char *s = malloc(n * (ol + cl) + 1), *p = s;

    assert_non_null(s);
    for (size_t i = 0; i < n; i++, p += ol)
        memcpy(p, open, ol);
    for (size_t i = 0; i < n; i++, p += cl)
        memcpy(p, close, cl);
    *p = '\0';
    return s;
}

static char *
read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
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

/* ---- XML ----------------------------------------------------------------------------------- */

struct xml_case {
    const char *name;
    char *doc;               /* malloc'd */
    size_t len;              /* 0: strlen(doc) */
    enum tf_threat why;
    const char *words;       /* expected in the message */
};

#define XXE_PASSWD                                                                                 \
    "<?xml version=\"1.0\"?>\n<!DOCTYPE foo [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"  \
    "<foo>&xxe;</foo>"

#define BILLION_LAUGHS                                                                             \
    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"                          \
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"                     \
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"           \
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"           \
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"           \
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"           \
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"           \
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"           \
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"           \
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"           \
    "]>\n<lolz>&lol9;</lolz>"

static size_t
xml_cases(struct xml_case *c)
{
    size_t n = 0;

#define CASE(nm, d, w, words_)                                                                     \
    c[n++] = (struct xml_case){ nm, d, 0, w, words_ }
    CASE("xxe /etc/passwd", strdup(XXE_PASSWD), TF_THREAT_FORBIDDEN,
         "XML: DTDs are not accepted (line 2)");
    CASE("xxe external dtd",
         strdup("<!DOCTYPE foo SYSTEM \"http://127.0.0.1:1/evil.dtd\"><foo>&e;</foo>"),
         TF_THREAT_FORBIDDEN, "DTDs are not accepted");
    CASE("xxe public id",
         strdup("<!DOCTYPE foo PUBLIC \"-//X//Y\" \"file:///etc/passwd\"><foo/>"),
         TF_THREAT_FORBIDDEN, "DTDs are not accepted");
    CASE("billion laughs", strdup(BILLION_LAUGHS), TF_THREAT_FORBIDDEN, "DTDs are not accepted");
    CASE("quadratic blowup",
         repeat("<!DOCTYPE q [<!ENTITY a \"", "aaaaaaaaaa", 5000,
                "\">]><q>&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;</q>"),
         TF_THREAT_FORBIDDEN, "DTDs are not accepted (line 1)");
    CASE("parameter entity",
         strdup("<!DOCTYPE p [<!ENTITY % pe SYSTEM \"file:///etc/passwd\"> %pe;]><p/>"),
         TF_THREAT_FORBIDDEN, "DTDs are not accepted");
    CASE("empty doctype", strdup("<!DOCTYPE a><a/>"), TF_THREAT_FORBIDDEN, "DTDs");
    CASE("entity reference without dtd", strdup("<a>\n&ext;</a>"), TF_THREAT_FORBIDDEN,
         "XML: Entity 'ext' not defined (line 2)");
    CASE("depth 100k", nest("<a>", "</a>", 100000), TF_THREAT_LIMIT,
         "XML: element depth exceeds 64 at line 1");
    CASE("depth 65", nest("<a>\n", "</a>", 65), TF_THREAT_LIMIT,
         "XML: element depth exceeds 64 at line 65");
    CASE("children", repeat("<a>", "<b/>", 10001, "</a>"), TF_THREAT_LIMIT,
         "XML: more than 10000 children in one element at line 1");
    CASE("long element name", repeat("<", "n", 257, "/>"), TF_THREAT_LIMIT,
         "XML: element name longer than 256 at line 1");
    CASE("long prefixed name",
         repeat("<p:", "n", 255, " xmlns:p=\"urn:x\"/>"), TF_THREAT_LIMIT,
         "element name longer than 256");
    CASE("long attribute name", repeat("<a ", "n", 257, "=\"1\"/>"), TF_THREAT_LIMIT,
         "XML: attribute name longer than 256 at line 1");
    CASE("huge text", repeat("<a>", "xxxxxxxxxxxxxxxx", 70000, "</a>"), TF_THREAT_LIMIT,
         "XML: text longer than 1048576 at line 1");
    CASE("huge attribute value", repeat("<a v=\"", "xxxxxxxxxxxxxxxx", 70000, "\"/>"),
         TF_THREAT_LIMIT, "XML: attribute value longer than 1048576 at line 1");
    CASE("huge comment", repeat("<a><!--", "xxxxxxxxxxxxxxxx", 70000, "--></a>"),
         TF_THREAT_LIMIT, "comment longer than 1048576");
    CASE("invalid utf-8", strdup("<a>caf\xc3\x28</a>"), TF_THREAT_MALFORMED,
         "XML: Input is not proper UTF-8");
    CASE("invalid utf-8 in a name", strdup("<a\xff/>"), TF_THREAT_MALFORMED, "XML: ");
    CASE("overlong utf-8", strdup("<a>\xc0\xaf</a>"), TF_THREAT_MALFORMED, "UTF-8");
    CASE("mismatched tag", strdup("<a>\n<b></a>"), TF_THREAT_MALFORMED,
         "XML: Opening and ending tag mismatch: b line 2 and a (line 2)");
    CASE("trailing garbage", strdup("<a/><b/>"), TF_THREAT_MALFORMED,
         "XML: Extra content at the end of the document (line 1)");
    CASE("empty", strdup(""), TF_THREAT_MALFORMED, "XML: the document is empty");
    CASE("undefined prefix", strdup("<p:a/>"), TF_THREAT_MALFORMED,
         "XML: Namespace prefix p on a is not defined (line 1)");
    CASE("control character", strdup("<a>\x01</a>"), TF_THREAT_MALFORMED, "XML: ");
#undef CASE
    return n;
}

static void
free_cases(struct xml_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].doc);
}

static void
expect_xml(const struct xml_case *c, const struct tf_limits *l)
{
    enum tf_threat why = TF_THREAT_OK;
    char err[256];
    size_t len = c->len ? c->len : strlen(c->doc);
    xmlDocPtr doc = tf_xml_parse(c->doc, len, l, &why, err, sizeof err);

    if (doc != NULL || why != c->why || strstr(err, c->words) == NULL)
        fprintf(stderr, "case \"%s\": why %d (want %d), err \"%s\" (want \"%s\")\n", c->name,
                (int)why, (int)c->why, err, c->words);
    assert_null(doc);
    assert_int_equal(why, c->why);
    assert_non_null(strstr(err, c->words));
    assert_null(strstr(err, "root:")); /* never a line of /etc/passwd */
    assert_null(strchr(err, '\n'));
    if (getenv("SHOW_ERRORS"))
        fprintf(stderr, "%-28s %s\n", c->name, err);
}

static void
test_xml_vectors(void **state)
{
    struct xml_case c[64];
    struct tf_limits l;
    size_t n = xml_cases(c);

    (void)state;
    tf_limits_default(&l);
    for (size_t i = 0; i < n; i++)
        if (c[i].doc != NULL)
            expect_xml(&c[i], &l);
    free_cases(c, n);
}

/* 64 attributes pass, 65 do not; namespace declarations count as attributes. */
static void
test_xml_attribute_counts(void **state)
{
    struct tf_limits l;
    enum tf_threat why;
    char err[256];
    char *ok, *buf;
    xmlDocPtr doc;

    (void)state;
    tf_limits_default(&l);
    buf = malloc(65 * 24 + 64);
    assert_non_null(buf);
    for (int total = 64; total <= 65; total++) {
        char *p = buf + sprintf(buf, "<a");
        for (int i = 0; i < total; i++)
            p += i % 2 ? sprintf(p, " a%d=\"v\"", i) : sprintf(p, " xmlns:n%d=\"urn:%d\"", i, i);
        strcpy(p, "/>");
        doc = tf_xml_parse(buf, strlen(buf), &l, &why, err, sizeof err);
        if (total == 64) {
            assert_non_null(doc);
            assert_int_equal(why, TF_THREAT_OK);
            xmlFreeDoc(doc);
        } else {
            assert_null(doc);
            assert_int_equal(why, TF_THREAT_LIMIT);
            assert_string_equal(err, "XML: more than 64 attributes on one element at line 1");
        }
    }
    free(buf);
    ok = repeat("<a", " x=\"1\"", 100000, "/>");
    doc = tf_xml_parse(ok, strlen(ok), &l, &why, err, sizeof err);
    assert_null(doc);
    /* libxml2 itself refuses the repeated name before the count is seen */
    assert_true(why == TF_THREAT_LIMIT || why == TF_THREAT_MALFORMED);
    free(ok);
}

static void
test_xml_limits_small(void **state)
{
    struct tf_limits l;
    enum tf_threat why;
    char err[256];
    const char *doc5 = "<a><b>t</b><c x=\"1\"/></a>"; /* a, b, text, c, x: 5 nodes */
    xmlDocPtr doc;

    (void)state;
    tf_limits_default(&l);
    l.xml.max_nodes = 5;
    doc = tf_xml_parse(doc5, strlen(doc5), &l, &why, err, sizeof err);
    assert_non_null(doc);
    xmlFreeDoc(doc);
    l.xml.max_nodes = 4;
    doc = tf_xml_parse(doc5, strlen(doc5), &l, &why, err, sizeof err);
    assert_null(doc);
    assert_int_equal(why, TF_THREAT_LIMIT);
    assert_string_equal(err, "XML: more than 4 nodes in the document at line 1");

    tf_limits_default(&l);
    l.max_body = 10;
    doc = tf_xml_parse(doc5, strlen(doc5), &l, &why, err, sizeof err);
    assert_null(doc);
    assert_int_equal(why, TF_THREAT_TOO_LARGE);
    assert_int_equal(tf_threat_status(why), 413);
    assert_string_equal(err, "XML: body of 25 bytes exceeds the limit of 10 bytes");

    tf_limits_default(&l);
    l.xml.max_depth = 2;
    doc = tf_xml_parse("<a><b/></a>", 11, &l, &why, err, sizeof err);
    assert_non_null(doc);
    xmlFreeDoc(doc);
    doc = tf_xml_parse("<a><b><c/></b></a>", 18, &l, &why, err, sizeof err);
    assert_null(doc);
    assert_string_equal(err, "XML: element depth exceeds 2 at line 1");

    tf_limits_default(&l);
    l.xml.max_text_len = 3;
    doc = tf_xml_parse("<a>abc</a>", 10, &l, &why, err, sizeof err);
    assert_non_null(doc);
    xmlFreeDoc(doc);
    /* a text node delivered in pieces (character references) is one text node */
    doc = tf_xml_parse("<a>a&#98;&lt;d</a>", 18, &l, &why, err, sizeof err);
    assert_null(doc);
    assert_string_equal(err, "XML: text longer than 3 at line 1");
    assert_int_equal(tf_threat_status(why), 400);
}

/* What parses: the samples, CDATA (as text), character references, comments, PIs, and an
 * XInclude element stays an element (nothing is included). */
static void
test_xml_accepts(void **state)
{
    static const char *const docs[] = {
        "<a><![CDATA[<x>&amp;]]></a>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>",
        "<a>&#x263A; &lt;&gt;&amp;&apos;&quot;</a>",
        "<!-- c --><?pi data?><a/>",
        "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"/etc/passwd\" "
        "parse=\"text\"/></a>",
        "<a xmlns:p=\"not a uri\" xmlns:q=\"relative/x\"><p:b q:c=\"1\"/></a>",
    };
    struct tf_limits l;
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc;

    (void)state;
    tf_limits_default(&l);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        doc = tf_xml_parse(docs[i], strlen(docs[i]), &l, &why, err, sizeof err);
        if (doc == NULL)
            fprintf(stderr, "doc %zu: %s\n", i, err);
        assert_non_null(doc);
        assert_int_equal(why, TF_THREAT_OK);
        assert_string_equal(err, "");
        if (i == 0) {
            xmlNodePtr t = xmlDocGetRootElement(doc)->children;
            assert_int_equal(t->type, XML_TEXT_NODE);
            assert_string_equal((const char *)t->content, "<x>&amp;");
        }
        if (i == 4) {
            xmlChar *s = xmlNodeGetContent(xmlDocGetRootElement(doc));
            assert_string_equal((const char *)s, "");
            xmlFree(s);
        }
        xmlFreeDoc(doc);
    }
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        size_t len;
        char *buf = read_all(samples[i], &len);

        doc = tf_xml_parse(buf, len, NULL, &why, err, sizeof err);
        if (doc == NULL)
            fprintf(stderr, "%s: %s\n", samples[i], err);
        assert_non_null(doc);
        xmlFreeDoc(doc);
        free(buf);
    }
}

/* libxml2 prints nothing of its own, whatever it is fed. */
static void
test_xml_silent(void **state)
{
    char path[] = "/tmp/portico-test-threat-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    struct xml_case c[64];
    size_t n = xml_cases(c);
    enum tf_threat why;
    char err[256];
    xmlDocPtr doc;
    off_t size;

    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    assert_true(dup2(fd, 2) == 2);
    for (size_t i = 0; i < n; i++) {
        if (c[i].doc == NULL)
            continue;
        doc = tf_xml_parse(c[i].doc, strlen(c[i].doc), NULL, &why, err, sizeof err);
        xmlFreeDoc(doc);
    }
    doc = tf_xml_parse("<a xmlns:p=\"not a uri\"/>", 24, NULL, &why, err, sizeof err);
    xmlFreeDoc(doc);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    free_cases(c, n);
    assert_int_equal(size, 0);
}

/* Several threads parse at once: results stay the same (no global state). */
static void *
parse_loop(void *arg)
{
    const char *sample = arg;
    size_t len;
    char *buf = read_all(sample, &len);
    char *deep = nest("<a>", "</a>", 1000);
    enum tf_threat why;
    char err[256];
    long bad = 0;

    for (int i = 0; i < 30; i++) {
        xmlDocPtr d = tf_xml_parse(buf, len, NULL, &why, err, sizeof err);
        bad += d == NULL;
        xmlFreeDoc(d);
        d = tf_xml_parse(XXE_PASSWD, strlen(XXE_PASSWD), NULL, &why, err, sizeof err);
        bad += d != NULL || why != TF_THREAT_FORBIDDEN;
        d = tf_xml_parse(deep, strlen(deep), NULL, &why, err, sizeof err);
        bad += d != NULL || strcmp(err, "XML: element depth exceeds 64 at line 1") != 0;
    }
    free(buf);
    free(deep);
    return (void *)bad;
}

static void
test_xml_threads(void **state)
{
    pthread_t t[4];
    void *bad;

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_loop, (void *)samples[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* An integer beyond 64 bits is valid JSON: it is accepted, not refused as jansson alone would
 * (the document's numbers are then held as reals; the writers keep every literal). */
static void
test_json_huge_integer(void **state)
{
    static const char text[] = "{\"id\":123456789012345678901234567890,\"n\":1}";
    struct tf_limits l;
    enum tf_threat why = TF_THREAT_LIMIT;
    char err[256] = "";
    json_t *v;

    (void)state;
    tf_limits_default(&l);
    v = tf_json_parse(text, sizeof text - 1, &l, &why, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(why, TF_THREAT_OK);
    assert_true(json_is_number(json_object_get(v, "id")));
    assert_true(json_number_value(json_object_get(v, "id")) > 1.2e29);
    assert_true(json_number_value(json_object_get(v, "n")) == 1.0);
    json_decref(v);
}

struct json_case {
    const char *name;
    char *text;
    enum tf_threat why;
    const char *err; /* the exact message, or words in it when it starts with '~' */
};

static void
expect_json(const struct json_case *c, const struct tf_limits *l)
{
    enum tf_threat why = TF_THREAT_OK;
    char err[256];
    size_t len = strlen(c->text);
    json_t *v = tf_json_parse(c->text, len, l, &why, err, sizeof err);
    int match = c->err[0] == '~' ? strstr(err, c->err + 1) != NULL : strcmp(err, c->err) == 0;

    if (v != NULL || why != c->why || !match)
        fprintf(stderr, "case \"%s\": why %d (want %d), err \"%s\" (want \"%s\")\n", c->name,
                (int)why, (int)c->why, err, c->err);
    json_decref(v);
    assert_null(v);
    assert_int_equal(why, c->why);
    assert_true(match);
    for (const char *p = err; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
}

static void
test_json_vectors(void **state)
{
    struct json_case c[] = {
        { "arrays 10000 deep", nest("[", "]", 10000), TF_THREAT_LIMIT,
          "JSON: nesting deeper than 64 at line 1, column 65" },
        { "objects 10000 deep", nest("{\"a\":", "}", 10000), TF_THREAT_LIMIT,
          "JSON: nesting deeper than 64 at line 1, column 321" },
        { "65 deep on lines", nest("[\n", "]", 65), TF_THREAT_LIMIT,
          "JSON: nesting deeper than 64 at line 65, column 1" },
        { "array entries", repeat("[0", ",0", 10000, "]"), TF_THREAT_LIMIT,
          "JSON: more than 10000 entries in one container at line 1, column 20001" },
        { "object members", repeat("{\"\":0", ",\"\":0", 10000, "}"), TF_THREAT_LIMIT,
          "~more than 10000 entries in one container" },
        { "long string", repeat("[\"", "xxxxxxxxxxxxxxxx", 65537, "\"]"), TF_THREAT_LIMIT,
          "JSON: string longer than 1048576 bytes at line 1, column 2" },
        { "long key", repeat("{\"", "xxxxxxxxxxxxxxxx", 65537, "\":1}"), TF_THREAT_LIMIT,
          "~string longer than 1048576 bytes" },
        { "duplicate keys", strdup("{\"a\":1,\n \"a\":2}"), TF_THREAT_FORBIDDEN,
          "JSON: duplicate object key \"a\" at line 2, column 2" },
        { "nested duplicate keys", strdup("[{\"b\":{\"x\":1,\"x\":1}}]"), TF_THREAT_FORBIDDEN,
          "JSON: duplicate object key \"x\" at line 1, column 14" },
        { "nul escape", strdup("{\"a\":\"x\\u0000y\"}"), TF_THREAT_FORBIDDEN,
          "JSON: \\u0000 in a string is not accepted at line 1, column 8" },
        { "invalid utf-8", strdup("[\"caf\xc3\x28\"]"), TF_THREAT_MALFORMED,
          "JSON: invalid UTF-8 in a string at line 1, column 6" },
        { "invalid utf-8 in a key", strdup("{\"\xff\":1}"), TF_THREAT_MALFORMED,
          "JSON: invalid UTF-8 in a string at line 1, column 3" },
        { "lone surrogate", strdup("[\"\\ud800\"]"), TF_THREAT_MALFORMED,
          "JSON: invalid \\u escape (lone surrogate) at line 1, column 3" },
        { "trailing garbage", strdup("{} x"), TF_THREAT_MALFORMED,
          "JSON: end of input expected at line 1, column 4" },
        { "not json", strdup("<a/>"), TF_THREAT_MALFORMED, "JSON: invalid token at line 1, column 1" },
        { "beyond a double", strdup("{\"amount\": -1.5e+9999}"), TF_THREAT_LIMIT,
          "JSON: number beyond the range of a double at line 1, column 12" },
        { "empty", strdup(""), TF_THREAT_MALFORMED, "JSON: the document is empty" },
        /* messages in the words of json_to_xml's reader (tf_json_check), whichever refused */
        { "unterminated string", strdup("{\"s\":\"\\u0\n\n\xff}"), TF_THREAT_MALFORMED,
          "JSON: unterminated string at line 1, column 6" },
        /* a quoted key: the message stays one line of valid UTF-8 */
        { "message quoting a key", strdup("{\"a\\nb\\u0001\":1,\"a\\nb\\u0001\":2}"),
          TF_THREAT_FORBIDDEN, "JSON: duplicate object key \"a b \" at line 1, column 17" },
    };
    struct tf_limits l;

    (void)state;
    tf_limits_default(&l);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        expect_json(&c[i], &l);
        free(c[i].text);
    }
}

static void
test_json_limits(void **state)
{
    struct tf_limits l;
    enum tf_threat why;
    char err[256];
    char *s;
    json_t *v;

    (void)state;
    tf_limits_default(&l);
    /* exactly at the limits */
    s = nest("[", "]", 64);
    v = tf_json_parse(s, strlen(s), &l, &why, err, sizeof err);
    assert_non_null(v);
    json_decref(v);
    free(s);
    s = repeat("[0", ",0", 9999, "]");
    v = tf_json_parse(s, strlen(s), &l, &why, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), 10000);
    json_decref(v);
    free(s);
    /* brackets and quotes inside strings are not structure */
    s = "{\"[[[[\": \"]]]]\\\"[[[[,,,,\", \"k\\\\\": [\"{\"]}";
    l.json.max_depth = 2;
    l.json.max_entries = 2;
    v = tf_json_parse(s, strlen(s), &l, &why, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(why, TF_THREAT_OK);
    assert_string_equal(json_string_value(json_object_get(v, "[[[[")), "]]]]\"[[[[,,,,");
    json_decref(v);
    /* any root */
    tf_limits_default(&l);
    v = tf_json_parse("\"x\"", 3, &l, &why, err, sizeof err);
    assert_string_equal(json_string_value(v), "x");
    json_decref(v);
    v = tf_json_parse(" 6.20 ", 6, &l, &why, err, sizeof err);
    assert_true(json_is_real(v));
    json_decref(v);
    /* a NUL byte: jansson would stop there and take "0" */
    v = tf_json_parse("0\0x", 3, &l, &why, err, sizeof err);
    assert_null(v);
    assert_int_equal(why, TF_THREAT_MALFORMED);
    assert_string_equal(err, "JSON: NUL byte in the text at line 1, column 2");
    /* the body limit */
    l.max_body = 4;
    v = tf_json_parse("[1,2]", 5, &l, &why, err, sizeof err);
    assert_null(v);
    assert_int_equal(why, TF_THREAT_TOO_LARGE);
    assert_string_equal(err, "JSON: body of 5 bytes exceeds the limit of 4 bytes");
    /* string length as written */
    tf_limits_default(&l);
    l.json.max_string_len = 4;
    v = tf_json_parse("[\"\\n\\n\"]", 8, &l, &why, err, sizeof err);
    assert_non_null(v);
    json_decref(v);
    v = tf_json_parse("[\"\\n\\nx\"]", 9, &l, &why, err, sizeof err);
    assert_null(v);
    assert_int_equal(why, TF_THREAT_LIMIT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_vectors),
        cmocka_unit_test(test_xml_attribute_counts),
        cmocka_unit_test(test_xml_limits_small),
        cmocka_unit_test(test_xml_accepts),
        cmocka_unit_test(test_xml_silent),
        cmocka_unit_test(test_xml_threads),
        cmocka_unit_test(test_json_vectors),
        cmocka_unit_test(test_json_huge_integer),
        cmocka_unit_test(test_json_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
