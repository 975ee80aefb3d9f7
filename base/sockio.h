/* sockio.h: socket I/O beside libevent's bufferevents, where their own does more work than needed.
 *
 * A socket bufferevent arms EPOLLOUT for every write and asks the kernel how many bytes are
 * waiting (FIONREAD) before every read. On a proxy's hot path both cost a system call per message;
 * these helpers write and read the bufferevent's buffers directly, so the event loop only gets
 * involved when the socket cannot take or give more at once.
 */
#ifndef GW_SOCKIO_H
#define GW_SOCKIO_H

#include <sys/types.h>

#include <event2/bufferevent.h>

/* Write what is queued now, instead of waiting a loop turn for EPOLLOUT; only what the socket
 * does not take waits for the write event. Socket bufferevents (plain, or under a TLS filter) keep
 * EV_WRITE disabled while their output is empty, which spares two epoll_ctl calls and a loop turn
 * per write. A socket-based TLS bufferevent (upstream https) is left to libevent. */
void gw_bev_flush(struct bufferevent *bev);

/* The write callback's half of the same for a plain socket bufferevent: EV_WRITE off once the
 * output is empty. */
void gw_bev_drained(struct bufferevent *bev, int plain);

/* Read what the socket has (one readv, up to 16 KiB) into the bufferevent's input. Returns the
 * bytes read, 0 at end of stream, or -1 with errno set (EAGAIN: nothing there yet). The caller
 * watches the socket itself and keeps the bufferevent's own reading off. */
ssize_t gw_sock_read(struct bufferevent *bev, int fd);

#endif
