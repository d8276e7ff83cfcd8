/* HTTP/1.1 server codec on a bufferevent with llhttp. One request at a time per connection:
 * the parser pauses after each message, so pipelined requests are answered strictly in order. */
#include "gateway/http1/server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <llhttp.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gateway/http/bodyref.h"
#include "gateway/http/dispatch.h"
#include "gateway/http1/framing.h"
#include "gateway/http/sockread.h"
#include "gateway/http/head.h"
#include "gateway/http/headers.h"
#include "gateway/core/timer.h"

#define H1_FEED_BYTES  (64u << 10) /* bytes given to llhttp per call; also the input high-water */
#define H1_MAX_HEADERS 256
#define H1_LINGER_MS   2000 /* how long a closing connection keeps dropping client input */

typedef struct h1_conn {
    gw_conn_link_t link; /* first: the worker's list holds &link */
    gw_loop_t *loop;
    struct bufferevent *bev;
    struct event *timer;
    struct event *resume_ev;
    struct event *flush_ev; /* plain sockets: writes the queued response after this callback */
    struct event *read_ev;  /* plain sockets: our own reads (gw_sock_read), not the bev's */
    llhttp_t parser;
    gw_req_t *req; /* the request being read or answered; codec side held */
    char peer[64];

    /* The request line and headers as they arrive: url bytes, then name/value bytes. Its
     * header slots grow to H1_MAX_HEADERS; small while idle (4 KB inline was most of an idle
     * keep-alive connection's memory). */
    gw_head_t head;
    size_t url_len;
    int in_value;

    unsigned in_message : 1;   /* a request has started and is not fully read */
    unsigned msg_complete : 1; /* the current request has been read to its end */
    unsigned paused : 1;       /* parser paused at a message boundary */
    unsigned body_blocked : 1; /* handler is behind on the request body */
    unsigned resume_wait : 1;  /* the next request waits for queued answers to drain */
    unsigned chunked_out : 1;  /* the current response uses chunked framing */
    unsigned close_after : 1;  /* close once the current response is written */
    unsigned closing : 1;      /* flushing the last bytes, then lingering, then free */
    unsigned lingering : 1;    /* flushed and half-closed: dropping input until EOF or timeout */
    unsigned served_any : 1;   /* at least one request was answered */
    /* Plain TCP: responses are written straight to the socket once the current callback is
     * done; the bufferevent writes (EV_WRITE enabled) only what the socket did not take. That
     * saves the two epoll_ctl calls per response of arming and disarming EV_WRITE. */
    unsigned direct : 1;
    unsigned flush_pending : 1;
    unsigned read_full : 1; /* plain sockets: input at H1_FEED_BYTES, reading paused */
} h1_conn_t;

static llhttp_settings_t h1_settings;
static const gw_codec_ops_t h1_codec;

static void h1_free(h1_conn_t *c);
static void h1_process(h1_conn_t *c);

/* ---- timers and closing ---------------------------------------------------------------- */

static void h1_arm_timer(h1_conn_t *c, uint64_t ms)
{
    gw_timer_add_ms(c->timer, ms);
}

/* Writes what is queued (gw_sock_flush). */
static void h1_flush(h1_conn_t *c)
{
    c->flush_pending = 0;
    gw_sock_flush(c->bev);
}

static void h1_on_flush(evutil_socket_t fd, short what, void *arg)
{
    h1_flush(arg);
}

/* Response bytes were queued. */
static void h1_out_added(h1_conn_t *c)
{
    if (!c->direct || c->flush_pending) return;
    c->flush_pending = 1;
    event_active(c->flush_ev, EV_WRITE, 0);
}

/* Stop reading, flush what is queued, then free (from the write callback). */
static void h1_start_closing(h1_conn_t *c)
{
    if (c->closing) return;
    c->closing = 1;
    evtimer_del(c->timer);
    bufferevent_disable(c->bev, EV_READ);
    if (c->read_ev) event_del(c->read_ev);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (c->direct) h1_flush(c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        event_active(c->resume_ev, EV_WRITE, 0); /* free from a callback, not from here */
    else
        h1_arm_timer(c, c->loop->cfg->shutdown_timeout_ms + 1000); /* never wait forever */
}

/* Answers a protocol error and closes: only possible before a response has started. */
static void h1_fail(h1_conn_t *c, int status, const char *fmt, const char *detail)
{
    c->close_after = 1;
    if (!c->req) {
        c->req = gw_req_new(c->loop, &h1_codec, c);
        if (!c->req) {
            h1_start_closing(c);
            return;
        }
        c->req->http_minor = 1;
        snprintf(c->req->peer, sizeof(c->req->peer), "%s", c->peer);
        /* No handler will ever take this request. */
        gw_req_release(c->req, GW_REQ_HANDLER);
    } else if (c->req->handler && c->req->holders & GW_REQ_HANDLER && c->req->handler->on_abort) {
        c->req->handler->on_abort(c->req);
    }
    if (c->req->head_sent) {
        h1_start_closing(c);
        return;
    }
    gw_req_respond_error(c->req, status, fmt, detail);
}

/* True while a request body is being read from the client and nothing of ours holds it back:
 * then the connection's timer is limits.body_timeout, restarted by every read. */
static int h1_body_clock_runs(const h1_conn_t *c)
{
    return c->req && c->in_message && !c->msg_complete && !c->body_blocked && !c->closing &&
           !c->loop->draining;
}

static void h1_body_clock(h1_conn_t *c)
{
    if (h1_body_clock_runs(c)) h1_arm_timer(c, c->loop->cfg->body_timeout_ms);
}

/* The body is complete, or we hold it back: its clock stops (while draining, the timer is the
 * shutdown bound instead and stays). */
static void h1_body_clock_stop(h1_conn_t *c)
{
    if (!c->loop->draining) evtimer_del(c->timer);
}

static void h1_on_timer(evutil_socket_t fd, short what, void *arg)
{
    h1_conn_t *c = arg;
    if (h1_body_clock_runs(c)) {
        h1_fail(c, 408, "Request timeout: %s",
                "request body not received in time (limits.body_timeout)");
        return;
    }
    if (c->closing || !c->in_message || c->req) {
        /* Idle keep-alive, nothing half-read, or a stuck flush: close quietly, like nginx. */
        h1_free(c);
        return;
    }
    h1_fail(c, 408, "Request timeout: %s", "request headers not received in time");
}

/* Both the request and its response are complete: close, or wait for the next request. */
static void h1_request_done(h1_conn_t *c)
{
    gw_req_release(c->req, GW_REQ_CODEC);
    c->req = NULL;
    if (c->close_after) {
        h1_start_closing(c);
        return;
    }
    h1_arm_timer(c, c->loop->cfg->keepalive_timeout_ms);
    event_active(c->resume_ev, EV_READ, 0);
}

/* ---- llhttp callbacks: collecting the request line and headers ---------------------------- */

static int h1_append(h1_conn_t *c, const char *at, size_t len)
{
    if (c->head.len + len > c->loop->cfg->max_header_bytes) {
        llhttp_set_error_reason(&c->parser, "header section too large");
        return HPE_USER;
    }
    return gw_head_append(&c->head, at, len, 1024, NULL);
}

static int h1_on_message_begin(llhttp_t *p)
{
    h1_conn_t *c = p->data;
    c->in_message = 1;
    c->msg_complete = 0;
    gw_head_reset(&c->head);
    c->url_len = 0;
    c->in_value = 0;
    h1_arm_timer(c, c->loop->cfg->header_timeout_ms);
    return 0;
}

static int h1_on_url(llhttp_t *p, const char *at, size_t len)
{
    h1_conn_t *c = p->data;
    int rc = h1_append(c, at, len);
    c->url_len = c->head.len;
    return rc;
}

static int h1_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    h1_conn_t *c = p->data;
    gw_head_t *h = &c->head;
    if (c->in_value || h->nh == 0) {
        gw_hoff_t *o = gw_head_field(h, H1_MAX_HEADERS);
        if (!o && h->nh == H1_MAX_HEADERS) {
            llhttp_set_error_reason(&c->parser, "too many header fields");
            return HPE_USER;
        }
        if (!o) return -1;
        o->name_off = o->value_off = (uint32_t)h->len;
        c->in_value = 0;
    }
    h->hoff[h->nh - 1].name_len += (uint32_t)len;
    h->hoff[h->nh - 1].value_off = (uint32_t)(h->len + len);
    return h1_append(c, at, len);
}

static int h1_on_header_value(llhttp_t *p, const char *at, size_t len)
{
    h1_conn_t *c = p->data;
    if (c->head.nh == 0) return -1;
    c->in_value = 1;
    c->head.hoff[c->head.nh - 1].value_len += (uint32_t)len;
    return h1_append(c, at, len);
}

/* Moves the collected bytes into the request and builds the header views. */
static int h1_build_request(h1_conn_t *c, gw_req_t *r)
{
    if (gw_head_give(&c->head, r, 0) != 0) return -1;
    r->method = llhttp_method_name((llhttp_method_t)c->parser.method);
    r->method_len = strlen(r->method);
    r->target = r->raw ? r->raw : ""; /* no bytes at all: an empty target (400 follows) */
    r->target_len = c->url_len;
    r->path = r->target;
    const char *q = r->target_len ? memchr(r->target, '?', r->target_len) : NULL;
    r->path_len = q ? (size_t)(q - r->target) : r->target_len;
    if (q) {
        r->query = q + 1;
        r->query_len = r->target_len - r->path_len - 1;
    }
    r->http_minor = c->parser.http_minor;
    r->is_head = c->parser.method == HTTP_HEAD;
    int chunked = (c->parser.flags & F_CHUNKED) != 0;
    if (!chunked && (c->parser.flags & F_CONTENT_LENGTH))
        r->content_length = (int64_t)c->parser.content_length;
    r->has_body = chunked || r->content_length > 0;
    memcpy(r->peer, c->peer, sizeof(r->peer)); /* same size, NUL-terminated */
    return 0;
}

/* Expect: 100-continue is answered here, before the body is read; other expectations fail. */
static int h1_handle_expect(h1_conn_t *c, gw_req_t *r)
{
    size_t n;
    const char *v = gw_req_header(r, "expect", &n);
    if (!v) return 0;
    if (!gw_header_has_token(v, n, "100-continue") || r->http_minor == 0) {
        h1_fail(c, 417, "Expectation failed: %s", "only 100-continue is supported");
        return -1;
    }
    if (r->has_body) {
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        h1_out_added(c);
    }
    return 0;
}

static int h1_on_headers_complete(llhttp_t *p)
{
    h1_conn_t *c = p->data;
    evtimer_del(c->timer);
    gw_req_t *r = gw_req_new(c->loop, &h1_codec, c);
    if (!r || h1_build_request(c, r) != 0) {
        if (r) gw_req_release(r, GW_REQ_CODEC | GW_REQ_HANDLER);
        h1_fail(c, 500, "Service internal error: %s", "out of memory");
        return -1;
    }
    c->req = r;
    for (size_t i = 0; i < r->nhdrs; i++) {
        if (!gw_h1_is_token(r->hdrs[i].name, r->hdrs[i].name_len)) {
            gw_req_release(r, GW_REQ_HANDLER);
            h1_fail(c, 400, "Bad request: %s", "invalid character in a header field name");
            return -1;
        }
    }
    gw_req_assign_id(r);
    char msg[256];
    int status = 0;
    if (p->http_major != 1) { /* llhttp 8.1 takes "HTTP/2.0" for a version it can parse */
        snprintf(msg, sizeof(msg), "HTTP version not supported: HTTP/%d.%d on an HTTP/1.1 listener",
                 p->http_major, p->http_minor);
        status = 505;
    }
    if (!status) status = gw_h1_check_framing(r, msg, sizeof(msg));
    if (!status && gw_h1_absolute_form(r) != 0) {
        snprintf(msg, sizeof(msg), "Bad request: an absolute-form target needs a host");
        status = 400;
    }
    if (!status) status = gw_req_admit(r, c->loop->cfg->max_body_bytes, msg, sizeof(msg));
    if (status) {
        gw_req_release(r, GW_REQ_HANDLER);
        h1_fail(c, status, "%s", msg);
        return -1;
    }
    if (h1_handle_expect(c, r) != 0) {
        gw_req_release(r, GW_REQ_HANDLER);
        return -1;
    }
    if (p->upgrade)
        c->close_after = 1; /* Upgrade (h2c, websocket) is answered in HTTP/1.1, then closed */
    if (!r->has_body) r->body_done = 1;
    gw_dispatch(r);
    if (r->has_body && c->req == r) h1_body_clock(c);
    return c->closing ? -1 : 0;
}

static int h1_on_body(llhttp_t *p, const char *at, size_t len)
{
    h1_conn_t *c = p->data;
    gw_req_t *r = c->req;
    h1_body_clock(c); /* the client is still sending: its clock starts over */
    if (!r || r->finished || !(r->holders & GW_REQ_HANDLER))
        return 0; /* answered already: the rest of the body is read and dropped */
    r->body_received += len;
    if (!(r->route.flags & GW_ROUTE_F_STREAM) && r->body_received > c->loop->cfg->max_body_bytes) {
        char detail[128];
        snprintf(detail, sizeof(detail), "request body is larger than allowed (limit: %llu bytes)",
                 (unsigned long long)c->loop->cfg->max_body_bytes);
        h1_fail(c, 413, "Payload too large: %s", detail);
        return HPE_USER;
    }
    evbuffer_add(r->body, at, len);
    if (r->handler && r->handler->on_body) r->handler->on_body(r);
    return 0;
}

static int h1_on_message_complete(llhttp_t *p)
{
    h1_conn_t *c = p->data;
    c->msg_complete = 1;
    c->in_message = 0;
    h1_body_clock_stop(c);
    gw_req_t *r = c->req;
    if (r && !r->body_done) {
        r->body_done = 1;
        if ((r->holders & GW_REQ_HANDLER) && !r->finished && r->handler && r->handler->on_body) {
            r->handler->on_body(r);
            /* A handler that answered right here (a cache hit) ended the request through
             * h1_finish, which released our side: r may be gone. */
            if (!c->req) return c->closing ? -1 : HPE_PAUSED;
        }
    }
    if (r && r->finished) {
        /* Answered before the body ended (or before this callback): the request is over. */
        h1_request_done(c);
        if (c->closing) return -1;
    }
    return HPE_PAUSED; /* next pipelined request waits for this response */
}

/* ---- reading --------------------------------------------------------------------------- */

static void h1_parse_error(h1_conn_t *c, llhttp_errno_t e)
{
    if (c->closing) return;
    if (e == HPE_PAUSED_H2_UPGRADE) {
        /* Prior-knowledge HTTP/2 is recognised before the first request (gateway/conn.c);
         * here it follows HTTP/1.1 requests, or came after ALPN chose http/1.1. */
        h1_fail(c, 505, "HTTP version not supported: %s",
                "the HTTP/2 preface must open the connection");
        return;
    }
    const char *reason = llhttp_get_error_reason(&c->parser);
    if (e == HPE_USER && reason && strstr(reason, "header")) {
        h1_fail(c, 431, "Request header fields too large: %s", reason);
        return;
    }
    if (c->req && c->req->head_sent) {
        h1_start_closing(c);
        return;
    }
    if (e == HPE_INVALID_VERSION) {
        h1_fail(c, 505, "HTTP version not supported: %s", "this listener speaks HTTP/1.0 and 1.1");
        return;
    }
    h1_fail(c, 400, "Bad request: %s", reason ? reason : llhttp_errno_name(e));
}

static void h1_process(h1_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->closing && !c->paused && !c->body_blocked) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) break;
        size_t n = len < H1_FEED_BYTES ? len : H1_FEED_BYTES;
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
        size_t used = n;
        if (e != HPE_OK) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            used = pos && pos >= data && pos <= data + n ? (size_t)(pos - data) : n;
        }
        evbuffer_drain(in, used);
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            c->paused = 1;
            break;
        }
        if (e != HPE_OK) {
            h1_parse_error(c, e);
            break;
        }
        gw_req_t *r = c->req;
        if (r && !r->finished && evbuffer_get_length(r->body) >= GW_REQ_HIGH_WATER) {
            c->body_blocked = 1; /* the input buffer fills to its high-water mark and stops */
            h1_body_clock_stop(c);
        }
    }
    if (c->read_full && !c->closing && evbuffer_get_length(in) < H1_FEED_BYTES) {
        c->read_full = 0;
        event_add(c->read_ev, NULL);
    }
}

static void h1_on_read(struct bufferevent *bev, void *arg)
{
    h1_conn_t *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    h1_process(c);
}

static void h1_on_event(struct bufferevent *bev, short what, void *arg);

/* Plain sockets: one readv of what fits below H1_FEED_BYTES (the high-water mark the
 * bufferevent kept for TLS), then the same processing as the bufferevent's read callback. */
static void h1_on_sock_read(evutil_socket_t fd, short what, void *arg)
{
    h1_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len >= H1_FEED_BYTES && !c->lingering) {
        c->read_full = 1;
        event_del(c->read_ev);
        return;
    }
    evbuffer_unfreeze(in, 0); /* the socket bufferevent freezes its input's end */
    ssize_t n = gw_sock_read(in, fd, c->lingering ? H1_FEED_BYTES : H1_FEED_BYTES - len);
    int saved = errno;
    evbuffer_freeze(in, 0);
    if (n > 0) {
        h1_on_read(c->bev, c);
        return;
    }
    if (n < 0 && (saved == EAGAIN || saved == EWOULDBLOCK)) return;
    h1_on_event(c->bev,
                n == 0 ? BEV_EVENT_EOF | BEV_EVENT_READING : BEV_EVENT_ERROR | BEV_EVENT_READING,
                c);
}

/* A closing connection has written everything. Closing a socket with unread input makes the
 * kernel send a reset, which can destroy the response before the client reads it (a 413 while
 * the client is still uploading). So half-close and keep dropping input until the client
 * closes or H1_LINGER_MS passes, like nginx's lingering close. */
static void h1_flushed(h1_conn_t *c)
{
    if (c->lingering) return;
    c->lingering = 1;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->read_ev) {
        c->read_full = 0;
        event_add(c->read_ev, NULL);
    } else {
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
        bufferevent_enable(c->bev, EV_READ);
    }
    h1_arm_timer(c, H1_LINGER_MS);
}

/* Resumes after a response (next pipelined request), after body backpressure, or finishes a
 * connection whose last bytes were flushed. */
static void h1_on_resume(evutil_socket_t fd, short what, void *arg)
{
    h1_conn_t *c = arg;
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) h1_flushed(c);
        return;
    }
    if (c->paused && !c->req) {
        /* A pipelining client that does not read its answers: the next request waits until
         * they drain below the low-water mark (h1_on_write), so a connection holds at most
         * about GW_REQ_HIGH_WATER of answers, not one per pipelined request. */
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (c->direct && c->flush_pending && evbuffer_get_length(out) >= GW_REQ_HIGH_WATER)
            h1_flush(c);
        if (evbuffer_get_length(out) >= GW_REQ_HIGH_WATER) {
            c->resume_wait = 1;
            if (!(bufferevent_get_enabled(c->bev) & EV_WRITE)) bufferevent_enable(c->bev, EV_WRITE);
            return;
        }
        c->paused = 0;
        llhttp_resume(&c->parser);
    }
    h1_process(c);
}

static void h1_on_write(struct bufferevent *bev, void *arg)
{
    h1_conn_t *c = arg;
    if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE); /* caught up: back to writing directly */
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) h1_flushed(c);
        return;
    }
    if (c->resume_wait && evbuffer_get_length(bufferevent_get_output(bev)) < GW_REQ_HIGH_WATER) {
        c->resume_wait = 0;
        event_active(c->resume_ev, EV_READ, 0);
    }
    gw_req_t *r = c->req;
    if (r && !r->finished && (r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_drain)
        r->handler->on_drain(r);
}

static void h1_on_event(struct bufferevent *bev, short what, void *arg)
{
    /* EOF or error: the client is gone (a half-closed client cannot be told apart from an
     * aborted one here, and proxies conventionally treat both as abort). */
    h1_free(arg);
}

/* ---- codec ops: writing responses -------------------------------------------------------- */

static int h1_status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

/* The response head is assembled here and added to the output in one piece (no printf). */
typedef struct h1_head {
    char buf[4096];
    size_t len;
    struct evbuffer *out; /* what did not fit goes straight to the output */
} h1_head_t;

static void head_put(h1_head_t *hd, const char *s, size_t n)
{
    if (hd->len + n > sizeof(hd->buf)) {
        evbuffer_add(hd->out, hd->buf, hd->len);
        hd->len = 0;
        if (n > sizeof(hd->buf)) {
            evbuffer_add(hd->out, s, n);
            return;
        }
    }
    memcpy(hd->buf + hd->len, s, n);
    hd->len += n;
}

static void head_num(h1_head_t *hd, uint64_t v)
{
    char d[24];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    head_put(hd, d + i, sizeof(d) - i);
}

static void h1_send_head(gw_req_t *r, int status, const gw_hdr_t *h, size_t n, int64_t clen)
{
    h1_conn_t *c = r->codec_ctx;
    h1_head_t hd;
    hd.len = 0;
    hd.out = bufferevent_get_output(c->bev);
    r->head_sent = 1;
    r->status = status;
    const char *reason = gw_http_reason(status);
    head_put(&hd, "HTTP/1.1 ", 9);
    head_num(&hd, status < 100 || status > 999 ? 500 : (uint64_t)status);
    head_put(&hd, " ", 1);
    head_put(&hd, reason, strlen(reason));
    head_put(&hd, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        if (gw_header_name_eq(h[i].name, h[i].name_len, "content-length") ||
            gw_header_is_hop_by_hop(h[i].name, h[i].name_len, NULL, 0))
            continue;
        head_put(&hd, h[i].name, h[i].name_len);
        head_put(&hd, ": ", 2);
        head_put(&hd, h[i].value, h[i].value_len);
        head_put(&hd, "\r\n", 2);
    }
    c->chunked_out = 0;
    if (clen >= 0 && (h1_status_has_body(status) || r->is_head)) {
        head_put(&hd, "Content-Length: ", 16);
        head_num(&hd, (uint64_t)clen);
        head_put(&hd, "\r\n", 2);
    } else if (h1_status_has_body(status) && !r->is_head) {
        if (r->http_minor >= 1)
            c->chunked_out = 1;
        else
            c->close_after = 1; /* HTTP/1.0: the end of the body is the end of the connection */
    }
    if (c->chunked_out) head_put(&hd, "Transfer-Encoding: chunked\r\n", 28);
    if (!llhttp_should_keep_alive(&c->parser) || c->loop->draining || c->loop->retiring)
        c->close_after = 1;
    if (c->close_after)
        head_put(&hd, "Connection: close\r\n\r\n", 21);
    else if (r->http_minor == 0)
        head_put(&hd, "Connection: keep-alive\r\n\r\n", 26);
    else
        head_put(&hd, "\r\n", 2);
    evbuffer_add(hd.out, hd.buf, hd.len);
    h1_out_added(c);
}

static void h1_send_body(gw_req_t *r, const void *data, size_t len)
{
    h1_conn_t *c = r->codec_ctx;
    if (r->is_head || len == 0) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->chunked_out) evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (c->chunked_out) evbuffer_add(out, "\r\n", 2);
    h1_out_added(c);
}

/* A stored answer: its bytes are referenced by the output, not copied, and go out in the same
 * writev as the head (evbuffer_write gathers every chain); released once written or dropped. */
static void h1_send_body_ref(gw_req_t *r, const void *data, size_t len, void (*release)(void *arg),
                             void *arg)
{
    h1_conn_t *c = r->codec_ctx;
    if (r->is_head || len == 0) {
        release(arg);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->chunked_out) evbuffer_add_printf(out, "%zx\r\n", len);
    if (gw_body_add_ref(out, data, len, release, arg) != 0) {
        evbuffer_add(out, data, len);
        release(arg);
    }
    if (c->chunked_out) evbuffer_add(out, "\r\n", 2);
    h1_out_added(c);
}

static void h1_finish(gw_req_t *r, int ok)
{
    h1_conn_t *c = r->codec_ctx;
    if (r->finished) return;
    r->finished = 1;
    c->served_any = 1;
    if (!ok) {
        /* Cut short: closing without the terminal chunk (or short of Content-Length) is how
         * HTTP/1.1 tells the client the body is incomplete. */
        c->close_after = 1;
    } else if (c->chunked_out && !r->is_head) {
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
        h1_out_added(c);
    }
    if (!c->msg_complete) {
        /* Body still arriving: keep reading and dropping it unless we are closing anyway. */
        if (c->close_after) h1_start_closing(c);
        return;
    }
    h1_request_done(c);
}

static size_t h1_out_pending(gw_req_t *r)
{
    h1_conn_t *c = r->codec_ctx;
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void h1_want_body(gw_req_t *r, int want)
{
    h1_conn_t *c = r->codec_ctx;
    if (want && c->body_blocked) {
        c->body_blocked = 0;
        h1_body_clock(c);
        event_active(c->resume_ev, EV_READ, 0);
    } else if (!want) {
        c->body_blocked = 1;
        h1_body_clock_stop(c);
    }
}

static const gw_codec_ops_t h1_codec = {
    .send_head = h1_send_head,
    .send_body = h1_send_body,
    .send_body_ref = h1_send_body_ref,
    .finish = h1_finish,
    .out_pending = h1_out_pending,
    .want_body = h1_want_body,
};

/* ---- lifetime -------------------------------------------------------------------------- */

static void h1_drain(gw_conn_link_t *link)
{
    h1_conn_t *c = (h1_conn_t *)link;
    if (!c->req && !c->in_message)
        h1_start_closing(c);
    else
        c->close_after = 1;
}

static void h1_free(h1_conn_t *c)
{
    gw_req_t *r = c->req;
    if (r) {
        c->req = NULL;
        if ((r->holders & GW_REQ_HANDLER) && r->handler && r->handler->on_abort)
            r->handler->on_abort(r);
        gw_req_release(r, GW_REQ_CODEC);
    }
    gw_loop_conn_remove(c->loop, &c->link);
    atomic_fetch_sub(c->loop->connections, 1);
    event_free(c->timer);
    event_free(c->resume_ev);
    event_free(c->flush_ev);
    if (c->read_ev) event_free(c->read_ev);
    bufferevent_free(c->bev);
    gw_head_free(&c->head);
    free(c);
}

static void h1_destroy(gw_conn_link_t *link)
{
    h1_free((h1_conn_t *)link);
}

/* Every worker thread starts connections: the table is filled once, under pthread_once. */
static pthread_once_t h1_settings_done = PTHREAD_ONCE_INIT;

static void h1_settings_fill(void)
{
    llhttp_settings_init(&h1_settings);
    h1_settings.on_message_begin = h1_on_message_begin;
    h1_settings.on_url = h1_on_url;
    h1_settings.on_header_field = h1_on_header_field;
    h1_settings.on_header_value = h1_on_header_value;
    h1_settings.on_headers_complete = h1_on_headers_complete;
    h1_settings.on_body = h1_on_body;
    h1_settings.on_message_complete = h1_on_message_complete;
}

int gw_h1_conn_start(gw_loop_t *l, struct bufferevent *bev, const char *peer, int refuse)
{
    h1_conn_t *c = calloc(1, sizeof(*c));
    struct event *timer = c ? evtimer_new(l->base, h1_on_timer, c) : NULL;
    struct event *resume_ev = c ? event_new(l->base, -1, 0, h1_on_resume, c) : NULL;
    struct event *flush_ev = c ? event_new(l->base, -1, 0, h1_on_flush, c) : NULL;
    if (!c || !timer || !resume_ev || !flush_ev) {
        if (timer) event_free(timer);
        if (resume_ev) event_free(resume_ev);
        if (flush_ev) event_free(flush_ev);
        free(c);
        bufferevent_free(bev);
        atomic_fetch_sub(l->connections, 1);
        return -1;
    }
    c->loop = l;
    c->bev = bev;
    c->timer = timer;
    c->resume_ev = resume_ev;
    c->flush_ev = flush_ev;
    c->direct = bufferevent_openssl_get_ssl(bev) == NULL;
    pthread_once(&h1_settings_done, h1_settings_fill);
    llhttp_init(&c->parser, HTTP_REQUEST, &h1_settings);
    c->parser.data = c;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->link.drain = h1_drain;
    c->link.destroy = h1_destroy;
    c->link.proto = GW_PROTO_HTTP1;
    gw_loop_conn_add(l, &c->link);
    bufferevent_setcb(c->bev, h1_on_read, h1_on_write, h1_on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, H1_FEED_BYTES);
    bufferevent_setwatermark(c->bev, EV_WRITE, GW_REQ_LOW_WATER, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (c->direct) {
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        c->read_ev =
            event_new(l->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST, h1_on_sock_read, c);
        if (!c->read_ev || event_add(c->read_ev, NULL) != 0) {
            h1_free(c);
            return -1;
        }
    }
    if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) > 0) h1_out_added(c);
    h1_arm_timer(c, l->cfg->header_timeout_ms);
    if (refuse) {
        h1_fail(c, 503, "Service unavailable: %s", "too many connections (server.max_connections)");
        return 0;
    }
    /* The bytes that decided the protocol are already buffered: parse them from the loop. */
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) event_active(c->resume_ev, EV_READ, 0);
    return 0;
}
