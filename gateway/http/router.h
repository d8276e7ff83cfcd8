/* Classifies a request (method + path) into what the gateway must do with it: serve its own
 * /api/v1 API, or forward to Qdrant as a cacheable read, a volatile read or a write. */
#ifndef GW_GATEWAY_ROUTER_H
#define GW_GATEWAY_ROUTER_H

#include <stddef.h>
#include <sys/types.h>

typedef enum {
    GW_ROUTE_NOT_FOUND = 0, /* not a Qdrant route: the gateway still forwards it (Qdrant 404s) */
    GW_ROUTE_GATEWAY_API,   /* /api/v1/... served by the gateway */
    GW_ROUTE_QDRANT_READ,   /* read-only Qdrant operation returning data (cacheable class) */
    GW_ROUTE_QDRANT_READ_VOLATILE, /* read-only but never cacheable: telemetry, metrics, health,
                                      cluster, issues, optimizations, snapshots, root, ... */
    GW_ROUTE_QDRANT_WRITE,         /* changes stored data */
} gw_route_class_t;

/* gw_route_t.flags */
enum {
    /* Large binary transfer (snapshot download/upload): stream it, no total timeout. */
    GW_ROUTE_F_STREAM = 1,
    /* A write whose effect is not limited to the path collection (aliases, cluster ops,
     * collection create/delete/recover also change global lists): invalidate everything. */
    GW_ROUTE_F_ALL_COLLECTIONS = 2,
    /* Point write whose `wait` defaults to false (acknowledged before applied). */
    GW_ROUTE_F_WAIT_DEFAULT_FALSE = 4,
    /* A write that changes nothing a cacheable read returns (snapshot files, issues, quotas,
     * logger/debugger config, cluster metadata): no invalidation needed. Never set together
     * with GW_ROUTE_F_ALL_COLLECTIONS. */
    GW_ROUTE_F_NO_INVALIDATE = 8,
};

/* Who serves a route: each router row names one, the worker fills a table of them once at
 * startup (gateway/http/dispatch.h), and codecs hand every request to its row's handler. */
typedef enum {
    GW_H_FORWARD = 0,   /* a Qdrant route: through the cache when it is on, else the proxy */
    GW_H_METRICS,       /* GET /metrics: the gateway's own scrape (forwarded when off) */
    GW_H_HEALTH,        /* /api/v1/health */
    GW_H_PURGE,         /* /api/v1/cache/purge */
    GW_H_MODELS,        /* /api/v1/models..., /api/v1/collections */
    GW_H_GRAPHQL,       /* /graphql */
    GW_H_API_NOT_FOUND, /* any other /api/v1/ path: 404, never forwarded */
    GW_H_GRPC,          /* a gRPC request (gateway/http/grpc_route.h): gateway/grpc/ */
    GW_H_COUNT
} gw_handler_id_t;

typedef struct gw_route {
    gw_route_class_t cls;
    gw_handler_id_t handler;
    /* Static string: the openapi operationId (e.g. "query_points"), or for routes absent from
     * the spec a stable name ("search_points", "recommend_points", ...); "gateway_api" for
     * GATEWAY_API; NULL when NOT_FOUND. */
    const char *op;
    /* View into `path`: the {collection_name} segment, still percent-encoded (see
     * gw_route_decode_param); NULL if the route has none. */
    const char *collection;
    size_t collection_len;
    unsigned flags;
} gw_route_t;

/* Returns the class (also stored in out->cls); fills every field of *out.
 * `path` excludes the query string and is an origin-form target ("/collections/c"); anything
 * else (absolute-form, "*", empty) is NOT_FOUND. `method` is case-sensitive, as in actix
 * ("POST"; HEAD matches no GET route). Neither input needs a NUL terminator; reads stay within
 * the given lengths. Never allocates; thread-safe (each thread memoises its last 64 answers for
 * paths up to 120 bytes).
 *
 * The path is seen the way Qdrant's actix router sees it, so that the gateway and Qdrant agree
 * on which operation runs (a disagreement on a write would leave stale cache entries):
 * - NormalizePath::trim(): runs of '/' are merged and trailing slashes dropped, so
 *   "/collections//c/points/" routes like "/collections/c/points";
 * - fixed segments match after percent-decoding ("/collections/c/points/%73croll" is scroll),
 *   except that %2F never splits a segment;
 * - first matching row wins, in actix registration order where two rows could both match. */
gw_route_class_t gw_route_classify(const char *method, size_t method_len, const char *path,
                                   size_t path_len, gw_route_t *out);

/* "not_found", "gateway_api", "read", "read_volatile", "write"; "unknown" for other values.
 * Static strings, for metrics labels. */
const char *gw_route_class_name(gw_route_class_t cls);

/* Decodes a path parameter (e.g. gw_route_t.collection) to the name Qdrant uses, so that
 * "my%20coll" and "my coll" share cache keys: actix requotes the path (every %XX but %25, %2F
 * and %2B decoded), then percent-decodes the parameter. Invalid escapes stay as they are.
 * Writes at most `cap` bytes to `out` (not NUL-terminated).
 * Returns the decoded length, or -1 if it would not fit in `cap`. */
ssize_t gw_route_decode_param(const char *in, size_t len, char *out, size_t cap);
/* The inverse for internal requests: "/collections/NAME<suffix>" with NAME percent-encoded, so
 * the router decodes it back and the cache keys it like a client's own request. 0 / -1 when it
 * does not fit in len bytes. */
int gw_route_collection_target(const char *name, const char *suffix, char *buf, size_t len);

#endif
