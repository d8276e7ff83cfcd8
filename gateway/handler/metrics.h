/* GET /metrics: the gateway's own counters (summed across workers), every configured Qdrant
 * node's /metrics re-exported with an upstream label, and Redis INFO, in one scrape. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>

#include "gateway/http/request.h"
#include "gateway/core/config.h"
#include "gateway/handler/env.h"

typedef struct gw_metrics_shared gw_metrics_shared_t;

/* Process-wide: the node list and the short-lived cache of their texts. NULL with err. */
gw_metrics_shared_t *gw_metrics_shared_new(const gw_config_t *cfg, char *err, size_t errlen);
void gw_metrics_shared_free(gw_metrics_shared_t *m);

/* Takes the handler side of r and answers it once every source has answered or timed out. */
void gw_metrics_handle(const gw_handler_env_t *env, gw_req_t *r);

#endif
