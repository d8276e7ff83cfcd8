/* Building, starting, retiring and freeing one configuration's workers; see generation.h. */
#include "gateway/generation.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth/gate.h"
#include "gateway/cache/cache.h"
#include "gateway/conn/tls.h"
#include "gateway/handler/metrics.h"
#include "gateway/worker.h"

struct gw_generation {
    gw_config_t *cfg;
    gw_shared_t shared;
    int shared_ok;
    gw_worker_t *workers;
    int n; /* initialised workers */
    int kept_cache;
};

static int generation_parts(gw_generation_t *g, gw_generation_t *prev, char *err, size_t errlen)
{
    const gw_config_t *cfg = g->cfg;
    gw_shared_t *sh = &g->shared;
    if (cfg->metrics_enabled && !(sh->metrics = gw_metrics_shared_new(cfg, err, errlen))) return -1;
    if (cfg->cache_enabled) {
        sh->cache = gw_cache_shared_new(cfg, sh->proc.nworkers, err, errlen);
        if (!sh->cache) return -1;
    }
    if (gw_auth_configured(cfg) && !(sh->auth = gw_auth_new(cfg, sh->cache, err, errlen)))
        return -1;
    if (cfg->tls_listen[0] && !(sh->tls = gw_tls_new(cfg->tls_cert, cfg->tls_key, err, errlen)))
        return -1;
    for (; g->n < sh->proc.nworkers; g->n++) {
        const gw_worker_t *pw = prev && g->n < prev->n ? &prev->workers[g->n] : NULL;
        if (gw_worker_init(&g->workers[g->n], sh, g->n, pw, err, errlen) != 0) return -1;
    }
    /* Last: once taken over, prev's tier belongs to this generation. */
    if (sh->cache && prev && prev->shared.cache)
        g->kept_cache = gw_cache_shared_inherit(sh->cache, prev->shared.cache);
    return 0;
}

gw_generation_t *gw_generation_new(gw_config_t *cfg, gw_generation_t *prev, gw_life_t *life,
                                   char *err, size_t errlen)
{
    gw_generation_t *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        gw_config_free(cfg);
        return NULL;
    }
    g->cfg = cfg;
    g->shared_ok = gw_shared_init(&g->shared, cfg, life) == 0;
    g->shared.proc.generation = prev ? prev->shared.proc.generation + 1 : 1;
    g->workers = g->shared_ok ? calloc((size_t)g->shared.proc.nworkers, sizeof(*g->workers)) : NULL;
    if (!g->workers) {
        snprintf(err, errlen, g->shared_ok ? "out of memory" : "upstream.url: cannot be parsed");
        gw_generation_free(g);
        return NULL;
    }
    if (generation_parts(g, prev, err, errlen) != 0) {
        gw_generation_free(g);
        return NULL;
    }
    return g;
}

int gw_generation_start(gw_generation_t *g, char *err, size_t errlen)
{
    /* Workers inherit a mask without these signals, so they reach the main thread. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = 0;
    for (int i = 0; i < g->n; i++) {
        if (gw_worker_start(&g->workers[i]) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            for (int j = 0; j < i; j++)
                gw_worker_stop(&g->workers[j]);
            rc = -1;
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void gw_generation_retire(gw_generation_t *g)
{
    for (int i = 0; i < g->n; i++)
        gw_worker_retire(&g->workers[i]);
}

void gw_generation_stop(gw_generation_t *g)
{
    for (int i = 0; i < g->n; i++)
        gw_worker_stop(&g->workers[i]);
}

int gw_generation_finished(const gw_generation_t *g)
{
    for (int i = 0; i < g->n; i++)
        if (g->workers[i].thread_started && !atomic_load(&g->workers[i].finished)) return 0;
    return 1;
}

void gw_generation_free(gw_generation_t *g)
{
    if (!g) return;
    for (int i = 0; i < g->n; i++)
        gw_worker_dispose(&g->workers[i]); /* joins: waits for each worker's drain */
    free(g->workers);
    gw_tls_free(g->shared.tls);
    gw_auth_free(g->shared.auth); /* reads the cache's alias map */
    gw_cache_shared_free(g->shared.cache);
    gw_metrics_shared_free(g->shared.metrics);
    gw_shared_dispose(&g->shared); /* also after a gw_shared_init that failed half way */
    gw_config_free(g->cfg);
    free(g);
}

void gw_generation_abandon(gw_generation_t *g, gw_generation_t *prev)
{
    if (g && g->kept_cache && prev) gw_cache_shared_giveback(g->shared.cache, prev->shared.cache);
    gw_generation_free(g);
}

const gw_config_t *gw_generation_config(const gw_generation_t *g)
{
    return g->cfg;
}

int gw_generation_kept_cache(const gw_generation_t *g)
{
    return g->kept_cache;
}

unsigned gw_generation_number(const gw_generation_t *g)
{
    return g->shared.proc.generation;
}
