/* Request classification: a declarative table of every route Qdrant 1.19 serves (the 69 spec
 * operations and the routes absent from the spec) matched segment by segment, as actix does. */
#include "gateway/http/router.h"

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

/* Longest pattern is 7 segments (/collections/{c}/shards/{s}/snapshot/partial/recover_from). */
#define ROUTE_MAX_SEGS 8

#define COLL "{collection_name}" /* the one parameter captured into gw_route_t.collection */

typedef struct route_row {
    const char *method; /* NULL: any method */
    /* '/'-separated segments: a literal, a "{name}" parameter (one non-empty segment), or a
     * final "*" that matches whatever follows (zero or more segments). */
    const char *pattern;
    const char *op;
    gw_route_class_t cls;
    unsigned flags;
    gw_handler_id_t handler; /* GW_H_FORWARD unless given */
} route_row_t;

/* Short names keep the table one row per line. */
#define R      GW_ROUTE_QDRANT_READ
#define V      GW_ROUTE_QDRANT_READ_VOLATILE
#define W      GW_ROUTE_QDRANT_WRITE
#define STREAM GW_ROUTE_F_STREAM
#define ALL    GW_ROUTE_F_ALL_COLLECTIONS
#define NOWAIT GW_ROUTE_F_WAIT_DEFAULT_FALSE
#define NOINV  GW_ROUTE_F_NO_INVALIDATE

/* First match wins. No two rows with the same method can match the same path today (checked by
 * test_router), but the order still follows actix registration (src/actix/mod.rs) so that a
 * future overlap resolves the way Qdrant resolves it: the points catch-alls come last. */
/* A row names its handler only when it is not GW_H_FORWARD (0): the others leave it out. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const route_row_t routes[] = {
    /* Ours: never forwarded. Each handler checks the method itself (405 with its own text). */
    {NULL, "/api/v1/health", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_HEALTH},
    {NULL, "/api/v1/cache/purge", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_PURGE},
    {NULL, "/api/v1/models", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_MODELS},
    {NULL, "/api/v1/models/*", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_MODELS},
    {NULL, "/api/v1/collections", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_MODELS},
    {NULL, "/api/v1/*", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_API_NOT_FOUND},
    {NULL, "/graphql", "gateway_api", GW_ROUTE_GATEWAY_API, 0, GW_H_GRAPHQL},

    {"GET", "/", "root", V, 0},

    /* collections_api.rs. POST /collections/aliases is the only POST on /collections/x, so a
     * collection named "aliases" is still reachable by GET/PUT/PATCH/DELETE. */
    {"GET", "/collections", "get_collections", R, 0},
    {"POST", "/collections/aliases", "update_aliases", W, ALL},
    {"GET", "/collections/" COLL, "get_collection", R, 0},
    {"PUT", "/collections/" COLL, "create_collection", W, ALL},
    {"PATCH", "/collections/" COLL, "update_collection", W, 0},
    {"DELETE", "/collections/" COLL, "delete_collection", W, ALL},
    {"GET", "/collections/" COLL "/exists", "collection_exists", R, 0},
    {"GET", "/collections/" COLL "/aliases", "get_collection_aliases", R, 0},
    {"GET", "/aliases", "get_collections_aliases", R, 0},
    {"GET", "/collections/" COLL "/cluster", "collection_cluster_info", V, 0},
    {"POST", "/collections/" COLL "/cluster", "update_collection_cluster", W, 0},
    {"GET", "/collections/" COLL "/optimizations", "get_optimizations", V, 0},
    {"GET", "/collections/" COLL "/memory", "collection_memory", V, 0},
    {"PUT", "/collections/" COLL "/vectors/{vector_name}", "create_vector_name", W, NOWAIT},
    {"DELETE", "/collections/" COLL "/vectors/{vector_name}", "delete_vector_name", W, NOWAIT},

    /* shards_api.rs: shard keys. */
    {"PUT", "/collections/" COLL "/shards", "create_shard_key", W, 0},
    {"GET", "/collections/" COLL "/shards", "list_shard_keys", R, 0},
    {"POST", "/collections/" COLL "/shards/delete", "delete_shard_key", W, 0},

    /* snapshot_api.rs. Recovering a collection snapshot creates the collection when it does
     * not exist, which changes the global lists: ALL. */
    {"GET", "/collections/" COLL "/snapshots", "list_snapshots", V, 0},
    {"POST", "/collections/" COLL "/snapshots", "create_snapshot", W, NOINV},
    {"POST", "/collections/" COLL "/snapshots/upload", "recover_from_uploaded_snapshot", W,
     STREAM | ALL},
    {"PUT", "/collections/" COLL "/snapshots/recover", "recover_from_snapshot", W, ALL},
    {"GET", "/collections/" COLL "/snapshots/{snapshot_name}", "get_snapshot", V, STREAM},
    {"DELETE", "/collections/" COLL "/snapshots/{snapshot_name}", "delete_snapshot", W, NOINV},
    {"GET", "/snapshots", "list_full_snapshots", V, 0},
    {"POST", "/snapshots", "create_full_snapshot", W, NOINV},
    {"GET", "/snapshots/{snapshot_name}", "get_full_snapshot", V, STREAM},
    {"DELETE", "/snapshots/{snapshot_name}", "delete_full_snapshot", W, NOINV},
    {"GET", "/collections/" COLL "/shards/{shard_id}/snapshots", "list_shard_snapshots", V, 0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/snapshots", "create_shard_snapshot", W,
     NOINV},
    {"PUT", "/collections/" COLL "/shards/{shard_id}/snapshots/recover",
     "recover_shard_from_snapshot", W, 0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/snapshots/upload",
     "recover_shard_from_uploaded_snapshot", W, STREAM},
    {"GET", "/collections/" COLL "/shards/{shard_id}/snapshots/{snapshot_name}",
     "get_shard_snapshot", V, STREAM},
    {"DELETE", "/collections/" COLL "/shards/{shard_id}/snapshots/{snapshot_name}",
     "delete_shard_snapshot", W, NOINV},
    {"GET", "/collections/" COLL "/shards/{shard_id}/snapshot", "stream_shard_snapshot", V, STREAM},
    /* Partial snapshots: create answers with a snapshot stream, recover takes a multipart one. */
    {"GET", "/collections/" COLL "/shards/{shard_id}/snapshot/partial/manifest",
     "get_partial_snapshot_manifest", V, 0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/snapshot/partial/create",
     "create_partial_snapshot", W, STREAM | NOINV},
    {"POST", "/collections/" COLL "/shards/{shard_id}/snapshot/partial/recover",
     "recover_partial_snapshot", W, STREAM},
    {"POST", "/collections/" COLL "/shards/{shard_id}/snapshot/partial/recover_from",
     "recover_partial_snapshot_from", W, 0},

    /* update_api.rs: point, vector, payload and index writes default to wait=false. */
    {"PUT", "/collections/" COLL "/points", "upsert_points", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/delete", "delete_points", W, NOWAIT},
    {"PUT", "/collections/" COLL "/points/vectors", "update_vectors", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/vectors/delete", "delete_vectors", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/payload", "set_payload", W, NOWAIT},
    {"PUT", "/collections/" COLL "/points/payload", "overwrite_payload", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/payload/delete", "delete_payload", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/payload/clear", "clear_payload", W, NOWAIT},
    {"POST", "/collections/" COLL "/points/batch", "batch_update", W, NOWAIT},
    {"PUT", "/collections/" COLL "/index", "create_field_index", W, NOWAIT},
    {"DELETE", "/collections/" COLL "/index/{field_name}", "delete_field_index", W, NOWAIT},
    /* Only compiled into Qdrant with the `staging` feature. */
    {"POST", "/collections/" COLL "/debug", "debug_collection", W, 0},

    /* cluster_api.rs: peer changes can move or drop any collection's data. */
    {"GET", "/cluster", "cluster_status", V, 0},
    {"GET", "/cluster/telemetry", "cluster_telemetry", V, 0},
    {"POST", "/cluster/recover", "recover_current_peer", W, ALL},
    {"DELETE", "/cluster/peer/{peer_id}", "remove_peer", W, ALL},
    {"GET", "/cluster/metadata/keys", "list_cluster_metadata_keys", V, 0},
    {"GET", "/cluster/metadata/keys/{key}", "get_cluster_metadata_key", V, 0},
    {"PUT", "/cluster/metadata/keys/{key}", "update_cluster_metadata_key", W, NOINV},
    {"DELETE", "/cluster/metadata/keys/{key}", "delete_cluster_metadata_key", W, NOINV},

    /* service_api.rs, telemetry, issues, quotas, debug, profiler, audit. */
    {"GET", "/telemetry", "telemetry", V, 0},
    {"GET", "/metrics", "metrics", V, 0, GW_H_METRICS},
    {"GET", "/healthz", "healthz", V, 0},
    {"GET", "/livez", "livez", V, 0},
    {"GET", "/readyz", "readyz", V, 0},
    {"GET", "/stacktrace", "get_stacktrace", V, 0},
    {"GET", "/logger", "get_logger_config", V, 0},
    {"POST", "/logger", "update_logger_config", W, NOINV},
    {"POST", "/collections/" COLL "/truncate_unapplied_wal", "truncate_unapplied_wal", W, 0},
    {"GET", "/issues", "get_issues", V, 0},
    {"DELETE", "/issues", "clear_issues", W, NOINV},
    {"GET", "/quotas", "get_quotas", V, 0},
    {"PUT", "/quotas", "update_quotas", W, NOINV},
    {"GET", "/debugger", "get_debugger_config", V, 0},
    {"PATCH", "/debugger", "update_debugger_config", W, NOINV},
    {"GET", "/collections/" COLL "/shards/{shard_id}/recovery_point", "get_shard_recovery_point", V,
     0},
    {"GET", "/collections/" COLL "/shards/{shard_id}/wal", "get_shard_wal", V, 0},
    {"GET", "/profiler/slow_requests", "get_slow_requests", V, 0},
    {"POST", "/audit/logs", "get_audit_logs", V, 0}, /* POST only to carry a filter body */

    /* search_api.rs, query_api.rs, facet_api.rs, recommend_api.rs, discover_api.rs: reads sent
     * with POST. Search, recommend and discover left the 1.19 spec but are still served. */
    {"POST", "/collections/" COLL "/points/search", "search_points", R, 0},
    {"POST", "/collections/" COLL "/points/search/batch", "search_batch_points", R, 0},
    {"POST", "/collections/" COLL "/points/search/groups", "search_point_groups", R, 0},
    {"POST", "/collections/" COLL "/points/search/matrix/pairs", "search_matrix_pairs", R, 0},
    {"POST", "/collections/" COLL "/points/search/matrix/offsets", "search_matrix_offsets", R, 0},
    {"POST", "/collections/" COLL "/points/query", "query_points", R, 0},
    {"POST", "/collections/" COLL "/points/query/batch", "query_batch_points", R, 0},
    {"POST", "/collections/" COLL "/points/query/groups", "query_points_groups", R, 0},
    {"POST", "/collections/" COLL "/facet", "facet", R, 0},
    {"POST", "/collections/" COLL "/points/recommend", "recommend_points", R, 0},
    {"POST", "/collections/" COLL "/points/recommend/batch", "recommend_batch_points", R, 0},
    {"POST", "/collections/" COLL "/points/recommend/groups", "recommend_point_groups", R, 0},
    {"POST", "/collections/" COLL "/points/discover", "discover_points", R, 0},
    {"POST", "/collections/" COLL "/points/discover/batch", "discover_batch_points", R, 0},

    /* local_shard_api.rs: one shard's points, same data as the collection-wide reads. */
    {"POST", "/collections/" COLL "/shards/{shard_id}/points", "local_shard_get_points", R, 0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/points/scroll", "local_shard_scroll_points",
     R, 0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/points/count", "local_shard_count_points", R,
     0},
    {"POST", "/collections/" COLL "/shards/{shard_id}/cleanup", "local_shard_cleanup", W, 0},

    /* Registered last in actix (issue #3543): GET .../points/{id} must not shadow other
     * routes. A GET of ".../points/scroll" is get_point with id "scroll", as in Qdrant. */
    {"POST", "/collections/" COLL "/points/scroll", "scroll_points", R, 0},
    {"POST", "/collections/" COLL "/points/count", "count_points", R, 0},
    {"GET", "/collections/" COLL "/points/{id}", "get_point", R, 0},
    {"POST", "/collections/" COLL "/points", "get_points", R, 0},

    /* web_ui.rs: actix-files mount, any method (it answers 405 itself); only when the static
     * content exists, else Qdrant 404s. */
    {NULL, "/dashboard/*", "web_ui", V, 0},
};
#pragma GCC diagnostic pop

typedef struct seg {
    const char *p;
    size_t len;
} seg_t;

/* The request path as actix's NormalizePath::trim() leaves it: empty segments (from "//" or a
 * trailing '/') are dropped. Only the first ROUTE_MAX_SEGS are kept; n counts them all. */
typedef struct segs {
    seg_t s[ROUTE_MAX_SEGS];
    size_t n;
} segs_t;

static void split_path(const char *path, size_t len, segs_t *out)
{
    size_t i = 0;

    out->n = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (i == start) break; /* only slashes were left */
        if (out->n < ROUTE_MAX_SEGS) {
            out->s[out->n].p = path + start;
            out->s[out->n].len = i - start;
        }
        out->n++;
    }
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the %XX at s[i] (caller checked i < len), or returns -1 if it is not a valid escape. */
static int pct_at(const char *s, size_t len, size_t i)
{
    if (s[i] != '%' || len - i < 3) return -1;
    int hi = hex_val(s[i + 1]), lo = hex_val(s[i + 2]);
    if (hi < 0 || lo < 0) return -1;
    return hi * 16 + lo;
}

/* actix matches fixed segments against the requoted path, where %XX is decoded except %25,
 * %2F and %2B. Literals are plain [a-z_] words, so a kept-encoded escape can never match. */
static int seg_eq_literal(const seg_t *seg, const char *lit, size_t lit_len)
{
    size_t i = 0, j = 0;

    while (i < seg->len) {
        int c = pct_at(seg->p, seg->len, i);
        if (c >= 0) {
            if (c == '%' || c == '/' || c == '+') return 0;
            i += 3;
        } else {
            c = (unsigned char)seg->p[i];
            i++;
        }
        if (j >= lit_len || (unsigned char)lit[j] != c) return 0;
        j++;
    }
    return j == lit_len;
}

/* The table, compiled once: each pattern split into segments, so that matching a request is
 * length checks and memcmp instead of re-parsing every pattern with strchr/strlen (which was
 * the router's cost, ~10% of a cache hit). */
enum { PS_LITERAL, PS_PARAM, PS_COLL };

typedef struct pseg {
    const char *p;
    size_t len;
    int kind;
} pseg_t;

typedef struct cpat {
    pseg_t seg[ROUTE_MAX_SEGS];
    size_t n;          /* segments before a final "*" (or all) */
    int star;          /* ends with "*": matches n or more path segments */
    size_t method_len; /* 0: any method */
} cpat_t;

#define NROUTES (sizeof(routes) / sizeof(routes[0]))
static cpat_t compiled[NROUTES];
static pthread_once_t compiled_once = PTHREAD_ONCE_INIT;

static void compile_routes(void)
{
    for (size_t i = 0; i < NROUTES; i++) {
        cpat_t *c = &compiled[i];
        const char *pat = routes[i].pattern;
        c->method_len = routes[i].method ? strlen(routes[i].method) : 0;
        for (;;) {
            while (*pat == '/')
                pat++;
            if (*pat == '\0') break;
            const char *end = strchr(pat, '/');
            size_t plen = end ? (size_t)(end - pat) : strlen(pat);
            if (plen == 1 && pat[0] == '*') {
                c->star = 1;
                break;
            }
            pseg_t *g = &c->seg[c->n++];
            g->p = pat;
            g->len = plen;
            g->kind = pat[0] != '{'                                              ? PS_LITERAL
                      : plen == sizeof(COLL) - 1 && memcmp(pat, COLL, plen) == 0 ? PS_COLL
                                                                                 : PS_PARAM;
            pat += plen;
        }
    }
}

/* A path segment against a literal: the bytes as they are, or percent-decoded when they hold
 * a '%' (actix matches the requoted path). */
static int seg_is(const seg_t *seg, const pseg_t *lit)
{
    if (seg->len == lit->len && memcmp(seg->p, lit->p, lit->len) == 0) return 1;
    return memchr(seg->p, '%', seg->len) && seg_eq_literal(seg, lit->p, lit->len);
}

/* Matches compiled pattern c against the split path; on success sets *coll to the
 * {collection_name} segment (or NULL). */
static int match_compiled(const cpat_t *c, const segs_t *segs, const seg_t **coll)
{
    *coll = NULL;
    if (c->star ? segs->n < c->n : segs->n != c->n) return 0;
    for (size_t k = 0; k < c->n; k++) {
        /* Segments are never empty after split_path, as actix's "[^/]+" wants. */
        if (c->seg[k].kind == PS_COLL)
            *coll = &segs->s[k];
        else if (c->seg[k].kind == PS_LITERAL && !seg_is(&segs->s[k], &c->seg[k]))
            return 0;
    }
    return 1;
}

/* The answer for (method, path) never changes and clients repeat the same few paths: each thread
 * remembers its last classifications (exact bytes compared, the collection kept as an offset
 * into the path), so a repeat costs a hash and a memcmp instead of the table walk. */
#define MEMO_SLOTS    64
#define MEMO_PATH_MAX 120

typedef struct route_memo {
    uint8_t method_len, path_len; /* path_len 0: empty slot */
    char method[8];
    char path[MEMO_PATH_MAX];
    gw_route_class_t cls;
    const char *op;
    unsigned flags;
    gw_handler_id_t handler;
    uint8_t coll_off, coll_len; /* coll_len 0: no collection */
} route_memo_t;

static _Thread_local route_memo_t memo[MEMO_SLOTS];

static route_memo_t *memo_slot(const char *method, size_t method_len, const char *path,
                               size_t path_len)
{
    uint32_t h = 2166136261u; /* FNV-1a: spreading slots, not a security boundary */
    for (size_t i = 0; i < method_len; i++)
        h = (h ^ (unsigned char)method[i]) * 16777619u;
    for (size_t i = 0; i < path_len; i++)
        h = (h ^ (unsigned char)path[i]) * 16777619u;
    return &memo[h % MEMO_SLOTS];
}

static gw_route_class_t classify_table(const char *method, size_t method_len, const char *path,
                                       size_t path_len, gw_route_t *out);

gw_route_class_t gw_route_classify(const char *method, size_t method_len, const char *path,
                                   size_t path_len, gw_route_t *out)
{
    if (method_len >= sizeof(memo[0].method) || path_len == 0 || path_len > MEMO_PATH_MAX)
        return classify_table(method, method_len, path, path_len, out);
    route_memo_t *m = memo_slot(method, method_len, path, path_len);
    if (m->path_len == path_len && m->method_len == method_len &&
        memcmp(m->path, path, path_len) == 0 && memcmp(m->method, method, method_len) == 0) {
        out->cls = m->cls;
        out->op = m->op;
        out->flags = m->flags;
        out->handler = m->handler;
        out->collection = m->coll_len ? path + m->coll_off : NULL;
        out->collection_len = m->coll_len;
        return out->cls;
    }
    classify_table(method, method_len, path, path_len, out);
    m->method_len = (uint8_t)method_len;
    m->path_len = (uint8_t)path_len;
    memcpy(m->method, method, method_len);
    memcpy(m->path, path, path_len);
    m->cls = out->cls;
    m->op = out->op;
    m->flags = out->flags;
    m->handler = out->handler;
    m->coll_off = out->collection ? (uint8_t)(out->collection - path) : 0;
    m->coll_len = out->collection ? (uint8_t)out->collection_len : 0;
    return out->cls;
}

static gw_route_class_t classify_table(const char *method, size_t method_len, const char *path,
                                       size_t path_len, gw_route_t *out)
{
    segs_t segs;

    out->cls = GW_ROUTE_NOT_FOUND;
    out->op = NULL;
    out->collection = NULL;
    out->collection_len = 0;
    out->flags = 0;
    out->handler = GW_H_FORWARD;
    /* Origin-form only: "*" and absolute-form targets are for the codec to reject or rewrite. */
    if (path_len == 0 || path[0] != '/') return out->cls;
    pthread_once(&compiled_once, compile_routes);
    split_path(path, path_len, &segs);
    for (size_t i = 0; i < NROUTES; i++) {
        const route_row_t *row = &routes[i];
        const cpat_t *c = &compiled[i];
        const seg_t *coll;
        if ((c->method_len &&
             (c->method_len != method_len || memcmp(row->method, method, method_len) != 0)) ||
            !match_compiled(c, &segs, &coll))
            continue;
        out->cls = row->cls;
        out->op = row->op;
        out->flags = row->flags;
        out->handler = row->handler;
        if (coll) {
            out->collection = coll->p;
            out->collection_len = coll->len;
        }
        break;
    }
    return out->cls;
}

const char *gw_route_class_name(gw_route_class_t cls)
{
    switch (cls) {
    case GW_ROUTE_NOT_FOUND:
        return "not_found";
    case GW_ROUTE_GATEWAY_API:
        return "gateway_api";
    case GW_ROUTE_QDRANT_READ:
        return "read";
    case GW_ROUTE_QDRANT_READ_VOLATILE:
        return "read_volatile";
    case GW_ROUTE_QDRANT_WRITE:
        return "write";
    }
    return "unknown";
}

/* One percent-decoding pass over in[0..len) into out; `keep_reserved` leaves %25, %2F and %2B
 * encoded (actix's requote). out may equal in: the output never outruns the input. */
static ssize_t pct_decode(const char *in, size_t len, char *out, size_t cap, int keep_reserved)
{
    size_t i = 0, o = 0;

    while (i < len) {
        int c = pct_at(in, len, i);
        if (keep_reserved && (c == '%' || c == '/' || c == '+')) c = -1;
        if (o >= cap) return -1;
        if (c >= 0) {
            out[o++] = (char)c;
            i += 3;
        } else {
            out[o++] = in[i++];
        }
    }
    return (ssize_t)o;
}

ssize_t gw_route_decode_param(const char *in, size_t len, char *out, size_t cap)
{
    /* Two passes, as in actix: requote, then decode the extracted value. They differ from one
     * pass only for oddities like "%2%41" (-> "%2A" -> "*"), but those must agree too. */
    ssize_t n = pct_decode(in, len, out, cap, 1);
    if (n < 0) return -1;
    return pct_decode(out, (size_t)n, out, (size_t)n, 0);
}

int gw_route_collection_target(const char *name, const char *suffix, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = (size_t)snprintf(buf, len, "/collections/");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (o + 4 >= len) return -1;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    int n = snprintf(buf + o, len - o, "%s", suffix);
    return n < 0 || (size_t)n >= len - o ? -1 : 0;
}
