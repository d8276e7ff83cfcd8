/* One exchange with Qdrant, engine-neutral: transfer objects, what goes upstream in the request
 * head, how an answer's head and body reach the client and the taps, and how failures become
 * 502/504. The engines (h1_engine.c, curl_engine.c) move the bytes and report here. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/http/headers.h"
#include "gateway/upstream/internal.h"

/* ---- transfer objects -------------------------------------------------------------------- */

px_xfer_t *px_xfer_get(gw_proxy_t *px)
{
    px_xfer_t *x = px->free_list;
    if (x) {
        px->free_list = x->next_free;
    } else {
        x = calloc(1, sizeof(*x));
        if (!x) return NULL;
        x->resp_hdrs = evbuffer_new();
        if (!x->resp_hdrs) {
            free(x);
            return NULL;
        }
        x->next_all = px->all;
        px->all = x;
    }
    x->px = px;
    x->peer = NULL;
    x->tried = 0;
    x->counted = x->moved = x->pinned = 0;
    x->whole = 0;
    x->next_free = NULL;
    x->req = NULL;
    x->status = 0;
    x->head_forwarded = 0;
    x->swallowed = 0;
    x->tap = NULL;
    x->tap_ctx = NULL;
    x->errbuf[0] = '\0';
    x->start_us = gw_mono_us();
    evbuffer_drain(x->resp_hdrs, evbuffer_get_length(x->resp_hdrs));
    return x;
}

void px_xfer_put(px_xfer_t *x)
{
    px_peer_done(x, (px_outcome_t){GW_PROXY_ABORTED, -1, NULL}); /* if still counted */
    if (x->active && x->px->loop->stats) gw_stat_dec(&x->px->loop->stats->upstream_active);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    if (x->fetch_body) {
        evbuffer_free(x->fetch_body);
        x->fetch_body = NULL;
    }
    x->cb = NULL;
    x->req = NULL;
    x->active = 0;
    x->engine = NULL;
    x->next_free = x->px->free_list;
    x->px->free_list = x;
}

void px_xfer_destroy(px_xfer_t *x)
{
    curl_slist_free_all(x->hdrs);
    if (x->fetch_body) evbuffer_free(x->fetch_body);
    evbuffer_free(x->resp_hdrs);
    pxc_engine.destroy_xfer(x); /* a recycled object may carry parts of either engine */
    pxh_engine.destroy_xfer(x);
    free(x);
}

int px_tap_end(px_xfer_t *x, gw_req_t *r, gw_proxy_end_t how)
{
    const gw_proxy_tap_t *t = x->tap;
    x->tap = NULL;
    return t && t->on_end ? t->on_end(x->tap_ctx, r, how) : 0;
}

/* ---- the request head -------------------------------------------------------------------- */

int px_each_header(const gw_proxy_t *px, const gw_req_t *r,
                   int (*add)(void *ctx, const char *n, size_t nl, const char *v, size_t vl),
                   void *ctx, int *has_accept, int *has_ctype)
{
    const gw_config_t *cfg = px->loop->cfg;
    size_t cl = 0, xffl = 0;
    const char *conn = gw_req_header(r, "connection", &cl);
    const char *xff = gw_req_header(r, "x-forwarded-for", &xffl);
    int has_cred = 0;
    *has_accept = *has_ctype = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const gw_hdr_t *h = &r->hdrs[i];
        if (gw_header_is_hop_by_hop(h->name, h->name_len, conn, cl) ||
            gw_header_name_eq(h->name, h->name_len, "host") ||
            gw_header_name_eq(h->name, h->name_len, "content-length") ||
            gw_header_name_eq(h->name, h->name_len, "expect") ||
            gw_header_name_eq(h->name, h->name_len, "x-forwarded-for") ||
            gw_header_name_eq(h->name, h->name_len, "x-request-id"))
            continue;
        if (gw_header_name_eq(h->name, h->name_len, "api-key") ||
            gw_header_name_eq(h->name, h->name_len, "authorization"))
            has_cred = 1;
        *has_accept |= gw_header_name_eq(h->name, h->name_len, "accept");
        *has_ctype |= gw_header_name_eq(h->name, h->name_len, "content-type");
        if (add(ctx, h->name, h->name_len, h->value, h->value_len) != 0) return -1;
    }
    char buf[1024];
    int n = xff ? snprintf(buf, sizeof(buf), "%.*s, %s", (int)xffl, xff, r->peer)
                : snprintf(buf, sizeof(buf), "%s", r->peer);
    if (n > 0 && (size_t)n < sizeof(buf) && r->peer[0] &&
        add(ctx, "X-Forwarded-For", 15, buf, (size_t)n) != 0)
        return -1;
    if (add(ctx, "X-Request-Id", 12, r->id, strlen(r->id)) != 0) return -1;
    if (!has_cred && cfg->upstream_api_key && cfg->upstream_api_key[0] &&
        add(ctx, "api-key", 7, cfg->upstream_api_key, strlen(cfg->upstream_api_key)) != 0)
        return -1;
    return 0;
}

/* ---- response head and body -------------------------------------------------------------- */

void px_forward_head(px_xfer_t *x)
{
    gw_req_t *r = x->req;
    x->head_forwarded = 1;
    size_t len = evbuffer_get_length(x->resp_hdrs);
    char *buf = (char *)evbuffer_pullup(x->resp_hdrs, -1);
    enum { MAX_HDRS = 128, TAP_ROOM = 4 };
    gw_hdr_t hdrs[MAX_HDRS + 1 + TAP_ROOM];
    size_t n = 0;
    int64_t clen = -1;
    int chunked = 0;
    const char *conn_val = NULL;
    size_t conn_len = 0;
    /* First pass: Connection names further hop-by-hop headers. */
    for (size_t pass = 0; pass < 2; pass++) {
        size_t off = 0;
        gw_hdr_t h;
        while (gw_hdr_block_next(buf, len, &off, &h)) {
            const char *line = h.name, *v = h.value;
            size_t nl = h.name_len, vl = h.value_len;
            if (pass == 0) {
                if (gw_header_name_eq(line, nl, "connection")) conn_val = v, conn_len = vl;
                continue;
            }
            if (gw_header_name_eq(line, nl, "content-length")) {
                clen = strtoll(v, NULL, 10);
                continue;
            }
            if (gw_header_name_eq(line, nl, "transfer-encoding"))
                chunked = 1; /* checked by llhttp */
            if (gw_header_is_hop_by_hop(line, nl, conn_val, conn_len) || n == MAX_HDRS - 1)
                continue;
            hdrs[n++] = (gw_hdr_t){line, nl, v, vl};
        }
    }
    hdrs[n++] = (gw_hdr_t){"x-request-id", 12, r->id, strlen(r->id)};
    if (x->peer && gw_log_enabled(GW_LOG_DEBUG)) /* who answered, for debugging a cluster */
        hdrs[n++] =
            (gw_hdr_t){"x-qdrant-peer", 13, x->peer->target->url, strlen(x->peer->target->url)};
    /* RFC 9112 6.3: no length and no chunking means the body runs to the close, except where
     * an answer has no body at all. */
    int bodiless = r->is_head || x->status == 204 || x->status == 304;
    int64_t tap_clen = clen < 0 && !chunked && !bodiless ? GW_PROXY_CLEN_EOF : clen;
    if (x->tap && x->tap->on_head &&
        x->tap->on_head(x->tap_ctx, r, (int)x->status, hdrs, &n, TAP_ROOM, tap_clen)) {
        x->swallowed = 1;
        return;
    }
    r->codec->send_head(r, (int)x->status, hdrs, n, clen);
}

void px_relay_body(px_xfer_t *x, const void *data, size_t len)
{
    gw_req_t *r = x->req;
    if (!x->head_forwarded) px_forward_head(x);
    if (x->swallowed) return;
    r->codec->send_body(r, data, len);
    if (x->tap && x->tap->on_body) x->tap->on_body(x->tap_ctx, data, len);
}

/* ---- completion -------------------------------------------------------------------------- */

static void px_fail_request(px_xfer_t *x, px_outcome_t o)
{
    gw_req_t *r = x->req;
    const gw_config_t *cfg = x->px->loop->cfg;
    const char *detail = o.detail ? o.detail : "unknown error";
    if (x->swallowed) {
        px_tap_end(x, r, o.end); /* the tap answered; the failure is only news */
        return;
    }
    if (r->head_sent) {
        gw_log_warn("upstream failed mid-response for %s %.*s (id %s): %s", r->method,
                    (int)r->target_len, r->target, r->id, detail);
        r->codec->finish(r, 0);
        px_tap_end(x, r, o.end);
        return;
    }
    if (px_tap_end(x, r, o.end)) return; /* answered by the tap (a stale copy) */
    switch (o.end) {
    case GW_PROXY_TIMEOUT:
        gw_req_respond_error(r, 504, "Gateway timeout: upstream did not answer in time (%s)",
                             detail);
        break;
    case GW_PROXY_UNREACHABLE:
        gw_req_respond_error(r, 502, "Bad gateway: upstream %s is unreachable (%s)",
                             x->peer ? x->peer->target->url : cfg->upstream_url, detail);
        break;
    default:
        gw_req_respond_error(r, 502, "Bad gateway: upstream connection failed (%s)", detail);
        break;
    }
}

void px_complete(px_xfer_t *x, px_outcome_t o)
{
    if (o.end != GW_PROXY_OK && px_try_move(x, o)) return; /* a read goes to another peer */
    px_peer_done(x, o);
    gw_req_t *r = x->req;
    gw_wstats_t *st = x->px->loop->stats;
    if (st && r && r->codec) {
        gw_hist_observe(&st->upstream_duration, gw_mono_us() - x->start_us);
        if (o.uperr >= 0 && o.uperr < GW_UPERR_N) gw_stat_inc(&st->upstream_errors[o.uperr]);
    }
    if (r) {
        r->handler_ctx = NULL;
        if (!r->codec) {
            px_tap_end(x, NULL, GW_PROXY_ABORTED); /* client gone; nothing to answer */
        } else if (o.end == GW_PROXY_OK) {
            if (!x->head_forwarded) px_forward_head(x);
            if (!x->swallowed) r->codec->finish(r, 1);
            px_tap_end(x, r, GW_PROXY_OK);
        } else {
            px_fail_request(x, o);
        }
        gw_req_release(r, GW_REQ_HANDLER);
    }
    px_xfer_put(x);
}

void px_start_failed(px_xfer_t *x, gw_req_t *r, const char *what)
{
    r->handler_ctx = NULL;
    if (x) {
        px_tap_end(x, r, GW_PROXY_FAILED);
        px_xfer_put(x);
    }
    gw_req_respond_error(r, 500, "Service internal error: %s", what);
    gw_req_release(r, GW_REQ_HANDLER);
}
