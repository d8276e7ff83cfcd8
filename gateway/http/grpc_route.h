/* The gRPC side of the router: Qdrant 1.19's public RPCs (proto/qdrant: qdrant.Collections,
 * qdrant.Points, qdrant.Snapshots, qdrant.Qdrant, grpc.health.v1.Health) by their HTTP/2 path,
 * each with the class, flags and operation of its REST twin ("/qdrant.Points/Search" is
 * search_points, a cacheable read), so access rules, invalidation and metrics treat both APIs
 * alike. Every gRPC request is handled by GW_H_GRPC. */
#ifndef GW_HTTP_GRPC_ROUTE_H
#define GW_HTTP_GRPC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http/router.h"

/* gw_route_t.flags of a gRPC row (never on REST rows): the request message's field 1 is its
 * collection_name, which access rules and cache keys treat like a REST path's collection. */
#define GW_ROUTE_F_GRPC_COLL 0x100

/* Field 1 of a protobuf message when it is length-delimited (collection_name in every request
 * with GW_ROUTE_F_GRPC_COLL): 1 with *name, *name_len a view into msg, 0 when absent, -1 when the
 * message does not parse that far. The last field 1 wins, as in protobuf. */
int gw_grpc_field1(const uint8_t *msg, size_t len, const uint8_t **name, size_t *name_len);
/* 1 when field 2 of the message is a varint other than 0: `optional bool wait = 2`, true, in
 * every point write (the rows with GW_ROUTE_F_WAIT_DEFAULT_FALSE); 0 when false, absent, or the
 * message does not parse. */
int gw_grpc_wait_true(const uint8_t *msg, size_t len);

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
