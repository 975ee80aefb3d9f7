/* idle_conns.c: hold many idle keep-alive connections open against a server, to weigh them.
 *
 * Opens COUNT connections to HOST:PORT, plain or TLS (optionally presenting a client
 * certificate), sends one GET on each and reads its whole response, then keeps every connection
 * open and idle. Once all of them are idle it prints "ready COUNT" on stdout, so that a script can
 * read the server's memory, and holds them until SIGTERM or SIGINT, or until the hold time ends.
 *
 *   idle_conns [-n COUNT] [-c PARALLEL] [-t HOLD_S] [-w SETUP_S]
 *              [--tls] [--cert FILE --key FILE] [--sni NAME] HOST PORT PATH
 *
 * Exit status 0 only when every connection got a 200 with a keep-alive response and was still
 * open at the end; 1 otherwise (each kind of failure is described on stderr); 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_HEAD_BYTES 65536
#define MAX_LINE_BYTES 4096
#define MAX_MESSAGES 5 /* failures described one by one; the rest are only counted */

struct opts {
    int count;    /* connections to hold */
    int parallel; /* connections being set up at once */
    int hold_s;   /* how long to hold once all are idle */
    int setup_s;  /* how long setting them all up may take */
    int tls;
    const char *cert, *key, *sni;
    const char *host, *port, *path;
};

enum body_mode { BODY_LENGTH, BODY_CHUNK_SIZE, BODY_CHUNK_DATA, BODY_CHUNK_END, BODY_TRAILER };

/* Where reading one response has got to. */
struct resp {
    int head_done;
    int status;
    int close; /* "Connection: close": the server will not keep it */
    enum body_mode mode;
    unsigned long long remaining;
};

enum conn_state { CONN_NEW, CONN_SETUP, CONN_IDLE, CONN_GONE };

struct run;

struct conn {
    struct run *run;
    struct bufferevent *bev;
    enum conn_state state;
    struct resp resp;
};

struct run {
    struct opts opt;
    struct event_base *base;
    SSL_CTX *ssl_ctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char request[1024];
    size_t reqlen;
    struct conn *conns;
    int started, inflight, ready, failed, closed, messages;
    int announced; /* "ready" printed, holding */
    struct timespec t0;
    struct event *ev_term, *ev_int, *ev_timer;
};

static void launch(struct run *r);

/* Describe a failure on stderr, the first few only. */
static void
complain(struct run *r, const char *what, const char *detail)
{
    if (r->messages++ < MAX_MESSAGES)
        fprintf(stderr, "idle_conns: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    else if (r->messages == MAX_MESSAGES + 1)
        fprintf(stderr, "idle_conns: (further failures only counted)\n");
}

static double
elapsed(const struct run *r)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - r->t0.tv_sec) + (double)(t.tv_nsec - r->t0.tv_nsec) / 1e9;
}

/* Parse the status line and the headers we care about once the whole head is in. Returns 1 when
 * the head was read, 0 when more bytes are needed, -1 on a response we cannot use. */
static int
resp_head(struct resp *p, struct evbuffer *in)
{
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    char *head, *line, *save = NULL;
    int have_length = 0, chunked = 0;
    size_t len;

    if (end.pos < 0)
        return evbuffer_get_length(in) > MAX_HEAD_BYTES ? -1 : 0;
    len = (size_t)end.pos + 4;
    head = malloc(len + 1);
    if (head == NULL)
        return -1;
    evbuffer_remove(in, head, len);
    head[len] = '\0';
    if (sscanf(head, "HTTP/1.%*1[01] %3d", &p->status) != 1) {
        free(head);
        return -1;
    }
    for (line = strtok_r(head, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (strncasecmp(line, "content-length:", 15) == 0) {
            p->remaining = strtoull(line + 15, NULL, 10);
            have_length = 1;
        } else if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
            chunked = strcasestr(line + 18, "chunked") != NULL;
        } else if (strncasecmp(line, "connection:", 11) == 0) {
            p->close = strcasestr(line + 11, "close") != NULL;
        }
    }
    free(head);
    p->head_done = 1;
    if (chunked) {
        p->mode = BODY_CHUNK_SIZE;
        return 1;
    }
    p->mode = BODY_LENGTH;
    if (!have_length && p->status != 204 && p->status != 304)
        return -1; /* a body delimited by the close cannot stay idle */
    if (!have_length)
        p->remaining = 0;
    return 1;
}

/* One step of a chunked body. Returns 1 when the body is complete, 0 when more bytes are
 * needed, 2 when it made progress and can go on, -1 on a malformed body. */
static int
resp_chunk_step(struct resp *p, struct evbuffer *in)
{
    size_t n, take;
    char *line;

    switch (p->mode) {
    case BODY_CHUNK_SIZE:
    case BODY_TRAILER:
        line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
        if (line == NULL)
            return evbuffer_get_length(in) > MAX_LINE_BYTES ? -1 : 0;
        if (p->mode == BODY_TRAILER) {
            free(line);
            return n == 0 ? 1 : 2;
        }
        p->remaining = strtoull(line, NULL, 16);
        free(line);
        p->mode = p->remaining == 0 ? BODY_TRAILER : BODY_CHUNK_DATA;
        return 2;
    case BODY_CHUNK_DATA:
        take = evbuffer_get_length(in);
        if (take == 0)
            return 0;
        if (take > p->remaining)
            take = (size_t)p->remaining;
        evbuffer_drain(in, take);
        p->remaining -= take;
        if (p->remaining == 0)
            p->mode = BODY_CHUNK_END;
        return 2;
    case BODY_CHUNK_END:
        if (evbuffer_get_length(in) < 2)
            return 0;
        evbuffer_drain(in, 2);
        p->mode = BODY_CHUNK_SIZE;
        return 2;
    default:
        return -1;
    }
}

/* Feed what has arrived. Returns 1 when the response is complete, 0 when more bytes are needed,
 * -1 on a response we cannot use. */
static int
resp_feed(struct resp *p, struct evbuffer *in)
{
    size_t take;
    int rc;

    if (!p->head_done && (rc = resp_head(p, in)) <= 0)
        return rc;
    if (p->mode != BODY_LENGTH) {
        while ((rc = resp_chunk_step(p, in)) == 2)
            ;
        return rc;
    }
    take = evbuffer_get_length(in);
    if (take > p->remaining)
        take = (size_t)p->remaining;
    evbuffer_drain(in, take);
    p->remaining -= take;
    return p->remaining == 0;
}

static void
conn_close(struct conn *c)
{
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->state = CONN_GONE;
}

/* All connections are settled: announce them and start holding, or stop on failures. */
static void
check_settled(struct run *r)
{
    struct timeval hold = {r->opt.hold_s, 0};

    if (r->announced || r->ready + r->failed < r->opt.count)
        return;
    if (r->failed > 0) {
        event_base_loopbreak(r->base);
        return;
    }
    r->announced = 1;
    printf("ready %d in %.2f s\n", r->ready, elapsed(r));
    fflush(stdout);
    evtimer_add(r->ev_timer, &hold);
}

/* A connection that was still being set up failed. */
static void
conn_failed(struct conn *c, const char *why, const char *detail)
{
    struct run *r = c->run;

    complain(r, why, detail);
    conn_close(c);
    r->failed++;
    r->inflight--;
    launch(r);
    check_settled(r);
}

static void
print_tls(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

    if (ssl != NULL)
        printf("tls %s %s\n", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct run *r = c->run;
    struct evbuffer *in = bufferevent_get_input(bev);
    const char *why = NULL;
    char detail[64];
    int rc;

    if (c->state == CONN_IDLE) {
        complain(r, "data arrived on an idle connection", NULL);
        conn_close(c);
        r->closed++;
        return;
    }
    rc = resp_feed(&c->resp, in);
    if (rc == 0)
        return;
    snprintf(detail, sizeof(detail), "status %d", c->resp.status);
    if (rc < 0)
        why = "unusable response (no length, or malformed)";
    else if (c->resp.status != 200)
        why = "response is not a 200";
    else if (c->resp.close)
        why = "server closes after the response (Connection: close)";
    else if (evbuffer_get_length(in) > 0)
        why = "bytes after the end of the response";
    if (why != NULL) {
        conn_failed(c, why, detail);
        return;
    }
    if (r->ready == 0 && r->ssl_ctx != NULL)
        print_tls(c);
    c->state = CONN_IDLE;
    bufferevent_set_timeouts(bev, NULL, NULL);
    r->ready++;
    r->inflight--;
    launch(r);
    check_settled(r);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct run *r = c->run;
    char detail[256] = "";
    unsigned long e;

    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(detail, sizeof(detail), "timed out");
    else if (what & BEV_EVENT_EOF)
        snprintf(detail, sizeof(detail), "closed by the server");
    else if ((e = bufferevent_get_openssl_error(bev)) != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    else
        snprintf(detail, sizeof(detail), "%s", strerror(EVUTIL_SOCKET_ERROR()));
    if (c->state == CONN_SETUP) {
        conn_failed(c, "connection failed", detail);
        return;
    }
    complain(r, "idle connection lost", detail);
    conn_close(c);
    r->closed++;
}

/* Start one connection: socket (and TLS session), request queued before the connect so that it
 * leaves as soon as the connection (and handshake) is up. Returns 0 or -1. */
static int
conn_open(struct run *r, struct conn *c)
{
    struct timeval setup = {r->opt.setup_s, 0};
    SSL *ssl = NULL;
    int opts = BEV_OPT_CLOSE_ON_FREE;

    c->run = r;
    memset(&c->resp, 0, sizeof(c->resp));
    if (r->ssl_ctx != NULL) {
        ssl = SSL_new(r->ssl_ctx);
        if (ssl == NULL || SSL_set_tlsext_host_name(ssl, r->opt.sni) != 1)
            goto fail;
        c->bev = bufferevent_openssl_socket_new(r->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, opts);
        ssl = NULL; /* handed over: freed with the bufferevent (BEV_OPT_CLOSE_ON_FREE) */
    } else {
        c->bev = bufferevent_socket_new(r->base, -1, opts);
    }
    if (c->bev == NULL)
        goto fail;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_set_timeouts(c->bev, &setup, &setup);
    if (bufferevent_write(c->bev, r->request, r->reqlen) != 0 ||
        bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
        bufferevent_socket_connect(c->bev, (struct sockaddr *)&r->addr, (int)r->addrlen) != 0)
        goto fail;
    c->state = CONN_SETUP;
    return 0;
fail:
    SSL_free(ssl);
    conn_close(c);
    return -1;
}

/* Keep up to `parallel` connections being set up. */
static void
launch(struct run *r)
{
    while (r->inflight < r->opt.parallel && r->started < r->opt.count) {
        struct conn *c = &r->conns[r->started++];

        r->inflight++;
        if (conn_open(r, c) != 0) {
            complain(r, "cannot start a connection", strerror(errno));
            r->failed++;
            r->inflight--;
        }
    }
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct run *r = arg;

    if ((what & EV_TIMEOUT) && !r->announced)
        fprintf(stderr, "idle_conns: setup did not finish in %d s (%d ready, %d failed)\n",
                r->opt.setup_s, r->ready, r->failed);
    event_base_loopbreak(r->base);
}

static SSL_CTX *
tls_client(const struct opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        goto fail;
    /* the server is not verified: only its memory is of interest here */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* keep this side small too: 5000 idle sessions with their buffers would be ~170 MiB */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (o->cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
                            SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
                            SSL_CTX_check_private_key(ctx) != 1)) {
        fprintf(stderr, "idle_conns: cannot use certificate %s with key %s\n", o->cert, o->key);
        goto fail;
    }
    return ctx;
fail:
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
}

static int
resolve(struct run *r)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(r->opt.host, r->opt.port, &hints, &ai);

    if (rc != 0) {
        fprintf(stderr, "idle_conns: %s:%s: %s\n", r->opt.host, r->opt.port, gai_strerror(rc));
        return -1;
    }
    memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
    r->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Each connection takes a descriptor: lift the soft limit to the hard one. */
static void
raise_nofile(int count)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)count + 16 > rl.rlim_cur)
        fprintf(stderr, "idle_conns: %d connections but only %llu descriptors allowed\n", count,
                (unsigned long long)rl.rlim_cur);
}

static int
usage(void)
{
    fputs("usage: idle_conns [-n COUNT] [-c PARALLEL] [-t HOLD_S] [-w SETUP_S]\n"
          "         [--tls] [--cert FILE --key FILE] [--sni NAME] HOST PORT PATH\n",
          stderr);
    return 2;
}

static int
parse_opts(struct opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"tls", no_argument, NULL, 'T'},
        {"cert", required_argument, NULL, 'C'},
        {"key", required_argument, NULL, 'K'},
        {"sni", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    *o = (struct opts){
        .count = 1000, .parallel = 64, .hold_s = 60, .setup_s = 60, .sni = "localhost"};
    while ((ch = getopt_long(argc, argv, "n:c:t:w:", longs, NULL)) != -1) {
        switch (ch) {
        case 'n':
            o->count = atoi(optarg);
            break;
        case 'c':
            o->parallel = atoi(optarg);
            break;
        case 't':
            o->hold_s = atoi(optarg);
            break;
        case 'w':
            o->setup_s = atoi(optarg);
            break;
        case 'T':
            o->tls = 1;
            break;
        case 'C':
            o->cert = optarg;
            break;
        case 'K':
            o->key = optarg;
            break;
        case 'S':
            o->sni = optarg;
            break;
        default:
            return -1;
        }
    }
    if (argc - optind != 3 || o->count <= 0 || o->parallel <= 0 || o->hold_s <= 0 ||
        o->setup_s <= 0 || (o->cert == NULL) != (o->key == NULL) || (o->cert != NULL && !o->tls))
        return -1;
    o->host = argv[optind];
    o->port = argv[optind + 1];
    o->path = argv[optind + 2];
    return 0;
}

/* Everything the run needs before the loop starts. Returns 0 or -1. */
static int
setup(struct run *r)
{
    struct timeval limit = {r->opt.setup_s, 0};
    int n;

    n = snprintf(r->request, sizeof(r->request),
                 "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: idle_conns\r\nAccept: */*\r\n\r\n",
                 r->opt.path, r->opt.host, r->opt.port);
    if (n < 0 || (size_t)n >= sizeof(r->request)) {
        fprintf(stderr, "idle_conns: path too long\n");
        return -1;
    }
    r->reqlen = (size_t)n;
    if (resolve(r) != 0 || (r->opt.tls && (r->ssl_ctx = tls_client(&r->opt)) == NULL))
        return -1;
    r->conns = calloc((size_t)r->opt.count, sizeof(*r->conns));
    r->base = event_base_new();
    if (r->conns == NULL || r->base == NULL)
        return -1;
    r->ev_term = evsignal_new(r->base, SIGTERM, on_stop, r);
    r->ev_int = evsignal_new(r->base, SIGINT, on_stop, r);
    r->ev_timer = evtimer_new(r->base, on_stop, r);
    if (r->ev_term == NULL || r->ev_int == NULL || r->ev_timer == NULL ||
        evsignal_add(r->ev_term, NULL) != 0 || evsignal_add(r->ev_int, NULL) != 0 ||
        evtimer_add(r->ev_timer, &limit) != 0)
        return -1;
    return 0;
}

static void
teardown(struct run *r)
{
    int i;

    for (i = 0; r->conns != NULL && i < r->opt.count; i++)
        conn_close(&r->conns[i]);
    free(r->conns);
    if (r->ev_term != NULL)
        event_free(r->ev_term);
    if (r->ev_int != NULL)
        event_free(r->ev_int);
    if (r->ev_timer != NULL)
        event_free(r->ev_timer);
    if (r->base != NULL)
        event_base_free(r->base);
    SSL_CTX_free(r->ssl_ctx);
}

int
main(int argc, char **argv)
{
    struct run r = {0};
    int ok = 0;

    if (parse_opts(&r.opt, argc, argv) != 0)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(r.opt.count);
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    if (setup(&r) != 0)
        goto out;
    launch(&r);
    event_base_dispatch(r.base);
    ok = r.announced && r.failed == 0 && r.closed == 0;
    fprintf(stderr,
            "idle_conns: %d of %d connections set up and idle, %d failed, "
            "%d lost while idle\n",
            r.ready, r.opt.count, r.failed, r.closed);
out:
    teardown(&r);
    return ok ? 0 : 1;
}
