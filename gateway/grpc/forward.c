/* gRPC requests forwarded to Qdrant's gRPC port; see forward.h. */
#include "gateway/grpc/forward.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grpc_frame.h"
#include "common/log.h"
#include "gateway/cache/rpc.h"
#include "gateway/core/timer.h"
#include "gateway/grpc/canon.h"
#include "gateway/http/dispatch.h"
#include "gateway/http/grpc_route.h"
#include "gateway/http/headers.h"

#define GF_MAX_FIELDS 256 /* request metadata passed on */

typedef struct gfwd {
    gw_req_t *r;
    gw_grpc_env_t *env;
    gw_grpc_call_t *call;
    gw_grpc_decoder_t dec;
    struct evbuffer *msg;  /* the request's messages, re-framed exactly as they came */
    struct event *timer;   /* grpc-timeout, at most upstream.timeout */
    size_t unconsumed;     /* answer bytes the codec holds and Qdrant was not credited for */
    int deadline_grpc;     /* the timer is the client's grpc-timeout (else upstream.timeout) */
    char coll[256];        /* the message's collection_name, r->route.collection's bytes */
    gw_rpc_key_t key;      /* store: the cache entry this answer becomes */
    struct evbuffer *resp; /* store: the answer's DATA so far */
    gw_rpc_flight_t *fl;   /* leading, or waiting in, a flight of identical reads */
    gw_centry_t *stale;    /* an expired entry to answer if Qdrant fails (stale-if-error) */
    unsigned head_sent : 1;
    unsigned store : 1;      /* a cacheable miss: keep the answer if it ends OK */
    unsigned first : 1;      /* a cacheable read's first use (cache.min_uses): not kept */
    unsigned write_seen : 1; /* a write's invalidation is done */
    unsigned leader : 1;     /* fl is ours to land (else we wait in it) */
    unsigned started : 1;    /* the whole request is in: gf_start ran */
    unsigned wait_true : 1;  /* a point write whose message says wait: true */
    unsigned gated : 1;      /* the access gate waits for its verdict (a global rate limit) */
} gfwd_t;

static const gw_handler_ops_t gf_handler;
static void gf_call(gfwd_t *f);

void gw_grpc_respond_status(gw_req_t *r, int code, const char *msg)
{
    gw_req_respond_grpc(r, code, msg ? msg : "", msg ? strlen(msg) : 0);
}

/* ---- ending -------------------------------------------------------------------------------- */

static void gf_free(gfwd_t *f)
{
    gw_req_t *r = f->r;
    if (r && f->gated) gw_dispatch_gate_cancel(r); /* its verdict will not come to us */
    if (r && r->route.collection == f->coll) r->route.collection = NULL;
    if (f->call) gw_grpc_call_cancel(f->call);
    if (f->timer) event_free(f->timer);
    if (f->msg) evbuffer_free(f->msg);
    if (f->resp) evbuffer_free(f->resp);
    if (f->fl && f->leader)
        gw_cache_rpc_land(f->env->cache, f->fl, NULL, 0); /* no answer: waiters go alone */
    else if (f->fl)
        gw_cache_rpc_leave(f->env->cache, f->fl);
    gw_centry_unref(f->stale);
    gw_grpc_decoder_free(&f->dec);
    free(f);
    if (r) {
        r->handler_ctx = NULL;
        gw_req_release(r, GW_REQ_HANDLER);
    }
}

static void gf_release_entry(void *arg)
{
    gw_centry_unref(arg);
}

/* Answers from a stored entry (its reference is the caller's, handed on) and ends. */
static void gf_answer_entry(gfwd_t *f, gw_centry_t *e, const char *xcache)
{
    gw_req_t *r = f->r;
    gw_hdr_t h[2] = {{"content-type", 12, "application/grpc", 16},
                     {"x-cache", 7, xcache, strlen(xcache)}};
    r->codec->send_head(r, 200, h, 2, -1);
    gw_req_send_body_ref(r, e->body, e->body_len, gf_release_entry, e);
    gw_hdr_t t[1] = {{"grpc-status", 11, "0", 1}};
    r->grpc_status = GW_GRPC_OK;
    if (r->codec->send_trailers)
        r->codec->send_trailers(r, t, 1);
    else
        r->codec->finish(r, 1);
    gf_free(f);
}

/* The gateway's own failure of a cached read (Qdrant unreachable or refusing, the deadline)
 * before any of Qdrant's answer went out: the expired entry answers, x-cache: STALE (1). */
static int gf_try_stale(gfwd_t *f)
{
    gw_req_t *r = f->r;
    if (!f->stale || f->head_sent || !r->codec || r->finished) return 0;
    gw_centry_t *e = f->stale;
    f->stale = NULL;
    gw_cache_rpc_stale_served(f->env->cache);
    gf_answer_entry(f, e, "STALE");
    return 1;
}

/* A failure the gateway answers: trailers-only before the head, else as the trailers. */
static void gf_fail(gfwd_t *f, int code, const char *msg)
{
    gw_req_t *r = f->r;
    if (r->codec && !r->finished) {
        if (!f->head_sent) {
            gw_grpc_respond_status(r, code, msg);
        } else if (r->codec->send_trailers) {
            char status[12], enc[1024];
            snprintf(status, sizeof(status), "%d", code);
            size_t len = gw_grpc_message_encode(msg, strlen(msg), enc, sizeof(enc));
            gw_hdr_t h[2] = {{"grpc-status", 11, status, strlen(status)},
                             {"grpc-message", 12, enc, len}};
            r->grpc_status = code;
            r->codec->send_trailers(r, h, 2);
        } else {
            r->codec->finish(r, 0);
        }
    }
    gf_free(f);
}

static void gf_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gfwd_t *f = arg;
    gw_log_debug("gRPC %s for %s: deadline passed", f->r->grpc_method, f->r->id);
    if (gf_try_stale(f)) return;
    if (f->deadline_grpc)
        gf_fail(f, GW_GRPC_DEADLINE_EXCEEDED, "Deadline exceeded");
    else
        gf_fail(f, GW_GRPC_DEADLINE_EXCEEDED,
                "upstream gRPC answer not complete within upstream.timeout");
}

/* ---- the answer ---------------------------------------------------------------------------- */

/* grpc-status among the fields, for the metrics (-1 when absent: the codec's caller decides). */
static void gf_note_status(gw_req_t *r, const gw_hdr_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (gw_header_name_eq(h[i].name, h[i].name_len, "grpc-status")) {
            int v = 0;
            for (size_t j = 0; j < h[i].value_len && j < 3; j++)
                v = v * 10 + (h[i].value[j] - '0');
            r->grpc_status = v >= 0 && v <= 16 ? v : GW_GRPC_UNKNOWN;
        }
}

/* A write was answered (or may have been applied): the cache's generations move before the
 * client hears of it. Refusals that change nothing (invalid, not found, exists, auth) do not. */
static void gf_write_seen(gfwd_t *f)
{
    gw_req_t *r = f->r;
    if (f->write_seen || !f->env->cache || r->route.cls != GW_ROUTE_QDRANT_WRITE ||
        (r->route.flags & GW_ROUTE_F_NO_INVALIDATE))
        return;
    f->write_seen = 1;
    int s = r->grpc_status;
    if (s == GW_GRPC_INVALID_ARGUMENT || s == GW_GRPC_NOT_FOUND || s == GW_GRPC_ALREADY_EXISTS ||
        s == GW_GRPC_PERMISSION_DENIED || s == GW_GRPC_UNAUTHENTICATED)
        return;
    int all = (r->route.flags & GW_ROUTE_F_ALL_COLLECTIONS) || r->route.collection != f->coll;
    gw_cache_rpc_write(f->env->cache, all ? "*" : f->coll,
                       (r->route.flags & GW_ROUTE_F_WAIT_DEFAULT_FALSE) && !f->wait_true);
}

static void gf_on_head(void *arg, int status, const gw_hdr_t *h, size_t n, int end)
{
    gfwd_t *f = arg;
    gw_req_t *r = f->r;
    f->head_sent = 1;
    if (end) {
        gf_note_status(r, h, n);
        gf_write_seen(f);
    }
    if (status != 200 || end) f->store = 0;
    gw_hdr_t hh[GW_GRPC_MAX_FIELDS + 1];
    if ((f->resp || f->first) && n <= GW_GRPC_MAX_FIELDS) { /* cacheable: say it missed */
        memcpy(hh, h, n * sizeof(*h));
        hh[n++] = (gw_hdr_t){"x-cache", 7, "MISS", 4};
        h = hh;
    }
    r->codec->send_head(r, status, h, n, end ? GW_REQ_NO_BODY : -1);
    if (end) r->codec->finish(r, 1);
}

static void gf_on_data(void *arg, const uint8_t *data, size_t len)
{
    gfwd_t *f = arg;
    gw_req_t *r = f->r;
    if (f->store && (evbuffer_get_length(f->resp) + len > r->loop->cfg->cache_max_entry_bytes ||
                     evbuffer_add(f->resp, data, len) != 0))
        f->store = 0; /* too big to keep (cache.max_entry_bytes) */
    r->codec->send_body(r, data, len);
    /* Credit Qdrant only for what the client is taking: the codec's queue stays bounded. */
    if (r->codec->out_pending(r) < GW_REQ_HIGH_WATER)
        gw_grpc_call_consume(f->call, len + f->unconsumed), f->unconsumed = 0;
    else
        f->unconsumed += len;
}

static void gf_on_trailers(void *arg, const gw_hdr_t *h, size_t n)
{
    gfwd_t *f = arg;
    gw_req_t *r = f->r;
    gf_note_status(r, h, n);
    gf_write_seen(f);
    if (f->store && r->grpc_status == GW_GRPC_OK) {
        size_t len = evbuffer_get_length(f->resp);
        const void *body = len ? (const void *)evbuffer_pullup(f->resp, -1) : "";
        if (f->fl && f->leader) /* stored, and handed to the reads waiting for it */
            gw_cache_rpc_land(f->env->cache, f->fl, body, len), f->fl = NULL;
        else
            gw_cache_rpc_put(f->env->cache, &f->key, body, len);
    }
    f->store = 0;
    if (r->codec->send_trailers)
        r->codec->send_trailers(r, h, n);
    else
        r->codec->finish(r, 1);
}

static void gf_on_close(void *arg, int code, const char *err)
{
    gfwd_t *f = arg;
    f->call = NULL; /* freed by the client after this */
    if (code < 0) {
        if (!f->r->finished) f->r->codec->finish(f->r, 1);
        gf_free(f);
        return;
    }
    gw_log_debug("gRPC %s for %s: %s", f->r->grpc_method, f->r->id, err);
    if (code == GW_GRPC_UNAVAILABLE && gf_try_stale(f)) return;
    f->r->grpc_status = code;
    gf_write_seen(f); /* it may have been applied */
    gf_fail(f, code, err);
}

static const gw_grpc_call_ops_t gf_call_ops = {
    .on_head = gf_on_head,
    .on_data = gf_on_data,
    .on_trailers = gf_on_trailers,
    .on_close = gf_on_close,
};

static void gf_on_drain(gw_req_t *r)
{
    gfwd_t *f = r->handler_ctx;
    if (!f || !f->call || !f->unconsumed) return;
    gw_grpc_call_consume(f->call, f->unconsumed);
    f->unconsumed = 0;
}

/* ---- the request --------------------------------------------------------------------------- */

/* Metadata for Qdrant: everything but the connection's own fields (te: trailers stays, gRPC
 * needs it); the host is :authority's. */
static size_t gf_fields(const gw_req_t *r, gw_hdr_t *out, size_t cap)
{
    size_t k = 0;
    int cred = 0;
    for (size_t i = 0; i < r->nhdrs && k < cap; i++) {
        const gw_hdr_t *h = &r->hdrs[i];
        if (gw_header_name_eq(h->name, h->name_len, "host") ||
            gw_header_name_eq(h->name, h->name_len, "content-length") ||
            (gw_header_is_hop_by_hop(h->name, h->name_len, NULL, 0) &&
             !gw_header_name_eq(h->name, h->name_len, "te")))
            continue;
        if (gw_header_name_eq(h->name, h->name_len, "api-key") ||
            gw_header_name_eq(h->name, h->name_len, "authorization"))
            cred = 1;
        out[k++] = *h;
    }
    /* As for REST: the gateway's own key when the client's credential is not for Qdrant. */
    const char *key = r->loop->cfg->upstream_api_key;
    if (!cred && key[0] && k < cap) out[k++] = (gw_hdr_t){"api-key", 7, key, strlen(key)};
    return k;
}

/* The collection the message names, for the access gate (and the cache): r->route.collection,
 * as a REST path's. The name is checked the way the router's path parameters are. A point
 * write's `wait` too (f->wait_true). */
static void gf_collection(gfwd_t *f)
{
    gw_req_t *r = f->r;
    size_t have = evbuffer_get_length(f->msg);
    if (!(r->route.flags & GW_ROUTE_F_GRPC_COLL) || have < GW_GRPC_FRAME_HDR) return;
    const uint8_t *m = evbuffer_pullup(f->msg, -1);
    uint32_t mlen = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 8 | m[4];
    const uint8_t *name;
    size_t nl;
    if (m[0] != 0 || mlen > have - GW_GRPC_FRAME_HDR ||
        gw_grpc_field1(m + GW_GRPC_FRAME_HDR, mlen, &name, &nl) != 1 || nl >= sizeof(f->coll))
        return; /* compressed, or no usable name: Qdrant judges it; the gate sees none */
    memcpy(f->coll, name, nl);
    r->route.collection = f->coll;
    r->route.collection_len = nl;
    /* A point write applied before its answer (wait: true) needs no second invalidation. */
    if (r->route.flags & GW_ROUTE_F_WAIT_DEFAULT_FALSE)
        f->wait_true = f->dec.messages == 1 && gw_grpc_wait_true(m + GW_GRPC_FRAME_HDR, mlen);
}

/* A wait ended (rpc.h): the leader's answer or Redis's entry, or go to Qdrant (alone, or as the
 * flight's leader when fl is not NULL). */
static void gf_wait_done(void *arg, gw_centry_t *e, gw_rpc_flight_t *fl)
{
    gfwd_t *f = arg;
    f->fl = fl;
    f->leader = fl != NULL;
    if (e) {
        gf_answer_entry(f, e, "HIT");
        return;
    }
    f->resp = evbuffer_new();
    f->store = f->resp != NULL;
    gf_call(f);
}

/* A cacheable read: answered from the cache or waiting for an identical read in flight (1),
 * or to be forwarded (0), marked to be stored when its answer comes back OK when it can be. */
static int gf_try_cache(gfwd_t *f)
{
    gw_req_t *r = f->r;
    gw_cache_t *c = f->env->cache;
    if (!c || r->route.cls != GW_ROUTE_QDRANT_READ || r->route.collection != f->coll ||
        !gw_grpc_canon_method(r->grpc_method) || f->dec.messages != 1)
        return 0;
    const uint8_t *m = evbuffer_pullup(f->msg, -1);
    size_t len = evbuffer_get_length(f->msg) - GW_GRPC_FRAME_HDR;
    uint8_t *canon = NULL;
    size_t clen = 0;
    const char *why = r->authz && r->authz->upstream_checks
                          ? "the token's value_exists claim is Qdrant's to check"
                          : "compressed message";
    int ok = !(r->authz && r->authz->upstream_checks) && m[0] == 0 &&
             gw_grpc_canon(r->grpc_method, m + GW_GRPC_FRAME_HDR, len, &canon, &clen, &why) == 1 &&
             gw_cache_rpc_key(c, r, canon, clen, &f->key, &why) == 0;
    free(canon);
    if (!ok) {
        gw_log_debug("cache bypass for gRPC %s (id %s): %s", r->grpc_method, r->id, why);
        gw_cache_rpc_bypass(c);
        return 0;
    }
    gw_rpc_lookup_t lk;
    switch (gw_cache_rpc_lookup(c, &f->key, gf_wait_done, f, &lk)) {
    case GW_RPC_HIT:
        gf_answer_entry(f, lk.hit, "HIT");
        return 1;
    case GW_RPC_WAIT:
        f->fl = lk.fl;
        f->stale = lk.stale;
        return 1; /* gf_wait_done follows, or the deadline */
    case GW_RPC_LEAD:
        f->fl = lk.fl;
        f->leader = 1;
        /* fall through */
    case GW_RPC_ALONE:
        f->stale = lk.stale;
        f->resp = evbuffer_new();
        f->store = f->resp != NULL;
        return 0;
    case GW_RPC_FIRST:
        f->stale = lk.stale;
        f->first = 1;
        return 0;
    }
    return 0;
}

static void gf_call(gfwd_t *f)
{
    gw_req_t *r = f->r;
    gw_hdr_t h[GF_MAX_FIELDS];
    size_t n = gf_fields(r, h, GF_MAX_FIELDS);
    f->call = gw_grpc_call_start(f->env->pool, r->grpc_method, h, n, f->msg, &gf_call_ops, f);
    if (!f->call) gf_fail(f, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory for the upstream call");
}

/* The access gate refused the call: answered, and the handler side released. */
static void gf_refused(gfwd_t *f)
{
    gw_req_t *r = f->r;
    r->handler_ctx = NULL;
    if (r->route.collection == f->coll) r->route.collection = NULL;
    f->r = NULL;
    gf_free(f);
}

/* The gate's verdict after a wait (gw_dispatch_gate_async): the call goes on, or was refused. */
static void gf_gate_done(gw_req_t *r, void *arg, int answered)
{
    (void)r;
    gfwd_t *f = arg;
    f->gated = 0;
    if (answered) {
        gf_refused(f);
        return;
    }
    if (gf_try_cache(f)) return;
    gf_call(f);
}

static void gf_start(gfwd_t *f)
{
    gw_req_t *r = f->r;
    f->started = 1;
    if (gw_grpc_frame_finish(&f->dec) != 0) {
        gf_fail(f, gw_grpc_frame_err_status(f->dec.err), f->dec.errmsg);
        return;
    }
    gf_collection(f);
    int st = r->internal ? 0 : gw_dispatch_gate_async(r, gf_gate_done, f);
    if (st < 0) { /* waiting for Redis: gf_gate_done, or the deadline / the client's end first */
        f->gated = 1;
        return;
    }
    gf_gate_done(r, f, st);
}

static void gf_on_body(gw_req_t *r)
{
    gfwd_t *f = r->handler_ctx;
    if (!f || f->started) return;
    uint8_t buf[16384];
    int got;
    while ((got = evbuffer_remove(r->body, buf, sizeof(buf))) > 0) {
        const uint8_t *p = buf;
        size_t len = (size_t)got;
        gw_grpc_msg_t m;
        int rc;
        while ((rc = gw_grpc_frame_feed(&f->dec, &p, &len, &m)) == 1) {
            uint8_t hdr[GW_GRPC_FRAME_HDR];
            gw_grpc_frame_header(hdr, m.compressed, m.len);
            if (evbuffer_add(f->msg, hdr, sizeof(hdr)) != 0 ||
                evbuffer_add(f->msg, m.data, m.len) != 0) {
                gf_fail(f, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory for the request message");
                return;
            }
        }
        if (rc < 0) {
            gf_fail(f, gw_grpc_frame_err_status(f->dec.err), f->dec.errmsg);
            return;
        }
        /* Unary RPCs: one message; a stream of them may not add up past the limit either. */
        if (evbuffer_get_length(f->msg) > (size_t)f->dec.max_message + GW_GRPC_FRAME_HDR) {
            gf_fail(f, GW_GRPC_RESOURCE_EXHAUSTED, "gRPC request messages larger than max");
            return;
        }
    }
    if (r->body_done) gf_start(f);
}

static void gf_on_abort(gw_req_t *r)
{
    gfwd_t *f = r->handler_ctx;
    if (f)
        gf_free(f);
    else
        gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t gf_handler = {
    .on_body = gf_on_body,
    .on_drain = gf_on_drain,
    .on_abort = gf_on_abort,
};

/* grpc-timeout, bounded by upstream.timeout. A malformed value is Qdrant's to judge: then only
 * upstream.timeout applies. */
static void gf_arm(gfwd_t *f)
{
    gw_req_t *r = f->r;
    uint64_t ms = r->loop->cfg->upstream_timeout_ms;
    size_t len;
    const char *v = gw_req_header(r, "grpc-timeout", &len);
    uint64_t ns;
    char err[128];
    if (v && gw_grpc_timeout_parse(v, len, &ns, err, sizeof(err)) == 0) {
        uint64_t t = ns / 1000000 + (ns % 1000000 != 0);
        if (t <= ms) {
            ms = t;
            f->deadline_grpc = 1;
        }
    }
    gw_timer_add_ms(f->timer, ms);
}

void gw_grpc_forward(gw_grpc_env_t *env, gw_req_t *r)
{
    if (!r->grpc_method) {
        gw_grpc_respond_status(r, GW_GRPC_UNIMPLEMENTED, ""); /* tonic's answer: no message */
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    gfwd_t *f = calloc(1, sizeof(*f));
    if (f) {
        f->msg = evbuffer_new();
        f->timer = evtimer_new(r->loop->base, gf_on_timer, f);
    }
    if (!f || !f->msg || !f->timer) {
        if (f && f->msg) evbuffer_free(f->msg);
        if (f && f->timer) event_free(f->timer);
        free(f);
        gw_grpc_respond_status(r, GW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    f->r = r;
    f->env = env;
    size_t elen;
    const char *enc = gw_req_header(r, "grpc-encoding", &elen);
    int compressed = enc && !(elen == 8 && strncmp(enc, "identity", 8) == 0);
    gw_grpc_decoder_init(&f->dec,
                         (uint32_t)(r->loop->cfg->max_body_bytes > UINT32_MAX - 5
                                        ? UINT32_MAX - 5
                                        : r->loop->cfg->max_body_bytes),
                         compressed);
    r->handler = &gf_handler;
    r->handler_ctx = f;
    gf_arm(f);
    gf_on_body(r);
}
