/* The cache for gRPC reads (gateway/grpc/): entries in the same in-process tier as REST
 * answers, keyed on the RPC, its canonical request message and the credential's scope, and on the
 * SAME per-collection generations, so a REST write makes cached gRPC reads unreachable and a gRPC
 * write (gw_cache_rpc_write) bumps the generations REST reads are keyed on, here and, through
 * Redis, on the other replicas. Identical concurrent misses share one upstream call (REST's
 * flights), and an expired entry may answer a read Qdrant fails (cache.stale_if_error). Worker
 * thread only. */
#ifndef GW_CACHE_RPC_H
#define GW_CACHE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "gateway/cache/cache.h"
#include "gateway/cache/generations.h"
#include "gateway/cache/l1.h"
#include "gateway/http/request.h"

#define GW_RPC_DEPS_MAX 2 /* the message's collection, and the collection it is an alias of */

typedef struct gw_rpc_key {
    unsigned char key[GW_DIGEST_LEN];  /* L1: base and the generations */
    unsigned char base[GW_DIGEST_LEN]; /* the read without generations: its Redis (L2) key */
    int cls; /* the cache class (search or points) whose TTL the entry gets */
    size_t ndeps;
    char deps[GW_RPC_DEPS_MAX][GW_NAME_MAX]; /* the names whose generations key it */
} gw_rpc_key_t;

/* The key of r's read (r->grpc_method, its collection in r->route.collection, r->authz) with
 * canonical message canon[0..len): 0, or -1 with *why when the read is not cached now (class
 * off, alias list not loaded, a write barrier pending on the collection, name too long). */
int gw_cache_rpc_key(gw_cache_t *c, const gw_req_t *r, const void *canon, size_t len,
                     gw_rpc_key_t *k, const char **why);
/* A coalesced read's place in its flight (the same flights as REST's misses, flight.c). */
typedef struct gw_rpc_flight gw_rpc_flight_t;
/* A wait ended, on the waiter's own worker. e: an answer with a reference for the callee — the
 * leader's OK answer (counted as coalesced) or, for a leader that asked Redis, the L2 entry
 * (counted as an L2 hit). NULL: go to Qdrant (counted as a miss): alone when fl is NULL (the
 * leader had no answer to share: it failed, or its answer was not OK or too big to keep), or
 * as the flight's leader when fl is not (Redis had no entry): gw_cache_rpc_land(fl) follows.
 * The wait's own handle is gone once this runs. */
typedef void (*gw_rpc_wait_cb)(void *arg, gw_centry_t *e, gw_rpc_flight_t *fl);

typedef enum {
    GW_RPC_HIT,   /* hit: a fresh entry (counted as an L1 hit) */
    GW_RPC_LEAD,  /* a miss that leads its flight: forward, then gw_cache_rpc_land once */
    GW_RPC_WAIT,  /* an identical read is in flight, or Redis is asked: cb follows (or
                   * gw_cache_rpc_leave) */
    GW_RPC_ALONE, /* a miss without a flight (out of memory): forward, store with _put */
    GW_RPC_FIRST, /* the first use of this read (cache.min_uses: 2): forward, store nothing */
} gw_rpc_found_t;

typedef struct gw_rpc_lookup {
    gw_centry_t *hit;    /* GW_RPC_HIT: the entry, a reference for the caller */
    gw_centry_t *stale;  /* otherwise: an entry expired less than cache.stale_if_error ago (a
                          * reference for the caller), to answer when Qdrant fails; or NULL */
    gw_rpc_flight_t *fl; /* GW_RPC_LEAD, GW_RPC_WAIT */
} gw_rpc_lookup_t;

/* Looks k up in L1, then joins or leads a flight of identical reads in progress on any worker;
 * a leader asks Redis (cache.redis.url) first, as REST's misses do. cb(arg, ...) runs later on
 * this worker's loop, never from inside this call. */
gw_rpc_found_t gw_cache_rpc_lookup(gw_cache_t *c, const gw_rpc_key_t *k, gw_rpc_wait_cb cb,
                                   void *arg, gw_rpc_lookup_t *out);
/* The leader's exchange ended: body[0..len) is its complete OK answer (stored as _put does, in
 * Redis too, and handed to every waiter), or body NULL: the waiters go on alone. Frees fl. */
void gw_cache_rpc_land(gw_cache_t *c, gw_rpc_flight_t *fl, const void *body, size_t len);
/* A waiter's client left before its cb ran: takes it out of the flight, or leaves a Redis
 * lookup to finish without it (no cb follows). */
void gw_cache_rpc_leave(gw_cache_t *c, gw_rpc_flight_t *fl);
/* Stores a complete OK answer: its DATA bytes (length-prefixed messages), fresh for the
 * class's TTL and kept cache.stale_if_error longer for stale answers. Too big
 * (cache.max_entry_bytes), out of memory, or a write barrier pending on its collection (as for
 * REST): not stored. */
void gw_cache_rpc_put(gw_cache_t *c, const gw_rpc_key_t *k, const void *body, size_t len);
/* An expired entry was answered because Qdrant failed (counted with REST's stale answers). */
void gw_cache_rpc_stale_served(gw_cache_t *c);
/* A gRPC write of collection `name` (NULL or "*": of everything) was answered, or may have been
 * applied: bump as a REST write does; wait_default_false (point writes, which Qdrant may
 * acknowledge before applying): once more after cache.async_write_settle. */
void gw_cache_rpc_write(gw_cache_t *c, const char *name, int wait_default_false);
/* A read bypassed the cache (counted with REST's). */
void gw_cache_rpc_bypass(gw_cache_t *c);

#endif
