/* Health endpoint: one probe (GET / on Qdrant) per worker at a time; requests that arrive while
 * it runs wait for it, and its result is reused for upstream.health_interval. */
#include "gateway/handler/health.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "gateway/cache/cache.h"
#include "gateway/cache/l1.h"
#include "gateway/upstream/proxy.h"
#include "gateway/redis/client.h"

struct gw_health {
    const gw_handler_env_t *env;
    uint64_t checked_us; /* 0: never */
    int probing;
    int reachable;
    long status;
    double latency_ms;
    char version[64];
    char error[256];
    gw_req_t **waiting;
    size_t nwait, cap;
};

static void health_on_abort(gw_req_t *r)
{
    gw_health_t *h = r->handler_ctx;
    for (size_t i = 0; i < h->nwait; i++) {
        if (h->waiting[i] == r) {
            h->waiting[i] = h->waiting[--h->nwait];
            break;
        }
    }
    gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t health_handler = {.on_abort = health_on_abort};

/* Each peer of upstream.urls as this worker's balancer sees it. */
static json_t *health_peers_json(gw_proxy_t *px)
{
    json_t *a = json_array();
    for (int i = 0; i < gw_proxy_peer_count(px); i++) {
        gw_proxy_peer_view_t v;
        gw_proxy_peer_view(px, i, &v);
        char addr[512];
        const char *dns_error = "";
        gw_proxy_peer_addr(px, i, addr, sizeof(addr), &dns_error);
        json_t *o = json_object();
        json_object_set_new(o, "url", json_string(v.url));
        json_object_set_new(o, "state", json_string(v.state));
        json_object_set_new(o, "address", addr[0] ? json_string(addr) : json_null());
        json_object_set_new(o, "dns_error", dns_error[0] ? json_string(dns_error) : json_null());
        json_object_set_new(o, "outstanding", json_integer(v.outstanding));
        json_object_set_new(o, "consecutive_failures", json_integer(v.failures));
        json_object_set_new(o, "ejections", json_integer((json_int_t)v.ejections));
        json_object_set_new(o, "ejected_ms_left", json_integer((json_int_t)v.ejected_ms_left));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *health_upstream_json(const gw_health_t *h)
{
    json_t *u = json_object();
    const gw_config_t *cfg = h->env->loop->cfg;
    json_object_set_new(
        u, "url", json_string(cfg->upstream_urls[0] ? cfg->upstream_urls : cfg->upstream_url));
    json_object_set_new(u, "peers", health_peers_json(h->env->proxy));
    char addr[512];
    const char *dns_error = "";
    gw_proxy_upstream_addr(h->env->proxy, addr, sizeof(addr), &dns_error);
    json_object_set_new(u, "address", addr[0] ? json_string(addr) : json_null());
    json_object_set_new(u, "dns_error", dns_error[0] ? json_string(dns_error) : json_null());
    json_object_set_new(u, "reachable", json_boolean(h->reachable));
    json_object_set_new(u, "status", h->status ? json_integer(h->status) : json_null());
    json_object_set_new(u, "latency_ms", json_real(h->latency_ms));
    json_object_set_new(u, "version", h->version[0] ? json_string(h->version) : json_null());
    json_object_set_new(u, "error", h->error[0] ? json_string(h->error) : json_null());
    uint64_t age = (gw_mono_us() - h->checked_us) / 1000;
    json_object_set_new(u, "checked_ms_ago", json_integer((json_int_t)age));
    return u;
}

/* The cache as a whole (all workers) and this worker's Redis connection. Redis down is not a
 * health failure: the cache goes on without it. */
static json_t *health_cache_json(const gw_handler_env_t *env)
{
    json_t *c = json_object();
    json_object_set_new(c, "enabled", json_boolean(env->cache_shared != NULL));
    if (!env->cache_shared) return c;
    gw_cache_status_view_t st;
    gw_cache_get_status(env->cache_shared, &st);
    json_object_set_new(c, "state", json_string(gw_cache_state_name(st.state)));
    json_object_set_new(c, "caching", json_boolean(st.state != GW_CACHE_BYPASS));
    json_object_set_new(c, "reason", st.code[0] ? json_string(st.code) : json_null());
    json_object_set_new(c, "detail", st.detail[0] ? json_string(st.detail) : json_null());
    json_object_set_new(c, "state_since_seconds",
                        json_real((double)(gw_mono_us() - st.since_us) / 1e6));
    gw_cache_stats_t s;
    gw_cache_sum_stats(env->cache_shared, &s);
    uint64_t hits = s.l1_hits + s.l2_hits + s.coalesced, lookups = hits + s.misses;
    gw_l1_stats_t l1;
    gw_cache_get_l1_stats(env->cache_shared, &l1);
    json_object_set_new(c, "entries", json_integer((json_int_t)l1.entries));
    json_object_set_new(c, "bytes", json_integer((json_int_t)l1.bytes));
    json_object_set_new(c, "max_bytes", json_integer((json_int_t)l1.max_bytes));
    json_object_set_new(c, "hits", json_integer((json_int_t)hits));
    json_object_set_new(c, "lookups", json_integer((json_int_t)lookups));
    json_object_set_new(c, "hit_ratio",
                        lookups ? json_real((double)hits / (double)lookups) : json_null());
    gw_redis_t *redis = env->cache ? gw_cache_redis(env->cache) : NULL;
    json_t *rj = json_object();
    json_object_set_new(rj, "configured", json_boolean(redis != NULL));
    json_object_set_new(rj, "up", redis ? json_boolean(gw_redis_up(redis)) : json_null());
    if (redis) { /* the host name's current address, and why it did not resolve */
        char addr[512];
        const char *dns_error = "";
        gw_redis_address(redis, addr, sizeof(addr), &dns_error);
        json_object_set_new(rj, "address", addr[0] ? json_string(addr) : json_null());
        json_object_set_new(rj, "dns_error", dns_error[0] ? json_string(dns_error) : json_null());
    }
    char master[GW_SENTINEL_HOST_MAX + 8];
    int known = redis ? gw_redis_sentinel_master(redis, master, sizeof(master)) : -1;
    if (known >= 0) /* under Sentinel: the master it named last, null before one answers */
        json_object_set_new(rj, "master", known ? json_string(master) : json_null());
    json_object_set_new(c, "redis", rj);
    return c;
}

/* Which configuration answers, and how reloads went (SIGHUP). */
static json_t *health_config_json(const gw_proc_t *p)
{
    json_t *o = json_object();
    gw_life_t *life = p->life;
    json_object_set_new(o, "generation", json_integer(p->generation));
    json_object_set_new(o, "reloads", json_integer((json_int_t)atomic_load(&life->reloads_ok)));
    json_object_set_new(o, "reload_failures",
                        json_integer((json_int_t)atomic_load(&life->reloads_failed)));
    double last = atomic_load(&life->last_reload_wall);
    json_object_set_new(o, "last_reload", last > 0 ? json_real(last) : json_null());
    return o;
}

static void health_respond(gw_health_t *h, gw_req_t *r)
{
    const gw_handler_env_t *e = h->env;
    json_t *res = json_object();
    json_object_set_new(res, "status", json_string(h->reachable ? "ok" : "unavailable"));
    json_object_set_new(res, "version", json_string(GW_VERSION));
    json_object_set_new(res, "uptime_seconds",
                        json_real((double)(gw_mono_us() - e->proc->life->start_us) / 1e6));
    json_object_set_new(res, "workers", json_integer(e->proc->nworkers));
    json_object_set_new(res, "worker", json_integer(e->loop->id));
    json_object_set_new(res, "connections", json_integer(atomic_load(&e->proc->life->connections)));
    json_object_set_new(res, "config", health_config_json(e->proc));
    json_object_set_new(res, "upstream", health_upstream_json(h));
    json_object_set_new(res, "cache", health_cache_json(e));
    json_t *env = json_object();
    json_object_set_new(env, "result", res);
    if (h->reachable) {
        json_object_set_new(env, "status", json_string("ok"));
    } else {
        char msg[400];
        const gw_config_t *cfg = e->loop->cfg;
        snprintf(msg, sizeof(msg), "Service unavailable: upstream %s: %s",
                 cfg->upstream_urls[0] ? cfg->upstream_urls : cfg->upstream_url,
                 h->error[0] ? h->error : "not reachable");
        json_t *st = json_object();
        json_object_set_new(st, "error", json_string(msg));
        json_object_set_new(env, "status", st);
    }
    json_object_set_new(env, "time", json_real((double)(gw_mono_us() - r->start_us) / 1e6));
    char *body = json_dumps(env, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(env);
    if (body) {
        gw_req_respond(r, h->reachable ? 200 : 503, "application/json", body, strlen(body));
        free(body);
    } else {
        gw_req_respond_error(r, 500, "Service internal error: %s", "out of memory");
    }
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
}

static void health_on_probe(void *arg, int ok, long status, const char *body, size_t len,
                            double seconds, const char *error)
{
    gw_health_t *h = arg;
    h->probing = 0;
    h->checked_us = gw_mono_us();
    h->status = ok ? status : 0;
    h->latency_ms = seconds * 1000.0;
    h->reachable = ok && status == 200;
    h->version[0] = '\0';
    h->error[0] = '\0';
    if (!ok)
        snprintf(h->error, sizeof(h->error), "%s", error ? error : "request failed");
    else if (status != 200)
        snprintf(h->error, sizeof(h->error), "GET / answered %ld", status);
    if (ok && status == 200) {
        json_t *root = json_loadb(body, len, 0, NULL);
        const char *v = json_string_value(json_object_get(root, "version"));
        if (v) snprintf(h->version, sizeof(h->version), "%s", v);
        json_decref(root);
    }
    /* Answer in arrival order; each answer removes nothing from the array we walk. */
    size_t n = h->nwait;
    gw_req_t **list = h->waiting;
    h->waiting = NULL;
    h->nwait = h->cap = 0;
    for (size_t i = 0; i < n; i++)
        health_respond(h, list[i]);
    free(list);
}

static int health_enqueue(gw_health_t *h, gw_req_t *r)
{
    if (h->nwait == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        gw_req_t **p = realloc(h->waiting, cap * sizeof(*p));
        if (!p) return -1;
        h->waiting = p;
        h->cap = cap;
    }
    h->waiting[h->nwait++] = r;
    return 0;
}

void gw_health_handle(gw_health_t *h, gw_req_t *r)
{
    const gw_config_t *cfg = h->env->loop->cfg;
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        gw_req_respond_error(r, 405, "Method not allowed: %s %.*s (use GET)", r->method,
                             (int)r->path_len, r->path);
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    r->handler = &health_handler;
    r->handler_ctx = h;
    uint64_t now = gw_mono_us();
    if (h->checked_us && now - h->checked_us < cfg->upstream_health_interval_ms * 1000) {
        health_respond(h, r);
        return;
    }
    if (health_enqueue(h, r) != 0) {
        gw_req_respond_error(r, 500, "Service internal error: %s", "out of memory");
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    if (h->probing) return;
    h->probing = 1;
    uint64_t timeout = cfg->upstream_connect_timeout_ms + 1000;
    if (gw_proxy_fetch(h->env->proxy, "/", timeout, health_on_probe, h) != 0)
        health_on_probe(h, 0, 0, "", 0, 0.0, "cannot start the probe");
}

gw_health_t *gw_health_new(const gw_handler_env_t *env)
{
    gw_health_t *h = calloc(1, sizeof(*h));
    if (h) h->env = env;
    return h;
}

void gw_health_free(gw_health_t *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->nwait; i++) {
        gw_req_t *r = h->waiting[i];
        gw_req_respond_error(r, 503, "Service unavailable: %s", "shutting down");
        gw_req_release(r, GW_REQ_HANDLER);
    }
    free(h->waiting);
    free(h);
}
