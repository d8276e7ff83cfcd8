/* Output shapes of fake_qdrant: Record and ScoredPoint JSON with Qdrant's field order, payload
 * selection (with_payload bool/list/include/exclude) and vector selection (with_vector). */
#ifndef FQ_RENDER_H
#define FQ_RENDER_H

#include <jansson.h>

#include "fq_app.h"
#include "fq_search.h"

/* Checks with_payload / with_vector values (absent and null are fine). 0 or -1 (answered). */
int fq_check_with_payload(fq_rq_t *rq, const json_t *v);
int fq_check_with_vector(fq_rq_t *rq, const json_t *v);

/* Selected payload, or NULL when with_payload excludes it. dflt: value when v is absent. */
json_t *fq_render_payload(const json_t *payload, const json_t *with_payload, int dflt);
/* Selected vectors (array for the unnamed vector, object for named ones), or NULL. */
json_t *fq_render_vector(const fq_collection_t *c, const fq_point_t *p, const json_t *with_vector,
                         int dflt);
/* {"id","payload"?,"vector"?} */
json_t *fq_render_record(const fq_collection_t *c, const fq_point_t *p, const json_t *wp,
                         const json_t *wv, int wp_dflt, int wv_dflt);
/* {"id","version","score","payload"?,"vector"?,"order_value"?}; payload and vectors off by default. */
json_t *fq_render_scored(const fq_collection_t *c, const fq_hit_t *h, const json_t *wp,
                         const json_t *wv);
json_t *fq_render_hits(const fq_collection_t *c, const fq_hit_t *h, size_t n, const json_t *wp,
                       const json_t *wv);
json_t *fq_render_floats(const float *v, uint32_t n);
/* UpdateResult {"operation_id":op,"status":"completed"|"acknowledged"}. */
json_t *fq_render_update(uint64_t op, int wait);

#endif
