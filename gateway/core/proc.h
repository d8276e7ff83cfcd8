/* What the whole process shares, read-only once the workers run (except the atomics): the
 * configuration, start times and every worker's loop, for the health and metrics handlers. */
#ifndef GW_CORE_PROC_H
#define GW_CORE_PROC_H

#include <stdatomic.h>
#include <stdint.h>

#include "gateway/core/config.h"
#include "gateway/core/loop.h"

typedef struct gw_proc {
    const gw_config_t *cfg;
    int nworkers;
    atomic_int connections; /* open client connections, all workers */
    uint64_t start_us;      /* monotonic start time, for uptime */
    double start_wall;      /* process start, seconds since the epoch */
    gw_loop_t **loops;      /* every worker's loop (nworkers of them), for the scrape */
} gw_proc_t;

#endif
