/* Finding the Redis master through Redis Sentinel, on a worker's loop (hiredis 0.14 has no
 * Sentinel support). The Sentinels are asked in turn, `SENTINEL get-master-addr-by-name NAME`,
 * at start, every refresh_ms, whenever the subscription to `+switch-master` (kept on one of
 * them) comes up again, and when the client finds the address it was given is not a master any
 * more (gw_sentinel_recheck). A `+switch-master` message for NAME moves the master at once.
 * on_master runs whenever the known address changes (the first one included). Replies are
 * bounded like the client's (gateway/redis/reply.h); a Sentinel that answers garbage or nothing
 * within timeout_ms is dropped and the next one asked. */
#ifndef GW_REDIS_SENTINEL_H
#define GW_REDIS_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/redis_sentinel.h"

struct event_base;
typedef struct gw_sentinel gw_sentinel_t;

typedef struct gw_sentinel_opts {
    const gw_hostport_t *sentinels; /* IP literals */
    size_t n;
    const char *master_name;
    const char *password;    /* AUTH to the Sentinels; "" or NULL = none */
    uint32_t timeout_ms;     /* connect + answer, per Sentinel; 0 = 500 */
    uint32_t refresh_ms;     /* ask again this often; 0 = 10000 */
    uint32_t backoff_max_ms; /* between rounds when none answers; 0 = 5000 */
} gw_sentinel_opts_t;

typedef void (*gw_sentinel_master_cb)(void *arg, const gw_hostport_t *master);

/* Starts asking at once. NULL with err on invalid options or out of memory. on_master runs on
 * the loop's thread, from inside a callback of a Sentinel connection (never from this call). */
gw_sentinel_t *gw_sentinel_new(struct event_base *base, const gw_sentinel_opts_t *o,
                               gw_sentinel_master_cb on_master, void *arg, char *err,
                               size_t errlen);
/* Not from inside on_master. NULL is a no-op. */
void gw_sentinel_free(gw_sentinel_t *s);
/* 1 with the master's address in *out once one is known, else 0. */
int gw_sentinel_master(const gw_sentinel_t *s, gw_hostport_t *out);
/* The address given is not (or no longer) a master: ask the Sentinels again now. */
void gw_sentinel_recheck(gw_sentinel_t *s);

typedef struct gw_sentinel_stats {
    uint64_t queries;  /* Sentinels asked */
    uint64_t failures; /* asked and gave no usable answer */
    uint64_t switches; /* the known master address changed (the first included) */
    int subscribed;    /* listening for +switch-master */
} gw_sentinel_stats_t;
void gw_sentinel_get_stats(const gw_sentinel_t *s, gw_sentinel_stats_t *out);

#endif
