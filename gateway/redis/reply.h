/* Bounded replies for hiredis 0.14.1's reader (see client.h for the bounds and why): reply
 * object functions that refuse what the gateway never asks for, and a look at what the reader
 * buffers of a reply not yet whole. The client puts one on each connection; it also works on a
 * bare redisReader (redisReaderCreate, then feed it). */
#ifndef GW_REDIS_REPLY_H
#define GW_REDIS_REPLY_H

#include <hiredis/async.h>
#include <stddef.h>

typedef struct gw_reply_bound {
    size_t max_bytes; /* strings in one reply */
    int pubsub;       /* a subscribed connection: only [subscribe|message, channel, x] arrays */
    /* When set: a reply that is not an error, while no command of ac waits for one, is refused
     * (hiredis asserts on it). */
    const redisAsyncContext *ac;
    int bad; /* something was refused (or found unreadable): why says what */
    char why[160];
    /* the reader's own object functions, which ours call; the reply being read */
    redisReplyObjectFunctions *hfn;
    size_t rbytes;
    int relems;
} gw_reply_bound_t;

/* Resets b and installs its functions on rd, which must still have hiredis's (every reply is
 * then a redisReply, as async.c expects). rd->privdata becomes b; b must outlive rd. Once
 * something is refused, rd is in error (REDIS_ERR_OOM, "Out of memory") and b->why says why. */
void gw_reply_bound_attach(gw_reply_bound_t *b, redisReader *rd, size_t max_bytes, int pubsub,
                           const redisAsyncContext *ac);

/* After rd was fed and read (every complete reply taken from it): 1, with b->bad and b->why
 * set, when the unfinished reply is already over the bound (a bulk string announced too long,
 * or an item that has buffered too much); the connection must then be dropped. */
int gw_reply_bound_check(gw_reply_bound_t *b, const redisReader *rd);

/* A reader error hiredis found itself (REDIS_ERR_PROTOCOL: RESP3 types, bad lengths, garbage)
 * makes b bad too; other errors do not. */
void gw_reply_bound_error(gw_reply_bound_t *b, int err, const char *errstr);

#endif
