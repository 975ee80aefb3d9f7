/* test_router.c: pt_router_build / pt_router_match, as tables of requests and expected routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "http_parser.h"
#include "partner.h"
#include "router.h"

#define M(x) GW_METHOD_BIT(GW_METHOD_##x)

/* A set of routes made for one test; freed by routes_free(). */
struct routes {
    struct pt_route *r[512];
    size_t n;
};

static struct pt_partner acme = {.id = "acme-bank"};

/* Add a route; a path ending in '*' is a prefix route (the '*' dropped, as the loader does). */
static struct pt_route *
add(struct routes *rs, const char *name, unsigned methods, const char *host, const char *path)
{
    struct pt_route *r = calloc(1, sizeof *r);
    size_t len = strlen(path);

    assert_non_null(r);
    assert_true(rs->n < sizeof rs->r / sizeof rs->r[0]);
    r->name = strdup(name);
    r->methods = methods;
    r->host = host != NULL ? strdup(host) : NULL;
    r->match = len > 0 && path[len - 1] == '*' ? PT_PATH_PREFIX : PT_PATH_EXACT;
    r->path_len = r->match == PT_PATH_PREFIX ? len - 1 : len;
    r->path = strndup(path, r->path_len);
    r->owner = &acme;
    r->access = PT_ACCESS_OWNER;
    r->file = "partners.d/acme-bank/partner.json";
    r->line = (int)rs->n + 10;
    r->col = 9;
    rs->r[rs->n++] = r;
    return r;
}

static void
routes_free(struct routes *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i]->name);
        free(rs->r[i]->host);
        free(rs->r[i]->path);
        free(rs->r[i]);
    }
    rs->n = 0;
}

static const char *
name_of(const struct pt_route *r)
{
    return r != NULL ? r->name : "(none)";
}

struct match_case {
    int method;
    const char *host; /* Host header value, NULL for none */
    const char *path;
    int want;          /* PT_MATCH_* */
    const char *route; /* name of the expected route (PT_MATCH_OK) */
    unsigned allowed;  /* expected allowed set (PT_MATCH_METHOD) */
};

static void
run_cases(const struct pt_router *router, const struct match_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct match_case *c = &cases[i];
        const struct pt_route *got = (const struct pt_route *)&acme; /* must be overwritten */
        unsigned allowed = 0xdead;
        int rc = pt_router_match(router, c->method, c->host, c->host ? strlen(c->host) : 0, c->path,
                                 strlen(c->path), &got, &allowed);
        if (rc != c->want || (rc == PT_MATCH_OK && strcmp(name_of(got), c->route) != 0) ||
            (rc == PT_MATCH_METHOD && allowed != c->allowed) || (rc != PT_MATCH_OK && got)) {
            fail_msg("case %zu: method %d host %s path %s: got rc %d route %s allowed %#x, "
                     "want rc %d route %s allowed %#x",
                     i, c->method, c->host ? c->host : "(none)", c->path, rc, name_of(got), allowed,
                     c->want, c->route ? c->route : "(none)", c->allowed);
        }
    }
}

static struct pt_router *
build_quiet(struct routes *rs)
{
    struct gw_diag d = {0};
    struct pt_router *r = pt_router_build(rs->r, rs->n, &d);

    assert_non_null(r);
    if (d.errors != 0)
        gw_diag_print(&d, stderr);
    assert_int_equal(d.errors, 0);
    gw_diag_free(&d);
    return r;
}

static void
test_paths(void **state)
{
    struct routes rs = {0};
    add(&rs, "payments", M(GET) | M(POST), NULL, "/acme/payments");
    add(&rs, "acme", M(GET), NULL, "/acme/*");
    add(&rs, "accounts", M(GET), NULL, "/acme/accounts/*");
    add(&rs, "anything", 0, NULL, "/any");
    add(&rs, "health", M(GET), NULL, "/health");
    struct pt_router *r = build_quiet(&rs);

    static const struct match_case cases[] = {
        /* exact beats prefix */
        {GW_METHOD_GET, NULL, "/acme/payments", PT_MATCH_OK, "payments", 0},
        {GW_METHOD_POST, NULL, "/acme/payments", PT_MATCH_OK, "payments", 0},
        /* the exact path with a trailing slash is not the exact path: the prefix takes it */
        {GW_METHOD_GET, NULL, "/acme/payments/", PT_MATCH_OK, "acme", 0},
        /* longest prefix wins */
        {GW_METHOD_GET, NULL, "/acme/accounts/123", PT_MATCH_OK, "accounts", 0},
        {GW_METHOD_GET, NULL, "/acme/accounts/", PT_MATCH_OK, "accounts", 0},
        {GW_METHOD_GET, NULL, "/acme/accounts", PT_MATCH_OK, "acme", 0},
        /* the prefix "/acme/" + star matches "/acme/" and below, not "/acmex" nor "/acme" */
        {GW_METHOD_GET, NULL, "/acme/", PT_MATCH_OK, "acme", 0},
        {GW_METHOD_GET, NULL, "/acme/x/y", PT_MATCH_OK, "acme", 0},
        {GW_METHOD_GET, NULL, "/acmex", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "/acme", PT_MATCH_NONE, NULL, 0},
        /* 404 */
        {GW_METHOD_GET, NULL, "/", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "/nothing", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "/health/", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "/HEALTH", PT_MATCH_NONE, NULL, 0},
        /* 405 with the union of the methods of every route matching the path */
        {GW_METHOD_DELETE, NULL, "/acme/payments", PT_MATCH_METHOD, NULL, M(GET) | M(POST)},
        {GW_METHOD_POST, NULL, "/acme/accounts/1", PT_MATCH_METHOD, NULL, M(GET)},
        {GW_METHOD_HEAD, NULL, "/health", PT_MATCH_OK, "health", 0}, /* GET implies HEAD */
        /* method set 0 = every method, unknown methods included */
        {GW_METHOD_PATCH, NULL, "/any", PT_MATCH_OK, "anything", 0},
        {GW_METHOD_OPTIONS, NULL, "/any", PT_MATCH_OK, "anything", 0},
        {GW_METHOD_OTHER, NULL, "/any", PT_MATCH_OK, "anything", 0},
        {GW_METHOD_OTHER, NULL, "/health", PT_MATCH_METHOD, NULL, M(GET)},
        /* any Host is fine for routes without a host */
        {GW_METHOD_GET, "whatever.example:8443", "/health", PT_MATCH_OK, "health", 0},
    };
    run_cases(r, cases, sizeof cases / sizeof cases[0]);
    pt_router_free(r);
    routes_free(&rs);
}

static void
test_hosts(void **state)
{
    struct routes rs = {0};
    add(&rs, "any-health", M(GET), NULL, "/health");
    add(&rs, "status-health", M(GET), "status.acme.com", "/health");
    add(&rs, "any-payments", M(GET) | M(POST), NULL, "/acme/payments");
    add(&rs, "api-payments", M(POST), "api.acme.com", "/acme/payments");
    add(&rs, "eu-acme", M(GET), "eu.acme.com", "/acme/*");
    add(&rs, "wild", M(GET) | M(POST), "*.partners.example", "/acme/*");
    add(&rs, "wild-eu", M(GET), "*.eu.partners.example", "/acme/*");
    add(&rs, "any-acme", M(GET), NULL, "/acme/*");
    add(&rs, "v6", M(GET), "[::1]", "/v6");
    add(&rs, "v4", M(GET), "127.0.0.1", "/v6");
    add(&rs, "mixed-case", M(GET), "Upper.Example.COM", "/mc");
    struct pt_router *r = build_quiet(&rs);

    static const struct match_case cases[] = {
        /* host-specific beats any-host */
        {GW_METHOD_GET, "status.acme.com", "/health", PT_MATCH_OK, "status-health", 0},
        {GW_METHOD_GET, "other.acme.com", "/health", PT_MATCH_OK, "any-health", 0},
        {GW_METHOD_GET, NULL, "/health", PT_MATCH_OK, "any-health", 0},
        /* Host with a port, in another case, with a trailing dot */
        {GW_METHOD_GET, "status.acme.com:8443", "/health", PT_MATCH_OK, "status-health", 0},
        {GW_METHOD_GET, "STATUS.Acme.Com", "/health", PT_MATCH_OK, "status-health", 0},
        {GW_METHOD_GET, "Status.ACME.com:443", "/health", PT_MATCH_OK, "status-health", 0},
        {GW_METHOD_GET, "status.acme.com.", "/health", PT_MATCH_OK, "status-health", 0},
        {GW_METHOD_GET, "status.acme.co", "/health", PT_MATCH_OK, "any-health", 0},
        {GW_METHOD_GET, "status.acme.comx", "/health", PT_MATCH_OK, "any-health", 0},
        /* a configured host in mixed case is still matched */
        {GW_METHOD_GET, "upper.example.com", "/mc", PT_MATCH_OK, "mixed-case", 0},
        {GW_METHOD_GET, "other.example.com", "/mc", PT_MATCH_NONE, NULL, 0},
        /* a host's prefix route beats an any-host exact route */
        {GW_METHOD_GET, "eu.acme.com", "/acme/payments", PT_MATCH_OK, "eu-acme", 0},
        /* the host's route does not allow the method: the next candidate that does takes it */
        {GW_METHOD_POST, "api.acme.com", "/acme/payments", PT_MATCH_OK, "api-payments", 0},
        {GW_METHOD_GET, "api.acme.com", "/acme/payments", PT_MATCH_OK, "any-payments", 0},
        {GW_METHOD_DELETE, "api.acme.com", "/acme/payments", PT_MATCH_METHOD, NULL,
         M(GET) | M(POST)},
        /* wildcard hosts: any depth below the suffix, the most specific first, never the bare
         * domain nor a name that merely ends with the same letters */
        {GW_METHOD_POST, "x.partners.example", "/acme/q", PT_MATCH_OK, "wild", 0},
        {GW_METHOD_POST, "a.b.partners.example:8443", "/acme/q", PT_MATCH_OK, "wild", 0},
        {GW_METHOD_GET, "X.PARTNERS.EXAMPLE", "/acme/q", PT_MATCH_OK, "wild", 0},
        {GW_METHOD_GET, "a.eu.partners.example", "/acme/q", PT_MATCH_OK, "wild-eu", 0},
        {GW_METHOD_POST, "a.eu.partners.example", "/acme/q", PT_MATCH_OK, "wild", 0},
        {GW_METHOD_GET, "partners.example", "/acme/q", PT_MATCH_OK, "any-acme", 0},
        {GW_METHOD_GET, "evilpartners.example", "/acme/q", PT_MATCH_OK, "any-acme", 0},
        {GW_METHOD_POST, "evilpartners.example", "/acme/q", PT_MATCH_METHOD, NULL, M(GET)},
        /* IPv6 literal hosts, with and without port */
        {GW_METHOD_GET, "[::1]:8443", "/v6", PT_MATCH_OK, "v6", 0},
        {GW_METHOD_GET, "[::1]", "/v6", PT_MATCH_OK, "v6", 0},
        {GW_METHOD_GET, "127.0.0.1:8443", "/v6", PT_MATCH_OK, "v4", 0},
        {GW_METHOD_GET, "[::2]:8443", "/v6", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, NULL, "/v6", PT_MATCH_NONE, NULL, 0},
        {GW_METHOD_GET, "", "/v6", PT_MATCH_NONE, NULL, 0},
    };
    run_cases(r, cases, sizeof cases / sizeof cases[0]);
    pt_router_free(r);
    routes_free(&rs);
}

/* Many hosts and paths: every one is found (the binary searches), nothing else is. */
static void
test_many(void **state)
{
    struct routes rs = {0};
    char host[64], path[64];

    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "/p%03d", (i * 37) % 200);
        add(&rs, path, M(GET), NULL, path);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(host, sizeof host, "h%03d.example", (i * 13) % 100);
        add(&rs, host, M(POST), host, "/x/*");
    }
    struct pt_router *r = build_quiet(&rs);
    for (int i = 0; i < 200; i++) {
        const struct pt_route *got = NULL;
        snprintf(path, sizeof path, "/p%03d", i);
        assert_int_equal(pt_router_match(r, GW_METHOD_GET, NULL, 0, path, strlen(path), &got, NULL),
                         PT_MATCH_OK);
        assert_string_equal(got->name, path);
    }
    for (int i = 0; i < 100; i++) {
        const struct pt_route *got = NULL;
        snprintf(host, sizeof host, "H%03d.EXAMPLE:1", i);
        assert_int_equal(
            pt_router_match(r, GW_METHOD_POST, host, strlen(host), "/x/y", 4, &got, NULL),
            PT_MATCH_OK);
        snprintf(host, sizeof host, "h%03d.example", i);
        assert_string_equal(got->name, host);
    }
    const struct pt_route *got = NULL;
    assert_int_equal(pt_router_match(r, GW_METHOD_GET, NULL, 0, "/p200", 5, &got, NULL),
                     PT_MATCH_NONE);
    assert_int_equal(pt_router_match(r, GW_METHOD_POST, "h100.example", 12, "/x/y", 4, &got, NULL),
                     PT_MATCH_NONE);
    pt_router_free(r);
    routes_free(&rs);
}

static void
test_empty(void **state)
{
    struct gw_diag d = {0};
    struct pt_router *r = pt_router_build(NULL, 0, &d);
    const struct pt_route *got = NULL;
    unsigned allowed = 1;

    assert_non_null(r);
    assert_int_equal(pt_router_match(r, GW_METHOD_GET, "a", 1, "/", 1, &got, &allowed),
                     PT_MATCH_NONE);
    assert_null(got);
    assert_int_equal(allowed, 0);
    assert_int_equal(d.n, 0);
    pt_router_free(r);
    pt_router_free(NULL);
}

/* Build and return the number of errors; the first message is copied to first. */
static size_t
conflicts(struct routes *rs, char *first, size_t size)
{
    struct gw_diag d = {0};
    struct pt_router *r = pt_router_build(rs->r, rs->n, &d);
    size_t n = d.errors;

    assert_non_null(r);
    assert_int_equal(d.warnings, 0);
    if (first != NULL)
        snprintf(first, size, "%s", d.n > 0 ? d.items[0].text : "");
    pt_router_free(r);
    gw_diag_free(&d);
    routes_free(rs);
    return n;
}

static void
test_conflicts_reported(void **state)
{
    struct routes rs = {0};
    char msg[1024];

    /* same host, path, kind, overlapping methods: reported at the later one, naming the first */
    add(&rs, "orders", M(POST), NULL, "/acme/orders");
    add(&rs, "other", M(GET), NULL, "/acme/other");
    add(&rs, "orders-again", M(GET) | M(POST), NULL, "/acme/orders");
    assert_int_equal(conflicts(&rs, msg, sizeof msg), 1);
    assert_string_equal(msg, "partners.d/acme-bank/partner.json:12:9: route \"orders-again\" "
                             "conflicts with route \"orders\" of partner acme-bank "
                             "(partners.d/acme-bank/partner.json:10:9): same host, path "
                             "\"/acme/orders\" and method POST");

    /* a method set of 0 overlaps everything */
    add(&rs, "all", 0, NULL, "/acme/*");
    add(&rs, "get", M(GET) | M(PUT), NULL, "/acme/*");
    assert_int_equal(conflicts(&rs, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "route \"get\" conflicts with route \"all\""));
    assert_non_null(strstr(msg, "path \"/acme/*\" and methods GET, PUT"));

    /* same host written differently, same wildcard */
    add(&rs, "a", M(GET), "api.acme.com", "/x");
    add(&rs, "b", M(GET), "API.Acme.com", "/x");
    add(&rs, "c", M(GET), "*.acme.com", "/y/*");
    add(&rs, "d", M(GET), "*.acme.com", "/y/*");
    assert_int_equal(conflicts(&rs, NULL, 0), 2);

    /* three at one place: each later one reported once */
    add(&rs, "one", M(GET), NULL, "/z");
    add(&rs, "two", M(GET), NULL, "/z");
    add(&rs, "three", M(GET), NULL, "/z");
    assert_int_equal(conflicts(&rs, msg, sizeof msg), 2);

    /* a shared route is named as such */
    struct pt_route *shared = add(&rs, "health", M(GET), NULL, "/health");
    shared->owner = NULL;
    shared->access = PT_ACCESS_PUBLIC;
    shared->file = "portico.json";
    add(&rs, "my-health", M(GET), NULL, "/health");
    assert_int_equal(conflicts(&rs, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "conflicts with shared route \"health\" (portico.json:"));
}

static void
test_conflicts_not_reported(void **state)
{
    struct routes rs = {0};

    /* different methods */
    add(&rs, "get", M(GET), NULL, "/acme/orders");
    add(&rs, "post", M(POST), NULL, "/acme/orders");
    /* exact and prefix of the same path */
    add(&rs, "exact", M(GET), NULL, "/acme/");
    add(&rs, "prefix", M(GET), NULL, "/acme/*");
    /* same path, different hosts (and no host) */
    add(&rs, "h1", M(GET), "one.example", "/h");
    add(&rs, "h2", M(GET), "two.example", "/h");
    add(&rs, "h3", M(GET), "*.one.example", "/h");
    add(&rs, "h4", M(GET), NULL, "/h");
    /* different paths */
    add(&rs, "p1", 0, NULL, "/p/1");
    add(&rs, "p2", 0, NULL, "/p/2");
    assert_int_equal(conflicts(&rs, NULL, 0), 0);
}

/* With a conflict, the router is still built and the first declared route wins. */
static void
test_conflict_first_wins(void **state)
{
    struct routes rs = {0};
    struct gw_diag d = {0};
    const struct pt_route *got = NULL;

    add(&rs, "first", M(GET), NULL, "/c");
    add(&rs, "second", M(GET), NULL, "/c");
    struct pt_router *r = pt_router_build(rs.r, rs.n, &d);
    assert_non_null(r);
    assert_int_equal(d.errors, 1);
    assert_int_equal(pt_router_match(r, GW_METHOD_GET, NULL, 0, "/c", 2, &got, NULL), PT_MATCH_OK);
    assert_string_equal(got->name, "first");
    pt_router_free(r);
    gw_diag_free(&d);
    routes_free(&rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_conflicts_reported),
        cmocka_unit_test(test_conflicts_not_reported),
        cmocka_unit_test(test_conflict_first_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
