/* Which entries Redis may hold: a process-wide Bloom filter of the L2 keys this process and the
 * other replicas stored recently (each store is announced on the invalidation channel), so a
 * miss whose key nobody stored skips the Redis lookup and goes to Qdrant at once. Two halves
 * rotate every `period` (the longest TTL: Redis drops entries older than that), so the filter
 * forgets what expired. It answers "surely not" only once it has listened for a whole period
 * since it started or was reset (a lost subscription may have lost announcements); until then
 * every miss looks in Redis as before. A wrong "maybe" costs a lookup; a wrong "surely not"
 * (a race with a rotation) costs a Qdrant request, never a wrong answer. Any thread.
 * cache.min_uses uses one more, of request fingerprints (gw_ckey_fingerprint), complete from
 * the start: there an empty filter means "nothing seen yet". */
#ifndef GW_CACHE_L2FILTER_H
#define GW_CACHE_L2FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

typedef struct gw_l2filter gw_l2filter_t;

/* 2^bits_log2 bits per half (at least 2^10). NULL on out of memory. */
gw_l2filter_t *gw_l2filter_new(unsigned bits_log2, uint64_t period_us, uint64_t now_us);
void gw_l2filter_free(gw_l2filter_t *f);

/* key: the first 16 bytes of an entry's key (gw_ckey_t.base). */
void gw_l2filter_add(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us);
/* 0: nobody stored key within the last period, certainly; 1: maybe, or not yet complete. */
int gw_l2filter_may_have(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us);
/* Says "surely not" from now on, without first listening a whole period. */
void gw_l2filter_complete(gw_l2filter_t *f);
/* Adds key and returns what gw_l2filter_may_have said just before: 0 = first seen. */
int gw_l2filter_check_add(gw_l2filter_t *f, const unsigned char key[16], uint64_t now_us);
/* Announcements may have been lost: forget everything and start a new period. */
void gw_l2filter_reset(gw_l2filter_t *f, uint64_t now_us);

/* The announcement text for key ("KEYHEX", 32 hex digits) and its parser (0 / -1). */
void gw_l2filter_format(const unsigned char key[16], char out[33]);
int gw_l2filter_parse(const char *s, size_t len, unsigned char key[16]);

#endif
