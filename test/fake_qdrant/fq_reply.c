/* Reply helpers for fake_qdrant handlers: Qdrant's JSON envelope, error bodies with exact texts,
 * plain-text and empty replies; every reply is also counted for /metrics and /__fake/stats. */
#include "fq_app.h"
#include "fq_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

double fq_elapsed(const fq_rq_t *rq)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double d = (double)(now.tv_sec - rq->t0.tv_sec) + (now.tv_nsec - rq->t0.tv_nsec) / 1e9;
    return d > 0 ? d : 1e-6;
}

static void finish(fq_rq_t *rq, int status, const char *ctype, struct evbuffer *body)
{
    if (!rq->http) { /* the silent request of a deferred write (fq_async.c): nobody to answer */
        if (body) evbuffer_free(body);
        return;
    }
    fq_metrics_response(rq->app->metrics, rq->route, rq->http->method, status, fq_elapsed(rq));
    fq_http_respond(rq->http, status, ctype, body);
}

void fq_reply_json(fq_rq_t *rq, int status, json_t *doc)
{
    struct evbuffer *b = evbuffer_new();
    fq_json_dump_evbuffer(doc, b);
    json_decref(doc);
    finish(rq, status, "application/json", b);
}

void fq_ok(fq_rq_t *rq, json_t *result)
{
    json_t *env = json_object();
    json_object_set_new(env, "result", result ? result : json_null());
    json_object_set_new(env, "status", json_string("ok"));
    json_object_set_new(env, "time", fq_json_f64(fq_elapsed(rq)));
    fq_reply_json(rq, 200, env);
}

static void fail_v(fq_rq_t *rq, int status, double t, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_t *env = json_object();
    json_object_set_new(env, "status", json_pack("{s:s}", "error", msg));
    json_object_set_new(env, "time", fq_json_f64(t));
    fq_reply_json(rq, status, env);
}

void fq_fail(fq_rq_t *rq, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(rq, status, fq_elapsed(rq), fmt, ap);
    va_end(ap);
}

void fq_fail0(fq_rq_t *rq, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(rq, status, 0.0, fmt, ap);
    va_end(ap);
}

void fq_reply_raw(fq_rq_t *rq, int status, const char *ctype, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, strlen(text));
    finish(rq, status, ctype, b);
}

void fq_reply_text(fq_rq_t *rq, int status, const char *text)
{
    fq_reply_raw(rq, status, "text/plain; charset=utf-8", text);
}

void fq_reply_empty(fq_rq_t *rq, int status)
{
    finish(rq, status, NULL, NULL);
}

void fq_not_found_collection(fq_rq_t *rq, const char *name)
{
    fq_fail(rq, 404, "Not found: Collection `%s` doesn't exist!", name);
}

fq_collection_t *fq_rq_collection(fq_rq_t *rq)
{
    fq_collection_t *c = fq_store_resolve(rq->app->store, rq->params[0]);
    if (!c) fq_not_found_collection(rq, rq->params[0]);
    return c;
}

double fq_app_random(fq_app_t *app)
{
    uint64_t x = app->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    app->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}
