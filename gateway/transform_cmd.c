/* transform_cmd.c: `portico transform`, a route's transform chain run offline on a file.
 *
 *   portico transform [-c portico.json] --partner ID --route NAME [--phase request|response]
 *                     [--content-type TYPE] [-H 'Name: value']... [-R 'Name: value']...
 *                     [--status N] [-i] [FILE]
 *
 * -H sets a field of the message the chain runs on: it replaces a field of that name (in any case),
 * so the last of several wins; -R one of the request's, which a response chain sees too (its
 * "accept" conditions, ${request.header.NAME}): in the request phase both are the same message.
 * --content-type TYPE is -H 'Content-Type: TYPE', and the body is read as the Content-Type so
 * given, or else as the type its first byte suggests.
 *
 * Loads the configuration exactly as `serve` does (every error reported the same way), builds the
 * message the gateway would hand to the chain (the body from FILE or standard input), runs the
 * chain the partner would get on that route, and prints the resulting body (with -i, the status
 * and header fields first). A failing step prints the problem the partner would get and exits 1.
 * This is how a partner's transforms are tried before it is onboarded.
 */
#include "transform_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "config.h"
#include "context.h"
#include "snapshot.h"
#include "snapshot_load.h"

#define FIELD_NAME_MAX 256

/* A field given on the command line (pointing into argv). */
struct field {
    const char *name, *value;
    int name_len;                   /* below FIELD_NAME_MAX */
    int request;                    /* -R: the request's; else (-H, --content-type) the message's */
};

struct opts {
    const char *config, *partner, *route, *file;
    enum tf_phase phase;
    int status, include;
    struct field fields[128];       /* in the order given: a later one replaces an earlier one */
    size_t nfields;
};

/* Add the field of -H or -R ("Name: value") or of --content-type to o. Returns 0, or -1 after
 * saying why. */
static int
parse_field(struct opts *o, int ch, const char *arg)
{
    const char *name = "Content-Type", *v = arg;
    size_t n = strlen(name);
    struct field *f;

    if (ch != 't') {
        const char *colon = strchr(arg, ':');
        if (colon == NULL || colon == arg || colon - arg >= FIELD_NAME_MAX) {
            fprintf(stderr, "portico transform: -%c takes 'Name: value'\n", ch);
            return -1;
        }
        name = arg;
        n = (size_t)(colon - arg);
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
    }
    if (o->nfields == sizeof o->fields / sizeof o->fields[0]) {
        fprintf(stderr, "portico transform: %zu fields at most\n", o->nfields);
        return -1;
    }
    f = &o->fields[o->nfields++];
    f->name = name;
    f->name_len = (int)n;
    f->value = v;
    f->request = ch == 'R';
    return 0;
}

static int
parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},  {"partner", required_argument, NULL, 'p'},
        {"route", required_argument, NULL, 'r'},   {"phase", required_argument, NULL, 'P'},
        {"content-type", required_argument, NULL, 't'},
        {"header", required_argument, NULL, 'H'},  {"status", required_argument, NULL, 's'},
        {"request-header", required_argument, NULL, 'R'},
        {"include", no_argument, NULL, 'i'},       {NULL, 0, NULL, 0},
    };
    int ch;

    *o = (struct opts){ .config = "portico.json", .phase = TF_PHASE_REQUEST, .status = 200 };
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:p:r:P:t:H:R:s:i", longs, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'p': o->partner = optarg; break;
        case 'r': o->route = optarg; break;
        case 'i': o->include = 1; break;
        case 's': o->status = atoi(optarg); break;
        case 'P':
            if (strcmp(optarg, "request") != 0 && strcmp(optarg, "response") != 0) {
                fprintf(stderr, "portico transform: --phase is request or response\n");
                return -1;
            }
            o->phase = optarg[2] == 'q' ? TF_PHASE_REQUEST : TF_PHASE_RESPONSE;
            break;
        case 't':
        case 'H':
        case 'R':
            if (parse_field(o, ch, optarg) < 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    if (optind < argc)
        o->file = argv[optind++];
    if (optind < argc || o->route == NULL || o->status < 100 || o->status > 599) {
        fprintf(stderr, "usage: portico transform [-c FILE] [--partner ID] --route NAME "
                        "[--phase request|response] [--content-type TYPE] [-H 'Name: value']... "
                        "[-R 'Name: value']... [--status N] [-i] [FILE]\n");
        return -1;
    }
    return 0;
}

static char *
read_input(const char *file, size_t *len)
{
    FILE *f = file != NULL ? fopen(file, "rb") : stdin;
    char *buf = NULL;
    size_t cap = 0, n;

    *len = 0;
    if (f == NULL) {
        perror(file);
        return NULL;
    }
    do {
        if (*len + 65536 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 65536);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
    } while (n > 0);
    if (f != stdin)
        fclose(f);
    return buf;
}

/* The route NAME as this partner would reach it: the partner's own, or a shared one open to it. */
static const struct pt_route *
find_route(const struct pt_snapshot *s, const struct pt_partner *p, const char *name)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct pt_route *r = s->routes[i];
        if (strcmp(r->name, name) != 0)
            continue;
        if (r->owner == p || r->access == PT_ACCESS_PUBLIC || (p && r->access == PT_ACCESS_ANY))
            return r;
        for (size_t j = 0; p != NULL && j < r->npartners; j++)
            if (strcmp(r->partners[j], p->id) == 0)
                return r;
    }
    return NULL;
}

/* The guessed media type of a body: XML when it starts with '<', JSON with '{' or '['. */
static const char *
guess_type(const char *b, size_t n)
{
    size_t i = 0;

    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i + 3 <= n && (unsigned char)b[0] == 0xef && (unsigned char)b[1] == 0xbb)
        i += 3; /* a UTF-8 byte order mark */
    if (i < n && b[i] == '<')
        return "application/xml";
    if (i < n && (b[i] == '{' || b[i] == '['))
        return "application/json";
    return "application/octet-stream";
}

/* The message the chain runs on (m) and the request as the partner sent it (req), from the body
 * and the fields given. In the request phase they are one message, and req is a copy of m's
 * field table: the chain changes m's. */
static void
make_messages(const struct opts *o, struct tf_ctx *x, const char *body, size_t len,
              struct tf_message *m, struct tf_message *req)
{
    const char *type = guess_type(body, len);

    tf_message_init(m, o->phase);
    tf_message_init(req, TF_PHASE_REQUEST);
    m->status = o->phase == TF_PHASE_RESPONSE ? o->status : 0;
    /* a Content-Type given replaces the guess, so the body is read as that type */
    x->header_set(x, m, "Content-Type", type, strlen(type));
    for (size_t i = 0; i < o->nfields; i++) {
        const struct field *f = &o->fields[i];
        char name[FIELD_NAME_MAX];
        snprintf(name, sizeof name, "%.*s", f->name_len, f->name);
        x->header_set(x, f->request && o->phase == TF_PHASE_RESPONSE ? req : m, name, f->value,
                      strlen(f->value));
    }
    if (o->phase == TF_PHASE_REQUEST) {
        req->headers = x->alloc(x, m->nheaders * sizeof *req->headers);
        memcpy(req->headers, m->headers, m->nheaders * sizeof *req->headers);
        req->nheaders = req->cap = m->nheaders;
    }
}

static void
print_result(const struct opts *o, const struct tf_message *m)
{
    if (o->include) {
        if (m->phase == TF_PHASE_RESPONSE)
            printf("status: %d\n", m->status);
        for (size_t i = 0; i < m->nheaders; i++)
            printf("%.*s: %.*s\n", (int)m->headers[i].name_len, m->headers[i].name,
                   (int)m->headers[i].value_len, m->headers[i].value);
        printf("\n");
    }
    if (m->body_len > 0)
        fwrite(m->body, 1, m->body_len, stdout);
}

static int
run(const struct opts *o, const struct pt_snapshot *s, char *body, size_t len)
{
    const struct pt_partner *p = o->partner ? pt_snapshot_partner(s, o->partner) : NULL;
    const struct pt_route *r;
    const struct tf_chain *ch;
    struct gw_arena arena;
    struct tf_message m, req;
    struct tf_ctx x;
    uint32_t applied;
    int rc = 1;

    if (o->partner != NULL && p == NULL) {
        fprintf(stderr, "portico transform: no partner \"%s\"\n", o->partner);
        return 1;
    }
    if ((r = find_route(s, p, o->route)) == NULL) {
        fprintf(stderr, "portico transform: no route \"%s\"%s%s\n", o->route,
                p ? " that partner " : "", p ? p->id : "");
        return 1;
    }
    ch = o->phase == TF_PHASE_REQUEST ? r->request : r->response;
    if (ch == NULL && p != NULL)
        ch = o->phase == TF_PHASE_REQUEST ? p->default_request : p->default_response;
    gw_arena_init(&arena);
    tf_ctx_init(&x, &arena, &s->config->tf_limits);
    x.request_id = "offline";
    x.route_name = r->name;
    x.method = o->phase == TF_PHASE_REQUEST ? "POST" : "GET";
    x.path = r->path;
    if (p != NULL) {
        x.partner_id = p->id;
        x.partner_name = p->name;
    }
    x.partner = p; /* whose signing keys verify (transforms/sig.h) */
    x.partners = (const struct pt_partner *const *)s->partners;
    x.npartners = s->npartners;
    make_messages(o, &x, body, len, &m, &req);
    /* the request's fields, for "accept" conditions and templates */
    x.req_headers = req.headers;
    x.nreq_headers = req.nheaders;
    m.body = body;
    m.body_len = len;
    if (tf_chain_run(ch, &m, &x, &applied) < 0) {
        char *errors = x.err_errors ? json_dumps(x.err_errors, JSON_INDENT(2)) : NULL;
        fprintf(stderr, "portico transform: %d %s: %s\n%s%s", x.err_status,
                x.err_code ? x.err_code : "transform-failed", x.err_detail ? x.err_detail : "",
                errors ? errors : "", errors ? "\n" : "");
        free(errors);
        tf_ctx_clear_error(&x);
    } else {
        if (ch == NULL)
            fprintf(stderr, "portico transform: route \"%s\" has no %s chain: unchanged\n",
                    r->name, o->phase == TF_PHASE_REQUEST ? "request" : "response");
        print_result(o, &m);
        rc = 0;
    }
    gw_arena_free(&arena);
    return rc;
}

int
gw_cmd_transform(int argc, char **argv)
{
    struct opts o;
    struct gw_diag d = {0};
    struct pt_snapshot *s;
    char *body;
    size_t len;
    int rc;

    if (parse(argc, argv, &o) < 0)
        return 2;
    s = gw_snapshot_load(o.config, &d);
    gw_diag_print(&d, stderr);
    gw_diag_free(&d);
    if (s == NULL)
        return 1;
    if ((body = read_input(o.file, &len)) == NULL) {
        pt_snapshot_unref(s);
        return 1;
    }
    rc = run(&o, s, body, len);
    free(body);
    pt_snapshot_unref(s);
    return rc;
}
