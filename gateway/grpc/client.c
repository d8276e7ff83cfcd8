/* The gRPC client pool: one small pool per peer, the peer of each call picked by the worker's
 * gRPC balancer (gateway/upstream/peers.h); in a peer's pool nghttp2 client sessions on
 * bufferevent sockets, calls placed on the first connection with room (or a new one, up to the
 * bound; or queued on a connecting one), response windows credited only as the caller
 * consumes. See client.h. */
#include "gateway/grpc/client.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/grpc_frame.h"
#include "common/clock.h"
#include "common/log.h"
#include "gateway/core/dns.h"
#include "gateway/http/grpc_route.h"
#include "gateway/upstream/peers.h"
#include "gateway/upstream/resolve.h"

#define GC_OUT_HIGH (256u << 10) /* socket output buffered before nghttp2 is told to wait */

typedef struct gconn gconn_t;
typedef struct gpeer gpeer_t;

struct gw_grpc_call {
    gw_grpc_call_t *prev, *next; /* the connection's (or the peer's waiting) list */
    gw_grpc_pool_t *pool;
    gpeer_t *peer; /* where it goes (counted by the balancer while `counted`) */
    gconn_t *conn; /* NULL while waiting for an address */
    int32_t id;    /* 0 until submitted */
    const gw_grpc_call_ops_t *ops;
    void *arg; /* NULL once cancelled */
    char *path;
    nghttp2_nv *nva; /* request fields, one block with their bytes */
    size_t nnv;
    struct evbuffer *body;
    size_t body_off; /* bytes of body sent (a retryable call keeps them for another peer) */
    /* Response fields as they arrive: bytes in fbuf, views rebuilt at delivery. */
    char *fbuf;
    size_t flen, fcap;
    uint32_t foff[GW_GRPC_MAX_FIELDS][4];
    size_t nf;
    int status;
    unsigned got_head : 1, complete : 1, too_big : 1;
    unsigned retryable : 1; /* a read: may go to another peer if this one never answered */
    unsigned retried : 1, heard : 1, counted : 1;
    unsigned unavailable : 1; /* the peer's own grpc-status was UNAVAILABLE */
};

struct gconn {
    gconn_t *next;
    gpeer_t *peer;
    struct bufferevent *bev;
    nghttp2_session *ng;
    struct event *kick_ev;
    gw_grpc_call_t calls; /* list head: submitted or waiting for the connect */
    size_t ncalls;
    unsigned connected : 1, dead : 1, goaway : 1, in_io : 1;
};

/* One peer's gRPC port: its connections and the calls waiting for its address. */
struct gpeer {
    gw_grpc_pool_t *pool;
    int idx;
    gw_upstream_target_t target;
    char authority[300];
    gw_dns_name_t *name;
    gconn_t *conns;
    size_t nconns;
    gw_grpc_call_t waiting; /* list head: not placed yet */
    struct event *place_ev; /* places the waiting calls, from the loop */
};

/* Its own balancer, not the REST proxy's: a peer's gRPC port fails apart from its REST port,
 * and the REST probes (GET /readyz) say nothing about it. */
struct gw_grpc_pool {
    gw_loop_t *loop;
    int npeers;
    gw_balancer_t bal;
    gpeer_t peer[GW_PEERS_MAX];
};

static void list_init(gw_grpc_call_t *h)
{
    h->next = h->prev = h;
}

static void list_add(gw_grpc_call_t *h, gw_grpc_call_t *c)
{
    c->next = h;
    c->prev = h->prev;
    h->prev->next = c;
    h->prev = c;
}

static void list_del(gw_grpc_call_t *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = c;
}

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
static void call_close(gw_grpc_call_t *c, int code, const char *err)
{
    if (call_retry(c, code, err)) return;
    call_settle(c, code);
    if (c->arg) c->ops->on_close(c->arg, code, err);
    call_free(c);
}

/* ---- response fields ---------------------------------------------------------------------- */

static int call_field(gw_grpc_call_t *c, const uint8_t *name, size_t nl, const uint8_t *v,
                      size_t vl)
{
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        c->status = 0;
        for (size_t i = 0; i < vl && i < 3; i++)
            c->status = c->status * 10 + (v[i] - '0');
        return 0;
    }
    if (nl > 0 && name[0] == ':') return 0;
    if (nl == 11 && memcmp(name, "grpc-status", 11) == 0 && vl == 2 && memcmp(v, "14", 2) == 0)
        c->unavailable = 1;
    if (c->nf == GW_GRPC_MAX_FIELDS || c->flen + nl + vl > GW_GRPC_MAX_HEAD) {
        c->too_big = 1;
        return 0;
    }
    if (c->flen + nl + vl > c->fcap) {
        size_t cap = c->fcap ? c->fcap * 2 : 1024;
        while (cap < c->flen + nl + vl)
            cap *= 2;
        char *b = realloc(c->fbuf, cap);
        if (!b) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        c->fbuf = b;
        c->fcap = cap;
    }
    uint32_t *o = c->foff[c->nf++];
    o[0] = (uint32_t)c->flen;
    o[1] = (uint32_t)nl;
    memcpy(c->fbuf + c->flen, name, nl);
    c->flen += nl;
    o[2] = (uint32_t)c->flen;
    o[3] = (uint32_t)vl;
    memcpy(c->fbuf + c->flen, v, vl);
    c->flen += vl;
    return 0;
}

/* Hands the collected fields to the owner, then forgets them (trailers come next). */
static void call_deliver(gw_grpc_call_t *c, int trailers, int end)
{
    gw_hdr_t h[GW_GRPC_MAX_FIELDS];
    for (size_t i = 0; i < c->nf; i++)
        h[i] = (gw_hdr_t){c->fbuf + c->foff[i][0], c->foff[i][1], c->fbuf + c->foff[i][2],
                          c->foff[i][3]};
    size_t n = c->nf;
    c->nf = 0;
    c->flen = 0;
    if (!c->arg) return;
    if (trailers)
        c->ops->on_trailers(c->arg, h, n);
    else
        c->ops->on_head(c->arg, c->status, h, n, end);
}

/* ---- nghttp2 callbacks -------------------------------------------------------------------- */

static ssize_t gc_on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                          void *user_data)
{
    gconn_t *k = user_data;
    (void)ng, (void)flags;
    if (evbuffer_get_length(bufferevent_get_output(k->bev)) >= GC_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (bufferevent_write(k->bev, data, len) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

static int gc_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                        size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user_data)
{
    (void)flags, (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    gw_grpc_call_t *c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!c) return 0;
    c->heard = 1;
    return call_field(c, name, nl, value, vl);
}

static int gc_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    gconn_t *k = user_data;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        k->goaway = 1; /* no new calls here; nghttp2 closes the streams it will not answer */
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    gw_grpc_call_t *c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!c) return 0;
    int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (c->too_big) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, c->id, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        if (c->status >= 100 && c->status < 200) { /* informational: wait for the final head */
            c->nf = c->flen = 0;
            return 0;
        }
        c->got_head = 1;
        if (end) c->complete = 1;
        call_deliver(c, 0, end);
    } else if (c->got_head && end) {
        c->complete = 1;
        call_deliver(c, 1, 1);
    }
    return 0;
}

static int gc_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                      size_t len, void *user_data)
{
    (void)flags, (void)user_data;
    gw_grpc_call_t *c = nghttp2_session_get_stream_user_data(ng, id);
    if (!c || !c->arg) {
        nghttp2_session_consume(ng, id, len);
        return 0;
    }
    c->heard = 1;
    c->ops->on_data(c->arg, data, len);
    return 0;
}

/* RST_STREAM codes as gRPC statuses (grpc/grpc doc/PROTOCOL-HTTP2.md, "Errors"). */
static int gc_rst_status(uint32_t code)
{
    switch (code) {
    case NGHTTP2_REFUSED_STREAM:
        return GW_GRPC_UNAVAILABLE;
    case NGHTTP2_CANCEL:
        return GW_GRPC_CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
        return GW_GRPC_RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY:
        return GW_GRPC_PERMISSION_DENIED;
    default:
        return GW_GRPC_INTERNAL;
    }
}

static int gc_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user_data)
{
    gconn_t *k = user_data;
    gw_grpc_call_t *c = nghttp2_session_get_stream_user_data(ng, id);
    if (!c) return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    list_del(c);
    k->ncalls--;
    if (c->complete) {
        call_close(c, -1, NULL);
        return 0;
    }
    char err[640];
    if (c->too_big)
        snprintf(err, sizeof(err), "upstream gRPC %s: response header fields over %u bytes",
                 k->peer->authority, GW_GRPC_MAX_HEAD);
    else
        snprintf(err, sizeof(err), "upstream gRPC %s closed the stream (%s)", k->peer->authority,
                 nghttp2_http2_strerror(code));
    call_close(c, c->too_big ? GW_GRPC_INTERNAL : gc_rst_status(code), err);
    return 0;
}

static nghttp2_session_callbacks *gc_cbs;

static void gc_cbs_init(void)
{
    if (nghttp2_session_callbacks_new(&gc_cbs) != 0) return;
    nghttp2_session_callbacks_set_send_callback(gc_cbs, gc_on_send);
    nghttp2_session_callbacks_set_on_header_callback(gc_cbs, gc_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(gc_cbs, gc_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(gc_cbs, gc_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(gc_cbs, gc_on_stream_close);
}

static const nghttp2_session_callbacks *gc_callbacks(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gc_cbs_init);
    return gc_cbs;
}

/* ---- connections -------------------------------------------------------------------------- */

static void gc_conn_free(gconn_t *k, int code, const char *err)
{
    gpeer_t *p = k->peer;
    for (gconn_t **pp = &p->conns; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            p->nconns--;
            break;
        }
    k->dead = 1;
    while (k->calls.next != &k->calls) {
        gw_grpc_call_t *c = k->calls.next;
        list_del(c);
        if (c->id && k->ng) nghttp2_session_set_stream_user_data(k->ng, c->id, NULL);
        if (c->complete)
            call_close(c, -1, NULL);
        else
            call_close(c, code, err);
    }
    if (k->ng) nghttp2_session_del(k->ng);
    if (k->kick_ev) event_free(k->kick_ev);
    if (k->bev) bufferevent_free(k->bev);
    free(k);
}

/* One I/O round: input fed, frames written; a dead session frees the connection. */
static void gc_io(gconn_t *k)
{
    if (!k->connected || k->in_io) return;
    k->in_io = 1;
    struct evbuffer *in = bufferevent_get_input(k->bev);
    size_t len = evbuffer_get_length(in);
    int rv = 0;
    if (len) {
        ssize_t n = nghttp2_session_mem_recv(k->ng, evbuffer_pullup(in, (ev_ssize_t)len), len);
        if (n < 0)
            rv = (int)n;
        else
            evbuffer_drain(in, (size_t)n);
    }
    if (rv == 0) rv = nghttp2_session_send(k->ng);
    k->in_io = 0;
    if (rv != 0 || (!nghttp2_session_want_read(k->ng) && !nghttp2_session_want_write(k->ng) &&
                    k->ncalls == 0)) {
        char err[640];
        snprintf(err, sizeof(err), "upstream gRPC %s: %s", k->peer->authority,
                 rv ? nghttp2_strerror(rv) : "connection closed");
        gc_conn_free(k, GW_GRPC_UNAVAILABLE, err);
    }
}

static void gc_on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gc_io(arg);
}

static void gc_kick(gconn_t *k)
{
    if (k->connected) event_active(k->kick_ev, EV_WRITE, 0);
}

static int gc_submit(gconn_t *k, gw_grpc_call_t *c);

static void gc_on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    gc_io(arg);
}

static void gc_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    gc_io(arg);
}

static int gc_session_new(gconn_t *k)
{
    nghttp2_option *opt = NULL;
    const nghttp2_session_callbacks *cbs = gc_callbacks();
    if (!cbs || nghttp2_option_new(&opt) != 0) return -1;
    nghttp2_option_set_no_auto_window_update(opt, 1); /* credit as the client drains */
    nghttp2_option_set_peer_max_concurrent_streams(opt, GW_GRPC_CONN_STREAMS);
    int rv = nghttp2_session_client_new2(&k->ng, cbs, k, opt);
    nghttp2_option_del(opt);
    if (rv != 0) return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GW_GRPC_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, GW_GRPC_MAX_HEAD},
    };
    if (nghttp2_submit_settings(k->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(k->ng, NGHTTP2_FLAG_NONE, 0, GW_GRPC_CONN_WINDOW))
        return -1;
    return 0;
}

static void gc_on_event(struct bufferevent *bev, short what, void *arg)
{
    gconn_t *k = arg;
    (void)bev;
    if ((what & BEV_EVENT_CONNECTED) && !k->connected) {
        bufferevent_set_timeouts(k->bev, NULL, NULL);
        if (gc_session_new(k) != 0) {
            gc_conn_free(k, GW_GRPC_UNAVAILABLE, "out of memory for an upstream gRPC session");
            return;
        }
        k->connected = 1;
        /* The calls that waited for the connection go out with the preface. */
        gw_grpc_call_t *c = k->calls.next;
        while (c != &k->calls) {
            gw_grpc_call_t *next = c->next;
            if (gc_submit(k, c) != 0) {
                list_del(c);
                k->ncalls--;
                call_close(c, GW_GRPC_INTERNAL, "cannot submit the upstream gRPC request");
            }
            c = next;
        }
        gc_io(k);
        return;
    }
    char err[640];
    int e = EVUTIL_SOCKET_ERROR();
    if (!k->connected)
        snprintf(err, sizeof(err), "upstream gRPC %s: cannot connect: %s", k->peer->authority,
                 (what & BEV_EVENT_TIMEOUT) ? "connect timeout (upstream.connect_timeout)"
                 : e                        ? evutil_socket_error_to_string(e)
                                            : "connection closed");
    else
        snprintf(err, sizeof(err), "upstream gRPC %s: connection lost%s%s", k->peer->authority,
                 e ? ": " : "", e ? evutil_socket_error_to_string(e) : "");
    if (!k->connected && k->peer->name) gw_dns_name_failed(k->peer->name);
    gc_conn_free(k, GW_GRPC_UNAVAILABLE, err);
}

static gconn_t *gc_conn_new(gpeer_t *p, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (gw_dns_name_pick(p->name, &ss, &sl) != 0) {
        const char *why = gw_dns_name_error(p->name);
        snprintf(err, errlen, "upstream gRPC host %s does not resolve: %s", p->target.host,
                 why[0] ? why : "no address");
        return NULL;
    }
    gconn_t *k = calloc(1, sizeof(*k));
    if (!k) goto oom;
    k->peer = p;
    list_init(&k->calls);
    gw_loop_t *l = p->pool->loop;
    k->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
    k->kick_ev = event_new(l->base, -1, 0, gc_on_kick, k);
    if (!k->bev || !k->kick_ev) goto oom;
    bufferevent_setcb(k->bev, gc_on_read, gc_on_write, gc_on_event, k);
    struct timeval tv = {(time_t)(l->cfg->upstream_connect_timeout_ms / 1000),
                         (suseconds_t)(l->cfg->upstream_connect_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(k->bev, NULL, &tv);
    bufferevent_setwatermark(k->bev, EV_WRITE, GC_OUT_HIGH / 4, 0);
    bufferevent_enable(k->bev, EV_READ | EV_WRITE);
    k->next = p->conns;
    p->conns = k;
    p->nconns++;
    if (bufferevent_socket_connect(k->bev, (struct sockaddr *)&ss, (int)sl) != 0) {
        /* Refused at once: reported from the event callback's path, but not from in here. */
        char addr[80];
        gw_dns_addr_format(&ss, addr, sizeof(addr));
        snprintf(err, errlen, "upstream gRPC %s (%s): cannot connect", p->authority, addr);
        p->conns = k->next;
        p->nconns--;
        bufferevent_free(k->bev);
        event_free(k->kick_ev);
        free(k);
        return NULL;
    }
    return k;
oom:
    if (k) {
        if (k->bev) bufferevent_free(k->bev);
        if (k->kick_ev) event_free(k->kick_ev);
        free(k);
    }
    snprintf(err, errlen, "out of memory for an upstream gRPC connection");
    return NULL;
}

/* ---- calls -------------------------------------------------------------------------------- */

static ssize_t gc_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *user_data)
{
    (void)ng, (void)id, (void)user_data;
    gw_grpc_call_t *c = src->ptr;
    if (!c->retryable) { /* never sent twice: the bytes go as they leave */
        int n = evbuffer_remove(c->body, buf, length);
        if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (evbuffer_get_length(c->body) == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return n;
    }
    size_t total = evbuffer_get_length(c->body), n = total - c->body_off;
    if (n > length) n = length;
    struct evbuffer_ptr pos;
    if (n && (evbuffer_ptr_set(c->body, &pos, c->body_off, EVBUFFER_PTR_SET) != 0 ||
              evbuffer_copyout_from(c->body, &pos, buf, n) != (ev_ssize_t)n))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    c->body_off += n;
    if (c->body_off == total) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int gc_submit(gconn_t *k, gw_grpc_call_t *c)
{
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = gc_read_body};
    int32_t id = nghttp2_submit_request(k->ng, NULL, c->nva, c->nnv, &prd, c);
    if (id < 0) return -1;
    c->id = id;
    return 0;
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
        gconn_t *k = gc_conn_new(p, err, errlen);
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
        call_close(c, GW_GRPC_UNAVAILABLE, err);
        return;
    }
    c->conn = k;
    list_add(&k->calls, c);
    k->ncalls++;
    if (!k->connected) return; /* submitted once connected */
    if (gc_submit(k, c) != 0) {
        list_del(c);
        k->ncalls--;
        call_close(c, GW_GRPC_INTERNAL, "cannot submit the upstream gRPC request");
        return;
    }
    gc_kick(k);
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
    gc_kick(k);
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
    gc_kick(k);
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
    snprintf(pe->authority, sizeof(pe->authority), "%s%s%s:%d", v6 ? "[" : "", pe->target.host,
             v6 ? "]" : "", pe->target.port);
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
        gc_conn_free(k, GW_GRPC_UNAVAILABLE, "shutting down");
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
