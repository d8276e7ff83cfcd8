/* The gRPC side of the router: Qdrant 1.19's public RPCs (proto/qdrant: qdrant.Collections,
 * qdrant.Points, qdrant.Snapshots, qdrant.Qdrant, grpc.health.v1.Health) by their HTTP/2 path,
 * each with the class, flags and operation of its REST twin ("/qdrant.Points/Search" is
 * search_points, a cacheable read), so access rules, invalidation and metrics treat both APIs
 * alike. Every gRPC request is handled by GW_H_GRPC. */
#ifndef GW_HTTP_GRPC_ROUTE_H
#define GW_HTTP_GRPC_ROUTE_H

#include <stddef.h>

#include "gateway/http/router.h"

/* A gRPC request's content-type: "application/grpc", or that followed by '+' or ';'. */
int gw_grpc_is_content_type(const char *v, size_t len);

/* Fills *out for path ("/qdrant.Points/Search", exact bytes: gRPC paths are never encoded) and
 * returns the static "/package.Service/Method" string of the RPC, or NULL when no public RPC has
 * that path (out->cls NOT_FOUND, op NULL: the handler answers UNIMPLEMENTED, as Qdrant does).
 * out->handler is GW_H_GRPC either way; out->collection stays NULL (the collection is in the
 * message). */
const char *gw_grpc_route(const char *path, size_t len, gw_route_t *out);

/* The RPCs in table order (for metrics labels): how many, and the i-th's path. */
size_t gw_grpc_method_count(void);
const char *gw_grpc_method_name(size_t i);
/* The index of method (a pointer gw_grpc_route returned) in gw_grpc_methods, or -1. */
int gw_grpc_method_index(const char *method);

#endif
