/* Inside the upstream pool: what the front door (proxy.c) and the engine-neutral exchange
 * (exchange.c: heads, taps, errors, counting) share with the two engines behind px_engine_t.
 * h1_engine.c is our own HTTP/1.1 client and carries every proxied request when upstream.url is
 * http://; curl_engine.c (libcurl multi) carries internal fetches, absolute URLs (other Qdrant
 * nodes) and proxied requests to an https:// upstream. Private to gateway/upstream/. */
#ifndef GW_PROXY_INT_H
#define GW_PROXY_INT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "common/text.h"
#include "gateway/core/dns.h"
#include "gateway/upstream/peers.h"
#include "gateway/upstream/proxy.h"

struct event;
struct evbuffer;
typedef struct px_xfer px_xfer_t;
typedef struct pxh_pool pxh_pool_t;
typedef struct pxh_conn pxh_conn_t;
typedef struct px_peer px_peer_t;
typedef struct px_probe px_probe_t;

/* An engine: how a transfer's bytes move. Each hook gets a transfer the engine carries. */
typedef struct px_engine {
    const char *name;
    void (*forward)(px_xfer_t *x, gw_req_t *r); /* start carrying r (x->req) */
    void (*on_body)(px_xfer_t *x);              /* the client sent more body */
    void (*on_drain)(px_xfer_t *x);             /* the client took its queued answer */
    void (*abort)(px_xfer_t *x);                /* let go now, without calling back */
    /* x failed before any answer byte and moves to x->peer (another one): start it there.
     * Only for whole-body transfers (px_may_move). */
    void (*restart)(px_xfer_t *x);
    void (*destroy_xfer)(px_xfer_t *x); /* free its parts of a transfer object */
    void (*free)(gw_proxy_t *px);       /* after every transfer was detached */
} px_engine_t;
extern const px_engine_t pxc_engine; /* curl_engine.c */
extern const px_engine_t pxh_engine; /* h1_engine.c */

/* What a transfer waiting for the upstream's address does once there is one (err NULL), or
 * when its resolution failed with no address at all (err says why). */
typedef void (*px_resume_fn)(px_xfer_t *x, const char *err);

/* One Qdrant peer (upstream.urls, or the one of upstream.url) as a worker sees it. */
struct px_peer {
    gw_proxy_t *px;
    int idx;
    const gw_upstream_target_t *target;
    gw_dns_name_t *name;                      /* target->host, kept resolved on the loop */
    px_xfer_t *dns_wait_head, *dns_wait_tail; /* waiting for its first address */
    struct event *dns_kick;                   /* fails the waiters when no answer is coming */
    char base_url[512];                       /* target->url: libcurl's URL prefix */
    pxh_pool_t *h1; /* own HTTP/1.1 engine's pool, NULL when the peer is https:// */
};

struct gw_proxy {
    gw_loop_t *loop;
    const gw_upstream_targets_t *targets;
    px_peer_t peer[GW_PEERS_MAX];
    int npeers;
    gw_balancer_t bal; /* which peer takes the next request, and which are out */
    px_probe_t *probe; /* active probes, with several peers */
    /* libcurl engine */
    CURLM *multi;
    struct event *timer;
    px_xfer_t *free_list;
    px_xfer_t *all; /* every transfer object, idle or not, for teardown */
};

/* One exchange with Qdrant, recycled through px->free_list. */
struct px_xfer {
    gw_proxy_t *px;
    px_peer_t *peer;      /* the peer it goes to */
    uint32_t tried;       /* bit mask of the peers it went to */
    unsigned counted : 1; /* the balancer counts it as under way at `peer` */
    unsigned moved : 1;   /* already moved once to another peer */
    unsigned pinned : 1;  /* an internal fetch of one given peer (a probe): never moved */
    px_xfer_t *next_free;
    px_xfer_t *next_all;
    int active;                 /* under way on one of the engines */
    const px_engine_t *engine;  /* the one carrying it while active */
    gw_req_t *req;              /* NULL for internal fetches, or once the client went away */
    struct evbuffer *resp_hdrs; /* header lines of the final response, "Name: value\r\n" */
    long status;
    int head_forwarded;
    unsigned swallowed : 1; /* the tap answered the client: upstream body is discarded */
    const gw_proxy_tap_t *tap;
    void *tap_ctx;
    uint64_t start_us;
    char errbuf[CURL_ERROR_SIZE + 512]; /* the engine's description of a failure */
    px_xfer_t *dns_next;                /* in px->dns_wait_* */
    px_resume_fn dns_resume;            /* set while waiting there */

    /* libcurl engine */
    CURL *easy;
    struct curl_slist *hdrs;
    struct curl_slist *resolve; /* this transfer's CURLOPT_RESOLVE: the upstream's addresses */
    unsigned send_paused : 1, recv_paused : 1;
    unsigned elsewhere : 1; /* an absolute URL: another host, which libcurl resolves itself */
    gw_fetch_cb cb;         /* internal fetch */
    void *cb_arg;
    struct evbuffer *fetch_body;

    /* own engine */
    pxh_conn_t *conn;        /* the connection carrying it, NULL while waiting for one */
    px_xfer_t *wait_next;    /* FIFO of transfers waiting for a connection */
    struct event *timer;     /* connect / whole-answer / idle-stream deadline */
    gw_text_t head;          /* the request head; its buffer is kept across transfers */
    struct evbuffer *out;    /* request bytes not yet written (streamed bodies, short writes) */
    size_t sent;             /* bytes of head + body written so far (whole mode) */
    uint64_t body_len;       /* whole mode: the request body's length */
    unsigned whole : 1;      /* the body was complete at start: written from r->body, not drained */
    unsigned chunked : 1;    /* streamed body of unknown length: chunked upstream */
    unsigned body_end : 1;   /* streamed body: all of it is in `out` */
    unsigned retried : 1;    /* already moved once to a fresh connection */
    unsigned queued : 1;     /* in the wait FIFO */
    unsigned await_body : 1; /* small body still arriving: starts once it is complete */
};

/* How an exchange ended, engine-neutral. */
typedef struct px_outcome {
    gw_proxy_end_t end;
    int uperr;          /* GW_UPERR_* for the metrics, or -1 when it went fine */
    const char *detail; /* for logs and error bodies, NULL when OK */
} px_outcome_t;

/* exchange.c */
px_xfer_t *px_xfer_get(gw_proxy_t *px);
void px_xfer_put(px_xfer_t *x);
void px_xfer_destroy(px_xfer_t *x); /* gw_proxy_free, once the engines let go */
/* Parses x->resp_hdrs, drops hop-by-hop headers, runs the tap's on_head and sends the head. */
void px_forward_head(px_xfer_t *x);
/* Relays one piece of the answer's body (forwarding the head first if needed). */
void px_relay_body(px_xfer_t *x, const void *data, size_t len);
/* The exchange is over: answers or fails the request, ends the tap, recycles x. */
void px_complete(px_xfer_t *x, px_outcome_t o);
/* Ends the tap exactly once; returns what on_end returned (1: it answered the client). */
int px_tap_end(px_xfer_t *x, gw_req_t *r, gw_proxy_end_t how);
/* A transfer that could not start: the tap still ends, the client gets a 500. */
void px_start_failed(px_xfer_t *x, gw_req_t *r, const char *what);
/* Passes each header of r that goes upstream (client headers minus hop-by-hop and the ones
 * the proxy sets, plus X-Forwarded-For, X-Request-Id and the configured api-key when the client
 * sent no credentials) to add(). Sets *has_accept / *has_ctype. 0, or -1 when add() failed. */
int px_each_header(const gw_proxy_t *px, const gw_req_t *r,
                   int (*add)(void *ctx, const char *n, size_t nl, const char *v, size_t vl),
                   void *ctx, int *has_accept, int *has_ctype);

/* proxy.c: peer x->peer takes x (counted by the balancer until px_peer_done). */
void px_peer_begin(px_xfer_t *x, px_peer_t *peer);
/* x's exchange with x->peer ended as o (status: the answer's, when one came). */
void px_peer_done(px_xfer_t *x, px_outcome_t o);
/* x failed as o: when nothing reached the client yet and it is a read (or a connect that never
 * opened) with its body whole, time left and a peer left, it goes to another peer (its engine's
 * restart, once that peer's address is known) and this returns 1; else 0, nothing done. */
int px_try_move(px_xfer_t *x, px_outcome_t o);
/* An internal fetch on peer `peer`, or on the balancer's pick when it is -1. 0 / -1. */
int px_fetch_on(gw_proxy_t *px, int peer, const gw_fetch_req_t *q, gw_fetch_cb cb, void *arg);
/* probe.c tells the balancer how a probe of peer i went (why: the failure). */
void px_peer_probed(gw_proxy_t *px, int i, int ok, const char *why);

/* proxy.c: the upstream's address. 0: there is one, go on; 1: x waits for the name's first
 * answer, and resume runs later from the loop (with err when there is none: the resolution
 * failed). */
int px_addr_wait(px_xfer_t *x, px_resume_fn resume);
/* A connection to the peer's address failed: re-resolve (bounded by dns.min_ttl). */
void px_addr_failed(px_peer_t *peer);

/* curl_engine.c: the multi handle, and internal GETs (only libcurl does those). */
int pxc_init(gw_proxy_t *px, char *err, size_t errlen);
int pxc_fetch(px_xfer_t *x, const gw_fetch_req_t *q);

/* h1_engine.c: sets peer->h1 for an http:// peer; leaves it NULL (libcurl then) for https://. */
int pxh_init(px_peer_t *peer, char *err, size_t errlen);
/* The peer moved: idle connections to the old address close (new ones take the new). */
void pxh_addr_changed(px_peer_t *peer);

/* probe.c: active probes (GET /readyz of each peer every upstream.health_interval) when there
 * are several peers and the interval is not 0; NULL otherwise, or when out of memory. */
px_probe_t *px_probe_new(gw_proxy_t *px);
void px_probe_free(px_probe_t *p);

#endif
