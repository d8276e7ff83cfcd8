/* A worker's listening socket (SO_REUSEPORT: every worker binds the same address) and the accept
 * policy: while draining, close; at twice server.max_connections, drop (a flood gets not even a
 * 503); at server.max_connections, accept but only to answer 503; else hand the socket to
 * gw_conn_accept. */
#ifndef GW_CONN_LISTENER_H
#define GW_CONN_LISTENER_H

#include <stddef.h>

#include "gateway/conn/tls.h"
#include "gateway/core/config.h"
#include "gateway/core/loop.h"

typedef struct gw_listener gw_listener_t;

/* Binds addr on loop l; tls NULL for cleartext (it must outlive the listener). key names the
 * config key in errors ("server.listen"). NULL with err filled. */
gw_listener_t *gw_listener_new(gw_loop_t *l, const gw_listen_addr_t *addr, const char *key,
                               gw_tls_t *tls, char *err, size_t errlen);
/* A reload: takes over the listening socket of `from` (a listener of the configuration being
 * replaced, bound to the same address) through a duplicate descriptor, so that connections the
 * kernel queued are never lost between the two; backlog is applied anew. NULL with err filled. */
gw_listener_t *gw_listener_adopt(gw_loop_t *l, const gw_listener_t *from, gw_tls_t *tls, char *err,
                                 size_t errlen);
/* Connections it accepts must speak HTTP/2 with prior knowledge (server.grpc_listen). */
void gw_listener_set_h2_only(gw_listener_t *ls);
/* Closes the socket; connections it accepted are not touched. NULL is fine. */
void gw_listener_free(gw_listener_t *ls);

#endif
