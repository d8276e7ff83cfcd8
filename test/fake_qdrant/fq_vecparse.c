/* Vector inputs of fake_qdrant requests: shape checks that fail like serde's untagged
 * VectorStruct, then name and dimension checks with Qdrant's exact "Wrong input" texts. */
#include "fq_vecparse.h"

#include <stdlib.h>
#include <string.h>

void fq_free_vectors(float **v, size_t n)
{
    if (!v)
        return;
    for (size_t k = 0; k < n; k++)
        free(v[k]);
}

int fq_slot_or_fail(fq_rq_t *rq, const fq_collection_t *c, const char *name)
{
    int slot = fq_col_vslot(c, name);
    if (slot < 0)
        fq_fail(rq, 400, "Wrong input: Not existing vector name error: %s", name ? name : "");
    return slot;
}

int fq_check_dim(fq_rq_t *rq, const fq_collection_t *c, int slot, size_t got)
{
    if (c->vp[slot].size == got)
        return 0;
    if (c->vp[slot].name[0])
        fq_fail(rq, 400,
                "Wrong input: Vector dimension error: expected dim: %u, got %zu for vector '%s'",
                c->vp[slot].size, got, c->vp[slot].name);
    else
        fq_fail(rq, 400, "Wrong input: Vector dimension error: expected dim: %u, got %zu",
                c->vp[slot].size, got);
    return -1;
}

static int all_numbers(const json_t *a)
{
    if (!json_is_array(a))
        return 0;
    for (size_t k = 0; k < json_array_size(a); k++) {
        if (!json_is_number(json_array_get(a, k)))
            return 0;
    }
    return 1;
}

/* Dense, sparse ({indices, values}) or multi-dense: the shapes of the untagged Vector enum. */
static int vector_shape_ok(const json_t *v)
{
    if (all_numbers(v))
        return 1;
    if (json_is_object(v))
        return json_is_array(json_object_get(v, "indices")) &&
               json_is_array(json_object_get(v, "values"));
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    for (size_t k = 0; k < json_array_size(v); k++) {
        if (!all_numbers(json_array_get(v, k)))
            return 0;
    }
    return 1;
}

static int store_dense(fq_pctx_t *pc, fq_collection_t *c, const char *name, const json_t *v,
                       float **out)
{
    if (!c)
        return 0;
    int slot = fq_slot_or_fail(pc->rq, c, name);
    if (slot < 0)
        return -1;
    if (!all_numbers(v)) {
        fq_fail(pc->rq, 400, "Wrong input: fake_qdrant stores dense vectors only (vector '%s')",
                name);
        return -1;
    }
    if (fq_check_dim(pc->rq, c, slot, json_array_size(v)) < 0)
        return -1;
    size_t n;
    free(out[slot]);
    out[slot] = NULL;
    return fq_parse_floats(pc, v, &out[slot], &n);
}

int fq_parse_point_vectors(fq_pctx_t *pc, fq_collection_t *c, const json_t *v, float **out)
{
    if (all_numbers(v))
        return store_dense(pc, c, "", v, out);
    if (json_is_object(v)) {
        const char *name;
        json_t *x;
        json_object_foreach((json_t *)v, name, x) {
            if (!vector_shape_ok(x))
                return fq_fmt_error(pc->rq, pc->at_value ? v : pc->pos,
                                    "data did not match any variant of untagged enum "
                                    "VectorStruct");
        }
        json_object_foreach((json_t *)v, name, x) {
            if (store_dense(pc, c, name, x, out) < 0)
                return -1;
        }
        return 0;
    }
    if (vector_shape_ok(v) && c) { /* multi-dense for the default vector */
        fq_fail(pc->rq, 400, "Wrong input: fake_qdrant does not support multi-vectors");
        return -1;
    }
    if (vector_shape_ok(v))
        return 0;
    return fq_fmt_error(pc->rq, pc->at_value ? v : pc->pos,
                        "data did not match any variant of untagged enum VectorStruct");
}
