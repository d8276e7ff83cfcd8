/* Shared by cache.c (request flow), flight.c (coalescing), l2.c (Redis tier) and inval.c.
 * Not part of any public API. */
#ifndef GW_CACHE_INTERNAL_H
#define GW_CACHE_INTERNAL_H

#include <event2/buffer.h>
#include <pthread.h>

#include "common/backoff.h"
#include "common/stat.h"
#include "gateway/cache/cache.h"
#include "gateway/cache/key.h"
#include "gateway/cache/memo.h"
#include "gateway/cache/l1.h"
#include "gateway/cache/l2filter.h"
#include "gateway/cache/l2gens.h"
#include "gateway/cache/generations.h"
#include "gateway/cache/status.h"
#include "gateway/redis/client.h"
#include "gateway/core/loop.h"

typedef struct gw_flights gw_flights_t;
typedef struct creq creq_t;
struct gw_rpc_flight; /* rpc.h: a gRPC read's flight handle (a creq_t) */
typedef struct settle settle_t;
typedef struct barrier barrier_t;
typedef struct gw_unsettled gw_unsettled_t;
typedef void (*cache_post_cb)(creq_t *cr);                    /* hand a waiter back (any thread) */
typedef void (*cache_l2_done_cb)(creq_t *cr, gw_centry_t *e); /* lookup ended; e NULL = miss */
typedef void (*cache_creq_end_cb)(creq_t *cr);                /* a write's context is done */

typedef struct cache_counters {
    gw_stat_t l1_hits, l2_hits, l2_misses, misses, stale, bypass, coalesced, stores_l1, stores_l2;
    gw_stat_t l2_skipped; /* misses that did not ask Redis (l2filter) */
    gw_stat_t first_uses; /* misses not looked up or stored: first seen (cache.min_uses) */
    gw_stat_t invalidations, purges, alias_failures, barriers_ok, barriers_failed;
} cache_counters_t;

struct gw_cache_shared {
    const gw_config_t *cfg;
    gw_l1_t *l1;
    gw_names_t *names;
    gw_flights_t *flights;
    gw_redis_opts_t redis_opts;
    int redis_on;
    char instance[17]; /* this process in invalidation messages and L2 entries, hex */
    uint64_t ttl_us[GW_CCLASS_COUNT];
    int class_on[GW_CCLASS_COUNT];
    int nworkers;
    gw_cache_t **workers; /* each worker's side, set before the threads start (for the scrape) */
    gw_cache_status_t *status; /* caching or not, and why */
    gw_unsettled_t *unsettled; /* collections with a write barrier pending (barrier.c) */
    gw_l2filter_t *l2filter;   /* L2 keys stored lately (NULL: cache.redis.lookup_filter off) */
    gw_l2gens_t *l2gens;       /* Redis generations as last read (with l2filter) */
    gw_l2filter_t *seen;       /* fingerprints of reads seen lately (cache.min_uses 2, or NULL) */
    int lent; /* l1, names, status and unsettled went to the next configuration's cache */
};

struct gw_cache {
    gw_loop_t *loop;
    gw_proxy_t *proxy; /* where misses and writes go */
    gw_cache_shared_t *sh;
    const gw_config_t *cfg;
    gw_redis_t *redis; /* NULL without cache.redis.url */
    /* Coalesced waiters handed back to this worker by a leader on any worker. */
    pthread_mutex_t mail_lock;
    creq_t *mail;
    struct event *alias_ev;
    int alias_fetching;
    uint64_t alias_epoch;       /* gw_names_alias_epoch when the fetch under way started */
    gw_backoff_t alias_backoff; /* retries after failed fetches */
    settle_t *settles;
    barrier_t *barriers;  /* this worker's write barriers in flight */
    gw_ckey_memo_t *memo; /* raw request bytes -> key, so repeats skip the JSON work */
    /* Finished request contexts kept for reuse (4.5 KB each: past malloc's per-thread cache,
     * and calloc zeroed all of it per request). Touched only by this worker. */
    creq_t *spare;
    unsigned nspare;
    int closing;                 /* gw_cache_free under way: contexts are freed, not kept */
    cache_l2_done_cb l2_done;    /* given to l2_connect */
    cache_creq_end_cb inval_end; /* given to inval_init */
    cache_counters_t st;
};

/* Where a waiter stands; changed only under its flight shard's lock. */
enum { CR_ALONE = 0, CR_WAITING, CR_POSTED };

/* One cached or invalidating request, from dispatch to its end. */
struct creq {
    gw_cache_t *c;
    gw_req_t *r;             /* NULL once the client is gone */
    int cls;                 /* gw_cclass_t, or -1 for writes and bypasses */
    unsigned route_flags;    /* a write's gw_route_t.flags (r may be gone when it ends) */
    int wait_true;           /* a write sent with ?wait=true */
    unsigned cc;             /* GW_CC_* from the request */
    unsigned gone : 1;       /* the client went away while we still wait on something */
    unsigned leader : 1;     /* owns a flight others may wait on */
    unsigned l2_known : 1;   /* l2gens hold Redis's current generations: may store to L2 */
    unsigned capturing : 1;  /* copying the upstream answer */
    unsigned write_seen : 1; /* a write's outcome has been acted on */
    unsigned encoded : 1;    /* the answer has a Content-Encoding: its bytes are not JSON */
    const char *xcache;      /* X-Cache value for a forwarded answer */
    int pending;             /* Redis replies still due */
    gw_ckey_t key;
    uint64_t gens[GW_DEPS_MAX], global;
    unsigned char l1key[GW_DIGEST_LEN];
    uint64_t l2gens[GW_DEPS_MAX + 1]; /* [0] global, then key.deps order */
    int l2_bad;                       /* a lookup reply failed: treat as a miss, do not store */
    gw_centry_t *stale;               /* expired copy for stale-if-error */
    gw_centry_t *found;               /* L2 or flight result */
    int status;
    struct evbuffer *cap_hdrs, *cap_body;
    /* coalescing */
    int wstate;
    struct creq *wnext;
    void *flight;
    /* a gRPC read's flight (rpc.c): the waiter's callback, NULL for REST's requests */
    void (*rpc_cb)(void *arg, gw_centry_t *e, struct gw_rpc_flight *fl);
    void *rpc_arg;
};

/* cache.c: request contexts (r may be NULL: a gRPC read's flight handle) */
creq_t *creq_new(gw_cache_t *c, gw_req_t *r, int cls);
void creq_free(creq_t *cr);
/* An L2 lookup ended (e: a reference, or NULL) for a request whose client left meanwhile: e goes
 * to the flight's waiters and cr is freed (1); 0 when the client is still there. */
int creq_l2_gone(creq_t *cr, gw_centry_t *e);

/* rpc.c: a gRPC waiter came home with its leader's answer (e, a reference, or NULL); a gRPC
 * leader's Redis lookup ended (e: the entry, a reference, or NULL: a miss). */
void rpc_waiter_home(creq_t *cr, gw_centry_t *e);
void rpc_l2_done(creq_t *cr, gw_centry_t *e);

/* cache.c: the request flow. flight.c, l2.c and inval.c do not call into it: each is handed
 * the callbacks it completes with when it is created. */

/* inval.c: writes, delayed re-invalidation, alias list, purge */
/* end(cr) runs once a forwarded write's context is finished with. */
int inval_init(gw_cache_t *c, cache_creq_end_cb end);
void inval_free(gw_cache_t *c);
void inval_dispatch_write(gw_cache_t *c, gw_req_t *r);
/* Another replica invalidated `name` ("*" = everything), or we may have missed some: local only. */
void inval_remote(gw_cache_t *c, const char *name);
/* Bumps `name` ("*": everything) here and in Redis; writes the names bumped to out (NULL: not
 * wanted) and returns how many (0 for "*" or a name that could not be tracked). */
size_t inval_bump(gw_cache_t *c, const char *name, char out[2][GW_NAME_MAX]);
/* Bumps `name` again after cache.async_write_settle (the fallback when no barrier can tell
 * when a wait=false write is applied). */
void inval_settle_later(gw_cache_t *c, const char *name);

/* barrier.c: when Qdrant has applied a wait=false write */
gw_unsettled_t *unsettled_new(void);
void unsettled_free(gw_unsettled_t *u);
/* Any thread: 1 when a read depending on d must not be stored (a barrier on one of its names
 * is pending). */
int unsettled_any(gw_unsettled_t *u, const gw_deps_t *d);
/* After a wait=false write to `name` (which bumped the nbumped names in bumped): a wait=true
 * no-op update follows it to Qdrant; when it is answered, `name` is bumped again. r, for the
 * write's credentials, may be NULL. */
void barrier_after_write(gw_cache_t *c, const char *name, const char bumped[][GW_NAME_MAX],
                         size_t nbumped, const gw_req_t *r);
void barriers_free(gw_cache_t *c);

/* flight.c */
/* post(waiter) runs, under the flight's lock, for each waiter a landing leader releases. */
gw_flights_t *flights_new(cache_post_cb post);
void flights_free(gw_flights_t *f);
/* 1: cr waits (it will be posted with the leader's answer); 0: cr leads. */
int flight_join(gw_flights_t *f, creq_t *cr);
/* The leader is done: every waiter is posted with e (NULL: each goes on alone). */
void flight_land(gw_flights_t *f, creq_t *leader, gw_centry_t *e);
/* A waiter's client left: 1 if it was taken out (free it), 0 if already posted. */
int flight_leave(gw_flights_t *f, creq_t *cr);

/* l2.c */
/* done(cr, entry) ends every lookup l2_lookup started. */
gw_redis_t *l2_connect(gw_cache_t *c, int subscribe, cache_l2_done_cb done);
/* Starts the Redis lookup; 0 (the done callback follows) or -1 (not possible now). */
int l2_lookup(creq_t *cr);
/* A miss nobody stored lately (l2filter) whose generations are all known (l2gens): fills
 * cr->l2gens so the answer can be stored, and returns 1; 0 when Redis must be asked. */
int l2_skippable(creq_t *cr);
void l2_store(creq_t *cr, const gw_centry_t *e);
/* Bumps `name` ("*" = everything) in Redis and tells the other replicas. */
void l2_invalidate(gw_cache_t *c, const char *name);

#endif
