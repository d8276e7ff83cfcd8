/* Internal requests through gw_dispatch with an in-memory codec (see subreq.h).
 *
 * Lifetimes. Each sub's request is created holding both sides; its handler side goes to the
 * cache/proxy, its codec side stays with the sub. The internal codec never calls back: finish
 * only activates the sub's event, and the event callback releases the codec side and tells the
 * owner. A sub ended early is aborted the way a codec does it: the handler's on_abort if the
 * handler side is still held, then the codec side is released. */
#include "gateway/handler/subreq.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/http/dispatch.h"
#include "gateway/http/headers.h"

/* ---- the internal codec: collects the answer in memory --------------------------------------- */

static void inner_send_head(gw_req_t *r, int status, const gw_hdr_t *h, size_t n, int64_t clen)
{
    gw_subreq_t *s = r->codec_ctx;
    r->head_sent = 1;
    r->status = status;
    s->status = status;
    for (size_t i = 0; i < n; i++)
        if (gw_header_name_eq(h[i].name, h[i].name_len, "x-cache"))
            snprintf(s->xcache, sizeof(s->xcache), "%.*s", (int)h[i].value_len, h[i].value);
}

static void inner_send_body(gw_req_t *r, const void *data, size_t len)
{
    gw_subreq_t *s = r->codec_ctx;
    if (s->overflow || evbuffer_get_length(s->body) + len > GW_SUBREQ_MAX)
        s->overflow = 1;
    else
        evbuffer_add(s->body, data, len);
}

/* Called from inside the cache or libcurl callbacks: only note it and come back from the loop. */
static void inner_finish(gw_req_t *r, int ok)
{
    gw_subreq_t *s = r->codec_ctx;
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
    return 0; /* memory, not a socket: never pushes back (bounded by GW_SUBREQ_MAX) */
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

/* Client headers an internal request carries: credentials (so Qdrant's api-key checks and the
 * cache's per-key entries work as for the client's own requests), cache control, forwarding. */
static const char *const inner_copied[] = {"api-key", "authorization", "cache-control",
                                           "x-forwarded-for"};
#define NCOPIED (sizeof(inner_copied) / sizeof(inner_copied[0]))

/* Lays out method, target and headers in one block the request owns (r->raw), with views. */
static int inner_fill(gw_req_t *r, const gw_req_t *outer, const char *method, const char *target,
                      int json_body)
{
    gw_hdr_t h[1 + NCOPIED];
    size_t nh = 0, ml = strlen(method), tl = strlen(target);
    if (json_body) h[nh++] = (gw_hdr_t){"content-type", 12, "application/json", 16};
    /* Checked by the gate: the credential it verified (a gateway key's headers are gone). */
    const gw_req_authz_t *z = outer->authz;
    int cred = z && z->credential;
    if (cred) h[nh++] = (gw_hdr_t){"api-key", 7, z->credential, z->credential_len};
    for (size_t i = 0; i < NCOPIED; i++) {
        if (cred && i < 2) continue; /* api-key, authorization */
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
    const char *q = memchr(p, '?', tl); /* "?wait=true": the route and cache see the path alone */
    if (q) {
        r->path_len = (size_t)(q - p);
        r->query = q + 1;
        r->query_len = tl - r->path_len - 1;
    }
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

/* The sub's answer is complete (or it could not start): release our side, tell the owner. */
static void sub_on_event(evutil_socket_t fd, short what, void *arg)
{
    gw_subreq_t *s = arg;
    if (s->r) {
        gw_req_release(s->r, GW_REQ_CODEC);
        s->r = NULL;
    }
    s->done = 1;
    s->cb(s, s->arg); /* may free s: nothing after this */
}

int gw_subreq_init(gw_subreq_t *s, gw_loop_t *l, gw_subreq_done_cb cb, void *arg)
{
    memset(s, 0, sizeof(*s));
    s->cb = cb;
    s->arg = arg;
    s->ev = event_new(l->base, -1, 0, sub_on_event, s);
    s->body = evbuffer_new();
    return s->ev && s->body ? 0 : -1;
}

void gw_subreq_fail(gw_subreq_t *s, const char *why)
{
    s->error = why;
    s->finished = 1;
    event_active(s->ev, EV_READ, 0);
}

void gw_subreq_start(gw_subreq_t *s, const gw_req_t *outer, const char *method, const char *target,
                     const char *body, size_t len)
{
    gw_loop_t *loop = outer->loop;
    gw_req_t *r = gw_req_new(loop, &inner_codec, s);
    if (!r || inner_fill(r, outer, method, target, body != NULL) != 0 ||
        (body && evbuffer_add(r->body, body, len) != 0)) {
        if (r) gw_req_release(r, GW_REQ_CODEC | GW_REQ_HANDLER);
        gw_subreq_fail(s, "out of memory");
        return;
    }
    r->internal = 1; /* the client's request is counted once, as a gateway_api request */
    /* Access is checked per internal request with the client's credential (GraphQL fields
     * name any collection), answering as Qdrant would to that request. */
    r->internal_gated = outer->authz != NULL;
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

void gw_subreq_abort(gw_subreq_t *s, const char *why)
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
    s->done = 1;
}

void gw_subreq_dispose(gw_subreq_t *s)
{
    gw_subreq_abort(s, "aborted");
    if (s->ev) event_free(s->ev);
    if (s->body) evbuffer_free(s->body);
    s->ev = NULL;
    s->body = NULL;
}

const char *gw_subreq_body(gw_subreq_t *s, size_t *len)
{
    *len = evbuffer_get_length(s->body);
    return *len ? (const char *)evbuffer_pullup(s->body, -1) : "";
}
