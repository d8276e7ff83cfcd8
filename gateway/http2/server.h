/* HTTP/2 server codec: an nghttp2 session on a bufferevent, turning streams into gw_req_t and
 * responses back into frames, with flow control as backpressure in both directions. */
#ifndef GW_H2_H
#define GW_H2_H

#include "gateway/core/loop.h"

struct bufferevent;

/* Takes over a connection that speaks HTTP/2 (prior knowledge or ALPN "h2"): bev, whose input
 * holds the client's first bytes starting with the connection preface (the session checks and
 * consumes it), and one count in the process-wide connection count; both are released when the
 * connection closes. peer: the client address as text. refuse: over server.max_connections, so
 * every request gets 503 and the connection is shut down with GOAWAY. 0, or -1 (bev freed, count
 * released). */
int gw_h2_conn_start(gw_loop_t *l, struct bufferevent *bev, const char *peer, int refuse);

#endif
