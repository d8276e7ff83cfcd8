/* The gateway API for model services: POST /api/v1/models/{model}/vectors/search and
 * .../search/batch (through the cache, as Qdrant query requests), GET /api/v1/models and
 * GET /api/v1/collections. Models come from the config (models.NAME.*, gateway/models.h). */
#ifndef GW_API_H
#define GW_API_H

#include "gateway/handler/env.h"
#include "gateway/http/request.h"

/* For a request routed GW_H_MODELS whose head is complete: takes the handler side of r and
 * answers it (now or later; 405 for another method, and the gateway API's 404 when the path is
 * none of the routes above). Worker thread only; env->models_memo is made on first use. */
void gw_models_api_handle(gw_handler_env_t *env, gw_req_t *r);

#endif
