/* Routing entry points of fake_qdrant, plugged into the HTTP layer's callbacks: route lookup and
 * body mode at header time, then faults, auth, body extraction, latency and the handler. */
#ifndef FQ_ROUTER_H
#define FQ_ROUTER_H

#include "fq_app.h"

void fq_router_on_headers(fq_http_req_t *req, void *app);
void fq_router_on_request(fq_http_req_t *req, void *app);

#endif
