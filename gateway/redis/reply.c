/* Bounded replies for hiredis 0.14.1's reader. hiredis builds every reply with the reader's
 * object functions; ours check, then call hiredis's own (async.c takes what they build for its
 * redisReply). Returning NULL puts the reader in error, and hiredis drops the connection.
 * No library does this for us: hiredis 1.x only adds reader->maxelements (default 2^32 - 1),
 * nothing bounds a bulk string or the read buffer, and Debian 12 ships 0.14.1. */
#include "gateway/redis/reply.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/redis/client.h"

/* gw_reply_bound_check reads the reader's state (rstack, ridx, buf, pos, len) as 0.14 lays it
 * out (1.1 replaced rstack with task/tasks), and the object functions take 0.14's signatures
 * (1.0 added createDouble, createBool for RESP3). Check both before building against another
 * hiredis. */
#if HIREDIS_MAJOR != 0 || HIREDIS_MINOR != 14
#error "gateway/redis/reply.c is written against hiredis 0.14's reader"
#endif

/* Framing around the one item of a reply still arriving: type byte, length line, CRLF. */
#define REPLY_SLACK 64
/* A bulk string's length line is at most "-" and 19 digits. */
#define BULK_LINE_MAX 24

static void *refuse(gw_reply_bound_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void *refuse(gw_reply_bound_t *b, const char *fmt, ...)
{
    va_list ap;
    if (b->bad) return NULL;
    b->bad = 1;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof(b->why), fmt, ap);
    va_end(ap);
    return NULL;
}

void gw_reply_bound_error(gw_reply_bound_t *b, int err, const char *errstr)
{
    if (err == REDIS_ERR_PROTOCOL) refuse(b, "unreadable reply (%s)", errstr);
}

/* Every object of a reply passes here; a reply's first (its root) starts the count. */
static int item_ok(gw_reply_bound_t *b, const redisReadTask *t, int type, const char *s, size_t len)
{
    if (b->bad) return 0;
    if (!t->parent) {
        b->rbytes = 0;
        b->relems = 0;
        /* hiredis asserts when nobody waits for a reply that is not an error. */
        if (b->ac && type != REDIS_REPLY_ERROR && !b->ac->replies.head) {
            refuse(b, "reply refused: a reply to no command");
            return 0;
        }
        return 1;
    }
    /* The subscribed connection: hiredis asserts that an array is [string, string, ...] and
     * reads element[2] of an "unsubscribe" unchecked; the gateway never unsubscribes, so only
     * [subscribe|message, channel, x] is let through (x is the client's to check). */
    if (b->pubsub && !t->parent->parent && t->idx < 2) {
        int ok = type == REDIS_REPLY_STRING;
        if (ok && t->idx == 0)
            ok = (len == 9 && strncasecmp(s, "subscribe", 9) == 0) ||
                 (len == 7 && strncasecmp(s, "message", 7) == 0);
        if (!ok) {
            refuse(b, "reply refused: not a pub/sub message");
            return 0;
        }
    }
    return 1;
}

static void *bounded_string(const redisReadTask *t, char *s, size_t len)
{
    gw_reply_bound_t *b = t->privdata;
    if (!item_ok(b, t, t->type, s, len)) return NULL;
    if (len > b->max_bytes - b->rbytes)
        return refuse(b, "reply refused: strings of more than %zu bytes (max_reply_bytes)",
                      b->max_bytes);
    b->rbytes += len;
    return b->hfn->createString(t, s, len);
}

/* Before hiredis callocs the element vector, which is where "*2000000000" cost 16 GB. */
static void *bounded_array(const redisReadTask *t, int n)
{
    gw_reply_bound_t *b = t->privdata;
    if (!item_ok(b, t, REDIS_REPLY_ARRAY, NULL, 0)) return NULL;
    if (n > GW_REDIS_MAX_ELEMENTS - b->relems)
        return refuse(b, "reply refused: an array of %d elements (at most %d in one reply)", n,
                      GW_REDIS_MAX_ELEMENTS);
    if (b->pubsub && !t->parent && n != 3)
        return refuse(b, "reply refused: a pub/sub reply of %d elements", n);
    b->relems += n;
    return b->hfn->createArray(t, n);
}

static void *bounded_integer(const redisReadTask *t, long long v)
{
    gw_reply_bound_t *b = t->privdata;
    return item_ok(b, t, REDIS_REPLY_INTEGER, NULL, 0) ? b->hfn->createInteger(t, v) : NULL;
}

static void *bounded_nil(const redisReadTask *t)
{
    gw_reply_bound_t *b = t->privdata;
    return item_ok(b, t, REDIS_REPLY_NIL, NULL, 0) ? b->hfn->createNil(t) : NULL;
}

static redisReplyObjectFunctions bounded_fns = {bounded_string, bounded_array, bounded_integer,
                                                bounded_nil, freeReplyObject};

void gw_reply_bound_attach(gw_reply_bound_t *b, redisReader *rd, size_t max_bytes, int pubsub,
                           const redisAsyncContext *ac)
{
    memset(b, 0, sizeof(*b));
    b->max_bytes = max_bytes;
    b->pubsub = pubsub;
    b->ac = ac;
    b->hfn = rd->fn;
    rd->fn = &bounded_fns;
    rd->privdata = b;
}

/* hiredis creates a bulk string only once all of it is in its read buffer, and a line once its
 * CRLF is: a hostile length, or a line that never ends, would be buffered without limit. While
 * the reader waits for the rest of an item, every byte it holds unparsed is that item's: refuse
 * a bulk whose length line announces more than the reply has left, and any item that has
 * already buffered more. */
int gw_reply_bound_check(gw_reply_bound_t *b, const redisReader *rd)
{
    if (b->bad || rd->err || rd->ridx < 0 || rd->len <= rd->pos) return b->bad;
    size_t left = b->max_bytes - (rd->ridx > 0 ? b->rbytes : 0); /* a root starts a reply */
    size_t have = rd->len - rd->pos;
    if (rd->rstack[rd->ridx].type == REDIS_REPLY_STRING) { /* past '$', at the length line */
        const char *p = rd->buf + rd->pos;
        size_t n = have < BULK_LINE_MAX ? have : BULK_LINE_MAX, i = 0;
        const char *cr = memchr(p, '\r', n);
        unsigned long long len = 0;
        if (!cr && n == BULK_LINE_MAX) {
            refuse(b, "reply refused: a bulk length line of more than %d bytes", BULK_LINE_MAX);
            return 1;
        }
        while (cr && p + i < cr && p[i] >= '0' && p[i] <= '9' && i < 19) /* "-1": hiredis's */
            len = len * 10 + (unsigned long long)(p[i++] - '0');
        if (cr && i > 0 && p + i == cr && len > left) {
            refuse(b, "reply refused: a bulk string of %llu bytes (max_reply_bytes %zu)", len,
                   b->max_bytes);
            return 1;
        }
    }
    if (have > REPLY_SLACK && have - REPLY_SLACK > left) {
        refuse(b, "reply refused: %zu bytes of one item buffered (max_reply_bytes %zu)", have,
               b->max_bytes);
        return 1;
    }
    return 0;
}
