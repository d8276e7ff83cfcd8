/* The cache for gRPC reads (gateway/grpc/): entries in the same in-process tier as REST
 * answers, keyed on the RPC, its canonical request message and the credential's scope, and on the
 * SAME per-collection generations, so a REST write makes cached gRPC reads unreachable and a gRPC
 * write (gw_cache_rpc_write) bumps the generations REST reads are keyed on, here and, through
 * Redis, on the other replicas. Worker thread only. */
#ifndef GW_CACHE_RPC_H
#define GW_CACHE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "gateway/cache/cache.h"
#include "gateway/cache/l1.h"
#include "gateway/http/request.h"

typedef struct gw_rpc_key {
    unsigned char key[GW_DIGEST_LEN];
    int cls; /* the cache class (search or points) whose TTL the entry gets */
} gw_rpc_key_t;

/* The key of r's read (r->grpc_method, its collection in r->route.collection, r->authz) with
 * canonical message canon[0..len): 0, or -1 with *why when the read is not cached now (class
 * off, alias list not loaded, a write barrier pending on the collection, name too long). */
int gw_cache_rpc_key(gw_cache_t *c, const gw_req_t *r, const void *canon, size_t len,
                     gw_rpc_key_t *k, const char **why);
/* A fresh entry under k with a reference for the caller (counted as an L1 hit), or NULL (a
 * miss, counted). */
gw_centry_t *gw_cache_rpc_get(gw_cache_t *c, const gw_rpc_key_t *k);
/* Stores a complete OK answer: its DATA bytes (length-prefixed messages). Too big
 * (cache.max_entry_bytes) or out of memory: not stored. */
void gw_cache_rpc_put(gw_cache_t *c, const gw_rpc_key_t *k, const void *body, size_t len);
/* A gRPC write of collection `name` (NULL or "*": of everything) was answered, or may have been
 * applied: bump as a REST write does; wait_default_false (point writes, which Qdrant may
 * acknowledge before applying): once more after cache.async_write_settle. */
void gw_cache_rpc_write(gw_cache_t *c, const char *name, int wait_default_false);
/* A read bypassed the cache (counted with REST's). */
void gw_cache_rpc_bypass(gw_cache_t *c);

#endif
