/* Request parsing shared by fake_qdrant's search-type routes: result windows, vector inputs
 * (raw vectors or point ids, optionally looked up in another collection), recommend examples. */
#ifndef FQ_QPARSE_H
#define FQ_QPARSE_H

#include "fq_app.h"
#include "fq_search.h"

/* Parse pass. With c == NULL only the body's shape is checked (format errors come before
 * "collection not found"); with c set, ids are resolved and dimensions checked. */
typedef struct {
    fq_rq_t *rq;
    fq_collection_t *c;
    const char *vpath; /* prefix of 422 field paths: "internal", "search_request", … */
} fq_qp_t;

/* Where point ids given as examples are looked up (lookup_from or the searched collection). */
typedef struct {
    fq_collection_t *lc;
    const char *vname;
    int same; /* lookups in the searched collection: exclude the ids from results */
} fq_lookup_t;

/* Output selectors of a request (borrowed from the body). */
typedef struct {
    const json_t *with_payload;
    const json_t *with_vector;
} fq_select_t;

/* limit (or "top"), offset, score_threshold, filter, with_payload / with_vector. */
int fq_qp_window(fq_qp_t *q, const json_t *o, fq_sreq_t *r, int limit_required,
                 uint64_t limit_default, int allow_offset);
int fq_qp_select(fq_qp_t *q, const json_t *o, fq_select_t *sel);
/* Vector name → r->slot; a missing name means the default vector. */
int fq_qp_using(fq_qp_t *q, const char *name, fq_sreq_t *r);
/* lookup_from {collection, vector?}; defaults to the searched collection and "using". */
int fq_qp_lookup(fq_qp_t *q, const json_t *lookup_from, const char *using, fq_lookup_t *lk);
/* One dense vector or point id, resolved into a query-ready copy (*out, owned). ids are added
 * to r->exclude when looked up in the searched collection. */
int fq_qp_vector_input(fq_qp_t *q, const json_t *v, fq_sreq_t *r, const fq_lookup_t *lk,
                       float **out);
/* Recommend examples into r (average_vector turns them into r->target). strategy may be NULL. */
int fq_qp_recommend(fq_qp_t *q, const json_t *pos, const json_t *neg, const char *strategy,
                    fq_sreq_t *r, const fq_lookup_t *lk);
/* Context pairs [{positive, negative}] (one pair or a list) into r->pos / r->neg. */
int fq_qp_context(fq_qp_t *q, const json_t *ctx, fq_sreq_t *r, const fq_lookup_t *lk);

/* Scroll / query order_by: "key" or {"key","direction","start_from"}; sets r->order_*. */
int fq_qp_order_by(fq_rq_t *rq, const json_t *ob, fq_sreq_t *r);

typedef struct {
    const char *group_by;
    uint64_t group_size, limit;
    const json_t *with_lookup;
    fq_collection_t *lookup; /* resolved in the real pass */
    const json_t *lookup_wp, *lookup_wv;
} fq_groupreq_t;

/* group_by, group_size, limit (groups) and with_lookup; legacy routes require size and limit. */
int fq_qp_groups(fq_qp_t *q, const json_t *o, fq_groupreq_t *g, int legacy);
/* Runs r over every candidate and renders {"groups":[{"hits","id","lookup"?}]}. */
json_t *fq_qp_run_groups(fq_qp_t *q, fq_sreq_t *r, const fq_groupreq_t *g, const fq_select_t *sel);

#endif
