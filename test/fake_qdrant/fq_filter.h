/* Qdrant filters for fake_qdrant: structural checks with Qdrant's error texts, and evaluation of
 * must/should/must_not/min_should, match, range, has_id, is_empty, is_null, nested, geo. */
#ifndef FQ_FILTER_H
#define FQ_FILTER_H

#include <jansson.h>

#include "fq_app.h"

/* Checks a Filter value before use. path names it in validation messages ("filter",
 * "internal.filter"). 0 ok, -1 after answering 400/422. A JSON null filter is fine. */
int fq_filter_check(fq_rq_t *rq, const json_t *filter, const char *path);
/* Whether point p passes filter (NULL or null: every point). */
int fq_filter_match(const fq_collection_t *c, const fq_point_t *p, const json_t *filter);
/* Values found at a Qdrant JSON path ("a.b", "a[].b", "a[0]"), appended to out (a JSON array).
 * With flatten, array values contribute their elements. */
void fq_payload_values(const json_t *payload, const char *path, json_t *out, int flatten);

#endif
