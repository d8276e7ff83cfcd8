/* What a worker's handlers work with: its loop, its upstream pool and cache side, and the
 * process-wide parts (every loop's counters, the shared cache, the scrape cache). Filled once by
 * the worker (gateway/worker.c) and read-only afterwards. */
#ifndef GW_HANDLER_ENV_H
#define GW_HANDLER_ENV_H

#include "gateway/core/loop.h"
#include "gateway/core/proc.h"

typedef struct gw_proxy gw_proxy_t;
typedef struct gw_cache gw_cache_t;
typedef struct gw_cache_shared gw_cache_shared_t;
typedef struct gw_metrics_shared gw_metrics_shared_t;
struct gw_models_memo;
struct gw_auth;

typedef struct gw_handler_env {
    const gw_proc_t *proc;
    gw_loop_t *loop;
    gw_proxy_t *proxy;
    gw_cache_t *cache;                  /* this worker's side; NULL when the cache is off */
    gw_cache_shared_t *cache_shared;    /* NULL when the cache is off */
    gw_metrics_shared_t *metrics;       /* NULL when metrics.enabled is false */
    struct gw_models_memo *models_memo; /* model-API answers, made on first use */
    struct gw_auth *auth;               /* access control (auth.*), NULL when off */
} gw_handler_env_t;

#endif
