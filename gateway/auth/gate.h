/* The access gate: runs before every handler (gw_dispatch's gate) when auth is on, on every
 * protocol. It finds the credential the way Qdrant does (api-key, else Authorization:
 * Bearer), identifies it (a gateway key by SHA-256, Qdrant's api_key itself, or a JWT),
 * checks what the route needs, and answers 401/403 with Qdrant's texts before Qdrant is
 * asked. Allowed requests go on with r->authz set; for gateway keys the client's credential
 * headers are dropped so upstream.api_key is sent instead. */
#ifndef GW_AUTH_GATE_H
#define GW_AUTH_GATE_H

#include <stddef.h>

#include "common/text.h"
#include "gateway/cache/cache.h"
#include "gateway/core/loop.h"
#include "gateway/core/config.h"
#include "gateway/http/request.h"

typedef struct gw_auth gw_auth_t;

/* 1 when cfg turns access control on (auth.jwt.enabled, or at least one auth.keys entry). */
int gw_auth_configured(const gw_config_t *cfg);

/* Process-wide, read-only once built. cache (may be NULL) lends its alias map, so that a key's
 * allowlist covers aliases of its collections. NULL with err on failure. */
gw_auth_t *gw_auth_new(const gw_config_t *cfg, gw_cache_shared_t *cache, char *err, size_t errlen);
void gw_auth_free(gw_auth_t *a);

/* A worker's part (the Redis client of global rate limits): on the worker's loop before it
 * serves, and before its event base goes. a NULL: no-ops. */
int gw_auth_worker_start(gw_auth_t *a, gw_loop_t *loop, char *err, size_t errlen);
void gw_auth_worker_end(gw_auth_t *a, int worker);

/* The access gate's metric families (rate limits). Any thread; a NULL: none. */
void gw_auth_render_metrics(const gw_auth_t *a, gw_text_t *t);

/* A gw_gate_fn (ctx: the gw_auth_t): 0 to go on, 1 when it answered (and released), -1 when
 * the request waits for a global rate limit's verdict (Redis). */
int gw_auth_gate(void *ctx, gw_req_t *r);

#endif
