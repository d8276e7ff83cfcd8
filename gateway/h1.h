/* HTTP/1.1 server codec: llhttp on a bufferevent, turning bytes into gw_req_t and responses
 * back into bytes (keep-alive, pipelining in order, chunked bodies, 100-continue, limits). */
#ifndef GW_H1_H
#define GW_H1_H

#include <event2/util.h>

#include "gateway/worker.h"

struct sockaddr;

/* Takes ownership of an accepted, non-blocking socket. refuse: answer 503 (over
 * server.max_connections) and close. 0, or -1 (the fd is closed). */
int gw_h1_conn_new(gw_worker_t *w, evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
                   int refuse);

#endif
