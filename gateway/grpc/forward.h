/* The handler of gRPC requests (GW_H_GRPC): the request message gathered and checked (framing,
 * message size: limits.max_body_bytes), forwarded to Qdrant's gRPC port with its metadata, the
 * answer relayed as it comes (head, messages, trailers) with Qdrant's window credited only as the
 * client drains, grpc-timeout bounding the exchange, and gateway-made failures as trailers-only
 * answers (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INVALID_ARGUMENT, INTERNAL,
 * UNIMPLEMENTED) whose grpc-message names the cause. */
#ifndef GW_GRPC_FORWARD_H
#define GW_GRPC_FORWARD_H

#include <stddef.h>

#include "gateway/grpc/client.h"
#include "gateway/http/request.h"

struct gw_cache;

/* What the handler works with on one worker. */
typedef struct gw_grpc_env {
    gw_grpc_pool_t *pool;
    struct gw_cache *cache; /* NULL when cache.enabled is false */
} gw_grpc_env_t;

/* Takes the handler side of r (a request with r->grpc set) and answers it: reads of
 * qdrant.Points from the cache when they can be (gateway/cache/rpc.h, x-cache: HIT/MISS as
 * response metadata), everything else through env->pool; writes bump the cache's generations. */
void gw_grpc_forward(gw_grpc_env_t *env, gw_req_t *r);

/* A trailers-only answer: HTTP 200, content-type application/grpc, grpc-status code and, when
 * msg is not empty, grpc-message (percent-encoded). Ends the response (codec->finish). */
void gw_grpc_respond_status(gw_req_t *r, int code, const char *msg);

#endif
