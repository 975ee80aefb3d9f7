/* chain.c: compiling and running transform chains (see chain.h). */
#include "chain.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body_forms.h"
#include "context.h"
#include "xml_alloc.h"

#define MEDIA_XML 1u
#define MEDIA_JSON 2u

/* A media condition: "xml", "json" and explicit type/subtype names. */
struct media_cond {
    unsigned kinds;
    char **types;
    size_t ntypes;
};

struct step {
    const struct tf_ops *ops;
    void *inst;
    unsigned has_ct : 1, has_accept : 1, has_status : 1;
    struct media_cond ct, accept;
    unsigned char status[75]; /* bit per status code 0..599 */
};

struct tf_chain {
    struct step *steps;
    size_t n;
    int needs_body;
};

/* ---- conditions -------------------------------------------------------------------------------- */

static int
media_token_ok(const char *s)
{
    const char *slash = strchr(s, '/');

    if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f || *s == ';' || *s == ',' || *s == '*')
            return 0;
    return 1;
}

static int
media_cond_load(const struct gw_jctx *c, const json_t *when, const char *wpath, const char *key,
                struct media_cond *m)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *list = gw_jctx_string_list(c, when, wpath, key, 1, 0);
    size_t n = gw_jlist_size(list);

    if (list == NULL)
        return json_object_get(when, key) != NULL ? -1 : 0;
    gw_jpath_key(kpath, sizeof kpath, wpath, key);
    m->types = calloc(n, sizeof *m->types);
    if (m->types == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *t = gw_jlist_at(list, i, kpath, ipath, sizeof ipath);
        if (strcmp(t, "xml") == 0)
            m->kinds |= MEDIA_XML;
        else if (strcmp(t, "json") == 0)
            m->kinds |= MEDIA_JSON;
        else if (media_token_ok(t))
            m->types[m->ntypes++] = strdup(t);
        else
            gw_jctx_error(c, ipath, "\"%s\" is not \"xml\", \"json\" or a media type "
                          "(type/subtype, no wildcard)", t);
    }
    return 1;
}

static void
media_cond_free(struct media_cond *m)
{
    for (size_t i = 0; i < m->ntypes; i++)
        free(m->types[i]);
    free(m->types);
}

/* Does the media type v[0..n) (parameters allowed) satisfy m? */
static int
media_matches(const struct media_cond *m, const char *v, size_t n)
{
    size_t tl = 0;

    if ((m->kinds & MEDIA_XML) && tf_media_is_xml(v, n))
        return 1;
    if ((m->kinds & MEDIA_JSON) && tf_media_is_json(v, n))
        return 1;
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (tl < n && v[tl] != ';' && v[tl] != ' ' && v[tl] != '\t')
        tl++;
    for (size_t i = 0; i < m->ntypes; i++)
        if (strlen(m->types[i]) == tl && strncasecmp(m->types[i], v, tl) == 0)
            return 1;
    return 0;
}

/* Is the q parameter of one Accept element 0 ("q=0", "q=0.0", "q=0.000")? */
static int
q_zero(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < n && (p[j] == ' ' || p[j] == '\t'))
            j++;
        if (j + 1 < n && (p[j] == 'q' || p[j] == 'Q') && p[j + 1] == '=') {
            j += 2;
            if (j >= n || p[j] != '0')
                return 0;
            for (j++; j < n && p[j] != ';' && p[j] != ' '; j++)
                if (p[j] != '.' && p[j] != '0')
                    return 0;
            return 1;
        }
    }
    return 0;
}

/* Does any Accept field of the request name a type that m takes, with q > 0? */
static int
accept_matches(const struct media_cond *m, const struct tf_ctx *x)
{
    for (size_t i = 0; i < x->nreq_headers; i++) {
        const struct tf_header *h = &x->req_headers[i];
        if (h->name_len != 6 || strncasecmp(h->name, "accept", 6) != 0)
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            if (!q_zero(p, (size_t)(e - p)) && media_matches(m, p, (size_t)(e - p)))
                return 1;
            p = comma ? comma + 1 : end;
        }
    }
    return 0;
}

static void
status_set(struct step *s, int code)
{
    s->status[code / 8] |= (unsigned char)(1u << (code % 8));
}

static int
status_has(const struct step *s, int code)
{
    return code >= 0 && code < 600 && (s->status[code / 8] & (1u << (code % 8)));
}

static void
status_load(const struct gw_jctx *c, const json_t *when, const char *wpath, struct step *s)
{
    char kpath[GW_JPATH_MAX], ipath[GW_JPATH_MAX];
    json_t *v = json_object_get(when, "status"), *item;
    size_t i;

    if (v == NULL)
        return;
    gw_jpath_key(kpath, sizeof kpath, wpath, "status");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        gw_jctx_error(c, kpath, "expected a non-empty array of status codes or classes (\"2xx\")");
        return;
    }
    s->has_status = 1;
    json_array_foreach(v, i, item) {
        const char *str = json_string_value(item);
        gw_jpath_index(ipath, sizeof ipath, kpath, i);
        if (json_is_integer(item) && json_integer_value(item) >= 100 &&
            json_integer_value(item) <= 599) {
            status_set(s, (int)json_integer_value(item));
        } else if (str != NULL && strlen(str) == 3 && str[0] >= '1' && str[0] <= '5' &&
                   (str[1] | 0x20) == 'x' && (str[2] | 0x20) == 'x') {
            for (int k = 0; k < 100; k++)
                status_set(s, (str[0] - '0') * 100 + k);
        } else {
            gw_jctx_error(c, ipath, "expected a status code (100 to 599) or a class such as "
                          "\"2xx\"");
        }
    }
}

static void
when_load(const struct gw_jctx *c, const json_t *step, const char *spath, enum tf_phase phase,
          struct step *s)
{
    static const char *const keys[] = { "content_type", "status", "accept", NULL };
    char wpath[GW_JPATH_MAX];
    json_t *when = gw_jctx_get(c, step, spath, "when", JSON_OBJECT, 0);

    if (when == NULL)
        return;
    gw_jpath_key(wpath, sizeof wpath, spath, "when");
    gw_jctx_check_keys(c, when, wpath, keys);
    s->has_ct = media_cond_load(c, when, wpath, "content_type", &s->ct) > 0;
    s->has_accept = media_cond_load(c, when, wpath, "accept", &s->accept) > 0;
    if (json_object_get(when, "status") != NULL && phase == TF_PHASE_REQUEST) {
        char kpath[GW_JPATH_MAX];
        gw_jctx_error(c, gw_jpath_key(kpath, sizeof kpath, wpath, "status"),
                      "a request chain has no status to test");
        return;
    }
    status_load(c, when, wpath, s);
}

static int
when_holds(const struct step *s, const struct tf_message *m, const struct tf_ctx *x)
{
    if (s->has_status && !status_has(s, m->status))
        return 0;
    if (s->has_ct) {
        const struct tf_header *h = x->header_get(m, "content-type");
        if (h == NULL || !media_matches(&s->ct, h->value, h->value_len))
            return 0;
    }
    return !s->has_accept || accept_matches(&s->accept, x);
}

/* ---- compiling --------------------------------------------------------------------------------- */

static void
step_load(const struct gw_jctx *c, const json_t *obj, const char *spath, enum tf_phase phase,
          const struct tf_registry *reg, const struct tf_limits *limits, struct step *s)
{
    char npath[GW_JPATH_MAX];
    const char *key, *name = NULL;
    json_t *v, *config = NULL;
    size_t errors = c->d->errors;
    struct tf_conf cc;

    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "when") == 0)
            continue;
        if (name != NULL) {
            gw_jctx_error(c, gw_jpath_key(npath, sizeof npath, spath, key),
                          "a step names one transform; \"%s\" is already this step's", name);
            return;
        }
        name = key;
        config = v;
    }
    if (name == NULL) {
        gw_jctx_error(c, spath, "a step needs a transform: { \"<transform>\": { config } }");
        return;
    }
    gw_jpath_key(npath, sizeof npath, spath, name);
    if ((s->ops = tf_registry_find(reg, name)) == NULL) {
        gw_jctx_error(c, npath, "unknown transform \"%s\"", name);
        return;
    }
    if (!(s->ops->phases & phase)) {
        gw_jctx_error(c, npath, "transform \"%s\" does not run on the %s", name,
                      phase == TF_PHASE_REQUEST ? "request" : "response");
        return;
    }
    when_load(c, obj, spath, phase, s);
    tf_conf_init(&cc, c, npath, config, phase, limits);
    s->inst = s->ops->create(&cc);
    tf_conf_done(&cc);
    if (s->inst == NULL && c->d->errors == errors)
        gw_jctx_error(c, npath, "transform \"%s\" could not be set up", name);
}

struct tf_chain *
tf_chain_compile(const struct gw_jctx *c, const json_t *arr, const char *path,
                 enum tf_phase phase, const struct tf_registry *reg,
                 const struct tf_limits *limits)
{
    char spath[GW_JPATH_MAX];
    size_t errors = c->d->errors, i;
    struct tf_chain *ch;
    json_t *v;

    if (arr == NULL || json_array_size(arr) == 0)
        return NULL;
    if (json_array_size(arr) > TF_CHAIN_MAX) {
        gw_jctx_error(c, path, "a chain has at most %d steps", TF_CHAIN_MAX);
        return NULL;
    }
    ch = calloc(1, sizeof *ch);
    if (ch == NULL || (ch->steps = calloc(json_array_size(arr), sizeof *ch->steps)) == NULL) {
        free(ch);
        gw_jctx_error(c, path, "out of memory");
        return NULL;
    }
    json_array_foreach(arr, i, v) {
        struct step *s = &ch->steps[ch->n++];
        gw_jpath_index(spath, sizeof spath, path, i);
        if (!json_is_object(v))
            gw_jctx_error(c, spath, "expected a step object { \"<transform>\": { config } }, "
                          "got %s", gw_json_type_name(v));
        else
            step_load(c, v, spath, phase, reg, limits, s);
        if (s->ops != NULL && !(s->ops->flags & TF_FLAG_NO_BODY))
            ch->needs_body = 1;
    }
    if (c->d->errors > errors) {
        tf_chain_free(ch);
        return NULL;
    }
    return ch;
}

/* ---- running ----------------------------------------------------------------------------------- */

int
tf_chain_needs_body(const struct tf_chain *ch)
{
    return ch != NULL && ch->needs_body;
}

size_t
tf_chain_size(const struct tf_chain *ch)
{
    return ch != NULL ? ch->n : 0;
}

const char *
tf_chain_step_name(const struct tf_chain *ch, size_t i)
{
    return ch != NULL && i < ch->n ? ch->steps[i].ops->name : NULL;
}

/* The forms a step reads the body in (a step that says none takes bytes). */
static unsigned
takes_of(const struct step *s)
{
    return s->ops->takes != 0 ? s->ops->takes : TF_FORM_BYTES;
}

/* The forms the next step after i that works on the body takes (0: none: the chain's end). A
 * step whose "when" may not hold counts: the chain writes what it was not given. */
static unsigned
next_takes(const struct tf_chain *ch, size_t i)
{
    for (size_t k = i + 1; k < ch->n; k++)
        if (!(ch->steps[k].ops->flags & TF_FLAG_NO_BODY))
            return takes_of(&ch->steps[k]);
    return 0;
}

static int
run_steps(const struct tf_chain *ch, struct tf_message *m, struct tf_ctx *x, uint32_t *applied)
{
    size_t len;

    *applied = 0;
    for (size_t i = 0; ch != NULL && i < ch->n; i++) {
        const struct step *s = &ch->steps[i];
        unsigned takes = takes_of(s);
        int body = !(s->ops->flags & TF_FLAG_NO_BODY);
        if (!when_holds(s, m, x))
            continue;
        if (body && (tf_body_forms(m) & TF_FORM_BYTES) && m->body_len == 0)
            continue; /* nothing to convert, map or validate: HEAD, 204, an empty POST */
        /* the body in a form the step takes: written as bytes when it is held in another */
        if (body && !(tf_body_forms(m) & takes) && x->body_bytes(x, m, &len) == NULL) {
            x->err_step = s->ops->name;
            return -1;
        }
        x->next_takes = next_takes(ch, i);
        int rc = s->ops->apply(s->inst, m, x);
        if (rc < 0) {
            if (x->err_status == 0) /* a plugin that failed without saying why */
                x->fail(x, m->phase == TF_PHASE_REQUEST ? 500 : 502, "transform-failed", NULL,
                        "transform \"%s\" failed", s->ops->name);
            x->err_step = s->ops->name;
            return -1;
        }
        if (rc > 0) {
            *applied |= 1u << i;
            if (body)
                tf_body_forms_after(m, takes);
        }
    }
    /* the body is written once, here, when the last step left it parsed */
    if (!(tf_body_forms(m) & TF_FORM_BYTES) && x->body_bytes(x, m, &len) == NULL)
        return -1;
    return 0;
}

int
tf_chain_run(const struct tf_chain *ch, struct tf_message *m, struct tf_ctx *x,
             uint32_t *applied)
{
    int rc;

    tf_xml_alloc_enter(x); /* libxml2's blocks from the exchange's arena meanwhile */
    rc = run_steps(ch, m, x, applied);
    tf_xml_alloc_leave();
    return rc;
}

void
tf_chain_free(struct tf_chain *ch)
{
    if (ch == NULL)
        return;
    for (size_t i = 0; i < ch->n; i++) {
        struct step *s = &ch->steps[i];
        if (s->inst != NULL && s->ops->destroy != NULL)
            s->ops->destroy(s->inst);
        media_cond_free(&s->ct);
        media_cond_free(&s->accept);
    }
    free(ch->steps);
    free(ch);
}
