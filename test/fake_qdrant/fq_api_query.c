/* Universal query API of fake_qdrant: POST points/query, query/batch and query/groups with raw
 * vectors, point ids, nearest/recommend/discover/context/order_by/fusion/sample and prefetch. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_handlers.h"
#include "fq_qparse.h"
#include "fq_render.h"

#define QUERY_EXPECTING "Expected some form of vector, id, or a type of query"
#define MAX_PREFETCH_DEPTH 8

static int parse_query_obj(fq_qp_t *q, const json_t *o, fq_sreq_t *r, int top, int depth);

/* Does this query need a vector (so `using` must resolve before parsing it)? */
static int needs_vector(const json_t *qv)
{
    if (!qv || json_is_null(qv))
        return 0;
    if (!json_is_object(qv))
        return 1;
    return !json_object_get(qv, "order_by") && !json_object_get(qv, "fusion") &&
           !json_object_get(qv, "rrf") && !json_object_get(qv, "sample") &&
           !json_object_get(qv, "formula");
}

static int parse_fusion(fq_qp_t *q, const json_t *qv, fq_sreq_t *r)
{
    const json_t *f = json_object_get(qv, "fusion"), *rrf = json_object_get(qv, "rrf");
    if (rrf) {
        r->kind = FQ_Q_FUSION_RRF;
        const json_t *k = json_object_get(rrf, "k");
        if (json_is_integer(k) && json_integer_value(k) >= 1)
            r->rrf_k = (int)json_integer_value(k);
        else if (k && !json_is_null(k))
            return fq_fmt_error(q->rq, qv, QUERY_EXPECTING);
    } else if (json_is_string(f) && strcmp(json_string_value(f), "rrf") == 0) {
        r->kind = FQ_Q_FUSION_RRF;
    } else if (json_is_string(f) && strcmp(json_string_value(f), "dbsf") == 0) {
        r->kind = FQ_Q_FUSION_DBSF;
    } else {
        return fq_fmt_error(q->rq, qv, QUERY_EXPECTING);
    }
    if (q->c && r->nprefetch == 0) {
        fq_fail(q->rq, 400, "Bad request: Fusion queries require prefetches");
        return -1;
    }
    return 0;
}

static int parse_query_variant(fq_qp_t *q, const json_t *qv, fq_sreq_t *r, const fq_lookup_t *lk)
{
    const json_t *x;
    if ((x = json_object_get(qv, "nearest"))) {
        r->kind = FQ_Q_NEAREST;
        return fq_qp_vector_input(q, x, r, lk, &r->target);
    }
    if ((x = json_object_get(qv, "recommend"))) {
        if (!json_is_object(x))
            return fq_fmt_error(q->rq, qv, QUERY_EXPECTING);
        const json_t *st = json_object_get(x, "strategy");
        return fq_qp_recommend(q, json_object_get(x, "positive"), json_object_get(x, "negative"),
                               json_is_string(st) ? json_string_value(st) : NULL, r, lk);
    }
    if ((x = json_object_get(qv, "discover"))) {
        if (!json_is_object(x) || !json_object_get(x, "target"))
            return fq_fmt_error(q->rq, qv, QUERY_EXPECTING);
        r->kind = FQ_Q_DISCOVER;
        if (fq_qp_vector_input(q, json_object_get(x, "target"), r, lk, &r->target) < 0)
            return -1;
        return fq_qp_context(q, json_object_get(x, "context"), r, lk);
    }
    if ((x = json_object_get(qv, "context"))) {
        r->kind = FQ_Q_CONTEXT;
        return fq_qp_context(q, x, r, lk);
    }
    if ((x = json_object_get(qv, "order_by"))) {
        r->kind = FQ_Q_ORDER_BY;
        return fq_qp_order_by(q->rq, x, r);
    }
    if (json_object_get(qv, "fusion") || json_object_get(qv, "rrf"))
        return parse_fusion(q, qv, r);
    if ((x = json_object_get(qv, "sample"))) {
        if (!json_is_string(x) || strcmp(json_string_value(x), "random") != 0)
            return fq_fmt_error(q->rq, qv, QUERY_EXPECTING);
        r->kind = FQ_Q_SAMPLE;
        return 0;
    }
    if (json_object_get(qv, "formula") || json_object_get(qv, "relevance_feedback")) {
        if (!q->c)
            return 0;
        fq_fail(q->rq, 400, "Wrong input: fake_qdrant does not support this query type");
        return -1;
    }
    r->kind = FQ_Q_NEAREST; /* sparse / inference objects: fq_qp_vector_input explains */
    return fq_qp_vector_input(q, qv, r, lk, &r->target);
}

static int parse_query_iface(fq_qp_t *q, const json_t *qv, fq_sreq_t *r, const fq_lookup_t *lk)
{
    fq_rq_t *rq = q->rq;
    if (!qv || json_is_null(qv)) {
        r->kind = FQ_Q_NONE;
        return 0;
    }
    const char *saved_msg = rq->untagged_msg;
    const json_t *saved_node = rq->untagged_node;
    rq->untagged_msg = QUERY_EXPECTING;
    rq->untagged_node = qv;
    int rc;
    if (json_is_object(qv)) {
        rc = parse_query_variant(q, qv, r, lk);
    } else {
        r->kind = FQ_Q_NEAREST;
        rc = fq_qp_vector_input(q, qv, r, lk, &r->target);
    }
    rq->untagged_msg = saved_msg;
    rq->untagged_node = saved_node;
    return rc;
}

static int parse_prefetch(fq_qp_t *q, const json_t *pf, fq_sreq_t *r, int depth)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    if (!pf || json_is_null(pf))
        return 0;
    if (depth >= MAX_PREFETCH_DEPTH)
        return fq_validation_error(q->rq, "%s.prefetch: nesting is too deep", q->vpath);
    size_t n = json_is_array(pf) ? json_array_size(pf) : 1;
    if (!json_is_array(pf) && !json_is_object(pf))
        return fq_type_error(&pc, pf, "struct Prefetch");
    r->prefetch = calloc(n ? n : 1, sizeof(*r->prefetch));
    for (size_t k = 0; k < n; k++) {
        fq_sreq_init(&r->prefetch[k]);
        r->nprefetch++;
        const json_t *p = json_is_array(pf) ? json_array_get(pf, k) : pf;
        if (parse_query_obj(q, p, &r->prefetch[k], 0, depth + 1) < 0)
            return -1;
    }
    return 0;
}

static int parse_query_obj(fq_qp_t *q, const json_t *o, fq_sreq_t *r, int top, int depth)
{
    fq_pctx_t pc = {q->rq, NULL, 1};
    const char *using = NULL;
    fq_lookup_t lk;
    if (!json_is_object(o))
        return fq_type_error(&pc, o, top ? "struct QueryRequest" : "struct Prefetch");
    const json_t *qv = json_object_get(o, "query");
    if (fq_get_str(&pc, o, "using", &using) < 0 ||
        ((using || needs_vector(qv)) && fq_qp_using(q, using, r) < 0) ||
        fq_qp_lookup(q, json_object_get(o, "lookup_from"), using, &lk) < 0 ||
        parse_prefetch(q, json_object_get(o, "prefetch"), r, depth) < 0 ||
        parse_query_iface(q, qv, r, &lk) < 0)
        return -1;
    return fq_qp_window(q, o, r, 0, 10, top);
}

/* Both passes over one QueryRequest; NULL after answering an error. */
static json_t *query_one(fq_rq_t *rq, fq_collection_t *c, const json_t *o, int check_only)
{
    fq_qp_t q = {rq, check_only ? NULL : c, "internal"};
    fq_sreq_t r;
    fq_select_t sel;
    fq_sreq_init(&r);
    json_t *out = NULL;
    if (parse_query_obj(&q, o, &r, 1, 0) == 0 && fq_qp_select(&q, o, &sel) == 0) {
        if (check_only) {
            out = json_true();
        } else {
            size_t n;
            fq_hit_t *hits = fq_search_run(c, &r, &n);
            out = json_pack("{s:o}", "points",
                            fq_render_hits(c, hits, n, sel.with_payload, sel.with_vector));
            free(hits);
        }
    }
    fq_sreq_dispose(&r);
    return out;
}

void fq_h_query(fq_rq_t *rq)
{
    json_t *ok;
    if (fq_parse_common_query(rq, 0) < 0 || !(ok = query_one(rq, NULL, rq->body, 1)))
        return;
    json_decref(ok);
    fq_collection_t *c = fq_rq_collection(rq);
    json_t *res = c ? query_one(rq, c, rq->body, 0) : NULL;
    if (res)
        fq_ok(rq, res);
}

static json_t *searches_of(fq_rq_t *rq, const char *struct_name)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *s = NULL;
    if (fq_body_object(rq, struct_name) < 0)
        return NULL;
    int r = fq_get_array(&pc, rq->body, "searches", &s);
    if (r > 0)
        fq_missing(&pc, rq->body, "searches");
    return r == 0 ? s : NULL;
}

void fq_h_query_batch(fq_rq_t *rq)
{
    json_t *list, *ok;
    if (fq_parse_common_query(rq, 0) < 0 || !(list = searches_of(rq, "QueryRequestBatch")))
        return;
    for (size_t k = 0; k < json_array_size(list); k++) {
        if (!(ok = query_one(rq, NULL, json_array_get(list, k), 1)))
            return;
        json_decref(ok);
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    json_t *out = json_array();
    for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *res = query_one(rq, c, json_array_get(list, k), 0);
        if (!res) {
            json_decref(out);
            return;
        }
        json_array_append_new(out, res);
    }
    fq_ok(rq, out);
}

static json_t *groups_one(fq_rq_t *rq, fq_collection_t *c, int check_only)
{
    fq_qp_t q = {rq, check_only ? NULL : c, "internal"};
    fq_sreq_t r;
    fq_select_t sel;
    fq_groupreq_t g;
    fq_sreq_init(&r);
    json_t *out = NULL;
    if (parse_query_obj(&q, rq->body, &r, 0, 0) == 0 && fq_qp_select(&q, rq->body, &sel) == 0 &&
        fq_qp_groups(&q, rq->body, &g, 0) == 0)
        out = check_only ? json_true() : fq_qp_run_groups(&q, &r, &g, &sel);
    fq_sreq_dispose(&r);
    return out;
}

void fq_h_query_groups(fq_rq_t *rq)
{
    json_t *ok;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "QueryGroupsRequest") < 0 ||
        !(ok = groups_one(rq, NULL, 1)))
        return;
    json_decref(ok);
    fq_collection_t *c = fq_rq_collection(rq);
    json_t *res = c ? groups_one(rq, c, 0) : NULL;
    if (res)
        fq_ok(rq, res);
}
