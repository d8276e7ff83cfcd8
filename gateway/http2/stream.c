/* HTTP/2 streams as protocol-neutral requests: the request head collected from HPACK-decoded
 * headers, request bodies credited back to the client's window only as the handler reads them,
 * and responses handed to nghttp2 through a deferred data provider per stream. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/http2/internal.h"
#include "gateway/http/bodyref.h"
#include "gateway/http/dispatch.h"
#include "gateway/core/timer.h"
#include "gateway/http/headers.h"

#define H2_MAX_HEADERS 256 /* as many fields as the HTTP/1.1 codec accepts */
#define H2_FIELD_COST  32  /* per-field overhead in the header list size (RFC 9113 6.5.2) */
/* A response that completes while the request body still arrives: the rest of the body is read
 * and dropped up to this much (clients such as curl 7.88 fail the whole exchange when the
 * stream is reset under their upload), beyond it the client is told to stop (RST_STREAM). */
#define H2_DROP_BUDGET (1u << 20)

static const gw_codec_ops_t h2_codec;

/* ---- lifetime ------------------------------------------------------------------------------ */

h2_stream_t *h2_stream_new(h2_conn_t *c, int32_t id)
{
    h2_stream_t *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->out = evbuffer_new();
    if (!st->out) {
        free(st);
        return NULL;
    }
    st->c = c;
    st->id = id;
    st->next = &c->streams;
    st->prev = c->streams.prev;
    c->streams.prev->next = st;
    c->streams.prev = st;
    c->nstreams++;
    return st;
}

void h2_stream_free(h2_stream_t *st)
{
    h2_conn_t *c = st->c;
    gw_req_t *r = st->req;
    if (r && st->parked) {
        st->req = NULL; /* never dispatched: both sides are still ours */
        evbuffer_remove_cb_entry(r->body, st->body_cb);
        gw_req_release(r, GW_REQ_CODEC | GW_REQ_HANDLER);
        st->parked = 0;
        c->nparked--;
        r = NULL;
    }
    if (r) {
        st->req = NULL;
        evbuffer_remove_cb_entry(r->body, st->body_cb);
        /* Reset by the client or the connection is going: stop the handler's work. */
        if ((r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_abort)
            r->handler->on_abort(r);
        gw_req_release(r, GW_REQ_CODEC);
    }
    /* Bytes the stream received but nobody read still count against the connection window;
     * nghttp2 does not give them back when the stream closes. */
    if (!c->closing && st->unconsumed + st->held > 0)
        nghttp2_session_consume_connection(c->ng, st->unconsumed + st->held);
    st->prev->next = st->next;
    st->next->prev = st->prev;
    c->nstreams--;
    c->out_bytes -= st->owned;
    if (st->body_ev) event_free(st->body_ev);
    free(st->trailers);
    evbuffer_free(st->out);
    gw_head_free(&st->head);
    free(st);
}

/* ---- the request head ---------------------------------------------------------------------- */

/* Appends bytes to the head; the offset they start at goes to *off. 0 / -1 (OOM). */
static int h2_append(h2_stream_t *st, const void *p, size_t n, uint32_t *off)
{
    return gw_head_append(&st->head, p, n, 512, off);
}

static int h2_pseudo(h2_stream_t *st, const uint8_t *name, size_t nl, const uint8_t *v, size_t vl)
{
    gw_hoff_t *slot = NULL;
    if (nl == 7 && memcmp(name, ":method", 7) == 0)
        slot = &st->method;
    else if (nl == 5 && memcmp(name, ":path", 5) == 0)
        slot = &st->path;
    else if (nl == 10 && memcmp(name, ":authority", 10) == 0)
        slot = &st->authority;
    if (!slot) return 0; /* :scheme and the like: nghttp2 validated them, nothing to keep */
    uint32_t off, nul;
    /* NUL after each: handlers compare r->method with strcmp. */
    if (h2_append(st, v, vl, &off) != 0 || h2_append(st, "", 1, &nul) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    slot->value_off = off;
    slot->value_len = (uint32_t)vl;
    return 0;
}

int h2_stream_on_header(h2_stream_t *st, const uint8_t *name, size_t nl, const uint8_t *value,
                        size_t vl)
{
    if (st->req)
        return 0; /* trailers: not forwarded (the upstream request is HTTP/1.1 without them) */
    st->head_bytes += nl + vl + H2_FIELD_COST;
    if (st->too_large || st->head_bytes > st->c->loop->cfg->max_header_bytes) {
        st->too_large = 1; /* keep decoding (HPACK state must stay in sync), answer 431 */
        return 0;
    }
    if (nl > 0 && name[0] == ':') return h2_pseudo(st, name, nl, value, vl);
    uint32_t noff, voff;
    if (st->head.nh == H2_MAX_HEADERS) {
        st->too_large = 1;
        return 0;
    }
    if (h2_append(st, name, nl, &noff) != 0 || h2_append(st, value, vl, &voff) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    gw_hoff_t *o = gw_head_field(&st->head, H2_MAX_HEADERS);
    if (!o) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    *o = (gw_hoff_t){noff, (uint32_t)nl, voff, (uint32_t)vl};
    return 0;
}

static int64_t h2_parse_length(const char *v, size_t n)
{
    int64_t x = 0;
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* Moves the collected head into r and fills the fields the HTTP/1.1 codec fills, with
 * :authority standing in for Host when the client sent no Host. */
static int h2_build_request(h2_stream_t *st, gw_req_t *r)
{
    if (gw_head_give(&st->head, r, 1) != 0) return -1; /* room for a Host from :authority */
    const char *raw = r->raw ? r->raw : "";
    if (st->authority.value_len && !gw_req_header(r, "host", NULL))
        r->hdrs[r->nhdrs++] =
            (gw_hdr_t){"host", 4, raw + st->authority.value_off, st->authority.value_len};
    r->method = st->method.value_len ? raw + st->method.value_off : "";
    r->method_len = st->method.value_len;
    r->target = raw + st->path.value_off;
    r->target_len = st->path.value_len;
    r->path = r->target;
    const char *q = r->target_len ? memchr(r->target, '?', r->target_len) : NULL;
    r->path_len = q ? (size_t)(q - r->target) : r->target_len;
    if (q) {
        r->query = q + 1;
        r->query_len = r->target_len - r->path_len - 1;
    }
    r->http_minor = 0;
    r->h2 = 1;
    r->is_head = strcmp(r->method, "HEAD") == 0;
    size_t n;
    const char *cl = gw_req_header(r, "content-length", &n);
    if (cl) r->content_length = h2_parse_length(cl, n); /* nghttp2 checked it against the DATA */
    r->has_body = !st->recv_done && r->content_length != 0;
    _Static_assert(sizeof(r->peer) == sizeof(st->c->peer), "the peer is copied whole");
    memcpy(r->peer, st->c->peer, sizeof(r->peer)); /* NUL-terminated, the same size */
    return 0;
}

/* Answers a request the gateway refuses before any handler saw it. */
static void h2_reject(gw_req_t *r, int status, const char *fmt, const char *detail)
{
    gw_req_release(r, GW_REQ_HANDLER);
    gw_req_respond_error(r, status, fmt, detail);
}

/* Answers a request whose handler may already run (the body went over the limit). */
static void h2_stream_fail(h2_stream_t *st, int status, const char *fmt, const char *detail)
{
    gw_req_t *r = st->req;
    if ((r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_abort)
        r->handler->on_abort(r);
    if (r->head_sent) {
        r->codec->finish(r, 0); /* too late for a status: reset the stream */
        return;
    }
    gw_req_respond_error(r, status, fmt, detail);
}

static void h2_on_body_drained(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg);
static void h2_stop_upload(h2_stream_t *st);

/* ---- the body clock ------------------------------------------------------------------------ */

/* True while the client is the one the stream waits for: its body is not complete, nothing of
 * ours holds it back (want_body 0), and it has window to send in (the handler keeps up). */
static int h2_body_clock_runs(const h2_stream_t *st)
{
    gw_req_t *r = st->req;
    return r && !st->parked && !st->recv_done && !st->body_hold && !st->body_late &&
           !st->rst_sent && st->unconsumed < GW_REQ_HIGH_WATER / 2 && !st->c->loop->draining;
}

static void h2_on_body_late(evutil_socket_t fd, short what, void *arg)
{
    h2_stream_t *st = arg;
    if (!h2_body_clock_runs(st)) return;
    st->body_late = 1;
    gw_req_t *r = st->req;
    if (r->finished || !(r->holders & GW_REQ_HANDLER)) {
        h2_stop_upload(st); /* answered already, and the rest of the body never came */
    } else {
        h2_stream_fail(st, 408, "Request timeout: %s",
                       "request body not received in time (limits.body_timeout)");
        if (st->end_sent) h2_stop_upload(st);
    }
    h2_conn_kick(st->c);
}

/* (Re)starts or stops the body clock after anything that may change h2_body_clock_runs. */
static void h2_body_clock(h2_stream_t *st)
{
    if (!h2_body_clock_runs(st)) {
        if (st->body_ev) evtimer_del(st->body_ev);
        return;
    }
    if (!st->body_ev && !(st->body_ev = evtimer_new(st->c->loop->base, h2_on_body_late, st)))
        return; /* out of memory: the stream goes unclocked, as before */
    gw_timer_add_ms(st->body_ev, st->c->loop->cfg->body_timeout_ms);
}

/* Checks the complete head the way http1/server.c does; 0 to dispatch, -1 when already answered. */
static int h2_check_request(h2_stream_t *st, gw_req_t *r)
{
    h2_conn_t *c = st->c;
    if (st->too_large) {
        h2_reject(r, 431, "Request header fields too large: %s", "header section too large");
        return -1;
    }
    char msg[256];
    int status = gw_req_admit(r, c->loop->cfg->max_body_bytes, msg, sizeof(msg));
    if (status) {
        h2_reject(r, status, "%s", msg);
        return -1;
    }
    if (c->refuse) {
        h2_reject(r, 503, "Service unavailable: %s",
                  "too many connections (server.max_connections)");
        return -1;
    }
    return 0;
}

void h2_stream_on_head_done(h2_stream_t *st, int end_stream)
{
    h2_conn_t *c = st->c;
    if (end_stream) st->recv_done = 1;
    gw_req_t *r = gw_req_new(c->loop, &h2_codec, st);
    if (!r || h2_build_request(st, r) != 0) {
        if (r) gw_req_release(r, GW_REQ_CODEC | GW_REQ_HANDLER);
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    st->req = r;
    st->body_cb = evbuffer_add_cb(r->body, h2_on_body_drained, st);
    if (!st->body_cb) {
        h2_reject(r, 500, "Service internal error: %s", "out of memory");
        return;
    }
    gw_req_assign_id(r);
    if (h2_check_request(st, r) != 0) return;
    if (st->recv_done) r->body_done = 1;
    if (c->out_bytes >= H2_CONN_OUT_BUDGET) {
        /* The client is not reading what it asked for: take no more work from it until it does
         * (h2_streams_budget_check). Its body, if any, is held by the stream's window. */
        st->parked = 1;
        c->nparked++;
        return;
    }
    gw_dispatch(r);
    if (st->req == r) h2_body_clock(st);
}

void h2_streams_budget_check(h2_conn_t *c)
{
    if (c->out_bytes >= H2_CONN_OUT_BUDGET) return;
    for (h2_stream_t *st = c->streams.next; st != &c->streams; st = st->next) {
        if (st->budget_high && evbuffer_get_length(st->out) < GW_REQ_LOW_WATER) {
            st->budget_high = 0;
            st->drain_wanted = 1;
            c->drain_pending = 1;
        }
    }
    /* Streams are listed oldest first; handlers may answer at once (a cache hit), so the budget
     * is checked before each. Nothing here closes a stream: only nghttp2 calls do. */
    for (h2_stream_t *st = c->streams.next; c->nparked && st != &c->streams; st = st->next) {
        if (!st->parked) continue;
        if (c->out_bytes >= H2_CONN_OUT_BUDGET) break;
        st->parked = 0;
        c->nparked--;
        gw_req_t *r = st->req;
        gw_dispatch(r);
        if (st->req == r) h2_body_clock(st);
        h2_conn_kick(c);
    }
}

/* ---- request body: flow control as backpressure ------------------------------------------- */

/* The handler read body bytes: the client may send that many more (WINDOW_UPDATE is batched by
 * nghttp2). So a stream never buffers more than its window, GW_REQ_HIGH_WATER. */
static void h2_on_body_drained(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    h2_stream_t *st = arg;
    size_t n = info->n_deleted;
    if (n == 0) return;
    if (n > st->unconsumed) n = st->unconsumed;
    st->unconsumed -= n;
    if (st->body_hold) {
        st->held += n;
        return;
    }
    nghttp2_session_consume(st->c->ng, st->id, n);
    h2_body_clock(st); /* window given back: the client may send again */
    h2_conn_kick(st->c);
}

static void h2_stop_upload(h2_stream_t *st)
{
    if (st->rst_sent) return;
    st->rst_sent = 1;
    nghttp2_submit_rst_stream(st->c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
}

void h2_stream_on_data(h2_stream_t *st, const uint8_t *data, size_t len)
{
    h2_conn_t *c = st->c;
    gw_req_t *r = st->req;
    st->received += len;
    h2_body_clock(st); /* the client is still sending: its clock starts over */
    if (!r || r->finished || !(r->holders & GW_REQ_HANDLER)) {
        nghttp2_session_consume(c->ng, st->id, len); /* answered already: read and dropped */
        if (st->end_sent && st->received > st->drop_until) h2_stop_upload(st);
        return;
    }
    r->body_received += len;
    size_t limit = c->loop->cfg->max_body_bytes;
    if (!(r->route.flags & GW_ROUTE_F_STREAM) && r->body_received > limit) {
        nghttp2_session_consume(c->ng, st->id, len);
        char detail[128];
        snprintf(detail, sizeof(detail), "request body is larger than allowed (limit: %llu bytes)",
                 (unsigned long long)limit);
        h2_stream_fail(st, 413, "Payload too large: %s", detail);
        return;
    }
    st->unconsumed += len;
    if (evbuffer_add(r->body, data, len) != 0) {
        h2_stream_fail(st, 500, "Service internal error: %s", "out of memory");
        return;
    }
    if (r->handler && r->handler->on_body) r->handler->on_body(r);
}

void h2_stream_on_end(h2_stream_t *st)
{
    st->recv_done = 1;
    h2_body_clock(st);
    gw_req_t *r = st->req;
    if (!r || r->body_done) return;
    r->body_done = 1;
    if ((r->holders & GW_REQ_HANDLER) && !r->finished && r->handler && r->handler->on_body)
        r->handler->on_body(r);
}

void h2_stream_on_sent_end(h2_stream_t *st)
{
    st->end_sent = 1;
    if (st->recv_done) return;
    if (st->body_late) {
        h2_stop_upload(st); /* the 408 is out: the body it waited for is not wanted */
        return;
    }
    /* A complete response while the request body is still coming: drop a little more of it,
     * past that ask the client to stop sending, without error (RFC 9113 8.1). */
    st->drop_until = st->received + H2_DROP_BUDGET;
    int64_t clen = st->req ? st->req->content_length : -1;
    if (clen >= 0 && (uint64_t)clen > st->drop_until) h2_stop_upload(st);
}

static void h2_want_body(gw_req_t *r, int want)
{
    h2_stream_t *st = r->codec_ctx;
    if (!want) {
        st->body_hold = 1;
        h2_body_clock(st);
        return;
    }
    st->body_hold = 0;
    h2_body_clock(st);
    if (st->held) {
        nghttp2_session_consume(st->c->ng, st->id, st->held);
        st->held = 0;
        h2_conn_kick(st->c);
    }
}

/* ---- response ------------------------------------------------------------------------------ */

static ssize_t h2_on_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                               uint32_t *flags, nghttp2_data_source *src, void *user_data)
{
    h2_stream_t *st = src->ptr;
    size_t have = evbuffer_get_length(st->out);
    if (have == 0 && !st->out_done) {
        st->deferred = 1; /* resumed by send_body or finish */
        return NGHTTP2_ERR_DEFERRED;
    }
    /* While the connection's output is under H2_OUT_HIGH, not copied: h2_stream_send_data
     * moves the bytes (stored answers by reference) behind the frame header. Over it, copied,
     * so that the send callback's WOULDBLOCK stops the session with the frame in hand. */
    int n = (int)(have < length ? have : length);
    if (n > 0 && evbuffer_get_length(bufferevent_get_output(st->c->bev)) < H2_OUT_HIGH)
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    else if (n > 0 && evbuffer_remove(st->out, buf, (size_t)n) != n)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    /* Copied bytes come off the budget (referenced ones never counted; a response does not
     * mix the two, so taking the copied ones first is exact). */
    size_t own = (size_t)n < st->owned ? (size_t)n : st->owned;
    st->owned -= own;
    st->c->out_bytes -= own;
    size_t left = evbuffer_get_length(st->out);
    if (st->out_done && left == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->trailers) {
            /* Allowed from inside the read callback: the HEADERS follows this DATA. */
            if (nghttp2_submit_trailer(ng, id, st->trailers, st->ntrailers) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            free(st->trailers);
            st->trailers = NULL;
        }
    }
    if (st->out_high && left < GW_REQ_LOW_WATER) {
        st->out_high = 0;
        st->drain_wanted = 1; /* not from here: the handler may write back synchronously */
        st->c->drain_pending = 1;
    }
    return n;
}

int h2_stream_send_data(h2_stream_t *st, struct evbuffer *to, const uint8_t *framehd, size_t length)
{
    if (evbuffer_add(to, framehd, 9) != 0 || evbuffer_remove_buffer(st->out, to, length) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

void h2_stream_notify_drain(h2_stream_t *st)
{
    if (!st->drain_wanted) return;
    st->drain_wanted = 0;
    gw_req_t *r = st->req;
    if (r && !r->finished && (r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_drain)
        r->handler->on_drain(r);
}

static void h2_resume(h2_stream_t *st)
{
    if (st->deferred) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->c->ng, st->id);
    }
    h2_conn_kick(st->c);
}

static int h2_status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

#define H2_HEAD_STACK_NV    32
#define H2_HEAD_STACK_NAMES 1024

/* Writes n in decimal at out (20 bytes at least) and returns its length (no snprintf on the
 * per-answer path). */
static size_t h2_format_length(char *out, uint64_t n)
{
    char tmp[20];
    size_t k = 0;
    do
        tmp[k++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    return k;
}

/* nghttp2 copies the array and its strings on submit, so everything here is temporary. */
static void h2_send_head(gw_req_t *r, int status, const gw_hdr_t *h, size_t n, int64_t clen)
{
    h2_stream_t *st = r->codec_ctx;
    h2_conn_t *c = st->c;
    r->head_sent = 1;
    r->status = status;
    size_t names = 0;
    for (size_t i = 0; i < n; i++)
        names += h[i].name_len;
    /* The usual head fits on the stack; a long one goes to the heap. */
    nghttp2_nv nva_stack[H2_HEAD_STACK_NV];
    char lower_stack[H2_HEAD_STACK_NAMES];
    int heap = n + 2 > H2_HEAD_STACK_NV || names + 1 > sizeof(lower_stack);
    nghttp2_nv *nva = heap ? calloc(n + 2, sizeof(*nva)) : nva_stack;
    char *lower = heap ? malloc(names + 1) : lower_stack;
    char sbuf[8], lbuf[24];
    if (!nva || !lower) {
        if (heap) free(nva), free(lower);
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2_conn_kick(c);
        return;
    }
    size_t k = 0, off = 0;
    status %= 1000;
    sbuf[0] = (char)('0' + status / 100);
    sbuf[1] = (char)('0' + status / 10 % 10);
    sbuf[2] = (char)('0' + status % 10);
    nva[k++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)sbuf, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < n; i++) {
        /* Connection-specific headers are malformed in HTTP/2 (RFC 9113 8.2.2). */
        if (gw_header_name_eq(h[i].name, h[i].name_len, "content-length") ||
            gw_header_is_hop_by_hop(h[i].name, h[i].name_len, NULL, 0))
            continue;
        for (size_t j = 0; j < h[i].name_len; j++) {
            char ch = h[i].name[j];
            lower[off + j] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        /* A value unique to this answer (the request id) would take a new slot of the
         * connection's HPACK table on every answer, evicting the ones that repeat and making
         * the encoder search longer chains: sent literally, never indexed. */
        uint8_t fl = gw_header_name_eq(h[i].name, h[i].name_len, "x-request-id")
                         ? NGHTTP2_NV_FLAG_NO_INDEX
                         : NGHTTP2_NV_FLAG_NONE;
        nva[k++] = (nghttp2_nv){(uint8_t *)lower + off, (uint8_t *)h[i].value, h[i].name_len,
                                h[i].value_len, fl};
        off += h[i].name_len;
    }
    int body_ok = h2_status_has_body(status);
    if (clen == GW_REQ_NO_BODY) body_ok = 0; /* the head is the whole answer: END_STREAM */
    if (clen >= 0 && (body_ok || r->is_head)) {
        size_t len = h2_format_length(lbuf, (uint64_t)clen);
        nva[k++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)lbuf, 14, len,
                                NGHTTP2_NV_FLAG_NONE};
    }
    st->resp_body = body_ok && !r->is_head && clen != 0;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2_on_read_body};
    int rv = nghttp2_submit_response(c->ng, st->id, nva, k, st->resp_body ? &prd : NULL);
    if (heap) free(nva), free(lower);
    if (rv != 0) {
        gw_log_warn("HTTP/2 response for %s failed: %s", r->id, nghttp2_strerror(rv));
        st->resp_body = 0;
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    }
    h2_conn_kick(c);
}

static void h2_send_body(gw_req_t *r, const void *data, size_t len)
{
    h2_stream_t *st = r->codec_ctx;
    if (!st->resp_body || len == 0) return; /* HEAD, 204/304, or a response declared empty */
    if (evbuffer_add(st->out, data, len) == 0) {
        st->owned += len;
        st->c->out_bytes += len;
    }
    if (evbuffer_get_length(st->out) >= GW_REQ_HIGH_WATER) st->out_high = 1;
    h2_resume(st);
}

/* A stored answer: referenced, not copied, so it costs neither the stream's memory nor the
 * connection's budget (the entry is shared with every other stream replaying it). */
static void h2_send_body_ref(gw_req_t *r, const void *data, size_t len, void (*release)(void *arg),
                             void *arg)
{
    h2_stream_t *st = r->codec_ctx;
    if (!st->resp_body || len == 0 || gw_body_add_ref(st->out, data, len, release, arg) != 0) {
        h2_send_body(r, data, len); /* nothing to send, or a copy when out of memory */
        release(arg);
        return;
    }
    if (evbuffer_get_length(st->out) >= GW_REQ_HIGH_WATER) st->out_high = 1;
    h2_resume(st);
}

static void h2_finish(gw_req_t *r, int ok)
{
    h2_stream_t *st = r->codec_ctx;
    h2_conn_t *c = st->c;
    if (r->finished) return;
    r->finished = 1;
    if (!ok || !r->head_sent) {
        /* Cut short: only a reset tells an HTTP/2 client the body is incomplete. */
        c->out_bytes -= st->owned;
        st->owned = 0;
        evbuffer_drain(st->out, evbuffer_get_length(st->out));
        st->resp_body = 0;
        st->rst_sent = 1;
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2_conn_kick(c);
        return;
    }
    c->answered++;
    st->out_done = 1;
    h2_resume(st);
}

/* Copies the fields into one block (names lowercased) for the data provider to submit. */
static void h2_send_trailers(gw_req_t *r, const gw_hdr_t *h, size_t n)
{
    h2_stream_t *st = r->codec_ctx;
    if (r->finished) return;
    size_t bytes = n * sizeof(nghttp2_nv);
    for (size_t i = 0; i < n; i++)
        bytes += h[i].name_len + h[i].value_len;
    nghttp2_nv *nv = st->resp_body && n ? malloc(bytes) : NULL;
    if (st->resp_body && n && !nv) {
        h2_finish(r, 0); /* out of memory: a reset, not an answer without its status */
        return;
    }
    if (nv) {
        char *p = (char *)(nv + n);
        for (size_t i = 0; i < n; i++) {
            nv[i] = (nghttp2_nv){(uint8_t *)p, NULL, h[i].name_len, h[i].value_len,
                                 NGHTTP2_NV_FLAG_NONE};
            for (size_t j = 0; j < h[i].name_len; j++) {
                char ch = h[i].name[j];
                *p++ = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            }
            nv[i].value = (uint8_t *)p;
            memcpy(p, h[i].value, h[i].value_len);
            p += h[i].value_len;
        }
        free(st->trailers);
        st->trailers = nv;
        st->ntrailers = n;
    }
    h2_finish(r, st->resp_body ? 1 : 0); /* no DATA provider: trailers cannot follow */
}

static size_t h2_out_pending(gw_req_t *r)
{
    h2_stream_t *st = r->codec_ctx;
    size_t own = evbuffer_get_length(st->out);
    if (st->c->out_bytes < H2_CONN_OUT_BUDGET || own >= GW_REQ_HIGH_WATER) return own;
    st->budget_high = 1; /* full for the connection's sake: on_drain when it is under budget */
    return GW_REQ_HIGH_WATER;
}

static const gw_codec_ops_t h2_codec = {
    .send_head = h2_send_head,
    .send_body = h2_send_body,
    .send_body_ref = h2_send_body_ref,
    .finish = h2_finish,
    .out_pending = h2_out_pending,
    .want_body = h2_want_body,
    .send_trailers = h2_send_trailers,
};
