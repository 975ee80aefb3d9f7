/* resolve.h: host names to addresses through libevent's evdns, the same way at load and later.
 *
 * The loader resolves each upstream's host when a snapshot is loaded (gw_resolve: it waits, on a
 * loop of its own; the loader is not a worker); the worker that looks after an upstream set
 * re-resolves its names on that worker's loop (gw_dns_new), never waiting. Both ask the configured
 * nameservers, or the system's (/etc/resolv.conf), and look in /etc/hosts first. An IP address is
 * taken as it is, without a lookup. A name with IPv4 and IPv6 addresses goes to its first IPv4
 * one.
 */
#ifndef GW_RESOLVE_H
#define GW_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

struct event_base;
struct evdns_base;

/* The nameservers ("ip" or "ip:port") the loading thread's gw_resolve asks (NULL, 0: the system's).
 * The strings must outlive the load. */
void gw_resolve_use(char *const *nameservers, size_t n);

/* Is host an IP address (no lookup needed)? */
int gw_host_is_ip(const char *host);

/* host:port to its first address, waiting for the answer (at most a few seconds). Returns 0, or
 * -1 with the reason in err. */
int gw_resolve(const char *host, uint16_t port, struct sockaddr_storage *out, socklen_t *len,
               char *err, size_t errlen);

/* A resolver on base asking nameservers (NULL, 0: the system's), for lookups that call back on that
 * loop (evdns_getaddrinfo). Free it with evdns_base_free(d, 1). NULL when it cannot be made. */
struct evdns_base *gw_dns_new(struct event_base *base, char *const *nameservers, size_t n);

/* d asks nameservers now (NULL, 0: the system's); lookups under way go on with them. Returns 0,
 * or -1 when one cannot be taken. */
int gw_dns_reconfigure(struct evdns_base *d, char *const *nameservers, size_t n);

/* The address of a lookup's answers to use: the first IPv4 one, else the first (NULL: none). */
const struct evutil_addrinfo *gw_dns_first(const struct evutil_addrinfo *res);

/* An IPv4 or IPv6 address in text into ip[len] (INET6_ADDRSTRLEN is room enough); returns its
 * port, or -1 (ip "") for another family. */
int gw_addr_text(const struct sockaddr *sa, char *ip, size_t len);

/* Is "ip" or "ip:port" a nameserver address? */
int gw_nameserver_valid(const char *s);

#endif
