/* Legacy search routes of fake_qdrant (gone from the 1.19 spec, still served by Qdrant):
 * search, recommend, discover with their batch and groups forms, and the distance matrix. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_filter.h"
#include "fq_handlers.h"
#include "fq_qparse.h"
#include "fq_render.h"

typedef int (*legacy_parse_fn)(fq_qp_t *q, const json_t *o, fq_sreq_t *r);

/* NamedVectorStruct: [..] or {"name","vector"} (sparse vectors are not supported). */
static int parse_search(fq_qp_t *q, const json_t *o, fq_sreq_t *r)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    const json_t *v = json_object_get(o, "vector");
    const char *name = NULL;
    if (!v)
        return fq_missing(&pc, o, "vector");
    if (json_is_object(v)) {
        const json_t *n = json_object_get(v, "name"), *inner = json_object_get(v, "vector");
        if (!json_is_string(n) || !inner || json_is_object(inner))
            return fq_fmt_error(q->rq, v, json_is_object(inner)
                                              ? "fake_qdrant does not support sparse vectors"
                                              : "data did not match any variant of untagged "
                                                "enum NamedVectorStruct");
        name = json_string_value(n);
        v = inner;
    } else if (!json_is_array(v)) {
        return fq_fmt_error(q->rq, v,
                            "data did not match any variant of untagged enum NamedVectorStruct");
    }
    for (size_t k = 0; k < json_array_size(v); k++) {
        if (!json_is_number(json_array_get(v, k)))
            return fq_type_error(&pc, json_array_get(v, k), "f32");
    }
    fq_lookup_t lk = {q->c, name ? name : "", 1};
    r->kind = FQ_Q_NEAREST;
    if (fq_qp_using(q, name, r) < 0 || fq_qp_vector_input(q, v, r, &lk, &r->target) < 0)
        return -1;
    return 0;
}

static int parse_recommend(fq_qp_t *q, const json_t *o, fq_sreq_t *r)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    const char *using = NULL, *strategy = NULL;
    fq_lookup_t lk;
    if (fq_get_str(&pc, o, "using", &using) < 0 || fq_get_str(&pc, o, "strategy", &strategy) < 0 ||
        fq_qp_using(q, using, r) < 0 ||
        fq_qp_lookup(q, json_object_get(o, "lookup_from"), using, &lk) < 0)
        return -1;
    return fq_qp_recommend(q, json_object_get(o, "positive"), json_object_get(o, "negative"),
                           strategy, r, &lk);
}

static int parse_discover(fq_qp_t *q, const json_t *o, fq_sreq_t *r)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    const char *using = NULL;
    fq_lookup_t lk;
    const json_t *target = json_object_get(o, "target");
    if (fq_get_str(&pc, o, "using", &using) < 0 || fq_qp_using(q, using, r) < 0 ||
        fq_qp_lookup(q, json_object_get(o, "lookup_from"), using, &lk) < 0)
        return -1;
    r->kind = target && !json_is_null(target) ? FQ_Q_DISCOVER : FQ_Q_CONTEXT;
    if (r->kind == FQ_Q_DISCOVER && fq_qp_vector_input(q, target, r, &lk, &r->target) < 0)
        return -1;
    return fq_qp_context(q, json_object_get(o, "context"), r, &lk);
}

/* One legacy request, either pass. Returns the ScoredPoint list, true (check pass) or NULL. */
static json_t *legacy_one(fq_rq_t *rq, fq_collection_t *c, const json_t *o, legacy_parse_fn fn,
                          const char *struct_name, int check_only)
{
    fq_qp_t q = {rq, check_only ? NULL : c, "search_request"};
    fq_pctx_t pc = {rq, NULL, 1};
    fq_sreq_t r;
    fq_select_t sel;
    json_t *out = NULL;
    fq_sreq_init(&r);
    if (!json_is_object(o))
        fq_type_error(&pc, o, struct_name);
    else if (fn(&q, o, &r) == 0 && fq_qp_window(&q, o, &r, 1, 10, 1) == 0 &&
             fq_qp_select(&q, o, &sel) == 0) {
        if (check_only) {
            out = json_true();
        } else {
            size_t n;
            fq_hit_t *hits = fq_search_run(c, &r, &n);
            out = fq_render_hits(c, hits, n, sel.with_payload, sel.with_vector);
            free(hits);
        }
    }
    fq_sreq_dispose(&r);
    return out;
}

static void run_legacy(fq_rq_t *rq, legacy_parse_fn fn, const char *struct_name)
{
    json_t *ok;
    if (fq_parse_common_query(rq, 0) < 0 ||
        !(ok = legacy_one(rq, NULL, rq->body, fn, struct_name, 1)))
        return;
    json_decref(ok);
    fq_collection_t *c = fq_rq_collection(rq);
    json_t *res = c ? legacy_one(rq, c, rq->body, fn, struct_name, 0) : NULL;
    if (res)
        fq_ok(rq, res);
}

static void run_legacy_batch(fq_rq_t *rq, legacy_parse_fn fn, const char *struct_name)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *list = NULL, *ok;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "SearchRequestBatch") < 0)
        return;
    int r = fq_get_array(&pc, rq->body, "searches", &list);
    if (r) {
        if (r > 0)
            fq_missing(&pc, rq->body, "searches");
        return;
    }
    for (size_t k = 0; k < json_array_size(list); k++) {
        if (!(ok = legacy_one(rq, NULL, json_array_get(list, k), fn, struct_name, 1)))
            return;
        json_decref(ok);
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    json_t *out = json_array();
    for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *res = legacy_one(rq, c, json_array_get(list, k), fn, struct_name, 0);
        if (!res) {
            json_decref(out);
            return;
        }
        json_array_append_new(out, res);
    }
    fq_ok(rq, out);
}

static json_t *legacy_groups_one(fq_rq_t *rq, fq_collection_t *c, legacy_parse_fn fn,
                                 int check_only)
{
    fq_qp_t q = {rq, check_only ? NULL : c, "group_request"};
    fq_sreq_t r;
    fq_select_t sel;
    fq_groupreq_t g;
    json_t *out = NULL;
    fq_sreq_init(&r);
    if (fn(&q, rq->body, &r) == 0 && fq_qp_window(&q, rq->body, &r, 0, 10, 0) == 0 &&
        fq_qp_select(&q, rq->body, &sel) == 0 && fq_qp_groups(&q, rq->body, &g, 1) == 0)
        out = check_only ? json_true() : fq_qp_run_groups(&q, &r, &g, &sel);
    fq_sreq_dispose(&r);
    return out;
}

static void run_legacy_groups(fq_rq_t *rq, legacy_parse_fn fn, const char *struct_name)
{
    json_t *ok;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, struct_name) < 0 ||
        !(ok = legacy_groups_one(rq, NULL, fn, 1)))
        return;
    json_decref(ok);
    fq_collection_t *c = fq_rq_collection(rq);
    json_t *res = c ? legacy_groups_one(rq, c, fn, 0) : NULL;
    if (res)
        fq_ok(rq, res);
}

void fq_h_search(fq_rq_t *rq)
{
    run_legacy(rq, parse_search, "struct SearchRequest");
}

void fq_h_search_batch(fq_rq_t *rq)
{
    run_legacy_batch(rq, parse_search, "struct SearchRequest");
}

void fq_h_search_groups(fq_rq_t *rq)
{
    run_legacy_groups(rq, parse_search, "SearchGroupsRequest");
}

void fq_h_recommend(fq_rq_t *rq)
{
    run_legacy(rq, parse_recommend, "struct RecommendRequest");
}

void fq_h_recommend_batch(fq_rq_t *rq)
{
    run_legacy_batch(rq, parse_recommend, "struct RecommendRequest");
}

void fq_h_recommend_groups(fq_rq_t *rq)
{
    run_legacy_groups(rq, parse_recommend, "RecommendGroupsRequest");
}

void fq_h_discover(fq_rq_t *rq)
{
    run_legacy(rq, parse_discover, "struct DiscoverRequest");
}

void fq_h_discover_batch(fq_rq_t *rq)
{
    run_legacy_batch(rq, parse_discover, "struct DiscoverRequest");
}

/* ---- distance matrix --------------------------------------------------------------------- */

typedef struct {
    fq_point_t **pts;
    size_t n;
    int slot;
    uint64_t limit;
} matrix_t;

/* Checks the request and samples points (first `sample` matches by id, deterministically). */
static int matrix_prepare(fq_rq_t *rq, matrix_t *m)
{
    fq_pctx_t pc = {rq, NULL, 1};
    uint64_t sample = 10;
    const char *using = NULL;
    m->limit = 3;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "SearchMatrixRequest") < 0 ||
        fq_get_uint(&pc, rq->body, "sample", "usize", &sample) < 0 ||
        fq_get_uint(&pc, rq->body, "limit", "usize", &m->limit) < 0 ||
        fq_get_str(&pc, rq->body, "using", &using) < 0)
        return -1;
    if (sample < 2)
        return fq_validation_error(rq, "sample: value %llu invalid, must be 2 or larger",
                                   (unsigned long long)sample);
    if (m->limit < 1)
        return fq_validation_error(rq, "limit: value 0 invalid, must be 1 or larger");
    fq_qp_t q = {rq, NULL, "search_request"};
    fq_sreq_t r;
    fq_sreq_init(&r);
    const json_t *filter = json_object_get(rq->body, "filter");
    if (fq_qp_window(&q, rq->body, &r, 0, 10, 0) < 0)
        return -1;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return -1;
    q.c = c;
    if (fq_qp_using(&q, using, &r) < 0)
        return -1;
    m->slot = r.slot;
    m->pts = calloc(sample + 1, sizeof(*m->pts));
    fq_point_t **all = fq_col_sorted(c);
    for (size_t k = 0; k < c->npts && m->n < sample; k++) {
        if (all[k]->vec[m->slot] && fq_filter_match(c, all[k], filter))
            m->pts[m->n++] = all[k];
    }
    return 0;
}

/* Neighbours of point i among the sample, best first, at most limit. */
static size_t matrix_row(fq_collection_t *c, const matrix_t *m, size_t i, fq_hit_t *row,
                         size_t *idx)
{
    size_t n = 0;
    const fq_vparam_t *vp = &c->vp[m->slot];
    for (size_t j = 0; j < m->n; j++) {
        if (j == i)
            continue;
        row[n].p = m->pts[j];
        row[n].score = fq_score(vp->dist, m->pts[i]->vec[m->slot], m->pts[j]->vec[m->slot],
                                vp->size);
        idx[n++] = j;
    }
    /* selection sort on (score, id): the sample is small */
    int asc = vp->dist == FQ_DIST_EUCLID || vp->dist == FQ_DIST_MANHATTAN;
    for (size_t a = 0; a < n; a++) {
        size_t best = a;
        for (size_t b = a + 1; b < n; b++) {
            int better = asc ? row[b].score < row[best].score : row[b].score > row[best].score;
            if (better || (row[b].score == row[best].score &&
                           fq_pid_cmp(&row[b].p->id, &row[best].p->id) < 0))
                best = b;
        }
        fq_hit_t th = row[a];
        row[a] = row[best];
        row[best] = th;
        size_t ti = idx[a];
        idx[a] = idx[best];
        idx[best] = ti;
    }
    return n < m->limit ? n : (size_t)m->limit;
}

static void run_matrix(fq_rq_t *rq, int offsets)
{
    matrix_t m = {0};
    if (matrix_prepare(rq, &m) < 0) {
        free(m.pts);
        return;
    }
    fq_collection_t *c = fq_store_resolve(rq->app->store, rq->params[0]);
    json_t *pairs = json_array(), *rows = json_array(), *cols = json_array();
    json_t *scores = json_array(), *ids = json_array();
    fq_hit_t *row = calloc(m.n + 1, sizeof(*row));
    size_t *idx = calloc(m.n + 1, sizeof(*idx));
    for (size_t i = 0; i < m.n; i++) {
        json_array_append_new(ids, fq_pid_to_json(&m.pts[i]->id));
        size_t k = matrix_row(c, &m, i, row, idx);
        for (size_t j = 0; j < k; j++) {
            json_array_append_new(pairs, json_pack("{s:o,s:o,s:o}", "a",
                                                   fq_pid_to_json(&m.pts[i]->id), "b",
                                                   fq_pid_to_json(&row[j].p->id), "score",
                                                   fq_json_f32(row[j].score)));
            json_array_append_new(rows, json_integer((json_int_t)i));
            json_array_append_new(cols, json_integer((json_int_t)idx[j]));
            json_array_append_new(scores, fq_json_f32(row[j].score));
        }
    }
    free(row);
    free(idx);
    free(m.pts);
    if (offsets) {
        json_decref(pairs);
        fq_ok(rq, json_pack("{s:o,s:o,s:o,s:o}", "offsets_row", rows, "offsets_col", cols,
                            "scores", scores, "ids", ids));
    } else {
        json_decref(rows);
        json_decref(cols);
        json_decref(scores);
        json_decref(ids);
        fq_ok(rq, json_pack("{s:o}", "pairs", pairs));
    }
}

void fq_h_matrix_pairs(fq_rq_t *rq)
{
    run_matrix(rq, 0);
}

void fq_h_matrix_offsets(fq_rq_t *rq)
{
    run_matrix(rq, 1);
}
