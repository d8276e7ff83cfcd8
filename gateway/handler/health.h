/* GET /api/v1/health: the gateway's own state plus Qdrant's reachability, latency and version,
 * from a probe that is shared by concurrent callers and reused for upstream.health_interval. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gateway/http/request.h"
#include "gateway/worker.h"

gw_health_t *gw_health_new(gw_worker_t *w);
/* Answers every request still waiting for a probe with 503 and frees. */
void gw_health_free(gw_health_t *h);
/* Takes the handler side of r and answers it (200 when Qdrant answers, 503 when not). */
void gw_health_handle(gw_health_t *h, gw_req_t *r);

#endif
