/* Rate limits of gateway keys; see rate.h. */
#include "gateway/auth/rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/stat.h"
#include "gateway/auth/rate_global.h"

enum { LIM_LOCAL, LIM_GLOBAL };
enum { RES_ALLOWED, RES_LIMITED };
#define NCOUNT 8 /* [scope][limit][result] */

struct bucket {
    double tokens;
    uint64_t last_us;
};

/* One worker's part: touched by its thread only (the counters read by the scrape too). */
typedef struct rworker {
    struct bucket *b; /* [limited key][scope] */
    gw_stat_t *count; /* [limited key][NCOUNT] */
    gw_stat_t fallback[GW_RLG_NSTATUS];
    gw_stat_t parked;
    int nparked;
} rworker_t;

struct gw_rate {
    const gw_keys_t *keys;
    int *lim_of;          /* key index → limited key index, -1 for keys without a limit */
    const gw_key_t **lim; /* limited key index → key */
    size_t nlim;
    int any_global;
    int max_parked;
    int nworkers;
    rworker_t *w;
    gw_rlg_t *rlg; /* NULL: no Redis configured */
};

/* A request waiting for Redis's verdict. r is NULL once its client left. */
typedef struct park {
    gw_rate_t *rt;
    int worker;
    gw_req_t *r;
    const gw_key_t *k;
    size_t li;
    int write;
    gw_rate_done_fn done;
    void *ctx;
} park_t;

gw_rate_t *gw_rate_new(const gw_config_t *cfg, const gw_keys_t *keys, char *err, size_t errlen)
{
    gw_rate_t *rt = calloc(1, sizeof(*rt));
    if (!rt) goto oom;
    rt->keys = keys;
    rt->nworkers = cfg->workers > 0 ? cfg->workers : 1;
    rt->max_parked = cfg->auth_rate_max_parked;
    if (keys->n && (!(rt->lim_of = calloc(keys->n, sizeof(*rt->lim_of))) ||
                    !(rt->lim = calloc(keys->n, sizeof(*rt->lim)))))
        goto oom;
    for (size_t i = 0; i < keys->n; i++) {
        const gw_key_t *k = &keys->key[i];
        int g = k->global_per_min[0] > 0 || k->global_per_min[1] > 0;
        rt->lim_of[i] = -1;
        if (!g && k->rate[0] <= 0 && k->rate[1] <= 0) continue;
        rt->any_global |= g;
        rt->lim_of[i] = (int)rt->nlim;
        rt->lim[rt->nlim++] = k;
    }
    if (!(rt->w = calloc((size_t)rt->nworkers, sizeof(*rt->w)))) goto oom;
    for (int i = 0; i < rt->nworkers && rt->nlim; i++)
        if (!(rt->w[i].b = calloc(rt->nlim * 2, sizeof(*rt->w[i].b))) ||
            !(rt->w[i].count = calloc(rt->nlim * NCOUNT, sizeof(*rt->w[i].count))))
            goto oom;
    if (rt->any_global) {
        rt->rlg = gw_rlg_new(cfg, rt->nworkers, err, errlen);
        if (!rt->rlg && err[0]) {
            gw_rate_free(rt);
            return NULL;
        }
        if (!rt->rlg)
            gw_log_warn("rate limits: rate.global.* is set but no Redis is (auth.rate.redis_url, "
                        "cache.redis.url): local limits only");
    }
    return rt;
oom:
    snprintf(err, errlen, "out of memory");
    gw_rate_free(rt);
    return NULL;
}

void gw_rate_free(gw_rate_t *rt)
{
    if (!rt) return;
    gw_rlg_free(rt->rlg);
    for (int i = 0; rt->w && i < rt->nworkers; i++) {
        free(rt->w[i].b);
        free(rt->w[i].count);
    }
    free(rt->w);
    free(rt->lim_of);
    free(rt->lim);
    free(rt);
}

int gw_rate_worker_start(gw_rate_t *rt, gw_loop_t *loop, char *err, size_t errlen)
{
    return rt && rt->rlg ? gw_rlg_worker_start(rt->rlg, loop, err, errlen) : 0;
}

void gw_rate_worker_end(gw_rate_t *rt, int worker)
{
    if (rt) gw_rlg_worker_end(rt->rlg, worker);
}

/* ---- the local bucket ---------------------------------------------------------------------- */

/* 0 when a token was taken (or the kind has no local limit), else the seconds until one is
 * there, with the tokens there are in *available. */
static double local_take(rworker_t *w, const gw_key_t *k, size_t li, int write, double *available)
{
    if (k->rate[write] <= 0) return 0;
    struct bucket *b = &w->b[li * 2 + (size_t)write];
    uint64_t now = gw_mono_us();
    if (!b->last_us)
        b->tokens = k->burst[write];
    else
        b->tokens += (double)(now - b->last_us) / 1e6 * k->rate[write];
    if (b->tokens > k->burst[write]) b->tokens = k->burst[write];
    b->last_us = now;
    *available = b->tokens;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    return (1 - b->tokens) / k->rate[write];
}

static void count(rworker_t *w, size_t li, int write, int lim, double wait)
{
    gw_stat_inc(&w->count[li * NCOUNT + (size_t)write * 4 + (size_t)lim * 2 +
                          (wait > 0 ? RES_LIMITED : RES_ALLOWED)]);
}

/* Redis did not decide: the local limit does. */
static double fallback(rworker_t *w, const gw_key_t *k, size_t li, int write, gw_rlg_status_t why,
                       double *available)
{
    gw_stat_inc(&w->fallback[why]);
    double wait = local_take(w, k, li, write, available);
    count(w, li, write, LIM_LOCAL, wait);
    return wait;
}

/* ---- parking ----------------------------------------------------------------------------- */

static void park_on_abort(gw_req_t *r)
{
    park_t *p = r->handler_ctx;
    p->r = NULL; /* the verdict, when it comes, frees p */
    r->handler = NULL;
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
}

/* No on_body: what arrives meanwhile stays in r->body for the handler (bounded as any body). */
static const gw_handler_ops_t park_ops = {.on_abort = park_on_abort};

static void on_verdict(void *arg, gw_rlg_status_t st, const gw_rlg_verdict_t *v)
{
    park_t *p = arg;
    rworker_t *w = &p->rt->w[p->worker];
    w->nparked--;
    gw_stat_dec(&w->parked);
    gw_req_t *r = p->r;
    if (!r) {
        free(p);
        return;
    }
    r->handler = NULL;
    r->handler_ctx = NULL;
    double wait = 0, available = 0;
    if (st == GW_RLG_OK) {
        wait = v->allowed ? 0 : (double)v->retry_us / 1e6;
        available = v->available;
        count(w, p->li, p->write, LIM_GLOBAL, wait);
    } else {
        wait = fallback(w, p->k, p->li, p->write, st, &available);
    }
    gw_rate_done_fn done = p->done;
    void *ctx = p->ctx;
    free(p);
    done(ctx, r, wait, available);
}

/* Asks Redis for r: 0 parked, else why not. */
static gw_rlg_status_t park(gw_rate_t *rt, rworker_t *w, int worker, gw_req_t *r, const gw_key_t *k,
                            size_t li, int write, gw_rate_done_fn done, void *ctx)
{
    if (!rt->rlg) return GW_RLG_UNCONFIGURED;
    if (r->internal || r->handler) return GW_RLG_INLINE; /* a handler has it: cannot wait here */
    if (w->nparked >= rt->max_parked) return GW_RLG_BUSY;
    park_t *p = malloc(sizeof(*p));
    if (!p) return GW_RLG_BUSY;
    *p = (park_t){rt, worker, r, k, li, write, done, ctx};
    gw_rlg_status_t why;
    if (gw_rlg_ask(rt->rlg, worker, k->name, write, k->global_per_min[write],
                   k->global_burst[write], on_verdict, p, &why) != 0) {
        free(p);
        return why;
    }
    w->nparked++;
    gw_stat_inc(&w->parked);
    r->handler = &park_ops;
    r->handler_ctx = p;
    return GW_RLG_OK;
}

int gw_rate_admit(gw_rate_t *rt, gw_req_t *r, const gw_key_t *k, int write, gw_rate_done_fn done,
                  void *ctx, double *wait, double *available)
{
    int worker = r->loop ? r->loop->id : -1;
    size_t ki = (size_t)(k - rt->keys->key);
    if (worker < 0 || worker >= rt->nworkers || ki >= rt->keys->n || rt->lim_of[ki] < 0) return 0;
    size_t li = (size_t)rt->lim_of[ki];
    rworker_t *w = &rt->w[worker];
    *wait = 0;
    if (k->global_per_min[write] > 0) {
        gw_rlg_status_t why = park(rt, w, worker, r, k, li, write, done, ctx);
        if (why == GW_RLG_OK) return -1;
        *wait = fallback(w, k, li, write, why, available);
    } else if (k->rate[write] > 0) {
        *wait = local_take(w, k, li, write, available);
        count(w, li, write, LIM_LOCAL, *wait);
    }
    return *wait > 0;
}

/* ---- metrics ----------------------------------------------------------------------------- */

#define NS "qdrant_gateway_rate_limit_"

static uint64_t sum(const gw_rate_t *rt, size_t off)
{
    uint64_t v = 0;
    for (int i = 0; i < rt->nworkers; i++)
        v += gw_stat_get(&rt->w[i].count[off]);
    return v;
}

void gw_rate_render(const gw_rate_t *rt, gw_text_t *t)
{
    if (!rt || !rt->nlim) return;
    static const char *const scope[2] = {"read", "write"}, *const lim[2] = {"local", "global"},
                             *const res[2] = {"allowed", "limited"};
    gw_prom_family(t, NS "total", "counter",
                   "Requests of rate-limited gateway keys by key name, scope (read/write), the "
                   "limit that decided (local bucket or global in Redis) and result.");
    for (size_t li = 0; li < rt->nlim; li++) {
        char name[256];
        gw_prom_escape(rt->lim[li]->name, name, sizeof(name));
        for (size_t c = 0; c < NCOUNT; c++) {
            uint64_t v = sum(rt, li * NCOUNT + c);
            if (!v) continue;
            char labels[400];
            snprintf(labels, sizeof(labels), "key=\"%s\",scope=\"%s\",limit=\"%s\",result=\"%s\"",
                     name, scope[c / 4], lim[c / 2 % 2], res[c % 2]);
            gw_prom_sample_u64(t, NS "total", labels, v);
        }
    }
    if (!rt->any_global) return;
    gw_prom_family(t, NS "fallbacks_total", "counter",
                   "Requests under a global rate limit that the local limit decided, by why "
                   "Redis did not (down, timeout, error, busy, inline, unconfigured).");
    for (int s = GW_RLG_DOWN; s < GW_RLG_NSTATUS; s++) {
        uint64_t v = 0;
        for (int i = 0; i < rt->nworkers; i++)
            v += gw_stat_get(&rt->w[i].fallback[s]);
        char labels[64];
        snprintf(labels, sizeof(labels), "reason=\"%s\"", gw_rlg_status_name((gw_rlg_status_t)s));
        gw_prom_sample_u64(t, NS "fallbacks_total", labels, v);
    }
    uint64_t parked = 0;
    for (int i = 0; i < rt->nworkers; i++)
        parked += gw_stat_get(&rt->w[i].parked);
    gw_prom_family(t, NS "parked", "gauge", "Requests waiting for Redis's rate limit verdict.");
    gw_prom_sample_u64(t, NS "parked", NULL, parked);
    gw_prom_family(t, NS "redis_up", "gauge",
                   "Workers whose rate limit Redis connection is up (of server.workers).");
    gw_prom_sample_u64(t, NS "redis_up", NULL, (uint64_t)gw_rlg_up(rt->rlg));
}
