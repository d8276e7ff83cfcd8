/* Per-worker request, connection and upstream counters. Each worker writes only its own (plain
 * cost, see common/stat.h); the metrics scrape sums them across workers. */
#ifndef GW_STATS_H
#define GW_STATS_H

#include "common/stat.h"

enum { GW_M_GET, GW_M_POST, GW_M_PUT, GW_M_PATCH, GW_M_DELETE, GW_M_HEAD, GW_M_OTHER, GW_M_N };
#define GW_CLASSES  5 /* gw_route_class_t values */
#define GW_CODE_MIN 100
#define GW_CODES    501 /* 100..599, and one slot for anything else */

/* Connection protocols (gw_conn_link_t.proto). */
enum { GW_PROTO_PENDING = 0, GW_PROTO_HTTP1, GW_PROTO_H2, GW_PROTO_N };

/* Upstream failures by kind. */
enum { GW_UPERR_REFUSED, GW_UPERR_RESET, GW_UPERR_TIMEOUT, GW_UPERR_OTHER, GW_UPERR_N };

/* Peers whose host names are resolved (gateway/core/dns.h), and per peer what a resolution
 * gave: GW_DNS_R_OK, GW_DNS_R_FAILED, GW_DNS_R_CHANGED (3 of them). */
enum { GW_DNS_PEER_UPSTREAM, GW_DNS_PEER_REDIS, GW_DNS_PEER_N };
#define GW_DNS_RESULTS 3
/* GraphQL operations (gateway/handler/graphql_api.c) by type and outcome. */
enum { GW_GQL_QUERY, GW_GQL_MUTATION, GW_GQL_INVALID, GW_GQL_TYPES };
/* gRPC: the public RPCs (gateway/http/grpc_route.h's table, checked there) and the 17 status
 * codes. */
#define GW_GRPC_RPCS  52
#define GW_GRPC_CODES 17

/* One Qdrant peer (upstream.urls) as one worker saw it. */
#define GW_STATS_MAX_PEERS 16 /* = GW_CONFIG_MAX_PEERS */
typedef struct gw_peer_stats {
    gw_stat_t requests;  /* exchanges started with it */
    gw_stat_t errors;    /* ... that failed: connect, reset, timeout, 502/503/504 */
    gw_stat_t retries;   /* reads moved from it to another peer */
    gw_stat_t ejections; /* times the outlier detection took it out */
    gw_stat_t up;        /* gauge: 1 while this worker sends it traffic */
    gw_stat_t probes[2]; /* active probes [0: failed, 1: passed] */
    gw_hist_t duration;  /* its exchanges' time */
} gw_peer_stats_t;

typedef struct gw_wstats {
    gw_stat_t requests[GW_CLASSES][GW_M_N][GW_CODES];
    gw_hist_t duration[GW_CLASSES];
    gw_stat_t in_flight;
    gw_stat_t conns[GW_PROTO_N];
    gw_hist_t upstream_duration;
    gw_stat_t upstream_errors[GW_UPERR_N];
    gw_stat_t upstream_opened, upstream_closed;   /* sockets to Qdrant */
    gw_stat_t upstream_active;                    /* transfers under way */
    gw_stat_t dns[GW_DNS_PEER_N][GW_DNS_RESULTS]; /* resolutions of each peer's host name */
    gw_stat_t graphql[GW_GQL_TYPES][2];           /* [type][0: answered, 1: refused] */
    gw_peer_stats_t peer[GW_STATS_MAX_PEERS];     /* per Qdrant peer, in upstream.urls order */
    gw_stat_t grpc_requests[GW_GRPC_RPCS][GW_GRPC_CODES]; /* [rpc][grpc-status] */
    gw_hist_t grpc_duration[GW_GRPC_RPCS];
} gw_wstats_t;

int gw_stats_method_index(const char *method);
const char *gw_stats_method_name(int idx);

#endif
