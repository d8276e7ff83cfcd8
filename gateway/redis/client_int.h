/* Inside the Redis client: the connection, token and client structs that client.c (connections,
 * pub/sub, the object) and command.c (commands, replies, deadlines) share. Private to those. */
#ifndef GW_REDIS_CLIENT_INT_H
#define GW_REDIS_CLIENT_INT_H

#include "gateway/redis/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "common/stat.h"
#include "gateway/redis/loop.h"
#include "gateway/redis/reply.h"
#include "gateway/redis/sentinel.h"
#include "gateway/redis/target.h"
#include "gateway/core/timer.h"

/* The command connection is dropped (and reconnected) when the oldest unanswered command is
 * older than STALL_FACTOR command timeouts (Redis hung, or the path to it broken), or after
 * max_pending commands in a row timed out with none answered in time (a whole pipeline window:
 * a burst that is merely slow to drain never gets there). */
#define STALL_FACTOR 50
/* TCP keepalive: an idle pub/sub connection to a vanished host is noticed in ~25 s. */
#define KEEPALIVE_IDLE_S    10
#define KEEPALIVE_INTVL_S   5
#define KEEPALIVE_CNT       3
#define BAD_LOG_INTERVAL_US (10 * 1000000ull) /* at most one "bad reply" line per client */

enum { CS_WAIT, CS_CONNECTING, CS_UP };

#define REDIS_KEEPALIVE_MS 30000 /* default of gw_redis_opts_t.keepalive_ms */

/* One hiredis connection and its lifecycle: connect, handshake, up, lost, backoff, again.
 * Invariant: ac is non-NULL exactly while hiredis owns a live context for us; it is NULLed in
 * the callbacks after which hiredis frees the context, and before we free it ourselves. */
typedef struct rconn {
    gw_redis_t *r;
    redisAsyncContext *ac;
    struct event *timer; /* connect deadline, backoff delay, or deferred drop */
    int state;
    int is_sub;
    int closing; /* hiredis is tearing ac down, or a drop is requested: refuse */
    int drop;    /* drop requested from inside a hiredis callback */
    int ever_up, logged_down;
    uint32_t backoff_ms;
    char why[160];       /* reason of the requested drop */
    gw_reply_bound_t rb; /* on ac's reader; rb.bad: a reply was refused, rb.why says why */
    int told;            /* the command that reply answered heard of it */
    int suspect;         /* dropped for a bad reply: backoff not reset until a good one */
    int wait_dns;        /* waiting for the host name's first answer (no timer armed) */
    char addr[64];       /* the address it connects to, "a:port" */
} rconn_t;

/* One command in flight: hiredis's privdata. Freed only by the hiredis callback (which always
 * comes, with NULL on teardown); a timeout marks it delivered so the user hears once. cb is NULL
 * for gw_redis_send. */
typedef struct tok {
    struct tok *prev, *next;
    gw_redis_t *r;
    gw_redis_cb cb;
    gw_redis_array_cb acb; /* instead of cb, for array replies */
    void *arg;
    uint64_t start_us;
    int delivered;
} tok_t;

/* Counters the metrics scrape reads from another thread (see common/stat.h). */
typedef struct rstats {
    gw_stat_t commands, errors, timeouts, refused, reconnects, disconnects, bad_replies;
    gw_stat_t latency_us_sum, latency_count;
} rstats_t;

struct gw_redis {
    struct event_base *base;
    gw_redis_opts_t o;
    char name[300]; /* host:port for the logs */
    rconn_t cmd, sub;
    /* Command connection: tokens in issue order (replies come back in that order). With one
     * fixed timeout, deadlines are monotonic, so the delivered (timed out) tokens are a prefix;
     * live is the first undelivered one and one timer is armed for its deadline. */
    tok_t *head, *tail, *live;
    struct event *deadline;
    struct event *keepalive; /* PING an idle command connection before Redis's `timeout` */
    uint64_t last_cmd_us;
    uint32_t npending; /* tokens hiredis still holds */
    uint32_t consec_timeouts;
    char *channel;
    gw_redis_message_cb on_message;
    gw_redis_resync_cb on_resync;
    int resync_pending; /* a connection came up since the last on_resync */
    void *sub_arg;
    uint64_t rng;
    uint64_t bad_logged_us; /* last bad reply logged */
    uint32_t bad_unlogged;  /* bad replies since, not logged */
    rstats_t st;
    gw_stat_t up_cmd, up_sub; /* conn_ready() of each connection, for readers on any thread */
    gw_sentinel_t *sentinel;  /* where the master is, when o.nsentinels > 0 */
    gw_dns_name_t *dname;     /* o.host kept resolved (a literal never is), without Sentinel */
};

/* client.c */
int redis_conn_ready(const rconn_t *c);
/* Drops a connection from outside hiredis's callbacks (users hear GW_REDIS_DOWN). */
void redis_conn_drop(rconn_t *c, const char *why);
void redis_timer_in(struct event *ev, uint64_t us);

/* command.c: r->deadline's callback (the oldest command's deadline). */
void redis_on_deadline(evutil_socket_t fd, short what, void *arg);

#endif
