/* test_conf_table.c: config sections read through tables of keys (base/conf_table.h): defaults,
 * every type, bounds, choices with and without their own wording, required keys, kept fields,
 * checked strings, OTHER rows with and without a reader, the bits of the keys given, and the
 * exact "file:line:column: path: message" lines, in the order of the table.
 *
 * Each case reads one section: the "s" object of a small document written on several lines, so
 * that the positions in the messages are those of the keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_table.h"
#include "diag.h"
#include "json_loc.h"
#include "tf_fixture.h" /* TFX_ASSERT_DIAG */

enum color { RED, GREEN, BLUE };

struct sect {
    int small;  /* 4 bytes */
    size_t big; /* 8 bytes */
    uint64_t huge;
    int flag;
    char *name;
    char *dir;
    enum color color;
    enum color hue; /* a choice with its own wording, "" allowed */
    int kept;       /* GW_CONF_KEEP */
    char *must;     /* required */
    char *even;     /* checked: an even number of characters */
    int others;     /* what the OTHER reader saw */
};

static const char *const colors[] = {[RED] = "red", [GREEN] = "green", [BLUE] = "blue", NULL};

static int
check_even(const char *v, char *err, size_t errlen)
{
    if (strlen(v) % 2 == 0)
        return 0;
    snprintf(err, errlen, "\"%s\" has an odd length", v);
    return -1;
}

/* Counts its calls, and says whether the key was there. */
static void
read_other(const struct gw_jctx *c, const json_t *obj, const char *path,
           const struct gw_conf_key *key, void *base)
{
    struct sect *s = base;

    s->others += json_object_get(obj, key->name) != NULL ? 10 : 1;
}

static const struct gw_conf_key table[] = {
    {GW_KEY_INT(struct sect, small, -5, 100, 7)},
    {GW_KEY_INT(struct sect, big, 1, 1LL << 40, 4096)},
    {GW_KEY_INT(struct sect, huge, 0, INT64_MAX, 1LL << 35)},
    {GW_KEY_BOOL(struct sect, flag, 1)},
    {GW_KEY_STRING(struct sect, name, "anon")},
    {GW_KEY_PATH(struct sect, dir, "data")},
    {GW_KEY_CHOICE(struct sect, color, colors, GREEN)},
    {GW_KEY_CHOICE(struct sect, hue, colors, BLUE), .what = "a hue (red, green or blue)",
     .flags = GW_CONF_EMPTY_OK},
    {GW_KEY_INT(struct sect, kept, 0, 9, 3), .flags = GW_CONF_KEEP},
    {GW_KEY_STRING(struct sect, must, "x"), .flags = GW_CONF_REQUIRED},
    {GW_KEY_STRING(struct sect, even, NULL), .check = check_even},
    {GW_KEY_OTHER("other", read_other)},
    {GW_KEY_OTHER("later", NULL)},
    {NULL},
};

struct fx {
    struct gw_diag d;
    struct gw_jctx jc;
    struct gw_jsonloc *loc;
    json_t *root;
    struct sect s;
    uint64_t set;
    int errors;
};

static void
fx_release(struct fx *f)
{
    free(f->s.name);
    free(f->s.dir);
    free(f->s.must);
    free(f->s.even);
    memset(&f->s, 0, sizeof f->s);
    json_decref(f->root);
    f->root = NULL;
    gw_jsonloc_free(f->loc);
    f->loc = NULL;
    gw_diag_free(&f->d);
}

/* Read "s" of {"s": <members>} (members on their own lines, from line 2) into f->s, with
 * f->s.kept set to 42 first. NULL members: the section is absent. */
static void
fx_read(struct fx *f, const char *members)
{
    char text[2048];
    json_error_t e;

    fx_release(f);
    snprintf(text, sizeof text, "{\n\"s\": {\n%s\n}\n}", members != NULL ? members : "");
    if ((f->root = json_loads(text, JSON_REJECT_DUPLICATES, &e)) == NULL)
        fail_msg("bad test document (line %d): %s\n%s", e.line, e.text, text);
    assert_non_null(f->loc = gw_jsonloc_build(text, strlen(text)));
    f->jc = (struct gw_jctx){.file = "t.json", .dir = "/etc/p", .loc = f->loc, .d = &f->d};
    f->s.kept = 42;
    f->errors = gw_conf_read(&f->jc, members != NULL ? json_object_get(f->root, "s") : NULL, "s",
                             table, &f->s, &f->set);
}

static int
fx_setup(void **state)
{
    static struct fx f;

    memset(&f, 0, sizeof f);
    *state = &f;
    return 0;
}

static int
fx_teardown(void **state)
{
    fx_release(*state);
    return 0;
}

/* Absent section: every default, kept fields kept, nothing reported, no bit set. */
static void
test_defaults(void **state)
{
    struct fx *f = *state;

    fx_read(f, NULL);
    assert_int_equal(f->errors, 0);
    assert_int_equal(f->d.n, 0);
    assert_int_equal(f->set, 0);
    assert_int_equal(f->s.small, 7);
    assert_int_equal(f->s.big, 4096);
    assert_true(f->s.huge == 1ULL << 35);
    assert_int_equal(f->s.flag, 1);
    assert_string_equal(f->s.name, "anon");
    assert_string_equal(f->s.dir, "/etc/p/data");
    assert_int_equal(f->s.color, GREEN);
    assert_int_equal(f->s.hue, BLUE);
    assert_int_equal(f->s.kept, 42);
    assert_string_equal(f->s.must, "x");
    assert_null(f->s.even);
    assert_int_equal(f->s.others, 0); /* no section: no row is read */
}

/* Every key given and good: stored as wide as its field, paths resolved, bits set. */
static void
test_values(void **state)
{
    struct fx *f = *state;

    fx_read(f, "\"small\": -5, \"big\": 1099511627776, \"huge\": 9007199254740993,\n"
               "\"flag\": false, \"name\": \"n\", \"dir\": \"/abs\", \"color\": \"blue\",\n"
               "\"hue\": \"red\", \"kept\": 9, \"must\": \"m\", \"even\": \"ab\",\n"
               "\"other\": [], \"later\": {}");
    assert_int_equal(f->errors, 0);
    assert_int_equal(f->d.n, 0);
    assert_int_equal(f->s.small, -5);
    assert_true(f->s.big == 1ULL << 40);
    assert_true(f->s.huge == 9007199254740993ULL);
    assert_int_equal(f->s.flag, 0);
    assert_string_equal(f->s.name, "n");
    assert_string_equal(f->s.dir, "/abs");
    assert_int_equal(f->s.color, BLUE);
    assert_int_equal(f->s.hue, RED);
    assert_int_equal(f->s.kept, 9);
    assert_string_equal(f->s.must, "m");
    assert_string_equal(f->s.even, "ab");
    assert_int_equal(f->s.others, 10);
    assert_true(f->set == (1ULL << 13) - 1);

    fx_read(f, "\"must\": \"m\", \"dir\": \"rel/x\"");
    assert_string_equal(f->s.dir, "/etc/p/rel/x");
    assert_int_equal(f->s.others, 1); /* called for an absent key too */
    assert_true(f->set == (1ULL << 5 | 1ULL << 9));
}

/* Every problem, each at its key, in the order of the table after the unknown keys; a bad value
 * leaves the default. */
static void
test_errors(void **state)
{
    struct fx *f = *state;

    fx_read(f, "\"small\": 101,\n"
               "\"big\": \"1\",\n"
               "\"flag\": 1,\n"
               "\"name\": \"\",\n"
               "\"color\": \"pink\",\n"
               "\"hue\": \"\",\n"
               "\"kept\": -1,\n"
               "\"even\": \"abc\",\n"
               "\"bogus\": 1");
    TFX_ASSERT_DIAG(&f->d,
                    "error: t.json:11:1: s.bogus: unknown key (expected one of: small, big, huge, "
                    "flag, name, dir, color, hue, kept, must, even, other, later)",
                    "error: t.json:3:1: s.small: 101 is out of range (-5 to 100)",
                    "error: t.json:4:1: s.big: expected an integer, got a string",
                    "error: t.json:5:1: s.flag: expected a boolean (true or false), got an integer",
                    "error: t.json:6:1: s.name: must not be empty",
                    "error: t.json:7:1: s.color: \"pink\" is not one of red, green, blue",
                    "error: t.json:8:1: s.hue: \"\" is not a hue (red, green or blue)",
                    "error: t.json:9:1: s.kept: -1 is out of range (0 to 9)",
                    "error: t.json:2:1: s.must: required key \"must\" is missing",
                    "error: t.json:10:1: s.even: \"abc\" has an odd length");
    assert_int_equal(f->errors, 10);
    assert_int_equal(f->set, 0);
    assert_int_equal(f->s.small, 7);
    assert_int_equal(f->s.big, 4096);
    assert_int_equal(f->s.flag, 1);
    assert_string_equal(f->s.name, "anon");
    assert_int_equal(f->s.color, GREEN);
    assert_int_equal(f->s.hue, BLUE);
    assert_int_equal(f->s.kept, 42);
    assert_string_equal(f->s.must, "x");
    assert_null(f->s.even);
}

/* One row alone: 1 stored, 0 absent, -1 reported; no default applied. */
static void
test_read_key(void **state)
{
    struct fx *f = *state;
    json_t *s;

    fx_read(f, "\"small\": 3, \"color\": \"nope\", \"must\": \"m\"");
    gw_diag_free(&f->d);
    s = json_object_get(f->root, "s");
    f->s.small = 0;
    assert_int_equal(gw_conf_read_key(&f->jc, s, "s", &table[0], &f->s), 1);
    assert_int_equal(f->s.small, 3);
    f->s.flag = 5;
    assert_int_equal(gw_conf_read_key(&f->jc, s, "s", &table[3], &f->s), 0);
    assert_int_equal(f->s.flag, 5);
    assert_int_equal(gw_conf_read_key(&f->jc, s, "s", &table[6], &f->s), -1);
    assert_int_equal(f->d.errors, 1);
}

/* A list of sections: objects handed back with their path, anything else reported at its place. */
static void
test_object_at(void **state)
{
    struct fx *f = *state;
    char ipath[GW_JPATH_MAX];
    json_t *list;

    fx_read(f, "\"must\": \"m\",\n\"other\": [{\"a\": 1},\n\"x\",\n[]]");
    gw_diag_free(&f->d);
    list = json_object_get(json_object_get(f->root, "s"), "other");
    assert_ptr_equal(gw_conf_object_at(&f->jc, list, "s.other", 0, ipath), json_array_get(list, 0));
    assert_string_equal(ipath, "s.other[0]");
    assert_null(gw_conf_object_at(&f->jc, list, "s.other", 1, ipath));
    assert_string_equal(ipath, "s.other[1]");
    assert_null(gw_conf_object_at(&f->jc, list, "s.other", 2, ipath));
    TFX_ASSERT_DIAG(&f->d, "error: t.json:5:1: s.other[1]: expected an object, got a string",
                    "error: t.json:6:1: s.other[2]: expected an object, got an array");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_key, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_object_at, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
