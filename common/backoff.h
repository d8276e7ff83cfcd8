/* Retry delays that double from a minimum to a cap, with "equal jitter" (half the delay fixed,
 * half random) so that workers and replicas retrying the same peer spread out. Not thread-safe:
 * one per retrying thing. */
#ifndef GW_COMMON_BACKOFF_H
#define GW_COMMON_BACKOFF_H

#include <stdint.h>

typedef struct gw_backoff {
    uint64_t min_ms, max_ms; /* 0 < min_ms <= max_ms */
    uint64_t cur_ms;         /* the next delay before jitter; 0 = min_ms */
    uint32_t rnd;            /* xorshift32 state; any non-zero seed */
} gw_backoff_t;

static inline void gw_backoff_init(gw_backoff_t *b, uint64_t min_ms, uint64_t max_ms, uint32_t seed)
{
    b->min_ms = min_ms ? min_ms : 1;
    b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
    b->cur_ms = 0;
    b->rnd = seed ? seed : 0x9e3779b9u;
}

/* The delay to wait now, in [cur/2, cur]; the next one doubles, up to max_ms. */
static inline uint64_t gw_backoff_next(gw_backoff_t *b)
{
    uint64_t cur = b->cur_ms ? b->cur_ms : b->min_ms;
    b->cur_ms = cur > b->max_ms / 2 ? b->max_ms : cur * 2;
    uint32_t x = b->rnd;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->rnd = x;
    return cur / 2 + x % (cur - cur / 2 + 1);
}

/* After a success: the next failure waits min_ms again. */
static inline void gw_backoff_reset(gw_backoff_t *b)
{
    b->cur_ms = 0;
}

#endif
