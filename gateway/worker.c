/* Worker threads: each builds its loop, listeners, upstream pool, cache side and handlers, fills
 * its dispatch table once, then runs the loop until it is told to stop and has drained. */
#include "gateway/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/auth/gate.h"
#include "gateway/cache/cache.h"
#include "gateway/conn/listener.h"
#include "gateway/grpc/forward.h"
#include "gateway/handler/graphql_api.h"
#include "gateway/handler/health.h"
#include "gateway/handler/metrics.h"
#include "gateway/handler/models_api.h"
#include "gateway/handler/models_memo.h"
#include "gateway/upstream/proxy.h"

int gw_shared_init(gw_shared_t *sh, const gw_config_t *cfg, gw_life_t *life)
{
    memset(sh, 0, sizeof(*sh));
    sh->proc.cfg = cfg;
    sh->proc.nworkers = cfg->workers > 0 ? cfg->workers : 1;
    sh->proc.life = life;
    sh->proc.generation = 1;
    sh->proc.loops = calloc((size_t)sh->proc.nworkers, sizeof(*sh->proc.loops));
    if (!sh->proc.loops) return -1;
    return gw_upstream_parse_all(cfg->upstream_urls, cfg->upstream_url, &sh->upstream);
}

void gw_shared_dispose(gw_shared_t *sh)
{
    free(sh->proc.loops);
    sh->proc.loops = NULL;
}

/* ---- the handlers of the dispatch table --------------------------------------------------- */

static void h_forward_cache(void *ctx, gw_req_t *r)
{
    gw_cache_dispatch(ctx, r);
}

static void h_forward_proxy(void *ctx, gw_req_t *r)
{
    gw_proxy_forward(ctx, r);
}

static void h_metrics(void *ctx, gw_req_t *r)
{
    gw_metrics_handle(ctx, r); /* ours replaces Qdrant's: it re-exports every node's */
}

static void h_health(void *ctx, gw_req_t *r)
{
    gw_health_handle(ctx, r);
}

static void h_purge(void *ctx, gw_req_t *r)
{
    gw_cache_purge_handle(ctx, r);
}

static void h_purge_off(void *ctx, gw_req_t *r)
{
    (void)ctx;
    gw_req_respond_error(r, 404, "Not found: the cache is disabled (cache.enabled: false)");
    gw_req_release(r, GW_REQ_HANDLER);
}

static void h_grpc(void *ctx, gw_req_t *r)
{
    gw_grpc_forward(ctx, r);
}

static void h_models(void *ctx, gw_req_t *r)
{
    gw_models_api_handle(ctx, r);
}

static void h_graphql(void *ctx, gw_req_t *r)
{
    gw_graphql_handle(ctx, r);
}

/* Filled once: the one place that knows which handler serves what. */
static void worker_fill_dispatch(gw_worker_t *w)
{
    gw_dispatch_t *d = &w->dispatch;
    gw_dispatch_init(d);
    gw_handler_fn forward = w->env.cache ? h_forward_cache : h_forward_proxy;
    void *fwd_ctx = w->env.cache ? (void *)w->env.cache : (void *)w->env.proxy;
    gw_dispatch_set(d, GW_H_FORWARD, forward, fwd_ctx);
    if (w->env.metrics)
        gw_dispatch_set(d, GW_H_METRICS, h_metrics, &w->env);
    else
        gw_dispatch_set(d, GW_H_METRICS, forward, fwd_ctx); /* metrics off: Qdrant's own */
    gw_dispatch_set(d, GW_H_HEALTH, h_health, w->health);
    if (w->env.cache)
        gw_dispatch_set(d, GW_H_PURGE, h_purge, w->env.cache);
    else
        gw_dispatch_set(d, GW_H_PURGE, h_purge_off, NULL);
    gw_dispatch_set(d, GW_H_MODELS, h_models, &w->env);
    gw_dispatch_set(d, GW_H_GRAPHQL, h_graphql, &w->env);
    gw_dispatch_set(d, GW_H_API_NOT_FOUND, gw_dispatch_not_found, NULL);
    w->grpc_env = (gw_grpc_env_t){w->grpc, w->env.cache};
    gw_dispatch_set(d, GW_H_GRPC, h_grpc, &w->grpc_env);
    if (w->shared->auth) gw_dispatch_set_gate(d, gw_auth_gate, w->shared->auth);
    w->loop.dispatch = d;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void worker_on_stop(void *arg)
{
    gw_worker_t *w = arg;
    if (w->loop.draining) return;
    gw_listener_free(w->listener);
    gw_listener_free(w->tls_listener);
    gw_listener_free(w->grpc_listener);
    w->listener = w->tls_listener = w->grpc_listener = NULL;
    gw_loop_drain(&w->loop, w->loop.cfg->shutdown_timeout_ms);
}

static void worker_on_retire(void *arg)
{
    gw_worker_t *w = arg;
    if (w->loop.draining || w->loop.retiring) return;
    gw_listener_free(w->listener);
    gw_listener_free(w->tls_listener);
    gw_listener_free(w->grpc_listener);
    w->listener = w->tls_listener = w->grpc_listener = NULL;
    uint64_t t = w->loop.cfg->shutdown_timeout_ms;
    gw_loop_retire(&w->loop, t, t);
}

static int same_addr(const gw_listen_addr_t *a, const gw_listen_addr_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* A listener on addr: the previous configuration's socket when it listened on the same
 * address, else a new one. */
static gw_listener_t *worker_listen(gw_worker_t *w, const gw_listen_addr_t *addr,
                                    const gw_listener_t *old, const gw_listen_addr_t *old_addr,
                                    const char *key, gw_tls_t *tls, char *err, size_t errlen)
{
    if (old && old_addr && same_addr(addr, old_addr))
        return gw_listener_adopt(&w->loop, old, tls, err, errlen);
    return gw_listener_new(&w->loop, addr, key, tls, err, errlen);
}

/* server.grpc_listen: cleartext, HTTP/2 prior knowledge only. */
static int worker_bind_grpc(gw_worker_t *w, const gw_worker_t *prev, char *err, size_t errlen)
{
    const gw_config_t *cfg = w->loop.cfg;
    if (!cfg->grpc_listen[0]) return 0;
    gw_listen_addr_t addr, paddr = {0};
    if (gw_config_grpc_addr(cfg, &addr, err, errlen) != 0) return -1;
    int have_old = prev && prev->grpc_listener &&
                   gw_config_grpc_addr(prev->loop.cfg, &paddr, err, errlen) == 0;
    w->grpc_listener =
        worker_listen(w, &addr, have_old ? prev->grpc_listener : NULL, have_old ? &paddr : NULL,
                      "server.grpc_listen", NULL, err, errlen);
    free(addr.host);
    free(paddr.host);
    if (!w->grpc_listener) return -1;
    gw_listener_set_h2_only(w->grpc_listener);
    return 0;
}

static int worker_bind(gw_worker_t *w, const gw_worker_t *prev, char *err, size_t errlen)
{
    const gw_config_t *cfg = w->loop.cfg;
    const gw_config_t *pcfg = prev ? prev->loop.cfg : NULL;
    w->listener = worker_listen(w, &cfg->listen, prev ? prev->listener : NULL,
                                pcfg ? &pcfg->listen : NULL, "server.listen", NULL, err, errlen);
    if (!w->listener) return -1;
    if (worker_bind_grpc(w, prev, err, errlen) != 0) return -1;
    if (!w->shared->tls) return 0;
    gw_listen_addr_t addr, paddr = {0};
    if (gw_config_tls_addr(cfg, &addr, err, errlen) != 0) return -1;
    int have_old = prev && prev->tls_listener && gw_config_tls_addr(pcfg, &paddr, err, errlen) == 0;
    w->tls_listener =
        worker_listen(w, &addr, have_old ? prev->tls_listener : NULL, have_old ? &paddr : NULL,
                      "tls.listen", w->shared->tls, err, errlen);
    free(addr.host);
    free(paddr.host);
    return w->tls_listener ? 0 : -1;
}

int gw_worker_init(gw_worker_t *w, gw_shared_t *shared, int id, const gw_worker_t *prev, char *err,
                   size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->shared = shared;
    gw_proc_t *proc = &shared->proc;
    if (gw_loop_init(&w->loop, id, proc->cfg, &proc->life->connections, err, errlen) != 0)
        goto fail;
    if (id >= 0 && id < proc->nworkers) proc->loops[id] = &w->loop;
    gw_loop_on_wake(&w->loop, GW_WAKE_STOP, worker_on_stop, w);
    gw_loop_on_wake(&w->loop, GW_WAKE_RETIRE, worker_on_retire, w);
    if (worker_bind(w, prev, err, errlen) != 0) goto fail;
    gw_handler_env_t *env = &w->env;
    env->proc = proc;
    env->loop = &w->loop;
    env->cache_shared = shared->cache;
    env->metrics = shared->metrics;
    env->auth = shared->auth;
    env->proxy = gw_proxy_new(&w->loop, &shared->upstream, err, errlen);
    if (!env->proxy) goto fail;
    char grpc_urls[GW_CONFIG_MAX_PEERS][GW_CONFIG_GRPC_URL_MAX];
    const char *gu[GW_CONFIG_MAX_PEERS];
    int ngu = gw_config_grpc_peers(proc->cfg, grpc_urls, GW_CONFIG_MAX_PEERS);
    for (int i = 0; i < ngu; i++)
        gu[i] = grpc_urls[i];
    if (!(w->grpc = gw_grpc_pool_new(&w->loop, gu, ngu, err, errlen))) goto fail;
    w->health = gw_health_new(env);
    if (!w->health) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (shared->cache &&
        !(env->cache = gw_cache_new(&w->loop, shared->cache, env->proxy, err, errlen)))
        goto fail;
    if (gw_auth_worker_start(shared->auth, &w->loop, err, errlen) != 0) goto fail;
    worker_fill_dispatch(w);
    return 0;
fail:
    gw_worker_dispose(w);
    return -1;
}

static void *worker_main(void *arg)
{
    gw_worker_t *w = arg;
    char name[32];
    snprintf(name, sizeof(name), "worker %d", w->loop.id);
    gw_log_set_thread_name(name);
    gw_loop_run(&w->loop);
    atomic_store(&w->finished, 1);
    return NULL;
}

int gw_worker_start(gw_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) return -1;
    w->thread_started = 1;
    return 0;
}

void gw_worker_stop(gw_worker_t *w)
{
    gw_loop_wake(&w->loop, GW_WAKE_STOP);
}

void gw_worker_retire(gw_worker_t *w)
{
    gw_loop_wake(&w->loop, GW_WAKE_RETIRE);
}

void gw_worker_dispose(gw_worker_t *w)
{
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
        w->thread_started = 0;
    }
    /* Order matters: connections abort their upstream transfers, then the pool goes (libcurl
     * may still call the socket callback, so the base is freed last). */
    gw_loop_close_conns(&w->loop);
    if (w->shared) gw_auth_worker_end(w->shared->auth, w->loop.id); /* parked requests are gone */
    gw_health_free(w->health);
    gw_proxy_free(w->env.proxy); /* ends the cache's taps on transfers still running */
    gw_grpc_pool_free(w->grpc);
    gw_cache_free(w->env.cache);
    gw_models_memo_free(w->env.models_memo);
    gw_listener_free(w->listener);
    gw_listener_free(w->tls_listener);
    gw_listener_free(w->grpc_listener);
    gw_proc_t *proc = w->shared ? &w->shared->proc : NULL;
    if (proc && w->loop.id >= 0 && w->loop.id < proc->nworkers &&
        proc->loops[w->loop.id] == &w->loop)
        proc->loops[w->loop.id] = NULL;
    if (w->shared) gw_loop_dispose(&w->loop); /* the loop was initialised */
    memset(w, 0, sizeof(*w));
}
