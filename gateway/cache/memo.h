/* Per-worker memo of cache keys by raw request bytes: a repeated request (same method, path,
 * query, key headers and body bytes) skips parsing and canonicalising its JSON body, which for
 * a 768-dimension vector costs far more than the hit it leads to. Direct-mapped, bounded, no
 * locks (one per worker). A miss here only means the key is built the long way. */
#ifndef GW_CACHE_MEMO_H
#define GW_CACHE_MEMO_H

#include "gateway/cache/key.h"

typedef struct gw_ckey_memo gw_ckey_memo_t;

gw_ckey_memo_t *gw_ckey_memo_new(unsigned slots_log2);
void gw_ckey_memo_free(gw_ckey_memo_t *m);

/* gw_ckey_build through the memo: same result, same errors (failures are not memoised). */
int gw_ckey_build_memo(gw_ckey_memo_t *m, gw_ckey_t *k, const gw_req_t *r, const char *body,
                       size_t len, int per_credential, const char **why);

#endif
