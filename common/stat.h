/* Counters written by one thread and read by any: a relaxed load plus a relaxed store (no lock
 * prefix, no read-modify-write), so the owner pays what a plain ++ costs and a reader on another
 * thread (the metrics scrape) sees a whole value, never a torn one, without a data race. */
#ifndef GW_COMMON_STAT_H
#define GW_COMMON_STAT_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t gw_stat_t;

/* Owner thread only. */
static inline void gw_stat_add(gw_stat_t *s, uint64_t v)
{
    atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static inline void gw_stat_inc(gw_stat_t *s)
{
    gw_stat_add(s, 1);
}

/* Owner thread only; for gauges (the value never goes below what was added). */
static inline void gw_stat_dec(gw_stat_t *s)
{
    atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* Any thread. */
static inline uint64_t gw_stat_get(const gw_stat_t *s)
{
    return atomic_load_explicit((gw_stat_t *)s, memory_order_relaxed);
}

/* Latency histograms with one fixed set of bounds that resolve 50 us to 10 s. */
#define GW_HIST_BOUNDS 17
extern const uint64_t gw_hist_bounds_us[GW_HIST_BOUNDS];

typedef struct gw_hist {
    gw_stat_t bucket[GW_HIST_BOUNDS + 1]; /* not cumulative; the last is +Inf */
    gw_stat_t sum_us;
    gw_stat_t count;
} gw_hist_t;

/* The bucket index for a duration: the first bound >= us, or GW_HIST_BOUNDS (+Inf). */
static inline int gw_hist_index(uint64_t us)
{
    int lo = 0, hi = GW_HIST_BOUNDS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (us <= gw_hist_bounds_us[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Owner thread only. */
static inline void gw_hist_observe(gw_hist_t *h, uint64_t us)
{
    gw_stat_inc(&h->bucket[gw_hist_index(us)]);
    gw_stat_add(&h->sum_us, us);
    gw_stat_inc(&h->count);
}

#endif
