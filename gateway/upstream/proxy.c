/* The upstream pool's front door: forwarding a request (on the own HTTP/1.1 engine for an
 * http:// upstream, else libcurl), internal fetches, and the handler side of a forwarded request,
 * which passes the codec's events to the transfer's engine. */
#include "gateway/upstream/proxy.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/upstream/internal.h"

static const gw_handler_ops_t px_handler;

/* ---- the handler side of a forwarded request ---------------------------------------------- */

static void px_on_body(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx;
    if (!x) return;
    x->engine->on_body(x);
}

static void px_on_drain(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx;
    if (!x) return;
    x->engine->on_drain(x);
}

/* Stops a transfer under way: its engine lets go of it, its tap hears ABORTED, its request (if
 * any) is released unanswered. Nothing else is called back. */
static void px_wait_unlink(px_xfer_t *x)
{
    gw_proxy_t *px = x->px;
    px_xfer_t **pp = &px->dns_wait_head, *prev = NULL;
    while (*pp && *pp != x) {
        prev = *pp;
        pp = &(*pp)->dns_next;
    }
    if (!*pp) return;
    *pp = x->dns_next;
    if (px->dns_wait_tail == x) px->dns_wait_tail = prev;
    x->dns_next = NULL;
    x->dns_resume = NULL;
}

static void px_detach(px_xfer_t *x)
{
    gw_req_t *r = x->req;
    if (r) r->handler_ctx = NULL;
    if (x->dns_resume)
        px_wait_unlink(x); /* no engine holds it yet */
    else
        x->engine->abort(x);
    px_tap_end(x, NULL, GW_PROXY_ABORTED);
    px_xfer_put(x);
    if (r) gw_req_release(r, GW_REQ_HANDLER);
}

static void px_on_abort(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx; /* while set, x->req is r */
    if (x)
        px_detach(x);
    else
        gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t px_handler = {
    .on_body = px_on_body,
    .on_drain = px_on_drain,
    .on_abort = px_on_abort,
};

/* ---- the upstream's address ------------------------------------------------------------- */

static void px_no_addr(px_xfer_t *x)
{
    const char *why = gw_dns_name_error(x->px->name);
    snprintf(x->errbuf, sizeof(x->errbuf), "upstream host %s does not resolve: %s",
             gw_dns_name_host(x->px->name), why[0] ? why : "no address");
}

int px_addr_wait(px_xfer_t *x, px_resume_fn resume)
{
    gw_proxy_t *px = x->px;
    gw_dns_name_t *n = px->name;
    if (gw_dns_name_is_literal(n) || gw_dns_name_count(n) > 0) return 0;
    x->dns_resume = resume;
    x->dns_next = NULL;
    if (px->dns_wait_tail)
        px->dns_wait_tail->dns_next = x;
    else
        px->dns_wait_head = x;
    px->dns_wait_tail = x;
    /* No answer coming soon (the last one failed): fail it from the loop, not from in here. */
    if (!gw_dns_name_busy(n)) event_active(px->dns_kick, EV_TIMEOUT, 0);
    return 1;
}

void px_addr_failed(gw_proxy_t *px)
{
    gw_dns_name_failed(px->name);
}

/* A resolution of the upstream's name ended: a move closes idle connections, and what waited
 * for a first address goes on (or fails, when there still is none). */
static void px_on_name(void *arg, int changed)
{
    gw_proxy_t *px = arg;
    if (changed && px->h1) pxh_addr_changed(px);
    px_xfer_t *x = px->dns_wait_head;
    px->dns_wait_head = px->dns_wait_tail = NULL;
    int have = gw_dns_name_count(px->name) > 0;
    while (x) {
        px_xfer_t *next = x->dns_next;
        px_resume_fn resume = x->dns_resume;
        x->dns_next = NULL;
        x->dns_resume = NULL;
        if (!have) px_no_addr(x);
        resume(x, have ? NULL : x->errbuf);
        x = next;
    }
}

static void px_on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    px_on_name(arg, 0);
}

static void px_forward_resume(px_xfer_t *x, const char *err)
{
    if (err)
        px_complete(x, (px_outcome_t){GW_PROXY_UNREACHABLE, GW_UPERR_REFUSED, err});
    else
        x->engine->forward(x, x->req);
}

/* ---- public API -------------------------------------------------------------------------- */

void gw_proxy_forward(gw_proxy_t *px, gw_req_t *r)
{
    gw_proxy_forward_tap(px, r, NULL, NULL);
}

void gw_proxy_forward_tap(gw_proxy_t *px, gw_req_t *r, const gw_proxy_tap_t *tap, void *ctx)
{
    px_xfer_t *x = px_xfer_get(px);
    if (!x) {
        if (tap && tap->on_end) tap->on_end(ctx, r, GW_PROXY_FAILED);
        px_start_failed(NULL, r, "out of memory");
        return;
    }
    x->req = r;
    x->tap = tap;
    x->tap_ctx = ctx;
    r->handler = &px_handler;
    r->handler_ctx = x;
    x->active = 1;
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->upstream_active);
    x->engine = px->h1 ? &pxh_engine : &pxc_engine;
    if (px_addr_wait(x, px_forward_resume) == 0) x->engine->forward(x, r);
}

int gw_proxy_fetch(gw_proxy_t *px, const char *path, uint64_t timeout_ms, gw_fetch_cb cb, void *arg)
{
    gw_fetch_req_t q = {.path = path, .timeout_ms = timeout_ms};
    return gw_proxy_fetch_req(px, &q, cb, arg);
}

int gw_proxy_fetch_req(gw_proxy_t *px, const gw_fetch_req_t *q, gw_fetch_cb cb, void *arg)
{
    px_xfer_t *x = px_xfer_get(px);
    if (!x) return -1;
    x->cb = cb;
    x->cb_arg = arg;
    x->active = 1;
    x->engine = &pxc_engine; /* internal fetches and absolute URLs: libcurl */
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->upstream_active);
    if (pxc_fetch(x, q) != 0) {
        px_xfer_put(x);
        return -1;
    }
    return 0;
}

gw_proxy_t *gw_proxy_new(gw_loop_t *loop, const gw_upstream_target_t *target, char *err,
                         size_t errlen)
{
    gw_proxy_t *px = calloc(1, sizeof(*px));
    if (!px) {
        snprintf(err, errlen, "out of memory creating the upstream pool");
        return NULL;
    }
    px->loop = loop;
    px->target = target;
    px->name = gw_dns_name_new(loop->dns, "upstream", target->host, target->port,
                               loop->stats ? loop->stats->dns[GW_DNS_PEER_UPSTREAM] : NULL,
                               px_on_name, px);
    px->dns_kick = event_new(loop->base, -1, 0, px_on_kick, px);
    if (!px->name || !px->dns_kick) {
        snprintf(err, errlen, "out of memory creating the upstream pool");
        gw_proxy_free(px);
        return NULL;
    }
    if (pxc_init(px, err, errlen) != 0 || pxh_init(px, err, errlen) != 0) {
        gw_proxy_free(px);
        return NULL;
    }
    return px;
}

void gw_proxy_upstream_addr(const gw_proxy_t *px, char *buf, size_t len, const char **error)
{
    gw_dns_name_describe(px->name, buf, len);
    if (error) *error = gw_dns_name_error(px->name);
}

void gw_proxy_free(gw_proxy_t *px)
{
    if (!px) return;
    for (px_xfer_t *x = px->all; x; x = x->next_all)
        if (x->active) px_detach(x);
    pxh_engine.free(px);
    pxc_engine.free(px);
    gw_dns_name_free(px->name);
    if (px->dns_kick) event_free(px->dns_kick);
    while (px->all) {
        px_xfer_t *x = px->all;
        px->all = x->next_all;
        px_xfer_destroy(x);
    }
    free(px);
}
