/* The gRPC client towards Qdrant's gRPC ports (gw_config_grpc_peers: upstream.grpc_url, or one
 * per peer): on each worker's loop, per peer a small pool of h2c connections (nghttp2 client
 * sessions), each carrying up to GW_GRPC_CONN_STREAMS calls at once, at most GW_GRPC_POOL_CONNS
 * connections. With several peers each call goes to the peer a balancer of the pool's own picks
 * (gateway/upstream/peers.h: two random choices, least outstanding, outlier ejection on
 * upstream.outlier.*), transport failures and UNAVAILABLE counting against the peer; a read
 * (route class) that failed with UNAVAILABLE before any response byte is tried once on another
 * peer, a write never. Response DATA is credited back to
 * Qdrant's window only when the caller says it passed the bytes on (gw_grpc_call_consume), so a
 * slow client holds at most one stream window (GW_GRPC_STREAM_WINDOW) of its answer here. */
#ifndef GW_GRPC_CLIENT_H
#define GW_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/core/loop.h"
#include "gateway/http/headers.h"

struct evbuffer;

#define GW_GRPC_POOL_CONNS    4          /* connections per worker and peer */
#define GW_GRPC_CONN_STREAMS  100        /* calls per connection (fewer if Qdrant says so) */
#define GW_GRPC_STREAM_WINDOW (1u << 20) /* response bytes in flight per call */
/* Every stream may fill its window without stalling the others on the connection window. */
#define GW_GRPC_CONN_WINDOW (GW_GRPC_CONN_STREAMS * GW_GRPC_STREAM_WINDOW)
#define GW_GRPC_MAX_FIELDS  128         /* response header or trailer fields */
#define GW_GRPC_MAX_HEAD    (64u << 10) /* their bytes */

typedef struct gw_grpc_pool gw_grpc_pool_t;
typedef struct gw_grpc_call gw_grpc_call_t;

/* What a call reports, in this order, on the worker's thread, never from inside
 * gw_grpc_call_start. Header fields are views valid during the callback only. */
typedef struct gw_grpc_call_ops {
    /* The response head; end: it carried END_STREAM (a trailers-only answer). */
    void (*on_head)(void *arg, int status, const gw_hdr_t *h, size_t n, int end);
    void (*on_data)(void *arg, const uint8_t *data, size_t len);
    void (*on_trailers)(void *arg, const gw_hdr_t *h, size_t n);
    /* Last. code < 0: the exchange completed (a head with end, or trailers). Else it failed
     * with that gRPC status (UNAVAILABLE when Qdrant cannot be reached or refused the stream)
     * and err names why. The call is freed after this returns. */
    void (*on_close)(void *arg, int code, const char *err);
} gw_grpc_call_ops_t;

/* urls[0..n-1]: the peers, http://host[:port] (port defaults to 6334); 1 <= n <= 16. NULL
 * with err filled. */
gw_grpc_pool_t *gw_grpc_pool_new(gw_loop_t *l, const char *const *urls, int n, char *err,
                                 size_t errlen);
/* Closes every connection; calls still open are dropped without callbacks (their owners must
 * be gone: the loop's client connections are closed first). */
void gw_grpc_pool_free(gw_grpc_pool_t *p);
/* "host:port" of the (first) upstream peer, for messages; how many peers. */
const char *gw_grpc_pool_authority(const gw_grpc_pool_t *p);
int gw_grpc_pool_peer_count(const gw_grpc_pool_t *p);

/* Starts a call of path ("/qdrant.Points/Search") with the given request metadata (no pseudo
 * headers; copied) and body (its bytes are moved out of `body`). NULL only when out of memory;
 * otherwise ops->on_close always comes, unless the call is cancelled first. */
gw_grpc_call_t *gw_grpc_call_start(gw_grpc_pool_t *p, const char *path, const gw_hdr_t *h, size_t n,
                                   struct evbuffer *body, const gw_grpc_call_ops_t *ops, void *arg);
/* n bytes from on_data were passed on: Qdrant may send that many more. */
void gw_grpc_call_consume(gw_grpc_call_t *c, size_t n);
/* Ends the call (RST_STREAM CANCEL when it reached Qdrant); no callbacks after this. */
void gw_grpc_call_cancel(gw_grpc_call_t *c);

#endif
