/* Rate limits of gateway keys; see rate.h. */
#include "gateway/auth/rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/stat.h"
#include "gateway/auth/rate_global.h"

enum { LIM_LOCAL, LIM_GLOBAL };
enum { RES_ALLOWED, RES_LIMITED };
#define NCOUNT 8  /* [scope][limit][result] */
#define PROBE  16 /* slots of the subject table looked at per subject */

struct bucket {
    double tokens;
    uint64_t last_us;
};

/* One limit's settings [read, write]: a key's, or every JWT subject's. */
typedef struct limits {
    double rate[2], burst[2]; /* local: tokens per second (0 = none), bucket sizes */
    int gpm[2], gburst[2];    /* global: per minute (0 = none), bursts */
} limits_t;

/* A JWT subject's local buckets, found by the SHA-256 of the subject. */
typedef struct subj {
    unsigned char d[GW_DIGEST_LEN];
    int used;
    uint64_t last_us;
    struct bucket b[2];
} subj_t;

/* One worker's part: touched by its thread only (the counters read by the scrape too). */
typedef struct rworker {
    struct bucket *b;  /* [limited key][scope] */
    gw_stat_t *count;  /* [limited key, then the subjects][NCOUNT] */
    subj_t *subj;      /* [max_subjects] when subjects have a local limit */
    gw_stat_t evicted; /* subjects whose buckets went for another's */
    gw_stat_t fallback[GW_RLG_NSTATUS];
    gw_stat_t parked;
    int nparked;
} rworker_t;

struct gw_rate {
    const gw_keys_t *keys;
    int *lim_of;          /* key index → limited key index, -1 for keys without a limit */
    const gw_key_t **lim; /* limited key index → key */
    limits_t *lcfg;       /* limited key index → its limits */
    size_t nlim;
    int subjects;    /* JWT subjects have a limit: their counters are row nlim */
    limits_t scfg;   /* theirs */
    size_t max_subj; /* slots of each worker's subject table (0: no local limit) */
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
    size_t li; /* the counter row: a key's, or nlim for subjects */
    int write;
    int keep; /* r's handler keeps it (r->gate_wait): cancelled through it, not on_abort */
    gw_rate_done_fn done;
    void *ctx;
    unsigned char d[GW_DIGEST_LEN]; /* a subject's digest */
} park_t;

static void limits_of(limits_t *l, const double rate[2], const double burst[2], const int gpm[2],
                      const int gburst[2])
{
    for (int i = 0; i < 2; i++) {
        l->rate[i] = rate[i];
        l->burst[i] = burst[i];
        l->gpm[i] = gpm[i];
        l->gburst[i] = gburst[i];
    }
}

/* auth.jwt.rate.*, made as a key's are (keys.c): bursts default to a second's worth, >= 1. */
static void subject_limits(gw_rate_t *rt, const gw_config_t *cfg)
{
    int pm[2] = {cfg->auth_jwt_rate_read, cfg->auth_jwt_rate_write};
    int gpm[2] = {cfg->auth_jwt_rate_global_read, cfg->auth_jwt_rate_global_write}, gb[2];
    double rate[2], burst[2];
    for (int i = 0; i < 2; i++) {
        rate[i] = pm[i] / 60.0;
        double b = cfg->auth_jwt_rate_burst ? cfg->auth_jwt_rate_burst : pm[i] / 60.0;
        burst[i] = b < 1 ? 1 : b;
        int g = cfg->auth_jwt_rate_global_burst ? cfg->auth_jwt_rate_global_burst : gpm[i] / 60;
        gb[i] = g < 1 ? 1 : g;
    }
    limits_of(&rt->scfg, rate, burst, gpm, gb);
    rt->subjects = cfg->auth_jwt_enabled && (pm[0] || pm[1] || gpm[0] || gpm[1]);
    rt->max_subj = rt->subjects && (pm[0] || pm[1]) ? (size_t)cfg->auth_jwt_rate_max_subjects : 0;
    rt->any_global |= rt->subjects && (gpm[0] || gpm[1]);
}

gw_rate_t *gw_rate_new(const gw_config_t *cfg, const gw_keys_t *keys, char *err, size_t errlen)
{
    gw_rate_t *rt = calloc(1, sizeof(*rt));
    if (!rt) goto oom;
    rt->keys = keys;
    rt->nworkers = cfg->workers > 0 ? cfg->workers : 1;
    rt->max_parked = cfg->auth_rate_max_parked;
    if (keys->n && (!(rt->lim_of = calloc(keys->n, sizeof(*rt->lim_of))) ||
                    !(rt->lim = calloc(keys->n, sizeof(*rt->lim))) ||
                    !(rt->lcfg = calloc(keys->n, sizeof(*rt->lcfg)))))
        goto oom;
    for (size_t i = 0; i < keys->n; i++) {
        const gw_key_t *k = &keys->key[i];
        int g = k->global_per_min[0] > 0 || k->global_per_min[1] > 0;
        rt->lim_of[i] = -1;
        if (!g && k->rate[0] <= 0 && k->rate[1] <= 0) continue;
        rt->any_global |= g;
        rt->lim_of[i] = (int)rt->nlim;
        limits_of(&rt->lcfg[rt->nlim], k->rate, k->burst, k->global_per_min, k->global_burst);
        rt->lim[rt->nlim++] = k;
    }
    subject_limits(rt, cfg);
    size_t rows = rt->nlim + (size_t)rt->subjects;
    if (!(rt->w = calloc((size_t)rt->nworkers, sizeof(*rt->w)))) goto oom;
    for (int i = 0; i < rt->nworkers && rows; i++)
        if ((rt->nlim && !(rt->w[i].b = calloc(rt->nlim * 2, sizeof(*rt->w[i].b)))) ||
            !(rt->w[i].count = calloc(rows * NCOUNT, sizeof(*rt->w[i].count))) ||
            (rt->max_subj && !(rt->w[i].subj = calloc(rt->max_subj, sizeof(subj_t)))))
            goto oom;
    if (rt->any_global) {
        rt->rlg = gw_rlg_new(cfg, rt->nworkers, err, errlen);
        if (!rt->rlg && err[0]) {
            gw_rate_free(rt);
            return NULL;
        }
        if (!rt->rlg)
            gw_log_warn("rate limits: a global limit (rate.global.*) is set but no Redis is "
                        "(auth.rate.redis_url, cache.redis.url): local limits only");
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
        free(rt->w[i].subj);
    }
    free(rt->w);
    free(rt->lim_of);
    free(rt->lim);
    free(rt->lcfg);
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

/* 0 when a token was taken from b (or the kind has no local limit, b NULL), else the seconds
 * until one is there, with the tokens there are in *available. */
static double local_take(struct bucket *b, double rate, double burst, double *available)
{
    if (rate <= 0 || !b) return 0;
    uint64_t now = gw_mono_us();
    if (!b->last_us)
        b->tokens = burst;
    else
        b->tokens += (double)(now - b->last_us) / 1e6 * rate;
    if (b->tokens > burst) b->tokens = burst;
    b->last_us = now;
    *available = b->tokens;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    return (1 - b->tokens) / rate;
}

/* A subject's buckets [2] on this worker: found, or a slot taken for it (an empty one, else
 * the least recently used of its probe window, whose subject starts afresh when seen again). */
static struct bucket *subj_buckets(const gw_rate_t *rt, rworker_t *w, const unsigned char *d)
{
    if (!w->subj) return NULL;
    uint64_t h, now = gw_mono_us();
    memcpy(&h, d, sizeof(h));
    subj_t *empty = NULL, *oldest = NULL;
    for (size_t j = 0; j < PROBE && j < rt->max_subj; j++) {
        subj_t *s = &w->subj[(h + j) % rt->max_subj];
        if (s->used && memcmp(s->d, d, GW_DIGEST_LEN) == 0) {
            s->last_us = now;
            return s->b;
        }
        if (!s->used) {
            if (!empty) empty = s;
        } else if (!oldest || s->last_us < oldest->last_us) {
            oldest = s;
        }
    }
    subj_t *s = empty ? empty : oldest;
    if (!empty) gw_stat_inc(&w->evicted);
    memset(s, 0, sizeof(*s));
    memcpy(s->d, d, GW_DIGEST_LEN);
    s->used = 1;
    s->last_us = now;
    return s->b;
}

static const limits_t *limits_row(const gw_rate_t *rt, size_t li)
{
    return li < rt->nlim ? &rt->lcfg[li] : &rt->scfg;
}

/* The local limit of row li (for subjects, the one of digest d). */
static double local_row(const gw_rate_t *rt, rworker_t *w, size_t li, const unsigned char *d,
                        int write, double *available)
{
    const limits_t *l = limits_row(rt, li);
    if (l->rate[write] <= 0) return 0;
    struct bucket *b = li < rt->nlim ? &w->b[li * 2] : subj_buckets(rt, w, d);
    return local_take(b ? &b[write] : NULL, l->rate[write], l->burst[write], available);
}

static void count(rworker_t *w, size_t li, int write, int lim, double wait)
{
    gw_stat_inc(&w->count[li * NCOUNT + (size_t)write * 4 + (size_t)lim * 2 +
                          (wait > 0 ? RES_LIMITED : RES_ALLOWED)]);
}

/* Redis did not decide: the local limit does. */
static double fallback(const gw_rate_t *rt, rworker_t *w, size_t li, const unsigned char *d,
                       int write, gw_rlg_status_t why, double *available)
{
    gw_stat_inc(&w->fallback[why]);
    double wait = local_row(rt, w, li, d, write, available);
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

/* The handler that kept its request ended it while parked (gw_dispatch_gate_cancel). */
static void park_cancel(void *arg)
{
    park_t *p = arg;
    p->r = NULL; /* the verdict, when it comes, frees p */
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
    if (p->keep) {
        r->gate_wait.cancel = NULL; /* the wait is over: nothing to cancel */
        r->gate_wait.park = NULL;
    } else {
        r->handler = NULL;
        r->handler_ctx = NULL;
    }
    double wait = 0, available = 0;
    if (st == GW_RLG_OK) {
        wait = v->allowed ? 0 : (double)v->retry_us / 1e6;
        available = v->available;
        count(w, p->li, p->write, LIM_GLOBAL, wait);
    } else {
        wait = fallback(p->rt, w, p->li, p->d, p->write, st, &available);
    }
    gw_rate_done_fn done = p->done;
    void *ctx = p->ctx;
    free(p);
    done(ctx, r, wait, available);
}

/* Asks Redis for r under the global limit of row li, named `name` in `space`: 0 parked, else
 * why not. */
static gw_rlg_status_t park(gw_rate_t *rt, rworker_t *w, int worker, gw_req_t *r, size_t li,
                            const unsigned char *d, const char *space, const char *name, int write,
                            gw_rate_done_fn done, void *ctx)
{
    if (!rt->rlg) return GW_RLG_UNCONFIGURED;
    /* A handler has it and cannot be resumed (no r->gate_wait): cannot wait here. */
    int keep = r->handler && r->gate_wait.resume;
    if (r->internal || (r->handler && !keep)) return GW_RLG_INLINE;
    if (w->nparked >= rt->max_parked) return GW_RLG_BUSY;
    park_t *p = calloc(1, sizeof(*p));
    if (!p) return GW_RLG_BUSY;
    *p = (park_t){.rt = rt,
                  .worker = worker,
                  .r = r,
                  .li = li,
                  .write = write,
                  .keep = keep,
                  .done = done,
                  .ctx = ctx};
    if (d) memcpy(p->d, d, GW_DIGEST_LEN);
    const limits_t *l = limits_row(rt, li);
    gw_rlg_status_t why;
    if (gw_rlg_ask(rt->rlg, worker, space, name, write, l->gpm[write], l->gburst[write], on_verdict,
                   p, &why) != 0) {
        free(p);
        return why;
    }
    w->nparked++;
    gw_stat_inc(&w->parked);
    if (keep) {
        r->gate_wait.cancel = park_cancel;
        r->gate_wait.park = p;
    } else {
        r->handler = &park_ops;
        r->handler_ctx = p;
    }
    return GW_RLG_OK;
}

/* A subject as it names its Redis key: itself when it is 1 to 128 of [A-Za-z0-9._@+-], else
 * "#" and the hex of its SHA-256 (no verbatim subject starts with '#'). */
static void subject_name(const char *sub, const unsigned char *d, char *out, size_t cap)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-";
    size_t n = strlen(sub);
    if (n >= 1 && n <= 128 && strspn(sub, ok) == n) {
        snprintf(out, cap, "%s", sub);
        return;
    }
    char hex[GW_DIGEST_HEX];
    gw_digest_hex(d, hex);
    snprintf(out, cap, "#%s", hex);
}

int gw_rate_admit(gw_rate_t *rt, gw_req_t *r, const gw_key_t *k, const char *subject, int write,
                  gw_rate_done_fn done, void *ctx, double *wait, double *available)
{
    int worker = r->loop ? r->loop->id : -1;
    *wait = 0;
    if (worker < 0 || worker >= rt->nworkers) return 0;
    rworker_t *w = &rt->w[worker];
    size_t li;
    unsigned char d[GW_DIGEST_LEN], *dp = NULL;
    char name[160];
    const char *space = GW_RLG_SPACE_KEY;
    if (k) {
        size_t ki = (size_t)(k - rt->keys->key);
        if (ki >= rt->keys->n || rt->lim_of[ki] < 0) return 0;
        li = (size_t)rt->lim_of[ki];
    } else {
        if (!rt->subjects || !subject || !subject[0] ||
            gw_digest_buf(subject, strlen(subject), d) != 0)
            return 0;
        li = rt->nlim;
        dp = d;
        space = GW_RLG_SPACE_SUBJECT;
    }
    const limits_t *l = limits_row(rt, li);
    if (l->gpm[write] > 0) {
        if (dp) subject_name(subject, dp, name, sizeof(name));
        gw_rlg_status_t why =
            park(rt, w, worker, r, li, dp, space, dp ? name : k->name, write, done, ctx);
        if (why == GW_RLG_OK) return -1;
        *wait = fallback(rt, w, li, dp, write, why, available);
    } else if (l->rate[write] > 0) {
        *wait = local_row(rt, w, li, dp, write, available);
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
    if (!rt || (!rt->nlim && !rt->subjects)) return;
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
    if (rt->subjects) {
        gw_prom_family(t, NS "subjects_total", "counter",
                       "Requests of JWT subjects under auth.jwt.rate (all subjects together) by "
                       "scope, the limit that decided and result.");
        for (size_t c = 0; c < NCOUNT; c++) {
            uint64_t v = sum(rt, rt->nlim * NCOUNT + c);
            if (!v) continue;
            char labels[128];
            snprintf(labels, sizeof(labels), "scope=\"%s\",limit=\"%s\",result=\"%s\"",
                     scope[c / 4], lim[c / 2 % 2], res[c % 2]);
            gw_prom_sample_u64(t, NS "subjects_total", labels, v);
        }
        uint64_t ev = 0;
        for (int i = 0; i < rt->nworkers; i++)
            ev += gw_stat_get(&rt->w[i].evicted);
        gw_prom_family(t, NS "subjects_evicted_total", "counter",
                       "Subjects whose local buckets were given to another (auth.jwt.rate."
                       "max_subjects per worker reached): they start full when seen again.");
        gw_prom_sample_u64(t, NS "subjects_evicted_total", NULL, ev);
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
