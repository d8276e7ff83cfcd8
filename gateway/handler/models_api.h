/* The gateway API for model services: POST /api/v1/models/{model}/vectors/search and
 * .../search/batch (through the cache, as Qdrant query requests), GET /api/v1/models and
 * GET /api/v1/collections. Models come from the config (models.NAME.*, gateway/models.h). */
#ifndef GW_API_H
#define GW_API_H

#include "gateway/http/request.h"
#include "gateway/worker.h"

/* For a request routed GW_ROUTE_GATEWAY_API whose headers are complete: when its path is one of
 * the routes above, takes the handler side of r, answers it (now or later, 405 for another
 * method) and returns 1; otherwise returns 0 and leaves r alone. Worker thread only. */
int gw_api_handle(gw_worker_t *w, gw_req_t *r);

#endif
