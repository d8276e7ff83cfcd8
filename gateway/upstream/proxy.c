/* The upstream pool's front door: forwarding a request to the peer the balancer picks (on the
 * own HTTP/1.1 engine for an http:// upstream, else libcurl), moving a failed read to another
 * peer, internal fetches, and the handler side of a forwarded request, which passes the codec's
 * events to the transfer's engine. */
#include "gateway/upstream/proxy.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
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
    px_peer_t *px = x->peer;
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
    px_peer_done(x, (px_outcome_t){GW_PROXY_ABORTED, -1, NULL});
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

/* ---- peers: the balancer's side --------------------------------------------------------- */

static void px_peer_gauge(gw_proxy_t *px, int i)
{
    gw_wstats_t *st = px->loop->stats;
    if (st && i < GW_STATS_MAX_PEERS)
        atomic_store_explicit(&st->peer[i].up, px->bal.peer[i].state == GW_PEER_UP ? 1u : 0u,
                              memory_order_relaxed);
}

void px_peer_begin(px_xfer_t *x, px_peer_t *peer)
{
    gw_proxy_t *px = x->px;
    x->peer = peer;
    x->tried |= 1u << peer->idx;
    x->counted = 1;
    gw_bal_start(&px->bal, peer->idx);
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->peer[peer->idx].requests);
}

/* The peer for a new exchange: the balancer's choice (never -1 with no exclusions). */
static px_peer_t *px_pick(gw_proxy_t *px, uint32_t exclude)
{
    int i = gw_bal_pick(&px->bal, gw_mono_us(), exclude);
    return i < 0 ? NULL : &px->peer[i];
}

static gw_bal_result_t px_judge(const px_xfer_t *x, px_outcome_t o)
{
    switch (o.end) {
    case GW_PROXY_OK:
        return x->status == 502 || x->status == 503 || x->status == 504 ? GW_BAL_FAIL : GW_BAL_OK;
    case GW_PROXY_ABORTED:
        return GW_BAL_NEUTRAL;
    default:
        return GW_BAL_FAIL;
    }
}

void px_peer_done(px_xfer_t *x, px_outcome_t o)
{
    if (!x->counted) return;
    gw_proxy_t *px = x->px;
    int i = x->peer->idx;
    gw_bal_result_t res = px_judge(x, o);
    x->counted = 0;
    int ejected = gw_bal_done(&px->bal, i, res, gw_mono_us());
    gw_wstats_t *st = px->loop->stats;
    if (st) {
        gw_peer_stats_t *ps = &st->peer[i];
        if (res != GW_BAL_NEUTRAL) gw_hist_observe(&ps->duration, gw_mono_us() - x->start_us);
        if (res == GW_BAL_FAIL) gw_stat_inc(&ps->errors);
        if (ejected) gw_stat_inc(&ps->ejections);
    }
    if (ejected) {
        gw_log_warn("upstream peer %s ejected for %llu ms after %u failures in a row (last: %s)",
                    x->peer->target->url,
                    (unsigned long long)((px->bal.peer[i].out_until_us - gw_mono_us()) / 1000),
                    px->bal.conf.consecutive_failures, o.detail ? o.detail : "bad status");
        px_peer_gauge(px, i);
    }
}

static int px_is_read(const gw_req_t *r)
{
    return r->route.cls == GW_ROUTE_QDRANT_READ || r->route.cls == GW_ROUTE_QDRANT_READ_VOLATILE ||
           strcmp(r->method, "GET") == 0 || r->is_head;
}

static int px_may_move(px_xfer_t *x, px_outcome_t o)
{
    gw_proxy_t *px = x->px;
    gw_req_t *r = x->req;
    const gw_config_t *cfg = px->loop->cfg;
    if (px->npeers < 2 || x->moved || !r || !r->codec || r->head_sent || x->head_forwarded ||
        x->swallowed || !x->engine->restart || !x->whole)
        return 0;
    if (o.end == GW_PROXY_ABORTED || o.end == GW_PROXY_OK) return 0;
    /* A read may be asked twice; a write only when it never left (its connect failed). */
    if (!px_is_read(r) && o.end != GW_PROXY_UNREACHABLE) return 0;
    if (r->route.flags & GW_ROUTE_F_STREAM) return 0;
    uint64_t spent = (gw_mono_us() - x->start_us) / 1000;
    if (spent + 1 >= cfg->upstream_timeout_ms) return 0; /* the request's deadline */
    px_peer_t *from = x->peer, *to = px_pick(px, x->tried);
    if (!to) return 0;
    px_peer_done(x, o);
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->peer[from->idx].retries);
    gw_log_debug("upstream peer %s failed %s %.*s (id %s) before answering (%s): trying %s",
                 from->target->url, r->method, (int)r->target_len, r->target, r->id,
                 o.detail ? o.detail : "?", to->target->url);
    x->moved = 1;
    px_peer_begin(x, to);
    return 1;
}

/* ---- the upstream's address ------------------------------------------------------------- */

static void px_no_addr(px_xfer_t *x)
{
    const char *why = gw_dns_name_error(x->peer->name);
    snprintf(x->errbuf, sizeof(x->errbuf), "upstream host %s does not resolve: %s",
             gw_dns_name_host(x->peer->name), why[0] ? why : "no address");
}

int px_addr_wait(px_xfer_t *x, px_resume_fn resume)
{
    px_peer_t *px = x->peer;
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

void px_addr_failed(px_peer_t *peer)
{
    gw_dns_name_failed(peer->name);
}

/* A resolution of a peer's name ended: a move closes idle connections, and what waited for a
 * first address goes on (or fails, when there still is none). */
static void px_on_name(void *arg, int changed)
{
    px_peer_t *px = arg;
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

static void px_restart_resume(px_xfer_t *x, const char *err)
{
    if (err)
        px_complete(x, (px_outcome_t){GW_PROXY_UNREACHABLE, GW_UPERR_REFUSED, err});
    else
        x->engine->restart(x);
}

int px_try_move(px_xfer_t *x, px_outcome_t o)
{
    if (!px_may_move(x, o)) return 0;
    if (px_addr_wait(x, px_restart_resume) == 0) x->engine->restart(x);
    return 1;
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
    px_peer_begin(x, px_pick(px, 0));
    x->engine = x->peer->h1 ? &pxh_engine : &pxc_engine;
    if (px_addr_wait(x, px_forward_resume) == 0) x->engine->forward(x, r);
}

int gw_proxy_fetch(gw_proxy_t *px, const char *path, uint64_t timeout_ms, gw_fetch_cb cb, void *arg)
{
    gw_fetch_req_t q = {.path = path, .timeout_ms = timeout_ms};
    return gw_proxy_fetch_req(px, &q, cb, arg);
}

int px_fetch_on(gw_proxy_t *px, int peer, const gw_fetch_req_t *q, gw_fetch_cb cb, void *arg)
{
    px_xfer_t *x = px_xfer_get(px);
    if (!x) return -1;
    x->cb = cb;
    x->cb_arg = arg;
    x->active = 1;
    x->engine = &pxc_engine; /* internal fetches and absolute URLs: libcurl */
    /* Any peer that takes traffic (the balancer's pick); not counted: its own requests only. */
    x->peer = peer >= 0 ? &px->peer[peer] : px_pick(px, 0);
    x->pinned = peer >= 0;
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->upstream_active);
    if (pxc_fetch(x, q) != 0) {
        px_xfer_put(x);
        return -1;
    }
    return 0;
}

int gw_proxy_fetch_req(gw_proxy_t *px, const gw_fetch_req_t *q, gw_fetch_cb cb, void *arg)
{
    return px_fetch_on(px, -1, q, cb, arg);
}

static int px_peer_init(gw_proxy_t *px, int i, char *err, size_t errlen)
{
    gw_loop_t *loop = px->loop;
    px_peer_t *p = &px->peer[i];
    const gw_upstream_target_t *t = &px->targets->t[i];
    p->px = px;
    p->idx = i;
    p->target = t;
    snprintf(p->base_url, sizeof(p->base_url), "%s", t->url);
    p->name =
        gw_dns_name_new(loop->dns, "upstream", t->host, t->port,
                        loop->stats ? loop->stats->dns[GW_DNS_PEER_UPSTREAM] : NULL, px_on_name, p);
    p->dns_kick = event_new(loop->base, -1, 0, px_on_kick, p);
    if (!p->name || !p->dns_kick) {
        snprintf(err, errlen, "out of memory creating the upstream pool");
        return -1;
    }
    px_peer_gauge(px, i);
    return pxh_init(p, err, errlen);
}

static void px_outlier_conf(const gw_config_t *cfg, int npeers, gw_outlier_conf_t *oc)
{
    oc->consecutive_failures = (unsigned)cfg->upstream_outlier_consecutive_failures;
    oc->base_ejection_us = cfg->upstream_outlier_base_ejection_ms * 1000;
    oc->max_ejection_us = cfg->upstream_outlier_max_ejection_ms * 1000;
    oc->max_ejected_percent = (unsigned)cfg->upstream_outlier_max_ejected_percent;
    oc->probing = npeers > 1 && cfg->upstream_health_interval_ms > 0;
}

gw_proxy_t *gw_proxy_new(gw_loop_t *loop, const gw_upstream_targets_t *targets, char *err,
                         size_t errlen)
{
    gw_proxy_t *px = calloc(1, sizeof(*px));
    if (!px) {
        snprintf(err, errlen, "out of memory creating the upstream pool");
        return NULL;
    }
    px->loop = loop;
    px->targets = targets;
    px->npeers = targets->n < GW_PEERS_MAX ? targets->n : GW_PEERS_MAX;
    gw_outlier_conf_t oc;
    px_outlier_conf(loop->cfg, px->npeers, &oc);
    gw_bal_init(&px->bal, px->npeers, &oc, gw_mono_us() ^ ((uint64_t)(loop->id + 1) << 40));
    if (pxc_init(px, err, errlen) != 0) goto fail;
    for (int i = 0; i < px->npeers; i++)
        if (px_peer_init(px, i, err, errlen) != 0) goto fail;
    if (oc.probing && !(px->probe = px_probe_new(px))) {
        snprintf(err, errlen, "out of memory creating the upstream probes");
        goto fail;
    }
    return px;
fail:
    gw_proxy_free(px);
    return NULL;
}

void gw_proxy_upstream_addr(const gw_proxy_t *px, char *buf, size_t len, const char **error)
{
    gw_proxy_peer_addr(px, 0, buf, len, error);
}

int gw_proxy_peer_count(const gw_proxy_t *px)
{
    return px->npeers;
}

const char *gw_proxy_peer_url(const gw_proxy_t *px, int i)
{
    return px->peer[i].target->url;
}

void gw_proxy_peer_addr(const gw_proxy_t *px, int i, char *buf, size_t len, const char **error)
{
    gw_dns_name_describe(px->peer[i].name, buf, len);
    if (error) *error = gw_dns_name_error(px->peer[i].name);
}

void gw_proxy_peer_view(gw_proxy_t *px, int i, gw_proxy_peer_view_t *v)
{
    uint64_t now = gw_mono_us();
    const gw_peer_t *p = &px->bal.peer[i];
    gw_bal_available(&px->bal, i, now);
    v->url = px->peer[i].target->url;
    v->state = gw_peer_state_name(p->state);
    v->outstanding = p->outstanding;
    v->failures = p->failures;
    v->ejections = p->ejections;
    v->ejected_ms_left =
        p->state == GW_PEER_EJECTED && p->out_until_us > now ? (p->out_until_us - now) / 1000 : 0;
}

void gw_proxy_free(gw_proxy_t *px)
{
    if (!px) return;
    for (px_xfer_t *x = px->all; x; x = x->next_all)
        if (x->active) px_detach(x);
    px_probe_free(px->probe); /* its fetches under way were detached above */
    px->probe = NULL;
    pxh_engine.free(px);
    pxc_engine.free(px);
    for (int i = 0; i < px->npeers; i++) {
        gw_dns_name_free(px->peer[i].name);
        if (px->peer[i].dns_kick) event_free(px->peer[i].dns_kick);
    }
    while (px->all) {
        px_xfer_t *x = px->all;
        px->all = x->next_all;
        px_xfer_destroy(x);
    }
    free(px);
}

/* For probe.c: the balancer heard a probe of peer i. */
void px_peer_probed(gw_proxy_t *px, int i, int ok, const char *why)
{
    gw_wstats_t *st = px->loop->stats;
    if (st) gw_stat_inc(&st->peer[i].probes[ok ? 1 : 0]);
    gw_peer_state_t was = px->bal.peer[i].state;
    if (!gw_bal_probe(&px->bal, i, ok, gw_mono_us())) return;
    px_peer_gauge(px, i);
    if (ok)
        gw_log_info("upstream peer %s is back (its probe passed; it was %s)",
                    px->peer[i].target->url, gw_peer_state_name(was));
    else
        gw_log_warn("upstream peer %s is down: GET /readyz %s", px->peer[i].target->url,
                    why ? why : "failed");
}
