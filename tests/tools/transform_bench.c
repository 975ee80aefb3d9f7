/* transform_bench.c: CPU time of the XML / JSON conversions against the parsers under them.
 *
 *   transform_bench [-t SECONDS] FILE.xml[=CHAIN.json]...
 *
 * For each file, each measure runs on this thread for at least SECONDS of CPU time (default 0.5)
 * and prints one TSV line "file measure seconds_per_doc MB_per_s" (MB/s of the measure's input:
 * the XML file, or the JSON xml_to_json made of it), after a header line:
 *   bare_parse     libxml2's xmlReadMemory to a tree + xmlFreeDoc, tf_xml_parse's options
 *   tf_xml_parse   the threat-protected parse (+ xmlFreeDoc)
 *   xml_to_json    tf_xml_parse + tf_xml_to_json (default knobs), arena reset each time
 *   json_to_xml    tf_json_to_xml of that JSON (default knobs)
 *   jansson        json_loadb + json_dumpb of that JSON
 *   chain          (with =CHAIN.json: a request chain, a JSON array of steps as a route's
 *                  "request" holds it) the chain run on the XML body as the gateway runs it,
 *                  arena reset each time
 * then "file ratio_xml_to_json_bare_parse RATIO -" and, with a chain, "file
 * ratio_chain_bare_parse RATIO -".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "arena.h"
#include "chain.h"
#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "xml_alloc.h"
#include "threat.h"
#include "xml_json.h"

/* What tf_xml_parse passes to libxml2 (transforms/threat.c), for the bare parse. */
#define BARE_OPTIONS                                                                               \
    (XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |              \
     XML_PARSE_COMPACT | XML_PARSE_BIG_LINES)

struct input {
    const char *xml;
    size_t xml_len;
    const char *json;
    size_t json_len;
    struct tf_limits limits;
    struct gw_arena arena;
    struct tf_ctx x;
    struct tf_chain *chain;
};

typedef int (*measure_fn)(struct input *in);

static char *read_file(const char *path, size_t *len);

static double
cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bare_parse(struct input *in)
{
    xmlDocPtr d = xmlReadMemory(in->xml, (int)in->xml_len, NULL, NULL, BARE_OPTIONS);

    xmlFreeDoc(d);
    return d != NULL ? 0 : -1;
}

static int
threat_parse(struct input *in)
{
    enum tf_threat why;
    char err[256];
    xmlDocPtr d = tf_xml_parse(in->xml, in->xml_len, &in->limits, &why, err, sizeof err);

    xmlFreeDoc(d);
    return d != NULL ? 0 : -1;
}

static int
xml_to_json(struct input *in)
{
    enum tf_threat why;
    char err[256];
    size_t len;
    xmlDocPtr d = tf_xml_parse(in->xml, in->xml_len, &in->limits, &why, err, sizeof err);
    char *out = d != NULL ? tf_xml_to_json(NULL, d, &in->x, &len, &why, err, sizeof err) : NULL;

    xmlFreeDoc(d);
    gw_arena_reset(&in->arena);
    return out != NULL ? 0 : -1;
}

static int
json_to_xml(struct input *in)
{
    enum tf_threat why;
    char err[256];
    size_t len;
    char *out = tf_json_to_xml(NULL, in->json, in->json_len, &in->x, &len, &why, err, sizeof err);

    gw_arena_reset(&in->arena);
    return out != NULL ? 0 : -1;
}

static int
jansson(struct input *in)
{
    json_error_t e;
    json_t *v = json_loadb(in->json, in->json_len, 0, &e);
    size_t need;
    char *buf;

    if (v == NULL)
        return -1;
    need = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    buf = malloc(need);
    if (buf == NULL || json_dumpb(v, buf, need, JSON_COMPACT | JSON_PRESERVE_ORDER) != need) {
        free(buf);
        json_decref(v);
        return -1;
    }
    free(buf);
    json_decref(v);
    return 0;
}

/* The chain on the XML body, as the gateway's pipeline runs it. */
static int
chain(struct input *in)
{
    struct tf_message m;
    uint32_t applied;
    int rc;

    tf_ctx_init(&in->x, &in->arena, &in->limits);
    tf_message_init(&m, TF_PHASE_REQUEST);
    in->x.header_add(&in->x, &m, "Content-Type", "application/xml", 15);
    m.body = (char *)in->xml;
    m.body_len = in->xml_len;
    rc = tf_chain_run(in->chain, &m, &in->x, &applied);
    tf_ctx_clear_error(&in->x);
    gw_arena_reset(&in->arena);
    return rc;
}

/* Compile the chain of file path (a JSON array of steps). */
static struct tf_chain *
load_chain(const char *path, struct tf_registry *reg, const struct tf_limits *limits)
{
    size_t len;
    char *text = read_file(path, &len);
    json_error_t jerr;
    json_t *arr = text != NULL ? json_loadb(text, len, 0, &jerr) : NULL;
    struct gw_jsonloc *loc = text != NULL ? gw_jsonloc_build(text, len) : NULL;
    struct gw_diag d = { 0 };
    struct gw_jctx c = { .file = path, .dir = ".", .loc = loc, .d = &d };
    struct tf_chain *ch = arr != NULL && loc != NULL
                              ? tf_chain_compile(&c, arr, "request", TF_PHASE_REQUEST, reg, limits)
                              : NULL;

    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "transform_bench: %s: %s\n", path, d.items[i].text);
    if (ch == NULL)
        fprintf(stderr, "transform_bench: %s: not a chain\n", path);
    gw_diag_free(&d);
    gw_jsonloc_free(loc);
    json_decref(arr);
    free(text);
    return ch;
}

/* CPU seconds per call of fn, over at least min_s seconds. */
static double
measure(measure_fn fn, struct input *in, double min_s)
{
    long n = 1, done = 0;
    double t0 = cpu_now(), t = 0;

    if (fn(in) < 0)
        return -1;
    while (t < min_s) {
        for (long i = 0; i < n; i++)
            fn(in);
        done += n;
        t = cpu_now() - t0;
        n *= 2;
    }
    return t / (double)done;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else if (buf != NULL) {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(fp);
    return buf;
}

static void
print_line(const char *file, const char *what, double s, size_t bytes)
{
    printf("%s\t%s\t%.9f\t%.2f\n", file, what, s, (double)bytes / s / 1e6);
}

/* Make the JSON the JSON measures read: xml_to_json's output, copied out of the arena. */
static int
prepare(struct input *in)
{
    enum tf_threat why;
    char err[256];
    size_t len;
    xmlDocPtr d = tf_xml_parse(in->xml, in->xml_len, &in->limits, &why, err, sizeof err);
    char *out = d != NULL ? tf_xml_to_json(NULL, d, &in->x, &len, &why, err, sizeof err) : NULL;

    xmlFreeDoc(d);
    if (out == NULL) {
        fprintf(stderr, "transform_bench: %s\n", err);
        return -1;
    }
    in->json = strndup(out, len);
    in->json_len = len;
    gw_arena_reset(&in->arena);
    return in->json != NULL ? 0 : -1;
}

static int
bench_file(const char *arg, double min_s, struct tf_registry *reg)
{
    static const struct {
        const char *name;
        measure_fn fn;
        int on_json;
    } m[] = {
        { "bare_parse", bare_parse, 0 },   { "tf_xml_parse", threat_parse, 0 },
        { "xml_to_json", xml_to_json, 0 }, { "json_to_xml", json_to_xml, 1 },
        { "jansson", jansson, 1 },
    };
    struct input in = { 0 };
    double s[5], cs;
    int rc = -1;
    char *file = strdup(arg), *eq = file != NULL ? strchr(file, '=') : NULL;

    if (file == NULL)
        return -1;
    if (eq != NULL)
        *eq = '\0';
    in.xml = read_file(file, &in.xml_len);
    if (in.xml == NULL) {
        fprintf(stderr, "transform_bench: cannot read %s\n", file);
        return -1;
    }
    tf_limits_default(&in.limits);
    gw_arena_init(&in.arena);
    tf_ctx_init(&in.x, &in.arena, &in.limits);
    if (prepare(&in) < 0 ||
        (eq != NULL && (in.chain = load_chain(eq + 1, reg, &in.limits)) == NULL))
        goto out;
    /* TRANSFORM_BENCH_ONLY=chain: that measure alone (for a profiler) */
    if (getenv("TRANSFORM_BENCH_ONLY") != NULL && in.chain != NULL) {
        for (double t0 = cpu_now(); cpu_now() - t0 < min_s;)
            chain(&in);
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < 5; i++) {
        s[i] = measure(m[i].fn, &in, min_s);
        if (s[i] < 0) {
            fprintf(stderr, "transform_bench: %s fails on %s\n", m[i].name, file);
            goto out;
        }
        print_line(file, m[i].name, s[i], m[i].on_json ? in.json_len : in.xml_len);
    }
    printf("%s\tratio_xml_to_json_bare_parse\t%.3f\t-\n", file, s[2] / s[0]);
    if (in.chain != NULL) {
        if ((cs = measure(chain, &in, min_s)) < 0) {
            fprintf(stderr, "transform_bench: the chain fails on %s: %s\n", file,
                    in.x.err_detail ? in.x.err_detail : "");
            goto out;
        }
        print_line(file, "chain", cs, in.xml_len);
        printf("%s\tratio_chain_bare_parse\t%.3f\t-\n", file, cs / s[0]);
    }
    rc = 0;
out:
    tf_chain_free(in.chain);
    free(file);
    gw_arena_free(&in.arena);
    free((char *)in.xml);
    free((char *)in.json);
    return rc;
}

int
main(int argc, char **argv)
{
    double min_s = 0.5;
    int i = 1, rc = 0;
    struct tf_registry *reg;

    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        min_s = atof(argv[2]);
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: transform_bench [-t SECONDS] FILE.xml[=CHAIN.json]...\n");
        return 2;
    }
    /* TRANSFORM_BENCH_XML_ARENA=1: libxml2's allocator as the gateway installs it (xml_alloc.h);
     * the default, libxml2's own malloc, is the floor's */
    if (getenv("TRANSFORM_BENCH_XML_ARENA") != NULL)
        tf_xml_alloc_init();
    xmlInitParser();
    reg = tf_registry_new();
    printf("file\tmeasure\tseconds_per_doc\tMB_per_s\n");
    for (; i < argc; i++)
        rc |= bench_file(argv[i], min_s, reg) < 0;
    tf_registry_free(reg);
    return rc;
}
