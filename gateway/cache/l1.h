/* The in-process cache tier (L1): immutable, reference-counted answers keyed by a SHA-256
 * digest, in a byte-bounded LRU shared by every worker. Sharded so that workers rarely wait on
 * one another: each shard has its own lock, table, LRU list and 1/16 of the byte budget. */
#ifndef GW_CACHE_LRU_H
#define GW_CACHE_LRU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

/* A stored answer. Immutable once published; shared by reference. */
typedef struct gw_centry {
    unsigned char key[GW_DIGEST_LEN];
    atomic_uint refs;
    int status;
    uint64_t created_us;     /* monotonic time the answer was produced (for Age) */
    uint64_t expires_us;     /* monotonic: fresh before this */
    uint64_t stale_until_us; /* monotonic: usable for stale-if-error before this */
    const char *hdrs;        /* end-to-end header lines "Name: value\r\n"..., not NUL-ended */
    size_t hdrs_len;
    const char *body;
    size_t body_len;
    size_t charge; /* bytes counted against the budget */
    /* Owned by the shard. */
    struct gw_centry *hnext, *lru_prev, *lru_next;
} gw_centry_t;

/* One allocation holding the entry, a copy of hdrs and a copy of body; refs = 1 (the caller's).
 * NULL on OOM. */
gw_centry_t *gw_centry_new(const unsigned char key[GW_DIGEST_LEN], int status, const void *hdrs,
                           size_t hdrs_len, const void *body, size_t body_len, uint64_t created_us,
                           uint64_t ttl_us, uint64_t stale_us);
gw_centry_t *gw_centry_ref(gw_centry_t *e);
void gw_centry_unref(gw_centry_t *e);

typedef struct gw_l1 gw_l1_t;

typedef struct gw_l1_stats {
    uint64_t entries, bytes, max_bytes, evictions;
} gw_l1_stats_t;

/* max_bytes 0: a cache that stores nothing. NULL on OOM. */
gw_l1_t *gw_l1_new(size_t max_bytes);
void gw_l1_free(gw_l1_t *c);

/* The entry under key with a reference for the caller, fresh or stale (check expires_us), or
 * NULL. Entries past stale_until_us are dropped on the way. Moves the entry to the LRU head. */
gw_centry_t *gw_l1_get(gw_l1_t *c, const unsigned char key[GW_DIGEST_LEN], uint64_t now_us);
/* Stores e (taking a reference of its own), replacing any entry with the same key and evicting
 * least recently used entries until the shard fits. An entry bigger than a shard's budget is
 * not stored. Returns 1 if stored, 0 if not. */
int gw_l1_put(gw_l1_t *c, gw_centry_t *e);
/* Drops every entry (readers holding references keep theirs). */
void gw_l1_clear(gw_l1_t *c);
void gw_l1_get_stats(gw_l1_t *c, gw_l1_stats_t *out);

#endif
