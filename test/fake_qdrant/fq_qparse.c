/* Request parsing shared by fake_qdrant's search-type routes: windows and selectors, vector
 * inputs resolved from raw vectors or point ids (lookup_from aware), recommend and context. */

#include "fq_qparse.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fq_filter.h"
#include "fq_render.h"
#include "fq_vecparse.h"

int fq_qp_window(fq_qp_t *q, const json_t *o, fq_sreq_t *r, int limit_required,
                 uint64_t limit_default, int allow_offset)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    uint64_t limit = limit_default, offset = 0;
    double thr;
    const char *lkey = json_object_get(o, "limit") ? "limit" : "top";
    int rl = fq_get_uint(&pc, o, lkey, "usize", &limit);
    if (rl < 0)
        return -1;
    if (rl == 1 && limit_required)
        return fq_missing(&pc, o, "limit");
    if (limit == 0)
        return fq_validation_error(q->rq, "%s.limit: value 0 invalid, must be 1 or larger",
                                   q->vpath);
    if (allow_offset && fq_get_uint(&pc, o, "offset", "usize", &offset) < 0)
        return -1;
    int rt = fq_get_float(&pc, o, "score_threshold", &thr);
    if (rt < 0)
        return -1;
    const json_t *f = json_object_get(o, "filter");
    char fpath[128];
    snprintf(fpath, sizeof(fpath), "%s.filter", q->vpath);
    if (fq_filter_check(q->rq, f, fpath) < 0)
        return -1;
    r->limit = limit;
    r->offset = offset;
    r->has_threshold = rt == 0;
    r->threshold = (float)thr;
    r->filter = f && !json_is_null(f) ? f : NULL;
    return 0;
}

int fq_qp_select(fq_qp_t *q, const json_t *o, fq_select_t *sel)
{
    sel->with_payload = json_object_get(o, "with_payload");
    sel->with_vector = json_object_get(o, "with_vector");
    if (!sel->with_vector)
        sel->with_vector = json_object_get(o, "with_vectors");
    if (fq_check_with_payload(q->rq, sel->with_payload) < 0)
        return -1;
    return fq_check_with_vector(q->rq, sel->with_vector);
}

int fq_qp_using(fq_qp_t *q, const char *name, fq_sreq_t *r)
{
    if (!q->c)
        return 0;
    r->slot = fq_slot_or_fail(q->rq, q->c, name);
    return r->slot < 0 ? -1 : 0;
}

int fq_qp_lookup(fq_qp_t *q, const json_t *lf, const char *using, fq_lookup_t *lk)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    lk->lc = q->c;
    lk->vname = using ? using : "";
    lk->same = 1;
    if (!lf || json_is_null(lf))
        return 0;
    const char *coll = NULL, *vec = NULL;
    if (!json_is_object(lf))
        return fq_type_error(&pc, lf, "struct LookupLocation");
    int r = fq_get_str(&pc, lf, "collection", &coll);
    if (r)
        return r < 0 ? -1 : fq_missing(&pc, lf, "collection");
    if (fq_get_str(&pc, lf, "vector", &vec) < 0)
        return -1;
    lk->vname = vec ? vec : "";
    lk->same = 0;
    if (!q->c)
        return 0;
    lk->lc = fq_store_resolve(q->rq->app->store, coll);
    if (!lk->lc) {
        fq_fail(q->rq, 404, "Not found: Collection %s not found", coll);
        return -1;
    }
    return 0;
}

static void add_exclude(fq_sreq_t *r, const fq_pid_t *id)
{
    fq_pid_t *n = realloc(r->exclude, (r->nexclude + 1) * sizeof(*n));
    if (!n)
        abort();
    r->exclude = n;
    r->exclude[r->nexclude++] = *id;
}

static int unsupported(fq_qp_t *q, const char *what)
{
    if (!q->c)
        return 0;
    fq_fail(q->rq, 400, "Wrong input: fake_qdrant does not support %s", what);
    return -1;
}

/* A point id example: its vector from the lookup collection. */
static int id_vector(fq_qp_t *q, const fq_pid_t *id, fq_sreq_t *r, const fq_lookup_t *lk,
                     float **out)
{
    char txt[48];
    fq_point_t *p = fq_col_find(lk->lc, id);
    if (!p) {
        fq_pid_fmt(id, txt, sizeof(txt));
        fq_fail(q->rq, 404, "Not found: No point with id %s found", txt);
        return -1;
    }
    int slot = fq_slot_or_fail(q->rq, lk->lc, lk->vname);
    if (slot < 0)
        return -1;
    if (!p->vec[slot]) {
        fq_pid_fmt(id, txt, sizeof(txt));
        fq_fail(q->rq, 400, "Wrong input: Vector '%s' of point %s is missing", lk->vname, txt);
        return -1;
    }
    if (fq_check_dim(q->rq, q->c, r->slot, lk->lc->vp[slot].size) < 0)
        return -1;
    *out = fq_prepare_query(q->c->vp[r->slot].dist, p->vec[slot], lk->lc->vp[slot].size);
    if (lk->same)
        add_exclude(r, id);
    return 0;
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

int fq_qp_vector_input(fq_qp_t *q, const json_t *v, fq_sreq_t *r, const fq_lookup_t *lk,
                       float **out)
{
    fq_pid_t id;
    *out = NULL;
    if (all_numbers(v)) {
        if (!q->c)
            return 0;
        if (fq_check_dim(q->rq, q->c, r->slot, json_array_size(v)) < 0)
            return -1;
        float *raw;
        size_t n;
        fq_pctx_t pc = {q->rq, NULL, 1};
        if (fq_parse_floats(&pc, v, &raw, &n) < 0)
            return -1;
        *out = fq_prepare_query(q->c->vp[r->slot].dist, raw, (uint32_t)n);
        free(raw);
        return 0;
    }
    if (json_is_integer(v) || json_is_string(v)) {
        if (fq_pid_from_json(v, &id) < 0)
            return fq_fmt_error(q->rq, v,
                                "data did not match any variant of untagged enum VectorInput");
        return q->c ? id_vector(q, &id, r, lk, out) : 0;
    }
    if (json_is_object(v) && json_object_get(v, "indices"))
        return unsupported(q, "sparse vectors");
    if (json_is_array(v) && json_array_size(v) && all_numbers(json_array_get(v, 0)))
        return unsupported(q, "multi-vectors");
    if (json_is_object(v) && (json_object_get(v, "text") || json_object_get(v, "image") ||
                              json_object_get(v, "object")))
        return unsupported(q, "inference");
    return fq_fmt_error(q->rq, v, "data did not match any variant of untagged enum VectorInput");
}

static int examples(fq_qp_t *q, const json_t *list, int positive, fq_sreq_t *r,
                    const fq_lookup_t *lk)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return fq_type_error(&pc, list, "a sequence");
    for (size_t k = 0; k < json_array_size(list); k++) {
        float *v;
        if (fq_qp_vector_input(q, json_array_get(list, k), r, lk, &v) < 0)
            return -1;
        if (v)
            fq_sreq_add_example(r, positive, v, q->c->vp[r->slot].size);
        else if (!q->c)
            fq_sreq_add_example(r, positive, NULL, 0);
        free(v);
    }
    return 0;
}

/* 2 * avg(pos) - avg(neg), or the lone average, prepared for the metric. */
static void average_target(fq_collection_t *c, fq_sreq_t *r)
{
    uint32_t dim = c->vp[r->slot].size;
    float *t = calloc(dim ? dim : 1, sizeof(float));
    for (uint32_t d = 0; d < dim; d++) {
        double ap = 0, an = 0;
        for (size_t k = 0; k < r->npos; k++)
            ap += r->pos[k][d] / (double)r->npos;
        for (size_t k = 0; k < r->nneg; k++)
            an += r->neg[k][d] / (double)r->nneg;
        t[d] = (float)(r->npos && r->nneg ? ap + ap - an : r->npos ? ap : -an);
    }
    r->target = fq_prepare_query(c->vp[r->slot].dist, t, dim);
    free(t);
}

int fq_qp_recommend(fq_qp_t *q, const json_t *pos, const json_t *neg, const char *strategy,
                    fq_sreq_t *r, const fq_lookup_t *lk)
{
    if (strategy && strcmp(strategy, "average_vector") != 0 &&
        strcmp(strategy, "best_score") != 0 && strcmp(strategy, "sum_scores") != 0)
        return fq_fmt_error(q->rq, NULL,
                            "unknown variant `%s`, expected one of `average_vector`, "
                            "`best_score`, `sum_scores`",
                            strategy);
    if (examples(q, pos, 1, r, lk) < 0 || examples(q, neg, 0, r, lk) < 0)
        return -1;
    if (r->npos + r->nneg == 0)
        return fq_validation_error(q->rq, "%s: At least one positive or negative example must "
                                          "be provided",
                                   q->vpath);
    if (!strategy || strcmp(strategy, "average_vector") == 0) {
        r->kind = FQ_Q_NEAREST;
        if (q->c)
            average_target(q->c, r);
    } else {
        r->kind = strcmp(strategy, "best_score") == 0 ? FQ_Q_RECO_BEST : FQ_Q_RECO_SUM;
    }
    return 0;
}

static int context_pair(fq_qp_t *q, const json_t *pair, fq_sreq_t *r, const fq_lookup_t *lk)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    if (!json_is_object(pair))
        return fq_type_error(&pc, pair, "struct ContextPair");
    const json_t *p = json_object_get(pair, "positive"), *n = json_object_get(pair, "negative");
    if (!p)
        return fq_missing(&pc, pair, "positive");
    if (!n)
        return fq_missing(&pc, pair, "negative");
    float *pv, *nv;
    if (fq_qp_vector_input(q, p, r, lk, &pv) < 0)
        return -1;
    if (fq_qp_vector_input(q, n, r, lk, &nv) < 0) {
        free(pv);
        return -1;
    }
    size_t dim = q->c ? q->c->vp[r->slot].size : 0;
    fq_sreq_add_example(r, 1, pv, pv ? dim : 0);
    fq_sreq_add_example(r, 0, nv, nv ? dim : 0);
    free(pv);
    free(nv);
    return 0;
}

int fq_qp_context(fq_qp_t *q, const json_t *ctx, fq_sreq_t *r, const fq_lookup_t *lk)
{
    if (!ctx || json_is_null(ctx))
        return 0;
    if (json_is_object(ctx))
        return context_pair(q, ctx, r, lk);
    if (!json_is_array(ctx)) {
        fq_pctx_t pc = {q->rq, NULL, 1};
        return fq_type_error(&pc, ctx, "a sequence");
    }
    for (size_t k = 0; k < json_array_size(ctx); k++) {
        if (context_pair(q, json_array_get(ctx, k), r, lk) < 0)
            return -1;
    }
    return 0;
}

/* order_by: "key" or {"key", "direction", "start_from"}. 0 ok, -1 answered. */
int fq_qp_order_by(fq_rq_t *rq, const json_t *ob, fq_sreq_t *r)
{
    if (json_is_string(ob)) {
        r->order_key = json_string_value(ob);
        return 0;
    }
    const json_t *key = json_object_get(ob, "key"), *dir = json_object_get(ob, "direction");
    const json_t *start = json_object_get(ob, "start_from");
    if (!json_is_object(ob) || !json_is_string(key) ||
        (dir && !json_is_null(dir) && !json_is_string(dir)))
        return fq_fmt_error(rq, ob, "Expected a string, or an object with a key, direction "
                                    "and/or start_from");
    r->order_key = json_string_value(key);
    r->order_desc = json_is_string(dir) && strcmp(json_string_value(dir), "desc") == 0;
    if (start && json_is_number(start)) {
        r->has_start = 1;
        r->start_from = json_number_value(start);
    }
    return 0;
}

/* ---- groups ---------------------------------------------------------------------------- */

static int parse_with_lookup(fq_qp_t *q, const json_t *wl, fq_groupreq_t *g)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    const char *coll = NULL;
    g->with_lookup = wl;
    if (!wl || json_is_null(wl))
        return 0;
    if (json_is_string(wl)) {
        coll = json_string_value(wl);
    } else if (json_is_object(wl) && json_is_string(json_object_get(wl, "collection"))) {
        coll = json_string_value(json_object_get(wl, "collection"));
        g->lookup_wp = json_object_get(wl, "with_payload");
        g->lookup_wv = json_object_get(wl, "with_vectors");
        if (!g->lookup_wv)
            g->lookup_wv = json_object_get(wl, "with_vector");
    } else {
        return fq_fmt_error(q->rq, wl, "data did not match any variant of untagged enum "
                                       "WithLookupInterface");
    }
    (void)pc;
    if (fq_check_with_payload(q->rq, g->lookup_wp) < 0 ||
        fq_check_with_vector(q->rq, g->lookup_wv) < 0 || !q->c)
        return q->c ? -1 : 0;
    g->lookup = fq_store_resolve(q->rq->app->store, coll);
    if (!g->lookup) {
        fq_fail(q->rq, 404, "Not found: Collection %s not found", coll);
        return -1;
    }
    return 0;
}

int fq_qp_groups(fq_qp_t *q, const json_t *o, fq_groupreq_t *g, int legacy)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    memset(g, 0, sizeof(*g));
    g->group_size = 3;
    g->limit = 10;
    int r = fq_get_str(&pc, o, "group_by", &g->group_by);
    if (r)
        return r < 0 ? -1 : fq_missing(&pc, o, "group_by");
    r = fq_get_uint(&pc, o, "group_size", "u32", &g->group_size);
    if (r < 0 || (r == 1 && legacy && fq_missing(&pc, o, "group_size")))
        return -1;
    r = fq_get_uint(&pc, o, "limit", "u32", &g->limit);
    if (r < 0 || (r == 1 && legacy && fq_missing(&pc, o, "limit")))
        return -1;
    if (!g->group_by[0])
        return fq_validation_error(q->rq, "%s.group_by: value must not be empty", q->vpath);
    if (g->group_size == 0)
        return fq_validation_error(q->rq, "%s.group_size: value 0 invalid, must be 1 or larger",
                                   q->vpath);
    if (g->limit == 0)
        return fq_validation_error(q->rq, "%s.limit: value 0 invalid, must be 1 or larger",
                                   q->vpath);
    return parse_with_lookup(q, json_object_get(o, "with_lookup"), g);
}

json_t *fq_qp_run_groups(fq_qp_t *q, fq_sreq_t *r, const fq_groupreq_t *g, const fq_select_t *sel)
{
    size_t n, ng;
    r->limit = SIZE_MAX;
    r->offset = 0;
    fq_hit_t *hits = fq_search_run(q->c, r, &n);
    fq_group_t *groups = fq_group_hits(hits, n, g->group_by, g->group_size, g->limit, &ng);
    json_t *out = json_array();
    for (size_t k = 0; k < ng; k++) {
        json_t *grp = json_object();
        json_object_set_new(grp, "hits", fq_render_hits(q->c, groups[k].hits, groups[k].nhits,
                                                        sel->with_payload, sel->with_vector));
        json_object_set(grp, "id", groups[k].id);
        fq_pid_t id;
        fq_point_t *p = NULL;
        if (g->lookup && fq_pid_from_json(groups[k].id, &id) == 0)
            p = fq_col_find(g->lookup, &id);
        if (p)
            json_object_set_new(grp, "lookup", fq_render_record(g->lookup, p, g->lookup_wp,
                                                                g->lookup_wv, 1, 0));
        json_array_append_new(out, grp);
    }
    fq_groups_free(groups, ng);
    free(hits);
    return json_pack("{s:o}", "groups", out);
}
