/* The upstream pool: one libcurl multi handle per worker, driven by the worker's event loop,
 * keeping warm keep-alive connections to Qdrant and streaming bodies in both directions. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http/request.h"
#include "gateway/core/loop.h"
#include "gateway/upstream/resolve.h"

typedef struct gw_proxy gw_proxy_t;

/* Creates the pool for a worker loop, towards the peers of `targets` (which must outlive it),
 * whose hosts the loop's resolver keeps resolved: requests that arrive before a peer's first
 * answer wait for it, and fail with 502 when there is none. Each request goes to the peer the
 * worker's balancer picks (gateway/upstream/peers.h); with several peers, each is probed
 * (GET /readyz) every upstream.health_interval. NULL with err filled on failure. */
gw_proxy_t *gw_proxy_new(gw_loop_t *loop, const gw_upstream_targets_t *targets, char *err,
                         size_t errlen);
/* Cancels every transfer without calling back, closes pooled connections. Call before the
 * worker's event_base is freed. */
void gw_proxy_free(gw_proxy_t *px);

/* The first peer's current addresses ("a:port,b:port", "" before the first answer) and the last
 * resolution's error ("" when it succeeded), for health. */
void gw_proxy_upstream_addr(const gw_proxy_t *px, char *buf, size_t len, const char **error);

/* The peers, in upstream.urls order. */
int gw_proxy_peer_count(const gw_proxy_t *px);
/* Peer i's URL as configured. */
const char *gw_proxy_peer_url(const gw_proxy_t *px, int i);
/* Peer i's current addresses and DNS error, as gw_proxy_upstream_addr. */
void gw_proxy_peer_addr(const gw_proxy_t *px, int i, char *buf, size_t len, const char **error);
/* Peer i as this worker's balancer sees it. */
typedef struct gw_proxy_peer_view {
    const char *url;                /* as configured */
    const char *state;              /* "up", "ejected", "down" (its last probe failed) */
    unsigned outstanding, failures; /* requests under way; failures in a row */
    uint64_t ejections;
    uint64_t ejected_ms_left; /* of its ejection time (it then waits for a probe) */
} gw_proxy_peer_view_t;
void gw_proxy_peer_view(gw_proxy_t *px, int i, gw_proxy_peer_view_t *v);

/* Forwards r to Qdrant and answers it: the proxy takes the handler side of r. */
void gw_proxy_forward(gw_proxy_t *px, gw_req_t *r);

/* How an upstream transfer ended, for taps. */
typedef enum {
    GW_PROXY_OK = 0,      /* complete answer relayed */
    GW_PROXY_TIMEOUT,     /* upstream too slow (504 unless the tap answers) */
    GW_PROXY_UNREACHABLE, /* could not connect (502 unless the tap answers) */
    GW_PROXY_FAILED,      /* other transfer failure (502 unless the tap answers) */
    GW_PROXY_ABORTED,     /* the client went away, or the pool was torn down */
} gw_proxy_end_t;

/* Watches (and may take over) one forwarded request: the cache uses it to store answers, add
 * X-Cache, serve stale answers when Qdrant fails, and invalidate on writes. Every hook may be
 * NULL; all run on the worker's thread. */
/* An answer with neither Content-Length nor chunked framing: its body runs to the close. */
#define GW_PROXY_CLEN_EOF (-2)

typedef struct gw_proxy_tap {
    /* Upstream's final head, before the client sees anything. The tap may append up to `room`
     * headers at hdrs[*n...] (their memory must outlive the call only until send_head returns).
     * Return 0 to relay the answer, 1 if the tap has answered the client itself: the proxy then
     * discards the upstream body. content_length: the answer's Content-Length, -1 when it is
     * chunked (or has no body), GW_PROXY_CLEN_EOF when the body ends where Qdrant closes the
     * connection (so a cut-short body cannot be told from a whole one). */
    int (*on_head)(void *ctx, gw_req_t *r, int status, gw_hdr_t *hdrs, size_t *n, size_t room,
                   int64_t content_length);
    /* Each piece of the body as it is relayed to the client. */
    void (*on_body)(void *ctx, const void *data, size_t len);
    /* Called exactly once, last. r is NULL when the client is gone (GW_PROXY_ABORTED). For a
     * failure before anything was sent, return 1 if the tap answered the client (the proxy then
     * sends no 502/504); otherwise return 0. */
    int (*on_end)(void *ctx, gw_req_t *r, gw_proxy_end_t how);
} gw_proxy_tap_t;

/* gw_proxy_forward with a tap watching it. */
void gw_proxy_forward_tap(gw_proxy_t *px, gw_req_t *r, const gw_proxy_tap_t *tap, void *ctx);

/* Completion of an internal request. ok: a full HTTP answer arrived (any status). */
typedef void (*gw_fetch_cb)(void *arg, int ok, long status, const char *body, size_t len,
                            double seconds, const char *error);
/* An internal request of the gateway's own (health probes, metrics, alias lists, write
 * barriers). */
typedef struct gw_fetch_req {
    const char *method; /* NULL: GET */
    const char *path;   /* on the upstream, or an absolute http(s):// URL (other Qdrant nodes) */
    const char *body;   /* NULL: none; else body_len bytes sent as application/json */
    size_t body_len;
    /* Extra request headers (copied). When one is api-key or authorization, upstream.api_key
     * is not added: the request acts with those credentials. */
    const gw_hdr_t *hdrs;
    size_t nhdrs;
    uint64_t timeout_ms; /* the whole exchange */
} gw_fetch_req_t;

/* Issues q on a peer that takes traffic (the balancer's pick). The callback runs exactly once, from
 * the event loop, unless the pool is freed first. 0 / -1. */
int gw_proxy_fetch_req(gw_proxy_t *px, const gw_fetch_req_t *q, gw_fetch_cb cb, void *arg);

/* gw_proxy_fetch_req of a GET of `path` with upstream.api_key. */
int gw_proxy_fetch(gw_proxy_t *px, const char *path, uint64_t timeout_ms, gw_fetch_cb cb,
                   void *arg);

#endif
