/* json_body.c: see json_body.h. */
#include "json_body.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "text.h"
#include "threat.h"

struct tf_json_num {
    const json_t *node;
    const char *lit; /* in the body, not NUL-terminated */
    size_t len;
};

/* ---- pairing numbers with their literals ---------------------------------------------------- */

struct literal {
    const char *s; /* in the body */
    size_t n;
};

struct pairing {
    struct literal *lits; /* the body's number literals, in document order */
    size_t nlits, lcap, next;
    struct tf_json_num *nums;
    size_t n, cap;
};

/* A number literal, as the reader meets it (tf_json_parse_numbers). */
static void
collect_literal(void *arg, const char *s, size_t n)
{
    struct pairing *p = arg;

    if (p->nlits == p->lcap) {
        p->lcap = p->lcap ? p->lcap * 2 : 16;
        p->lits = gw_xrealloc(p->lits, p->lcap * sizeof *p->lits);
    }
    p->lits[p->nlits++] = (struct literal){s, n};
}

/* The next number literal of the text. Returns 0, or -1 at the end. */
static int
next_literal(struct pairing *p, const char **lit, size_t *n)
{
    if (p->next == p->nlits)
        return -1;
    *lit = p->lits[p->next].s;
    *n = p->lits[p->next++].n;
    return 0;
}

/* Does the literal read back as v's value? Integers must be written as integers. Sets *keep when
 * the literal is not what the default printing would give. */
static int
literal_matches(const json_t *v, const char *lit, size_t n, int *keep)
{
    char small[64], *buf = n < sizeof small ? small : gw_xmalloc(n + 1);
    int ok;

    memcpy(buf, lit, n);
    buf[n] = '\0';
    errno = 0;
    if (json_is_integer(v)) {
        char canon[32];
        ok = strpbrk(buf, ".eE") == NULL && strtoll(buf, NULL, 10) == json_integer_value(v) &&
             errno == 0;
        snprintf(canon, sizeof canon, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *keep = strcmp(canon, buf) != 0; /* "-0" */
    } else {
        ok = strtod(buf, NULL) == json_real_value(v);
        *keep = 1;
    }
    if (buf != small)
        free(buf);
    return ok;
}

static int
pair_number(struct pairing *p, json_t *v)
{
    const char *lit;
    size_t n;
    int keep;

    if (next_literal(p, &lit, &n) < 0 || !literal_matches(v, lit, n, &keep))
        return -1;
    if (!keep)
        return 0;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->nums = gw_xrealloc(p->nums, p->cap * sizeof *p->nums);
    }
    p->nums[p->n++] = (struct tf_json_num){json_incref(v), lit, n};
    return 0;
}

/* Walk v in document order (jansson keeps members in insertion order, and tf_json_parse refuses
 * duplicate keys, so that is the order of the text). */
static int
pair_value(struct pairing *p, json_t *v)
{
    const char *key;
    json_t *e;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_foreach(v, key, e)
            if (pair_value(p, e) < 0)
                return -1;
        return 0;
    case JSON_ARRAY:
        json_array_foreach(v, i, e)
            if (pair_value(p, e) < 0)
                return -1;
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        return pair_number(p, v);
    default:
        return 0;
    }
}

static int
num_cmp(const void *a, const void *b)
{
    const json_t *x = ((const struct tf_json_num *)a)->node;
    const json_t *y = ((const struct tf_json_num *)b)->node;

    return x < y ? -1 : x > y;
}

static void
nums_release(struct tf_json_num *nums, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref((json_t *)nums[i].node);
    free(nums);
}

/* ---- parse ----------------------------------------------------------------------------------- */

/* Parse m's body, telling its number literals to p; fail x when refused. */
static json_t *
load(const struct tf_message *m, struct tf_ctx *x, const char *who, struct pairing *p)
{
    enum tf_threat why = TF_THREAT_OK;
    char err[256] = "";
    json_t *root;

    root = tf_json_parse_numbers(m->body ? m->body : "", m->body_len, x->limits, &why, err,
                                 sizeof err, collect_literal, p);
    if (root == NULL)
        tf_body_refused(x, m, why, who, err);
    return root;
}

int
tf_json_body_parse(struct tf_json_body *b, const struct tf_message *m, struct tf_ctx *x,
                   const char *who)
{
    struct pairing p = {0};
    int rc;

    *b = (struct tf_json_body){0};
    b->root = load(m, x, who, &p);
    rc = b->root != NULL ? pair_value(&p, b->root) : 0;
    free(p.lits);
    if (b->root == NULL) {
        nums_release(p.nums, p.n);
        return TF_ERROR;
    }
    if (rc < 0) {
        /* cannot happen with a text tf_json_parse accepted; fall back to printing the values */
        nums_release(p.nums, p.n);
        return 0;
    }
    if (p.n > 1)
        qsort(p.nums, p.n, sizeof *p.nums, num_cmp);
    b->nums = p.nums;
    b->nnums = p.n;
    return 0;
}

void
tf_json_body_free(struct tf_json_body *b)
{
    nums_release(b->nums, b->nnums);
    json_decref(b->root);
    *b = (struct tf_json_body){0};
}

json_t *
tf_json_body_copy(json_t *v)
{
    const char *key;
    json_t *e, *out;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        out = json_object();
        json_object_foreach(v, key, e)
            json_object_set_new(out, key, tf_json_body_copy(e));
        return out;
    case JSON_ARRAY:
        out = json_array();
        json_array_foreach(v, i, e)
            json_array_append_new(out, tf_json_body_copy(e));
        return out;
    default:
        return json_incref(v);
    }
}

/* ---- write ----------------------------------------------------------------------------------- */

struct jw {
    struct gw_buf o; /* malloc'd */
    const struct tf_json_body *b;
};

/* The shortest "%.Ng" that reads back as d, kept recognisable as a real: "100.0" (as jansson
 * writes it), "6.2", "1e+21". */
static void
jw_real(struct jw *w, double d)
{
    char buf[40];
    int n = 0;

    if (d == floor(d) && fabs(d) < 1e16) {
        gw_buf_add(&w->o, buf, (size_t)snprintf(buf, sizeof buf, "%.1f", d));
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf - 2, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".eE") == NULL) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    gw_buf_add(&w->o, buf, (size_t)n);
}

static void
jw_number(struct jw *w, const json_t *v)
{
    if (w->b != NULL && w->b->nnums > 0) {
        struct tf_json_num key = {v, NULL, 0};
        const struct tf_json_num *hit =
            bsearch(&key, w->b->nums, w->b->nnums, sizeof key, num_cmp);
        if (hit != NULL) {
            gw_buf_add(&w->o, hit->lit, hit->len);
            return;
        }
    }
    if (json_is_real(v)) {
        jw_real(w, json_real_value(v));
    } else {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        gw_buf_add(&w->o, buf, (size_t)n);
    }
}

static void
jw_value(struct jw *w, const json_t *v)
{
    const char *key;
    json_t *e;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        gw_buf_add(&w->o, "{", 1);
        i = 0;
        json_object_foreach((json_t *)v, key, e) {
            if (i++ > 0)
                gw_buf_add(&w->o, ",", 1);
            gw_json_str(&w->o, key, strlen(key), 0);
            gw_buf_add(&w->o, ":", 1);
            jw_value(w, e);
        }
        gw_buf_add(&w->o, "}", 1);
        break;
    case JSON_ARRAY:
        gw_buf_add(&w->o, "[", 1);
        json_array_foreach(v, i, e) {
            if (i > 0)
                gw_buf_add(&w->o, ",", 1);
            jw_value(w, e);
        }
        gw_buf_add(&w->o, "]", 1);
        break;
    case JSON_STRING: gw_json_str(&w->o, json_string_value(v), json_string_length(v), 0); break;
    case JSON_INTEGER:
    case JSON_REAL: jw_number(w, v); break;
    case JSON_TRUE: gw_buf_add(&w->o, "true", 4); break;
    case JSON_FALSE: gw_buf_add(&w->o, "false", 5); break;
    case JSON_NULL: gw_buf_add(&w->o, "null", 4); break;
    }
}

char *
tf_json_body_dump(const struct tf_json_body *b, const json_t *v, struct tf_ctx *x, size_t *len)
{
    struct jw w = { .b = b };
    char *p;

    jw_value(&w, v);
    if (w.o.oom || (p = gw_buf_steal(&w.o, len)) == NULL)
        abort(); /* as the arena does: the process cannot go on without memory */
    x->cleanup(x, free, p);
    return p;
}
