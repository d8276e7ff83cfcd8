/* The own engine of the upstream pool: HTTP/1.1 to an http:// Qdrant over plain non-blocking
 * sockets on the worker's loop, answers parsed with llhttp. Each worker keeps at most
 * upstream.max_connections keep-alive connections, reuses the most recently used first (a hot
 * set stays warm, the rest time out after upstream.idle_timeout), and queues transfers when all
 * are busy. One request at a time per connection (no pipelining).
 *
 * Per exchange on a warm connection the cost is one writev (head and body from the client's
 * buffer, no copy) and one read: no allocation, no epoll_ctl. A body complete before the
 * transfer starts ("whole") is never drained, so a read that fails on a reused connection
 * before any answer byte (Qdrant closed it while idle) is sent again once, on a new
 * connection. Bodies still arriving are streamed (Content-Length, or chunked when the length
 * is unknown) and never retried. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/upstream/h1_engine_int.h"
#include "gateway/upstream/internal.h"
#include "gateway/core/timer.h"

#define PXH_MAX_HEAD (256u << 10) /* larger answer header sections fail the transfer */

static llhttp_settings_t pxh_settings;
static pthread_once_t pxh_settings_once = PTHREAD_ONCE_INIT;

static void pxh_send(pxh_conn_t *c);
static void pxh_acquire(px_xfer_t *x, int fresh);

/* ---- connections ------------------------------------------------------------------------- */

static void pxh_idle_unlink(pxh_conn_t *c)
{
    if (!c->idle) return;
    pxh_pool_t *p = c->pool;
    for (pxh_conn_t **pp = &p->idle; *pp; pp = &(*pp)->idle_next) {
        if (*pp == c) {
            *pp = c->idle_next;
            break;
        }
    }
    c->idle = 0;
    c->idle_next = NULL;
    evtimer_del(c->idle_timer);
}

static void pxh_conn_close(pxh_conn_t *c)
{
    pxh_pool_t *p = c->pool;
    gw_wstats_t *st = p->px->loop->stats;
    pxh_idle_unlink(c);
    if (c->x) c->x->conn = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->idle_timer);
    close(c->fd);
    if (st) gw_stat_inc(&st->upstream_closed);
    p->nconns--;
    free(c);
}

static void pxh_on_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
    pxh_conn_close(arg);
}

static void pxh_on_read(evutil_socket_t fd, short what, void *arg);
static void pxh_on_write(evutil_socket_t fd, short what, void *arg);

/* A new connection to the upstream name's current address, connecting (or connected: loopback
 * often is at once). NULL with errno (EADDRNOTAVAIL: the name has no address). */
static pxh_conn_t *pxh_conn_open(pxh_pool_t *p)
{
    struct event_base *base = p->px->loop->base;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (gw_dns_name_pick(p->peer->name, &ss, &sslen) != 0) {
        errno = EADDRNOTAVAIL;
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    pxh_conn_t *c = calloc(1, sizeof(*c));
    if (!c) goto fail;
    c->pool = p;
    c->fd = fd;
    c->rev = event_new(base, fd, EV_READ | EV_PERSIST, pxh_on_read, c);
    c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, pxh_on_write, c);
    c->idle_timer = evtimer_new(base, pxh_on_idle_timeout, c);
    if (!c->rev || !c->wev || !c->idle_timer) goto fail;
    gw_dns_addr_format(&ss, c->addr, sizeof(c->addr));
    c->addr_gen = p->addr_gen;
    if (connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
        if (errno != EINPROGRESS) goto fail;
        c->connecting = 1;
        event_add(c->wev, NULL);
    }
    event_add(c->rev, NULL);
    c->next = p->conns;
    if (p->conns) p->conns->prev = c;
    p->conns = c;
    p->nconns++;
    if (p->px->loop->stats) gw_stat_inc(&p->px->loop->stats->upstream_opened);
    return c;
fail:;
    int e = errno;
    if (c) {
        if (c->rev) event_free(c->rev);
        if (c->wev) event_free(c->wev);
        if (c->idle_timer) event_free(c->idle_timer);
        free(c);
    }
    close(fd);
    errno = e ? e : ENOMEM;
    return NULL;
}

/* ---- transfers on connections ------------------------------------------------------------ */

uint64_t pxh_deadline_ms(const px_xfer_t *x)
{
    const gw_config_t *cfg = x->px->loop->cfg;
    uint64_t t = cfg->upstream_timeout_ms;
    if (x->req && (x->req->route.flags & GW_ROUTE_F_STREAM)) return t; /* idle window */
    uint64_t spent = (gw_mono_us() - x->start_us) / 1000;
    return spent < t ? t - spent : 1;
}

/* Hands a connection (connected or connecting) to a transfer. */
static void pxh_attach(pxh_conn_t *c, px_xfer_t *x)
{
    c->x = x;
    x->conn = c;
    c->got_bytes = c->msg_done = c->keep_alive = c->in_value = 0;
    llhttp_init(&c->parser, HTTP_RESPONSE, &pxh_settings);
    c->parser.data = c;
    if (c->connecting) {
        uint64_t ct = x->px->loop->cfg->upstream_connect_timeout_ms, left = pxh_deadline_ms(x);
        gw_timer_add_ms(x->timer, ct < left ? ct : left);
        return;
    }
    pxh_send(c);
}

/* A transfer waiting for a connection gets the first free one. */
static void pxh_wait_push(pxh_pool_t *p, px_xfer_t *x)
{
    x->queued = 1;
    x->wait_next = NULL;
    if (p->wait_tail)
        p->wait_tail->wait_next = x;
    else
        p->wait_head = x;
    p->wait_tail = x;
}

static void pxh_wait_remove(pxh_pool_t *p, px_xfer_t *x)
{
    px_xfer_t *prev = NULL;
    for (px_xfer_t *y = p->wait_head; y; prev = y, y = y->wait_next) {
        if (y != x) continue;
        if (prev)
            prev->wait_next = y->wait_next;
        else
            p->wait_head = y->wait_next;
        if (p->wait_tail == y) p->wait_tail = prev;
        break;
    }
    x->queued = 0;
    x->wait_next = NULL;
}

static px_xfer_t *pxh_wait_pop(pxh_pool_t *p)
{
    px_xfer_t *x = p->wait_head;
    if (x) pxh_wait_remove(p, x);
    return x;
}

/* Ends x (which no connection carries any more) with a failure. */
static void pxh_fail(px_xfer_t *x, gw_proxy_end_t end, int uperr)
{
    evtimer_del(x->timer);
    px_complete(x, (px_outcome_t){end, uperr, x->errbuf});
}

/* After a connection closed: a waiting transfer may now open one. */
static void pxh_kick_waiters(pxh_pool_t *p)
{
    while (p->wait_head && p->nconns < p->px->loop->cfg->upstream_max_connections) {
        px_xfer_t *x = pxh_wait_pop(p);
        pxh_acquire(x, 1);
    }
}

/* A connection becomes free: the oldest waiter takes it, or it goes on the idle stack. */
static void pxh_release(pxh_conn_t *c)
{
    pxh_pool_t *p = c->pool;
    c->x = NULL;
    c->reused = 1;
    if (c->read_paused) {
        c->read_paused = 0;
        event_add(c->rev, NULL);
    }
    if (c->addr_gen != p->addr_gen) { /* to where the upstream was before it moved */
        pxh_conn_close(c);
        pxh_kick_waiters(p);
        return;
    }
    px_xfer_t *w = pxh_wait_pop(p);
    if (w) {
        pxh_attach(c, w);
        return;
    }
    c->idle = 1;
    c->idle_next = p->idle;
    p->idle = c;
    gw_timer_add_ms(c->idle_timer, p->px->loop->cfg->upstream_idle_timeout_ms);
}

static void pxh_acquire(px_xfer_t *x, int fresh)
{
    pxh_pool_t *p = x->peer->h1;
    pxh_conn_t *c = fresh ? NULL : p->idle;
    if (c) {
        pxh_idle_unlink(c);
        pxh_attach(c, x);
        return;
    }
    if (p->nconns >= x->px->loop->cfg->upstream_max_connections && p->idle)
        pxh_conn_close(p->idle); /* a retry wants a new connection: make room */
    if (p->nconns >= x->px->loop->cfg->upstream_max_connections) {
        pxh_wait_push(p, x);
        return;
    }
    c = pxh_conn_open(p);
    if (!c) {
        if (errno == EADDRNOTAVAIL) {
            const char *why = gw_dns_name_error(x->peer->name);
            snprintf(x->errbuf, sizeof(x->errbuf), "upstream host %s does not resolve: %s",
                     gw_dns_name_host(x->peer->name), why[0] ? why : "no address");
        } else {
            snprintf(x->errbuf, sizeof(x->errbuf), "connect to %s: %s", p->authority,
                     strerror(errno));
            px_addr_failed(x->peer);
        }
        pxh_fail(x, GW_PROXY_UNREACHABLE, GW_UPERR_REFUSED);
        return;
    }
    pxh_attach(c, x);
}

/* Only reads go again after a failure: a write might have been applied. */
static int pxh_may_retry(const px_xfer_t *x, const pxh_conn_t *c)
{
    const gw_req_t *r = x->req;
    if (!r || !r->codec || !x->whole || x->retried || !c->reused || c->got_bytes) return 0;
    return r->route.cls == GW_ROUTE_QDRANT_READ || r->route.cls == GW_ROUTE_QDRANT_READ_VOLATILE ||
           strcmp(r->method, "GET") == 0 || r->is_head;
}

/* The connection broke (errno-style cause in x->errbuf already): close it, and either send the
 * transfer again on a new connection or fail it. */
static void pxh_conn_failed(pxh_conn_t *c, gw_proxy_end_t end, int uperr)
{
    pxh_pool_t *p = c->pool;
    px_xfer_t *x = c->x;
    int retry = x && end == GW_PROXY_FAILED && pxh_may_retry(x, c);
    pxh_conn_close(c);
    if (x) {
        if (retry) {
            gw_log_debug("upstream connection closed before answering %s %.*s (id %s): "
                         "sending it again on a new connection",
                         x->req->method, (int)x->req->target_len, x->req->target, x->req->id);
            x->retried = 1;
            x->sent = 0;
            pxh_acquire(x, 1);
        } else {
            pxh_fail(x, end, uperr);
        }
    }
    pxh_kick_waiters(p);
}

static int pxh_errno_kind(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ECONNABORTED ? GW_UPERR_RESET : GW_UPERR_OTHER;
}

/* ---- writing the request ----------------------------------------------------------------- */

static void pxh_send(pxh_conn_t *c)
{
    px_xfer_t *x = c->x;
    if (!x || !x->req || pxh_write_done(x)) {
        event_del(c->wev);
        return;
    }
    int rc = pxh_write(c, x);
    if (rc < 0) {
        int e = errno;
        snprintf(x->errbuf, sizeof(x->errbuf), "sending to %s: %s", c->pool->authority,
                 strerror(e));
        pxh_conn_failed(c, GW_PROXY_FAILED, pxh_errno_kind(e));
        return;
    }
    if (rc > 0)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
}

static void pxh_on_write(evutil_socket_t fd, short what, void *arg)
{
    pxh_conn_t *c = arg;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == EINPROGRESS) return;
        if (err) {
            px_xfer_t *x = c->x;
            if (x)
                snprintf(x->errbuf, sizeof(x->errbuf), "connect to %s (%s): %s", c->pool->authority,
                         c->addr, strerror(err));
            px_addr_failed(c->pool->peer); /* maybe it moved: ask DNS again */
            pxh_conn_failed(c, GW_PROXY_UNREACHABLE, GW_UPERR_REFUSED);
            return;
        }
        c->connecting = 0;
        gw_timer_add_ms(c->x->timer, pxh_deadline_ms(c->x));
    }
    pxh_send(c);
}

/* ---- reading the answer ------------------------------------------------------------------ */

static int pxh_hdr_add(pxh_conn_t *c, const char *at, size_t len)
{
    px_xfer_t *x = c->x;
    if (evbuffer_get_length(x->resp_hdrs) + len > PXH_MAX_HEAD) {
        llhttp_set_error_reason(&c->parser, "header section too large");
        return HPE_USER;
    }
    evbuffer_add(x->resp_hdrs, at, len);
    return 0;
}

static int pxh_on_message_begin(llhttp_t *p)
{
    pxh_conn_t *c = p->data;
    evbuffer_drain(c->x->resp_hdrs, evbuffer_get_length(c->x->resp_hdrs));
    c->in_value = 0;
    return 0;
}

static int pxh_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    pxh_conn_t *c = p->data;
    if (c->in_value) {
        c->in_value = 0;
        if (pxh_hdr_add(c, "\r\n", 2)) return HPE_USER;
    }
    return pxh_hdr_add(c, at, len);
}

static int pxh_on_header_value(llhttp_t *p, const char *at, size_t len)
{
    pxh_conn_t *c = p->data;
    if (!c->in_value) {
        c->in_value = 1;
        if (pxh_hdr_add(c, ": ", 2)) return HPE_USER;
    }
    return pxh_hdr_add(c, at, len);
}

static int pxh_on_headers_complete(llhttp_t *p)
{
    pxh_conn_t *c = p->data;
    px_xfer_t *x = c->x;
    if (c->in_value && pxh_hdr_add(c, "\r\n", 2)) return HPE_USER;
    c->in_value = 0;
    /* RFC 9110 15: invalid. llhttp takes any three digits, and "HTTP/1.1 \r\n" as 0, whose
     * body would then be relayed as if an interim answer's. */
    if (p->status_code < 100 || p->status_code > 599) return -1;
    if (p->status_code < 200) return 1; /* 1xx: no body (see below); the final answer follows */
    x->status = p->status_code;
    if (x->req && x->req->codec && !x->head_forwarded) px_forward_head(x);
    /* RFC 9112 6.3: no body for an answer to HEAD, nor for 1xx, 204 and 304, whatever the head
     * says (llhttp 8 reads one up to the close after a Transfer-Encoding that is not chunked). */
    return (x->req && x->req->is_head) || x->status == 204 || x->status == 304 ? 1 : 0;
}

static int pxh_on_resp_body(llhttp_t *p, const char *at, size_t len)
{
    pxh_conn_t *c = p->data;
    px_xfer_t *x = c->x;
    if (x->req && x->req->codec) px_relay_body(x, at, len);
    return 0;
}

static int pxh_on_message_complete(llhttp_t *p)
{
    pxh_conn_t *c = p->data;
    if (p->status_code < 200) return 0;
    c->msg_done = 1;
    c->keep_alive = llhttp_should_keep_alive(p) ? 1 : 0;
    return HPE_PAUSED; /* anything after the answer is not ours */
}

static void pxh_settings_init(void)
{
    llhttp_settings_init(&pxh_settings);
    pxh_settings.on_message_begin = pxh_on_message_begin;
    pxh_settings.on_header_field = pxh_on_header_field;
    pxh_settings.on_header_value = pxh_on_header_value;
    pxh_settings.on_headers_complete = pxh_on_headers_complete;
    pxh_settings.on_body = pxh_on_resp_body;
    pxh_settings.on_message_complete = pxh_on_message_complete;
}

/* The answer is complete: the connection goes back (or closes), then the client is answered. */
static void pxh_done(pxh_conn_t *c, int leftover)
{
    px_xfer_t *x = c->x;
    int reuse = c->keep_alive && !leftover && pxh_write_done(x);
    evtimer_del(x->timer);
    x->conn = NULL;
    c->x = NULL;
    if (reuse) {
        pxh_release(c);
    } else {
        pxh_pool_t *p = c->pool;
        pxh_conn_close(c);
        pxh_kick_waiters(p);
    }
    px_complete(x, (px_outcome_t){GW_PROXY_OK, -1, NULL});
}

static void pxh_on_eof(pxh_conn_t *c)
{
    px_xfer_t *x = c->x;
    if (!x) {
        pxh_conn_close(c); /* Qdrant closed an idle connection */
        return;
    }
    if (c->got_bytes) {
        llhttp_errno_t e = llhttp_finish(&c->parser);
        if ((e == HPE_OK || e == HPE_PAUSED) && c->msg_done) {
            c->keep_alive = 0;
            pxh_done(c, 0); /* an answer delimited by the end of the connection */
            return;
        }
    }
    snprintf(x->errbuf, sizeof(x->errbuf), "%s closed the connection %s", c->pool->authority,
             c->got_bytes ? "in the middle of the answer" : "without answering");
    pxh_conn_failed(c, GW_PROXY_FAILED, GW_UPERR_RESET);
}

static void pxh_on_read(evutil_socket_t fd, short what, void *arg)
{
    pxh_conn_t *c = arg;
    pxh_pool_t *p = c->pool;
    if (c->connecting) {
        pxh_on_write(fd, EV_WRITE, c); /* refused connects are reported as readable too */
        return;
    }
    ssize_t n = read(fd, p->rbuf, sizeof(p->rbuf));
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (c->x)
            snprintf(c->x->errbuf, sizeof(c->x->errbuf), "reading from %s: %s", p->authority,
                     strerror(errno));
        pxh_conn_failed(c, GW_PROXY_FAILED, pxh_errno_kind(errno));
        return;
    }
    if (n == 0) {
        pxh_on_eof(c);
        return;
    }
    px_xfer_t *x = c->x;
    if (!x) {
        gw_log_warn("upstream %s sent %zd bytes nobody asked for: closing that connection",
                    p->authority, n);
        pxh_conn_close(c);
        return;
    }
    c->got_bytes = 1;
    if (x->req && (x->req->route.flags & GW_ROUTE_F_STREAM))
        gw_timer_add_ms(x->timer, pxh_deadline_ms(x));
    llhttp_errno_t e = llhttp_execute(&c->parser, p->rbuf, (size_t)n);
    if (e == HPE_PAUSED && c->msg_done) {
        const char *end = llhttp_get_error_pos(&c->parser);
        pxh_done(c, end && end < p->rbuf + n);
        return;
    }
    if (e != HPE_OK) {
        const char *why = llhttp_get_error_reason(&c->parser);
        char st[48];
        if (e == HPE_CB_HEADERS_COMPLETE &&
            (c->parser.status_code < 100 || c->parser.status_code > 599)) {
            snprintf(st, sizeof(st), "status %d outside 100..599", c->parser.status_code);
            why = st; /* llhttp's reason for a callback's error says only that */
        }
        snprintf(x->errbuf, sizeof(x->errbuf), "invalid answer from %s: %s", p->authority,
                 why ? why : llhttp_errno_name(e));
        pxh_conn_failed(c, GW_PROXY_FAILED, GW_UPERR_OTHER);
        return;
    }
    gw_req_t *r = x->req;
    if (r && r->codec && !x->swallowed && r->codec->out_pending(r) >= GW_REQ_HIGH_WATER) {
        c->read_paused = 1; /* resumed from on_drain when the client has read enough */
        event_del(c->rev);
    }
}

/* ---- the engine's hooks (px_engine_t) -------------------------------------------------------- */

static void pxh_on_timer(evutil_socket_t fd, short what, void *arg)
{
    px_xfer_t *x = arg;
    pxh_pool_t *p = x->peer->h1;
    const gw_config_t *cfg = x->px->loop->cfg;
    if (x->queued) {
        pxh_wait_remove(p, x);
        snprintf(x->errbuf, sizeof(x->errbuf), "all %d connections to %s stayed busy for %llu ms",
                 cfg->upstream_max_connections, p->authority,
                 (unsigned long long)cfg->upstream_timeout_ms);
        pxh_fail(x, GW_PROXY_TIMEOUT, GW_UPERR_TIMEOUT);
        return;
    }
    pxh_conn_t *c = x->conn;
    if (c && c->connecting) {
        snprintf(x->errbuf, sizeof(x->errbuf), "connect to %s (%s) timed out after %llu ms",
                 p->authority, c->addr, (unsigned long long)cfg->upstream_connect_timeout_ms);
        px_addr_failed(x->peer);
        pxh_conn_failed(c, GW_PROXY_TIMEOUT, GW_UPERR_TIMEOUT); /* 504, as nginx */
        return;
    }
    int streaming = x->req && (x->req->route.flags & GW_ROUTE_F_STREAM);
    snprintf(x->errbuf, sizeof(x->errbuf), "%s for %llu ms",
             streaming ? "no progress" : "no complete answer",
             (unsigned long long)cfg->upstream_timeout_ms);
    if (c)
        pxh_conn_failed(c, GW_PROXY_TIMEOUT, GW_UPERR_TIMEOUT);
    else
        pxh_fail(x, GW_PROXY_TIMEOUT, GW_UPERR_TIMEOUT);
}

static void pxh_start(px_xfer_t *x, gw_req_t *r)
{
    x->start_us = gw_mono_us(); /* upstream time, not the client's upload */
    if (pxh_build(x, r) != 0) {
        px_start_failed(x, r, "cannot build upstream request");
        return;
    }
    gw_timer_add_ms(x->timer, x->px->loop->cfg->upstream_timeout_ms);
    pxh_acquire(x, 0);
}

static void pxh_forward(px_xfer_t *x, gw_req_t *r)
{
    x->conn = NULL;
    x->retried = x->queued = x->await_body = 0;
    if (!x->timer) x->timer = evtimer_new(x->px->loop->base, pxh_on_timer, x);
    if (!x->timer) {
        px_start_failed(x, r, "out of memory");
        return;
    }
    /* A body that fits in the request buffer is read whole first, as nginx does: a slow client
     * then holds no upstream connection, and the request can be sent again if need be. */
    if (!r->body_done && r->content_length >= 0 &&
        (uint64_t)r->content_length < GW_REQ_HIGH_WATER) {
        x->await_body = 1;
        return;
    }
    pxh_start(x, r);
}

static void pxh_on_body(px_xfer_t *x)
{
    if (x->await_body) {
        if (x->req && x->req->body_done) {
            x->await_body = 0;
            pxh_start(x, x->req);
        }
        return;
    }
    pxh_conn_t *c = x->conn;
    if (c && !c->connecting && !x->whole) pxh_send(c);
}

static void pxh_on_drain(px_xfer_t *x)
{
    pxh_conn_t *c = x->conn;
    if (!c || !c->read_paused) return;
    c->read_paused = 0;
    event_add(c->rev, NULL);
    event_active(c->rev, EV_READ, 0); /* what the kernel already holds */
}

/* x failed on its last peer before answering and now goes to x->peer: the head again (its
 * Host), the rest of the request's deadline, a connection of the new peer's pool. */
static void pxh_restart(px_xfer_t *x)
{
    x->conn = NULL;
    x->retried = x->queued = x->await_body = 0;
    if (pxh_build(x, x->req) != 0) {
        px_start_failed(x, x->req, "cannot build upstream request");
        return;
    }
    gw_timer_add_ms(x->timer, pxh_deadline_ms(x));
    pxh_acquire(x, 0);
}

static void pxh_abort(px_xfer_t *x)
{
    pxh_pool_t *p = x->peer->h1;
    if (x->timer) evtimer_del(x->timer);
    if (x->queued) pxh_wait_remove(p, x);
    if (x->conn) {
        pxh_conn_t *c = x->conn;
        c->x = NULL;
        x->conn = NULL;
        pxh_conn_close(c); /* mid-exchange: the rest of its answer would be in the way */
        pxh_kick_waiters(p);
    }
}

static void pxh_destroy_xfer(px_xfer_t *x)
{
    if (x->timer) event_free(x->timer);
    if (x->out) evbuffer_free(x->out);
    gw_text_free(&x->head);
    x->timer = NULL;
    x->out = NULL;
}

/* ---- engine lifetime --------------------------------------------------------------------- */

int pxh_init(px_peer_t *peer, char *err, size_t errlen)
{
    pthread_once(&pxh_settings_once, pxh_settings_init);
    const gw_upstream_target_t *t = peer->target;
    if (t->https) return 0; /* libcurl carries everything */
    pxh_pool_t *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory creating the upstream pool");
        return -1;
    }
    p->px = peer->px;
    p->peer = peer;
    snprintf(p->authority, sizeof(p->authority), "%s", t->authority);
    peer->h1 = p;
    return 0;
}

void pxh_addr_changed(px_peer_t *peer)
{
    pxh_pool_t *p = peer->h1;
    p->addr_gen++; /* busy ones close when their exchange ends */
    while (p->idle)
        pxh_conn_close(p->idle);
}

static void pxh_free(gw_proxy_t *px)
{
    for (int i = 0; i < px->npeers; i++) {
        pxh_pool_t *p = px->peer[i].h1;
        if (!p) continue;
        while (p->conns)
            pxh_conn_close(p->conns);
        free(p);
        px->peer[i].h1 = NULL;
    }
}

const px_engine_t pxh_engine = {
    .name = "http1",
    .forward = pxh_forward,
    .on_body = pxh_on_body,
    .on_drain = pxh_on_drain,
    .abort = pxh_abort,
    .restart = pxh_restart,
    .destroy_xfer = pxh_destroy_xfer,
    .free = pxh_free,
};
