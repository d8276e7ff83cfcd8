/* The dispatch table; see dispatch.h. */
#include "gateway/http/dispatch.h"

#include <string.h>

#include "gateway/core/loop.h"

void gw_dispatch_not_found(void *ctx, gw_req_t *r)
{
    (void)ctx;
    gw_req_respond_error(r, 404, "Not found: no gateway API route %s %.*s", r->method,
                         (int)r->path_len, r->path);
    gw_req_release(r, GW_REQ_HANDLER);
}

void gw_dispatch_init(gw_dispatch_t *d)
{
    for (int i = 0; i < GW_H_COUNT; i++) {
        d->slot[i].fn = gw_dispatch_not_found;
        d->slot[i].ctx = NULL;
    }
    d->gate = NULL;
    d->gate_ctx = NULL;
}

void gw_dispatch_set_gate(gw_dispatch_t *d, gw_gate_fn fn, void *ctx)
{
    d->gate = fn;
    d->gate_ctx = ctx;
}

void gw_dispatch_set(gw_dispatch_t *d, gw_handler_id_t id, gw_handler_fn fn, void *ctx)
{
    if ((unsigned)id >= GW_H_COUNT || !fn) return;
    d->slot[id].fn = fn;
    d->slot[id].ctx = ctx;
}

void gw_dispatch_resume(gw_req_t *r)
{
    const gw_dispatch_t *d = r->loop->dispatch;
    unsigned id = (unsigned)r->route.handler;
    if (id >= GW_H_COUNT) id = GW_H_API_NOT_FOUND;
    d->slot[id].fn(d->slot[id].ctx, r);
}

void gw_dispatch(gw_req_t *r)
{
    const gw_dispatch_t *d = r->loop->dispatch;
    /* A known gRPC method names its collection in the message: the handler runs the gate once
     * it has read it (gw_dispatch_gate_async). */
    int deferred = r->grpc && r->grpc_method;
    if (d->gate && !deferred && (!r->internal || r->internal_gated) && d->gate(d->gate_ctx, r))
        return;
    gw_dispatch_resume(r);
}

int gw_dispatch_gate_async(gw_req_t *r, gw_gate_resume_fn resume, void *arg)
{
    const gw_dispatch_t *d = r->loop->dispatch;
    if (!d->gate) return 0;
    r->gate_wait.resume = resume;
    r->gate_wait.arg = arg;
    r->gate_wait.cancel = NULL;
    r->gate_wait.park = NULL;
    int rc = d->gate(d->gate_ctx, r);
    if (rc == 0) memset(&r->gate_wait, 0, sizeof(r->gate_wait)); /* (1: r may be gone) */
    return rc;
}

void gw_dispatch_gate_cancel(gw_req_t *r)
{
    void (*cancel)(void *) = r->gate_wait.cancel;
    void *park = r->gate_wait.park;
    memset(&r->gate_wait, 0, sizeof(r->gate_wait));
    if (cancel) cancel(park);
}

gw_gate_wait_t gw_dispatch_gate_take(gw_req_t *r)
{
    gw_gate_wait_t w = r->gate_wait;
    memset(&r->gate_wait, 0, sizeof(r->gate_wait));
    return w;
}

void gw_dispatch_gate_done(gw_req_t *r, gw_gate_wait_t w, int answered)
{
    if (w.resume)
        w.resume(r, w.arg, answered);
    else if (!answered)
        gw_dispatch_resume(r);
}
