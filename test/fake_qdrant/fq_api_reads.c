/* Non-vector reads of fake_qdrant: retrieve by ids, get one point, scroll with offset / limit /
 * next_page_offset / order_by, exact count and facet counts over payload values. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_filter.h"
#include "fq_handlers.h"
#include "fq_qparse.h"
#include "fq_render.h"

/* limit-like field: default when absent, 422 when below 1. */
static int get_limit(fq_rq_t *rq, const json_t *obj, const char *key, const char *vpath,
                     uint64_t dflt, uint64_t *out)
{
    fq_pctx_t pc = {rq, NULL, 1};
    *out = dflt;
    int r = fq_get_uint(&pc, obj, key, "usize", out);
    if (r < 0)
        return -1;
    if (r == 0 && *out < 1)
        return fq_validation_error(rq, "%s: value 0 invalid, must be 1 or larger", vpath);
    return 0;
}

void fq_h_retrieve(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *ids = NULL;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "PointRequest") < 0)
        return;
    int r = fq_get_array(&pc, rq->body, "ids", &ids);
    if (r) {
        if (r > 0)
            fq_missing(&pc, rq->body, "ids");
        return;
    }
    size_t n = json_array_size(ids);
    fq_pid_t *pids = calloc(n + 1, sizeof(*pids));
    for (size_t k = 0; k < n; k++) {
        if (fq_parse_pid(&pc, json_array_get(ids, k), &pids[k]) < 0) {
            free(pids);
            return;
        }
    }
    const json_t *wp = json_object_get(rq->body, "with_payload");
    const json_t *wv = json_object_get(rq->body, "with_vector");
    if (!wv)
        wv = json_object_get(rq->body, "with_vectors");
    fq_collection_t *c = NULL;
    if (fq_check_with_payload(rq, wp) == 0 && fq_check_with_vector(rq, wv) == 0 &&
        (c = fq_rq_collection(rq)) != NULL) {
        json_t *out = json_array();
        for (size_t k = 0; k < n; k++) {
            fq_point_t *p = fq_col_find(c, &pids[k]);
            int dup = 0;
            for (size_t j = 0; j < k && !dup; j++)
                dup = fq_pid_cmp(&pids[j], &pids[k]) == 0;
            if (p && !dup)
                json_array_append_new(out, fq_render_record(c, p, wp, wv, 1, 0));
        }
        fq_ok(rq, out);
    }
    free(pids);
}

void fq_h_get_point(fq_rq_t *rq)
{
    fq_pid_t id;
    if (fq_parse_common_query(rq, 0) < 0)
        return;
    if (fq_pid_from_str(rq->params[1], &id) < 0) {
        fq_fail(rq, 400, "Wrong input: Can not recognize \"%s\" as point id", rq->params[1]);
        return;
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    fq_point_t *p = fq_col_find(c, &id);
    if (!p) {
        char txt[48];
        fq_pid_fmt(&id, txt, sizeof(txt));
        fq_fail(rq, 404, "Not found: No point with id %s found", txt);
        return;
    }
    fq_ok(rq, fq_render_record(c, p, NULL, NULL, 1, 1));
}

static json_t *scroll_by_id(fq_collection_t *c, const json_t *filter, const fq_pid_t *offset,
                            size_t limit, const json_t *wp, const json_t *wv)
{
    json_t *points = json_array(), *next = json_null();
    fq_point_t **pts = fq_col_sorted(c);
    size_t taken = 0;
    for (size_t k = 0; k < c->npts; k++) {
        fq_point_t *p = pts[k];
        if ((offset && fq_pid_cmp(&p->id, offset) < 0) || !fq_filter_match(c, p, filter))
            continue;
        if (taken == limit) {
            next = fq_pid_to_json(&p->id);
            break;
        }
        json_array_append_new(points, fq_render_record(c, p, wp, wv, 1, 0));
        taken++;
    }
    return json_pack("{s:o,s:o}", "points", points, "next_page_offset", next);
}

static json_t *scroll_ordered(fq_collection_t *c, fq_sreq_t *r, const json_t *wp,
                              const json_t *wv)
{
    size_t n;
    r->kind = FQ_Q_ORDER_BY;
    fq_hit_t *hits = fq_search_run(c, r, &n);
    json_t *points = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *rec = fq_render_record(c, hits[k].p, wp, wv, 1, 0);
        json_object_set_new(rec, "order_value",
                            hits[k].order_is_int ? json_integer((json_int_t)hits[k].order_value)
                                                 : fq_json_f64(hits[k].order_value));
        json_array_append_new(points, rec);
    }
    free(hits);
    return json_pack("{s:o,s:n}", "points", points, "next_page_offset");
}

void fq_h_scroll(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    uint64_t limit;
    fq_pid_t offset;
    fq_sreq_t r;
    fq_sreq_init(&r);
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "ScrollRequest") < 0 ||
        get_limit(rq, rq->body, "limit", "scroll_request.limit", 10, &limit) < 0)
        return;
    const json_t *b = rq->body, *off = json_object_get(b, "offset");
    const json_t *filter = json_object_get(b, "filter"), *ob = json_object_get(b, "order_by");
    const json_t *wp = json_object_get(b, "with_payload"), *wv = json_object_get(b, "with_vector");
    if (!wv)
        wv = json_object_get(b, "with_vectors");
    int has_off = off && !json_is_null(off);
    if ((has_off && fq_parse_pid(&pc, off, &offset) < 0) ||
        fq_filter_check(rq, filter, "scroll_request.filter") < 0 ||
        fq_check_with_payload(rq, wp) < 0 || fq_check_with_vector(rq, wv) < 0 ||
        (ob && !json_is_null(ob) && fq_qp_order_by(rq, ob, &r) < 0))
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    if (r.order_key && has_off) {
        fq_fail(rq, 400, "Bad request: Cannot use an `offset` when using `order_by`. The "
                         "alternative for paging is to use `order_by.start_from` and a filter "
                         "to exclude the IDs that you've already seen for the `order_by.start_"
                         "from` value");
        return;
    }
    if (r.order_key) {
        r.filter = json_is_null(filter) ? NULL : filter;
        r.limit = limit;
        fq_ok(rq, scroll_ordered(c, &r, wp, wv));
        fq_sreq_dispose(&r);
        return;
    }
    fq_ok(rq, scroll_by_id(c, filter, has_off ? &offset : NULL, limit, wp, wv));
}

void fq_h_count(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    int exact = 1;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "CountRequest") < 0)
        return;
    const json_t *filter = json_object_get(rq->body, "filter");
    if (fq_get_bool(&pc, rq->body, "exact", &exact) < 0 ||
        fq_filter_check(rq, filter, "count_request.filter") < 0)
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    size_t n = 0;
    for (size_t k = 0; k < c->npts; k++)
        n += (size_t)fq_filter_match(c, c->pts[k], filter);
    fq_ok(rq, json_pack("{s:I}", "count", (json_int_t)n));
}

/* ---- facet ----------------------------------------------------------------------------- */

typedef struct {
    json_t *value;
    size_t count;
} facet_hit_t;

static int facet_value_cmp(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return (int)json_typeof(a) - (int)json_typeof(b);
    if (json_is_string(a))
        return strcmp(json_string_value(a), json_string_value(b));
    if (json_is_integer(a))
        return json_integer_value(a) < json_integer_value(b)   ? -1
               : json_integer_value(a) > json_integer_value(b) ? 1
                                                               : 0;
    return (int)json_is_true(a) - (int)json_is_true(b);
}

static int cmp_facet(const void *x, const void *y)
{
    const facet_hit_t *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return facet_value_cmp(a->value, b->value);
}

/* Adds the distinct facetable values of one point. */
static void facet_point(const fq_point_t *p, const char *key, facet_hit_t **hits, size_t *n)
{
    json_t *vals = json_array();
    fq_payload_values(p->payload, key, vals, 1);
    for (size_t k = 0; k < json_array_size(vals); k++) {
        json_t *v = json_array_get(vals, k);
        int seen = 0;
        if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
            continue;
        for (size_t j = 0; j < k && !seen; j++)
            seen = json_typeof(json_array_get(vals, j)) == json_typeof(v) &&
                   facet_value_cmp(json_array_get(vals, j), v) == 0;
        if (seen)
            continue;
        size_t h;
        for (h = 0; h < *n; h++) {
            if (json_typeof((*hits)[h].value) == json_typeof(v) &&
                facet_value_cmp((*hits)[h].value, v) == 0)
                break;
        }
        if (h == *n) {
            *hits = realloc(*hits, (*n + 1) * sizeof(**hits));
            (*hits)[h].value = json_incref(v);
            (*hits)[h].count = 0;
            (*n)++;
        }
        (*hits)[h].count++;
    }
    json_decref(vals);
}

void fq_h_facet(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    const char *key = NULL;
    uint64_t limit;
    int exact = 0;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "FacetRequest") < 0)
        return;
    int r = fq_get_str(&pc, rq->body, "key", &key);
    if (r) {
        if (r > 0)
            fq_missing(&pc, rq->body, "key");
        return;
    }
    const json_t *filter = json_object_get(rq->body, "filter");
    if (get_limit(rq, rq->body, "limit", "facet_request.limit", 10, &limit) < 0 ||
        fq_get_bool(&pc, rq->body, "exact", &exact) < 0 ||
        fq_filter_check(rq, filter, "facet_request.filter") < 0)
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c)
        return;
    facet_hit_t *hits = NULL;
    size_t n = 0;
    for (size_t k = 0; k < c->npts; k++) {
        if (fq_filter_match(c, c->pts[k], filter))
            facet_point(c->pts[k], key, &hits, &n);
    }
    if (n)
        qsort(hits, n, sizeof(*hits), cmp_facet);
    json_t *out = json_array();
    for (size_t k = 0; k < n; k++) {
        if (k < limit)
            json_array_append_new(out, json_pack("{s:O,s:I}", "value", hits[k].value, "count",
                                                 (json_int_t)hits[k].count));
        json_decref(hits[k].value);
    }
    free(hits);
    fq_ok(rq, json_pack("{s:o}", "hits", out));
}
