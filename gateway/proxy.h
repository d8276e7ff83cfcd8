/* The upstream pool: one libcurl multi handle per worker, driven by the worker's event loop,
 * keeping warm keep-alive connections to Qdrant and streaming bodies in both directions. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/request.h"
#include "gateway/worker.h"

/* Creates the pool for a worker (its loop must exist). NULL with err filled on failure. */
gw_proxy_t *gw_proxy_new(gw_worker_t *w, char *err, size_t errlen);
/* Cancels every transfer without calling back, closes pooled connections. Call before the
 * worker's event_base is freed. */
void gw_proxy_free(gw_proxy_t *px);

/* Forwards r to Qdrant and answers it: the proxy takes the handler side of r. */
void gw_proxy_forward(gw_proxy_t *px, gw_req_t *r);

/* Completion of an internal GET. ok: a full HTTP answer arrived (any status). */
typedef void (*gw_fetch_cb)(void *arg, int ok, long status, const char *body, size_t len,
                            double seconds, const char *error);
/* Issues an internal GET of `path` on the upstream (health probes, metrics). The callback runs
 * exactly once, from the event loop, unless the pool is freed first. 0 / -1. */
int gw_proxy_fetch(gw_proxy_t *px, const char *path, uint64_t timeout_ms, gw_fetch_cb cb,
                   void *arg);

#endif
