/* Plain-socket I/O beside a bufferevent. Reading into an evbuffer in one system call.
 * libevent 2.1's evbuffer_read asks FIONREAD first and reads at most 4096 bytes per call, so a
 * 768-dimension search (8.8 KB) cost three readv and three ioctl; this reads up to `max` bytes with
 * one readv into space reserved in the buffer (no copy) and never asks how much is readable. */
#ifndef GW_HTTP_SOCKREAD_H
#define GW_HTTP_SOCKREAD_H

#include <event2/util.h>
#include <stddef.h>
#include <sys/types.h>

struct evbuffer;

/* Appends what one readv of up to max bytes returns to buf (a socket bufferevent's input,
 * whose end it freezes, is fine). Returns the bytes read, 0 at end of file, or -1 with errno
 * set (EAGAIN / EWOULDBLOCK: nothing to read now; ENOMEM: no buffer space). */
ssize_t gw_sock_read(struct evbuffer *buf, evutil_socket_t fd, size_t max);

struct bufferevent;

/* Writing: what a socket bufferevent (EV_WRITE not enabled) has queued goes straight to its
 * socket. 1 when all of it went; 0 when the socket is full or failed, or the bufferevent is
 * already writing: it then has EV_WRITE and writes the rest (or reports the error). Saves the
 * two epoll_ctl of arming and disarming EV_WRITE per answer. */
int gw_sock_flush(struct bufferevent *bev);

#endif
