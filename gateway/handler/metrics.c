/* The scrape: start the fetches (Qdrant nodes, Redis INFO), then render everything at once. */
#include "gateway/handler/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/prom.h"
#include "gateway/cache/cache.h"
#include "gateway/handler/metrics_render.h"
#include "gateway/upstream/proxy.h"
#include "gateway/redis/client.h"

#define METRICS_MAX_NODES 16

typedef struct node {
    char url[512];   /* .../metrics */
    char label[300]; /* host:port */
    char *text;      /* last good text, or NULL */
    size_t len;
    uint64_t fetched_us;
} node_t;

struct gw_metrics_shared {
    pthread_mutex_t lock;
    const gw_config_t *cfg;
    size_t n;
    node_t node[METRICS_MAX_NODES];
};

typedef struct scrape scrape_t;

typedef struct scrape_tok {
    scrape_t *s;
    size_t idx;
} scrape_tok_t;

struct scrape {
    const gw_handler_env_t *env;
    gw_req_t *r; /* NULL once the client left */
    int pending;
    uint64_t start_us;
    scrape_tok_t tok[METRICS_MAX_NODES];
    gw_metrics_source_t src;
};

/* ---- the node list ------------------------------------------------------------------------ */

static int add_node(gw_metrics_shared_t *m, const char *url, size_t len)
{
    if (m->n == METRICS_MAX_NODES) return -1;
    node_t *n = &m->node[m->n++];
    while (len && url[len - 1] == '/')
        len--;
    snprintf(n->url, sizeof(n->url), "%.*s/metrics", (int)len, url);
    /* The label comes from the caller's text, not n->url: gcc 12 at -O3 sees both fields of *n
     * as one object and refuses the copy as an overlap (-Werror=restrict). */
    const char *auth = memmem(url, len, "://", 3);
    auth = auth ? auth + 3 : url;
    size_t alen = (size_t)(url + len - auth), cut = 0;
    while (cut < alen && auth[cut] != '/')
        cut++;
    snprintf(n->label, sizeof(n->label), "%.*s", (int)cut, auth);
    return 0;
}

gw_metrics_shared_t *gw_metrics_shared_new(const gw_config_t *cfg, char *err, size_t errlen)
{
    gw_metrics_shared_t *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->cfg = cfg;
    /* Default: every peer of upstream.urls, or the one node of upstream.url. */
    const char *p = cfg->metrics_qdrant_urls[0] ? cfg->metrics_qdrant_urls
                    : cfg->upstream_urls[0]     ? cfg->upstream_urls
                                                : cfg->upstream_url;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (add_node(m, p, n) != 0) {
            snprintf(err, errlen, "metrics.qdrant_urls: at most %d nodes", METRICS_MAX_NODES);
            gw_metrics_shared_free(m);
            return NULL;
        }
        p += strcspn(p, ",");
        p += *p == ',';
    }
    return m;
}

void gw_metrics_shared_free(gw_metrics_shared_t *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        free(m->node[i].text);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* ---- finishing ---------------------------------------------------------------------------- */

static void scrape_free(scrape_t *s)
{
    for (size_t i = 0; i < s->src.nnodes; i++)
        free(s->src.node[i].text);
    free(s->src.redis_info);
    free(s);
}

static void scrape_finish(scrape_t *s)
{
    gw_req_t *r = s->r;
    if (!r) {
        scrape_free(s);
        return;
    }
    gw_text_t t = {0};
    gw_metrics_render(s->env, &s->src, &t);
    if (t.oom)
        gw_req_respond_error(r, 500, "Service internal error: %s", "out of memory");
    else
        gw_req_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len);
    gw_text_free(&t);
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
    scrape_free(s);
}

static void scrape_done_one(scrape_t *s)
{
    if (--s->pending == 0) scrape_finish(s);
}

static void scrape_on_abort(gw_req_t *r)
{
    scrape_t *s = r->handler_ctx;
    r->handler_ctx = NULL;
    s->r = NULL; /* the fetches still under way free it when they end */
    gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t scrape_handler = {.on_abort = scrape_on_abort};

/* ---- sources ------------------------------------------------------------------------------ */

static void node_fetched(void *arg, int ok, long status, const char *body, size_t len,
                         double seconds, const char *error)
{
    scrape_tok_t *tok = arg;
    scrape_t *s = tok->s;
    gw_metrics_shared_t *m = s->env->metrics;
    gw_metrics_node_t *out = &s->src.node[tok->idx];
    out->seconds = seconds;
    if (ok && status == 200 && (out->text = malloc(len + 1))) {
        memcpy(out->text, body, len);
        out->text[len] = '\0';
        out->len = len;
        out->up = 1;
        pthread_mutex_lock(&m->lock);
        node_t *n = &m->node[tok->idx];
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, body, len);
            copy[len] = '\0';
            free(n->text);
            n->text = copy;
            n->len = len;
            n->fetched_us = gw_mono_us();
        }
        pthread_mutex_unlock(&m->lock);
    } else {
        gw_log_debug("metrics: %s: %s", m->node[tok->idx].url,
                     ok      ? "not a 200 answer"
                     : error ? error
                             : "failed");
    }
    scrape_done_one(s);
}

/* Uses the node's recent text when fresh enough, else fetches it. */
static void node_start(scrape_t *s, size_t i)
{
    gw_metrics_shared_t *m = s->env->metrics;
    const gw_config_t *cfg = s->env->loop->cfg;
    gw_metrics_node_t *out = &s->src.node[i];
    snprintf(out->label, sizeof(out->label), "%s", m->node[i].label);
    pthread_mutex_lock(&m->lock);
    node_t *n = &m->node[i];
    if (n->text && gw_mono_us() - n->fetched_us < cfg->metrics_upstream_ttl_ms * 1000u &&
        (out->text = malloc(n->len + 1))) {
        memcpy(out->text, n->text, n->len + 1);
        out->len = n->len;
        out->up = 1;
    }
    pthread_mutex_unlock(&m->lock);
    if (out->up) return;
    s->tok[i] = (scrape_tok_t){s, i};
    s->pending++;
    if (gw_proxy_fetch(s->env->proxy, m->node[i].url, cfg->metrics_scrape_timeout_ms, node_fetched,
                       &s->tok[i]) != 0)
        s->pending--;
}

static void redis_info_done(void *arg, gw_redis_status_t st, const char *data, size_t len,
                            long long integer)
{
    scrape_t *s = arg;
    if (st == GW_REDIS_OK && data && (s->src.redis_info = malloc(len + 1))) {
        memcpy(s->src.redis_info, data, len);
        s->src.redis_info[len] = '\0';
        s->src.redis_len = len;
    }
    scrape_done_one(s);
}

void gw_metrics_handle(const gw_handler_env_t *env, gw_req_t *r)
{
    gw_metrics_shared_t *m = env->metrics;
    scrape_t *s = calloc(1, sizeof(*s));
    if (!s || !m) {
        free(s);
        gw_req_respond_error(r, 500, "Service internal error: %s", "out of memory");
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    s->env = env;
    s->r = r;
    s->start_us = gw_mono_us();
    s->pending = 1; /* held until every source has started */
    r->handler = &scrape_handler;
    r->handler_ctx = s;
    s->src.nnodes = m->n;
    for (size_t i = 0; i < m->n; i++)
        node_start(s, i);
    gw_redis_t *redis = env->cache ? gw_cache_redis(env->cache) : NULL;
    s->src.redis_configured = redis != NULL;
    if (redis && gw_redis_up(redis)) {
        const char *argv[] = {"INFO"};
        s->pending++;
        if (gw_redis_command(redis, redis_info_done, s, 1, argv, NULL) != 0) s->pending--;
    }
    scrape_done_one(s);
}
