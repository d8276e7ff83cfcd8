/* The one dispatch table: a router row names a handler (gw_handler_id_t), the worker fills the
 * table once at startup, and codecs hand every request whose head is complete to gw_dispatch. */
#ifndef GW_HTTP_DISPATCH_H
#define GW_HTTP_DISPATCH_H

#include "gateway/http/request.h"
#include "gateway/http/router.h"

/* Takes the handler side of r (answers now or later and calls gw_req_release(r, HANDLER)). */
typedef void (*gw_handler_fn)(void *ctx, gw_req_t *r);

/* Runs before any handler (access control): 0 to go on, 1 when it answered and released the
 * handler side itself, or took the request to finish it later (a tenant's body being read):
 * it then answers, or hands it on with gw_dispatch_resume; -1 when it made r wait (a global
 * rate limit): gw_dispatch_gate_take and gw_dispatch_gate_done follow. Internal requests
 * (r->internal) skip it: their client's request passed. */
typedef int (*gw_gate_fn)(void *ctx, gw_req_t *r);

typedef struct gw_dispatch {
    struct {
        gw_handler_fn fn;
        void *ctx;
    } slot[GW_H_COUNT];
    gw_gate_fn gate; /* NULL: none */
    void *gate_ctx;
} gw_dispatch_t;

/* Every slot answers like GW_H_API_NOT_FOUND until set. */
void gw_dispatch_init(gw_dispatch_t *d);
void gw_dispatch_set(gw_dispatch_t *d, gw_handler_id_t id, gw_handler_fn fn, void *ctx);

void gw_dispatch_set_gate(gw_dispatch_t *d, gw_gate_fn fn, void *ctx);

/* Hands r to the handler of its route (r->route.handler) in its loop's table. */
void gw_dispatch(gw_req_t *r);
/* The same without the gate: for a request the gate took and now lets through. */
void gw_dispatch_resume(gw_req_t *r);

/* The gate for a request whose handler deferred it (gRPC: after reading the message) and keeps
 * it (its r->handler stays) while the gate may wait: 0 to go on, 1 when it answered and released
 * the handler side, -1 when the gate waits (a global rate limit: Redis decides). Then resume(r,
 * arg, answered) follows once, from the event loop: answered 0 to go on, 1 when the gate answered
 * and released the handler side; unless the handler ends first (client gone, its deadline): it
 * calls gw_dispatch_gate_cancel(r), after which the gate never touches r. */
typedef void (*gw_gate_resume_fn)(gw_req_t *r, void *arg, int answered);
int gw_dispatch_gate_async(gw_req_t *r, gw_gate_resume_fn resume, void *arg);
/* Stops a wait of gw_dispatch_gate_async (no-op when none). */
void gw_dispatch_gate_cancel(gw_req_t *r);
/* For gates, when a request they made wait is decided: first the continuation is taken from r
 * (before an answer may free it), then, once the gate answered (1) or not (0), handed on:
 * to the continuation when there is one, else (0) to r's handler. */
gw_gate_wait_t gw_dispatch_gate_take(gw_req_t *r);
void gw_dispatch_gate_done(gw_req_t *r, gw_gate_wait_t w, int answered);

/* 404 "Not found: no gateway API route <method> <path>", for /api/v1 paths nobody serves (also
 * for handlers whose own path parse finds no route). */
void gw_dispatch_not_found(void *ctx, gw_req_t *r);

#endif
