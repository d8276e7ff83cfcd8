/* HTTP/1.1 server codec: llhttp on a bufferevent, turning bytes into gw_req_t and responses
 * back into bytes (keep-alive, pipelining in order, chunked bodies, 100-continue, limits). */
#ifndef GW_H1_H
#define GW_H1_H

#include "gateway/core/loop.h"

struct bufferevent;

/* Takes over a connection that speaks HTTP/1.x (gateway/conn.c decided): bev, whose input may
 * already hold the first bytes (they are parsed first), and one count in the process-wide
 * connection count; both are released when the connection closes. peer: the client address as text.
 * refuse: answer 503 (over server.max_connections) and close. 0, or -1 (bev freed, count released).
 */
int gw_h1_conn_start(gw_loop_t *l, struct bufferevent *bev, const char *peer, int refuse);

#endif
