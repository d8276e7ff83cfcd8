/* GraphQL at /graphql: GET/HEAD without a query answers the schema in SDL; GET ?query= (queries
 * only) and POST application/json execute, each root field as internal Qdrant requests
 * (gateway/handler/subreq.h) through the cache like any client's request (reads cached and
 * coalesced, mutations invalidating). Query root fields run concurrently, mutation root fields
 * one after the other (spec 6.2.2). Responses per GraphQL over HTTP: application/graphql-
 * response+json when accepted (400 without data), else application/json with 200. */
#ifndef GW_HANDLER_GRAPHQL_API_H
#define GW_HANDLER_GRAPHQL_API_H

#include "gateway/handler/env.h"
#include "gateway/http/request.h"

/* For a request routed GW_H_GRAPHQL whose head is complete: takes its handler side. */
void gw_graphql_handle(gw_handler_env_t *env, gw_req_t *r);

#endif
