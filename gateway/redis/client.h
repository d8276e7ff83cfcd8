/* Per-worker, fail-open async Redis client (hiredis 0.14.1 on the worker's libevent loop): one
 * command connection with per-command deadlines, one optional pub/sub connection, reconnects. */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "common/redis_url.h"

/* Bounded replies. hiredis 0.14.1 trusts every length a reply announces (`*2000000000` is a
 * 16 GB element vector before one element arrives, `$300000000` is buffered until it is all
 * in), so the client refuses, on both connections, what it never asks for:
 *  - more than GW_REDIS_MAX_ELEMENTS array elements in one reply, nested arrays counted (the
 *    largest command the gateway sends is L2's MGET of GW_DEPS_MAX + 2 = 18 keys; pub/sub
 *    replies have 3 elements);
 *  - strings adding up to more than max_reply_bytes in one reply, refused as soon as a bulk
 *    string's length line says so, or once that much of a reply is buffered, never after;
 *  - a reply on the command connection when no command waits for one (hiredis asserts), and
 *    on the subscribed connection any array but [subscribe|message, channel, x] (hiredis asserts
 *    on the shape of those);
 * and what hiredis cannot parse (RESP3 types, bad lengths, garbage). Such a reply drops the
 * connection: the command it answered hears GW_REDIS_ERROR (data: why), the others in flight
 * GW_REDIS_DOWN; it is logged (warn, at most every 10 s per client) and counted (bad_replies);
 * the client reconnects, and the backoff keeps growing until a reply on the new connection is
 * good, so a Redis that does it again is retried at most every backoff_max_ms. */
#define GW_REDIS_MAX_ELEMENTS      64
#define GW_REDIS_MAX_REPLY_DEFAULT ((size_t)4 << 20) /* gw_redis_opts_t.max_reply_bytes = 0 */

struct event_base;
typedef struct gw_redis gw_redis_t;

/* Starts connecting at once (non-blocking); never fails because Redis is down. NULL with err
 * filled on invalid options or out of memory. */
gw_redis_t *gw_redis_new(struct event_base *base, const gw_redis_opts_t *o, char *err,
                         size_t errlen);
/* Closes both connections. Every outstanding command's callback runs once, right here, with
 * GW_REDIS_DOWN. Must not be called from inside one of this client's callbacks. NULL is a no-op. */
void gw_redis_free(gw_redis_t *r);
/* The command connection is connected, authenticated and ready. */
int gw_redis_up(const gw_redis_t *r);

typedef enum {
    GW_REDIS_OK,      /* data/len for string and status replies, integer for integer replies and
                       * the element count of array replies (whose elements are not passed) */
    GW_REDIS_NIL,     /* nil reply (GET of a missing key) */
    GW_REDIS_TIMEOUT, /* no reply within command_timeout_ms; the late reply is dropped */
    GW_REDIS_DOWN,    /* connection lost (or client freed) before the reply */
    GW_REDIS_ERROR    /* Redis answered with an error, or with a reply that was refused (see
                       * above); data/len is its text */
} gw_redis_status_t;

/* data is only valid during the call (copy what you keep); it is NULL when there is none. */
typedef void (*gw_redis_cb)(void *arg, gw_redis_status_t st, const char *data, size_t len,
                            long long integer);

/* Sends one command, argv-style and binary-safe (argvlen NULL: strlen of each). 0: queued, cb
 * runs exactly once, later, on this thread (never from inside this call). -1: refused at once
 * (down, connecting, max_pending reached), cb is not called. cb NULL: as gw_redis_send.
 * Callable from inside any callback of this client. */
int gw_redis_command(gw_redis_t *r, gw_redis_cb cb, void *arg, int argc, const char **argv,
                     const size_t *argvlen);
/* One element of an array reply (MGET): GW_REDIS_OK with data/len for strings (integer elements
 * as data NULL), GW_REDIS_NIL for missing keys. Only valid during the callback. */
typedef struct gw_redis_elem {
    gw_redis_status_t st;
    const char *data;
    size_t len;
} gw_redis_elem_t;
/* st GW_REDIS_OK with the n elements of an array reply; any other status with n == 0 (a reply
 * that is not an array counts as GW_REDIS_ERROR). */
typedef void (*gw_redis_array_cb)(void *arg, gw_redis_status_t st, const gw_redis_elem_t *el,
                                  size_t n);
/* gw_redis_command for commands answered with an array (MGET): same rules, cb not NULL. */
int gw_redis_command_array(gw_redis_t *r, gw_redis_array_cb cb, void *arg, int argc,
                           const char **argv, const size_t *argvlen);

/* Fire and forget (SET ... EX, PUBLISH): gw_redis_command with no callback. Failures are only
 * counted; it counts toward max_pending and has the same deadline as any command. */
int gw_redis_send(gw_redis_t *r, int argc, const char **argv, const size_t *argvlen);

typedef void (*gw_redis_message_cb)(void *arg, const char *msg, size_t len);
typedef void (*gw_redis_resync_cb)(void *arg);
/* Subscribes to one channel on a second connection owned by r (one subscription per client),
 * resubscribing by itself after reconnects. on_message runs for each message. Messages published
 * while the subscription is down are lost, so on_resync (may be NULL) runs whenever both
 * connections are up again after either was down (the first subscription included): refetch
 * what the messages carry then; commands issued from it are accepted (barring max_pending).
 * 0, or -1 if already subscribed or out of memory. */
int gw_redis_subscribe(gw_redis_t *r, const char *channel, gw_redis_message_cb on_message,
                       gw_redis_resync_cb on_resync, void *arg);

/* Counters since gw_redis_new, for the command connection. Safe to call from any thread (the
 * metrics scrape does); only the owning thread changes them. */
typedef struct gw_redis_stats {
    uint64_t commands;       /* accepted by gw_redis_command / gw_redis_send */
    uint64_t errors;         /* accepted commands that ended in GW_REDIS_ERROR or GW_REDIS_DOWN */
    uint64_t timeouts;       /* accepted commands not answered within the deadline */
    uint64_t refused;        /* calls that returned -1 */
    uint64_t reconnects;     /* times the connection came up again after being down */
    uint64_t disconnects;    /* times an up connection was lost or dropped (stalled Redis) */
    uint64_t bad_replies;    /* either connection dropped for a refused or unreadable reply */
    uint64_t latency_us_sum; /* over replies received in time */
    uint64_t latency_count;
    int up;     /* gw_redis_up() */
    int sub_up; /* subscribed (0 when gw_redis_subscribe was never called) */
    /* Under Sentinel (sentinel = 1): times the master's address changed (the first included),
     * Sentinels asked, those that gave no usable answer, listening for +switch-master. */
    int sentinel;
    uint64_t sentinel_switches, sentinel_queries, sentinel_failures;
    int sentinel_subscribed;
} gw_redis_stats_t;
void gw_redis_get_stats(const gw_redis_t *r, gw_redis_stats_t *out);
/* The host name's current addresses ("a:port,b:port"; "" before the first answer, and under
 * Sentinel) and its last resolution's error ("" when it succeeded). Loop thread only. */
void gw_redis_address(const gw_redis_t *r, char *buf, size_t len, const char **dns_error);
/* Under Sentinel: 1 with the master's address as Sentinel named it last ("host:port",
 * "[v6]:port"), 0 when none is known yet, -1 when r is not under Sentinel. Owning thread only. */
int gw_redis_sentinel_master(const gw_redis_t *r, char *buf, size_t len);

#endif
