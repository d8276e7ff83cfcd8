/* hiredis <-> libevent with persistent reads and deferred writes. */
#include "gateway/redis/loop.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>

typedef struct rloop {
    redisAsyncContext *ac;
    struct event *rev, *wev, *flush;
    gw_redis_read_cb after_read;
    unsigned reading : 1, writing : 1, flushing : 1;
    unsigned in_flush : 1; /* inside redisAsyncHandleWrite called by us */
    unsigned in_read : 1;  /* inside redisAsyncHandleRead called by us */
    unsigned dead : 1;     /* hiredis cleaned up during one of those: free on the way out */
} rloop_t;

/* hiredis frees the context (and, through rl_cleanup, l) when a read fails or a reply cannot be
 * parsed; after_read runs only when both are still there. */
static void rl_on_read(evutil_socket_t fd, short what, void *arg)
{
    rloop_t *l = arg;
    l->in_read = 1;
    redisAsyncHandleRead(l->ac);
    if (l->dead) {
        free(l);
        return;
    }
    l->in_read = 0;
    if (l->after_read) l->after_read(l->ac); /* may free ac and l: nothing after this */
}

static void rl_on_write(evutil_socket_t fd, short what, void *arg)
{
    redisAsyncHandleWrite(((rloop_t *)arg)->ac);
}

/* The deferred write: everything queued during the callbacks that just ran goes out at once. */
static void rl_on_flush(evutil_socket_t fd, short what, void *arg)
{
    rloop_t *l = arg;
    l->flushing = 0;
    l->in_flush = 1;
    redisAsyncHandleWrite(l->ac); /* may disconnect and clean up (see rl_cleanup) */
    if (l->dead) {
        free(l);
        return;
    }
    l->in_flush = 0;
}

static void rl_add_read(void *p)
{
    rloop_t *l = p;
    if (l->reading) return;
    l->reading = 1;
    event_add(l->rev, NULL);
}

static void rl_del_read(void *p)
{
    rloop_t *l = p;
    if (!l->reading) return;
    l->reading = 0;
    event_del(l->rev);
}

static void rl_add_write(void *p)
{
    rloop_t *l = p;
    /* Connecting, or more left after our own write: wait until the socket is writable. */
    if (l->in_flush || !(l->ac->c.flags & REDIS_CONNECTED)) {
        if (!l->writing) {
            l->writing = 1;
            event_add(l->wev, NULL);
        }
        return;
    }
    if (l->flushing || l->writing) return;
    l->flushing = 1;
    event_active(l->flush, EV_WRITE, 0);
}

static void rl_del_write(void *p)
{
    rloop_t *l = p;
    if (!l->writing) return;
    l->writing = 0;
    event_del(l->wev);
}

static void rl_cleanup(void *p)
{
    rloop_t *l = p;
    event_free(l->rev);
    event_free(l->wev);
    event_free(l->flush);
    l->rev = l->wev = l->flush = NULL;
    if (l->in_flush || l->in_read)
        l->dead = 1;
    else
        free(l);
}

int gw_redis_loop_attach(redisAsyncContext *ac, struct event_base *base,
                         gw_redis_read_cb after_read)
{
    if (ac->ev.data != NULL) return REDIS_ERR;
    rloop_t *l = calloc(1, sizeof(*l));
    if (!l) return REDIS_ERR;
    l->ac = ac;
    l->after_read = after_read;
    l->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, rl_on_read, l);
    l->wev = event_new(base, ac->c.fd, EV_WRITE | EV_PERSIST, rl_on_write, l);
    l->flush = event_new(base, -1, 0, rl_on_flush, l);
    if (!l->rev || !l->wev || !l->flush) {
        if (l->rev) event_free(l->rev);
        if (l->wev) event_free(l->wev);
        if (l->flush) event_free(l->flush);
        free(l);
        return REDIS_ERR;
    }
    ac->ev.addRead = rl_add_read;
    ac->ev.delRead = rl_del_read;
    ac->ev.addWrite = rl_add_write;
    ac->ev.delWrite = rl_del_write;
    ac->ev.cleanup = rl_cleanup;
    ac->ev.data = l;
    rl_add_read(l);
    rl_add_write(l); /* the connect completes as the socket becomes writable */
    return REDIS_OK;
}
