/* fake_qdrant gRPC methods of qdrant.Points (Upsert, Delete, Get, Search, Query, Count, Scroll) on
 * the REST API's store: gRPC writes are applied at once (after any deferred REST writes), in the
 * same operation sequence, so REST and gRPC see the same points. Filters are not translated: a
 * request carrying one is refused with INVALID_ARGUMENT saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grpc_frame.h"
#include "fq_async.h"
#include "fq_grpc.h"
#include "fq_search.h"
#include "points_service.pb-c.h"

/* ---- payload values ---- */

static json_t *value_to_json(const Qdrant__Value *v);

static json_t *struct_to_json(const Qdrant__Struct *s)
{
    json_t *o = json_object();
    for (size_t k = 0; s && k < s->n_fields; k++)
        json_object_set_new(o, s->fields[k]->key, value_to_json(s->fields[k]->value));
    return o;
}

static json_t *value_to_json(const Qdrant__Value *v)
{
    if (!v) return json_null();
    switch (v->kind_case) {
    case QDRANT__VALUE__KIND_DOUBLE_VALUE:
        return json_real(v->double_value);
    case QDRANT__VALUE__KIND_INTEGER_VALUE:
        return json_integer((json_int_t)v->integer_value);
    case QDRANT__VALUE__KIND_STRING_VALUE:
        return json_string(v->string_value);
    case QDRANT__VALUE__KIND_BOOL_VALUE:
        return json_boolean(v->bool_value);
    case QDRANT__VALUE__KIND_STRUCT_VALUE:
        return struct_to_json(v->struct_value);
    case QDRANT__VALUE__KIND_LIST_VALUE: {
        json_t *a = json_array();
        for (size_t k = 0; v->list_value && k < v->list_value->n_values; k++)
            json_array_append_new(a, value_to_json(v->list_value->values[k]));
        return a;
    }
    default:
        return json_null();
    }
}

static Qdrant__Value *json_to_value(fq_gcall_t *c, const json_t *j)
{
    Qdrant__Value *v = fq_galloc(c, sizeof(*v));
    qdrant__value__init(v);
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        Qdrant__Struct *s = fq_galloc(c, sizeof(*s));
        qdrant__struct__init(s);
        s->fields = fq_galloc(c, (json_object_size(j) + 1) * sizeof(*s->fields));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)j, k, x)
        {
            Qdrant__Struct__FieldsEntry *e = fq_galloc(c, sizeof(*e));
            qdrant__struct__fields_entry__init(e);
            e->key = (char *)k;
            e->value = json_to_value(c, x);
            s->fields[s->n_fields++] = e;
        }
        v->kind_case = QDRANT__VALUE__KIND_STRUCT_VALUE;
        v->struct_value = s;
        break;
    }
    case JSON_ARRAY: {
        Qdrant__ListValue *l = fq_galloc(c, sizeof(*l));
        qdrant__list_value__init(l);
        l->values = fq_galloc(c, (json_array_size(j) + 1) * sizeof(*l->values));
        for (size_t k = 0; k < json_array_size(j); k++)
            l->values[l->n_values++] = json_to_value(c, json_array_get(j, k));
        v->kind_case = QDRANT__VALUE__KIND_LIST_VALUE;
        v->list_value = l;
        break;
    }
    case JSON_STRING:
        v->kind_case = QDRANT__VALUE__KIND_STRING_VALUE;
        v->string_value = (char *)json_string_value(j);
        break;
    case JSON_INTEGER:
        v->kind_case = QDRANT__VALUE__KIND_INTEGER_VALUE;
        v->integer_value = json_integer_value(j);
        break;
    case JSON_REAL:
        v->kind_case = QDRANT__VALUE__KIND_DOUBLE_VALUE;
        v->double_value = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind_case = QDRANT__VALUE__KIND_BOOL_VALUE;
        v->bool_value = json_is_true(j);
        break;
    default:
        v->kind_case = QDRANT__VALUE__KIND_NULL_VALUE;
        break;
    }
    return v;
}

/* Payload entries of RetrievedPoint / ScoredPoint (same layout: key, value). */
typedef struct {
    ProtobufCMessage base;
    char *key;
    Qdrant__Value *value;
} payload_entry_t;

static size_t payload_out(fq_gcall_t *c, const json_t *payload, int with,
                          const ProtobufCMessageDescriptor *d, void ***out)
{
    if (!with || !payload) return 0;
    payload_entry_t **es = fq_galloc(c, (json_object_size(payload) + 1) * sizeof(*es));
    size_t n = 0;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)payload, k, x)
    {
        payload_entry_t *e = fq_galloc(c, sizeof(*e));
        protobuf_c_message_init(d, e);
        e->key = (char *)k;
        e->value = json_to_value(c, x);
        es[n++] = e;
    }
    *out = (void **)es;
    return n;
}

/* ---- ids and vectors ---- */

static int pid_in(fq_gcall_t *c, const Qdrant__PointId *id, fq_pid_t *out)
{
    if (id && id->point_id_options_case == QDRANT__POINT_ID__POINT_ID_OPTIONS_NUM) {
        memset(out, 0, sizeof(*out));
        out->num = id->num;
        return 0;
    }
    if (id && id->point_id_options_case == QDRANT__POINT_ID__POINT_ID_OPTIONS_UUID &&
        fq_pid_from_str(id->uuid, out) == 0 && out->is_uuid)
        return 0;
    return fq_gfail(
        c, GW_GRPC_INVALID_ARGUMENT, "Unable to parse UUID: %s",
        id && id->point_id_options_case == QDRANT__POINT_ID__POINT_ID_OPTIONS_UUID ? id->uuid : "");
}

static Qdrant__PointId *pid_out(fq_gcall_t *c, const fq_pid_t *id)
{
    Qdrant__PointId *p = fq_galloc(c, sizeof(*p));
    qdrant__point_id__init(p);
    if (!id->is_uuid) {
        p->point_id_options_case = QDRANT__POINT_ID__POINT_ID_OPTIONS_NUM;
        p->num = id->num;
    } else {
        char buf[40];
        fq_pid_fmt(id, buf, sizeof(buf));
        p->point_id_options_case = QDRANT__POINT_ID__POINT_ID_OPTIONS_UUID;
        p->uuid = fq_gstrdup(c, buf);
    }
    return p;
}

/* Dense data of a Vector (the dense member, or the deprecated flat data clients still send). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int vector_in(fq_gcall_t *c, const Qdrant__Vector *v, const float **data, size_t *n)
{
    if (v->vector_case == QDRANT__VECTOR__VECTOR_DENSE) {
        *data = v->dense->data;
        *n = v->dense->n_data;
        return 0;
    }
    if (v->vector_case == QDRANT__VECTOR__VECTOR__NOT_SET) {
        *data = v->data;
        *n = v->n_data;
        return 0;
    }
    return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                    "fake_qdrant: only dense vectors are implemented over gRPC");
}

#pragma GCC diagnostic pop

static int set_vector(fq_gcall_t *c, fq_collection_t *col, fq_point_t *p, const char *name,
                      const Qdrant__Vector *v)
{
    const float *data = NULL;
    size_t n = 0;
    if (vector_in(c, v, &data, &n) < 0) return -1;
    int slot = fq_col_vslot(col, name);
    if (slot < 0)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                        "Wrong input: Not existing vector name error: %s", *name ? name : "");
    if (n != col->vp[slot].size)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                        "Wrong input: Vector dimension error: expected dim: %u, got %zu",
                        col->vp[slot].size, n);
    fq_point_set_vec(col, p, slot, data);
    return 0;
}

static Qdrant__VectorOutput *vector_out(fq_gcall_t *c, const float *v, uint32_t n)
{
    Qdrant__VectorOutput *o = fq_galloc(c, sizeof(*o));
    qdrant__vector_output__init(o);
    Qdrant__DenseVector *d = fq_galloc(c, sizeof(*d));
    qdrant__dense_vector__init(d);
    d->n_data = n;
    d->data = (float *)v;
    o->vector_case = QDRANT__VECTOR_OUTPUT__VECTOR_DENSE;
    o->dense = d;
    return o;
}

static Qdrant__VectorsOutput *vectors_out(fq_gcall_t *c, const fq_collection_t *col,
                                          const fq_point_t *p)
{
    Qdrant__VectorsOutput *o = fq_galloc(c, sizeof(*o));
    qdrant__vectors_output__init(o);
    if (!col->named && col->nvp == 1) {
        if (!p->vec[0]) return NULL;
        o->vectors_options_case = QDRANT__VECTORS_OUTPUT__VECTORS_OPTIONS_VECTOR;
        o->vector = vector_out(c, p->vec[0], col->vp[0].size);
        return o;
    }
    Qdrant__NamedVectorsOutput *nv = fq_galloc(c, sizeof(*nv));
    qdrant__named_vectors_output__init(nv);
    nv->vectors = fq_galloc(c, (col->nvp + 1) * sizeof(*nv->vectors));
    for (size_t k = 0; k < col->nvp; k++) {
        if (!p->vec[k]) continue;
        Qdrant__NamedVectorsOutput__VectorsEntry *e = fq_galloc(c, sizeof(*e));
        qdrant__named_vectors_output__vectors_entry__init(e);
        e->key = col->vp[k].name;
        e->value = vector_out(c, p->vec[k], col->vp[k].size);
        nv->vectors[nv->n_vectors++] = e;
    }
    o->vectors_options_case = QDRANT__VECTORS_OUTPUT__VECTORS_OPTIONS_VECTORS;
    o->vectors = nv;
    return o;
}

static int want_payload(const Qdrant__WithPayloadSelector *s, int dflt)
{
    if (!s) return dflt;
    if (s->selector_options_case == QDRANT__WITH_PAYLOAD_SELECTOR__SELECTOR_OPTIONS_ENABLE)
        return s->enable;
    return 1;
}

static int want_vectors(const Qdrant__WithVectorsSelector *s)
{
    return s &&
           s->selector_options_case == QDRANT__WITH_VECTORS_SELECTOR__SELECTOR_OPTIONS_ENABLE &&
           s->enable;
}

static Qdrant__RetrievedPoint *retrieved(fq_gcall_t *c, const fq_collection_t *col,
                                         const fq_point_t *p, int wp, int wv)
{
    Qdrant__RetrievedPoint *r = fq_galloc(c, sizeof(*r));
    qdrant__retrieved_point__init(r);
    r->id = pid_out(c, &p->id);
    r->n_payload =
        payload_out(c, p->payload, wp, &qdrant__retrieved_point__payload_entry__descriptor,
                    (void ***)&r->payload);
    if (wv && (r->vectors = vectors_out(c, col, p)))
        r->_vectors_case = QDRANT__RETRIEVED_POINT___VECTORS_VECTORS;
    return r;
}

/* Collection of a request, answering NOT_FOUND; refuses filters. */
static fq_collection_t *target(fq_gcall_t *c, const char *name, const Qdrant__Filter *filter)
{
    fq_collection_t *col = fq_store_resolve(c->app->store, name);
    if (!col) {
        fq_gnot_found(c, name);
        return NULL;
    }
    if (filter) {
        fq_gfail(c, GW_GRPC_INVALID_ARGUMENT, "fake_qdrant: filters are not implemented over gRPC");
        return NULL;
    }
    fq_async_flush(col);
    return col;
}

static void update_reply(fq_gcall_t *c, uint64_t op)
{
    Qdrant__UpdateResult u = QDRANT__UPDATE_RESULT__INIT;
    u.status = QDRANT__UPDATE_STATUS__Completed;
    u._operation_id_case = QDRANT__UPDATE_RESULT___OPERATION_ID_OPERATION_ID;
    u.operation_id = op;
    Qdrant__PointsOperationResponse r = QDRANT__POINTS_OPERATION_RESPONSE__INIT;
    r.result = &u;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

/* ---- methods ---- */

static int upsert_one(fq_gcall_t *c, fq_collection_t *col, const Qdrant__PointStruct *ps,
                      uint64_t op)
{
    fq_pid_t id;
    if (pid_in(c, ps->id, &id) < 0) return -1;
    fq_point_t *p = fq_col_upsert(col, &id);
    fq_point_clear_vecs(col, p);
    const Qdrant__Vectors *v = ps->_vectors_case ? ps->vectors : NULL;
    if (v && v->vectors_options_case == QDRANT__VECTORS__VECTORS_OPTIONS_VECTOR) {
        if (set_vector(c, col, p, "", v->vector) < 0) return -1;
    } else if (v && v->vectors_options_case == QDRANT__VECTORS__VECTORS_OPTIONS_VECTORS) {
        for (size_t k = 0; k < v->vectors->n_vectors; k++) {
            const Qdrant__NamedVectors__VectorsEntry *e = v->vectors->vectors[k];
            if (e->value && set_vector(c, col, p, e->key, e->value) < 0) return -1;
        }
    }
    json_decref(p->payload);
    p->payload = json_object();
    for (size_t k = 0; k < ps->n_payload; k++)
        json_object_set_new(p->payload, ps->payload[k]->key, value_to_json(ps->payload[k]->value));
    p->version = op;
    return 0;
}

static void upsert(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__UpsertPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, NULL);
    if (!col) return;
    /* Checked before anything is applied: a bad point leaves the collection as it was. */
    for (size_t k = 0; k < q->n_points; k++) {
        fq_pid_t id;
        if (pid_in(c, q->points[k]->id, &id) < 0) return;
    }
    uint64_t op = col->next_op++;
    for (size_t k = 0; k < q->n_points; k++)
        if (upsert_one(c, col, q->points[k], op) < 0) return;
    update_reply(c, op);
}

static void delete_points(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__DeletePoints *q = (const void *)req;
    const Qdrant__PointsSelector *sel = q->points;
    const Qdrant__Filter *f = sel && sel->points_selector_one_of_case ==
                                          QDRANT__POINTS_SELECTOR__POINTS_SELECTOR_ONE_OF_FILTER
                                  ? sel->filter
                                  : NULL;
    fq_collection_t *col = target(c, q->collection_name, f);
    if (!col) return;
    uint64_t op = col->next_op++;
    if (sel && sel->points_selector_one_of_case ==
                   QDRANT__POINTS_SELECTOR__POINTS_SELECTOR_ONE_OF_POINTS) {
        for (size_t k = 0; k < sel->points->n_ids; k++) {
            fq_pid_t id;
            if (pid_in(c, sel->points->ids[k], &id) < 0) return;
            fq_col_delete(col, &id);
        }
    }
    update_reply(c, op);
}

static void get_points(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__GetPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, NULL);
    if (!col) return;
    int wp = want_payload(q->with_payload, 0), wv = want_vectors(q->with_vectors);
    Qdrant__GetResponse r = QDRANT__GET_RESPONSE__INIT;
    r.result = fq_galloc(c, (q->n_ids + 1) * sizeof(*r.result));
    for (size_t k = 0; k < q->n_ids; k++) {
        fq_pid_t id;
        if (pid_in(c, q->ids[k], &id) < 0) return;
        fq_point_t *p = fq_col_find(col, &id);
        if (p) r.result[r.n_result++] = retrieved(c, col, p, wp, wv);
    }
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

typedef struct {
    const char *vname;
    const float *vec;
    size_t n_vec;
    size_t limit, offset;
    int has_threshold;
    float threshold;
    int wp, wv;
} nearest_t;

/* Exact nearest search on col; the scored points in *out (arena), their count returned, or -1
 * after failing the call. */
static long nearest(fq_gcall_t *c, fq_collection_t *col, const nearest_t *q,
                    Qdrant__ScoredPoint ***out)
{
    int slot = fq_col_vslot(col, q->vname);
    if (slot < 0)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                        "Wrong input: Not existing vector name error: %s", q->vname);
    if (q->n_vec != col->vp[slot].size)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                        "Wrong input: Vector dimension error: expected dim: %u, got %zu",
                        col->vp[slot].size, q->n_vec);
    fq_sreq_t sr;
    fq_sreq_init(&sr);
    sr.kind = FQ_Q_NEAREST;
    sr.slot = slot;
    sr.target = fq_prepare_query(col->vp[slot].dist, q->vec, col->vp[slot].size);
    sr.limit = q->limit;
    sr.offset = q->offset;
    sr.has_threshold = q->has_threshold;
    sr.threshold = q->threshold;
    size_t n;
    fq_hit_t *hits = fq_search_run(col, &sr, &n);
    Qdrant__ScoredPoint **res = fq_galloc(c, (n + 1) * sizeof(*res));
    for (size_t k = 0; k < n; k++) {
        Qdrant__ScoredPoint *sp = fq_galloc(c, sizeof(*sp));
        qdrant__scored_point__init(sp);
        sp->id = pid_out(c, &hits[k].p->id);
        sp->score = hits[k].score;
        sp->version = hits[k].p->version;
        sp->n_payload =
            payload_out(c, hits[k].p->payload, q->wp,
                        &qdrant__scored_point__payload_entry__descriptor, (void ***)&sp->payload);
        if (q->wv && (sp->vectors = vectors_out(c, col, hits[k].p)))
            sp->_vectors_case = QDRANT__SCORED_POINT___VECTORS_VECTORS;
        res[k] = sp;
    }
    free(hits);
    fq_sreq_dispose(&sr);
    *out = res;
    return (long)n;
}

static void search(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__SearchPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, q->filter);
    if (!col) return;
    nearest_t nq = {.vname = q->_vector_name_case ? q->vector_name : "",
                    .vec = q->vector,
                    .n_vec = q->n_vector,
                    .limit = q->limit,
                    .offset = q->_offset_case ? q->offset : 0,
                    .has_threshold = q->_score_threshold_case != 0,
                    .threshold = q->score_threshold,
                    .wp = want_payload(q->with_payload, 0),
                    .wv = q->_with_vectors_case && want_vectors(q->with_vectors)};
    Qdrant__SearchResponse r = QDRANT__SEARCH_RESPONSE__INIT;
    long n = nearest(c, col, &nq, &r.result);
    if (n < 0) return;
    r.n_result = (size_t)n;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

/* Query: nearest to a dense vector or to a stored point's vector; other variants, prefetch and
 * filters are refused as not implemented. */
static void query(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__QueryPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, q->_filter_case ? q->filter : NULL);
    if (!col) return;
    const Qdrant__VectorInput *in =
        q->_query_case && q->query->variant_case == QDRANT__QUERY__VARIANT_NEAREST
            ? q->query->nearest
            : NULL;
    if (!in || q->n_prefetch) {
        fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                 "fake_qdrant: only a nearest query without prefetch is implemented over gRPC");
        return;
    }
    nearest_t nq = {.vname = q->_using_case ? q->using_ : "",
                    .limit = q->_limit_case ? q->limit : 10,
                    .offset = q->_offset_case ? q->offset : 0,
                    .has_threshold = q->_score_threshold_case != 0,
                    .threshold = q->score_threshold,
                    .wp = q->_with_payload_case && want_payload(q->with_payload, 0),
                    .wv = q->_with_vectors_case && want_vectors(q->with_vectors)};
    if (in->variant_case == QDRANT__VECTOR_INPUT__VARIANT_DENSE) {
        nq.vec = in->dense->data;
        nq.n_vec = in->dense->n_data;
    } else if (in->variant_case == QDRANT__VECTOR_INPUT__VARIANT_ID) {
        fq_pid_t id;
        if (pid_in(c, in->id, &id) < 0) return;
        fq_point_t *p = fq_col_find(col, &id);
        int slot = fq_col_vslot(col, nq.vname);
        if (!p || slot < 0 || !p->vec[slot]) {
            char buf[48];
            fq_pid_fmt(&id, buf, sizeof(buf));
            fq_gfail(c, GW_GRPC_NOT_FOUND, "Not found: No point with id %s found", buf);
            return;
        }
        nq.vec = p->vec[slot];
        nq.n_vec = col->vp[slot].size;
    } else {
        fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                 "fake_qdrant: only dense vectors and point ids are implemented as gRPC queries");
        return;
    }
    Qdrant__QueryResponse r = QDRANT__QUERY_RESPONSE__INIT;
    long n = nearest(c, col, &nq, &r.result);
    if (n < 0) return;
    r.n_result = (size_t)n;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static void count(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__CountPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, q->filter);
    if (!col) return;
    Qdrant__CountResult cr = QDRANT__COUNT_RESULT__INIT;
    cr.count = col->npts;
    Qdrant__CountResponse r = QDRANT__COUNT_RESPONSE__INIT;
    r.result = &cr;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static void scroll(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__ScrollPoints *q = (const void *)req;
    fq_collection_t *col = target(c, q->collection_name, q->filter);
    if (!col) return;
    fq_pid_t from = {0};
    int has_from = q->_offset_case != 0;
    if (has_from && pid_in(c, q->offset, &from) < 0) return;
    size_t limit = q->_limit_case ? q->limit : 10;
    int wp = want_payload(q->with_payload, 1);
    int wv = q->_with_vectors_case && want_vectors(q->with_vectors);
    fq_point_t **pts = fq_col_sorted(col);
    Qdrant__ScrollResponse r = QDRANT__SCROLL_RESPONSE__INIT;
    r.result = fq_galloc(c, (limit + 1) * sizeof(*r.result));
    for (size_t k = 0; k < col->npts; k++) {
        if (has_from && fq_pid_cmp(&pts[k]->id, &from) < 0) continue;
        if (r.n_result == limit) {
            r._next_page_offset_case = QDRANT__SCROLL_RESPONSE___NEXT_PAGE_OFFSET_NEXT_PAGE_OFFSET;
            r.next_page_offset = pid_out(c, &pts[k]->id);
            break;
        }
        r.result[r.n_result++] = retrieved(c, col, pts[k], wp, wv);
    }
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

const fq_gmethod_t fq_grpc_points_methods[] = {
    {"/qdrant.Points/Upsert", &qdrant__upsert_points__descriptor, upsert},
    {"/qdrant.Points/Delete", &qdrant__delete_points__descriptor, delete_points},
    {"/qdrant.Points/Get", &qdrant__get_points__descriptor, get_points},
    {"/qdrant.Points/Search", &qdrant__search_points__descriptor, search},
    {"/qdrant.Points/Query", &qdrant__query_points__descriptor, query},
    {"/qdrant.Points/Count", &qdrant__count_points__descriptor, count},
    {"/qdrant.Points/Scroll", &qdrant__scroll_points__descriptor, scroll},
};
const size_t fq_grpc_points_nmethods =
    sizeof(fq_grpc_points_methods) / sizeof(fq_grpc_points_methods[0]);
