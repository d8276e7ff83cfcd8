/* --async-apply-ms of fake_qdrant: writes sent without wait=true are answered at once but take
 * effect N ms later from a libevent timer, in order, per collection (Qdrant's update queue). */
#ifndef FQ_ASYNC_H
#define FQ_ASYNC_H

#include "fq_app.h"

/* Applies one write to c. From the queue rq is a silent request (its error replies go nowhere)
 * and arg is the queued copy; run at once rq is the real one. Must not keep arg. */
typedef void (*fq_async_fn)(fq_rq_t *rq, fq_collection_t *c, const json_t *arg, uint64_t op);

/* Is this write to be deferred? (--async-apply-ms > 0 and not ?wait=true) */
int fq_async_defer(const fq_rq_t *rq);
/* Queues fn(arg, op) on c, due --async-apply-ms from now. arg is stolen (freed after the apply,
 * or when c is dropped with its queue). */
void fq_async_push(fq_app_t *app, fq_collection_t *c, fq_async_fn fn, json_t *arg, uint64_t op);
/* Applies c's pending writes now, oldest first (before a wait=true write). */
void fq_async_flush(fq_collection_t *c);
/* Number of c's pending writes. */
size_t fq_async_pending(const fq_collection_t *c);
/* A write that cannot fail once its request is validated, with operation id c->next_op++:
 * queued when fq_async_defer, else applied now after the pending ones. arg is stolen.
 * Returns the operation id. */
uint64_t fq_async_write(fq_rq_t *rq, fq_collection_t *c, fq_async_fn fn, json_t *arg);

#endif
