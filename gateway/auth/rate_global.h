/* Global rate limits across gateway replicas: GCRA (the generic cell rate algorithm) in Redis,
 * one Lua script run with EVALSHA (EVAL when Redis answers NOSCRIPT), on one Redis client per
 * worker (auth.rate.redis_url, else cache.redis.url / cache.redis.sentinels) whose command
 * deadline is auth.rate.timeout. A limit's state is one key, PREFIX "rl:" NAME ":" r|w (the
 * key's name, never its secret; "rls:" SUBJECT for JWT subjects) holding the theoretical arrival
 * time in Redis's own clock (TIME: replicas' clocks do not matter), with a TTL that ends when the
 * limit is full again, so Redis never keeps a stale limiter key. The caller (rate.c) falls back to
 * the local limit whenever this cannot decide; outages are logged here once each (not per request).
 */
#ifndef GW_AUTH_RATE_GLOBAL_H
#define GW_AUTH_RATE_GLOBAL_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/core/config.h"
#include "gateway/core/loop.h"

/* The script: KEYS[1] the limit's key, ARGV[1] the emission interval in microseconds (one
 * request's cost, 60e6 / per minute), ARGV[2] the burst (>= 1). Answers "A R V": A 1 allowed
 * (and charged) or 0 refused, R microseconds until a request would be allowed (0 when
 * allowed), V the tokens left in thousandths. */
extern const char gw_rlg_script[];

/* What the script answered. */
typedef struct gw_rlg_verdict {
    int allowed;
    uint64_t retry_us;
    double available; /* tokens left (refused: the fraction of one there is) */
} gw_rlg_verdict_t;

#define GW_RLG_RETRY_MAX_US 86400000000ull  /* a day: more is not a reply of the script's */
#define GW_RLG_AVAIL_MAX    100000000000ull /* thousandths: the largest burst, 1e8 tokens */

/* Parses the script's reply strictly ("A R V", single spaces, decimal digits, A 0 or 1, R and
 * V within the bounds above, R 0 when allowed). 0, or -1 with why in err. */
int gw_rlg_parse_reply(const char *s, size_t len, gw_rlg_verdict_t *v, char *err, size_t errlen);

/* The limit's Redis key, PREFIX SPACE ":" NAME ":" r|w, into out: its length, or -1 when it
 * does not fit. Spaces: "rl" for gateway keys (by name), "rls" for JWT subjects. */
#define GW_RLG_SPACE_KEY     "rl"
#define GW_RLG_SPACE_SUBJECT "rls"
int gw_rlg_key(char *out, size_t cap, const char *prefix, const char *space, const char *name,
               int write);

/* Why Redis did not decide (GW_RLG_OK: it did). */
typedef enum {
    GW_RLG_OK,
    GW_RLG_DOWN,         /* not connected, or the connection was lost */
    GW_RLG_TIMEOUT,      /* no answer within auth.rate.timeout */
    GW_RLG_ERROR,        /* an error reply, or one that is not the script's */
    GW_RLG_BUSY,         /* too many requests waiting (auth.rate.max_parked, the client's cap) */
    GW_RLG_INLINE,       /* a request the gate cannot park (a gRPC message, an internal one) */
    GW_RLG_UNCONFIGURED, /* no Redis configured */
    GW_RLG_NSTATUS
} gw_rlg_status_t;

/* "down", "timeout", "error", "busy", "inline", "unconfigured" (metric labels). */
const char *gw_rlg_status_name(gw_rlg_status_t st);

typedef struct gw_rlg gw_rlg_t;

/* Process-wide. NULL with err "" when no Redis is configured (global limits then always fall
 * back: the caller logs that once), NULL with err filled on an invalid setting or out of memory. */
gw_rlg_t *gw_rlg_new(const gw_config_t *cfg, int nworkers, char *err, size_t errlen);
/* After every worker ended. NULL is a no-op. */
void gw_rlg_free(gw_rlg_t *g);
/* On the worker's thread, before it serves: the worker's client on its loop. 0 / -1 + err. */
int gw_rlg_worker_start(gw_rlg_t *g, gw_loop_t *loop, char *err, size_t errlen);
/* Before the worker's event base goes: frees its client (waiting asks hear GW_RLG_DOWN). */
void gw_rlg_worker_end(gw_rlg_t *g, int worker);

/* cb runs exactly once, later, on the worker's thread: GW_RLG_OK with the verdict, else why
 * Redis did not decide (v NULL). */
typedef void (*gw_rlg_cb)(void *arg, gw_rlg_status_t st, const gw_rlg_verdict_t *v);
/* Asks for one request under the limit (per_minute, burst) of `name` in `space`. 0: asked;
 * -1: not asked (cb will not run), why in *why. */
int gw_rlg_ask(gw_rlg_t *g, int worker, const char *space, const char *name, int write,
               int per_minute, int burst, gw_rlg_cb cb, void *arg, gw_rlg_status_t *why);

/* Workers whose limiter connection is up. Any thread (the metrics scrape). */
int gw_rlg_up(const gw_rlg_t *g);

#endif
