/* fake_qdrant's gRPC transport: one nghttp2 server session per connection on a bufferevent;
 * each stream gathers one length-prefixed request message (common/grpc_frame), runs the method
 * and answers with HEADERS, one DATA message and trailers (grpc-status, grpc-message), or a
 * trailers-only answer on failure. Unknown methods get UNIMPLEMENTED, as Qdrant (tonic) does. */
#include "fq_grpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>

#include "common/grpc_frame.h"
#include "fq_metrics.h"

#define FQ_GRPC_MAX_MESSAGE (64u << 20) /* 64 MiB, Qdrant's default max_message_size */

struct fq_gblk {
    fq_gblk_t *next;
    max_align_t data[];
};

typedef struct gconn gconn_t;
typedef struct gstream gstream_t;
struct fq_grpc_server {
    fq_app_t *app;
    struct evconnlistener *lis;
    gconn_t *conns;
};

struct gconn {
    fq_grpc_server_t *srv;
    struct bufferevent *bev;
    nghttp2_session *ng;
    gconn_t *prev, *next;
    gstream_t *delayed; /* calls waiting out --latency-ms */
};

struct gstream {
    char path[256];
    int is_grpc;
    int has_encoding;
    gw_grpc_decoder_t dec;
    uint8_t *msg;
    size_t msg_len;
    int nmsgs;
    int failed; /* a framing error: answered already */
    fq_gcall_t call;
    size_t out_off;
    char status_s[8];
    char message_enc[1600];
    /* --latency-ms: the call runs when this timer fires */
    struct event *delay;
    gconn_t *cn;
    int32_t sid;
    gstream_t *dprev, *dnext;
};

/* ---- call helpers ---- */

void *fq_galloc(fq_gcall_t *c, size_t n)
{
    fq_gblk_t *b = calloc(1, sizeof(*b) + n);
    if (!b) abort();
    b->next = c->arena;
    c->arena = b;
    return b->data;
}

char *fq_gstrdup(fq_gcall_t *c, const char *s)
{
    size_t n = strlen(s);
    char *p = fq_galloc(c, n + 1);
    memcpy(p, s, n);
    return p;
}

void fq_greply(fq_gcall_t *c, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    c->out = malloc(GW_GRPC_FRAME_HDR + n);
    if (!c->out) abort();
    gw_grpc_frame_header(c->out, 0, (uint32_t)n);
    protobuf_c_message_pack(m, c->out + GW_GRPC_FRAME_HDR);
    c->out_len = GW_GRPC_FRAME_HDR + n;
    c->status = GW_GRPC_OK;
}

int fq_gfail(fq_gcall_t *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
    c->status = status;
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    return -1;
}

int fq_gnot_found(fq_gcall_t *c, const char *collection)
{
    return fq_gfail(c, GW_GRPC_NOT_FOUND, "Not found: Collection `%s` doesn't exist!", collection);
}

double fq_gelapsed(const fq_gcall_t *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - c->t0.tv_sec) + (double)(t.tv_nsec - c->t0.tv_nsec) / 1e9;
}

static void call_dispose(fq_gcall_t *c)
{
    while (c->arena) {
        fq_gblk_t *n = c->arena->next;
        free(c->arena);
        c->arena = n;
    }
    free(c->out);
    c->out = NULL;
}

/* ---- answering ---- */

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static ssize_t read_body(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    gstream_t *st = src->ptr;
    size_t left = st->call.out_len - st->out_off;
    if (len > left) len = left;
    memcpy(buf, st->call.out + st->out_off, len);
    st->out_off += len;
    if (st->out_off == st->call.out_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {NV("grpc-status", "0")};
        nghttp2_submit_trailer(ng, sid, tr, 1);
    }
    return (ssize_t)len;
}

/* Sends the call's outcome: a message and trailers, or trailers only. */
static void answer(nghttp2_session *ng, int32_t sid, gstream_t *st)
{
    fq_gcall_t *c = &st->call;
    if (c->status == GW_GRPC_OK && c->out) {
        nghttp2_nv hd[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
        nghttp2_data_provider dp = {.source.ptr = st, .read_callback = read_body};
        nghttp2_submit_response(ng, sid, hd, 2, &dp);
        return;
    }
    snprintf(st->status_s, sizeof(st->status_s), "%d", c->status);
    gw_grpc_message_encode(c->message, strlen(c->message), st->message_enc,
                           sizeof(st->message_enc));
    nghttp2_nv hd[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                       NV("grpc-status", st->status_s), NV("grpc-message", st->message_enc)};
    nghttp2_submit_response(ng, sid, hd, st->message_enc[0] ? 4 : 3, NULL);
}

static void run_call(gconn_t *cn, int32_t sid, gstream_t *st)
{
    fq_gcall_t *c = &st->call;
    c->app = cn->srv->app;
    c->status = GW_GRPC_INTERNAL;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    const fq_gmethod_t *m = fq_grpc_method(st->path);
    if (!m) {
        c->status = GW_GRPC_UNIMPLEMENTED;
        c->message[0] = '\0';
    } else if (st->nmsgs != 1) {
        fq_gfail(c, GW_GRPC_INTERNAL,
                 st->nmsgs ? "Expected one message, got more" : "Missing request message");
    } else if (!m->req) {
        fq_grpc_healthcheck(c);
    } else {
        ProtobufCMessage *req = protobuf_c_message_unpack(m->req, NULL, st->msg_len, st->msg);
        if (!req) {
            fq_gfail(c, GW_GRPC_INTERNAL, "failed to decode Protobuf message: invalid %s",
                     m->req->name);
        } else {
            m->fn(c, req);
            protobuf_c_message_free_unpacked(req, NULL);
        }
    }
    answer(cn->ng, sid, st);
}

/* --latency-ms applies to the search-type reads, as for REST (fq_router.c's FQ_R_LATENCY). */
static int delayed_method(const char *path)
{
    static const char *const pre[] = {"Search", "Query", "Recommend", "Discover",
                                      "Scroll", "Count", "Facet"};
    if (strncmp(path, "/qdrant.Points/", 15) != 0) return 0;
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (strncmp(path + 15, pre[i], strlen(pre[i])) == 0) return 1;
    return 0;
}

static void delay_unlink(gstream_t *st)
{
    if (st->dprev)
        st->dprev->dnext = st->dnext;
    else
        st->cn->delayed = st->dnext;
    if (st->dnext) st->dnext->dprev = st->dprev;
    event_free(st->delay);
    st->delay = NULL;
}

static void conn_free(gconn_t *cn);
static int flush(gconn_t *cn);

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    gstream_t *st = arg;
    gconn_t *cn = st->cn;
    delay_unlink(st);
    run_call(cn, st->sid, st);
    if (flush(cn) < 0) conn_free(cn);
}

/* The whole request is in: run it now, or --latency-ms later. */
static void start_call(gconn_t *cn, int32_t sid, gstream_t *st)
{
    fq_app_t *app = cn->srv->app;
    fq_metrics_grpc_call(app->metrics);
    if (app->opt.latency_ms > 0 && delayed_method(st->path)) {
        st->delay = evtimer_new(app->base, on_delay, st);
        if (st->delay) {
            st->cn = cn;
            st->sid = sid;
            st->dnext = cn->delayed;
            if (cn->delayed) cn->delayed->dprev = st;
            cn->delayed = st;
            struct timeval tv = {app->opt.latency_ms / 1000, (app->opt.latency_ms % 1000) * 1000};
            evtimer_add(st->delay, &tv);
            return;
        }
    }
    run_call(cn, sid, st);
}

/* ---- nghttp2 callbacks ---- */

static ssize_t on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *u)
{
    gconn_t *cn = u;
    bufferevent_write(cn->bev, data, len);
    return (ssize_t)len;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *u)
{
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    gstream_t *st = calloc(1, sizeof(*st));
    if (!st) return NGHTTP2_ERR_CALLBACK_FAILURE;
    gw_grpc_decoder_init(&st->dec, FQ_GRPC_MAX_MESSAGE, 0);
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *u)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!st || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    if (nlen == 5 && memcmp(name, ":path", 5) == 0 && vlen < sizeof(st->path)) {
        memcpy(st->path, value, vlen);
        st->path[vlen] = '\0';
    } else if (nlen == 12 && memcmp(name, "content-type", 12) == 0) {
        st->is_grpc = vlen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                      (vlen == 16 || value[16] == '+' || value[16] == ';');
    } else if (nlen == 13 && memcmp(name, "grpc-encoding", 13) == 0) {
        st->has_encoding = !(vlen == 8 && memcmp(value, "identity", 8) == 0);
        st->dec.compression_ok = st->has_encoding;
    }
    return 0;
}

static void frame_error(nghttp2_session *ng, int32_t sid, gstream_t *st)
{
    st->failed = 1;
    fq_gfail(&st->call, gw_grpc_frame_err_status(st->dec.err), "%s", st->dec.errmsg);
    answer(ng, sid, st);
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data, size_t len,
                   void *u)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(ng, sid);
    if (!st || st->failed) return 0;
    gw_grpc_msg_t m;
    int rc;
    while ((rc = gw_grpc_frame_feed(&st->dec, &data, &len, &m)) == 1) {
        if (++st->nmsgs == 1) {
            st->msg = malloc(m.len ? m.len : 1);
            if (!st->msg) return NGHTTP2_ERR_CALLBACK_FAILURE;
            memcpy(st->msg, m.data, m.len);
            st->msg_len = m.len;
        }
    }
    if (rc < 0) frame_error(ng, sid, st);
    return 0;
}

static int on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *u)
{
    if (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) return 0;
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    gstream_t *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!st || st->failed) return 0;
    if (!st->is_grpc) {
        nghttp2_nv hd[] = {NV(":status", "415")};
        nghttp2_submit_response(ng, f->hd.stream_id, hd, 1, NULL);
        return 0;
    }
    if (gw_grpc_frame_finish(&st->dec) < 0) {
        frame_error(ng, f->hd.stream_id, st);
        return 0;
    }
    start_call(u, f->hd.stream_id, st);
    return 0;
}

static int on_close(nghttp2_session *ng, int32_t sid, uint32_t err, void *u)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(ng, sid);
    if (!st) return 0;
    nghttp2_session_set_stream_user_data(ng, sid, NULL);
    if (st->delay) delay_unlink(st); /* the client gave up while the call waited */
    gw_grpc_decoder_free(&st->dec);
    call_dispose(&st->call);
    free(st->msg);
    free(st);
    return 0;
}

/* ---- connections ---- */

static void conn_free(gconn_t *cn)
{
    while (cn->delayed) {
        gstream_t *st = cn->delayed;
        delay_unlink(st);
        nghttp2_session_set_stream_user_data(cn->ng, st->sid, NULL);
        gw_grpc_decoder_free(&st->dec);
        free(st->msg);
        free(st);
    }
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        cn->srv->conns = cn->next;
    if (cn->next) cn->next->prev = cn->prev;
    nghttp2_session_del(cn->ng);
    bufferevent_free(cn->bev);
    free(cn);
}

static int flush(gconn_t *cn)
{
    if (nghttp2_session_send(cn->ng) != 0) return -1;
    if (!nghttp2_session_want_read(cn->ng) && !nghttp2_session_want_write(cn->ng) &&
        evbuffer_get_length(bufferevent_get_output(cn->bev)) == 0)
        return -1;
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    gconn_t *cn = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    unsigned char *data = evbuffer_pullup(in, -1);
    ssize_t n = nghttp2_session_mem_recv(cn->ng, data, len);
    if (n < 0) {
        conn_free(cn);
        return;
    }
    evbuffer_drain(in, (size_t)n);
    if (flush(cn) < 0) conn_free(cn);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    gconn_t *cn = arg;
    if (flush(cn) < 0) conn_free(cn);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) conn_free(arg);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    fq_grpc_server_t *srv = arg;
    gconn_t *cn = calloc(1, sizeof(*cn));
    if (!cn) {
        evutil_closesocket(fd);
        return;
    }
    cn->srv = srv;
    cn->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_server_new(&cn->ng, cb, cn);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry set[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(cn->ng, NGHTTP2_FLAG_NONE, set, 1);
    cn->next = srv->conns;
    if (srv->conns) srv->conns->prev = cn;
    srv->conns = cn;
    bufferevent_setcb(cn->bev, on_read, on_write, on_event, cn);
    bufferevent_enable(cn->bev, EV_READ | EV_WRITE);
    if (flush(cn) < 0) conn_free(cn);
}

fq_grpc_server_t *fq_grpc_server_new(fq_app_t *app, const char *host, int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        errno = EINVAL;
        return NULL;
    }
    fq_grpc_server_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->app = app;
    s->lis = evconnlistener_new_bind(
        app->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        1024, (struct sockaddr *)&sin, sizeof(sin));
    if (!s->lis) {
        free(s);
        return NULL;
    }
    return s;
}

void fq_grpc_server_free(fq_grpc_server_t *s)
{
    if (!s) return;
    while (s->conns)
        conn_free(s->conns);
    evconnlistener_free(s->lis);
    free(s);
}

int fq_grpc_start(fq_app_t *app)
{
    const char *v = app->opt.grpc_listen, *colon = strrchr(v, ':');
    char host[64], *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof(host) || !colon[1] || *end ||
        port < 0 || port > 65535) {
        fprintf(stderr, "fake_qdrant: --grpc-listen wants HOST:PORT, got %s\n", v);
        return -1;
    }
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    app->grpc = fq_grpc_server_new(app, host, (int)port);
    if (!app->grpc) {
        fprintf(stderr, "fake_qdrant: cannot listen for gRPC on %s: %s\n", v, strerror(errno));
        return -1;
    }
    return 0;
}
