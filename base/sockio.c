/* sockio.c: see sockio.h. */
#include "sockio.h"

#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>

void
gw_bev_flush(struct bufferevent *bev)
{
    struct bufferevent *under = bufferevent_get_underlying(bev);
    struct evbuffer *out;
    int fd;

    if (under != NULL)
        bev = under; /* a TLS filter: its records are in the socket bufferevent below */
    else if (bufferevent_openssl_get_ssl(bev) != NULL)
        return;
    out = bufferevent_get_output(bev);
    fd = bufferevent_getfd(bev);
    if (evbuffer_get_length(out) == 0) {
        bufferevent_disable(bev, EV_WRITE);
        return;
    }
    /* a socket bufferevent keeps the front of its output frozen against everyone but itself */
    evbuffer_unfreeze(out, 1);
    while (fd >= 0 && evbuffer_get_length(out) > 0)
        if (evbuffer_write(out, fd) <= 0)
            break;
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(bev, EV_WRITE);
    else
        bufferevent_disable(bev, EV_WRITE);
}

void
gw_bev_drained(struct bufferevent *bev, int plain)
{
    if (plain && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
}

ssize_t
gw_sock_read(struct bufferevent *bev, int fd)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_iovec v[2];
    ssize_t n;
    int nv;

    evbuffer_unfreeze(in, 0); /* a socket bufferevent keeps the end of its input to itself */
    nv = evbuffer_reserve_space(in, 16384, v, 2);
    n = nv > 0 ? readv(fd, (struct iovec *)v, nv) : -1;
    if (n > 0) {
        size_t left = (size_t)n;
        for (int i = 0; i < nv; i++) {
            v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
            left -= v[i].iov_len;
        }
        evbuffer_commit_space(in, v, nv);
    }
    evbuffer_freeze(in, 0);
    return n;
}
