/* What the whole process shares, read-only once the workers run (except the atomics): the
 * configuration, the process's lifetime counters and every worker's loop, for the health and
 * metrics handlers. */
#ifndef GW_CORE_PROC_H
#define GW_CORE_PROC_H

#include <stdatomic.h>
#include <stdint.h>

#include "gateway/core/config.h"
#include "gateway/core/loop.h"

/* What outlives configuration reloads: one per process. */
typedef struct gw_life {
    atomic_int connections; /* open client connections, all workers of every configuration */
    uint64_t start_us;      /* monotonic start time, for uptime */
    double start_wall;      /* process start, seconds since the epoch */
    atomic_uint_fast64_t reloads_ok, reloads_failed; /* SIGHUP outcomes */
    _Atomic double last_reload_wall;                 /* last successful reload, 0 = never */
    atomic_uint generation;                          /* the one serving: 1, +1 per reload */
} gw_life_t;

typedef struct gw_proc {
    const gw_config_t *cfg;
    int nworkers;
    gw_life_t *life;
    unsigned generation; /* which configuration this is (gw_life_t.generation when built) */
    gw_loop_t **loops;   /* every worker's loop (nworkers of them), for the scrape */
} gw_proc_t;

#endif
