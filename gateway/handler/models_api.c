/* The gateway API for model services: routes, the client-facing handler, and internal requests
 * (a gw_req_t with an in-memory codec) that go through the cache or the upstream pool exactly
 * like a client's own request, so model searches are cached and invalidated like any search.
 *
 * Lifetimes. A call (api_call_t) holds the handler side of the client's request until it has
 * answered it or the client went away (on_abort). Each internal request (api_sub_t) is created
 * holding both sides; its handler side goes to the cache/proxy, its codec side stays with the
 * sub. The internal codec never calls back: finish only activates the sub's event, and the
 * event callback releases the codec side and tells the call. When the call ends early (client
 * gone, timeout), each unfinished sub is aborted the way a codec does it: the handler's
 * on_abort if the handler side is still held, then the codec side is released. */
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
#include "gateway/core/timer.h"

#define API_MAX_ANSWER (64u << 20) /* largest inner answer kept in memory */
#define API_MAX_FANOUT 256         /* collections described by one GET /api/v1/collections */

static const char api_timeout[] = "no answer from upstream in time";

typedef struct api_call api_call_t;

typedef enum { API_SEARCH, API_MODELS, API_COLLECTIONS } api_kind_t;

typedef struct api_sub {
    api_call_t *call;
    gw_req_t *r;           /* the internal request while we hold its codec side */
    struct event *ev;      /* activated by finish: the answer is complete */
    struct evbuffer *body; /* the answer's body */
    int status;            /* 0 until a head arrived */
    int ok;                /* finish(ok = 1) */
    int finished;          /* finish was called */
    int done;              /* accounted for by the call */
    int overflow;          /* the body was larger than API_MAX_ANSWER */
    char xcache[16];       /* X-Cache of the answer, "" if none */
    const char *error;     /* why there is no answer (status 0), static text */
} api_sub_t;

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

/* ---- the internal codec: collects the answer in memory --------------------------------------- */

static void inner_send_head(gw_req_t *r, int status, const gw_hdr_t *h, size_t n, int64_t clen)
{
    api_sub_t *s = r->codec_ctx;
    r->head_sent = 1;
    r->status = status;
    s->status = status;
    for (size_t i = 0; i < n; i++)
        if (gw_header_name_eq(h[i].name, h[i].name_len, "x-cache"))
            snprintf(s->xcache, sizeof(s->xcache), "%.*s", (int)h[i].value_len, h[i].value);
}

static void inner_send_body(gw_req_t *r, const void *data, size_t len)
{
    api_sub_t *s = r->codec_ctx;
    if (s->overflow || evbuffer_get_length(s->body) + len > API_MAX_ANSWER)
        s->overflow = 1;
    else
        evbuffer_add(s->body, data, len);
}

/* Called from inside the cache or libcurl callbacks: only note it and come back from the loop. */
static void inner_finish(gw_req_t *r, int ok)
{
    api_sub_t *s = r->codec_ctx;
    if (r->finished) return;
    r->finished = 1;
    s->finished = 1;
    s->ok = ok && !s->overflow;
    if (s->overflow)
        s->error = "the upstream answer is too large";
    else if (!ok)
        s->error = "the upstream answer was cut short";
    event_active(s->ev, EV_READ, 0);
}

static size_t inner_out_pending(gw_req_t *r)
{
    return 0; /* memory, not a socket: never pushes back (bounded by API_MAX_ANSWER) */
}

static void inner_want_body(gw_req_t *r, int want)
{
    /* the whole body is in r->body from the start */
}

static const gw_codec_ops_t inner_codec = {
    .send_head = inner_send_head,
    .send_body = inner_send_body,
    .finish = inner_finish,
    .out_pending = inner_out_pending,
    .want_body = inner_want_body,
};

/* ---- internal requests ----------------------------------------------------------------------- */

/* Client headers an internal request carries: credentials (so Qdrant's api-key checks and the
 * cache's per-key entries work as for the client's own requests), cache control, forwarding. */
static const char *const inner_copied[] = {"api-key", "authorization", "cache-control",
                                           "x-forwarded-for"};

/* Lays out method, target and headers in one block the request owns (r->raw), with views. */
static int inner_fill(gw_req_t *r, const gw_req_t *outer, const char *method, const char *target,
                      int json_body)
{
    gw_hdr_t h[1 + sizeof(inner_copied) / sizeof(inner_copied[0])];
    size_t nh = 0, ml = strlen(method), tl = strlen(target);
    if (json_body) h[nh++] = (gw_hdr_t){"content-type", 12, "application/json", 16};
    for (size_t i = 0; i < sizeof(inner_copied) / sizeof(inner_copied[0]); i++) {
        size_t vl;
        const char *v = gw_req_header(outer, inner_copied[i], &vl);
        if (v) h[nh++] = (gw_hdr_t){inner_copied[i], strlen(inner_copied[i]), v, vl};
    }
    size_t total = ml + tl + 2;
    for (size_t i = 0; i < nh; i++)
        total += h[i].name_len + h[i].value_len + 2;
    char *raw = malloc(total), *p = raw;
    r->hdrs = calloc(nh ? nh : 1, sizeof(gw_hdr_t));
    r->raw = raw;
    if (!raw || !r->hdrs) return -1;
    r->method = memcpy(p, method, ml + 1);
    r->method_len = ml;
    p += ml + 1;
    r->target = r->path = memcpy(p, target, tl + 1);
    r->target_len = r->path_len = tl;
    p += tl + 1;
    for (size_t i = 0; i < nh; i++) {
        gw_hdr_t *d = &r->hdrs[i];
        d->name = memcpy(p, h[i].name, h[i].name_len);
        d->name_len = h[i].name_len;
        p[d->name_len] = '\0';
        p += d->name_len + 1;
        d->value = memcpy(p, h[i].value, h[i].value_len);
        d->value_len = h[i].value_len;
        p[d->value_len] = '\0';
        p += d->value_len + 1;
    }
    r->nhdrs = nh;
    return 0;
}

/* A sub that cannot start: it completes from the loop like the others, with no answer. */
static void sub_fail(api_sub_t *s, const char *why)
{
    s->call->pending++;
    s->error = why;
    s->finished = 1;
    event_active(s->ev, EV_READ, 0);
}

/* Starts sub s: `method target` with an optional JSON body, through the cache when it is on.
 * The sub completes through its event whatever happens (even when it cannot start). */
static void sub_start(api_sub_t *s, const char *method, const char *target, const char *body,
                      size_t len)
{
    api_call_t *c = s->call;
    gw_req_t *outer = c->r;
    gw_req_t *r = gw_req_new(c->env->loop, &inner_codec, s);
    if (!r || inner_fill(r, outer, method, target, body != NULL) != 0 ||
        (body && evbuffer_add(r->body, body, len) != 0)) {
        if (r) gw_req_release(r, GW_REQ_CODEC | GW_REQ_HANDLER);
        sub_fail(s, "out of memory");
        return;
    }
    c->pending++;
    r->internal = 1; /* the client's request is counted once, as a gateway_api request */
    r->http_minor = 1;
    r->content_length = body ? (int64_t)len : -1;
    r->has_body = body != NULL;
    r->body_done = 1;
    r->body_received = body ? len : 0;
    snprintf(r->peer, sizeof(r->peer), "%s", outer->peer);
    gw_req_assign_id(r);
    gw_route_classify(r->method, r->method_len, r->path, r->path_len, &r->route);
    s->r = r;
    gw_log_debug("request %s: internal %s %s as %s", outer->id, method, target, r->id);
    gw_dispatch(r); /* a Qdrant route: the same forward (cache or proxy) clients get */
}

/* Ends an unfinished sub now (client gone, timeout): as a codec does when its client leaves. */
static void sub_abort(api_sub_t *s, const char *why)
{
    gw_req_t *r = s->r;
    if (r) {
        s->r = NULL;
        if ((r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_abort)
            r->handler->on_abort(r);
        gw_req_release(r, GW_REQ_CODEC);
    }
    if (s->ev) event_del(s->ev); /* after on_abort: nothing can activate it any more */
    if (!s->finished) {
        s->status = 0;
        s->ok = 0;
        s->error = why;
    }
}

/* The sub's answer is complete (or it could not start): release our side, tell the call. */
static void sub_on_event(evutil_socket_t fd, short what, void *arg)
{
    api_sub_t *s = arg;
    api_call_t *c = s->call;
    if (s->r) {
        gw_req_release(s->r, GW_REQ_CODEC);
        s->r = NULL;
    }
    s->done = 1;
    if (--c->pending == 0) c->on_done(c); /* may free the call and this sub: nothing after this */
}

static void subs_free(api_call_t *c)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        api_sub_t *s = &c->subs[i];
        sub_abort(s, "aborted");
        if (s->ev) event_free(s->ev);
        if (s->body) evbuffer_free(s->body);
    }
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
    for (size_t i = 0; i < n; i++) {
        api_sub_t *s = &c->subs[i];
        s->call = c;
        s->ev = event_new(c->env->loop->base, -1, 0, sub_on_event, s);
        s->body = evbuffer_new();
        if (!s->ev || !s->body) return -1;
    }
    return 0;
}

static const char *sub_body(api_sub_t *s, size_t *len)
{
    *len = evbuffer_get_length(s->body);
    return *len ? (const char *)evbuffer_pullup(s->body, -1) : "";
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
    const char *body = sub_body(s, &len);
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

/* "/collections/NAME/points/query" with NAME percent-encoded (the router decodes it back, so
 * the cache keys it like a client's own request). */
static int collection_target(const char *name, const char *suffix, char *buf, size_t len)
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
    const char *body = sub_body(s, &len);
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
    if (collection_target(c->model->collection, batch ? "/points/query/batch" : "/points/query",
                          target, sizeof(target)) != 0 ||
        subs_alloc(c, 1) != 0) {
        free(query);
        call_error(c, 500, NULL, "Service internal error: %s", "cannot build the query");
        return;
    }
    c->on_done = search_on_done;
    sub_start(&c->subs[0], "POST", target, query, qlen);
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
        sub_abort(s, api_timeout);
        s->done = 1;
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
        const char *body = sub_body(s, &len);
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
        if (collection_target(cfg->models[i].collection, "", target, sizeof(target)) == 0)
            sub_start(&c->subs[next], "GET", target, NULL, 0);
        else
            sub_fail(&c->subs[next], "collection name too long");
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
            const char *body = sub_body(s, &len);
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
    const char *body = sub_body(s, &len);
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
        if (collection_target(name, "", target, sizeof(target)) == 0)
            sub_start(&c->subs[i], "GET", target, NULL, 0);
        else
            sub_fail(&c->subs[i], "collection name too long");
    }
}

static void collections_start(api_call_t *c)
{
    c->on_done = collections_on_list;
    if (subs_alloc(c, 1) != 0 || call_arm_timer(c) != 0) {
        call_error(c, 500, NULL, "Service internal error: %s", "out of memory");
        return;
    }
    sub_start(&c->subs[0], "GET", "/collections", NULL, 0);
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
