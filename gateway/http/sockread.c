/* One readv per readiness into reserved evbuffer space; see sockread.h. */
#include "gateway/http/sockread.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/uio.h>

ssize_t gw_sock_read(struct evbuffer *buf, evutil_socket_t fd, size_t max)
{
    struct evbuffer_iovec vec[2];
    int n = evbuffer_reserve_space(buf, (ev_ssize_t)max, vec, 2);
    if (n <= 0) {
        errno = ENOMEM;
        return -1;
    }
    struct iovec iov[2];
    size_t room = 0;
    for (int i = 0; i < n; i++) {
        size_t len = vec[i].iov_len;
        if (room + len > max) len = max - room; /* reserve may give more than asked */
        iov[i].iov_base = vec[i].iov_base;
        iov[i].iov_len = len;
        room += len;
    }
    ssize_t got;
    do
        got = readv(fd, iov, n);
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
        int saved = errno;
        evbuffer_commit_space(buf, vec, 0); /* nothing added */
        errno = saved;
        return got;
    }
    /* Commit exactly what arrived: the first vector filled before the second. */
    size_t left = (size_t)got;
    int used = 0;
    for (int i = 0; i < n && left > 0; i++) {
        size_t take = left < iov[i].iov_len ? left : iov[i].iov_len;
        vec[i].iov_len = take;
        left -= take;
        used++;
    }
    if (evbuffer_commit_space(buf, vec, used) != 0) {
        errno = ENOMEM;
        return -1;
    }
    return got;
}

int gw_sock_flush(struct bufferevent *bev)
{
    if (bufferevent_get_enabled(bev) & EV_WRITE) return 0; /* the bufferevent is writing */
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* A socket bufferevent freezes the start of its output so that only it drains it; it
     * unfreezes the same way around its own writes. */
    evbuffer_unfreeze(out, 1);
    int rc = 0;
    while (rc >= 0 && evbuffer_get_length(out) > 0) {
        rc = evbuffer_write(out, fd);
        if (rc < 0 && errno == EINTR) rc = 0;
    }
    evbuffer_freeze(out, 1);
    if (rc < 0) bufferevent_enable(bev, EV_WRITE);
    return rc >= 0;
}
