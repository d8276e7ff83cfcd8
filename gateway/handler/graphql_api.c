/* GraphQL at /graphql (see graphql_api.h): transport, and the internal requests that resolve
 * root fields.
 *
 * Lifetimes. A call (gql_call_ctx_t) holds the handler side of the client's request until it
 * has answered or the client went away (on_abort). Each root field being resolved owns the subs
 * of its current stage (root_subs_t); a sub completes through sub_on_done, and when a root's
 * stage is complete its subs are disposed and its next stage, the next mutation or the answer
 * follows. A call ended early aborts every sub still running (call_free). */
#include "gateway/handler/graphql_api.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/graphql/exec.h"
#include "gateway/graphql/parse.h"
#include "gateway/graphql/schema.h"
#include "gateway/graphql/validate.h"
#include "gateway/handler/graphql_http.h"
#include "gateway/handler/models.h"
#include "gateway/handler/subreq.h"
#include "gateway/http/dispatch.h"

typedef struct gql_call_ctx gql_call_ctx_t;

typedef struct sub_slot {
    gw_subreq_t s;
    gql_call_ctx_t *c;
    size_t root, idx;
} sub_slot_t;

typedef struct root_subs {
    sub_slot_t *v;
    size_t n, pending;
} root_subs_t;

struct gql_call_ctx {
    gw_handler_env_t *env;
    gw_req_t *r; /* the client's request; NULL once answered or gone */
    struct evbuffer *in;
    int grj;     /* answer as application/graphql-response+json */
    int is_post; /* else GET */
    gql_doc_t *doc;
    gql_exec_t ex;
    int prepared;
    root_subs_t *subs; /* per root */
    size_t roots_left, next_root;
    int starting;       /* call_execute is starting roots: the answer waits for it */
    int finish_pending; /* every root settled while starting */
    char xcache[16];
    int xmixed;
};

/* ---- metrics -------------------------------------------------------------------------------- */

static void count_op(gql_call_ctx_t *c, int type, int ok)
{
    gw_wstats_t *st = c->env->loop->stats;
    if (st) gw_stat_inc(&st->graphql[type][ok ? 0 : 1]);
}

/* ---- answering ------------------------------------------------------------------------------- */

static void subs_free(gql_call_ctx_t *c, size_t i)
{
    root_subs_t *rs = &c->subs[i];
    for (size_t k = 0; k < rs->n; k++)
        gw_subreq_dispose(&rs->v[k].s);
    free(rs->v);
    rs->v = NULL;
    rs->n = rs->pending = 0;
}

static void call_free(gql_call_ctx_t *c)
{
    for (size_t i = 0; c->subs && i < c->ex.nroots; i++)
        subs_free(c, i);
    free(c->subs);
    if (c->prepared) gql_exec_free(&c->ex);
    gql_doc_free(c->doc);
    if (c->in) evbuffer_free(c->in);
    free(c);
}

/* Sends status with body (type; extra header when name is not NULL), lets the request go and
 * frees the call. */
static void call_send(gql_call_ctx_t *c, int status, const char *type, const char *body, size_t len,
                      const char *hname, const char *hval)
{
    gw_req_t *r = c->r;
    if (r && r->codec && !r->head_sent) {
        gw_hdr_t h[4] = {{"content-type", 12, type, strlen(type)},
                         {"x-request-id", 12, r->id, strlen(r->id)}};
        size_t n = 2;
        if (c->xcache[0]) h[n++] = (gw_hdr_t){"x-cache", 7, c->xcache, strlen(c->xcache)};
        if (hname) h[n++] = (gw_hdr_t){hname, strlen(hname), hval, strlen(hval)};
        r->codec->send_head(r, status, h, n, (int64_t)len);
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

/* A GraphQL response object (reference taken): status by media type and by whether it has data. */
static void call_respond(gql_call_ctx_t *c, json_t *resp, const char *hname, const char *hval,
                         int status_grj)
{
    size_t len = 0;
    char *body = resp ? gw_models_dump(resp, &len) : NULL;
    json_decref(resp);
    if (!body) {
        static const char oom[] = "{\"errors\":[{\"message\":\"out of memory\"}]}";
        call_send(c, 500, GW_GQL_TYPE_JSON, oom, sizeof(oom) - 1, NULL, NULL);
        return;
    }
    int status = c->grj ? status_grj : 200;
    call_send(c, status, c->grj ? GW_GQL_TYPE_GRJ : GW_GQL_TYPE_JSON, body, len, hname, hval);
    free(body);
}

/* {"errors": [one error]} for a request that never executes. */
static void call_request_error(gql_call_ctx_t *c, int status, const char *msg,
                               const gql_loc_t *locs, unsigned nlocs)
{
    json_t *e = gql_error_json(msg, locs, nlocs, NULL, NULL);
    call_respond(c, json_pack("{s:[o]}", "errors", e), NULL, NULL, status);
}

/* An HTTP-level refusal (bad parameters, method): status for both media types. */
static void call_refuse(gql_call_ctx_t *c, int status, const char *msg, const char *allow)
{
    json_t *e = gql_error_json(msg, NULL, 0, NULL, NULL);
    int grj = c->grj;
    c->grj = 1; /* the status holds whatever the media type */
    size_t len = 0;
    json_t *resp = json_pack("{s:[o]}", "errors", e);
    char *body = resp ? gw_models_dump(resp, &len) : NULL;
    json_decref(resp);
    call_send(c, status, grj ? GW_GQL_TYPE_GRJ : GW_GQL_TYPE_JSON, body ? body : "", len,
              allow ? "allow" : NULL, allow);
    free(body);
}

static void call_on_abort(gw_req_t *r)
{
    gql_call_ctx_t *c = r->handler_ctx;
    r->handler_ctx = NULL;
    c->r = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
    call_free(c); /* aborts the internal requests still running */
}

/* ---- running root fields ----------------------------------------------------------------------
 */

static void note_xcache(gql_call_ctx_t *c, const char *x)
{
    if (!x[0]) return;
    if (!c->xcache[0])
        snprintf(c->xcache, sizeof(c->xcache), "%s", x);
    else if (strcmp(c->xcache, x) != 0)
        snprintf(c->xcache, sizeof(c->xcache), "%s", "PARTIAL");
}

static void root_start(gql_call_ctx_t *c, size_t i);

static void call_finish(gql_call_ctx_t *c)
{
    count_op(c, c->ex.op->kind == GQL_MUTATION ? GW_GQL_MUTATION : GW_GQL_QUERY, 1);
    call_respond(c, gql_exec_result(&c->ex), NULL, NULL, 200);
}

/* Root i has no calls left: next stage, next mutation or the answer. */
static void root_settled(gql_call_ctx_t *c, size_t i)
{
    gql_root_t *rt = &c->ex.roots[i];
    if (rt->ncalls) {
        root_start(c, i);
        return;
    }
    if (--c->roots_left == 0) {
        if (c->starting)
            c->finish_pending = 1;
        else
            call_finish(c);
        return;
    }
    if (c->ex.op->kind == GQL_MUTATION && c->next_root < c->ex.nroots)
        root_start(c, c->next_root++);
}

static void sub_on_done(gw_subreq_t *s, void *arg)
{
    sub_slot_t *slot = arg;
    gql_call_ctx_t *c = slot->c;
    size_t i = slot->root;
    gql_root_t *rt = &c->ex.roots[i];
    size_t len;
    const char *body = gw_subreq_body(s, &len);
    note_xcache(c, s->xcache);
    gql_root_feed(rt, slot->idx, s->ok ? s->status : 0, body, len,
                  s->error ? s->error : "no answer");
    if (--c->subs[i].pending) return;
    subs_free(c, i); /* frees slot and s: nothing of them after this */
    gql_root_next(&c->ex, rt);
    root_settled(c, i);
}

/* Starts root i's current calls (or settles it when it has none). */
static void root_start(gql_call_ctx_t *c, size_t i)
{
    gql_root_t *rt = &c->ex.roots[i];
    root_subs_t *rs = &c->subs[i];
    if (rt->ncalls == 0) {
        root_settled(c, i);
        return;
    }
    rs->v = calloc(rt->ncalls, sizeof(sub_slot_t));
    rs->n = rs->v ? rt->ncalls : 0;
    for (size_t k = 0; k < rs->n; k++) {
        rs->v[k].c = c;
        rs->v[k].root = i;
        rs->v[k].idx = k;
        if (gw_subreq_init(&rs->v[k].s, c->env->loop, sub_on_done, &rs->v[k]) != 0) {
            rs->n = k + 1;
            break;
        }
    }
    if (rs->n < rt->ncalls) { /* out of memory: every call fails, from the loop */
        for (size_t k = 0; k < rs->n; k++)
            gw_subreq_fail(&rs->v[k].s, "out of memory");
        rs->pending = rs->n;
        if (rs->n == 0) {
            gql_root_feed(rt, 0, 0, "", 0, "out of memory");
            gql_root_next(&c->ex, rt);
            root_settled(c, i);
        }
        return;
    }
    rs->pending = rs->n;
    for (size_t k = 0; k < rs->n; k++) {
        gql_call_t *call = &rt->calls[k];
        size_t blen = 0;
        char *body = call->body ? gw_models_dump(call->body, &blen) : NULL;
        if (call->body && !body)
            gw_subreq_fail(&rs->v[k].s, "out of memory");
        else
            gw_subreq_start(&rs->v[k].s, c->r, call->method, call->target, body, blen);
        free(body);
    }
}

static void call_execute(gql_call_ctx_t *c)
{
    c->subs = calloc(c->ex.nroots ? c->ex.nroots : 1, sizeof(root_subs_t));
    if (!c->subs) {
        call_request_error(c, 500, "out of memory", NULL, 0);
        return;
    }
    c->roots_left = c->ex.nroots;
    c->starting = 1;
    if (c->ex.op->kind == GQL_MUTATION && c->ex.nroots) { /* serially: each sees the one before */
        c->next_root = 1;
        root_start(c, 0);
    } else {
        c->next_root = c->ex.nroots;
        for (size_t i = 0; i < c->ex.nroots; i++)
            root_start(c, i);
    }
    c->starting = 0;
    if (c->roots_left == 0) call_finish(c);
}

/* ---- the request ----------------------------------------------------------------------------- */

static json_t *errors_json(const gql_error_t *errs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a,
                              gql_error_json(errs[i].msg, errs[i].locs, errs[i].nlocs, NULL, NULL));
    return json_pack("{s:o}", "errors", a);
}

static void call_run(gql_call_ctx_t *c, gw_gql_params_t *p)
{
    gql_error_t err, errs[GQL_MAX_ERRORS];
    gql_limits_t lim = {0};
    c->doc = gql_parse(p->query, p->query_len, &lim, &err);
    if (!c->doc) {
        count_op(c, GW_GQL_INVALID, 0);
        call_request_error(c, 400, err.msg, err.locs, err.nlocs);
        return;
    }
    /* GET is for queries only: the operation the request would run decides */
    const gql_op_t *op = NULL;
    for (const gql_op_t *o = c->doc->ops; o; o = o->next)
        if (p->operation_name ? (o->name && !strcmp(o->name, p->operation_name)) : !op) op = o;
    if (!c->is_post && op && op->kind != GQL_QUERY) {
        count_op(c, op->kind == GQL_MUTATION ? GW_GQL_MUTATION : GW_GQL_INVALID, 0);
        call_refuse(c, 405, "Mutations need POST: GET requests may only run queries.", "POST");
        return;
    }
    size_t n = gql_validate(c->doc, &lim, errs);
    if (n) {
        count_op(c, GW_GQL_INVALID, 0);
        call_respond(c, errors_json(errs, n), NULL, NULL, 400);
        return;
    }
    c->prepared = 1;
    if (gql_exec_prepare(&c->ex, c->doc, p->operation_name, p->variables, &lim) != 0) {
        count_op(c, c->ex.op && c->ex.op->kind == GQL_MUTATION ? GW_GQL_MUTATION : GW_GQL_QUERY, 0);
        call_respond(c, json_pack("{s:O}", "errors", c->ex.errors), NULL, NULL, 400);
        return;
    }
    call_execute(c);
}

static void post_on_body(gw_req_t *r)
{
    gql_call_ctx_t *c = r->handler_ctx;
    evbuffer_add_buffer(c->in, r->body); /* bounded by limits.max_body_bytes (the codec) */
    if (!r->body_done) return;
    char err[600];
    gw_gql_params_t p;
    size_t len = evbuffer_get_length(c->in);
    const char *body = len ? (const char *)evbuffer_pullup(c->in, -1) : "";
    int st = gw_gql_params_from_json(body, len, &p, err, sizeof(err));
    if (st) {
        call_refuse(c, st, err, NULL);
        return;
    }
    call_run(c, &p);
    gw_gql_params_free(&p);
}

static void get_on_body(gw_req_t *r)
{
    evbuffer_drain(r->body, evbuffer_get_length(r->body)); /* a GET body means nothing */
}

static const gw_handler_ops_t post_handler = {.on_body = post_on_body, .on_abort = call_on_abort};
static const gw_handler_ops_t get_handler = {.on_body = get_on_body, .on_abort = call_on_abort};

static void handle_get(gql_call_ctx_t *c, gw_req_t *r)
{
    char err[600];
    gw_gql_params_t p;
    int st = gw_gql_params_from_query(r->query ? r->query : "", r->query ? r->query_len : 0, &p,
                                      err, sizeof(err));
    if (st) {
        call_refuse(c, st, err, NULL);
        return;
    }
    if (!p.query) { /* a person or a benchmark: the schema */
        size_t len;
        const char *sdl = gql_schema_sdl(&len);
        gw_gql_params_free(&p);
        call_send(c, 200, "text/plain; charset=utf-8", sdl, len, NULL, NULL);
        return;
    }
    call_run(c, &p);
    gw_gql_params_free(&p);
}

void gw_graphql_handle(gw_handler_env_t *env, gw_req_t *r)
{
    gql_call_ctx_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->in = evbuffer_new())) {
        free(c);
        gw_req_respond_error(r, 500, "Service internal error: out of memory");
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    c->env = env;
    c->r = r;
    r->handler_ctx = c;
    size_t alen;
    const char *accept = gw_req_header(r, "accept", &alen);
    c->grj = gw_gql_wants_grj(accept, accept ? alen : 0);
    c->is_post = strcmp(r->method, "POST") == 0;
    if (c->is_post) {
        size_t tl;
        const char *ct = gw_req_header(r, "content-type", &tl);
        r->handler = &post_handler;
        if (!gw_gql_is_json_type(ct, ct ? tl : 0)) {
            call_refuse(c, 415, "A GraphQL POST needs Content-Type: application/json.", NULL);
            return;
        }
        post_on_body(r); /* what arrived with the head, and the start when that is all */
        return;
    }
    r->handler = &get_handler;
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        call_refuse(c, 405, "Use GET (queries) or POST.", "GET, POST, HEAD");
        return;
    }
    handle_get(c, r);
}
