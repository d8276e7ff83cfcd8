/* Vector inputs of fake_qdrant requests: a point's VectorStruct (plain list or name → vector map)
 * checked against the collection's vector params with Qdrant's dimension and name errors. */
#ifndef FQ_VECPARSE_H
#define FQ_VECPARSE_H

#include "fq_app.h"

/* Parses v into out[slot] (malloc'd floats, NULL for vectors not given; out has c->nvp slots).
 * c NULL checks the shape only. 0 ok, -1 answered. */
int fq_parse_point_vectors(fq_pctx_t *pc, fq_collection_t *c, const json_t *v, float **out);
void fq_free_vectors(float **v, size_t n);
/* 400 "Wrong input: Vector dimension error: expected dim: X, got Y" unless sizes agree. */
int fq_check_dim(fq_rq_t *rq, const fq_collection_t *c, int slot, size_t got);
/* Slot for a vector name, or 400 "Wrong input: Not existing vector name error: NAME". */
int fq_slot_or_fail(fq_rq_t *rq, const fq_collection_t *c, const char *name);

#endif
