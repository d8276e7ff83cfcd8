/* HTTP/2 connections: an nghttp2 server session (1.52 API) on the worker's bufferevent, the
 * read/send loop with write-side backpressure, SETTINGS/idle timeouts, the reset-flood guard,
 * graceful GOAWAY on shutdown, and a lingering close so the last frames reach the client. */
#include "gateway/http2/server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gateway/http2/internal.h"
#include "gateway/core/timer.h"
#include "gateway/http/sockread.h"

#define H2_FEED_BYTES  (64u << 10) /* bytes given to nghttp2 per call */
#define H2_OUT_LOW     (64u << 10) /* the write callback resumes sending below this */
#define H2_CONN_WINDOW (8 << 20)   /* connection receive window: bounds body memory per conn */
#define H2_LINGER_MS   2000        /* after the last frame: drop input this long, then close */
#define H2_GOAWAY_MS   1000        /* final GOAWAY at the latest this long after the notice */
/* Library-side rapid-reset guard (CVE-2023-44487): a token bucket of incoming RST_STREAM. Our
 * own counter (http2.max_reset_streams) usually trips first; this bounds pathological rates. */
#define H2_RST_BURST         1000
#define H2_RST_RATE          100
#define H2_MAX_CONTINUATIONS 8

static const uint8_t h2_ping_opaque[8] = {'g', 'w', '-', 'd', 'r', 'a', 'i', 'n'};

static void h2_free(h2_conn_t *c);
static int h2_flush(h2_conn_t *c);

/* ---- timers -------------------------------------------------------------------------------- */

static void h2_arm(h2_conn_t *c, int kind, uint64_t ms)
{
    c->tkind = kind;
    gw_timer_add_ms(c->timer, ms);
}

/* Until the client's SETTINGS: limits.header_timeout. Then, with no stream open:
 * server.keepalive_timeout since the last activity. Streams in flight: no connection timer
 * (the upstream timeout bounds each of them). */
static void h2_update_timer(h2_conn_t *c)
{
    if (c->tkind == H2_T_GOAWAY || c->tkind == H2_T_CLOSING || c->tkind == H2_T_LINGER) return;
    if (!c->got_settings) {
        if (c->tkind != H2_T_SETTINGS) h2_arm(c, H2_T_SETTINGS, c->loop->cfg->header_timeout_ms);
    } else if (c->nstreams == 0) {
        h2_arm(c, H2_T_IDLE, c->loop->cfg->keepalive_timeout_ms);
    } else if (c->tkind != H2_T_NONE) {
        evtimer_del(c->timer);
        c->tkind = H2_T_NONE;
    }
}

static void h2_final_goaway(h2_conn_t *c)
{
    if (c->goaway_final) return;
    c->goaway_final = 1;
    if (c->tkind == H2_T_GOAWAY) {
        evtimer_del(c->timer);
        c->tkind = H2_T_NONE;
    }
    int32_t last = nghttp2_session_get_last_proc_stream_id(c->ng);
    nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, NULL, 0);
}

/* Graceful shutdown, step one: a GOAWAY with the maximum stream id tells the client to open no
 * more streams, and a PING measures the round trip; at its ACK (or after H2_GOAWAY_MS) the final
 * GOAWAY names the last stream we will answer. The streams in flight then finish. */
static void h2_start_shutdown(h2_conn_t *c)
{
    if (c->draining) return;
    c->draining = 1;
    nghttp2_submit_shutdown_notice(c->ng);
    nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, h2_ping_opaque);
    h2_arm(c, H2_T_GOAWAY, H2_GOAWAY_MS);
}

static void h2_on_timer(evutil_socket_t fd, short what, void *arg)
{
    h2_conn_t *c = arg;
    int kind = c->tkind;
    c->tkind = H2_T_NONE;
    switch (kind) {
    case H2_T_SETTINGS:
        gw_log_debug("HTTP/2 client %s sent no SETTINGS in time", c->peer);
        nghttp2_session_terminate_session(c->ng, NGHTTP2_SETTINGS_TIMEOUT);
        break;
    case H2_T_IDLE:
        nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
        break;
    case H2_T_GOAWAY:
        h2_final_goaway(c);
        break;
    default: /* H2_T_CLOSING (the client does not read) or H2_T_LINGER (done) */
        h2_free(c);
        return;
    }
    h2_flush(c);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

static ssize_t h2_on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                          void *user_data)
{
    h2_conn_t *c = user_data;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) >= H2_OUT_HIGH) {
        c->send_blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK; /* resumed by the write callback or h2_flush */
    }
    if (bufferevent_write(c->bev, data, len) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

/* DATA frames whose payload the read callback left in the stream's buffer (NO_COPY). */
static int h2_on_send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd,
                           size_t length, nghttp2_data_source *src, void *user_data)
{
    /* Never WOULDBLOCK here: nghttp2 would offer the frame again without asking whether its
     * stream still exists. The bytes only move (they were counted while in the stream), and
     * the other frames' WOULDBLOCK (h2_on_send) and read_blocked bound the output. */
    h2_conn_t *c = user_data;
    return h2_stream_send_data(src->ptr, bufferevent_get_output(c->bev), framehd, length);
}

static int h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    h2_conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    h2_stream_t *st = h2_stream_new(c, frame->hd.stream_id);
    if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* this stream is reset, others go on */
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
    return 0;
}

static int h2_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    return st ? h2_stream_on_header(st, name, namelen, value, valuelen) : 0;
}

static int h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    h2_conn_t *c = user_data;
    /* May run after the stream closed: then there is no stream data. */
    h2_stream_t *st =
        frame->hd.stream_id ? nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id) : NULL;
    int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (st && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            h2_stream_on_head_done(st, end);
        else if (st && end)
            h2_stream_on_end(st); /* trailers */
        break;
    case NGHTTP2_DATA:
        if (st && end) h2_stream_on_end(st);
        break;
    case NGHTTP2_RST_STREAM:
        if (st) st->reset_by_peer = 1;
        break;
    case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) c->got_settings = 1;
        break;
    case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && c->draining &&
            memcmp(frame->ping.opaque_data, h2_ping_opaque, 8) == 0)
            h2_final_goaway(c);
        break;
    default:
        break;
    }
    return 0;
}

static int h2_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                            const uint8_t *data, size_t len, void *user_data)
{
    h2_stream_t *st = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (st)
        h2_stream_on_data(st, data, len);
    else
        nghttp2_session_consume(ng, stream_id, len);
    return 0;
}

static int h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        h2_stream_t *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
        if (st) h2_stream_on_sent_end(st);
    }
    return 0;
}

/* Streams reset by the client before their answer finished cost us work (an upstream request
 * started and cancelled) and cost the client nothing: the rapid-reset attack. Past
 * http2.max_reset_streams, and unless the client let more streams finish than it reset, the
 * connection gets GOAWAY ENHANCE_YOUR_CALM. */
static void h2_check_resets(h2_conn_t *c)
{
    uint64_t max = (uint64_t)c->loop->cfg->h2_max_reset_streams;
    if (c->calm_sent || c->resets_unanswered <= max || c->resets_unanswered <= c->answered) return;
    c->calm_sent = 1;
    gw_log_warn("HTTP/2 client %s reset %llu streams before they were answered: closing its "
                "connection (GOAWAY ENHANCE_YOUR_CALM)",
                c->peer, (unsigned long long)c->resets_unanswered);
    nghttp2_session_terminate_session(c->ng, NGHTTP2_ENHANCE_YOUR_CALM);
}

static int h2_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                              void *user_data)
{
    h2_conn_t *c = user_data;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (!st) return 0;
    if (st->reset_by_peer && !(st->req && st->req->finished)) c->resets_unanswered++;
    nghttp2_session_set_stream_user_data(ng, stream_id, NULL);
    h2_stream_free(st);
    h2_check_resets(c);
    return 0;
}

static nghttp2_session_callbacks *h2_cbs;

static void h2_cbs_init(void)
{
    if (nghttp2_session_callbacks_new(&h2_cbs) != 0) return;
    nghttp2_session_callbacks_set_send_callback(h2_cbs, h2_on_send);
    nghttp2_session_callbacks_set_send_data_callback(h2_cbs, h2_on_send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(h2_cbs, h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(h2_cbs, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_cbs, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2_cbs, h2_on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(h2_cbs, h2_on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_cbs, h2_on_stream_close);
}

/* The callbacks are the same for every session (nghttp2 copies them): built once. */
static const nghttp2_session_callbacks *h2_callbacks(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, h2_cbs_init);
    return h2_cbs;
}

/* ---- I/O ----------------------------------------------------------------------------------- */

void h2_conn_kick(h2_conn_t *c)
{
    event_active(c->kick_ev, EV_WRITE, 0);
}

/* Feeds buffered input to the session. 0, or -1 when the connection must close at once. */
static int h2_recv(h2_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len;
    while ((len = evbuffer_get_length(in)) > 0) {
        size_t n = len < H2_FEED_BYTES ? len : H2_FEED_BYTES;
        const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
        ssize_t rv = nghttp2_session_mem_recv(c->ng, data, n);
        if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
            /* "PRI * HTTP/2.0" then something else: a connection error, said with GOAWAY. */
            gw_log_debug("HTTP/2 client %s: bad connection preface", c->peer);
            evbuffer_drain(in, len);
            nghttp2_session_terminate_session(c->ng, NGHTTP2_PROTOCOL_ERROR);
            return 0;
        }
        if (rv < 0) {
            gw_log_debug("HTTP/2 client %s: %s", c->peer, nghttp2_strerror((int)rv));
            return -1; /* flooding or out of memory: nothing more worth sending */
        }
        evbuffer_drain(in, (size_t)rv);
    }
    return 0;
}

/* Reading on or off: our own read event on plain sockets, the bufferevent's on TLS. */
static void h2_read_enable(h2_conn_t *c, int on)
{
    if (c->read_ev)
        on ? event_add(c->read_ev, NULL) : event_del(c->read_ev);
    else
        on ? bufferevent_enable(c->bev, EV_READ) : bufferevent_disable(c->bev, EV_READ);
}

/* Plain sockets: writes what the send round queued (gw_sock_flush). 1 when all of it went
 * (more may be sent now), 0 when the bufferevent took over: EV_WRITE, whose callback resumes
 * us below H2_OUT_LOW, or reports the error. */
static int h2_write_direct(h2_conn_t *c)
{
    return gw_sock_flush(c->bev);
}

/* Everything is written: half-close and drop input for a while, so that closing with unread
 * input does not make the kernel send a reset that destroys our last frames (GOAWAY). */
static void h2_linger(h2_conn_t *c)
{
    c->lingering = 1;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    h2_read_enable(c, 1);
    h2_arm(c, H2_T_LINGER, H2_LINGER_MS);
}

static void h2_notify_drain(h2_conn_t *c)
{
    if (!c->drain_pending) return;
    c->drain_pending = 0;
    for (h2_stream_t *st = c->streams.next; st != &c->streams; st = st->next)
        h2_stream_notify_drain(st); /* handlers only queue data here: no stream closes */
}

/* A send round: frames out, handlers told about drained streams, close when the session is
 * done. 0, or -1 when c was freed. */
static int h2_flush(h2_conn_t *c)
{
    if (c->lingering) return 0;
    int rv, more;
    do { /* direct: as long as the socket takes all that the session has for it */
        c->send_blocked = 0;
        rv = nghttp2_session_send(c->ng);
        if (rv != 0) {
            gw_log_debug("HTTP/2 client %s: %s", c->peer, nghttp2_strerror(rv));
            h2_free(c);
            return -1;
        }
        more = c->direct && h2_write_direct(c) && c->send_blocked;
    } while (more);
    h2_streams_budget_check(c);
    h2_notify_drain(c);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng)) {
        if (evbuffer_get_length(out) == 0)
            h2_linger(c);
        else if (c->tkind != H2_T_CLOSING)
            h2_arm(c, H2_T_CLOSING, c->loop->cfg->shutdown_timeout_ms + 1000);
        return 0;
    }
    if (evbuffer_get_length(out) >= H2_OUT_HIGH && !c->read_blocked) {
        c->read_blocked = 1; /* the client does not read: stop taking more work from it */
        h2_read_enable(c, 0);
    }
    h2_update_timer(c);
    return 0;
}

static void h2_on_kick(evutil_socket_t fd, short what, void *arg)
{
    h2_conn_t *c = arg;
    if (c->read_pending && !c->lingering) {
        c->read_pending = 0;
        if (h2_recv(c) != 0) {
            h2_free(c);
            return;
        }
    }
    h2_flush(c);
}

static void h2_on_read(struct bufferevent *bev, void *arg)
{
    h2_conn_t *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (h2_recv(c) != 0) {
        h2_free(c);
        return;
    }
    h2_flush(c);
}

static void h2_on_write(struct bufferevent *bev, void *arg)
{
    h2_conn_t *c = arg;
    if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE); /* caught up: back to writing directly */
    if (c->lingering) return;
    if (c->read_blocked) {
        c->read_blocked = 0;
        h2_read_enable(c, 1);
    }
    h2_flush(c);
}

static void h2_on_event(struct bufferevent *bev, short what, void *arg)
{
    h2_free(arg); /* EOF or error: the client is gone, its unfinished streams are aborted */
}

/* Plain sockets: one readv of up to H2_FEED_BYTES (no FIONREAD, no 4 KB pieces), then what
 * the bufferevent's read callback does. */
static void h2_on_sock_read(evutil_socket_t fd, short what, void *arg)
{
    h2_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_unfreeze(in, 0); /* the socket bufferevent freezes its input's end */
    ssize_t n = gw_sock_read(in, fd, H2_FEED_BYTES);
    int saved = errno;
    evbuffer_freeze(in, 0);
    if (n > 0) {
        h2_on_read(c->bev, c);
        return;
    }
    if (n < 0 && (saved == EAGAIN || saved == EWOULDBLOCK)) return;
    h2_on_event(c->bev, n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR, c);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void h2_free(h2_conn_t *c)
{
    c->closing = 1;
    while (c->streams.next != &c->streams) {
        h2_stream_t *st = c->streams.next;
        nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
        h2_stream_free(st);
    }
    nghttp2_session_del(c->ng);
    event_free(c->timer);
    event_free(c->kick_ev);
    if (c->read_ev) event_free(c->read_ev);
    bufferevent_free(c->bev);
    atomic_fetch_sub(c->loop->connections, 1);
    gw_loop_conn_remove(c->loop, &c->link); /* last: may end a draining worker's loop */
    free(c);
}

static void h2_drain(gw_conn_link_t *link)
{
    h2_conn_t *c = (h2_conn_t *)link;
    h2_start_shutdown(c);
    h2_conn_kick(c);
}

static void h2_destroy(gw_conn_link_t *link)
{
    h2_free((h2_conn_t *)link);
}

static int h2_session_new(h2_conn_t *c)
{
    const gw_config_t *cfg = c->loop->cfg;
    const nghttp2_session_callbacks *cbs = h2_callbacks();
    nghttp2_option *opt = NULL;
    if (!cbs || nghttp2_option_new(&opt) != 0) return -1;
    /* Window credit only as handlers read request bodies: flow control is the backpressure. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
#ifdef HAVE_NGHTTP2_RST_RATELIMIT
    nghttp2_option_set_stream_reset_rate_limit(opt, H2_RST_BURST, H2_RST_RATE);
#endif
    /* Streams are answered in the order they are ready, never by RFC 7540's dependency tree:
     * without it nghttp2 keeps no closed streams and no tree to re-weigh per stream. */
    nghttp2_option_set_no_closed_streams(opt, 1);
#ifdef HAVE_NGHTTP2_MAX_CONTINUATIONS
    nghttp2_option_set_max_continuations(opt, H2_MAX_CONTINUATIONS);
#endif
    int rv = nghttp2_session_server_new2(&c->ng, cbs, c, opt);
    nghttp2_option_del(opt);
    if (rv != 0) return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)cfg->h2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GW_REQ_HIGH_WATER},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->max_header_bytes},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
        return -1;
    return 0;
}

int gw_h2_conn_start(gw_loop_t *l, struct bufferevent *bev, const char *peer, int refuse)
{
    h2_conn_t *c = calloc(1, sizeof(*c));
    if (!c) goto fail;
    c->loop = l;
    c->bev = bev;
    c->streams.next = c->streams.prev = &c->streams;
    c->timer = evtimer_new(l->base, h2_on_timer, c);
    c->kick_ev = event_new(l->base, -1, 0, h2_on_kick, c);
    if (!c->timer || !c->kick_ev || h2_session_new(c) != 0) goto fail;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->refuse = refuse != 0;
    c->link.drain = h2_drain;
    c->link.destroy = h2_destroy;
    c->link.proto = GW_PROTO_H2;
    gw_loop_conn_add(l, &c->link);
    bufferevent_setcb(bev, h2_on_read, h2_on_write, h2_on_event, c);
    bufferevent_setwatermark(bev, EV_WRITE, H2_OUT_LOW, 0);
    c->direct = bufferevent_openssl_get_ssl(bev) == NULL;
    if (c->direct) {
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        c->read_ev =
            event_new(l->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST, h2_on_sock_read, c);
        if (!c->read_ev || event_add(c->read_ev, NULL) != 0) {
            h2_free(c);
            return -1;
        }
    } else {
        bufferevent_enable(bev, EV_READ | EV_WRITE);
    }
    h2_arm(c, H2_T_SETTINGS, l->cfg->header_timeout_ms);
    if (refuse || l->draining)
        h2_start_shutdown(c); /* answer what the client already sent, then GOAWAY */
    /* Our SETTINGS, and the client's first bytes (already buffered), from the loop. */
    c->read_pending = 1;
    h2_conn_kick(c);
    return 0;
fail:
    if (c) {
        if (c->ng) nghttp2_session_del(c->ng);
        if (c->timer) event_free(c->timer);
        if (c->kick_ev) event_free(c->kick_ev);
        free(c);
    }
    bufferevent_free(bev);
    atomic_fetch_sub(l->connections, 1);
    return -1;
}
