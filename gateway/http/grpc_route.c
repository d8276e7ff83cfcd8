/* The table of public gRPC RPCs; see grpc_route.h. */
#include "gateway/http/grpc_route.h"

#include <string.h>
#include <strings.h>

#include "gateway/core/stats.h"

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
#define COLL   GW_ROUTE_F_GRPC_COLL

/* Point writes over gRPC default to wait=false too (points.proto: `optional bool wait`). */
static const grpc_row_t rows[] = {
    {"/qdrant.Collections/Get", "get_collection", R, COLL},
    {"/qdrant.Collections/List", "get_collections", R, 0},
    {"/qdrant.Collections/Create", "create_collection", W, ALL | COLL},
    {"/qdrant.Collections/Update", "update_collection", W, COLL},
    {"/qdrant.Collections/Delete", "delete_collection", W, ALL | COLL},
    {"/qdrant.Collections/UpdateAliases", "update_aliases", W, ALL},
    {"/qdrant.Collections/ListCollectionAliases", "get_collection_aliases", R, COLL},
    {"/qdrant.Collections/ListAliases", "get_collections_aliases", R, 0},
    {"/qdrant.Collections/CollectionClusterInfo", "collection_cluster_info", V, COLL},
    {"/qdrant.Collections/CollectionExists", "collection_exists", R, COLL},
    {"/qdrant.Collections/UpdateCollectionClusterSetup", "update_collection_cluster", W, COLL},
    {"/qdrant.Collections/CreateShardKey", "create_shard_key", W, COLL},
    {"/qdrant.Collections/DeleteShardKey", "delete_shard_key", W, COLL},
    {"/qdrant.Collections/ListShardKeys", "list_shard_keys", R, COLL},

    {"/qdrant.Points/Upsert", "upsert_points", W, NOWAIT | COLL},
    {"/qdrant.Points/Delete", "delete_points", W, NOWAIT | COLL},
    {"/qdrant.Points/Get", "get_points", R, COLL},
    {"/qdrant.Points/UpdateVectors", "update_vectors", W, NOWAIT | COLL},
    {"/qdrant.Points/DeleteVectors", "delete_vectors", W, NOWAIT | COLL},
    {"/qdrant.Points/SetPayload", "set_payload", W, NOWAIT | COLL},
    {"/qdrant.Points/OverwritePayload", "overwrite_payload", W, NOWAIT | COLL},
    {"/qdrant.Points/DeletePayload", "delete_payload", W, NOWAIT | COLL},
    {"/qdrant.Points/ClearPayload", "clear_payload", W, NOWAIT | COLL},
    {"/qdrant.Points/CreateFieldIndex", "create_field_index", W, NOWAIT | COLL},
    {"/qdrant.Points/DeleteFieldIndex", "delete_field_index", W, NOWAIT | COLL},
    {"/qdrant.Points/CreateVectorName", "create_vector_name", W, NOWAIT | COLL},
    {"/qdrant.Points/DeleteVectorName", "delete_vector_name", W, NOWAIT | COLL},
    {"/qdrant.Points/Search", "search_points", R, COLL},
    {"/qdrant.Points/SearchBatch", "search_batch_points", R, COLL},
    {"/qdrant.Points/SearchGroups", "search_point_groups", R, COLL},
    {"/qdrant.Points/Scroll", "scroll_points", R, COLL},
    {"/qdrant.Points/Recommend", "recommend_points", R, COLL},
    {"/qdrant.Points/RecommendBatch", "recommend_batch_points", R, COLL},
    {"/qdrant.Points/RecommendGroups", "recommend_point_groups", R, COLL},
    {"/qdrant.Points/Discover", "discover_points", R, COLL},
    {"/qdrant.Points/DiscoverBatch", "discover_batch_points", R, COLL},
    {"/qdrant.Points/Count", "count_points", R, COLL},
    {"/qdrant.Points/UpdateBatch", "batch_update", W, NOWAIT | COLL},
    {"/qdrant.Points/Query", "query_points", R, COLL},
    {"/qdrant.Points/QueryBatch", "query_batch_points", R, COLL},
    {"/qdrant.Points/QueryGroups", "query_points_groups", R, COLL},
    {"/qdrant.Points/Facet", "facet", R, COLL},
    {"/qdrant.Points/SearchMatrixPairs", "search_matrix_pairs", R, COLL},
    {"/qdrant.Points/SearchMatrixOffsets", "search_matrix_offsets", R, COLL},

    {"/qdrant.Snapshots/Create", "create_snapshot", W, NOINV | COLL},
    {"/qdrant.Snapshots/List", "list_snapshots", V, COLL},
    {"/qdrant.Snapshots/Delete", "delete_snapshot", W, NOINV | COLL},
    {"/qdrant.Snapshots/CreateFull", "create_full_snapshot", W, NOINV},
    {"/qdrant.Snapshots/ListFull", "list_full_snapshots", V, 0},
    {"/qdrant.Snapshots/DeleteFull", "delete_full_snapshot", W, NOINV},

    {"/qdrant.Qdrant/HealthCheck", "root", V, 0},
    {"/grpc.health.v1.Health/Check", "healthz", V, 0},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))
_Static_assert(NROWS == GW_GRPC_RPCS, "GW_GRPC_RPCS (gateway/core/stats.h) counts these rows");

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

/* A base-128 varint at *p (advanced); -1 when it runs past end or over 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* The last occurrence of field `field` with wire type `wire` (0: varint, 2: length-delimited)
 * in msg: 1 with *num (varint) or *val, *vlen (a view into msg), 0 when absent, -1 when the
 * message does not parse. */
static int find_field(const uint8_t *msg, size_t len, uint64_t field, unsigned wire,
                      const uint8_t **val, size_t *vlen, uint64_t *num)
{
    const uint8_t *p = msg, *end = msg + len;
    int found = 0;
    while (p < end) {
        uint64_t key, v;
        if (varint(&p, end, &key) != 0) return -1;
        int want = key >> 3 == field && (key & 7) == wire;
        switch (key & 7) {
        case 0:
            if (varint(&p, end, &v) != 0) return -1;
            if (want) *num = v, found = 1;
            break;
        case 1:
            if (end - p < 8) return -1;
            p += 8;
            break;
        case 2:
            if (varint(&p, end, &v) != 0 || v > (uint64_t)(end - p)) return -1;
            if (want) *val = p, *vlen = (size_t)v, found = 1;
            p += v;
            break;
        case 5:
            if (end - p < 4) return -1;
            p += 4;
            break;
        default: /* groups (3, 4) are not in proto3; 6, 7 do not exist */
            return -1;
        }
    }
    return found;
}

int gw_grpc_field1(const uint8_t *msg, size_t len, const uint8_t **name, size_t *name_len)
{
    uint64_t unused;
    return find_field(msg, len, 1, 2, name, name_len, &unused);
}

int gw_grpc_wait_true(const uint8_t *msg, size_t len)
{
    const uint8_t *unused;
    size_t unused_len;
    uint64_t v = 0;
    return find_field(msg, len, 2, 0, &unused, &unused_len, &v) == 1 && v != 0;
}
