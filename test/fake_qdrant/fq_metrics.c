/* Counters of fake_qdrant and the routes that expose them: /metrics (Prometheus text like
 * Qdrant's), /telemetry, and the /__fake/ hooks (stats, stats reset, data reset, echo). */

#include "fq_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>

#define RECENT_MAX 64

typedef struct {
    const fq_route_t *route;
    char method[16];
    int status;
    uint64_t count;
    double sum, min, max;
} resp_stat_t;

typedef struct {
    const fq_route_t *route;
    char method[16];
    uint64_t count;
} req_stat_t;

struct fq_metrics {
    uint64_t accepted, open, with_requests, requests, errors, resets, grpc_calls;
    resp_stat_t *resp;
    size_t nresp;
    req_stat_t *req;
    size_t nreq;
    unsigned char *seen; /* bit per connection id that carried a Qdrant request */
    size_t seen_bytes;
    struct {
        char method[16];
        char *target;
        uint64_t conn;
    } recent[RECENT_MAX];
    size_t recent_next, recent_count;
};

fq_metrics_t *fq_metrics_new(void)
{
    return calloc(1, sizeof(fq_metrics_t));
}

void fq_metrics_reset(fq_metrics_t *m)
{
    uint64_t open = m->open;
    free(m->resp);
    free(m->req);
    free(m->seen);
    for (size_t k = 0; k < RECENT_MAX; k++)
        free(m->recent[k].target);
    memset(m, 0, sizeof(*m));
    m->open = open;
}

void fq_metrics_free(fq_metrics_t *m)
{
    if (!m) return;
    fq_metrics_reset(m);
    free(m);
}

void fq_metrics_conn_accepted(fq_metrics_t *m)
{
    m->accepted++;
    m->open++;
}

void fq_metrics_conn_closed(fq_metrics_t *m)
{
    if (m->open) m->open--;
}

static void mark_conn(fq_metrics_t *m, uint64_t id)
{
    size_t byte = (size_t)(id / 8);
    if (byte >= m->seen_bytes) {
        size_t n = (byte + 1) * 2;
        unsigned char *s = realloc(m->seen, n);
        if (!s) return;
        memset(s + m->seen_bytes, 0, n - m->seen_bytes);
        m->seen = s;
        m->seen_bytes = n;
    }
    if (!(m->seen[byte] & (1u << (id % 8)))) {
        m->seen[byte] |= (unsigned char)(1u << (id % 8));
        m->with_requests++;
    }
}

void fq_metrics_request(fq_metrics_t *m, const fq_route_t *route, const char *method,
                        uint64_t conn_id)
{
    (void)conn_id;
    m->requests++;
    mark_conn(m, conn_id);
    size_t k;
    for (k = 0; k < m->nreq; k++) {
        if (m->req[k].route == route && strcmp(m->req[k].method, method) == 0) break;
    }
    if (k == m->nreq) {
        req_stat_t *n = realloc(m->req, (m->nreq + 1) * sizeof(*n));
        if (!n) return;
        m->req = n;
        memset(&m->req[k], 0, sizeof(m->req[k]));
        m->req[k].route = route;
        snprintf(m->req[k].method, sizeof(m->req[k].method), "%s", method);
        m->nreq++;
    }
    m->req[k].count++;
}

void fq_metrics_note_recent(fq_metrics_t *m, const char *method, const char *target, uint64_t c)
{
    size_t i = m->recent_next;
    free(m->recent[i].target);
    snprintf(m->recent[i].method, sizeof(m->recent[i].method), "%s", method);
    m->recent[i].target = strdup(target ? target : "");
    m->recent[i].conn = c;
    m->recent_next = (i + 1) % RECENT_MAX;
    if (m->recent_count < RECENT_MAX) m->recent_count++;
}

void fq_metrics_response(fq_metrics_t *m, const fq_route_t *route, const char *method, int status,
                         double seconds)
{
    if (route && (route->flags & FQ_R_HOOK)) return;
    size_t k;
    for (k = 0; k < m->nresp; k++) {
        resp_stat_t *r = &m->resp[k];
        if (r->route == route && r->status == status && strcmp(r->method, method) == 0) break;
    }
    if (k == m->nresp) {
        resp_stat_t *n = realloc(m->resp, (m->nresp + 1) * sizeof(*n));
        if (!n) return;
        m->resp = n;
        memset(&m->resp[k], 0, sizeof(m->resp[k]));
        m->resp[k].route = route;
        m->resp[k].status = status;
        m->resp[k].min = seconds;
        snprintf(m->resp[k].method, sizeof(m->resp[k].method), "%s", method);
        m->nresp++;
    }
    resp_stat_t *r = &m->resp[k];
    r->count++;
    r->sum += seconds;
    if (seconds < r->min) r->min = seconds;
    if (seconds > r->max) r->max = seconds;
}

void fq_metrics_fault(fq_metrics_t *m, int reset)
{
    if (reset)
        m->resets++;
    else
        m->errors++;
}

/* ---- /metrics -------------------------------------------------------------------------- */

static void family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_collections(struct evbuffer *b, fq_store_t *s)
{
    uint64_t vectors = 0;
    for (size_t k = 0; k < s->ncols; k++) {
        fq_collection_t *c = s->cols[k];
        for (size_t p = 0; p < c->npts; p++)
            for (size_t v = 0; v < c->nvp; v++)
                vectors += c->pts[p]->vec[v] != NULL;
    }
    family(b, "collections_total", "gauge", "number of collections");
    evbuffer_add_printf(b, "collections_total %zu\n", s->ncols);
    family(b, "collections_vector_total", "gauge", "total number of vectors in all collections");
    evbuffer_add_printf(b, "collections_vector_total %llu\n", (unsigned long long)vectors);
    if (!s->ncols) return;
    family(b, "collection_points", "gauge", "approximate amount of points per collection");
    for (size_t k = 0; k < s->ncols; k++)
        evbuffer_add_printf(b, "collection_points{id=\"%s\"} %zu\n", s->cols[k]->name,
                            s->cols[k]->npts);
    family(b, "collection_vectors", "gauge", "amount of vectors grouped by vector name");
    for (size_t k = 0; k < s->ncols; k++) {
        fq_collection_t *c = s->cols[k];
        for (size_t v = 0; v < c->nvp; v++) {
            size_t n = 0;
            for (size_t p = 0; p < c->npts; p++)
                n += c->pts[p]->vec[v] != NULL;
            evbuffer_add_printf(b, "collection_vectors{collection=\"%s\",vector=\"%s\"} %zu\n",
                                c->name, c->vp[v].name, n);
        }
    }
}

static void rest_line(struct evbuffer *b, const char *name, const resp_stat_t *r, double v)
{
    char num[64];
    if (v == (double)(uint64_t)v)
        snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    else
        snprintf(num, sizeof(num), "%.9g", v);
    evbuffer_add_printf(b, "%s{endpoint=\"%s\",method=\"%s\",status=\"%d\"} %s\n", name,
                        r->route->pattern, r->method, r->status, num);
}

static void metrics_rest(struct evbuffer *b, fq_metrics_t *m)
{
    static const char *names[] = {"rest_responses_avg_duration_seconds",
                                  "rest_responses_min_duration_seconds",
                                  "rest_responses_max_duration_seconds"};
    static const char *helps[] = {"average response duration", "minimum response duration",
                                  "maximum response duration"};
    int any = 0, any200 = 0;
    for (size_t k = 0; k < m->nresp; k++) {
        int counted = m->resp[k].route && !(m->resp[k].route->flags & FQ_R_NOMETRIC);
        any |= counted;
        any200 |= counted && m->resp[k].status == 200;
    }
    if (!any) return;
    family(b, "rest_responses_total", "counter", "total number of responses");
    for (size_t k = 0; k < m->nresp; k++) {
        if (m->resp[k].route && !(m->resp[k].route->flags & FQ_R_NOMETRIC))
            rest_line(b, "rest_responses_total", &m->resp[k], (double)m->resp[k].count);
    }
    for (int f = 0; any200 && f < 3; f++) {
        family(b, names[f], "gauge", helps[f]);
        for (size_t k = 0; k < m->nresp; k++) {
            const resp_stat_t *r = &m->resp[k];
            if (!r->route || (r->route->flags & FQ_R_NOMETRIC) || r->status != 200) continue;
            double v = f == 0 ? r->sum / (double)r->count : f == 1 ? r->min : r->max;
            rest_line(b, names[f], r, v);
        }
    }
}

void fq_h_metrics(fq_rq_t *rq)
{
    struct evbuffer *b = evbuffer_new();
    family(b, "app_info", "gauge", "information about qdrant server");
    evbuffer_add_printf(b, "app_info{name=\"qdrant\",version=\"1.19.0\"} 1\n");
    family(b, "app_status_recovery_mode", "gauge", "features enabled in qdrant server");
    evbuffer_add_printf(b, "app_status_recovery_mode 0\n");
    metrics_collections(b, rq->app->store);
    family(b, "cluster_enabled", "gauge", "is cluster support enabled");
    evbuffer_add_printf(b, "cluster_enabled 0\n");
    metrics_rest(b, rq->app->metrics);
    size_t n = evbuffer_get_length(b);
    char *text = malloc(n + 1);
    evbuffer_remove(b, text, n);
    text[n] = '\0';
    evbuffer_free(b);
    fq_reply_text(rq, 200, text);
    free(text);
}

void fq_h_telemetry(fq_rq_t *rq)
{
    char startup[64];
    struct tm tm;
    gmtime_r(&rq->app->started, &tm);
    strftime(startup, sizeof(startup), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
    json_t *t =
        json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:I}}", "id", "0c1a3b7e-5f2d-4e8a-9b6c-1d2e3f4a5b6c",
                  "app", "name", "qdrant", "version", "1.19.0", "startup", startup, "collections",
                  "number_of_collections", (json_int_t)rq->app->store->ncols);
    fq_ok(rq, t);
}

/* ---- /__fake/ hooks --------------------------------------------------------------------- */

static void add_count(json_t *obj, const char *key, uint64_t n)
{
    json_int_t prev = json_integer_value(json_object_get(obj, key));
    json_object_set_new(obj, key, json_integer(prev + (json_int_t)n));
}

static json_t *recent_json(fq_metrics_t *m)
{
    json_t *recent = json_array();
    for (size_t k = 0; k < m->recent_count; k++) {
        size_t i = (m->recent_next + RECENT_MAX - m->recent_count + k) % RECENT_MAX;
        json_array_append_new(recent, json_pack("{s:s,s:s,s:I}", "method", m->recent[i].method,
                                                "target", m->recent[i].target, "conn",
                                                (json_int_t)m->recent[i].conn));
    }
    return recent;
}

static json_t *stats_json(fq_metrics_t *m)
{
    json_t *by_op = json_object(), *by_route = json_object(), *by_status = json_object();
    char key[512];
    for (size_t k = 0; k < m->nreq; k++) {
        const fq_route_t *r = m->req[k].route;
        snprintf(key, sizeof(key), "%s %s", m->req[k].method, r ? r->pattern : "(unmatched)");
        add_count(by_route, key, m->req[k].count);
        add_count(by_op, r ? r->op : "unmatched", m->req[k].count);
    }
    for (size_t k = 0; k < m->nresp; k++) {
        if (m->resp[k].route && (m->resp[k].route->flags & FQ_R_HOOK)) continue;
        snprintf(key, sizeof(key), "%d", m->resp[k].status);
        add_count(by_status, key, m->resp[k].count);
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:{s:I,s:I},s:o}", "connections_accepted",
                     (json_int_t)m->accepted, "connections_open", (json_int_t)m->open,
                     "connections_with_requests", (json_int_t)m->with_requests, "requests_total",
                     (json_int_t)m->requests, "requests", by_op, "requests_by_route", by_route,
                     "responses_by_status", by_status, "faults", "errors", (json_int_t)m->errors,
                     "resets", (json_int_t)m->resets, "recent", recent_json(m));
}

void fq_metrics_grpc_call(fq_metrics_t *m)
{
    m->grpc_calls++;
}

void fq_h_fake_stats(fq_rq_t *rq)
{
    json_t *j = stats_json(rq->app->metrics);
    json_object_set_new(j, "grpc_calls", json_integer((json_int_t)rq->app->metrics->grpc_calls));
    fq_reply_json(rq, 200, j);
}

void fq_h_fake_stats_reset(fq_rq_t *rq)
{
    fq_metrics_reset(rq->app->metrics);
    fq_reply_json(rq, 200, json_pack("{s:b}", "reset", 1));
}

void fq_h_fake_reset(fq_rq_t *rq)
{
    fq_store_clear(rq->app->store);
    fq_metrics_reset(rq->app->metrics);
    fq_reply_json(rq, 200, json_pack("{s:b}", "reset", 1));
}

/* Headers as a name → value object (repeats joined with ", ", first spelling kept). */
static json_t *header_object(const fq_http_req_t *h)
{
    json_t *map = json_object();
    for (size_t k = 0; k < h->nheaders; k++) {
        const char *key = h->headers[k].name, *prev = NULL;
        const char *name;
        json_t *v;
        json_object_foreach(map, name, v)
        {
            if (strcasecmp(name, h->headers[k].name) == 0) {
                key = name;
                prev = json_string_value(v);
                break;
            }
        }
        char *joined = NULL;
        if (prev && asprintf(&joined, "%s, %s", prev, h->headers[k].value) < 0) joined = NULL;
        json_object_set_new(map, key, json_string(joined ? joined : h->headers[k].value));
        free(joined);
    }
    return map;
}

void fq_h_fake_echo(fq_rq_t *rq)
{
    fq_http_req_t *h = rq->http;
    json_t *list = json_array();
    for (size_t k = 0; k < h->nheaders; k++)
        json_array_append_new(list, json_pack("[s,s]", h->headers[k].name, h->headers[k].value));
    char hex[65];
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", h->body_sha256[k]);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:o,s:o,s:s,s:I,s:I,s:s}", "method", h->method,
                            "target", h->target, "path", h->path, "query", h->query, "version",
                            h->minor ? "HTTP/1.1" : "HTTP/1.0", "headers", header_object(h),
                            "header_list", list, "peer", h->peer, "conn", (json_int_t)h->conn_id,
                            "body_length", (json_int_t)h->body_len, "body_sha256", hex);
    fq_reply_json(rq, 200, doc);
}
