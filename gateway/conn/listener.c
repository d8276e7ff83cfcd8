/* Listening sockets and the accept policy; see listener.h. */
#include "gateway/conn/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gateway/conn/sniff.h"

struct gw_listener {
    gw_loop_t *loop;
    gw_tls_t *tls;
    struct evconnlistener *ev;
    int h2_only;
};

static void listener_on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
                               int salen, void *arg)
{
    gw_listener_t *ls = arg;
    gw_loop_t *l = ls->loop;
    if (l->draining) {
        evutil_closesocket(fd);
        return;
    }
    int open = atomic_load(l->connections);
    if (open >= 2 * l->cfg->max_connections) {
        evutil_closesocket(fd); /* a flood: not even a 503 */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Over the limit: a connection that only answers 503 and closes (briefly lingering so the
     * answer is not lost to a reset); the open connections are not touched. */
    int refuse = open >= l->cfg->max_connections;
    if (gw_conn_accept_h2(l, fd, sa, salen, refuse, ls->tls, ls->h2_only) != 0)
        gw_log_warn("cannot set up a connection: out of memory");
}

static void listener_on_error(struct evconnlistener *evl, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    gw_log_warn("accept failed: %s", evutil_socket_error_to_string(err));
    /* EMFILE/ENFILE: libevent keeps retrying; the error is logged, serving goes on. */
}

gw_listener_t *gw_listener_new(gw_loop_t *l, const gw_listen_addr_t *addr, const char *key,
                               gw_tls_t *tls, char *err, size_t errlen)
{
    const char *host = addr->host;
    if (strcmp(host, "*") == 0) host = "0.0.0.0";
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s %s: %s", key, host, gai_strerror(rc));
        return NULL;
    }
    gw_listener_t *ls = calloc(1, sizeof(*ls));
    if (!ls) {
        freeaddrinfo(res);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ls->loop = l;
    ls->tls = tls;
    unsigned flags =
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
    ls->ev = evconnlistener_new_bind(l->base, listener_on_accept, ls, flags, l->cfg->backlog,
                                     res->ai_addr, (int)res->ai_addrlen);
    int saved = errno;
    freeaddrinfo(res);
    if (!ls->ev) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", addr->host, (unsigned)addr->port,
                 strerror(saved));
        free(ls);
        return NULL;
    }
    evconnlistener_set_error_cb(ls->ev, listener_on_error);
    return ls;
}

gw_listener_t *gw_listener_adopt(gw_loop_t *l, const gw_listener_t *from, gw_tls_t *tls, char *err,
                                 size_t errlen)
{
    evutil_socket_t fd = fcntl(evconnlistener_get_fd(from->ev), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot take over the listening socket: %s", strerror(errno));
        return NULL;
    }
    gw_listener_t *ls = calloc(1, sizeof(*ls));
    if (!ls || evutil_make_socket_nonblocking(fd) != 0 || listen(fd, l->cfg->backlog) != 0) {
        snprintf(err, errlen, "cannot take over the listening socket: %s",
                 ls ? strerror(errno) : "out of memory");
        free(ls);
        evutil_closesocket(fd);
        return NULL;
    }
    ls->loop = l;
    ls->tls = tls;
    /* backlog -1: the socket listens already (listen() above only changed its backlog) */
    ls->ev = evconnlistener_new(l->base, listener_on_accept, ls,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!ls->ev) {
        snprintf(err, errlen, "cannot take over the listening socket: out of memory");
        free(ls);
        evutil_closesocket(fd);
        return NULL;
    }
    evconnlistener_set_error_cb(ls->ev, listener_on_error);
    return ls;
}

void gw_listener_set_h2_only(gw_listener_t *ls)
{
    ls->h2_only = 1;
}

void gw_listener_free(gw_listener_t *ls)
{
    if (!ls) return;
    evconnlistener_free(ls->ev);
    free(ls);
}
