/* Per-worker memo of cache keys by raw request bytes: a repeated request (same method, path,
 * query, key headers and body bytes) skips parsing and canonicalising its JSON body, which for
 * a 768-dimension vector costs far more than the hit it leads to. XXH3 (not SHA-256: nothing
 * here leaves the process) picks the slot, and a hit is confirmed by comparing the stored
 * request bytes, so a collision can never return another request's key. Direct-mapped,
 * bounded in slots and bytes, no locks (one per worker). A miss here only means the key is
 * built the long way. */
#ifndef GW_CACHE_MEMO_H
#define GW_CACHE_MEMO_H

#include "gateway/cache/key.h"

typedef struct gw_ckey_memo gw_ckey_memo_t;

/* 2^slots_log2 slots holding at most max_bytes of request bytes between them. */
gw_ckey_memo_t *gw_ckey_memo_new(unsigned slots_log2, size_t max_bytes);
void gw_ckey_memo_free(gw_ckey_memo_t *m);
/* Request bytes held now (at most max_bytes). */
size_t gw_ckey_memo_bytes(const gw_ckey_memo_t *m);

/* gw_ckey_build through the memo: same result, same errors (failures are not memoised). */
int gw_ckey_build_memo(gw_ckey_memo_t *m, gw_ckey_t *k, const gw_req_t *r, const char *body,
                       size_t len, int per_credential, const char **why);

/* A 128-bit XXH3 of the same request bytes the memo compares (method, path, query, key
 * headers, credential or tenant, body): equal for repeats of one request, for cache.min_uses's
 * filter of requests seen. Not collision-resistant: fit only where a collision costs work,
 * never an answer. 0, or -1 out of memory. */
int gw_ckey_fingerprint(const gw_req_t *r, const char *body, size_t len, int per_credential,
                        unsigned char out[16]);

#endif
