/* A worker thread: its own event loop, SO_REUSEPORT listener, upstream pool and health probe.
 * A request is born and dies on one worker; nothing here is touched by other threads except
 * gw_worker_stop() and the atomics in gw_shared_t. */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/config.h"
#include "gateway/http/request.h"
#include "gateway/core/stats.h"

struct event_base;
struct event;
struct evconnlistener;
typedef struct gw_proxy gw_proxy_t;
typedef struct gw_health gw_health_t;
typedef struct gw_cache gw_cache_t;
typedef struct gw_cache_shared gw_cache_shared_t;
typedef struct gw_tls gw_tls_t;

/* Process-wide state, read-only once workers run (except the atomics). */
typedef struct gw_shared {
    const gw_config_t *cfg;
    int nworkers;
    atomic_int connections;     /* open client connections, all workers */
    uint64_t start_us;          /* monotonic start time, for uptime */
    char upstream_resolve[300]; /* CURLOPT_RESOLVE entry "host:port:addr", or "" for IP literals */
    /* Where an http:// upstream is, resolved at startup; addrlen 0 for https:// or a name that
     * did not resolve (libcurl then carries every request). */
    struct sockaddr_storage upstream_addr;
    socklen_t upstream_addrlen;
    char upstream_authority[300];      /* host[:port] as written in upstream.url: Host, logs */
    gw_cache_shared_t *cache;          /* NULL when cache.enabled is false */
    struct gw_worker *workers;         /* all of them, for the metrics scrape */
    double start_wall;                 /* process start, seconds since the epoch */
    struct gw_metrics_shared *metrics; /* scrape cache for upstream /metrics texts */
    gw_tls_t *tls;                     /* the TLS context when tls.listen is set, else NULL */
} gw_shared_t;

/* Every client connection, whatever its protocol, is linked into its worker so that shutdown
 * can close the idle ones and wait for the busy ones. */
typedef struct gw_conn_link {
    struct gw_conn_link *prev, *next;
    int proto;                                  /* GW_PROTO_*, set before gw_worker_conn_add */
    void (*drain)(struct gw_conn_link *self);   /* shutting down: close when idle */
    void (*destroy)(struct gw_conn_link *self); /* shutdown deadline passed: close now */
} gw_conn_link_t;

struct gw_worker {
    int id;
    pthread_t thread;
    int thread_started;
    gw_shared_t *shared;
    const gw_config_t *cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct evconnlistener *tls_listener; /* NULL unless tls.listen is set */
    struct event *stop_ev;
    struct event *deadline_ev;
    /* Other threads wake this loop through an eventfd (the bases are built without locks). */
    int wake_fd;
    struct event *wake_ev;
    atomic_uint wake_bits; /* GW_WAKE_* */
    gw_proxy_t *proxy;
    gw_health_t *health;
    gw_cache_t *cache;                  /* NULL when the cache is off */
    struct gw_models_memo *models_memo; /* model-API answers, made on first use */
    gw_wstats_t *stats;   /* this worker's counters (the scrape reads them from any thread) */
    gw_conn_link_t conns; /* list head */
    size_t nconns;
    int draining;
};

/* Resolves upstream.url once, before workers start, so no request ever waits on DNS: fills
 * upstream_addr/addrlen and upstream_authority for an http:// upstream (the own client) and
 * upstream_resolve for a name (libcurl's CURLOPT_RESOLVE; IP literals need none). When
 * resolution fails, libcurl resolves per connection instead (logged). */
void gw_shared_resolve_upstream(gw_shared_t *sh);

/* Creates the loop, binds the listeners (server.listen, and tls.listen when shared->tls) and
 * the upstream pool on the calling thread, so that errors (port in use) surface before any
 * thread starts. 0 / -1 with err filled. */
int gw_worker_init(gw_worker_t *w, gw_shared_t *shared, int id, char *err, size_t errlen);
int gw_worker_start(gw_worker_t *w);
/* Thread-safe: ask the worker to stop accepting, finish in-flight requests, and exit its loop
 * (forced after server.shutdown_timeout). */
void gw_worker_stop(gw_worker_t *w);
/* Why another thread woke a worker. */
enum { GW_WAKE_STOP = 1, GW_WAKE_CACHE_MAIL = 2 };
/* Thread-safe: makes the worker's loop act on `why` soon (the only way other threads may touch
 * a worker's loop, whose event base has no locks). */
void gw_worker_wake(gw_worker_t *w, unsigned why);

/* Joins the thread (if started) and frees everything. */
void gw_worker_dispose(gw_worker_t *w);

void gw_worker_conn_add(gw_worker_t *w, gw_conn_link_t *c);
/* Unlinks a closed connection; when draining and it was the last, the loop exits. */
void gw_worker_conn_remove(gw_worker_t *w, gw_conn_link_t *c);

/* Routes a request whose headers are complete to its handler (gateway API or upstream). */
void gw_worker_dispatch(gw_worker_t *w, gw_req_t *r);

#endif
