/* Deferred writes of fake_qdrant (--async-apply-ms): a FIFO per collection, hung on the
 * collection itself so that deleting it (or /__fake/reset, or shutdown) drops its queue, and one
 * libevent timer per queue armed for the oldest entry. Entries own a copy of what they apply. */
#include "fq_async.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

typedef struct entry {
    struct entry *next;
    fq_async_fn fn;
    json_t *arg;
    uint64_t op;
    struct timespec due;
} entry_t;

typedef struct {
    fq_app_t *app;
    fq_collection_t *c;
    struct event *timer;
    entry_t *head, *tail;
    size_t n;
} queue_t;

static void queue_free(void *p)
{
    queue_t *q = p;
    if (!q) return;
    event_free(q->timer);
    while (q->head) {
        entry_t *e = q->head;
        q->head = e->next;
        json_decref(e->arg);
        free(e);
    }
    free(q);
}

/* Pops and applies the oldest entry. */
static void apply_head(queue_t *q)
{
    entry_t *e = q->head;
    q->head = e->next;
    if (!q->head) q->tail = NULL;
    q->n--;
    fq_rq_t silent;
    memset(&silent, 0, sizeof(silent));
    silent.app = q->app;
    silent.wait = 1;
    clock_gettime(CLOCK_MONOTONIC, &silent.t0);
    e->fn(&silent, q->c, e->arg, e->op);
    json_decref(e->arg);
    free(e);
}

/* ms from now until t (0 when past). */
static long ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

static void arm(queue_t *q, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(q->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    queue_t *q = arg;
    (void)fd;
    (void)what;
    while (q->head && ms_until(&q->head->due) == 0)
        apply_head(q);
    if (q->head) arm(q, ms_until(&q->head->due));
}

int fq_async_defer(const fq_rq_t *rq)
{
    return rq->app->opt.async_apply_ms > 0 && !rq->wait;
}

void fq_async_push(fq_app_t *app, fq_collection_t *c, fq_async_fn fn, json_t *arg, uint64_t op)
{
    queue_t *q = c->pending;
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q) abort();
        q->app = app;
        q->c = c;
        q->timer = evtimer_new(app->base, on_timer, q);
        if (!q->timer) abort();
        c->pending = q;
        c->pending_free = queue_free;
    }
    entry_t *e = calloc(1, sizeof(*e));
    if (!e) abort();
    e->fn = fn;
    e->arg = arg;
    e->op = op;
    int ms = app->opt.async_apply_ms;
    clock_gettime(CLOCK_MONOTONIC, &e->due);
    e->due.tv_sec += ms / 1000;
    e->due.tv_nsec += (long)(ms % 1000) * 1000000;
    if (e->due.tv_nsec >= 1000000000L) {
        e->due.tv_sec++;
        e->due.tv_nsec -= 1000000000L;
    }
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->n++;
    if (!evtimer_pending(q->timer, NULL)) arm(q, ms);
}

void fq_async_flush(fq_collection_t *c)
{
    queue_t *q = c->pending;
    if (!q || !q->head) return;
    evtimer_del(q->timer);
    while (q->head)
        apply_head(q);
}

size_t fq_async_pending(const fq_collection_t *c)
{
    const queue_t *q = c->pending;
    return q ? q->n : 0;
}

uint64_t fq_async_write(fq_rq_t *rq, fq_collection_t *c, fq_async_fn fn, json_t *arg)
{
    uint64_t op = c->next_op++;
    if (fq_async_defer(rq)) {
        fq_async_push(rq->app, c, fn, arg, op);
        return op;
    }
    fq_async_flush(c);
    fn(rq, c, arg, op);
    json_decref(arg);
    return op;
}
