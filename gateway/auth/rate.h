/* The access gate's rate limit step for gateway keys and JWT subjects: a local token bucket
 * per worker, key (or subject: a bounded table per worker) and kind (reads, writes), and a global
 * limit across replicas in Redis (rate_global.h). A request under a global limit is parked while
 * Redis decides; when Redis cannot (down, not configured, slower than auth.rate.timeout, too many
 * parked), the local limit decides instead (fail open to it). Counted per key name (never the
 * secret), kind, limit (local/global) and result. */
#ifndef GW_AUTH_RATE_H
#define GW_AUTH_RATE_H

#include "common/text.h"
#include "gateway/auth/keys.h"
#include "gateway/core/config.h"
#include "gateway/core/loop.h"
#include "gateway/http/request.h"

typedef struct gw_rate gw_rate_t;

/* Process-wide; NULL with err on out of memory or an invalid auth.rate setting. */
gw_rate_t *gw_rate_new(const gw_config_t *cfg, const gw_keys_t *keys, char *err, size_t errlen);
/* After every worker ended. NULL is a no-op. */
void gw_rate_free(gw_rate_t *rt);
/* The worker's Redis client (when a key has a global limit): before the worker serves, and
 * before its event base goes. */
int gw_rate_worker_start(gw_rate_t *rt, gw_loop_t *loop, char *err, size_t errlen);
void gw_rate_worker_end(gw_rate_t *rt, int worker);

/* A parked request's verdict: wait 0 allowed, else the seconds until a request would be, with
 * the tokens there are. The request is the caller's again (r->handler cleared). */
typedef void (*gw_rate_done_fn)(void *ctx, gw_req_t *r, double wait, double available);

/* Charges one request of key k, or when k is NULL of JWT subject `subject` (auth.jwt.rate.*;
 * NULL or "": no limit), under the write limit when write. 0: allowed; 1: limited, *wait and
 * *available filled (the caller answers 429); -1: parked (the request has no handler yet and
 * the gate took it), done(ctx, ...) runs later on this worker, exactly once, unless the client
 * leaves first (then the handler side is released here and done never runs). A request whose
 * handler keeps it (gRPC: r->handler set) parks only with a continuation (r->gate_wait.resume,
 * gw_dispatch_gate_async): its handler stays, and r->gate_wait.cancel is set while parked
 * (the handler ending first calls it; done never runs). Without one: the local limit decides
 * (reason "inline"). */
int gw_rate_admit(gw_rate_t *rt, gw_req_t *r, const gw_key_t *k, const char *subject, int write,
                  gw_rate_done_fn done, void *ctx, double *wait, double *available);

/* qdrant_gateway_rate_limit_* families, summed over the workers. Any thread. */
void gw_rate_render(const gw_rate_t *rt, gw_text_t *t);

#endif
