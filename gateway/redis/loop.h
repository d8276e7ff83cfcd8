/* hiredis on a libevent loop, cheaper than hiredis's own adapter: that one uses one-shot events,
 * so every reply costs two epoll_ctl calls (the event fires and is removed, hiredis adds it
 * again) and every batch of commands two more (arm EV_WRITE, disarm it). Here the read event
 * stays armed while hiredis wants to read, and queued commands are written once the current
 * callback is done (an active event, no syscall); EV_WRITE is armed only while connecting or
 * when the socket did not take everything. */
#ifndef GW_REDIS_LOOP_H
#define GW_REDIS_LOOP_H

#include <hiredis/async.h>

struct event_base;

/* Runs after each read that hiredis handled, if the context still lives: the place to look at
 * what its reader holds (a reply that has not arrived whole). It may free the context. */
typedef void (*gw_redis_read_cb)(redisAsyncContext *ac);

/* Like redisLibeventAttach: REDIS_OK, or REDIS_ERR (something attached already, or out of
 * memory). The events are freed through hiredis's cleanup hook when the context goes.
 * after_read may be NULL. */
int gw_redis_loop_attach(redisAsyncContext *ac, struct event_base *base,
                         gw_redis_read_cb after_read);

#endif
