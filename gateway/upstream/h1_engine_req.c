/* The own upstream engine's request side: the head as Qdrant gets it, and writing head and
 * body to the connection (whole bodies straight from the client's buffer, streamed ones framed
 * as they arrive). */
#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "gateway/upstream/h1_engine_int.h"
#include "gateway/upstream/internal.h"
#include "gateway/core/timer.h"

#define PXH_IOV 16

/* ---- writing the request ----------------------------------------------------------------- */

int pxh_write_done(const px_xfer_t *x)
{
    if (x->whole) return x->sent == x->head.len + x->body_len;
    return x->body_end && evbuffer_get_length(x->out) == 0;
}

/* Whole mode: head and body straight from r->body, from offset x->sent on. */
static int pxh_send_whole(pxh_conn_t *c, px_xfer_t *x)
{
    struct evbuffer *body = x->req->body;
    while (!pxh_write_done(x)) {
        struct iovec iov[PXH_IOV];
        int n = 0;
        size_t body_off = 0;
        if (x->sent < x->head.len) {
            iov[n++] = (struct iovec){x->head.p + x->sent, x->head.len - x->sent};
        } else {
            body_off = x->sent - x->head.len;
        }
        if (x->body_len > body_off) {
            struct evbuffer_ptr at;
            evbuffer_ptr_set(body, &at, body_off, EVBUFFER_PTR_SET);
            n += evbuffer_peek(body, -1, &at, (struct evbuffer_iovec *)&iov[n], PXH_IOV - n);
            if (n > PXH_IOV) n = PXH_IOV; /* peek counts every chain; only the first fit */
        }
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 1;
            return -1;
        }
        x->sent += (size_t)w;
    }
    return 0;
}

/* Stream mode: move what the client sent so far into x->out (framed when chunked), write it,
 * and go on while the socket takes everything and there is more to frame: the rest of the
 * body, or its end (the terminal chunk) once the client has sent all of it. */
static int pxh_send_stream(pxh_conn_t *c, px_xfer_t *x)
{
    gw_req_t *r = x->req;
    for (;;) {
        while (!x->body_end && evbuffer_get_length(x->out) < GW_REQ_LOW_WATER) {
            size_t have = evbuffer_get_length(r->body);
            if (have) {
                if (x->chunked) evbuffer_add_printf(x->out, "%zx\r\n", have);
                evbuffer_remove_buffer(r->body, x->out, have);
                if (x->chunked) evbuffer_add(x->out, "\r\n", 2);
                if (r->codec) r->codec->want_body(r, 1);
                continue;
            }
            if (!r->body_done) break;
            if (x->chunked) evbuffer_add(x->out, "0\r\n\r\n", 5);
            x->body_end = 1;
        }
        while (evbuffer_get_length(x->out)) {
            int w = evbuffer_write(x->out, c->fd);
            if (w < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) return 1;
                return -1;
            }
            if (w == 0) return 1; /* took nothing: wait until writable */
            if (x->req->route.flags & GW_ROUTE_F_STREAM)
                gw_timer_add_ms(x->timer, pxh_deadline_ms(x));
        }
        if (x->body_end || (!evbuffer_get_length(r->body) && !r->body_done)) return 0;
    }
}

int pxh_write(pxh_conn_t *c, px_xfer_t *x)
{
    return x->whole ? pxh_send_whole(c, x) : pxh_send_stream(c, x);
}

/* ---- the request head -------------------------------------------------------------------- */

static int pxh_head_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
    gw_text_t *h = &((px_xfer_t *)ctx)->head;
    gw_text_add(h, n, nl);
    gw_text_add(h, ": ", 2);
    gw_text_add(h, v, vl);
    gw_text_add(h, "\r\n", 2);
    return h->oom ? -1 : 0;
}

/* The request head as Qdrant gets it, and how its body will travel. */
int pxh_build(px_xfer_t *x, gw_req_t *r)
{
    pxh_pool_t *p = x->peer->h1;
    gw_text_t *h = &x->head;
    int has_accept, has_ctype;
    gw_text_reset(h); /* the buffer is kept from transfer to transfer */
    x->sent = 0;
    x->whole = x->chunked = x->body_end = 0;
    x->body_len = 0;
    gw_text_add(h, r->method, strlen(r->method));
    gw_text_add(h, " ", 1);
    gw_text_add(h, r->target, r->target_len);
    gw_text_add(h, " HTTP/1.1\r\n", 11);
    if (pxh_head_header(x, "Host", 4, p->authority, strlen(p->authority)) ||
        px_each_header(x->px, r, pxh_head_header, x, &has_accept, &has_ctype))
        return -1;
    int framed = !r->is_head && (r->has_body || r->content_length == 0);
    if (!framed) {
        x->whole = 1;
    } else if (r->body_done) {
        x->whole = 1;
        x->body_len = evbuffer_get_length(r->body);
        gw_text_printf(h, "Content-Length: %llu\r\n", (unsigned long long)x->body_len);
    } else {
        if (!x->out && !(x->out = evbuffer_new())) return -1;
        evbuffer_drain(x->out, evbuffer_get_length(x->out));
        if (r->content_length >= 0) {
            gw_text_printf(h, "Content-Length: %lld\r\n", (long long)r->content_length);
        } else {
            x->chunked = 1;
            gw_text_add(h, "Transfer-Encoding: chunked\r\n", 28);
        }
    }
    gw_text_add(h, "\r\n", 2);
    if (h->oom) return -1;
    if (!x->whole && evbuffer_add(x->out, h->p, h->len)) return -1;
    return 0;
}
