/* Global rate limits in Redis; see rate_global.h. */
#include "gateway/auth/rate_global.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "gateway/redis/client.h"

/* GCRA: tat (theoretical arrival time) advances by T per request allowed; a request is allowed
 * while tat - now <= tau - T, tau = T * burst, so a fresh limit allows `burst` at once and then
 * one per T. Numbers are doubles in Redis's Lua (exact below 2^53 us, 285 years); string.format
 * %d keeps every digit where tostring would round. TIME before a write needs effects replication
 * (the default since Redis 5; replicate_commands asks for it on older ones). */
const char gw_rlg_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T = tonumber(ARGV[1])\n"
    "local tau = T * tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1])) or now\n"
    "if tat < now then tat = now end\n"
    "local new = tat + T\n"
    "if new - tau > now then\n"
    "  local avail = math.floor((tau - (tat - now)) * 1000 / T)\n"
    "  if avail < 0 then avail = 0 end\n"
    "  return string.format('0 %d %d', math.ceil(new - tau - now), avail)\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%d', new), 'PX',\n"
    "           string.format('%d', math.ceil((new - now) / 1000) + 1))\n"
    "return string.format('1 0 %d', math.floor((tau - (new - now)) * 1000 / T))\n";

const char *gw_rlg_status_name(gw_rlg_status_t st)
{
    static const char *const n[GW_RLG_NSTATUS] = {"ok",   "down",   "timeout",     "error",
                                                  "busy", "inline", "unconfigured"};
    return (unsigned)st < GW_RLG_NSTATUS ? n[st] : "?";
}

/* ---- the reply --------------------------------------------------------------------------- */

/* A decimal number at *p (no sign, no leading zeros but "0", at most max): 0, or -1. */
static int parse_num(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s == end || *s < '0' || *s > '9') return -1;
    if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9') return -1;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (d > max || v > (max - d) / 10) return -1; /* v * 10 + d > max */
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

int gw_rlg_parse_reply(const char *s, size_t len, gw_rlg_verdict_t *v, char *err, size_t errlen)
{
    const char *p = s, *end = s + len;
    uint64_t a, r, av;
    if (!s || !len) return gw_errf(err, errlen, "empty rate limit reply");
    if (len > 64) return gw_errf(err, errlen, "rate limit reply of %zu bytes (at most 64)", len);
    if (parse_num(&p, end, 1, &a) != 0 || p == end || *p++ != ' ')
        return gw_errf(err, errlen, "rate limit reply: the first field must be 0 or 1");
    if (parse_num(&p, end, GW_RLG_RETRY_MAX_US, &r) != 0 || p == end || *p++ != ' ')
        return gw_errf(err, errlen,
                       "rate limit reply: the second field must be microseconds up to a day");
    if (parse_num(&p, end, GW_RLG_AVAIL_MAX, &av) != 0)
        return gw_errf(err, errlen,
                       "rate limit reply: the third field must be thousandths of "
                       "tokens up to 1e11");
    if (p != end) return gw_errf(err, errlen, "rate limit reply: bytes after the third field");
    if (a && r) return gw_errf(err, errlen, "rate limit reply: allowed with a retry time");
    if (!a && !r) return gw_errf(err, errlen, "rate limit reply: refused without a retry time");
    v->allowed = (int)a;
    v->retry_us = r;
    v->available = (double)av / 1000.0;
    return 0;
}

int gw_rlg_key(char *out, size_t cap, const char *prefix, const char *space, const char *name,
               int write)
{
    int n = snprintf(out, cap, "%s%s:%s:%c", prefix, space, name, write ? 'w' : 'r');
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ---- the clients ------------------------------------------------------------------------- */

struct gw_rlg {
    gw_redis_opts_t opts;
    const char *prefix;
    char sha[41]; /* the script's SHA-1, hex */
    int nworkers;
    _Atomic(gw_redis_t *) *client; /* [worker], written by the worker only */
    atomic_int outage;             /* a fallback was logged and Redis has not decided since */
    char where[300];               /* for the log: the URL's host:port or the master's name */
};

/* One question in flight (the key and its arguments, to send them again with EVAL). */
typedef struct ask {
    gw_rlg_t *g;
    int worker;
    int evaled; /* EVAL was sent (after NOSCRIPT) */
    gw_rlg_cb cb;
    void *arg;
    char key[320], interval[24], burst[24];
} ask_t;

static int build_opts(gw_rlg_t *g, const gw_config_t *cfg, char *err, size_t errlen)
{
    gw_redis_opts_t *o = &g->opts;
    const char *url = cfg->auth_rate_redis_url[0] ? cfg->auth_rate_redis_url
                      : cfg->cache_redis_url[0]   ? cfg->cache_redis_url
                                                  : "redis://127.0.0.1";
    const char *what = cfg->auth_rate_redis_url[0] ? "auth.rate.redis_url" : "cache.redis.url";
    if (!cfg->auth_rate_redis_url[0] && cfg->cache_redis_sentinels[0]) {
        if (gw_sentinel_parse_list(cfg->cache_redis_sentinels, o->sentinels, GW_SENTINEL_MAX,
                                   &o->nsentinels, err, errlen) != 0)
            return -1;
        if (strlen(cfg->cache_redis_sentinel_password) >= sizeof(o->sentinel_password))
            return gw_errf(err, errlen, "cache.redis.sentinel_password: longer than 255 bytes");
        snprintf(o->master_name, sizeof(o->master_name), "%s", cfg->cache_redis_master_name);
        snprintf(o->sentinel_password, sizeof(o->sentinel_password), "%s",
                 cfg->cache_redis_sentinel_password);
    }
    char msg[256];
    if (gw_redis_parse_url(url, o, msg, sizeof(msg)) != 0)
        return gw_errf(err, errlen, "%s: %s", what, msg);
    o->connect_timeout_ms = (uint32_t)cfg->cache_redis_connect_timeout_ms;
    o->command_timeout_ms = (uint32_t)cfg->auth_rate_timeout_ms;
    o->max_pending = (uint32_t)cfg->auth_rate_max_parked + 16; /* + keepalive PINGs */
    o->max_reply_bytes = 4096;
    if (o->nsentinels)
        snprintf(g->where, sizeof(g->where), "master %s", o->master_name);
    else
        snprintf(g->where, sizeof(g->where), strchr(o->host, ':') ? "[%s]:%d" : "%s:%d",
                 o->host[0] ? o->host : "127.0.0.1", o->port ? o->port : 6379);
    return 0;
}

gw_rlg_t *gw_rlg_new(const gw_config_t *cfg, int nworkers, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    if (!cfg->auth_rate_redis_url[0] && !cfg->cache_redis_url[0] && !cfg->cache_redis_sentinels[0])
        return NULL;
    gw_rlg_t *g = calloc(1, sizeof(*g));
    if (!g || !(g->client = calloc((size_t)nworkers, sizeof(*g->client)))) {
        free(g);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->nworkers = nworkers;
    g->prefix = cfg->cache_redis_prefix;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (build_opts(g, cfg, err, errlen) != 0 ||
        !EVP_Digest(gw_rlg_script, strlen(gw_rlg_script), md, &mdlen, EVP_sha1(), NULL) ||
        mdlen != 20) {
        if (!err[0]) snprintf(err, errlen, "auth.rate: cannot hash the rate limit script");
        gw_rlg_free(g);
        return NULL;
    }
    for (unsigned i = 0; i < 20; i++)
        snprintf(g->sha + 2 * i, 3, "%02x", md[i]);
    return g;
}

void gw_rlg_free(gw_rlg_t *g)
{
    if (!g) return;
    for (int i = 0; g->client && i < g->nworkers; i++)
        gw_rlg_worker_end(g, i);
    free(g->client);
    free(g);
}

int gw_rlg_worker_start(gw_rlg_t *g, gw_loop_t *loop, char *err, size_t errlen)
{
    if (!g || loop->id < 0 || loop->id >= g->nworkers) return 0;
    gw_redis_opts_t o = g->opts;
    o.dns = loop->dns;
    char why[256];
    gw_redis_t *r = gw_redis_new(loop->base, &o, why, sizeof(why));
    if (!r) return gw_errf(err, errlen, "rate limits: Redis client: %s", why);
    atomic_store(&g->client[loop->id], r);
    return 0;
}

void gw_rlg_worker_end(gw_rlg_t *g, int worker)
{
    if (!g || worker < 0 || worker >= g->nworkers) return;
    gw_redis_t *r = atomic_exchange(&g->client[worker], NULL);
    gw_redis_free(r); /* waiting asks hear GW_REDIS_DOWN */
}

int gw_rlg_up(const gw_rlg_t *g)
{
    int n = 0;
    for (int i = 0; g && i < g->nworkers; i++) {
        gw_redis_t *r = atomic_load(&g->client[i]);
        if (!r) continue;
        gw_redis_stats_t s;
        gw_redis_get_stats(r, &s);
        n += s.up != 0;
    }
    return n;
}

/* ---- asking ------------------------------------------------------------------------------ */

/* Redis decided, or could not: an outage is logged when it starts and when it ends. */
static void note(gw_rlg_t *g, gw_rlg_status_t st, const char *detail)
{
    if (st == GW_RLG_OK) {
        if (atomic_exchange(&g->outage, 0))
            gw_log_info("rate limits: Redis %s decides again: global limits apply", g->where);
    } else if (st != GW_RLG_BUSY && !atomic_exchange(&g->outage, 1)) {
        gw_log_warn("rate limits: Redis %s cannot decide (%s%s%s): local limits apply until it "
                    "does (fail open)",
                    g->where, gw_rlg_status_name(st), detail ? ": " : "", detail ? detail : "");
    }
}

static int send_ask(ask_t *k, int eval);

static void on_reply(void *arg, gw_redis_status_t st, const char *data, size_t len,
                     long long integer)
{
    (void)integer;
    ask_t *k = arg;
    gw_rlg_t *g = k->g;
    gw_rlg_status_t out = GW_RLG_ERROR;
    gw_rlg_verdict_t v;
    char why[160];
    snprintf(why, sizeof(why), "%.*s", (int)(len < 120 ? len : 120), data ? data : "");
    if (st == GW_REDIS_ERROR && !k->evaled && data && len >= 8 &&
        memcmp(data, "NOSCRIPT", 8) == 0) {
        if (send_ask(k, 1) == 0) return; /* the first use on this Redis: EVAL loads it */
        out = GW_RLG_DOWN;
    } else if (st == GW_REDIS_OK) {
        out = gw_rlg_parse_reply(data, len, &v, why, sizeof(why)) == 0 ? GW_RLG_OK : GW_RLG_ERROR;
    } else if (st == GW_REDIS_TIMEOUT) {
        out = GW_RLG_TIMEOUT;
    } else if (st == GW_REDIS_DOWN) {
        out = GW_RLG_DOWN;
    } else if (st == GW_REDIS_NIL) {
        snprintf(why, sizeof(why), "a nil reply");
    }
    note(g, out, out == GW_RLG_ERROR ? why : NULL);
    k->cb(k->arg, out, out == GW_RLG_OK ? &v : NULL);
    free(k);
}

static int send_ask(ask_t *k, int eval)
{
    gw_redis_t *r = atomic_load(&k->g->client[k->worker]);
    if (!r || !gw_redis_up(r)) return -1;
    const char *argv[6] = {eval ? "EVAL" : "EVALSHA",
                           eval ? gw_rlg_script : k->g->sha,
                           "1",
                           k->key,
                           k->interval,
                           k->burst};
    k->evaled = eval;
    return gw_redis_command(r, on_reply, k, 6, argv, NULL);
}

int gw_rlg_ask(gw_rlg_t *g, int worker, const char *space, const char *name, int write,
               int per_minute, int burst, gw_rlg_cb cb, void *arg, gw_rlg_status_t *why)
{
    *why = GW_RLG_UNCONFIGURED;
    if (!g || worker < 0 || worker >= g->nworkers || per_minute <= 0) return -1;
    ask_t *k = calloc(1, sizeof(*k));
    if (!k) {
        *why = GW_RLG_BUSY;
        return -1;
    }
    *k = (ask_t){.g = g, .worker = worker, .cb = cb, .arg = arg};
    uint64_t interval = (uint64_t)(60e6 / per_minute + 0.5);
    snprintf(k->interval, sizeof(k->interval), "%llu",
             (unsigned long long)(interval ? interval : 1));
    snprintf(k->burst, sizeof(k->burst), "%d", burst < 1 ? 1 : burst);
    if (gw_rlg_key(k->key, sizeof(k->key), g->prefix, space, name, write) < 0) {
        free(k);
        *why = GW_RLG_ERROR;
        return -1;
    }
    if (send_ask(k, 0) == 0) return 0;
    gw_redis_t *r = atomic_load(&g->client[worker]);
    *why = r && gw_redis_up(r) ? GW_RLG_BUSY : GW_RLG_DOWN;
    note(g, *why, NULL);
    free(k);
    return -1;
}
