/* A worker's event loop and what lives at its level: the client connections linked into it (so
 * that shutdown can drain them), the wake mailbox other threads use, and its counters. */
#ifndef GW_CORE_LOOP_H
#define GW_CORE_LOOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/config.h"
#include "gateway/core/stats.h"

struct event_base;
struct event;
struct gw_dispatch;
struct gw_dns;

/* Every client connection, whatever its protocol, is linked into its loop. */
typedef struct gw_conn_link {
    struct gw_conn_link *prev, *next;
    int proto;                                  /* GW_PROTO_*, set before gw_loop_conn_add */
    void (*drain)(struct gw_conn_link *self);   /* shutting down: close when idle */
    void (*destroy)(struct gw_conn_link *self); /* shutdown deadline passed: close now */
} gw_conn_link_t;

/* Why another thread woke a loop: each has at most one callback. */
enum { GW_WAKE_STOP = 0, GW_WAKE_CACHE_MAIL, GW_WAKE_RETIRE, GW_WAKE_N };
typedef void (*gw_wake_cb)(void *arg);

typedef struct gw_loop {
    int id;                  /* the worker's number, 0.. */
    const gw_config_t *cfg;  /* the configuration new connections take */
    struct event_base *base; /* built without locks: only this thread touches it */
    struct gw_dns *dns;      /* this loop's resolver for upstream and Redis host names (dns.*) */
    gw_wstats_t *stats;      /* written by this thread only, read by the metrics scrape */
    atomic_int *connections; /* open client connections of the whole process */
    /* Where codecs hand complete request heads (gateway/http/dispatch.h); set by the worker. */
    const struct gw_dispatch *dispatch;
    gw_conn_link_t conns; /* list head */
    size_t nconns;
    int draining;            /* shutting down: codecs close connections once idle */
    int retiring;            /* replaced by a reload: no new connections, HTTP/1.1 answers close */
    struct event *retire_ev; /* end of the retirement grace: then drain */
    uint64_t retire_drain_ms;
    int wake_fd;
    struct event *wake_ev;
    struct event *deadline_ev;
    atomic_uint wake_bits;
    gw_wake_cb wake_cb[GW_WAKE_N];
    void *wake_arg[GW_WAKE_N];
} gw_loop_t;

/* Creates the event base, its resolver (dns.*; worker 0 logs), the eventfd of the mailbox and
 * the counters. connections: the
 * process-wide count the codecs keep. 0 / -1 with err filled (then call gw_loop_dispose). */
int gw_loop_init(gw_loop_t *l, int id, const gw_config_t *cfg, atomic_int *connections, char *err,
                 size_t errlen);
/* Frees what gw_loop_init made; connections still linked are destroyed first. */
void gw_loop_dispose(gw_loop_t *l);

/* On the loop's thread, before other threads may wake it: cb(arg) runs on the loop whenever
 * gw_loop_wake(l, why) was called since the last run. */
void gw_loop_on_wake(gw_loop_t *l, unsigned why, gw_wake_cb cb, void *arg);
/* Thread-safe: the only way other threads may touch a loop. */
void gw_loop_wake(gw_loop_t *l, unsigned why);

/* Destroys every connection still linked (their upstream transfers are aborted): the first step
 * of tearing a worker down, while its pool and the base still exist. */
void gw_loop_close_conns(gw_loop_t *l);

void gw_loop_conn_add(gw_loop_t *l, gw_conn_link_t *c);
/* Unlinks a closed connection; when draining and it was the last, the loop exits. */
void gw_loop_conn_remove(gw_loop_t *l, gw_conn_link_t *c);

/* Shutting down: every connection is asked to close once idle; the loop exits when the last
 * one is gone, or after timeout_ms with the rest still open. Loop thread only. */
void gw_loop_drain(gw_loop_t *l, uint64_t timeout_ms);

/* A reload replaced this loop's configuration (loop thread only): its listeners are already
 * closed; open connections go on being served on the old settings (HTTP/1.1 answers say
 * Connection: close, so clients move to the new listeners), for up to grace_ms, then the loop
 * drains as at shutdown with drain_ms. The loop exits as soon as no connection is left. */
void gw_loop_retire(gw_loop_t *l, uint64_t grace_ms, uint64_t drain_ms);

/* Runs the loop until it exits (the worker thread's body). */
void gw_loop_run(gw_loop_t *l);

#endif
