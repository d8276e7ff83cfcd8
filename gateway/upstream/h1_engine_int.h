/* Inside the own upstream engine: what h1_engine.c (connections, pool, answers) shares
 * with h1_engine_req.c (the request head and writing it). Private to those two files. */
#ifndef GW_PROXY_H1_INT_H
#define GW_PROXY_H1_INT_H

#include <llhttp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/upstream/internal.h"

#define PXH_READ_BYTES (64u << 10)

struct pxh_conn {
    pxh_pool_t *pool;
    int fd;
    struct event *rev, *wev, *idle_timer;
    llhttp_t parser;
    px_xfer_t *x;            /* the exchange under way, NULL when idle */
    pxh_conn_t *prev, *next; /* every connection */
    pxh_conn_t *idle_next;   /* the idle stack, most recently used on top */
    unsigned connecting : 1, idle : 1;
    unsigned reused : 1;     /* carried an exchange before this one */
    unsigned got_bytes : 1;  /* some of the current answer arrived */
    unsigned in_value : 1;   /* header parsing: the last piece was a value */
    unsigned msg_done : 1;   /* the final answer is complete */
    unsigned keep_alive : 1; /* ... and allows another exchange */
    unsigned read_paused : 1;
    char addr[64];     /* the address it connected to, "a:port", for logs */
    unsigned addr_gen; /* pool's addr_gen when it was opened */
};

struct pxh_pool {
    gw_proxy_t *px;
    px_peer_t *peer;     /* whose connections these are */
    unsigned addr_gen;   /* counts moves of the upstream's address: older connections go */
    char authority[300]; /* Host header and logs: host[:port] as written in upstream.url */
    pxh_conn_t *conns;
    pxh_conn_t *idle;
    int nconns;
    px_xfer_t *wait_head, *wait_tail;
    char rbuf[PXH_READ_BYTES];
};

/* h1_engine.c */
/* Milliseconds left for x: of upstream.timeout, or the whole window for streamed routes. */
uint64_t pxh_deadline_ms(const px_xfer_t *x);

/* h1_engine_req.c */
/* Builds x's request head from r and decides how the body travels (whole, Content-Length
 * stream, chunked). 0, or -1 out of memory. */
int pxh_build(px_xfer_t *x, gw_req_t *r);
/* Everything of the request has been written. */
int pxh_write_done(const px_xfer_t *x);
/* Writes what it can: 0 all written for now, 1 the socket is full (wait for EV_WRITE), -1 an
 * error in errno. */
int pxh_write(pxh_conn_t *c, px_xfer_t *x);

#endif
