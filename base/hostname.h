/* hostname.h: the form of a host name as configurations give it (a listener's SNI names, a route's
 * host, an upstream URL's host). */
#ifndef GW_HOSTNAME_H
#define GW_HOSTNAME_H

#include <stddef.h>

/* Is h[0..n) a registered name: 1 to 253 letters, digits, '-' and '.', not starting with '.' and
 * without an empty label ("a..b")? A final '.' (the root) is allowed. */
int gw_host_name_valid(const char *h, size_t n);

#endif
