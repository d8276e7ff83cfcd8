/* Routing for fake_qdrant: the method + path table, path normalisation, fault injection,
 * api-key checks, JSON body extraction and --latency-ms delays, in actix/Qdrant order. */

#include "fq_router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "fq_auth.h"
#include "fq_gzip.h"
#include "fq_handlers.h"
#include "fq_metrics.h"

#define JSON_LIMIT (32u * 1024 * 1024)
#define C "/collections/{collection_name}"
#define RD (FQ_R_JSON | FQ_R_LATENCY)
#define WR (FQ_R_JSON | FQ_R_WRITE)
#define SVC (FQ_R_NOAUTH | FQ_R_NOMETRIC)
#define HOOK (FQ_R_HOOK | FQ_R_NOAUTH | FQ_R_NOMETRIC)

/* Order matters where patterns overlap, as in actix: literals before {id}. */
static const fq_route_t routes[] = {
    {"GET", "/", fq_h_root, SVC, "root"},
    {"GET", "/healthz", fq_h_healthz, SVC, "healthz"},
    {"GET", "/livez", fq_h_healthz, SVC, "livez"},
    {"GET", "/readyz", fq_h_readyz, SVC, "readyz"},
    {"GET", "/metrics", fq_h_metrics, FQ_R_NOMETRIC, "metrics"},
    {"GET", "/telemetry", fq_h_telemetry, FQ_R_NOMETRIC, "telemetry"},
    {"GET", "/cluster", fq_h_cluster, 0, "cluster_status"},
    {"GET", "/issues", fq_h_issues, 0, "get_issues"},
    {"DELETE", "/issues", fq_h_clear_issues, FQ_R_WRITE, "clear_issues"},
    {"GET", "/cluster/telemetry", fq_h_cluster_telemetry, 0, "cluster_telemetry"},
    {"POST", "/cluster/recover", fq_h_recover_peer, FQ_R_WRITE, "recover_current_peer"},
    {"DELETE", "/cluster/peer/{peer_id}", fq_h_remove_peer, FQ_R_WRITE, "remove_peer"},
    {"GET", "/quotas", fq_h_get_quotas, 0, "get_quotas"},
    {"PUT", "/quotas", fq_h_update_quotas, WR, "update_quotas"},
    {"GET", "/snapshots", fq_h_full_snap_list, 0, "list_full_snapshots"},
    {"POST", "/snapshots", fq_h_full_snap_create, FQ_R_WRITE, "create_full_snapshot"},
    {"GET", "/snapshots/{snapshot_name}", fq_h_full_snap_get, 0, "get_full_snapshot"},
    {"DELETE", "/snapshots/{snapshot_name}", fq_h_full_snap_delete, FQ_R_WRITE,
     "delete_full_snapshot"},
    {"GET", "/collections", fq_h_list_collections, 0, "get_collections"},
    {"GET", "/aliases", fq_h_list_aliases, 0, "get_collections_aliases"},
    {"POST", "/collections/aliases", fq_h_update_aliases, WR, "update_aliases"},
    {"GET", C, fq_h_get_collection, 0, "get_collection"},
    {"PUT", C, fq_h_create_collection, WR, "create_collection"},
    {"PATCH", C, fq_h_update_collection, WR, "update_collection"},
    {"DELETE", C, fq_h_delete_collection, FQ_R_WRITE, "delete_collection"},
    {"GET", C "/exists", fq_h_collection_exists, 0, "collection_exists"},
    {"GET", C "/aliases", fq_h_collection_aliases, 0, "get_collection_aliases"},
    {"GET", C "/cluster", fq_h_collection_cluster, 0, "collection_cluster_info"},
    {"POST", C "/cluster", fq_h_update_collection_cluster, WR, "update_collection_cluster"},
    {"GET", C "/optimizations", fq_h_get_optimizations, 0, "get_optimizations"},
    {"PUT", C "/shards", fq_h_create_shard_key, WR, "create_shard_key"},
    {"GET", C "/shards", fq_h_list_shard_keys, 0, "list_shard_keys"},
    {"POST", C "/shards/delete", fq_h_delete_shard_key, WR, "delete_shard_key"},
    {"PUT", C "/vectors/{vector_name}", fq_h_create_vector_name, WR, "create_vector_name"},
    {"DELETE", C "/vectors/{vector_name}", fq_h_delete_vector_name, FQ_R_WRITE,
     "delete_vector_name"},
    {"PUT", C "/index", fq_h_create_index, WR, "create_field_index"},
    {"DELETE", C "/index/{field_name}", fq_h_delete_index, FQ_R_WRITE, "delete_field_index"},
    {"GET", C "/snapshots", fq_h_snap_list, 0, "list_snapshots"},
    {"POST", C "/snapshots", fq_h_snap_create, FQ_R_WRITE, "create_snapshot"},
    {"POST", C "/snapshots/upload", fq_h_snap_upload, FQ_R_WRITE | FQ_R_HASHBODY,
     "recover_from_uploaded_snapshot"},
    {"PUT", C "/snapshots/recover", fq_h_snap_recover, WR, "recover_from_snapshot"},
    {"GET", C "/snapshots/{snapshot_name}", fq_h_snap_get, 0, "get_snapshot"},
    {"DELETE", C "/snapshots/{snapshot_name}", fq_h_snap_delete, FQ_R_WRITE, "delete_snapshot"},
    {"GET", C "/shards/{shard_id}/snapshot", fq_h_shard_snap_stream, FQ_R_WRITE,
     "stream_shard_snapshot"},
    {"POST", C "/shards/{shard_id}/snapshots/upload", fq_h_shard_snap_upload,
     FQ_R_WRITE | FQ_R_HASHBODY, "recover_shard_from_uploaded_snapshot"},
    {"PUT", C "/shards/{shard_id}/snapshots/recover", fq_h_shard_snap_recover, WR,
     "recover_shard_from_snapshot"},
    {"GET", C "/shards/{shard_id}/snapshots", fq_h_shard_snap_list, 0, "list_shard_snapshots"},
    {"POST", C "/shards/{shard_id}/snapshots", fq_h_shard_snap_create, FQ_R_WRITE,
     "create_shard_snapshot"},
    {"GET", C "/shards/{shard_id}/snapshots/{snapshot_name}", fq_h_shard_snap_get, 0,
     "get_shard_snapshot"},
    {"DELETE", C "/shards/{shard_id}/snapshots/{snapshot_name}", fq_h_shard_snap_delete, FQ_R_WRITE,
     "delete_shard_snapshot"},
    {"POST", C "/points/delete", fq_h_delete_points, WR, "delete_points"},
    {"PUT", C "/points/vectors", fq_h_update_vectors, WR, "update_vectors"},
    {"POST", C "/points/vectors/delete", fq_h_delete_vectors, WR, "delete_vectors"},
    {"POST", C "/points/payload", fq_h_set_payload, WR, "set_payload"},
    {"PUT", C "/points/payload", fq_h_overwrite_payload, WR, "overwrite_payload"},
    {"POST", C "/points/payload/delete", fq_h_delete_payload, WR, "delete_payload"},
    {"POST", C "/points/payload/clear", fq_h_clear_payload, WR, "clear_payload"},
    {"POST", C "/points/batch", fq_h_batch_update, WR, "batch_update"},
    {"POST", C "/points/search", fq_h_search, RD, "search_points"},
    {"POST", C "/points/search/batch", fq_h_search_batch, RD, "search_batch_points"},
    {"POST", C "/points/search/groups", fq_h_search_groups, RD, "search_point_groups"},
    {"POST", C "/points/search/matrix/pairs", fq_h_matrix_pairs, RD, "search_matrix_pairs"},
    {"POST", C "/points/search/matrix/offsets", fq_h_matrix_offsets, RD, "search_matrix_offsets"},
    {"POST", C "/points/recommend", fq_h_recommend, RD, "recommend_points"},
    {"POST", C "/points/recommend/batch", fq_h_recommend_batch, RD, "recommend_batch_points"},
    {"POST", C "/points/recommend/groups", fq_h_recommend_groups, RD, "recommend_point_groups"},
    {"POST", C "/points/discover", fq_h_discover, RD, "discover_points"},
    {"POST", C "/points/discover/batch", fq_h_discover_batch, RD, "discover_batch_points"},
    {"POST", C "/points/query", fq_h_query, RD, "query_points"},
    {"POST", C "/points/query/batch", fq_h_query_batch, RD, "query_batch_points"},
    {"POST", C "/points/query/groups", fq_h_query_groups, RD, "query_points_groups"},
    {"POST", C "/facet", fq_h_facet, RD, "facet"},
    {"POST", C "/points/scroll", fq_h_scroll, RD, "scroll_points"},
    {"POST", C "/points/count", fq_h_count, RD, "count_points"},
    {"GET", C "/points/{id}", fq_h_get_point, 0, "get_point"},
    {"POST", C "/points", fq_h_retrieve, FQ_R_JSON, "get_points"},
    {"PUT", C "/points", fq_h_upsert, WR, "upsert_points"},
    {NULL, "/__fake/echo", fq_h_fake_echo, HOOK | FQ_R_HASHBODY, "fake_echo"},
    {"GET", "/__fake/stats", fq_h_fake_stats, HOOK, "fake_stats"},
    {"POST", "/__fake/stats/reset", fq_h_fake_stats_reset, HOOK, "fake_stats_reset"},
    {"POST", "/__fake/reset", fq_h_fake_reset, HOOK, "fake_reset"},
};

static void rq_free(void *p)
{
    fq_rq_t *rq = p;
    for (size_t k = 0; k < 3; k++)
        free(rq->params[k]);
    fq_jdoc_free(rq->doc);
    if (rq->delay_ev)
        event_free(rq->delay_ev);
    free(rq);
}

static char *pct_decode_segment(const char *s, size_t n)
{
    char *out = malloc(n + 1), *w = out;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '%' && k + 2 < n && isxdigit((unsigned char)s[k + 1]) &&
            isxdigit((unsigned char)s[k + 2])) {
            char hex[3] = {s[k + 1], s[k + 2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            k += 2;
        } else {
            *w++ = s[k];
        }
    }
    *w = '\0';
    return out;
}

/* Splits the raw path into decoded segments; empty segments vanish (actix NormalizePath merges
 * slashes and trims the trailing one). Returns the count, at most max. */
static size_t split_path(const char *path, char **segs, size_t max)
{
    size_t n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == max) {
            for (size_t k = 0; k < n; k++)
                free(segs[k]);
            return max + 1;
        }
        segs[n++] = pct_decode_segment(p, len);
        p += len;
    }
    return n;
}

/* Does pattern match segs? Captures {…} values into params (strdup'd). */
static int match_pattern(const char *pattern, char **segs, size_t nseg, char **params)
{
    size_t k = 0, np = 0;
    const char *p = pattern;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (k >= nseg)
            goto fail;
        if (p[0] == '{') {
            params[np++] = strdup(segs[k]);
        } else if (strlen(segs[k]) != len || strncmp(segs[k], p, len) != 0) {
            goto fail;
        }
        k++;
        p += len;
    }
    if (k == nseg)
        return 1;
fail:
    for (size_t j = 0; j < np; j++) {
        free(params[j]);
        params[j] = NULL;
    }
    return 0;
}

static const fq_route_t *find_route(fq_rq_t *rq)
{
    char *segs[16];
    size_t nseg = split_path(rq->http->path, segs, 16);
    const fq_route_t *found = NULL;
    if (nseg > 16)
        return NULL;
    for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]) && !found; k++) {
        const fq_route_t *r = &routes[k];
        if (r->method && strcmp(r->method, rq->http->method) != 0)
            continue;
        if (match_pattern(r->pattern, segs, nseg, rq->params))
            found = r;
    }
    for (size_t k = 0; k < nseg; k++)
        free(segs[k]);
    return found;
}

/* 0 ok (sets *read_only), or the text of the 401 answer. */
static const char *check_key(fq_rq_t *rq, int *read_only)
{
    const fq_options_t *o = &rq->app->opt;
    *read_only = 0;
    if (rq->jwt_ok || (!o->api_key && !o->ro_api_key))
        return NULL;
    if (rq->route && (rq->route->flags & FQ_R_NOAUTH))
        return NULL;
    const char *key = fq_http_header(rq->http, "api-key");
    if (!key) {
        const char *auth = fq_http_header(rq->http, "Authorization");
        if (auth && strncmp(auth, "Bearer ", 7) == 0)
            key = auth + 7;
    }
    if (!key)
        return "Must provide an API key or an Authorization bearer token";
    if (o->api_key && strcmp(key, o->api_key) == 0)
        return NULL;
    if (o->ro_api_key && strcmp(key, o->ro_api_key) == 0) {
        *read_only = 1;
        return NULL;
    }
    return "Invalid API key or JWT";
}

static int content_type_ok(const fq_http_req_t *h)
{
    const char *ct = fq_http_header(h, "Content-Type");
    if (!ct)
        return 1;
    const char *slash = strchr(ct, '/');
    if (!slash)
        return 0;
    size_t n = strcspn(slash + 1, ";");
    const char *sub = slash + 1;
    while (n && (sub[n - 1] == ' ' || sub[n - 1] == '\t'))
        n--;
    if (n == 4 && strncasecmp(sub, "json", 4) == 0)
        return 1;
    return n >= 5 && strncasecmp(sub + n - 5, "+json", 5) == 0;
}

static void run_handler(fq_rq_t *rq)
{
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    rq->route->fn(rq);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    run_handler(arg);
}

void fq_router_on_headers(fq_http_req_t *req, void *arg)
{
    fq_app_t *app = arg;
    fq_rq_t *rq = calloc(1, sizeof(*rq));
    if (!rq) {
        fq_http_abort(req);
        return;
    }
    rq->app = app;
    rq->http = req;
    req->user = rq;
    req->user_free = rq_free;
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    rq->route = find_route(rq);
    req->body_mode = rq->route && (rq->route->flags & FQ_R_HASHBODY) ? FQ_BODY_HASH
                                                                      : FQ_BODY_BUFFER;
    req->body_limit = JSON_LIMIT;
    const char *cl = fq_http_header(req, "Content-Length");
    if (req->body_mode == FQ_BODY_BUFFER && cl && strtoull(cl, NULL, 10) > JSON_LIMIT) {
        int ro;
        const char *denied = check_key(rq, &ro);
        if (denied)
            fq_reply_raw(rq, 401, NULL, denied);
        else
            fq_fail0(rq, 400, "JSON payload (%s bytes) is larger than allowed (limit: %u bytes).",
                     cl, JSON_LIMIT);
    }
}

/* Faults first (they stand for a broken upstream); returns 1 when the request is consumed. */
static int inject_fault(fq_rq_t *rq)
{
    fq_app_t *app = rq->app;
    if (app->opt.reset_rate > 0 && fq_app_random(app) < app->opt.reset_rate) {
        fq_metrics_fault(app->metrics, 1);
        fq_http_abort(rq->http);
        return 1;
    }
    if (app->opt.error_rate > 0 && fq_app_random(app) < app->opt.error_rate) {
        fq_metrics_fault(app->metrics, 0);
        fq_fail(rq, 500, "Service internal error: injected fault");
        return 1;
    }
    return 0;
}

/* actix's Json extractor decodes a Content-Encoding (gzip, deflate) before parsing; the limit
 * applies to the decoded bytes. Codings the fake lacks (br, zstd) are refused. 0 ok, -1
 * answered. */
static int decode_body(fq_rq_t *rq)
{
    fq_http_req_t *h = rq->http;
    const char *ce = fq_http_header(h, "Content-Encoding");
    fq_coding_t c = fq_coding_parse(ce);
    if (c == FQ_CODING_IDENTITY) return 0;
    if (c == FQ_CODING_OTHER) {
        fq_fail0(rq, 400, "Wrong input: fake_qdrant does not support Content-Encoding %s", ce);
        return -1;
    }
    int overflow;
    struct evbuffer *plain = fq_coding_decode(c, h->body, JSON_LIMIT, &overflow);
    if (!plain) {
        if (overflow)
            fq_fail0(rq, 400, "JSON payload has exceeded limit (%u bytes).", JSON_LIMIT);
        else
            fq_fail0(rq, 400,
                     "Error that occur during reading payload: Can not decode content-encoding.");
        return -1;
    }
    evbuffer_free(h->body);
    h->body = plain;
    return 0;
}

/* Extractor stage: content type, size, coding, JSON syntax. 0 ok, -1 answered. */
static int extract_body(fq_rq_t *rq)
{
    fq_http_req_t *h = rq->http;
    if (!content_type_ok(h)) {
        fq_fail0(rq, 400, "Content type error");
        return -1;
    }
    if (h->body_overflow) {
        fq_fail0(rq, 400, "JSON payload has exceeded limit (%u bytes).", JSON_LIMIT);
        return -1;
    }
    if (decode_body(rq) < 0) return -1;
    size_t n = evbuffer_get_length(h->body);
    const char *data = n ? (const char *)evbuffer_pullup(h->body, -1) : "";
    char err[512];
    rq->doc = fq_jdoc_parse(data, n, err, sizeof(err));
    if (!rq->doc) {
        fq_fail0(rq, 400, "Format error in JSON body: %s", err);
        return -1;
    }
    rq->body = fq_jdoc_root(rq->doc);
    return 0;
}

/* actix-cors as Qdrant configures it (any origin, method, header): echo the origin, answer
 * preflights. Returns 1 when the request was a preflight and is answered. */
static int cors(fq_rq_t *rq)
{
    const char *origin = fq_http_header(rq->http, "Origin");
    if (!origin)
        return 0;
    fq_http_add_header(rq->http, "access-control-allow-origin", origin);
    const char *method = fq_http_header(rq->http, "Access-Control-Request-Method");
    if (strcmp(rq->http->method, "OPTIONS") != 0 || !method)
        return 0;
    const char *hdrs = fq_http_header(rq->http, "Access-Control-Request-Headers");
    fq_http_add_header(rq->http, "access-control-allow-methods", method);
    if (hdrs)
        fq_http_add_header(rq->http, "access-control-allow-headers", hdrs);
    fq_http_add_header(rq->http, "access-control-max-age", "3600");
    fq_reply_empty(rq, 200);
    return 1;
}

void fq_router_on_request(fq_http_req_t *req, void *arg)
{
    fq_app_t *app = arg;
    fq_rq_t *rq = req->user;
    const fq_route_t *r = rq->route;
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    if (!r || !(r->flags & FQ_R_HOOK)) {
        fq_metrics_request(app->metrics, r, req->method, req->conn_id);
        fq_metrics_note_recent(app->metrics, req->method, req->target, req->conn_id);
        if (inject_fault(rq))
            return;
    }
    if (cors(rq))
        return;
    if (fq_auth_gate(rq))
        return;
    int read_only;
    const char *denied = check_key(rq, &read_only);
    if (denied) {
        fq_reply_raw(rq, 401, NULL, denied);
        return;
    }
    if (!r) {
        fq_reply_empty(rq, 404);
        return;
    }
    if ((r->flags & FQ_R_JSON) && extract_body(rq) < 0)
        return;
    if (read_only && (r->flags & FQ_R_WRITE)) {
        fq_fail(rq, 403, "Forbidden: Global manage access is required");
        return;
    }
    if ((r->flags & FQ_R_LATENCY) && app->opt.latency_ms > 0) {
        struct timeval tv = {app->opt.latency_ms / 1000, (app->opt.latency_ms % 1000) * 1000};
        rq->delay_ev = evtimer_new(app->base, on_delay, rq);
        evtimer_add(rq->delay_ev, &tv);
        return;
    }
    run_handler(rq);
}
