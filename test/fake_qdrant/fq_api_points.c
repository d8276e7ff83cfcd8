/* Point writes of fake_qdrant: upsert (list and batch forms), delete, vector update/delete,
 * payload set/overwrite/delete/clear and batched operations, each bumping the operation id;
 * with --async-apply-ms, wait=false writes are validated now and applied later (fq_async.c). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_async.h"
#include "fq_filter.h"
#include "fq_handlers.h"
#include "fq_render.h"
#include "fq_vecparse.h"

/* Each op runs twice: with c == NULL it only checks the body's shape (format errors come
 * before "collection not found", as with actix extractors); then against c in one of these
 * modes. A deferred write (--async-apply-ms) is checked now and applied later from the queue. */
enum {
    OP_APPLY,       /* validate against c, then change the data */
    OP_CHECK,       /* validate against c only; applied later */
    OP_CHECK_NODATA /* same, minus point-existence checks: earlier writes are still pending, so
                     * the data is not yet what this write will see (re-checked on apply) */
};
typedef int (*op_fn)(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op, int mode);

typedef struct {
    fq_pid_t id;
    float **vec;
    const json_t *payload;
} pending_t;

static void pending_free(pending_t *p, size_t n, size_t nvp)
{
    if (!p) return;
    for (size_t k = 0; k < n; k++) {
        fq_free_vectors(p[k].vec, nvp);
        free(p[k].vec);
    }
    free(p);
}

static int parse_payload_field(fq_pctx_t *pc, const json_t *v, const json_t **out)
{
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) return fq_type_error(pc, v, "a map");
    *out = v;
    return 0;
}

static int parse_point_struct(fq_pctx_t *pc, fq_collection_t *c, const json_t *e, pending_t *p)
{
    if (!json_is_object(e)) return fq_type_error(pc, e, "struct PointStruct");
    const json_t *id = json_object_get(e, "id"), *vec = json_object_get(e, "vector");
    if (!vec) vec = json_object_get(e, "vectors");
    if (!id) return fq_missing(pc, e, "id");
    if (fq_parse_pid(pc, id, &p->id) < 0) return -1;
    if (!vec) return fq_missing(pc, e, "vector");
    if (fq_parse_point_vectors(pc, c, vec, p->vec) < 0) return -1;
    return parse_payload_field(pc, json_object_get(e, "payload"), &p->payload);
}

static pending_t *pending_new(size_t n, fq_collection_t *c)
{
    pending_t *p = calloc(n ? n : 1, sizeof(*p));
    for (size_t k = 0; k < n; k++)
        p[k].vec = calloc(c && c->nvp ? c->nvp : 1, sizeof(float *));
    return p;
}

static int parse_points_list(fq_pctx_t *pc, fq_collection_t *c, const json_t *pts, pending_t **out,
                             size_t *n)
{
    if (!json_is_array(pts)) return fq_type_error(pc, pts, "a sequence");
    *n = json_array_size(pts);
    *out = pending_new(*n, c);
    for (size_t k = 0; k < *n; k++) {
        if (parse_point_struct(pc, c, json_array_get(pts, k), &(*out)[k]) < 0) return -1;
    }
    return 0;
}

/* One point's vectors out of a BatchVectorStruct (list, or name → list). */
static const json_t *batch_vector_at(const json_t *vectors, size_t k, json_t *tmp)
{
    if (json_is_array(vectors)) return json_array_get(vectors, k);
    const char *name;
    json_t *list;
    json_object_clear(tmp);
    json_object_foreach((json_t *)vectors, name, list)
    {
        json_t *v = json_array_get(list, k);
        if (v) json_object_set(tmp, name, v);
    }
    return tmp;
}

static int parse_batch(fq_pctx_t *pc, fq_collection_t *c, const json_t *b, pending_t **out,
                       size_t *n)
{
    if (!json_is_object(b)) return fq_type_error(pc, b, "struct Batch");
    const json_t *ids = json_object_get(b, "ids"), *vectors = json_object_get(b, "vectors");
    const json_t *payloads = json_object_get(b, "payloads");
    if (!ids) return fq_missing(pc, b, "ids");
    if (!json_is_array(ids)) return fq_type_error(pc, ids, "a sequence");
    if (!vectors) return fq_missing(pc, b, "vectors");
    if (!json_is_array(vectors) && !json_is_object(vectors))
        return fq_fmt_error(pc->rq, pc->pos,
                            "data did not match any variant of untagged enum BatchVectorStruct");
    *n = json_array_size(ids);
    if (json_is_array(vectors) && json_array_size(vectors) != *n)
        return fq_validation_error(pc->rq, "batch: number of ids and vectors must be equal");
    if (payloads && !json_is_null(payloads) && !json_is_array(payloads))
        return fq_type_error(pc, payloads, "a sequence");
    *out = pending_new(*n, c);
    json_t *tmp = json_object();
    int rc = 0;
    for (size_t k = 0; k < *n && rc == 0; k++) {
        pending_t *p = &(*out)[k];
        rc = fq_parse_pid(pc, json_array_get(ids, k), &p->id);
        if (rc == 0) rc = fq_parse_point_vectors(pc, c, batch_vector_at(vectors, k, tmp), p->vec);
        if (rc == 0 && json_is_array(payloads))
            rc = parse_payload_field(pc, json_array_get(payloads, k), &p->payload);
    }
    json_decref(tmp);
    return rc;
}

static int check_update_mode(fq_rq_t *rq, const json_t *body, int *mode)
{
    static const char *modes[] = {"upsert", "insert_only", "update_only"};
    const json_t *m = json_object_get(body, "update_mode");
    *mode = 0;
    if (!m || json_is_null(m)) return 0;
    for (int k = 0; json_is_string(m) && k < 3; k++) {
        if (strcmp(json_string_value(m), modes[k]) == 0) {
            *mode = k;
            return 0;
        }
    }
    return fq_fmt_error(rq, NULL,
                        "unknown variant `%s`, expected one of `upsert`, "
                        "`insert_only`, `update_only`",
                        json_is_string(m) ? json_string_value(m) : "?");
}

static void apply_upsert(fq_collection_t *c, pending_t *pend, size_t n, const json_t *filter,
                         int mode, uint64_t op)
{
    for (size_t k = 0; k < n; k++) {
        fq_point_t *old = fq_col_find(c, &pend[k].id);
        if ((mode == 1 && old) || (mode == 2 && !old)) continue;
        if (old && filter && !fq_filter_match(c, old, filter)) continue;
        fq_point_t *p = fq_col_upsert(c, &pend[k].id);
        fq_point_clear_vecs(c, p);
        for (size_t s = 0; s < c->nvp; s++) {
            if (pend[k].vec[s]) fq_point_set_vec(c, p, (int)s, pend[k].vec[s]);
        }
        json_decref(p->payload);
        p->payload = pend[k].payload ? json_deep_copy(pend[k].payload) : json_object();
        p->version = op;
    }
}

static int op_upsert(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op, int mode)
{
    fq_pctx_t pc = {rq, NULL, 0};
    pending_t *pend = NULL;
    size_t n = 0;
    int umode, rc;
    if (!json_is_object(body))
        return fq_fmt_error(rq, NULL, "Invalid PointInsertOperations format");
    const json_t *batch = json_object_get(body, "batch"), *pts = json_object_get(body, "points");
    const json_t *filter = json_object_get(body, "update_filter");
    if (batch)
        rc = parse_batch(&pc, c, batch, &pend, &n);
    else if (pts)
        rc = parse_points_list(&pc, c, pts, &pend, &n);
    else
        rc = fq_fmt_error(rq, NULL, "Invalid PointInsertOperations format");
    if (rc == 0) rc = check_update_mode(rq, body, &umode);
    if (rc == 0) rc = fq_filter_check(rq, filter, "update_filter");
    if (rc == 0 && c && mode == OP_APPLY)
        apply_upsert(c, pend, n, json_is_null(filter) ? NULL : filter, umode, op);
    pending_free(pend, n, c ? c->nvp : 1);
    return rc;
}

/* ---- selectors -------------------------------------------------------------------------- */

typedef struct {
    const json_t *filter;
    fq_pid_t *ids;
    size_t nids;
} selector_t;

/* points: [ids] and/or filter; need_one: fail when neither is given. */
static int parse_selection(fq_rq_t *rq, const json_t *body, selector_t *s, const char *untagged,
                           int need_one)
{
    fq_pctx_t pc = {rq, NULL, untagged == NULL};
    memset(s, 0, sizeof(*s));
    const json_t *pts = json_object_get(body, "points"), *f = json_object_get(body, "filter");
    if (untagged && (!json_is_object(body) || (!json_is_array(pts) && !json_is_object(f))))
        return fq_fmt_error(rq, NULL, "data did not match any variant of untagged enum %s",
                            untagged);
    if (pts && !json_is_null(pts)) {
        if (!json_is_array(pts)) return fq_type_error(&pc, pts, "a sequence");
        s->nids = json_array_size(pts);
        s->ids = calloc(s->nids ? s->nids : 1, sizeof(*s->ids));
        for (size_t k = 0; k < s->nids; k++) {
            if (fq_parse_pid(&pc, json_array_get(pts, k), &s->ids[k]) < 0) {
                free(s->ids);
                s->ids = NULL;
                return -1;
            }
        }
    } else if (f && !json_is_null(f)) {
        if (fq_filter_check(rq, f, "filter") < 0) return -1;
        s->filter = f;
    } else if (need_one) {
        return fq_fmt_error(rq, NULL, "Either list of point ids or filter must be provided");
    }
    return 0;
}

/* The existing points a selector names (ids in order, or filter matches by id). */
static fq_point_t **select_points(fq_collection_t *c, const selector_t *s, size_t *n)
{
    fq_point_t **out = calloc((s->filter ? c->npts : s->nids) + 1, sizeof(*out));
    *n = 0;
    if (s->filter) {
        fq_point_t **pts = fq_col_sorted(c);
        for (size_t k = 0; k < c->npts; k++) {
            if (fq_filter_match(c, pts[k], s->filter)) out[(*n)++] = pts[k];
        }
        return out;
    }
    for (size_t k = 0; k < s->nids; k++) {
        fq_point_t *p = fq_col_find(c, &s->ids[k]);
        if (p) out[(*n)++] = p;
    }
    return out;
}

/* 404 for the first listed id that does not exist. */
static int require_ids(fq_rq_t *rq, fq_collection_t *c, const selector_t *s)
{
    for (size_t k = 0; k < s->nids; k++) {
        if (!fq_col_find(c, &s->ids[k])) {
            char id[48];
            fq_pid_fmt(&s->ids[k], id, sizeof(id));
            fq_fail(rq, 404, "Not found: No point with id %s found", id);
            return -1;
        }
    }
    return 0;
}

static int op_delete(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op, int mode)
{
    selector_t s;
    int rc = parse_selection(rq, body, &s, "PointsSelector", 1);
    if (rc == 0 && c && mode == OP_APPLY) {
        size_t n;
        fq_point_t **pts = select_points(c, &s, &n);
        fq_pid_t *ids = calloc(n + 1, sizeof(*ids));
        for (size_t k = 0; k < n; k++)
            ids[k] = pts[k]->id;
        for (size_t k = 0; k < n; k++)
            fq_col_delete(c, &ids[k]);
        free(ids);
        free(pts);
    }
    free(s.ids);
    return rc;
}

static int op_clear_payload(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                            int mode)
{
    selector_t s;
    int rc = parse_selection(rq, body, &s, "PointsSelector", 1);
    if (rc == 0 && c && mode == OP_APPLY) {
        size_t n;
        fq_point_t **pts = select_points(c, &s, &n);
        for (size_t k = 0; k < n; k++) {
            json_object_clear(pts[k]->payload);
            pts[k]->version = op;
        }
        free(pts);
    }
    free(s.ids);
    return rc;
}

/* Merges src into the object at a dotted key path of dst (created when missing). */
static void set_at_key(json_t *dst, const char *key, const json_t *src)
{
    json_t *cur = dst;
    char *path = strdup(key ? key : ""), *save = NULL;
    for (char *seg = strtok_r(path, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        json_t *next = json_object_get(cur, seg);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, seg, next);
        }
        cur = next;
    }
    free(path);
    json_object_update(cur, (json_t *)src);
}

static int payload_op(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op, int mode,
                      int overwrite)
{
    fq_pctx_t pc = {rq, NULL, 1};
    const char *key = NULL;
    selector_t s;
    if (!json_is_object(body)) return fq_type_error(&pc, body, "struct SetPayload");
    const json_t *payload = json_object_get(body, "payload");
    if (!payload) return fq_missing(&pc, body, "payload");
    if (!json_is_object(payload)) return fq_type_error(&pc, payload, "a map");
    if (fq_get_str(&pc, body, "key", &key) < 0 || parse_selection(rq, body, &s, NULL, 1) < 0)
        return -1;
    int rc = c && mode != OP_CHECK_NODATA ? require_ids(rq, c, &s) : 0;
    if (rc == 0 && c && mode == OP_APPLY) {
        size_t n;
        fq_point_t **pts = select_points(c, &s, &n);
        for (size_t k = 0; k < n; k++) {
            if (overwrite) json_object_clear(pts[k]->payload);
            set_at_key(pts[k]->payload, key, payload);
            pts[k]->version = op;
        }
        free(pts);
    }
    free(s.ids);
    return rc;
}

static int op_set_payload(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                          int mode)
{
    return payload_op(rq, c, body, op, mode, 0);
}

static int op_overwrite_payload(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                                int mode)
{
    return payload_op(rq, c, body, op, mode, 1);
}

static void delete_key(json_t *payload, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot) {
        json_object_del(payload, key);
        return;
    }
    char *head = strndup(key, dot - key);
    json_t *sub = json_object_get(payload, head);
    free(head);
    if (json_is_object(sub)) delete_key(sub, dot + 1);
}

static int op_delete_payload(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                             int mode)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *keys = NULL;
    selector_t s;
    if (!json_is_object(body)) return fq_type_error(&pc, body, "struct DeletePayload");
    int r = fq_get_array(&pc, body, "keys", &keys);
    if (r < 0) return -1;
    if (r == 1) return fq_missing(&pc, body, "keys");
    for (size_t k = 0; k < json_array_size(keys); k++) {
        if (!json_is_string(json_array_get(keys, k)))
            return fq_type_error(&pc, json_array_get(keys, k), "a string");
    }
    if (parse_selection(rq, body, &s, NULL, 1) < 0) return -1;
    int rc = c && mode != OP_CHECK_NODATA ? require_ids(rq, c, &s) : 0;
    if (rc == 0 && c && mode == OP_APPLY) {
        size_t n;
        fq_point_t **pts = select_points(c, &s, &n);
        for (size_t k = 0; k < n; k++) {
            for (size_t j = 0; j < json_array_size(keys); j++)
                delete_key(pts[k]->payload, json_string_value(json_array_get(keys, j)));
            pts[k]->version = op;
        }
        free(pts);
    }
    free(s.ids);
    return rc;
}

static int parse_point_vectors_list(fq_pctx_t *pc, fq_collection_t *c, const json_t *pts,
                                    pending_t *pend)
{
    for (size_t k = 0; k < json_array_size(pts); k++) {
        const json_t *e = json_array_get(pts, k), *vec;
        if (!json_is_object(e)) return fq_type_error(pc, e, "struct PointVectors");
        if (!json_object_get(e, "id")) return fq_missing(pc, e, "id");
        if (fq_parse_pid(pc, json_object_get(e, "id"), &pend[k].id) < 0) return -1;
        if (!(vec = json_object_get(e, "vector")) && !(vec = json_object_get(e, "vectors")))
            return fq_missing(pc, e, "vector");
        if (fq_parse_point_vectors(pc, c, vec, pend[k].vec) < 0) return -1;
    }
    return 0;
}

static int op_update_vectors(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                             int mode)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *pts = NULL;
    if (!json_is_object(body)) return fq_type_error(&pc, body, "struct UpdateVectors");
    int r = fq_get_array(&pc, body, "points", &pts);
    if (r) return r < 0 ? -1 : fq_missing(&pc, body, "points");
    if (json_array_size(pts) == 0)
        return fq_validation_error(rq, "points: must specify points to update");
    const json_t *filter = json_object_get(body, "update_filter");
    size_t n = json_array_size(pts);
    pending_t *pend = pending_new(n, c);
    int rc = parse_point_vectors_list(&pc, c, pts, pend);
    if (rc == 0) rc = fq_filter_check(rq, filter, "update_filter");
    for (size_t k = 0; rc == 0 && c && mode != OP_CHECK_NODATA && k < n; k++) {
        fq_point_t *p = fq_col_find(c, &pend[k].id);
        if (!p) {
            char id[48];
            fq_pid_fmt(&pend[k].id, id, sizeof(id));
            fq_fail(rq, 404, "Not found: No point with id %s found", id);
            rc = -1;
        }
    }
    for (size_t k = 0; rc == 0 && c && mode == OP_APPLY && k < n; k++) {
        fq_point_t *p = fq_col_find(c, &pend[k].id);
        if (filter && !json_is_null(filter) && !fq_filter_match(c, p, filter)) continue;
        for (size_t s = 0; s < c->nvp; s++) {
            if (pend[k].vec[s]) fq_point_set_vec(c, p, (int)s, pend[k].vec[s]);
        }
        p->version = op;
    }
    pending_free(pend, n, c ? c->nvp : 1);
    return rc;
}

static int op_delete_vectors(fq_rq_t *rq, fq_collection_t *c, const json_t *body, uint64_t op,
                             int mode)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *names = NULL;
    selector_t s;
    if (!json_is_object(body)) return fq_type_error(&pc, body, "struct DeleteVectors");
    int r = fq_get_array(&pc, body, "vector", &names);
    if (r) return r < 0 ? -1 : fq_missing(&pc, body, "vector");
    if (json_array_size(names) == 0)
        return fq_validation_error(rq, "vector: must specify vector names to delete");
    if (parse_selection(rq, body, &s, NULL, 1) < 0) return -1;
    int rc = 0;
    for (size_t k = 0; c && rc == 0 && k < json_array_size(names); k++)
        rc = fq_slot_or_fail(rq, c, json_string_value(json_array_get(names, k))) < 0 ? -1 : 0;
    if (rc == 0 && c && mode == OP_APPLY) {
        size_t n;
        fq_point_t **pts = select_points(c, &s, &n);
        for (size_t k = 0; k < n; k++) {
            for (size_t j = 0; j < json_array_size(names); j++) {
                int slot = fq_col_vslot(c, json_string_value(json_array_get(names, j)));
                free(pts[k]->vec[slot]);
                pts[k]->vec[slot] = NULL;
            }
            pts[k]->version = op;
        }
        free(pts);
    }
    free(s.ids);
    return rc;
}

/* ---- handlers --------------------------------------------------------------------------- */

typedef struct {
    const char *key; /* the UpdateOperation variant of the batch route */
    op_fn fn;
} op_entry_t;

static const op_entry_t batch_ops[] = {
    {"upsert", op_upsert},
    {"delete", op_delete},
    {"set_payload", op_set_payload},
    {"overwrite_payload", op_overwrite_payload},
    {"delete_payload", op_delete_payload},
    {"clear_payload", op_clear_payload},
    {"update_vectors", op_update_vectors},
    {"delete_vectors", op_delete_vectors},
};

/* The operation of one batch entry ({"<key>": body}); NULL when none matches. */
static const op_entry_t *batch_op(const json_t *o, const json_t **body)
{
    for (size_t k = 0; json_is_object(o) && k < sizeof(batch_ops) / sizeof(batch_ops[0]); k++) {
        if ((*body = json_object_get(o, batch_ops[k].key))) return &batch_ops[k];
    }
    return NULL;
}

/* Queued form of a point write: arg is {"<key>": copy of the body}. A write whose data checks
 * fail by now (its points were deleted meanwhile) is dropped, as Qdrant's update worker does. */
static void apply_queued(fq_rq_t *rq, fq_collection_t *c, const json_t *arg, uint64_t op)
{
    const json_t *body = NULL;
    const op_entry_t *e = batch_op(arg, &body);
    if (e) e->fn(rq, c, body, op, OP_APPLY);
}

/* One shape-checked write on c with operation id c->next_op: applied now (after c's pending
 * writes), or with --async-apply-ms and no wait=true checked now and queued. 0, or -1 when
 * answered with an error (nothing applied or queued, no id used). */
static int do_write(fq_rq_t *rq, fq_collection_t *c, const op_entry_t *e, const json_t *body)
{
    uint64_t op = c->next_op;
    if (!fq_async_defer(rq)) {
        fq_async_flush(c);
        if (e->fn(rq, c, body, op, OP_APPLY) < 0) return -1;
    } else {
        if (e->fn(rq, c, body, op, fq_async_pending(c) ? OP_CHECK_NODATA : OP_CHECK) < 0) return -1;
        json_t *arg = json_object();
        json_object_set_new(arg, e->key, json_deep_copy(body));
        fq_async_push(rq->app, c, apply_queued, arg, op);
    }
    c->next_op++;
    return 0;
}

static void run_write(fq_rq_t *rq, const char *key)
{
    const op_entry_t *e = NULL;
    for (size_t k = 0; !e && k < sizeof(batch_ops) / sizeof(batch_ops[0]); k++) {
        if (strcmp(batch_ops[k].key, key) == 0) e = &batch_ops[k];
    }
    if (fq_parse_common_query(rq, 0) < 0 || e->fn(rq, NULL, rq->body, 0, OP_APPLY) < 0) return;
    fq_collection_t *c = fq_rq_collection(rq);
    uint64_t op = c ? c->next_op : 0;
    if (!c || do_write(rq, c, e, rq->body) < 0) return;
    fq_ok(rq, fq_render_update(op, rq->wait));
}

void fq_h_upsert(fq_rq_t *rq)
{
    run_write(rq, "upsert");
}

void fq_h_delete_points(fq_rq_t *rq)
{
    run_write(rq, "delete");
}

void fq_h_update_vectors(fq_rq_t *rq)
{
    run_write(rq, "update_vectors");
}

void fq_h_delete_vectors(fq_rq_t *rq)
{
    run_write(rq, "delete_vectors");
}

void fq_h_set_payload(fq_rq_t *rq)
{
    run_write(rq, "set_payload");
}

void fq_h_overwrite_payload(fq_rq_t *rq)
{
    run_write(rq, "overwrite_payload");
}

void fq_h_delete_payload(fq_rq_t *rq)
{
    run_write(rq, "delete_payload");
}

void fq_h_clear_payload(fq_rq_t *rq)
{
    run_write(rq, "clear_payload");
}

void fq_h_batch_update(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *ops = NULL;
    const json_t *body = NULL;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "UpdateOperations") < 0) return;
    int r = fq_get_array(&pc, rq->body, "operations", &ops);
    if (r) {
        if (r > 0) fq_missing(&pc, rq->body, "operations");
        return;
    }
    for (size_t k = 0; k < json_array_size(ops); k++) {
        const json_t *o = json_array_get(ops, k);
        const op_entry_t *e = batch_op(o, &body);
        rq->untagged_name = "UpdateOperation";
        rq->untagged_node = o;
        if (!e) {
            fq_fmt_error(rq, o, "unknown operation");
            return;
        }
        if (e->fn(rq, NULL, body, 0, OP_APPLY) < 0) return;
    }
    rq->untagged_name = NULL;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    json_t *results = json_array();
    for (size_t k = 0; k < json_array_size(ops); k++) {
        const op_entry_t *e = batch_op(json_array_get(ops, k), &body);
        uint64_t op = c->next_op;
        if (do_write(rq, c, e, body) < 0) {
            json_decref(results);
            return;
        }
        json_array_append_new(results, fq_render_update(op, rq->wait));
    }
    fq_ok(rq, results);
}
