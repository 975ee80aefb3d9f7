/* fuzz_xj.h: what the two conversion targets (fuzz_json_parse, fuzz_xml_parse) share: CHECK, which
 * abort()s so that libFuzzer keeps the input, the compiling of an xml_to_json configuration, and
 * the checks every refusal must pass. Included by one target each: its functions are static. */
#ifndef FUZZ_XJ_H
#define FUZZ_XJ_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "context.h"
#include "diag.h"
#include "json_loc.h"
#include "threat.h"
#include "xml_json.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The conversion knobs of a step's configuration (NULL: the defaults). */
static struct tf_xj *
compile(const char *text)
{
    struct gw_diag d = { 0 };
    struct gw_jctx j = { .file = "fuzz", .dir = ".", .d = &d };
    struct tf_limits l;
    struct tf_conf cc;
    json_t *cfg = text ? json_loads(text, 0, NULL) : NULL;
    struct tf_xj *c;

    tf_limits_default(&l);
    tf_conf_init(&cc, &j, "step", cfg, TF_PHASE_REQUEST, &l);
    c = tf_xj_create(&cc);
    tf_conf_done(&cc);
    json_decref(cfg);
    gw_diag_free(&d);
    CHECK(c != NULL);
    return c;
}

/* A message is one line: no control character. */
static int
one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return 0;
    return 1;
}

/* A refusal has a known reason and a one-line message that starts with `prefix`. */
static void
check_refusal(enum tf_threat why, const char *err, const char *prefix)
{
    CHECK(why == TF_THREAT_MALFORMED || why == TF_THREAT_FORBIDDEN || why == TF_THREAT_LIMIT ||
          why == TF_THREAT_TOO_LARGE);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && one_line(err));
}

#endif
