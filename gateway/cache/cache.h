/* The search cache: answers repeated Qdrant reads from memory (L1, in-process, shared by the
 * workers) or from Redis (L2, shared by gateway replicas), and invalidates by generation when a
 * write passes through. See "Cache semantics" in docs and README for the exact rules. */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <stdint.h>

#include "gateway/cache/status.h"
#include "gateway/core/config.h"
#include "gateway/core/loop.h"
#include "gateway/http/request.h"
#include "gateway/redis/client.h"
#include "gateway/upstream/proxy.h"

typedef struct gw_cache_shared gw_cache_shared_t; /* process-wide: L1, generations, flights */
typedef struct gw_cache gw_cache_t;               /* per worker: Redis, mailbox, timers, stats */

/* For nworkers worker loops. NULL with err filled on bad settings (cache.redis.url) or out of
 * memory. */
gw_cache_shared_t *gw_cache_shared_new(const gw_config_t *cfg, int nworkers, char *err,
                                       size_t errlen);
void gw_cache_shared_free(gw_cache_shared_t *s);
/* A reload: s (just made for the new configuration) takes over prev's in-process tier, alias and
 * generation tables, write barriers and status when nothing that shapes their content changed
 * (cache.local.max_bytes, cache.share_across_keys, upstream.url), so entries survive and a
 * write through either configuration invalidates both; prev's workers keep using them until
 * they finish, and prev must be freed before s. Returns 1 taken over, 0 s starts empty. */
int gw_cache_shared_inherit(gw_cache_shared_t *s, gw_cache_shared_t *prev);
/* Undoes gw_cache_shared_inherit for a configuration that never served (its reload failed):
 * prev owns its tier again and freeing s leaves it alone. */
void gw_cache_shared_giveback(gw_cache_shared_t *s, gw_cache_shared_t *prev);
/* Any thread: the collection alias `name` points to, as far as the cache's alias map knows
 * (reloaded every cache.alias_refresh): 1 with it in out, else 0. */
int gw_cache_alias_target(gw_cache_shared_t *s, const char *name, char *out, size_t cap);

/* For the worker loop `loop` (its id picks its slot in s), before the threads start; misses
 * and writes go through `proxy`. Registers for GW_WAKE_CACHE_MAIL on the loop. NULL with err
 * filled. */
gw_cache_t *gw_cache_new(gw_loop_t *loop, gw_cache_shared_t *s, gw_proxy_t *proxy, char *err,
                         size_t errlen);
/* Before the worker's proxy and loop are freed. */
void gw_cache_free(gw_cache_t *c);

/* Takes the handler side of a request bound for Qdrant: cacheable reads are answered from the
 * cache or forwarded and stored, writes are forwarded and invalidate what they change,
 * everything else is forwarded untouched. */
void gw_cache_dispatch(gw_cache_t *c, gw_req_t *r);

/* On the worker's thread, when gw_loop_wake(GW_WAKE_CACHE_MAIL) ran: requests that waited
 * on another worker's fetch come home with its answer. */
void gw_cache_mail_arrived(gw_cache_t *c);

/* POST /api/v1/cache/purge: takes the handler side of r. */
void gw_cache_purge_handle(gw_cache_t *c, gw_req_t *r);

/* Per-worker counters, readable from any thread (summed across workers at scrape time).
 * Every cacheable read ends as exactly one of l1_hits, coalesced (answered by another
 * request's fetch), l2_hits, misses (went to Qdrant) or bypass; stale counts misses whose
 * Qdrant failure was answered with an expired entry. */
typedef struct gw_cache_stats {
    uint64_t l1_hits, l2_hits, l2_misses, misses, stale, bypass, coalesced, stores_l1, stores_l2;
    uint64_t l2_skipped; /* misses that went to Qdrant without asking Redis */
    uint64_t first_uses; /* misses sent on without lookup or store (cache.min_uses: 2) */
    uint64_t invalidations, purges;
    uint64_t alias_failures;               /* GET /aliases that failed */
    uint64_t barriers_ok, barriers_failed; /* write barriers answered / that fell back to a timer */
} gw_cache_stats_t;
/* The counters of every worker's cache, summed. Any thread. */
void gw_cache_sum_stats(const gw_cache_shared_t *sh, gw_cache_stats_t *out);

struct gw_l1_stats;
/* Entries, bytes and evictions of the in-process tier. */
void gw_cache_get_l1_stats(const gw_cache_shared_t *sh, struct gw_l1_stats *out);

/* Whether the cache is caching and why not (status.h). Any thread. */
void gw_cache_get_status(const gw_cache_shared_t *sh, gw_cache_status_view_t *out);

/* This worker's Redis client, or NULL without cache.redis.url. */
gw_redis_t *gw_cache_redis(const gw_cache_t *c);
/* Every worker's Redis client counters, summed (up: any is up); 0 when none has a client. */
int gw_cache_sum_redis_stats(const gw_cache_shared_t *sh, gw_redis_stats_t *sum);

#endif
