/* redis_events.h: hiredis's async API on a libevent loop, through an adapter of its own rather
 * than hiredis's libevent one: that one re-arms a one-shot read event after every read and adds
 * and removes a write event for every batch of commands, four epoll_ctl calls a round trip. Here
 * the read event persists, and a command queued while connected is written once the loop has run
 * what is ready (a deferred event): the questions of one turn of the loop leave in one write.
 * Only a write that would block waits for a write event. One loop (thread) per context.
 */
#ifndef GW_REDIS_EVENTS_H
#define GW_REDIS_EVENTS_H

#include <event2/event.h>
#include <hiredis/async.h>

/* Put ac (just made by redisAsyncConnect) on base: 0, or -1 (out of memory). */
int gw_redis_attach(redisAsyncContext *ac, struct event_base *base);

#endif
