/* The gateway API for model services: routes, the client-facing handler, and internal requests
 * (gateway/handler/subreq.h) that go through the cache or the upstream pool exactly like a
 * client's own request, so model searches are cached and invalidated like any search.
 *
 * Lifetimes. A call (api_call_t) holds the handler side of the client's request until it has
 * answered it or the client went away (on_abort). Its subs complete through sub_on_done; when
 * the call ends early (client gone, timeout), the unfinished ones are aborted (subs_free). */
#include "gateway/handler/models_api.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/http/dispatch.h"
#include "gateway/http/headers.h"
#include "gateway/handler/models.h"
#include "gateway/handler/models_memo.h"
#include "gateway/handler/subreq.h"
#include "gateway/http/router.h"
#include "gateway/core/timer.h"

#define API_MAX_FANOUT 256 /* collections described by one GET /api/v1/collections */

static const char api_timeout[] = "no answer from upstream in time";

typedef struct api_call api_call_t;

typedef enum { API_SEARCH, API_MODELS, API_COLLECTIONS } api_kind_t;

typedef gw_subreq_t api_sub_t;

struct api_call {
    gw_handler_env_t *env;
    gw_req_t *r; /* the client's request; NULL once answered or gone */
    api_kind_t kind;
    const gw_model_t *model;
    gw_model_plan_t plan;
    struct evbuffer *in; /* the client's body so far */
    api_sub_t *subs;
    size_t nsubs, pending;
    json_t *names;                  /* GET /collections: the names being described */
    size_t *model_subs;             /* GET /api/v1/models: the sub of each model */
    struct event *timer;            /* bounds GET /api/v1/models and /collections */
    void (*on_done)(api_call_t *c); /* every sub is done */
};

/* ---- internal requests (gateway/handler/subreq.h) ------------------------------------------- */

static void sub_on_done(gw_subreq_t *s, void *arg)
{
    api_call_t *c = arg;
    if (--c->pending == 0) c->on_done(c); /* may free the call and this sub: nothing after this */
}

static void sub_fail(api_sub_t *s, api_call_t *c, const char *why)
{
    c->pending++;
    gw_subreq_fail(s, why);
}

static void sub_start(api_sub_t *s, api_call_t *c, const char *method, const char *target,
                      const char *body, size_t len)
{
    c->pending++;
    gw_subreq_start(s, c->r, method, target, body, len);
}

static void subs_free(api_call_t *c)
{
    for (size_t i = 0; i < c->nsubs; i++)
        gw_subreq_dispose(&c->subs[i]);
    free(c->subs);
    c->subs = NULL;
    c->nsubs = c->pending = 0;
}

/* n fresh subs (the previous ones freed); 0 / -1. */
static int subs_alloc(api_call_t *c, size_t n)
{
    subs_free(c);
    c->subs = calloc(n, sizeof(api_sub_t));
    if (!c->subs) return -1;
    c->nsubs = n;
    for (size_t i = 0; i < n; i++)
        if (gw_subreq_init(&c->subs[i], c->env->loop, sub_on_done, c) != 0) return -1;
    return 0;
}

/* ---- answering the client -------------------------------------------------------------------- */

static void call_free(api_call_t *c)
{
    subs_free(c);
    if (c->timer) event_free(c->timer);
    if (c->in) evbuffer_free(c->in);
    json_decref(c->names);
    free(c->model_subs);
    free(c);
}

static double call_secs(const api_call_t *c)
{
    return (double)(gw_mono_us() - c->r->start_us) / 1e6;
}

/* Sends a complete answer (with X-Cache when xcache is non-empty), lets the client's request go
 * and frees the call. */
static void call_answer(api_call_t *c, int status, const char *body, size_t len, const char *xcache)
{
    gw_req_t *r = c->r;
    if (r && r->codec && !r->head_sent) {
        gw_hdr_t h[3] = {
            {"content-type", 12, "application/json", 16},
            {"x-request-id", 12, r->id, strlen(r->id)},
            {"x-cache", 7, xcache ? xcache : "", xcache ? strlen(xcache) : 0},
        };
        r->codec->send_head(r, status, h, xcache && xcache[0] ? 3 : 2, (int64_t)len);
        if (len && !r->is_head) r->codec->send_body(r, body, len);
        r->codec->finish(r, 1);
    }
    if (r) {
        r->handler_ctx = NULL;
        c->r = NULL;
        gw_req_release(r, GW_REQ_HANDLER);
    }
    call_free(c);
}

/* Qdrant's error envelope, X-Cache included when the inner answer had one. */
static void call_error(api_call_t *c, int status, const char *xcache, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void call_error(api_call_t *c, int status, const char *xcache, const char *fmt, ...)
{
    char msg[GW_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char body[GW_ERROR_BODY_MAX];
    size_t len = gw_error_envelope(body, sizeof(body), c->r ? call_secs(c) : 0.0, msg);
    call_answer(c, status, body, len, xcache);
}

/* {"result":result,"status":"ok","time":...} and end. */
static void call_result(api_call_t *c, json_t *result, const char *xcache)
{
    size_t len = 0;
    char *body = gw_models_envelope(result, call_secs(c), &len);
    if (!body) {
        call_error(c, 500, NULL, "Service internal error: %s", "out of memory");
        return;
    }
    call_answer(c, 200, body, len, xcache);
    free(body);
}

/* An inner answer that is not 200 (or no answer at all) passed on to the client. */
static void call_pass_error(api_call_t *c, api_sub_t *s)
{
    size_t len;
    const char *body = gw_subreq_body(s, &len);
    char msg[600];
    if (!s->ok || s->status == 0) {
        call_error(c, s->error == api_timeout ? 504 : 502, s->xcache, "%s: %s",
                   s->error == api_timeout ? "Gateway timeout" : "Bad gateway",
                   s->error ? s->error : "no answer");
        return;
    }
    gw_models_upstream_error(s->status, body, len, msg, sizeof(msg));
    call_error(c, s->status, s->xcache, "%s", msg);
}

static void call_on_abort(gw_req_t *r)
{
    api_call_t *c = r->handler_ctx;
    r->handler_ctx = NULL;
    c->r = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
    call_free(c); /* aborts the internal requests still running */
}

/* ---- model searches -------------------------------------------------------------------------- */

/* The worker's model-answer memo, made on first use (NULL: no memo, everything still works). */
static struct gw_models_memo *call_memo(api_call_t *c)
{
    if (!c->env->models_memo) c->env->models_memo = gw_models_memo_new();
    return c->env->models_memo;
}
static void search_on_done(api_call_t *c)
{
    api_sub_t *s = &c->subs[0];
    if (!s->ok || s->status != 200) {
        call_pass_error(c, s);
        return;
    }
    size_t len, outlen = 0;
    const char *body = gw_subreq_body(s, &len);
    char *answer =
        gw_models_answer_memo(call_memo(c), c->model, &c->plan, body, len, call_secs(c), &outlen);
    if (!answer) {
        call_error(c, 502, s->xcache, "Bad gateway: unexpected answer from upstream to %s",
                   c->plan.batch ? "query batch" : "query");
        return;
    }
    call_answer(c, 200, answer, outlen, s->xcache);
    free(answer);
}

/* The client's whole body is in: validate, translate, send through the cache. */
static void search_start(api_call_t *c)
{
    char err[1024], target[1024];
    char *query = NULL;
    size_t qlen = 0, len = evbuffer_get_length(c->in);
    const char *body = len ? (const char *)evbuffer_pullup(c->in, -1) : "";
    int batch = c->plan.batch;
    int status = gw_models_translate_memo(call_memo(c), c->model, batch, body, len, &c->plan,
                                          &query, &qlen, err, sizeof(err));
    if (status != 0) {
        call_error(c, status, NULL, "%s", err);
        return;
    }
    if (gw_route_collection_target(c->model->collection,
                                   batch ? "/points/query/batch" : "/points/query", target,
                                   sizeof(target)) != 0 ||
        subs_alloc(c, 1) != 0) {
        free(query);
        call_error(c, 500, NULL, "Service internal error: %s", "cannot build the query");
        return;
    }
    c->on_done = search_on_done;
    sub_start(&c->subs[0], c, "POST", target, query, qlen);
    free(query);
}

static void search_on_body(gw_req_t *r)
{
    api_call_t *c = r->handler_ctx;
    /* Move the bytes out, so the codec keeps reading (it pauses while r->body is full); the
     * codec bounds the total by limits.max_body_bytes. */
    evbuffer_add_buffer(c->in, r->body);
    if (r->body_done) search_start(c);
}

static const gw_handler_ops_t search_handler = {
    .on_body = search_on_body,
    .on_abort = call_on_abort,
};

/* ---- GET /api/v1/models ---------------------------------------------------------------------- */

/* How long the collection lookups of GET /api/v1/models and /collections may take in all: a
 * health-probe-like bound, not upstream.timeout (a minute by default). */
static uint64_t meta_timeout_ms(const gw_config_t *cfg)
{
    uint64_t ms = cfg->upstream_connect_timeout_ms + 1000;
    return ms < cfg->upstream_timeout_ms ? ms : cfg->upstream_timeout_ms;
}

static void call_on_timer(evutil_socket_t fd, short what, void *arg)
{
    api_call_t *c = arg;
    if (c->pending == 0) return;
    for (size_t i = 0; i < c->nsubs; i++) {
        api_sub_t *s = &c->subs[i];
        if (s->done) continue;
        gw_subreq_abort(s, api_timeout);
    }
    c->pending = 0;
    c->on_done(c);
}

static int call_arm_timer(api_call_t *c)
{
    uint64_t ms = meta_timeout_ms(c->env->loop->cfg);
    c->timer = evtimer_new(c->env->loop->base, call_on_timer, c);
    return c->timer && gw_timer_add_ms(c->timer, ms) == 0 ? 0 : -1;
}

/* For each model, the sub looking up its collection: one sub per distinct collection, in
 * order of first use. Heap array of cfg->nmodels entries; *nsubs gets the number of subs. */
static size_t *models_subs(const gw_config_t *cfg, size_t *nsubs)
{
    size_t *of = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof(size_t));
    *nsubs = 0;
    for (size_t i = 0; of && i < cfg->nmodels; i++) {
        size_t j;
        for (j = 0; j < i; j++)
            if (strcmp(cfg->models[j].collection, cfg->models[i].collection) == 0) break;
        of[i] = j < i ? of[j] : (*nsubs)++;
    }
    return of;
}

static void models_on_done(api_call_t *c)
{
    const gw_config_t *cfg = c->env->loop->cfg;
    json_t *list = json_array();
    for (size_t i = 0; list && i < cfg->nmodels; i++) {
        api_sub_t *s = &c->subs[c->model_subs[i]];
        size_t len;
        const char *body = gw_subreq_body(s, &len);
        char detail[600];
        const char *state = gw_models_state(&cfg->models[i], s->ok ? s->status : 0, body, len,
                                            s->error, detail, sizeof(detail));
        json_array_append_new(list, gw_models_model_json(&cfg->models[i], state, detail));
    }
    call_result(c, json_pack("{s:o}", "models", list), NULL);
}

static void models_start(api_call_t *c)
{
    const gw_config_t *cfg = c->env->loop->cfg;
    size_t nsubs = 0;
    char target[1024];
    c->on_done = models_on_done;
    if (cfg->nmodels == 0) {
        call_result(c, json_pack("{s:[]}", "models"), NULL);
        return;
    }
    c->model_subs = models_subs(cfg, &nsubs);
    if (!c->model_subs || subs_alloc(c, nsubs) != 0 || call_arm_timer(c) != 0) {
        call_error(c, 500, NULL, "Service internal error: %s", "out of memory");
        return;
    }
    for (size_t i = 0, next = 0; i < cfg->nmodels; i++) {
        if (c->model_subs[i] != next) continue; /* its collection is being looked up already */
        if (gw_route_collection_target(cfg->models[i].collection, "", target, sizeof(target)) == 0)
            sub_start(&c->subs[next], c, "GET", target, NULL, 0);
        else
            sub_fail(&c->subs[next], c, "collection name too long");
        next++;
    }
}

/* ---- GET /api/v1/collections ----------------------------------------------------------------- */

static void collections_on_info(api_call_t *c)
{
    const gw_config_t *cfg = c->env->loop->cfg;
    json_t *list = json_array();
    for (size_t i = 0; list && i < json_array_size(c->names); i++) {
        const char *name = json_string_value(json_array_get(c->names, i));
        json_t *entry;
        if (i < c->nsubs) {
            api_sub_t *s = &c->subs[i];
            size_t len;
            const char *body = gw_subreq_body(s, &len);
            entry =
                gw_models_collection_json(cfg, name, s->ok ? s->status : 0, body, len, s->error);
        } else {
            entry = gw_models_collection_json(cfg, name, 0, "", 0,
                                              "not described: too many collections");
        }
        json_array_append_new(list, entry);
    }
    call_result(c, json_pack("{s:o}", "collections", list), NULL);
}

/* GET /collections answered: describe each collection, concurrently, within the same deadline. */
static void collections_on_list(api_call_t *c)
{
    api_sub_t *s = &c->subs[0];
    char target[1024];
    if (!s->ok || s->status != 200) {
        call_pass_error(c, s);
        return;
    }
    size_t len;
    const char *body = gw_subreq_body(s, &len);
    c->names = gw_models_collection_names(body, len);
    if (!c->names) {
        call_error(c, 502, NULL, "Bad gateway: unexpected answer from upstream to %s",
                   "GET /collections");
        return;
    }
    size_t n = json_array_size(c->names);
    if (n == 0) {
        call_result(c, json_pack("{s:[]}", "collections"), NULL);
        return;
    }
    if (subs_alloc(c, n < API_MAX_FANOUT ? n : API_MAX_FANOUT) != 0) { /* frees s */
        call_error(c, 500, NULL, "Service internal error: %s", "out of memory");
        return;
    }
    c->on_done = collections_on_info;
    for (size_t i = 0; i < c->nsubs; i++) {
        const char *name = json_string_value(json_array_get(c->names, i));
        if (gw_route_collection_target(name, "", target, sizeof(target)) == 0)
            sub_start(&c->subs[i], c, "GET", target, NULL, 0);
        else
            sub_fail(&c->subs[i], c, "collection name too long");
    }
}

static void collections_start(api_call_t *c)
{
    c->on_done = collections_on_list;
    if (subs_alloc(c, 1) != 0 || call_arm_timer(c) != 0) {
        call_error(c, 500, NULL, "Service internal error: %s", "out of memory");
        return;
    }
    sub_start(&c->subs[0], c, "GET", "/collections", NULL, 0);
}

/* ---- routes ---------------------------------------------------------------------------------- */

static void list_on_body(gw_req_t *r)
{
    evbuffer_drain(r->body, evbuffer_get_length(r->body)); /* a GET body means nothing here */
}

static const gw_handler_ops_t list_handler = {
    .on_body = list_on_body,
    .on_abort = call_on_abort,
};

static api_call_t *call_new(gw_handler_env_t *env, gw_req_t *r, api_kind_t kind,
                            const gw_handler_ops_t *ops)
{
    api_call_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->in = evbuffer_new())) {
        free(c);
        return NULL;
    }
    c->env = env;
    c->r = r;
    c->kind = kind;
    r->handler = ops;
    r->handler_ctx = c;
    return c;
}

/* Answers r now with an error and lets it go (we never kept a call for it). */
static void reject(gw_req_t *r, int status, const char *msg, const char *detail)
{
    gw_req_respond_error(r, status, "%s %s", msg, detail);
    gw_req_release(r, GW_REQ_HANDLER);
}

static void handle_list(gw_handler_env_t *env, gw_req_t *r, api_kind_t kind)
{
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        reject(r, 405, "Method not allowed:", "use GET");
        return;
    }
    api_call_t *c = call_new(env, r, kind, &list_handler);
    if (!c) {
        reject(r, 500, "Service internal error:", "out of memory");
        return;
    }
    if (kind == API_MODELS)
        models_start(c);
    else
        collections_start(c);
}

static void handle_search(gw_handler_env_t *env, gw_req_t *r, const char *seg, size_t seglen,
                          int batch)
{
    char name[128], shown[72];
    if (strcmp(r->method, "POST") != 0) {
        reject(r, 405, "Method not allowed:", "use POST");
        return;
    }
    ssize_t n = gw_route_decode_param(seg, seglen, name, sizeof(name));
    const gw_model_t *m = n > 0 ? gw_models_find(env->loop->cfg, name, (size_t)n) : NULL;
    if (!m) {
        size_t k;
        for (k = 0; n > 0 && k < (size_t)n && k + 1 < sizeof(shown); k++)
            shown[k] = name[k] > 0x20 && name[k] < 0x7f ? name[k] : '?';
        shown[k] = '\0';
        gw_req_respond_error(r, 404, "Not found: model %s is not configured", shown);
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    api_call_t *c = call_new(env, r, API_SEARCH, &search_handler);
    if (!c) {
        reject(r, 500, "Service internal error:", "out of memory");
        return;
    }
    c->model = m;
    c->plan.batch = batch;
    search_on_body(r); /* what arrived with the head, and the start when that is all */
}

static int path_is(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

void gw_models_api_handle(gw_handler_env_t *env, gw_req_t *r)
{
    static const char prefix[] = "/api/v1/models/";
    const char *p = r->path;
    size_t len = r->path_len;
    while (len > 1 && p[len - 1] == '/')
        len--; /* trailing slashes are trimmed, as elsewhere in /api/v1 */
    if (path_is(p, len, "/api/v1/models")) {
        handle_list(env, r, API_MODELS);
        return;
    }
    if (path_is(p, len, "/api/v1/collections")) {
        handle_list(env, r, API_COLLECTIONS);
        return;
    }
    if (len <= sizeof(prefix) - 1 || memcmp(p, prefix, sizeof(prefix) - 1) != 0) {
        gw_dispatch_not_found(NULL, r);
        return;
    }
    const char *seg = p + sizeof(prefix) - 1, *end = memchr(seg, '/', (size_t)(p + len - seg));
    if (!end || end == seg) {
        gw_dispatch_not_found(NULL, r);
        return;
    }
    size_t rest = (size_t)(p + len - end);
    if (path_is(end, rest, "/vectors/search"))
        handle_search(env, r, seg, (size_t)(end - seg), 0);
    else if (path_is(end, rest, "/vectors/search/batch"))
        handle_search(env, r, seg, (size_t)(end - seg), 1);
    else
        gw_dispatch_not_found(NULL, r);
}
