/* Internals of the gRPC client shared by client.c (calls, peers, the balancer) and
 * client_conn.c (connections: nghttp2 sessions on bufferevents). Not an API: see client.h. */
#ifndef GW_GRPC_CLIENT_INT_H
#define GW_GRPC_CLIENT_INT_H

#include <event2/bufferevent.h>
#include <nghttp2/nghttp2.h>

#include "gateway/core/dns.h"
#include "gateway/grpc/client.h"
#include "gateway/upstream/peers.h"
#include "gateway/upstream/resolve.h"

typedef struct gconn gconn_t;
typedef struct gpeer gpeer_t;

struct gw_grpc_call {
    gw_grpc_call_t *prev, *next; /* the connection's (or the peer's waiting) list */
    gw_grpc_pool_t *pool;
    gpeer_t *peer; /* where it goes (counted by the balancer while `counted`) */
    gconn_t *conn; /* NULL while waiting for an address */
    int32_t id;    /* 0 until submitted */
    const gw_grpc_call_ops_t *ops;
    void *arg; /* NULL once cancelled */
    char *path;
    nghttp2_nv *nva; /* request fields, one block with their bytes */
    size_t nnv;
    struct evbuffer *body;
    size_t body_off; /* bytes of body sent (a retryable call keeps them for another peer) */
    /* Response fields as they arrive: bytes in fbuf, views rebuilt at delivery. */
    char *fbuf;
    size_t flen, fcap;
    uint32_t foff[GW_GRPC_MAX_FIELDS][4];
    size_t nf;
    int status;
    unsigned got_head : 1, complete : 1, too_big : 1;
    unsigned retryable : 1; /* a read: may go to another peer if this one never answered */
    unsigned retried : 1, heard : 1, counted : 1;
    unsigned unavailable : 1; /* the peer's own grpc-status was UNAVAILABLE */
};

struct gconn {
    gconn_t *next;
    gpeer_t *peer;
    struct bufferevent *bev;
    nghttp2_session *ng;
    struct event *kick_ev;
    gw_grpc_call_t calls; /* list head: submitted or waiting for the connect */
    size_t ncalls;
    unsigned connected : 1, dead : 1, goaway : 1, in_io : 1;
};

/* One peer's gRPC port: its connections and the calls waiting for its address. */
struct gpeer {
    gw_grpc_pool_t *pool;
    int idx;
    gw_upstream_target_t target;
    char authority[300];
    gw_dns_name_t *name;
    gconn_t *conns;
    size_t nconns;
    gw_grpc_call_t waiting; /* list head: not placed yet */
    struct event *place_ev; /* places the waiting calls, from the loop */
};

/* Its own balancer, not the REST proxy's: a peer's gRPC port fails apart from its REST port,
 * and the REST probes (GET /readyz) say nothing about it. */
struct gw_grpc_pool {
    gw_loop_t *loop;
    int npeers;
    gw_balancer_t bal;
    gpeer_t peer[GW_PEERS_MAX];
};

static inline void list_init(gw_grpc_call_t *h)
{
    h->next = h->prev = h;
}

static inline void list_add(gw_grpc_call_t *h, gw_grpc_call_t *c)
{
    c->next = h;
    c->prev = h->prev;
    h->prev->next = c;
    h->prev = c;
}

static inline void list_del(gw_grpc_call_t *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = c;
}

/* client.c: reports the end (unless cancelled) and frees the call, or sends a read to another
 * peer; the call must be unlinked already. */
void gcall_close(gw_grpc_call_t *c, int code, const char *err);

/* client_conn.c: a new connection to peer p (connecting; NULL with err filled), freeing one
 * (its calls closed with code and err), an I/O round soon, submitting a call on a connected
 * one (0 / -1). */
gconn_t *gconn_new(gpeer_t *p, char *err, size_t errlen);
void gconn_free(gconn_t *k, int code, const char *err);
void gconn_kick(gconn_t *k);
int gconn_submit(gconn_t *k, gw_grpc_call_t *c);

#endif
