/* Internals of the HTTP/2 codec shared by server.c (connection: session, I/O, timers, shutdown) and
 * stream.c (streams: headers into gw_req_t, codec ops, flow control). Not a public API. */
#ifndef GW_H2_INTERNAL_H
#define GW_H2_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/http/head.h"
#include "gateway/http/request.h"
#include "gateway/core/loop.h"

struct bufferevent;
struct evbuffer;
struct evbuffer_cb_entry;
struct event;

typedef struct h2_conn h2_conn_t;
typedef struct h2_stream h2_stream_t;

/* One client stream: lives from its first HEADERS frame until nghttp2 closes it (or the
 * connection goes). Holds the codec side of its request. */
struct h2_stream {
    h2_stream_t *prev, *next; /* the connection's list */
    h2_conn_t *c;
    int32_t id;
    gw_req_t *req;                     /* NULL until the request head is complete */
    struct evbuffer_cb_entry *body_cb; /* on req->body: window credit as the handler reads */

    /* The request head as it arrives; moved into req->raw when complete. */
    gw_head_t head;
    gw_hoff_t method, path, authority; /* offsets into head.buf, value_* only; 0 = absent */
    size_t head_bytes;                 /* header list size as RFC 9113 counts it */

    struct evbuffer *out; /* response body not yet taken by nghttp2 */
    size_t owned;         /* bytes of out copied in (the rest reference stored answers) */
    size_t unconsumed;    /* request body bytes received and not yet credited back */
    size_t held;          /* read by the handler while it asked for no more (want_body 0) */
    uint64_t received;    /* request body bytes received in all */
    uint64_t drop_until;  /* answered early: drop body bytes up to here, then RST_STREAM */

    unsigned too_large : 1;     /* header list over limits.max_header_bytes: 431 */
    unsigned recv_done : 1;     /* END_STREAM received */
    unsigned reset_by_peer : 1; /* the client sent RST_STREAM */
    unsigned resp_body : 1;     /* the response has a DATA provider */
    unsigned out_done : 1;      /* finish(ok): EOF once out is empty */
    unsigned deferred : 1;      /* the provider returned NGHTTP2_ERR_DEFERRED */
    unsigned out_high : 1;      /* out reached GW_REQ_HIGH_WATER: on_drain owed below low water */
    unsigned drain_wanted : 1;  /* call the handler's on_drain after this send round */
    unsigned body_hold : 1;     /* want_body(0): keep credit until want_body(1) */
    unsigned end_sent : 1;      /* our END_STREAM went out */
    unsigned rst_sent : 1;      /* we reset the stream */
    unsigned body_late : 1;     /* limits.body_timeout passed: reset once the 408 is out */
    unsigned parked : 1;        /* complete but not dispatched: the connection is over budget */
    unsigned budget_high : 1;   /* out_pending said "full" for the connection: on_drain owed */
    struct event *body_ev;      /* the body clock (limits.body_timeout), made on first use */
    /* send_trailers: the fields, submitted once out is empty (NULL: the stream ends with the
     * last DATA). One block: the nghttp2_nv array, then the names and values it points at. */
    nghttp2_nv *trailers;
    size_t ntrailers;
};

/* Timer roles, one timer per connection. */
enum { H2_T_NONE, H2_T_SETTINGS, H2_T_IDLE, H2_T_GOAWAY, H2_T_CLOSING, H2_T_LINGER };

struct h2_conn {
    gw_conn_link_t link; /* first: the worker's list holds &link */
    gw_loop_t *loop;
    struct bufferevent *bev;
    nghttp2_session *ng;
    struct event *timer;
    struct event *kick_ev; /* runs nghttp2_session_send from the loop (see h2_conn_kick) */
    struct event *read_ev; /* plain sockets: our own reads (gw_sock_read), not the bev's */
    h2_stream_t streams;   /* list head */
    size_t nstreams;
    /* Response bytes queued in the streams' out buffers, all streams: while over
     * H2_CONN_OUT_BUDGET no new stream is dispatched and out_pending reports every stream full,
     * so one connection holds at most about the budget plus one answer. */
    size_t out_bytes;
    size_t nparked; /* streams with parked set */
    char peer[64];
    uint64_t resets_unanswered; /* streams the client reset before their response finished */
    uint64_t answered;          /* responses finished */
    int tkind;                  /* H2_T_* */

    unsigned got_settings : 1;  /* the client's SETTINGS arrived */
    unsigned refuse : 1;        /* over server.max_connections: 503 and GOAWAY */
    unsigned draining : 1;      /* shutdown notice sent */
    unsigned goaway_final : 1;  /* final GOAWAY submitted */
    unsigned calm_sent : 1;     /* GOAWAY ENHANCE_YOUR_CALM submitted */
    unsigned drain_pending : 1; /* some stream has drain_wanted */
    unsigned read_blocked : 1;  /* reading paused while our output is backed up */
    unsigned read_pending : 1;  /* buffered input to feed at the next kick */
    unsigned lingering : 1;     /* all written and half-closed: dropping input, then free */
    unsigned closing : 1;       /* being freed: no more calls into the session */
    /* Plain TCP: frames are written straight to the socket at the end of a send round; the
     * bufferevent writes (EV_WRITE enabled) only what the socket did not take, which saves
     * arming and disarming EV_WRITE (two epoll_ctl) per answer. */
    unsigned direct : 1;
    unsigned send_blocked : 1; /* the send callback said WOULDBLOCK in this round */
};

/* server.c: ask for a send round from the event loop. Safe anywhere, also inside nghttp2 and
 * libcurl callbacks (codec ops run there); several requests coalesce into one round. */
void h2_conn_kick(h2_conn_t *c);

/* stream.c. All are called from nghttp2 callbacks except h2_stream_free (also at teardown). */
h2_stream_t *h2_stream_new(h2_conn_t *c, int32_t id);
/* Detaches and frees: aborts unfinished handler work, releases the codec side of the request,
 * credits unread body bytes back to the connection window. */
void h2_stream_free(h2_stream_t *st);
/* One header of the request head (pseudo-headers included); trailers are ignored. 0, or an
 * nghttp2 error code for the callback to return. */
int h2_stream_on_header(h2_stream_t *st, const uint8_t *name, size_t nl, const uint8_t *value,
                        size_t vl);
/* The request head is complete: build the request, check it, dispatch it. */
void h2_stream_on_head_done(h2_stream_t *st, int end_stream);
void h2_stream_on_data(h2_stream_t *st, const uint8_t *data, size_t len);
void h2_stream_on_end(h2_stream_t *st);      /* END_STREAM received (DATA or trailers) */
void h2_stream_on_sent_end(h2_stream_t *st); /* our END_STREAM went out */
/* A DATA frame of st's answer goes out: its 9-byte header, then length bytes of st->out
 * moved (not copied) into to. 0, or an nghttp2 error code for the callback to return. */
int h2_stream_send_data(h2_stream_t *st, struct evbuffer *to, const uint8_t *framehd,
                        size_t length);
/* Calls the handler's on_drain if owed (from the connection, after a send round). */
void h2_stream_notify_drain(h2_stream_t *st);
/* After a send round: when the connection's queued output fell under the budget, dispatch the
 * parked streams (oldest first, while it stays under) and owe on_drain to the streams that were
 * told the connection was full. */
void h2_streams_budget_check(h2_conn_t *c);

/* The connection's output buffer: the send callback answers WOULDBLOCK above this, and DATA
 * payloads are moved into it without a copy only below it (above, they are copied into
 * nghttp2's frame, whose send then blocks: the session stops there). */
#define H2_OUT_HIGH (256u << 10)

/* Response bytes one connection may queue across its streams (besides the socket buffer). */
#define H2_CONN_OUT_BUDGET (4u << 20)

#endif
