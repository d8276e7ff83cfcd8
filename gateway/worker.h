/* The top of the program: the process-wide state main() builds, and a worker thread, which owns
 * one event loop with its listeners, upstream pool, cache side, health prober and the dispatch
 * table its codecs hand requests to. Nothing below gateway/ includes this header: lower layers
 * see only their own parts (gw_loop_t, gw_proc_t, gw_handler_env_t). */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "gateway/core/config.h"
#include "gateway/core/loop.h"
#include "gateway/core/proc.h"
#include "gateway/grpc/forward.h"
#include "gateway/handler/env.h"
#include "gateway/http/dispatch.h"
#include "gateway/upstream/resolve.h"

typedef struct gw_tls gw_tls_t;
typedef struct gw_listener gw_listener_t;
typedef struct gw_health gw_health_t;

/* Built by main() before any worker starts; read-only once they run (except the atomics). */
typedef struct gw_shared {
    gw_proc_t proc;                 /* configuration, start times, every loop */
    gw_upstream_targets_t upstream; /* upstream.urls (or .url), parsed (each pool resolves) */
    gw_cache_shared_t *cache;       /* NULL when cache.enabled is false */
    gw_metrics_shared_t *metrics;   /* scrape cache for Qdrant's /metrics; NULL when disabled */
    gw_tls_t *tls;                  /* the TLS context when tls.listen is set, else NULL */
    struct gw_auth *auth;           /* access control when configured (auth.*), else NULL */
} gw_shared_t;

typedef struct gw_worker {
    gw_loop_t loop; /* first: the codecs and handlers below see only this */
    pthread_t thread;
    int thread_started;
    atomic_int finished; /* the thread's loop returned: joining will not wait */
    gw_shared_t *shared;
    gw_listener_t *listener;
    gw_listener_t *tls_listener;  /* NULL unless tls.listen is set */
    gw_listener_t *grpc_listener; /* NULL unless server.grpc_listen is set */
    struct gw_grpc_pool *grpc;    /* the gRPC client towards upstream.grpc_url */
    gw_grpc_env_t grpc_env;       /* what the gRPC handler works with */
    gw_health_t *health;
    gw_handler_env_t env; /* what this worker's handlers work with */
    gw_dispatch_t dispatch;
} gw_worker_t;

/* Fills sh->proc and sh->upstream for cfg with nworkers loops (sh->proc.loops allocated, filled
 * by gw_worker_init) and the process's life; cache, metrics and tls stay NULL. 0 / -1 on out of
 * memory or an upstream.url(s) that does not parse. */
int gw_shared_init(gw_shared_t *sh, const gw_config_t *cfg, gw_life_t *life);
void gw_shared_dispose(gw_shared_t *sh);

/* Creates the loop, binds the listeners (server.listen, and tls.listen when shared->tls), the
 * upstream pool, cache side and handlers on the calling thread, so that errors (port in use)
 * surface before any thread starts. prev: the worker of the same number in the configuration
 * this one replaces (a reload), or NULL; its listeners on unchanged addresses are taken over
 * rather than bound again, so no queued connection is lost. 0 / -1 with err filled. */
int gw_worker_init(gw_worker_t *w, gw_shared_t *shared, int id, const gw_worker_t *prev, char *err,
                   size_t errlen);
int gw_worker_start(gw_worker_t *w);
/* Thread-safe: ask the worker to stop accepting, finish in-flight requests, and exit its loop
 * (forced after server.shutdown_timeout). */
void gw_worker_stop(gw_worker_t *w);
/* Thread-safe: a reload replaced this worker. It closes its listeners at once and serves its
 * open connections on its configuration for up to server.shutdown_timeout, then drains as
 * gw_worker_stop does; `finished` is set when its loop has returned. */
void gw_worker_retire(gw_worker_t *w);
/* Joins the thread (if started) and frees everything. */
void gw_worker_dispose(gw_worker_t *w);

#endif
