/* Whether the cache is caching, and if not why: one state per process, set by the workers'
 * alias-list fetches (and anything else that stops the cache), read by health and /metrics.
 * A change of state or reason is logged once (warn when caching stops or degrades, info when
 * it resumes), so an operator learns why reads say BYPASS without a debug log. */
#ifndef GW_CACHE_STATUS_H
#define GW_CACHE_STATUS_H

#include <stdint.h>

typedef enum gw_cache_state {
    GW_CACHE_ACTIVE = 0, /* caching normally */
    GW_CACHE_DEGRADED,   /* caching, with a weaker guarantee (e.g. no alias tracking) */
    GW_CACHE_BYPASS,     /* every cacheable read goes to Qdrant uncached */
} gw_cache_state_t;

typedef struct gw_cache_status gw_cache_status_t;

/* Starts in `st` with reason code/detail, without logging (the state before the first fetch).
 * NULL on out of memory. */
gw_cache_status_t *gw_cache_status_new(gw_cache_state_t st, const char *code, const char *detail);
void gw_cache_status_free(gw_cache_status_t *s);

/* Any thread. `code` is a short stable reason for metrics labels ([a-z0-9_], "" when active);
 * `detail` the sentence for logs and health. Logs when (state, code) differs from the current
 * one; a detail change alone (another timeout text, say) only updates what health shows. */
void gw_cache_status_set(gw_cache_status_t *s, gw_cache_state_t st, const char *code,
                         const char *detail);

typedef struct gw_cache_status_view {
    gw_cache_state_t state;
    char code[48];
    char detail[240];
    uint64_t since_us; /* gw_mono_us() of the last (state, code) change */
    uint64_t changes;  /* (state, code) changes since start */
} gw_cache_status_view_t;

/* Any thread: a consistent copy. */
void gw_cache_status_get(const gw_cache_status_t *s, gw_cache_status_view_t *out);

/* "active", "degraded", "bypass". */
const char *gw_cache_state_name(gw_cache_state_t st);

#endif
