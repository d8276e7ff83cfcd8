/* Unit tests for gateway/http/router.c: every openapi.json operation, every route Qdrant serves
 * outside the spec, and the path normalisation actix applies, with inputs that end at a guard page.
 */
#include "gateway/http/router.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define F_STREAM GW_ROUTE_F_STREAM
#define F_ALL    GW_ROUTE_F_ALL_COLLECTIONS
#define F_NOWAIT GW_ROUTE_F_WAIT_DEFAULT_FALSE
#define F_NOINV  GW_ROUTE_F_NO_INVALIDATE
#define R        GW_ROUTE_QDRANT_READ
#define V        GW_ROUTE_QDRANT_READ_VOLATILE
#define W        GW_ROUTE_QDRANT_WRITE
#define NF       GW_ROUTE_NOT_FOUND
#define GA       GW_ROUTE_GATEWAY_API

/* Guard pages, as in picohttpparser's tests: each input is copied so that its last byte sits just
 * before a PROT_NONE page, and it is not NUL-terminated, so any read past the given length
 * faults. Method and path each get their own page. */
static guard_slots_t guard;

static void guard_setup(void)
{
    guard_slots_open(&guard);
}

static void guard_teardown(void)
{
    guard_slots_close(&guard);
}

static const char *at_guard(int slot, const char *s, size_t len)
{
    return guard_at(&guard, slot, s, len);
}

/* Classifies with both inputs at guard pages; out->collection points into the path copy. */
static gw_route_class_t classify(const char *method, const char *path, gw_route_t *out,
                                 const char **path_copy)
{
    size_t mlen = strlen(method), plen = strlen(path);
    const char *m = at_guard(0, method, mlen);
    const char *p = at_guard(1, path, plen);
    if (path_copy) *path_copy = p;
    return gw_route_classify(m, mlen, p, plen, out);
}

typedef struct route_case {
    const char *method;
    const char *spec_path; /* template as openapi.json / API-NOTES spell it (coverage check) */
    const char *path;      /* concrete request path */
    const char *op;        /* NULL: NOT_FOUND */
    gw_route_class_t cls;
    unsigned flags;
    const char *collection; /* expected {collection_name} value, NULL if none */
} route_case_t;

static void check_case(const route_case_t *c, const char *path)
{
    gw_route_t r;
    const char *copy;

    memset(&r, 0xa5, sizeof(r)); /* classify must set every field */
    gw_route_class_t cls = classify(c->method, path, &r, &copy);
    ck_assert_msg(cls == c->cls && r.cls == c->cls, "%s %s: class %s, want %s", c->method, path,
                  gw_route_class_name(cls), gw_route_class_name(c->cls));
    if (c->op)
        ck_assert_msg(r.op && strcmp(r.op, c->op) == 0, "%s %s: op %s, want %s", c->method, path,
                      r.op ? r.op : "(null)", c->op);
    else
        ck_assert_msg(r.op == NULL, "%s %s: op %s, want NULL", c->method, path, r.op);
    ck_assert_msg(r.flags == c->flags, "%s %s: flags %u, want %u", c->method, path, r.flags,
                  c->flags);
    if (c->collection == NULL) {
        ck_assert_msg(r.collection == NULL && r.collection_len == 0, "%s %s: unexpected collection",
                      c->method, path);
        return;
    }
    ck_assert_msg(r.collection != NULL, "%s %s: no collection", c->method, path);
    ck_assert_msg(r.collection_len == strlen(c->collection) &&
                      memcmp(r.collection, c->collection, r.collection_len) == 0,
                  "%s %s: collection '%.*s', want '%s'", c->method, path, (int)r.collection_len,
                  r.collection, c->collection);
    /* A view into the caller's path, not a copy. */
    ck_assert(r.collection >= copy && r.collection + r.collection_len <= copy + strlen(path));
}

/* The 69 operations of openapi.json (Qdrant 1.19.0), one row each, generated once from the spec
 * (method, path, operationId); classes and flags chosen by hand from API-NOTES section 1.
 * Coverage check: every (method, path, operationId) of the spec must appear here, e.g.
 *   python3 -c 'import json,re,sys; s=json.load(open(sys.argv[1])); t=open(sys.argv[2]).read();
 *   h=set(re.findall(r"\{\"(\w+)\",\s*\"([^\"]+)\",\s*\"[^\"]*\",\s*\"(\w+)\"",t));
 *   w={(m.upper(),p,o["operationId"]) for p,v in s["paths"].items() for m,o in v.items()};
 *   print(len(w&h),"of",len(w),"missing",w-h)' openapi.json test/unit/test_router.c */
static const route_case_t spec_cases[] = {
    {"PUT", "/collections/{collection_name}/shards", "/collections/my_coll/shards",
     "create_shard_key", W, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/shards", "/collections/my_coll/shards",
     "list_shard_keys", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/delete", "/collections/my_coll/shards/delete",
     "delete_shard_key", W, 0, "my_coll"},
    {"GET", "/", "/", "root", V, 0, NULL},
    {"GET", "/telemetry", "/telemetry", "telemetry", V, 0, NULL},
    {"GET", "/metrics", "/metrics", "metrics", V, 0, NULL},
    {"GET", "/healthz", "/healthz", "healthz", V, 0, NULL},
    {"GET", "/livez", "/livez", "livez", V, 0, NULL},
    {"GET", "/readyz", "/readyz", "readyz", V, 0, NULL},
    {"GET", "/issues", "/issues", "get_issues", V, 0, NULL},
    {"DELETE", "/issues", "/issues", "clear_issues", W, F_NOINV, NULL},
    {"GET", "/cluster", "/cluster", "cluster_status", V, 0, NULL},
    {"GET", "/cluster/telemetry", "/cluster/telemetry", "cluster_telemetry", V, 0, NULL},
    {"POST", "/cluster/recover", "/cluster/recover", "recover_current_peer", W, F_ALL, NULL},
    {"DELETE", "/cluster/peer/{peer_id}", "/cluster/peer/12345", "remove_peer", W, F_ALL, NULL},
    {"GET", "/quotas", "/quotas", "get_quotas", V, 0, NULL},
    {"PUT", "/quotas", "/quotas", "update_quotas", W, F_NOINV, NULL},
    {"GET", "/collections", "/collections", "get_collections", R, 0, NULL},
    {"GET", "/collections/{collection_name}", "/collections/my_coll", "get_collection", R, 0,
     "my_coll"},
    {"PUT", "/collections/{collection_name}", "/collections/my_coll", "create_collection", W, F_ALL,
     "my_coll"},
    {"PATCH", "/collections/{collection_name}", "/collections/my_coll", "update_collection", W, 0,
     "my_coll"},
    {"DELETE", "/collections/{collection_name}", "/collections/my_coll", "delete_collection", W,
     F_ALL, "my_coll"},
    {"POST", "/collections/aliases", "/collections/aliases", "update_aliases", W, F_ALL, NULL},
    {"PUT", "/collections/{collection_name}/index", "/collections/my_coll/index",
     "create_field_index", W, F_NOWAIT, "my_coll"},
    {"GET", "/collections/{collection_name}/exists", "/collections/my_coll/exists",
     "collection_exists", R, 0, "my_coll"},
    {"DELETE", "/collections/{collection_name}/index/{field_name}",
     "/collections/my_coll/index/city", "delete_field_index", W, F_NOWAIT, "my_coll"},
    {"PUT", "/collections/{collection_name}/vectors/{vector_name}",
     "/collections/my_coll/vectors/image", "create_vector_name", W, F_NOWAIT, "my_coll"},
    {"DELETE", "/collections/{collection_name}/vectors/{vector_name}",
     "/collections/my_coll/vectors/image", "delete_vector_name", W, F_NOWAIT, "my_coll"},
    {"GET", "/collections/{collection_name}/cluster", "/collections/my_coll/cluster",
     "collection_cluster_info", V, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/cluster", "/collections/my_coll/cluster",
     "update_collection_cluster", W, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/optimizations", "/collections/my_coll/optimizations",
     "get_optimizations", V, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/aliases", "/collections/my_coll/aliases",
     "get_collection_aliases", R, 0, "my_coll"},
    {"GET", "/aliases", "/aliases", "get_collections_aliases", R, 0, NULL},
    {"POST", "/collections/{collection_name}/snapshots/upload",
     "/collections/my_coll/snapshots/upload", "recover_from_uploaded_snapshot", W, F_STREAM | F_ALL,
     "my_coll"},
    {"PUT", "/collections/{collection_name}/snapshots/recover",
     "/collections/my_coll/snapshots/recover", "recover_from_snapshot", W, F_ALL, "my_coll"},
    {"GET", "/collections/{collection_name}/snapshots", "/collections/my_coll/snapshots",
     "list_snapshots", V, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/snapshots", "/collections/my_coll/snapshots",
     "create_snapshot", W, F_NOINV, "my_coll"},
    {"DELETE", "/collections/{collection_name}/snapshots/{snapshot_name}",
     "/collections/my_coll/snapshots/s1.snapshot", "delete_snapshot", W, F_NOINV, "my_coll"},
    {"GET", "/collections/{collection_name}/snapshots/{snapshot_name}",
     "/collections/my_coll/snapshots/s1.snapshot", "get_snapshot", V, F_STREAM, "my_coll"},
    {"GET", "/snapshots", "/snapshots", "list_full_snapshots", V, 0, NULL},
    {"POST", "/snapshots", "/snapshots", "create_full_snapshot", W, F_NOINV, NULL},
    {"DELETE", "/snapshots/{snapshot_name}", "/snapshots/s1.snapshot", "delete_full_snapshot", W,
     F_NOINV, NULL},
    {"GET", "/snapshots/{snapshot_name}", "/snapshots/s1.snapshot", "get_full_snapshot", V,
     F_STREAM, NULL},
    {"GET", "/collections/{collection_name}/shards/{shard_id}/snapshot",
     "/collections/my_coll/shards/3/snapshot", "stream_shard_snapshot", V, F_STREAM, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard_id}/snapshots/upload",
     "/collections/my_coll/shards/3/snapshots/upload", "recover_shard_from_uploaded_snapshot", W,
     F_STREAM, "my_coll"},
    {"PUT", "/collections/{collection_name}/shards/{shard_id}/snapshots/recover",
     "/collections/my_coll/shards/3/snapshots/recover", "recover_shard_from_snapshot", W, 0,
     "my_coll"},
    {"GET", "/collections/{collection_name}/shards/{shard_id}/snapshots",
     "/collections/my_coll/shards/3/snapshots", "list_shard_snapshots", V, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard_id}/snapshots",
     "/collections/my_coll/shards/3/snapshots", "create_shard_snapshot", W, F_NOINV, "my_coll"},
    {"DELETE", "/collections/{collection_name}/shards/{shard_id}/snapshots/{snapshot_name}",
     "/collections/my_coll/shards/3/snapshots/s1.snapshot", "delete_shard_snapshot", W, F_NOINV,
     "my_coll"},
    {"GET", "/collections/{collection_name}/shards/{shard_id}/snapshots/{snapshot_name}",
     "/collections/my_coll/shards/3/snapshots/s1.snapshot", "get_shard_snapshot", V, F_STREAM,
     "my_coll"},
    {"GET", "/collections/{collection_name}/points/{id}", "/collections/my_coll/points/42",
     "get_point", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points", "/collections/my_coll/points", "get_points",
     R, 0, "my_coll"},
    {"PUT", "/collections/{collection_name}/points", "/collections/my_coll/points", "upsert_points",
     W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/delete", "/collections/my_coll/points/delete",
     "delete_points", W, F_NOWAIT, "my_coll"},
    {"PUT", "/collections/{collection_name}/points/vectors", "/collections/my_coll/points/vectors",
     "update_vectors", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/vectors/delete",
     "/collections/my_coll/points/vectors/delete", "delete_vectors", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/payload", "/collections/my_coll/points/payload",
     "set_payload", W, F_NOWAIT, "my_coll"},
    {"PUT", "/collections/{collection_name}/points/payload", "/collections/my_coll/points/payload",
     "overwrite_payload", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/payload/delete",
     "/collections/my_coll/points/payload/delete", "delete_payload", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/payload/clear",
     "/collections/my_coll/points/payload/clear", "clear_payload", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/batch", "/collections/my_coll/points/batch",
     "batch_update", W, F_NOWAIT, "my_coll"},
    {"POST", "/collections/{collection_name}/points/scroll", "/collections/my_coll/points/scroll",
     "scroll_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/count", "/collections/my_coll/points/count",
     "count_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/facet", "/collections/my_coll/facet", "facet", R, 0,
     "my_coll"},
    {"POST", "/collections/{collection_name}/points/query", "/collections/my_coll/points/query",
     "query_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/query/batch",
     "/collections/my_coll/points/query/batch", "query_batch_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/query/groups",
     "/collections/my_coll/points/query/groups", "query_points_groups", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/search/matrix/pairs",
     "/collections/my_coll/points/search/matrix/pairs", "search_matrix_pairs", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/search/matrix/offsets",
     "/collections/my_coll/points/search/matrix/offsets", "search_matrix_offsets", R, 0, "my_coll"},
};

/* Routes Qdrant 1.19 serves that are absent from openapi.json (API-NOTES section 1). */
static const route_case_t legacy_cases[] = {
    {"POST", "/collections/{collection_name}/points/search", "/collections/my_coll/points/search",
     "search_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/search/batch",
     "/collections/my_coll/points/search/batch", "search_batch_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/search/groups",
     "/collections/my_coll/points/search/groups", "search_point_groups", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/recommend",
     "/collections/my_coll/points/recommend", "recommend_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/recommend/batch",
     "/collections/my_coll/points/recommend/batch", "recommend_batch_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/recommend/groups",
     "/collections/my_coll/points/recommend/groups", "recommend_point_groups", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/discover",
     "/collections/my_coll/points/discover", "discover_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/points/discover/batch",
     "/collections/my_coll/points/discover/batch", "discover_batch_points", R, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/memory", "/collections/my_coll/memory",
     "collection_memory", V, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/truncate_unapplied_wal",
     "/collections/my_coll/truncate_unapplied_wal", "truncate_unapplied_wal", W, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/debug", "/collections/my_coll/debug",
     "debug_collection", W, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/points",
     "/collections/my_coll/shards/3/points", "local_shard_get_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/points/scroll",
     "/collections/my_coll/shards/3/points/scroll", "local_shard_scroll_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/points/count",
     "/collections/my_coll/shards/3/points/count", "local_shard_count_points", R, 0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/cleanup",
     "/collections/my_coll/shards/3/cleanup", "local_shard_cleanup", W, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/shards/{shard}/snapshot/partial/manifest",
     "/collections/my_coll/shards/3/snapshot/partial/manifest", "get_partial_snapshot_manifest", V,
     0, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/create",
     "/collections/my_coll/shards/3/snapshot/partial/create", "create_partial_snapshot", W,
     F_STREAM | F_NOINV, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/recover",
     "/collections/my_coll/shards/3/snapshot/partial/recover", "recover_partial_snapshot", W,
     F_STREAM, "my_coll"},
    {"POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/recover_from",
     "/collections/my_coll/shards/3/snapshot/partial/recover_from", "recover_partial_snapshot_from",
     W, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/shards/{shard}/recovery_point",
     "/collections/my_coll/shards/3/recovery_point", "get_shard_recovery_point", V, 0, "my_coll"},
    {"GET", "/collections/{collection_name}/shards/{shard}/wal",
     "/collections/my_coll/shards/3/wal", "get_shard_wal", V, 0, "my_coll"},
    {"GET", "/debugger", "/debugger", "get_debugger_config", V, 0, NULL},
    {"PATCH", "/debugger", "/debugger", "update_debugger_config", W, F_NOINV, NULL},
    {"GET", "/stacktrace", "/stacktrace", "get_stacktrace", V, 0, NULL},
    {"GET", "/logger", "/logger", "get_logger_config", V, 0, NULL},
    {"POST", "/logger", "/logger", "update_logger_config", W, F_NOINV, NULL},
    {"GET", "/profiler/slow_requests", "/profiler/slow_requests", "get_slow_requests", V, 0, NULL},
    {"POST", "/audit/logs", "/audit/logs", "get_audit_logs", V, 0, NULL},
    {"GET", "/cluster/metadata/keys", "/cluster/metadata/keys", "list_cluster_metadata_keys", V, 0,
     NULL},
    {"GET", "/cluster/metadata/keys/{key}", "/cluster/metadata/keys/region",
     "get_cluster_metadata_key", V, 0, NULL},
    {"PUT", "/cluster/metadata/keys/{key}", "/cluster/metadata/keys/region",
     "update_cluster_metadata_key", W, F_NOINV, NULL},
    {"DELETE", "/cluster/metadata/keys/{key}", "/cluster/metadata/keys/region",
     "delete_cluster_metadata_key", W, F_NOINV, NULL},
    {"GET", "/dashboard", "/dashboard", "web_ui", V, 0, NULL},
    {"GET", "/dashboard", "/dashboard/assets/index.js", "web_ui", V, 0, NULL},
    {"HEAD", "/dashboard", "/dashboard/", "web_ui", V, 0, NULL},
};

/* Method matters, ordering, normalisation, encoding and everything that is not a route. */
static const route_case_t misc_cases[] = {
    /* Same path, method decides (API-NOTES "Matching by method matters"). */
    {"POST", NULL, "/collections/c/points", "get_points", R, 0, "c"},
    {"PUT", NULL, "/collections/c/points", "upsert_points", W, F_NOWAIT, "c"},
    {"POST", NULL, "/collections/c/points/payload", "set_payload", W, F_NOWAIT, "c"},
    {"PUT", NULL, "/collections/c/points/payload", "overwrite_payload", W, F_NOWAIT, "c"},
    /* A wrong method on a known path: actix skips the route and 404s. */
    {"GET", NULL, "/collections/c/points/scroll/x", NULL, NF, 0, NULL},
    {"DELETE", NULL, "/collections/c/points", NULL, NF, 0, NULL},
    {"PATCH", NULL, "/collections/c/points", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/points/vectors", NULL, NF, 0, NULL},
    {"PUT", NULL, "/collections/c/points/search", NULL, NF, 0, NULL},
    {"GET", NULL, "/collections/c/points/query/batch", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c", NULL, NF, 0, NULL},
    {"PUT", NULL, "/collections/aliases/x", NULL, NF, 0, NULL},
    {"GET", NULL, "/collections/c/facet", NULL, NF, 0, NULL},
    {"POST", NULL, "/metrics", NULL, NF, 0, NULL},
    {"DELETE", NULL, "/", NULL, NF, 0, NULL},
    {"HEAD", NULL, "/collections/c", NULL, NF, 0, NULL},
    {"HEAD", NULL, "/healthz", NULL, NF, 0, NULL},
    {"OPTIONS", NULL, "/collections/c/points/query", NULL, NF, 0, NULL},
    {"get", NULL, "/collections", NULL, NF, 0, NULL},
    {"Post", NULL, "/collections/c/points/query", NULL, NF, 0, NULL},
    {"GETX", NULL, "/collections", NULL, NF, 0, NULL},
    {"GE", NULL, "/collections", NULL, NF, 0, NULL},
    {"", NULL, "/collections", NULL, NF, 0, NULL},
    /* Literal words are not point ids or collection names when the method has a literal route;
     * where it has none, actix takes them as parameters, and so do we. */
    {"POST", NULL, "/collections/c/points/scroll", "scroll_points", R, 0, "c"},
    {"POST", NULL, "/collections/c/points/count", "count_points", R, 0, "c"},
    {"POST", NULL, "/collections/c/points/query", "query_points", R, 0, "c"},
    {"POST", NULL, "/collections/c/points/query/batch", "query_batch_points", R, 0, "c"},
    {"POST", NULL, "/collections/c/points/query/groups", "query_points_groups", R, 0, "c"},
    {"POST", NULL, "/collections/c/points/search/matrix/pairs", "search_matrix_pairs", R, 0, "c"},
    {"GET", NULL, "/collections/c/points/scroll", "get_point", R, 0, "c"},
    {"GET", NULL, "/collections/c/points/550e8400-e29b-41d4-a716-446655440000", "get_point", R, 0,
     "c"},
    {"POST", NULL, "/collections/aliases", "update_aliases", W, F_ALL, NULL},
    {"GET", NULL, "/collections/aliases", "get_collection", R, 0, "aliases"},
    {"PUT", NULL, "/collections/aliases", "create_collection", W, F_ALL, "aliases"},
    {"DELETE", NULL, "/collections/aliases", "delete_collection", W, F_ALL, "aliases"},
    {"GET", NULL, "/collections/aliases/aliases", "get_collection_aliases", R, 0, "aliases"},
    {"GET", NULL, "/collections/points", "get_collection", R, 0, "points"},
    {"POST", NULL, "/collections/points/points", "get_points", R, 0, "points"},
    {"GET", NULL, "/collections/c/snapshots/upload", "get_snapshot", V, F_STREAM, "c"},
    {"DELETE", NULL, "/collections/c/snapshots/recover", "delete_snapshot", W, F_NOINV, "c"},
    {"POST", NULL, "/collections/c/shards/delete", "delete_shard_key", W, 0, "c"},
    {"DELETE", NULL, "/collections/c/index/delete", "delete_field_index", W, F_NOWAIT, "c"},
    /* Trailing slashes and empty segments: NormalizePath::trim() merges '/' runs and drops
     * trailing ones, so these reach the same routes in Qdrant. */
    {"GET", NULL, "/collections/", "get_collections", R, 0, NULL},
    {"GET", NULL, "/collections///", "get_collections", R, 0, NULL},
    {"GET", NULL, "//collections", "get_collections", R, 0, NULL},
    {"PUT", NULL, "/collections//c//points/", "upsert_points", W, F_NOWAIT, "c"},
    {"POST", NULL, "/collections/c/points//delete", "delete_points", W, F_NOWAIT, "c"},
    {"POST", NULL, "/collections//points", NULL, NF, 0, NULL},
    {"GET", NULL, "/collections//points", "get_collection", R, 0, "points"},
    {"GET", NULL, "/", "root", V, 0, NULL},
    {"GET", NULL, "//", "root", V, 0, NULL},
    {"GET", NULL, "///", "root", V, 0, NULL},
    /* Percent-encoding: collection names stay encoded in the view; fixed words match after
     * decoding (actix requotes the path), except %2F, %25 and %2B which stay encoded. */
    {"GET", NULL, "/collections/my%20coll", "get_collection", R, 0, "my%20coll"},
    {"POST", NULL, "/collections/%E6%97%A5%E6%9C%AC/points/query", "query_points", R, 0,
     "%E6%97%A5%E6%9C%AC"},
    {"GET", NULL, "/collections/a%2Fb", "get_collection", R, 0, "a%2Fb"},
    {"GET", NULL, "/collections/a%2Fb/exists", "collection_exists", R, 0, "a%2Fb"},
    {"POST", NULL, "/collections/c/points/%64elete", "delete_points", W, F_NOWAIT, "c"},
    {"POST", NULL, "/collections/c/points/%44elete", NULL, NF, 0, NULL},
    {"POST", NULL, "/%63ollections/c/points/SCROLL", NULL, NF, 0, NULL},
    {"POST", NULL, "/%63ollections/c/points/scro%6c%6C", "scroll_points", R, 0, "c"},
    {"POST", NULL, "/collections/c/points%2Fdelete", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/points/delet%", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/points/delet%6", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/points/delet%g5", NULL, NF, 0, NULL},
    {"GET", NULL, "/%", NULL, NF, 0, NULL},
    /* Unknown paths and non-origin-form targets. */
    {"GET", NULL, "", NULL, NF, 0, NULL},
    {"GET", NULL, "*", NULL, NF, 0, NULL},
    {"OPTIONS", NULL, "*", NULL, NF, 0, NULL},
    {"GET", NULL, "collections", NULL, NF, 0, NULL},
    {"GET", NULL, "http://qdrant:6333/collections", NULL, NF, 0, NULL},
    {"GET", NULL, "/collection", NULL, NF, 0, NULL},
    {"GET", NULL, "/collectionsx", NULL, NF, 0, NULL},
    {"GET", NULL, "/Collections", NULL, NF, 0, NULL},
    {"GET", NULL, "/collections/c/unknown", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/points/query/batch/x", NULL, NF, 0, NULL},
    {"GET", NULL, "/collections/c/points/1/2", NULL, NF, 0, NULL},
    {"GET", NULL, "/a/b/c/d/e/f/g/h/i/j/k/l", NULL, NF, 0, NULL},
    {"POST", NULL, "/collections/c/shards/3/snapshot/partial/recover_from/x/y/z", NULL, NF, 0,
     NULL},
    {"GET", NULL, "/locks", NULL, NF, 0, NULL},
    {"GET", NULL, "/healthz/x", NULL, NF, 0, NULL},
    {"GET", NULL, "/dashboardx", NULL, NF, 0, NULL},
    {"GET", NULL, "/api", NULL, NF, 0, NULL},
    {"GET", NULL, "/api/v2/health", NULL, NF, 0, NULL},
    /* The gateway's own API, any method. */
    {"GET", NULL, "/api/v1/health", "gateway_api", GA, 0, NULL},
    {"GET", NULL, "/api/v1", "gateway_api", GA, 0, NULL},
    {"GET", NULL, "/api/v1/", "gateway_api", GA, 0, NULL},
    {"POST", NULL, "/api/v1/models/m/vectors/search", "gateway_api", GA, 0, NULL},
    {"DELETE", NULL, "/api/v1/cache", "gateway_api", GA, 0, NULL},
    {"OPTIONS", NULL, "//api//v1//health/", "gateway_api", GA, 0, NULL},
    {"GET", NULL, "/api/v1/a/b/c/d/e/f/g/h/i/j/k", "gateway_api", GA, 0, NULL},
    {"POST", NULL, "/graphql", "gateway_api", GA, 0, NULL},
    {"GET", NULL, "//graphql/", "gateway_api", GA, 0, NULL},
    {"HEAD", NULL, "/graphql", "gateway_api", GA, 0, NULL},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The per-thread memo: a repeat gives the same answer, with the collection pointing into the
 * caller's own buffer; slots shared by different paths never mix their answers up. */
START_TEST(memo_repeats_and_buffers)
{
    const char *paths[] = {"/collections/alpha/points/query",
                           "/collections/beta/points",
                           "/collections/alpha/points/query/batch",
                           "/",
                           "/nope/x",
                           "/collections/%61lpha/points/scroll"};
    const char *methods[] = {"POST", "PUT", "POST", "GET", "GET", "POST"};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            char a[128], b[128];
            gw_route_t ra, rb;
            snprintf(a, sizeof a, "%s", paths[i]);
            snprintf(b, sizeof b, "%s", paths[i]);
            gw_route_classify(methods[i], strlen(methods[i]), a, strlen(a), &ra);
            gw_route_classify(methods[i], strlen(methods[i]), b, strlen(b), &rb);
            ck_assert_int_eq(ra.cls, rb.cls);
            ck_assert_ptr_eq(ra.op, rb.op);
            ck_assert_uint_eq(ra.flags, rb.flags);
            ck_assert_uint_eq(ra.collection_len, rb.collection_len);
            if (ra.collection) {
                ck_assert_int_eq(ra.collection - a,
                                 rb.collection - b); /* same offset, own buffer */
            } else {
                ck_assert_ptr_null(rb.collection);
            }
        }
    }
    /* many distinct paths through 64 slots: each answer still matches a fresh classification */
    for (int i = 0; i < 500; i++) {
        char p[64];
        gw_route_t r1, r2;
        snprintf(p, sizeof p, "/collections/c%d/points%s", i, i % 2 ? "/search" : "");
        gw_route_classify("POST", 4, p, strlen(p), &r1);
        gw_route_classify("POST", 4, p, strlen(p), &r2);
        ck_assert_int_eq(r1.cls, GW_ROUTE_QDRANT_READ);
        ck_assert_int_eq(r1.cls, r2.cls);
        ck_assert_uint_eq(r2.collection_len, strlen(p) - strlen("/collections//points") -
                                                 (i % 2 ? strlen("/search") : 0));
    }
}
END_TEST

START_TEST(spec_operation)
{
    check_case(&spec_cases[_i], spec_cases[_i].path);
}
END_TEST

START_TEST(legacy_route)
{
    check_case(&legacy_cases[_i], legacy_cases[_i].path);
}
END_TEST

START_TEST(misc_route)
{
    check_case(&misc_cases[_i], misc_cases[_i].path);
}
END_TEST

/* Every spec and legacy route again with a trailing slash, doubled slashes and a leading "//". */
static void check_normalised_variants(const route_case_t *c)
{
    char buf[512];
    size_t o = 0, len = strlen(c->path);

    ck_assert_uint_lt(2 * len + 3, sizeof(buf));
    memcpy(buf, c->path, len);
    memcpy(buf + len, "/", 2);
    check_case(c, buf);
    memcpy(buf + len, "//", 3);
    check_case(c, buf);
    for (size_t i = 0; i < len; i++) {
        buf[o++] = c->path[i];
        if (c->path[i] == '/') buf[o++] = '/';
    }
    buf[o] = '\0';
    check_case(c, buf);
}

START_TEST(spec_operation_normalised)
{
    check_normalised_variants(&spec_cases[_i]);
}
END_TEST

START_TEST(legacy_route_normalised)
{
    check_normalised_variants(&legacy_cases[_i]);
}
END_TEST

/* HEAD and lowercase methods match no Qdrant route (actix method guards are exact); methods that
 * do match another row on the same path are checked by misc_cases. */
START_TEST(spec_operation_wrong_method)
{
    const route_case_t *c = &spec_cases[_i];
    static const char *const bad[] = {"HEAD", "OPTIONS", "TRACE", "CONNECT", "get", "post"};
    gw_route_t r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(classify(bad[i], c->path, &r, NULL) == NF, "%s %s", bad[i], c->path);
        ck_assert_ptr_null(r.op);
        ck_assert_ptr_null(r.collection);
    }
}
END_TEST

/* Builds a request path from a template, every "{param}" replaced by `word`. */
static void fill_template(const char *tmpl, const char *word, char *buf, size_t cap)
{
    size_t o = 0, wlen = strlen(word);

    while (*tmpl) {
        if (*tmpl == '{') {
            ck_assert_uint_lt(o + wlen, cap);
            memcpy(buf + o, word, wlen);
            o += wlen;
            tmpl = strchr(tmpl, '}');
            ck_assert_ptr_nonnull(tmpl);
            tmpl++;
        } else {
            ck_assert_uint_lt(o + 1, cap);
            buf[o++] = *tmpl++;
        }
    }
    buf[o] = '\0';
}

/* Every fixed word the table uses, as a parameter value in every route: a row must never be
 * shadowed by another row of the same method (POST /collections/{c}/points/{x} does not exist,
 * so "/collections/c/points/scroll" is unambiguous; GET /collections/{c} with c = "aliases" is
 * get_collection, as in actix, because POST is the only method of /collections/aliases). With
 * no overlap, table order cannot change a result. */
static const char *const table_words[] = {"collections",
                                          "aliases",
                                          "points",
                                          "scroll",
                                          "count",
                                          "query",
                                          "batch",
                                          "groups",
                                          "search",
                                          "matrix",
                                          "pairs",
                                          "offsets",
                                          "recommend",
                                          "discover",
                                          "delete",
                                          "payload",
                                          "clear",
                                          "vectors",
                                          "index",
                                          "exists",
                                          "cluster",
                                          "optimizations",
                                          "memory",
                                          "shards",
                                          "snapshots",
                                          "snapshot",
                                          "upload",
                                          "recover",
                                          "partial",
                                          "manifest",
                                          "create",
                                          "recover_from",
                                          "cleanup",
                                          "wal",
                                          "recovery_point",
                                          "facet",
                                          "debug",
                                          "truncate_unapplied_wal",
                                          "peer",
                                          "metadata",
                                          "keys",
                                          "telemetry",
                                          "api",
                                          "v1",
                                          "dashboard",
                                          "issues",
                                          "quotas",
                                          "logger",
                                          "debugger"};

static void check_params_never_shadowed(const route_case_t *c)
{
    char path[512];

    for (size_t w = 0; w < sizeof(table_words) / sizeof(table_words[0]); w++) {
        route_case_t want = *c;
        fill_template(c->spec_path, table_words[w], path, sizeof(path));
        if (want.collection) want.collection = table_words[w];
        check_case(&want, path);
    }
}

START_TEST(spec_params_never_shadowed)
{
    check_params_never_shadowed(&spec_cases[_i]);
}
END_TEST

START_TEST(legacy_params_never_shadowed)
{
    check_params_never_shadowed(&legacy_cases[_i]);
}
END_TEST

START_TEST(op_names_unique_per_route)
{
    /* Each spec operationId appears once: the table has one row per operation. */
    for (int i = 0; i < N(spec_cases); i++) {
        for (int j = i + 1; j < N(spec_cases); j++)
            ck_assert_str_ne(spec_cases[i].op, spec_cases[j].op);
        ck_assert_ptr_nonnull(spec_cases[i].spec_path);
    }
    ck_assert_int_eq(N(spec_cases), 69);
}
END_TEST

START_TEST(flags_consistent)
{
    /* Invariants the cache relies on, over every row. */
    const route_case_t *sets[] = {spec_cases, legacy_cases, misc_cases};
    const int counts[] = {N(spec_cases), N(legacy_cases), N(misc_cases)};

    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < counts[s]; i++) {
            const route_case_t *c = &sets[s][i];
            if (c->flags & (F_ALL | F_NOWAIT | F_NOINV))
                ck_assert_msg(c->cls == W, "%s %s: write flags on a read", c->method, c->path);
            ck_assert_msg((c->flags & (F_ALL | F_NOINV)) != (F_ALL | F_NOINV), "%s", c->path);
            if (c->cls == R)
                ck_assert_msg(c->flags == 0, "%s %s: cacheable read with flags", c->method,
                              c->path);
        }
    }
}
END_TEST

START_TEST(class_names)
{
    ck_assert_str_eq(gw_route_class_name(GW_ROUTE_NOT_FOUND), "not_found");
    ck_assert_str_eq(gw_route_class_name(GW_ROUTE_GATEWAY_API), "gateway_api");
    ck_assert_str_eq(gw_route_class_name(GW_ROUTE_QDRANT_READ), "read");
    ck_assert_str_eq(gw_route_class_name(GW_ROUTE_QDRANT_READ_VOLATILE), "read_volatile");
    ck_assert_str_eq(gw_route_class_name(GW_ROUTE_QDRANT_WRITE), "write");
    ck_assert_str_eq(gw_route_class_name((gw_route_class_t)99), "unknown");
}
END_TEST

/* Inputs are (pointer, length): a path that continues past path_len must not be looked at. */
START_TEST(length_is_respected)
{
    gw_route_t r;
    const char *full = "/collections/c/points/delete";
    const char *m = at_guard(0, "POSTX", 5);

    ck_assert_int_eq(gw_route_classify(m, 4, full, strlen(full), &r), W);
    ck_assert_str_eq(r.op, "delete_points");
    ck_assert_int_eq(gw_route_classify(m, 4, full, strlen("/collections/c/points"), &r), R);
    ck_assert_str_eq(r.op, "get_points");
    ck_assert_int_eq(gw_route_classify(m, 4, full, strlen("/collections/c/poi"), &r), NF);
    ck_assert_int_eq(gw_route_classify(m, 4, full, 0, &r), NF);
    ck_assert_int_eq(gw_route_classify(m, 0, full, strlen(full), &r), NF);
}
END_TEST

typedef struct decode_case {
    const char *in;
    const char *out; /* NULL: does not fit */
    size_t cap;
} decode_case_t;

static const decode_case_t decode_cases[] = {
    {"my_coll", "my_coll", 64},
    {"my%20coll", "my coll", 64},
    {"a%2Fb", "a/b", 64},
    {"a%2fb%2B%25", "a/b+%", 64},
    {"%E6%97%A5", "\xE6\x97\xA5", 64},
    {"%zz%4", "%zz%4", 64},
    {"%", "%", 64},
    {"%2541", "%41", 64}, /* one decode of the value, not two */
    {"%2%41", "*", 64},   /* actix: requote gives "%2A", the value decode gives "*" */
    {"", "", 0},
    {"abc", "abc", 3},
    {"abc", NULL, 2},
    {"%41%42", "AB", 2},
    {"%41%42", NULL, 1},
};

START_TEST(decode_param)
{
    const decode_case_t *c = &decode_cases[_i];
    char out[64];
    const char *in = at_guard(1, c->in, strlen(c->in));

    memset(out, 'X', sizeof(out));
    ssize_t n = gw_route_decode_param(in, strlen(c->in), out, c->cap);
    if (c->out == NULL) {
        ck_assert_int_eq(n, -1);
        ck_assert_int_eq(out[c->cap], 'X');
        return;
    }
    ck_assert_int_eq(n, (ssize_t)strlen(c->out));
    ck_assert(memcmp(out, c->out, (size_t)n) == 0);
    if (c->cap < sizeof(out)) ck_assert_int_eq(out[c->cap], 'X'); /* nothing written past cap */
}
END_TEST

static Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("classify");

    tcase_add_checked_fixture(tc, guard_setup, guard_teardown);
    tcase_add_loop_test(tc, spec_operation, 0, N(spec_cases));
    tcase_add_loop_test(tc, legacy_route, 0, N(legacy_cases));
    tcase_add_loop_test(tc, misc_route, 0, N(misc_cases));
    tcase_add_loop_test(tc, spec_operation_normalised, 0, N(spec_cases));
    tcase_add_loop_test(tc, legacy_route_normalised, 0, N(legacy_cases));
    tcase_add_loop_test(tc, spec_operation_wrong_method, 0, N(spec_cases));
    tcase_add_loop_test(tc, spec_params_never_shadowed, 0, N(spec_cases));
    tcase_add_loop_test(tc, legacy_params_never_shadowed, 0, N(legacy_cases));
    tcase_add_test(tc, op_names_unique_per_route);
    tcase_add_test(tc, flags_consistent);
    tcase_add_test(tc, class_names);
    tcase_add_test(tc, length_is_respected);
    tcase_add_test(tc, memo_repeats_and_buffers);
    tcase_add_loop_test(tc, decode_param, 0, N(decode_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(router_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
