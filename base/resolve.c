/* resolve.c: host names to addresses through evdns (see resolve.h). */
#include "resolve.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

static _Thread_local char *const *use_ns;
static _Thread_local size_t use_nns;

void
gw_resolve_use(char *const *nameservers, size_t n)
{
    use_ns = nameservers;
    use_nns = n;
}

int
gw_host_is_ip(const char *host)
{
    unsigned char tmp[16];

    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

int
gw_addr_text(const struct sockaddr *sa, char *ip, size_t len)
{
    ip[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, (socklen_t)len);
        return ntohs(v4->sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, (socklen_t)len);
        return ntohs(v6->sin6_port);
    }
    return -1;
}

int
gw_nameserver_valid(const char *s)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    return evutil_parse_sockaddr_port(s, (struct sockaddr *)&ss, &len) == 0;
}

/* d asks nameservers (none: the system's resolv.conf), after /etc/hosts. */
static int
configure(struct evdns_base *d, char *const *nameservers, size_t n)
{
    if (n == 0) {
        if (evdns_base_resolv_conf_parse(d, DNS_OPTIONS_ALL, "/etc/resolv.conf") != 0 &&
            evdns_base_count_nameservers(d) == 0)
            return -1;
    } else {
        for (size_t i = 0; i < n; i++)
            if (evdns_base_nameserver_ip_add(d, nameservers[i]) != 0)
                return -1;
        evdns_base_load_hosts(d, NULL);
    }
    /* a nameserver that does not answer costs seconds, not the default's fifteen */
    evdns_base_set_option(d, "timeout:", "2");
    evdns_base_set_option(d, "attempts:", "2");
    return 0;
}

struct evdns_base *
gw_dns_new(struct event_base *base, char *const *nameservers, size_t n)
{
    struct evdns_base *d = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);

    if (d != NULL && configure(d, nameservers, n) < 0) {
        evdns_base_free(d, 0);
        d = NULL;
    }
    return d;
}

int
gw_dns_reconfigure(struct evdns_base *d, char *const *nameservers, size_t n)
{
    int rc;

    evdns_base_clear_nameservers_and_suspend(d);
    rc = configure(d, nameservers, n);
    evdns_base_resume(d);
    return rc;
}

const struct evutil_addrinfo *
gw_dns_first(const struct evutil_addrinfo *res)
{
    const struct evutil_addrinfo *first = NULL;

    for (const struct evutil_addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(struct sockaddr_storage))
            continue;
        if (a->ai_family == AF_INET)
            return a;
        if (first == NULL)
            first = a;
    }
    return first;
}

struct lookup {
    int done, err;
    struct sockaddr_storage *out;
    socklen_t *len;
};

static void
answered(int err, struct evutil_addrinfo *res, void *arg)
{
    struct lookup *l = arg;
    const struct evutil_addrinfo *a = gw_dns_first(err == 0 ? res : NULL);

    l->done = 1;
    l->err = err != 0 ? err : a == NULL ? EVUTIL_EAI_FAIL : 0;
    if (a != NULL) {
        memcpy(l->out, a->ai_addr, a->ai_addrlen);
        *l->len = (socklen_t)a->ai_addrlen;
    }
    if (res != NULL)
        evutil_freeaddrinfo(res);
}

int
gw_resolve(const char *host, uint16_t port, struct sockaddr_storage *out, socklen_t *len,
           char *err, size_t errlen)
{
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct lookup l = {.out = out, .len = len};
    struct event_base *base;
    struct evdns_base *d = NULL;
    char portstr[8];

    snprintf(portstr, sizeof portstr, "%u", port);
    if (gw_host_is_ip(host))
        hints.ai_flags = EVUTIL_AI_NUMERICHOST;
    if ((base = event_base_new()) == NULL || (d = gw_dns_new(base, use_ns, use_nns)) == NULL) {
        snprintf(err, errlen, "cannot resolve host \"%s\": no resolver (out of memory, or a bad "
                 "nameserver)", host);
        if (base != NULL)
            event_base_free(base);
        return -1;
    }
    evdns_getaddrinfo(d, host, portstr, &hints, answered, &l);
    while (!l.done && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    evdns_base_free(d, 1);
    event_base_free(base);
    if (!l.done || l.err != 0) {
        snprintf(err, errlen, "cannot resolve host \"%s\": %s", host,
                 l.done ? evutil_gai_strerror(l.err) : "no answer");
        return -1;
    }
    return 0;
}
