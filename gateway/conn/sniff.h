/* Accepted client connections before they have a protocol: the optional TLS handshake, ALPN, and
 * sniffing the first bytes for the HTTP/2 preface; then the h1 or h2 codec takes the connection. */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <event2/util.h>
#include <stddef.h>

#include "gateway/conn/tls.h"
#include "gateway/core/loop.h"

struct sockaddr;

/* The HTTP/2 client connection preface (RFC 9113 3.4). */
#define GW_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define GW_H2_PREFACE_LEN 24

typedef enum { GW_SNIFF_MORE = 0, GW_SNIFF_H1, GW_SNIFF_H2 } gw_sniff_t;

/* Classifies the first len bytes a client sent (pure, reads data[0..len) only):
 * - GW_SNIFF_H2 when they hold the whole preface, or when "PRI * HTTP/2.0" matched and a later
 *   byte did not: no HTTP/1.x request starts like that, so a broken preface is HTTP/2's to
 *   reject (with GOAWAY);
 * - GW_SNIFF_H1 at the first byte that cannot belong to the preface (also "GET / HTTP/1.0\r\n\r\n",
 *   which is shorter than the preface: the decision never waits for 24 bytes);
 * - GW_SNIFF_MORE while all len bytes (possibly none) are a prefix of the preface. */
gw_sniff_t gw_conn_sniff(const void *data, size_t len);

/* Takes ownership of an accepted non-blocking socket and counts it in the process-wide connection
 * count until it closes. tls: NULL for cleartext; else the handshake runs first and ALPN
 * "h2"/"http/1.1" decides, falling back to sniffing when the client offered neither. refuse: over
 * server.max_connections, so once the protocol is known every request gets 503 and the
 * connection closes. 0, or -1 (the socket is closed). */
int gw_conn_accept(gw_loop_t *l, evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
                   int refuse, gw_tls_t *tls);

/* The same; h2_only (server.grpc_listen): a cleartext client that does not open with the HTTP/2
 * preface is closed. */
int gw_conn_accept_h2(gw_loop_t *l, evutil_socket_t fd, const struct sockaddr *peer, int peerlen,
                      int refuse, gw_tls_t *tls, int h2_only);

/* "a.b.c.d" or the IPv6 text of peer ("" for other families) into buf. */
void gw_conn_format_peer(const struct sockaddr *peer, char *buf, size_t len);

#endif
