/* Internal requests: a gw_req_t with an in-memory codec, handed to gw_dispatch so that it takes
 * the same cache-or-proxy path as a client's request (cached, coalesced, invalidating). Used by
 * the model API and GraphQL; the answer is collected in memory (bounded by GW_SUBREQ_MAX). */
#ifndef GW_HANDLER_SUBREQ_H
#define GW_HANDLER_SUBREQ_H

#include <stddef.h>

#include "gateway/core/loop.h"
#include "gateway/http/request.h"

#define GW_SUBREQ_MAX (64u << 20) /* largest answer kept in memory */

typedef struct gw_subreq gw_subreq_t;
/* The sub is complete (answered, failed or could not start): called once, from the loop, never
 * from inside gw_subreq_start. It may free the sub's owner (after gw_subreq_dispose). */
typedef void (*gw_subreq_done_cb)(gw_subreq_t *s, void *arg);

struct gw_subreq {
    /* What the caller reads once done is 1. */
    int status;            /* 0 until a head arrived */
    int ok;                /* complete and not cut short or too large */
    int finished;          /* the codec's finish happened (or it could not start) */
    int done;              /* the done callback ran, or the sub was aborted */
    int overflow;          /* the body was larger than GW_SUBREQ_MAX */
    char xcache[16];       /* X-Cache of the answer, "" if none */
    const char *error;     /* why there is no answer (status 0), static text */
    struct evbuffer *body; /* the answer's body */
    /* Private. */
    gw_req_t *r;      /* the internal request while we hold its codec side */
    struct event *ev; /* activated by finish: the answer is complete */
    gw_subreq_done_cb cb;
    void *arg;
};

/* Prepares s (zeroed first) on loop l. 0 / -1 (out of memory; gw_subreq_dispose is still safe). */
int gw_subreq_init(gw_subreq_t *s, gw_loop_t *l, gw_subreq_done_cb cb, void *arg);
/* Starts `method target` (target already percent-encoded) with an optional JSON body, carrying
 * outer's credentials, cache control and X-Forwarded-For. Completes through cb whatever happens. */
void gw_subreq_start(gw_subreq_t *s, const gw_req_t *outer, const char *method, const char *target,
                     const char *body, size_t len);
/* Completes s through cb (from the loop) with no answer and `why` (static text). */
void gw_subreq_fail(gw_subreq_t *s, const char *why);
/* Ends s now without calling cb (client gone, timeout), as a codec does when its client leaves;
 * sets done, and error = why unless it had finished. */
void gw_subreq_abort(gw_subreq_t *s, const char *why);
/* Aborts if needed and frees what init made. */
void gw_subreq_dispose(gw_subreq_t *s);
/* The answer's body (contiguous), "" when empty. */
const char *gw_subreq_body(gw_subreq_t *s, size_t *len);

#endif
