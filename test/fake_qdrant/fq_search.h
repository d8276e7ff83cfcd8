/* Exact brute-force scoring for fake_qdrant: nearest, recommend (average/best/sum), discover,
 * context, order_by, random sample and rrf/dbsf fusion over prefetches, plus grouping. */
#ifndef FQ_SEARCH_H
#define FQ_SEARCH_H

#include <stddef.h>
#include <jansson.h>

#include "fq_store.h"

typedef enum {
    FQ_Q_NONE = 0, /* no query: points by id */
    FQ_Q_NEAREST,
    FQ_Q_RECO_BEST,
    FQ_Q_RECO_SUM,
    FQ_Q_DISCOVER,
    FQ_Q_CONTEXT,
    FQ_Q_ORDER_BY,
    FQ_Q_FUSION_RRF,
    FQ_Q_FUSION_DBSF,
    FQ_Q_SAMPLE,
} fq_qkind_t;

typedef struct {
    fq_point_t *p;
    float score;
    int has_order;
    double order_value;
    int order_is_int;
} fq_hit_t;

typedef struct fq_sreq {
    fq_qkind_t kind;
    int slot; /* vector used for scoring */
    float *target;           /* nearest / discover target (owned) */
    float **pos, **neg;      /* recommend examples, or context pairs (owned) */
    size_t npos, nneg;
    fq_pid_t *exclude;       /* ids used as examples: never returned */
    size_t nexclude;
    const json_t *filter;
    int has_threshold;
    float threshold;
    size_t limit, offset;
    const char *order_key;
    int order_desc, has_start;
    double start_from;
    int rrf_k;
    struct fq_sreq *prefetch; /* owned array */
    size_t nprefetch;
} fq_sreq_t;

void fq_sreq_init(fq_sreq_t *r);
void fq_sreq_dispose(fq_sreq_t *r);
/* Appends a copy of v (dim floats) to the positive or negative example list. */
void fq_sreq_add_example(fq_sreq_t *r, int positive, const float *v, size_t dim);

/* Runs r on c; returns hits best first, offset/limit applied (malloc'd, *n set). A `sample`
 * query draws a fresh random order on every call (getrandom), like Qdrant. */
fq_hit_t *fq_search_run(fq_collection_t *c, const fq_sreq_t *r, size_t *n);
/* Similarity of two stored-form vectors (Cosine: both normalised). */
float fq_score(fq_dist_t d, const float *a, const float *b, uint32_t n);
/* Copies v, normalising for Cosine as Qdrant preprocesses queries. */
float *fq_prepare_query(fq_dist_t d, const float *v, uint32_t n);

typedef struct {
    json_t *id; /* group value */
    fq_hit_t *hits;
    size_t nhits;
} fq_group_t;

/* Groups hits (best first) by the payload values at key; at most limit groups of group_size. */
fq_group_t *fq_group_hits(const fq_hit_t *hits, size_t n, const char *key, size_t group_size,
                          size_t limit, size_t *ngroups);
void fq_groups_free(fq_group_t *g, size_t n);

#endif
