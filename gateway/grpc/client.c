/* The gRPC client pool: one small pool per peer, the peer of each call picked by the worker's
 * gRPC balancer (gateway/upstream/peers.h), a read refused before any answer retried once on
 * another peer; in a peer's pool calls placed on the first connection with room (or a new one,
 * up to the bound; or queued on a connecting one). Connections are client_conn.c's. See
 * client.h. */
#include "gateway/grpc/client.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/grpc_frame.h"
#include "common/log.h"
#include "gateway/grpc/client_int.h"
#include "gateway/http/grpc_route.h"

static void call_free(gw_grpc_call_t *c)
{
    if (c->body) evbuffer_free(c->body);
    free(c->nva);
    free(c->path);
    free(c->fbuf);
    free(c);
}

/* The balancer hears how the call went on its peer: transport failures (cannot connect,
 * connection lost, refused or reset stream) and the peer's own UNAVAILABLE count against it. */
static void call_settle(gw_grpc_call_t *c, int code)
{
    if (!c->counted) return;
    c->counted = 0;
    gw_bal_result_t res = GW_BAL_NEUTRAL;
    if (code < 0)
        res = c->unavailable ? GW_BAL_FAIL : GW_BAL_OK;
    else if (c->arg && !c->too_big && (code == GW_GRPC_UNAVAILABLE || code == GW_GRPC_INTERNAL))
        res = GW_BAL_FAIL;
    gw_grpc_pool_t *p = c->pool;
    if (gw_bal_done(&p->bal, c->peer->idx, res, gw_mono_us()))
        gw_log_warn("upstream gRPC peer %s ejected after %u failures in a row", c->peer->authority,
                    p->bal.conf.consecutive_failures);
}

static void gc_peer_wake(gpeer_t *pe);

/* A read that failed before any answer goes once to another peer (as REST reads do); 1 when
 * it was queued there. The failure counts against the first peer. */
static int call_retry(gw_grpc_call_t *c, int code, const char *err)
{
    gw_grpc_pool_t *p = c->pool;
    if (!c->arg || code != GW_GRPC_UNAVAILABLE || !c->retryable || c->retried || c->heard ||
        p->npeers < 2)
        return 0;
    gpeer_t *first = c->peer;
    call_settle(c, code);
    int i = gw_bal_pick(&p->bal, gw_mono_us(), 1u << first->idx);
    if (i < 0) return 0;
    gw_log_debug("%s: trying %s", err ? err : "upstream gRPC call failed", p->peer[i].authority);
    c->retried = 1;
    c->conn = NULL;
    c->id = 0;
    c->body_off = 0;
    c->nf = c->flen = 0;
    c->status = 0;
    c->got_head = c->complete = c->too_big = c->unavailable = 0;
    c->peer = &p->peer[i];
    gw_bal_start(&p->bal, i);
    c->counted = 1;
    list_add(&c->peer->waiting, c);
    gc_peer_wake(c->peer);
    return 1;
}

/* Reports the end (unless cancelled) and frees the call, or sends a read elsewhere; it must be
 * unlinked already. */
void gcall_close(gw_grpc_call_t *c, int code, const char *err)
{
    if (call_retry(c, code, err)) return;
    call_settle(c, code);
    if (c->arg) c->ops->on_close(c->arg, code, err);
    call_free(c);
}

/* A connection with room, a new one when none has and the pool may grow, else the least busy. */
static gconn_t *gc_pick(gpeer_t *p, char *err, size_t errlen)
{
    gconn_t *best = NULL;
    for (gconn_t *k = p->conns; k; k = k->next) {
        if (k->dead || k->goaway) continue;
        uint32_t limit = GW_GRPC_CONN_STREAMS;
        if (k->ng) {
            uint32_t peer =
                nghttp2_session_get_remote_settings(k->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
            if (peer < limit) limit = peer;
        }
        if (k->ncalls < limit) return k;
        if (!best || k->ncalls < best->ncalls) best = k;
    }
    if (p->nconns < GW_GRPC_POOL_CONNS || !best) {
        gconn_t *k = gconn_new(p, err, errlen);
        if (k || !best) return k;
    }
    return best; /* nghttp2 queues the stream until one of this connection's slots frees */
}

static int gc_build_fields(gw_grpc_call_t *c, const char *authority, const gw_hdr_t *h, size_t n)
{
    static const char *const fixed[][2] = {{":method", "POST"}, {":scheme", "http"}};
    size_t bytes = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        bytes += h[i].name_len + h[i].value_len;
    size_t plen = strlen(c->path), alen = strlen(authority);
    c->nva = malloc((n + 4) * sizeof(nghttp2_nv) + bytes);
    if (!c->nva) return -1;
    char *b = (char *)(c->nva + n + 4);
    for (size_t i = 0; i < 2; i++)
        c->nva[k++] = (nghttp2_nv){(uint8_t *)fixed[i][0], (uint8_t *)fixed[i][1],
                                   strlen(fixed[i][0]), strlen(fixed[i][1]),
                                   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    c->nva[k++] =
        (nghttp2_nv){(uint8_t *)":path", (uint8_t *)c->path, 5, plen, NGHTTP2_NV_FLAG_NONE};
    c->nva[k++] =
        (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)authority, 10, alen, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < n; i++) {
        uint8_t *name = (uint8_t *)b;
        for (size_t j = 0; j < h[i].name_len; j++) {
            char ch = h[i].name[j];
            *b++ = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        memcpy(b, h[i].value, h[i].value_len);
        c->nva[k++] =
            (nghttp2_nv){name, (uint8_t *)b, h[i].name_len, h[i].value_len, NGHTTP2_NV_FLAG_NONE};
        b += h[i].value_len;
    }
    c->nnv = k;
    return 0;
}

static void gc_place(gw_grpc_call_t *c)
{
    gpeer_t *p = c->peer;
    char err[640];
    c->nva[3].value = (uint8_t *)p->authority; /* this peer's (a retry's differs) */
    c->nva[3].valuelen = strlen(p->authority);
    gconn_t *k = gc_pick(p, err, sizeof(err));
    if (!k) {
        gcall_close(c, GW_GRPC_UNAVAILABLE, err);
        return;
    }
    c->conn = k;
    list_add(&k->calls, c);
    k->ncalls++;
    if (!k->connected) return; /* submitted once connected */
    if (gconn_submit(k, c) != 0) {
        list_del(c);
        k->ncalls--;
        gcall_close(c, GW_GRPC_INTERNAL, "cannot submit the upstream gRPC request");
        return;
    }
    gconn_kick(k);
}

/* Calls are placed from the loop, never inside gw_grpc_call_start: a failure then reports
 * through on_close without re-entering the caller. */
static void gc_peer_wake(gpeer_t *pe)
{
    event_active(pe->place_ev, EV_TIMEOUT, 0);
}

gw_grpc_call_t *gw_grpc_call_start(gw_grpc_pool_t *p, const char *path, const gw_hdr_t *h, size_t n,
                                   struct evbuffer *body, const gw_grpc_call_ops_t *ops, void *arg)
{
    gw_grpc_call_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->pool = p;
    c->ops = ops;
    c->arg = arg;
    c->next = c->prev = c;
    gw_route_t rt;
    if (p->npeers > 1 && gw_grpc_route(path, strlen(path), &rt) &&
        (rt.cls == GW_ROUTE_QDRANT_READ || rt.cls == GW_ROUTE_QDRANT_READ_VOLATILE))
        c->retryable = 1;
    int i = gw_bal_pick(&p->bal, gw_mono_us(), 0);
    c->peer = &p->peer[i < 0 ? 0 : i];
    c->path = strdup(path);
    c->body = evbuffer_new();
    if (!c->path || !c->body || gc_build_fields(c, c->peer->authority, h, n) != 0 ||
        evbuffer_add_buffer(c->body, body) != 0) {
        call_free(c);
        return NULL;
    }
    gw_bal_start(&p->bal, c->peer->idx);
    c->counted = 1;
    list_add(&c->peer->waiting, c);
    gc_peer_wake(c->peer);
    return c;
}

/* Places every waiting call that has an address to go to; the rest wait for the resolver. */
static void gc_place_waiting(gpeer_t *p)
{
    int have = gw_dns_name_is_literal(p->name) || gw_dns_name_count(p->name) > 0;
    if (!have && gw_dns_name_busy(p->name)) return;
    while (p->waiting.next != &p->waiting) {
        gw_grpc_call_t *c = p->waiting.next;
        list_del(c);
        gc_place(c);
    }
}

static void gc_on_place(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gc_place_waiting(arg);
}

static void gc_on_name(void *arg, int changed)
{
    (void)changed;
    gc_place_waiting(arg);
}

void gw_grpc_call_consume(gw_grpc_call_t *c, size_t n)
{
    gconn_t *k = c->conn;
    if (!k || !c->id || !n) return;
    nghttp2_session_consume(k->ng, c->id, n);
    gconn_kick(k);
}

void gw_grpc_call_cancel(gw_grpc_call_t *c)
{
    c->arg = NULL;
    gconn_t *k = c->conn;
    if (!k || !c->id) { /* still waiting for an address, or for the connection */
        list_del(c);
        if (k) k->ncalls--;
        call_settle(c, GW_GRPC_CANCELLED);
        call_free(c);
        return;
    }
    /* The stream closes (and the call is freed) when nghttp2 has sent the reset. */
    nghttp2_submit_rst_stream(k->ng, NGHTTP2_FLAG_NONE, c->id, NGHTTP2_CANCEL);
    gconn_kick(k);
}

/* ---- the pool ----------------------------------------------------------------------------- */

static int gc_peer_init(gw_grpc_pool_t *p, int i, const char *url, char *err, size_t errlen)
{
    gpeer_t *pe = &p->peer[i];
    pe->pool = p;
    pe->idx = i;
    list_init(&pe->waiting);
    if (gw_upstream_parse(url, &pe->target) != 0 || pe->target.https) {
        snprintf(err, errlen, "upstream gRPC URL %s: must be http://host[:port]", url);
        return -1;
    }
    if (!strchr(url + 7, ':') ||
        (pe->target.host[0] && strchr(pe->target.host, ':') && !strstr(url, "]:")))
        pe->target.port = 6334; /* no port written: gRPC's, not http's 80 */
    int v6 = strchr(pe->target.host, ':') != NULL;
    /* Formatted aside: host and authority are both in *p, which gcc -O0 -Wrestrict takes for
     * an overlap. */
    char auth[sizeof(pe->authority)];
    snprintf(auth, sizeof(auth), "%s%s%s:%d", v6 ? "[" : "", pe->target.host, v6 ? "]" : "",
             pe->target.port);
    memcpy(pe->authority, auth, sizeof(auth));
    pe->name = gw_dns_name_new(p->loop->dns, "upstream-grpc", pe->target.host, pe->target.port,
                               NULL, gc_on_name, pe);
    pe->place_ev = event_new(p->loop->base, -1, 0, gc_on_place, pe);
    if (!pe->name || !pe->place_ev) {
        snprintf(err, errlen, "out of memory creating the gRPC pool");
        return -1;
    }
    return 0;
}

gw_grpc_pool_t *gw_grpc_pool_new(gw_loop_t *l, const char *const *urls, int n, char *err,
                                 size_t errlen)
{
    if (n < 1 || n > GW_PEERS_MAX) {
        snprintf(err, errlen, "the gRPC pool needs 1 to %d peers, not %d", GW_PEERS_MAX, n);
        return NULL;
    }
    gw_grpc_pool_t *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory creating the gRPC pool");
        return NULL;
    }
    p->loop = l;
    const gw_config_t *cfg = l->cfg;
    gw_outlier_conf_t oc = {
        .consecutive_failures = (unsigned)cfg->upstream_outlier_consecutive_failures,
        .base_ejection_us = cfg->upstream_outlier_base_ejection_ms * 1000,
        .max_ejection_us = cfg->upstream_outlier_max_ejection_ms * 1000,
        .max_ejected_percent = (unsigned)cfg->upstream_outlier_max_ejected_percent,
        .probing = 0, /* no gRPC probes: an ejection ends when its time has passed */
    };
    gw_bal_init(&p->bal, n, &oc, gw_mono_us() ^ ((uint64_t)(l->id + 1) << 44) ^ 0x9e3779b9u);
    for (int i = 0; i < n; i++) {
        p->npeers = i + 1; /* what gw_grpc_pool_free undoes */
        if (gc_peer_init(p, i, urls[i], err, errlen) != 0) {
            gw_grpc_pool_free(p);
            return NULL;
        }
    }
    return p;
}

const char *gw_grpc_pool_authority(const gw_grpc_pool_t *p)
{
    return p->peer[0].authority;
}

int gw_grpc_pool_peer_count(const gw_grpc_pool_t *p)
{
    return p->npeers;
}

static void gc_peer_free(gpeer_t *pe)
{
    while (pe->waiting.next && pe->waiting.next != &pe->waiting) {
        gw_grpc_call_t *c = pe->waiting.next;
        list_del(c);
        call_free(c);
    }
    while (pe->conns) {
        gconn_t *k = pe->conns;
        for (gw_grpc_call_t *c = k->calls.next; c != &k->calls; c = c->next) {
            c->arg = NULL; /* dropped without callbacks, nor retries */
            c->counted = 0;
        }
        gconn_free(k, GW_GRPC_UNAVAILABLE, "shutting down");
    }
    if (pe->name) gw_dns_name_free(pe->name);
    if (pe->place_ev) event_free(pe->place_ev);
}

void gw_grpc_pool_free(gw_grpc_pool_t *p)
{
    if (!p) return;
    for (int i = 0; i < p->npeers; i++)
        gc_peer_free(&p->peer[i]);
    free(p);
}
