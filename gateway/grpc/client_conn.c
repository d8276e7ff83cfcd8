/* The gRPC client's connections: nghttp2 client sessions on bufferevent sockets, response
 * fields gathered per call, streams closed into call results. See client.h. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/grpc_frame.h"
#include "gateway/grpc/client_int.h"

#define GC_OUT_HIGH (256u << 10) /* socket output buffered before nghttp2 is told to wait */

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
        gcall_close(c, -1, NULL);
        return 0;
    }
    char err[640];
    if (c->too_big)
        snprintf(err, sizeof(err), "upstream gRPC %s: response header fields over %u bytes",
                 k->peer->authority, GW_GRPC_MAX_HEAD);
    else
        snprintf(err, sizeof(err), "upstream gRPC %s closed the stream (%s)", k->peer->authority,
                 nghttp2_http2_strerror(code));
    gcall_close(c, c->too_big ? GW_GRPC_INTERNAL : gc_rst_status(code), err);
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

void gconn_free(gconn_t *k, int code, const char *err)
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
            gcall_close(c, -1, NULL);
        else
            gcall_close(c, code, err);
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
        gconn_free(k, GW_GRPC_UNAVAILABLE, err);
    }
}

static void gc_on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gc_io(arg);
}

void gconn_kick(gconn_t *k)
{
    if (k->connected) event_active(k->kick_ev, EV_WRITE, 0);
}

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
            gconn_free(k, GW_GRPC_UNAVAILABLE, "out of memory for an upstream gRPC session");
            return;
        }
        k->connected = 1;
        /* The calls that waited for the connection go out with the preface. */
        gw_grpc_call_t *c = k->calls.next;
        while (c != &k->calls) {
            gw_grpc_call_t *next = c->next;
            if (gconn_submit(k, c) != 0) {
                list_del(c);
                k->ncalls--;
                gcall_close(c, GW_GRPC_INTERNAL, "cannot submit the upstream gRPC request");
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
    gconn_free(k, GW_GRPC_UNAVAILABLE, err);
}

gconn_t *gconn_new(gpeer_t *p, char *err, size_t errlen)
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

/* ---- requests ------------------------------------------------------------------------------- */

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

int gconn_submit(gconn_t *k, gw_grpc_call_t *c)
{
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = gc_read_body};
    int32_t id = nghttp2_submit_request(k->ng, NULL, c->nva, c->nnv, &prd, c);
    if (id < 0) return -1;
    c->id = id;
    return 0;
}
