/* GET /api/v1/health: the gateway's own state plus Qdrant's reachability, latency and version,
 * from a probe that is shared by concurrent callers and reused for upstream.health_interval. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gateway/http/request.h"
#include "gateway/handler/env.h"

typedef struct gw_health gw_health_t;

/* For one worker; env must outlive it. */
gw_health_t *gw_health_new(const gw_handler_env_t *env);
/* Answers every request still waiting for a probe with 503 and frees. */
void gw_health_free(gw_health_t *h);
/* GET (or HEAD) /api/v1/health: takes the handler side of r and answers it (200 when Qdrant
 * answers, 503 when not); 405 for other methods. */
void gw_health_handle(gw_health_t *h, gw_req_t *r);

#endif
