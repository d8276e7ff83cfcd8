/* The table of public gRPC RPCs; see grpc_route.h. */
#include "gateway/http/grpc_route.h"

#include <string.h>
#include <strings.h>

typedef struct grpc_row {
    const char *path;
    const char *op; /* the REST twin's operation */
    gw_route_class_t cls;
    unsigned flags;
} grpc_row_t;

#define R      GW_ROUTE_QDRANT_READ
#define V      GW_ROUTE_QDRANT_READ_VOLATILE
#define W      GW_ROUTE_QDRANT_WRITE
#define ALL    GW_ROUTE_F_ALL_COLLECTIONS
#define NOINV  GW_ROUTE_F_NO_INVALIDATE
#define NOWAIT GW_ROUTE_F_WAIT_DEFAULT_FALSE

/* Point writes over gRPC default to wait=false too (points.proto: `optional bool wait`). */
static const grpc_row_t rows[] = {
    {"/qdrant.Collections/Get", "get_collection", R, 0},
    {"/qdrant.Collections/List", "get_collections", R, 0},
    {"/qdrant.Collections/Create", "create_collection", W, ALL},
    {"/qdrant.Collections/Update", "update_collection", W, 0},
    {"/qdrant.Collections/Delete", "delete_collection", W, ALL},
    {"/qdrant.Collections/UpdateAliases", "update_aliases", W, ALL},
    {"/qdrant.Collections/ListCollectionAliases", "get_collection_aliases", R, 0},
    {"/qdrant.Collections/ListAliases", "get_collections_aliases", R, 0},
    {"/qdrant.Collections/CollectionClusterInfo", "collection_cluster_info", V, 0},
    {"/qdrant.Collections/CollectionExists", "collection_exists", R, 0},
    {"/qdrant.Collections/UpdateCollectionClusterSetup", "update_collection_cluster", W, 0},
    {"/qdrant.Collections/CreateShardKey", "create_shard_key", W, 0},
    {"/qdrant.Collections/DeleteShardKey", "delete_shard_key", W, 0},
    {"/qdrant.Collections/ListShardKeys", "list_shard_keys", R, 0},

    {"/qdrant.Points/Upsert", "upsert_points", W, NOWAIT},
    {"/qdrant.Points/Delete", "delete_points", W, NOWAIT},
    {"/qdrant.Points/Get", "get_points", R, 0},
    {"/qdrant.Points/UpdateVectors", "update_vectors", W, NOWAIT},
    {"/qdrant.Points/DeleteVectors", "delete_vectors", W, NOWAIT},
    {"/qdrant.Points/SetPayload", "set_payload", W, NOWAIT},
    {"/qdrant.Points/OverwritePayload", "overwrite_payload", W, NOWAIT},
    {"/qdrant.Points/DeletePayload", "delete_payload", W, NOWAIT},
    {"/qdrant.Points/ClearPayload", "clear_payload", W, NOWAIT},
    {"/qdrant.Points/CreateFieldIndex", "create_field_index", W, NOWAIT},
    {"/qdrant.Points/DeleteFieldIndex", "delete_field_index", W, NOWAIT},
    {"/qdrant.Points/CreateVectorName", "create_vector_name", W, NOWAIT},
    {"/qdrant.Points/DeleteVectorName", "delete_vector_name", W, NOWAIT},
    {"/qdrant.Points/Search", "search_points", R, 0},
    {"/qdrant.Points/SearchBatch", "search_batch_points", R, 0},
    {"/qdrant.Points/SearchGroups", "search_point_groups", R, 0},
    {"/qdrant.Points/Scroll", "scroll_points", R, 0},
    {"/qdrant.Points/Recommend", "recommend_points", R, 0},
    {"/qdrant.Points/RecommendBatch", "recommend_batch_points", R, 0},
    {"/qdrant.Points/RecommendGroups", "recommend_point_groups", R, 0},
    {"/qdrant.Points/Discover", "discover_points", R, 0},
    {"/qdrant.Points/DiscoverBatch", "discover_batch_points", R, 0},
    {"/qdrant.Points/Count", "count_points", R, 0},
    {"/qdrant.Points/UpdateBatch", "batch_update", W, NOWAIT},
    {"/qdrant.Points/Query", "query_points", R, 0},
    {"/qdrant.Points/QueryBatch", "query_batch_points", R, 0},
    {"/qdrant.Points/QueryGroups", "query_points_groups", R, 0},
    {"/qdrant.Points/Facet", "facet", R, 0},
    {"/qdrant.Points/SearchMatrixPairs", "search_matrix_pairs", R, 0},
    {"/qdrant.Points/SearchMatrixOffsets", "search_matrix_offsets", R, 0},

    {"/qdrant.Snapshots/Create", "create_snapshot", W, NOINV},
    {"/qdrant.Snapshots/List", "list_snapshots", V, 0},
    {"/qdrant.Snapshots/Delete", "delete_snapshot", W, NOINV},
    {"/qdrant.Snapshots/CreateFull", "create_full_snapshot", W, NOINV},
    {"/qdrant.Snapshots/ListFull", "list_full_snapshots", V, 0},
    {"/qdrant.Snapshots/DeleteFull", "delete_full_snapshot", W, NOINV},

    {"/qdrant.Qdrant/HealthCheck", "root", V, 0},
    {"/grpc.health.v1.Health/Check", "healthz", V, 0},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

int gw_grpc_is_content_type(const char *v, size_t len)
{
    static const char ct[] = "application/grpc";
    size_t n = sizeof(ct) - 1;
    if (len < n || strncasecmp(v, ct, n) != 0) return 0;
    return len == n || v[n] == '+' || v[n] == ';';
}

const char *gw_grpc_route(const char *path, size_t len, gw_route_t *out)
{
    out->cls = GW_ROUTE_NOT_FOUND;
    out->handler = GW_H_GRPC;
    out->op = NULL;
    out->collection = NULL;
    out->collection_len = 0;
    out->flags = 0;
    for (size_t i = 0; i < NROWS; i++) {
        if (strlen(rows[i].path) != len || memcmp(rows[i].path, path, len) != 0) continue;
        out->cls = rows[i].cls;
        out->op = rows[i].op;
        out->flags = rows[i].flags;
        return rows[i].path;
    }
    return NULL;
}

size_t gw_grpc_method_count(void)
{
    return NROWS;
}

const char *gw_grpc_method_name(size_t i)
{
    return i < NROWS ? rows[i].path : NULL;
}

int gw_grpc_method_index(const char *method)
{
    for (size_t i = 0; i < NROWS; i++)
        if (rows[i].path == method) return (int)i;
    return -1;
}
