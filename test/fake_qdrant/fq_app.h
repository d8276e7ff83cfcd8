/* Shared state of fake_qdrant: the process-wide app (options, store, counters) and the per-request
 * context handed to every route handler, plus the reply and body-parsing helpers they use. */
#ifndef FQ_APP_H
#define FQ_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "fq_http.h"
#include "fq_json.h"
#include "fq_store.h"

struct event_base;
struct event;
typedef struct fq_metrics fq_metrics_t;

typedef struct {
    char host[64];
    int port;
    int latency_ms;
    const char *api_key;
    const char *ro_api_key;
    int jwt_rbac; /* --jwt-rbac true: JWTs signed with api_key are accepted (fq_auth.c) */
    double error_rate;
    double reset_rate;
    int slow_body_ms;
    uint64_t snapshot_mb;
    int keepalive_timeout_s;
    uint64_t seed;
    int async_apply_ms; /* > 0: wait=false writes take effect this much later (fq_async.c) */
    int distributed;    /* 1: act as a one-peer cluster (shard keys), else standalone */
    const char *grpc_listen; /* --grpc-listen HOST:PORT (fq_grpc.c), NULL: none */
} fq_options_t;

typedef struct fq_app {
    struct event_base *base;
    fq_options_t opt;
    fq_store_t *store;
    fq_metrics_t *metrics;
    fq_http_server_t *http;
    struct fq_grpc_server *grpc;
    uint64_t rng;
    time_t started;
} fq_app_t;

typedef struct fq_rq fq_rq_t;
typedef void (*fq_handler_fn)(fq_rq_t *rq);

enum {
    FQ_R_WRITE = 1 << 0,    /* needs a read-write key */
    FQ_R_LATENCY = 1 << 1,  /* search-type read: --latency-ms applies */
    FQ_R_JSON = 1 << 2,     /* takes a JSON body (parsed before the handler runs) */
    FQ_R_NOAUTH = 1 << 3,   /* whitelisted from api-key checks */
    FQ_R_HOOK = 1 << 4,     /* /__fake/ test hook: no faults, not counted */
    FQ_R_HASHBODY = 1 << 5, /* body is only counted and hashed (uploads, echo) */
    FQ_R_NOMETRIC = 1 << 6, /* not counted in rest_responses_* */
};

typedef struct {
    const char *method; /* NULL = any method */
    const char *pattern;
    fq_handler_fn fn;
    unsigned flags;
    const char *op; /* Qdrant's operationId (legacy routes: their handler names) */
} fq_route_t;

/* Per-request context (fq_http_req_t.user). */
struct fq_rq {
    fq_app_t *app;
    fq_http_req_t *http;
    const fq_route_t *route;
    char *params[3]; /* decoded {…} path segments, in pattern order */
    int jwt_ok;      /* a valid JWT allowed this request (fq_auth.c) */
    fq_jdoc_t *doc;
    json_t *body; /* root of doc, borrowed */
    struct timespec t0;
    struct event *delay_ev;
    int wait; /* ?wait=… (default depends on the route family) */
    int wait_given;
    /* Inside an untagged enum (batch operations): format errors collapse to
     * "data did not match any variant of untagged enum <untagged_name>" at untagged_node. */
    const char *untagged_name;
    const json_t *untagged_node;
    const char *untagged_msg; /* replaces the whole message when set (serde "expecting") */
};

/* ---- replies (fq_reply.c); each ends the request: call exactly one ---- */
/* {"result":result,"status":"ok","time":…}; result is stolen. */
void fq_ok(fq_rq_t *rq, json_t *result);
/* {"status":{"error":msg},"time":…} with the handler's elapsed time. */
void fq_fail(fq_rq_t *rq, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same with "time":0.0, as actix's extractor errors are reported. */
void fq_fail0(fq_rq_t *rq, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fq_reply_text(fq_rq_t *rq, int status, const char *text);
/* A body as is; ctype NULL sends no Content-Type (actix's .body(String), e.g. auth failures). */
void fq_reply_raw(fq_rq_t *rq, int status, const char *ctype, const char *text);
void fq_reply_empty(fq_rq_t *rq, int status);
/* Any JSON document as is (not enveloped). Stolen. */
void fq_reply_json(fq_rq_t *rq, int status, json_t *doc);
void fq_not_found_collection(fq_rq_t *rq, const char *name);
double fq_elapsed(const fq_rq_t *rq);

/* ---- typed body access with serde-like errors (fq_parse.c) ----
 * Each returns 0 on success, 1 when the key is absent or null (optional fields), and -1 after
 * answering the request with a 400 "Format error in JSON body: …". pos: value whose end is
 * reported as the error position (NULL: end of the document). */
typedef struct {
    fq_rq_t *rq;
    const json_t *pos; /* NULL: report errors at the end of the body */
    int at_value;      /* report errors at the offending value instead */
} fq_pctx_t;

int fq_fmt_error(fq_rq_t *rq, const json_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fq_type_error(fq_pctx_t *pc, const json_t *v, const char *expected);
int fq_missing(fq_pctx_t *pc, const json_t *obj, const char *field);
int fq_validation_error(fq_rq_t *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fq_describe_unexpected(const json_t *v, char *buf, size_t len);

int fq_get_uint(fq_pctx_t *pc, const json_t *obj, const char *key, const char *ty, uint64_t *out);
int fq_get_bool(fq_pctx_t *pc, const json_t *obj, const char *key, int *out);
int fq_get_float(fq_pctx_t *pc, const json_t *obj, const char *key, double *out);
int fq_get_str(fq_pctx_t *pc, const json_t *obj, const char *key, const char **out);
int fq_get_array(fq_pctx_t *pc, const json_t *obj, const char *key, json_t **out);
int fq_get_object(fq_pctx_t *pc, const json_t *obj, const char *key, json_t **out);
/* Point id with Qdrant's "value X is not a valid point ID…" error. */
int fq_parse_pid(fq_pctx_t *pc, const json_t *v, fq_pid_t *out);
/* Array of numbers → malloc'd floats; *n gets the count. */
int fq_parse_floats(fq_pctx_t *pc, const json_t *v, float **out, size_t *n);
/* Requires the body to be an object (serde "invalid type: …, expected struct NAME"). */
int fq_body_object(fq_rq_t *rq, const char *struct_name);

/* ---- query string ---- */
/* Value of a query parameter (percent-decoded, malloc'd) or NULL. */
char *fq_query_param(const fq_rq_t *rq, const char *name);
/* Parses ?wait=&timeout=&consistency=; answers the error itself and returns -1 when invalid. */
int fq_parse_common_query(fq_rq_t *rq, int wait_default);

/* Resolves rq->params[0] (name or alias); answers 404 and returns NULL when missing. */
fq_collection_t *fq_rq_collection(fq_rq_t *rq);

/* Deterministic xorshift in [0,1). */
double fq_app_random(fq_app_t *app);

#endif
