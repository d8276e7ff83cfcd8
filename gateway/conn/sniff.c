/* The first moments of a client connection: TLS handshake (when on the TLS listener), ALPN, and
 * the look at the first bytes that tells HTTP/2 prior knowledge from HTTP/1.x, without losing a
 * byte: the bufferevent, with what it already read, is handed to the chosen codec. */
#include "gateway/conn/sniff.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gateway/http1/server.h"
#include "gateway/http2/server.h"
#include "gateway/core/timer.h"

/* "PRI * HTTP/2.0": once this much matched, the client is attempting HTTP/2. */
#define CONN_H2_COMMITTED 14

typedef struct conn_pending {
    gw_conn_link_t link; /* first: the worker's list holds &link */
    gw_loop_t *loop;
    struct bufferevent *bev;
    struct event *timer;
    char peer[64];
    int refuse;
    int handshaking; /* TLS handshake not finished yet */
    int h2_only;     /* server.grpc_listen: HTTP/2 prior knowledge, anything else is closed */
} conn_pending_t;

gw_sniff_t gw_conn_sniff(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t n = len < GW_H2_PREFACE_LEN ? len : GW_H2_PREFACE_LEN;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (unsigned char)GW_H2_PREFACE[i])
            return i >= CONN_H2_COMMITTED ? GW_SNIFF_H2 : GW_SNIFF_H1;
    }
    return n == GW_H2_PREFACE_LEN ? GW_SNIFF_H2 : GW_SNIFF_MORE;
}

void gw_conn_format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
    buf[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
}

/* Closes a connection that never got a protocol (timeout, EOF, shutdown). */
static void conn_free(conn_pending_t *p)
{
    gw_loop_t *l = p->loop;
    if (p->bev) bufferevent_free(p->bev);
    event_free(p->timer);
    atomic_fetch_sub(l->connections, 1);
    gw_loop_conn_remove(l, &p->link); /* last: may end a draining worker's loop */
    free(p);
}

/* Gives the bufferevent (and the connection count) to a codec. The codec links itself into
 * the worker before this pending entry is unlinked, so a draining worker never sees zero. */
static void conn_handoff(conn_pending_t *p, int h2)
{
    gw_loop_t *l = p->loop;
    struct bufferevent *bev = p->bev;
    p->bev = NULL;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    evtimer_del(p->timer);
    int rc = h2 ? gw_h2_conn_start(l, bev, p->peer, p->refuse)
                : gw_h1_conn_start(l, bev, p->peer, p->refuse);
    if (rc != 0) gw_log_warn("cannot set up a connection: out of memory");
    event_free(p->timer);
    gw_loop_conn_remove(l, &p->link);
    free(p);
}

static void conn_sniff(conn_pending_t *p)
{
    struct evbuffer *in = bufferevent_get_input(p->bev);
    size_t len = evbuffer_get_length(in);
    size_t n = len < GW_H2_PREFACE_LEN ? len : GW_H2_PREFACE_LEN;
    const unsigned char *data = n ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL;
    switch (gw_conn_sniff(data, n)) {
    case GW_SNIFF_MORE:
        return; /* a prefix of the preface so far: wait for more (bounded by the timer) */
    case GW_SNIFF_H1:
        if (p->h2_only) {
            gw_log_debug("client %s: not HTTP/2 on the gRPC listener: closed", p->peer);
            conn_free(p);
            return;
        }
        conn_handoff(p, 0);
        return;
    case GW_SNIFF_H2:
        conn_handoff(p, 1);
        return;
    }
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    conn_pending_t *p = arg;
    if (!p->handshaking) conn_sniff(p);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    conn_pending_t *p = arg;
    if (!(what & BEV_EVENT_CONNECTED)) {
        conn_free(p); /* EOF, reset or a failed handshake before any protocol */
        return;
    }
    p->handshaking = 0;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    int alpn = ssl ? gw_tls_alpn(ssl) : -1;
    if (alpn >= 0)
        conn_handoff(p, alpn);
    else if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        conn_sniff(p);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    conn_free(arg); /* no handshake or no decisive byte in time: close quietly, like idle h1 */
}

static void conn_drain(gw_conn_link_t *link)
{
    conn_pending_t *p = (conn_pending_t *)link;
    /* No request yet (still in the TLS handshake, or nothing received): close now. A half-sent
     * first request may finish (the timer bounds it); the codec it goes to sees the worker
     * draining and closes after answering. */
    if (p->handshaking || evbuffer_get_length(bufferevent_get_input(p->bev)) == 0) conn_free(p);
}

static void conn_destroy(gw_conn_link_t *link)
{
    conn_free((conn_pending_t *)link);
}

static struct bufferevent *conn_bev_new(gw_loop_t *l, evutil_socket_t fd, gw_tls_t *tls)
{
    if (!tls) return bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    SSL *ssl = gw_tls_ssl_new(tls);
    if (!ssl) return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl); /* libevent leaves the SSL (and the fd) to us when it fails */
        return NULL;
    }
    /* Clients that close without close_notify are common; their requests were complete. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int gw_conn_accept(gw_loop_t *l, evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
                   int refuse, gw_tls_t *tls)
{
    return gw_conn_accept_h2(l, fd, peer, peerlen, refuse, tls, 0);
}

int gw_conn_accept_h2(gw_loop_t *l, evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
                      int refuse, gw_tls_t *tls, int h2_only)
{
    (void)peerlen;
    conn_pending_t *p = calloc(1, sizeof(*p));
    struct bufferevent *bev = p ? conn_bev_new(l, fd, tls) : NULL;
    struct event *timer = p ? evtimer_new(l->base, conn_on_timer, p) : NULL;
    if (!p || !bev || !timer) {
        if (bev)
            bufferevent_free(bev);
        else
            evutil_closesocket(fd);
        if (timer) event_free(timer);
        free(p);
        return -1;
    }
    p->loop = l;
    p->bev = bev;
    p->timer = timer;
    p->refuse = refuse;
    p->handshaking = tls != NULL;
    p->h2_only = h2_only;
    gw_conn_format_peer(peer, p->peer, sizeof(p->peer));
    p->link.drain = conn_drain;
    p->link.destroy = conn_destroy;
    atomic_fetch_add(l->connections, 1);
    gw_loop_conn_add(l, &p->link);
    bufferevent_setcb(bev, conn_on_read, NULL, conn_on_event, p);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    uint64_t ms = l->cfg->header_timeout_ms;
    gw_timer_add_ms(timer, ms);
    return 0;
}
