/* Collection-level routes of fake_qdrant: service info and health, collection create / info /
 * list / exists / update / delete, aliases, payload indexes and the cluster stubs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_async.h"
#include "fq_filter.h"
#include "fq_handlers.h"
#include "fq_render.h"

#define QDRANT_COMMIT "74f3e85b9473c62560006c043e13737ce6b48412"

void fq_h_root(fq_rq_t *rq)
{
    fq_reply_json(rq, 200,
                  json_pack("{s:s,s:s,s:s}", "title", "qdrant - vector search engine", "version",
                            "1.19.0", "commit", QDRANT_COMMIT));
}

void fq_h_healthz(fq_rq_t *rq)
{
    fq_reply_text(rq, 200, "healthz check passed");
}

void fq_h_readyz(fq_rq_t *rq)
{
    fq_reply_text(rq, 200, "all shards are ready");
}

void fq_h_cluster(fq_rq_t *rq)
{
    fq_ok(rq, json_pack("{s:s}", "status", "disabled"));
}

void fq_h_issues(fq_rq_t *rq)
{
    fq_ok(rq, json_pack("{s:[]}", "issues"));
}

/* ---- config ---------------------------------------------------------------------------- */

json_t *fq_default_collection_config(void)
{
    return json_pack(
        "{s:{s:i,s:i,s:i,s:b},s:{s:i,s:i,s:i,s:i,s:b},"
        "s:{s:f,s:i,s:i,s:n,s:n,s:i,s:i,s:n},s:{s:i,s:i,s:i},s:n,s:{s:b}}",
        "params", "shard_number", 1, "replication_factor", 1, "write_consistency_factor", 1,
        "on_disk_payload", 1, "hnsw_config", "m", 16, "ef_construct", 100, "full_scan_threshold",
        10000, "max_indexing_threads", 0, "on_disk", 0, "optimizer_config", "deleted_threshold",
        0.2, "vacuum_min_vector_number", 1000, "default_segment_number", 0, "max_segment_size",
        "memmap_threshold", "indexing_threshold", 10000, "flush_interval_sec", 5,
        "max_optimization_threads", "wal_config", "wal_capacity_mb", 32, "wal_segments_ahead", 0,
        "wal_retain_closed", 1, "quantization_config", "strict_mode_config", "enabled", 0);
}

/* Copies the non-null members of src over dst. */
static void merge_nonnull(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (!json_is_null(v)) json_object_set(dst, k, v);
    }
}

static json_t *vectors_json(const fq_collection_t *c)
{
    if (!c->named && c->nvp == 1) return json_deep_copy(c->vp[0].params);
    json_t *o = json_object();
    for (size_t k = 0; k < c->nvp; k++)
        json_object_set_new(o, c->vp[k].name, json_deep_copy(c->vp[k].params));
    return o;
}

static json_t *collection_info(const fq_collection_t *c)
{
    json_t *cfg = json_deep_copy(c->config);
    json_t *params = json_object();
    json_object_set_new(params, "vectors", vectors_json(c));
    json_object_update(params, json_object_get(cfg, "params"));
    json_object_set_new(cfg, "params", params);
    json_t *schema = json_deep_copy(c->payload_schema);
    const char *field;
    json_t *info;
    json_object_foreach(schema, field, info)
    {
        size_t n = 0;
        for (size_t k = 0; k < c->npts; k++) {
            json_t *vals = json_array();
            fq_payload_values(c->pts[k]->payload, field, vals, 1);
            int indexed = 0; /* null is never indexed */
            for (size_t v = 0; v < json_array_size(vals); v++)
                indexed |= !json_is_null(json_array_get(vals, v));
            n += (size_t)indexed;
            json_decref(vals);
        }
        json_object_set_new(info, "points", json_integer((json_int_t)n));
    }
    return json_pack("{s:s,s:s,s:i,s:I,s:i,s:o,s:o,s:{s:i}}", "status", "green", "optimizer_status",
                     "ok", "indexed_vectors_count", 0, "points_count", (json_int_t)c->npts,
                     "segments_count", 2, "config", cfg, "payload_schema", schema, "update_queue",
                     "length", (int)fq_async_pending(c));
}

/* One VectorParams object. 0 ok, 1 malformed (caller reports), -1 answered (422). */
static int parse_vparam(fq_rq_t *rq, const char *name, const json_t *o, fq_vparam_t *vp,
                        const char *vpath)
{
    static const char *extras[] = {"hnsw_config", "quantization_config", "on_disk",
                                   "datatype",    "multivector_config",  "memory"};
    const json_t *size = json_object_get(o, "size"), *dist = json_object_get(o, "distance");
    fq_dist_t d;
    if (!json_is_object(o) || !json_is_integer(size) || json_integer_value(size) < 0 ||
        !json_is_string(dist) || fq_dist_parse(json_string_value(dist), &d) < 0)
        return 1;
    json_int_t n = json_integer_value(size);
    if (n < 1 || n > 65536)
        return fq_validation_error(
            rq, "%s.size: value %" JSON_INTEGER_FORMAT " invalid, must be from 1 to 65536", vpath,
            n);
    vp->name = strdup(name);
    vp->size = (uint32_t)n;
    vp->dist = d;
    vp->params = json_pack("{s:I,s:s}", "size", n, "distance", fq_dist_name(d));
    for (size_t k = 0; k < sizeof(extras) / sizeof(extras[0]); k++) {
        json_t *x = json_object_get(o, extras[k]);
        if (x && !json_is_null(x)) json_object_set(vp->params, extras[k], x);
    }
    return 0;
}

static int parse_vectors(fq_rq_t *rq, fq_collection_t *c, const json_t *v)
{
    if (!v || json_is_null(v)) return 0;
    int rc = 1;
    if (json_is_object(v) && (json_object_get(v, "size") || json_object_get(v, "distance"))) {
        c->vp = calloc(1, sizeof(*c->vp));
        c->nvp = 1;
        rc = parse_vparam(rq, "", v, &c->vp[0], "vectors");
    } else if (json_is_object(v)) {
        c->named = 1;
        c->vp = calloc(json_object_size(v) + 1, sizeof(*c->vp));
        const char *name;
        json_t *o;
        rc = 0;
        json_object_foreach((json_t *)v, name, o)
        {
            char path[512];
            snprintf(path, sizeof(path), "vectors.%s", name);
            if ((rc = parse_vparam(rq, name, o, &c->vp[c->nvp], path)) != 0) break;
            c->nvp++;
        }
    }
    if (rc == 1)
        return fq_fmt_error(rq, v, "data did not match any variant of untagged enum VectorsConfig");
    return rc;
}

static int check_sections(fq_rq_t *rq, const json_t *body, const char *const *keys,
                          const char *const *types, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const json_t *x = json_object_get(body, keys[k]);
        if (x && !json_is_null(x) && !json_is_object(x)) {
            char un[256], exp[128];
            fq_describe_unexpected(x, un, sizeof(un));
            snprintf(exp, sizeof(exp), "struct %s", types[k]);
            return fq_fmt_error(rq, x, "invalid type: %s, expected %s", un, exp);
        }
    }
    return 0;
}

static void apply_create_options(fq_collection_t *c, const json_t *b)
{
    static const char *pkeys[] = {
        "shard_number",    "replication_factor", "write_consistency_factor",
        "on_disk_payload", "sparse_vectors",     "sharding_method"};
    json_t *params = json_object_get(c->config, "params"), *x;
    for (size_t k = 0; k < sizeof(pkeys) / sizeof(pkeys[0]); k++) {
        if ((x = json_object_get(b, pkeys[k])) && !json_is_null(x))
            json_object_set(params, pkeys[k], x);
    }
    if ((x = json_object_get(b, "hnsw_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "hnsw_config"), x);
    if ((x = json_object_get(b, "optimizers_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "optimizer_config"), x);
    if ((x = json_object_get(b, "wal_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "wal_config"), x);
    if ((x = json_object_get(b, "strict_mode_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "strict_mode_config"), x);
    if ((x = json_object_get(b, "quantization_config")) && !json_is_null(x))
        json_object_set(c->config, "quantization_config", x);
    if ((x = json_object_get(b, "metadata")) && json_is_object(x))
        json_object_set_new(c->config, "metadata", json_deep_copy(x));
}

void fq_h_create_collection(fq_rq_t *rq)
{
    static const char *const secs[] = {"hnsw_config", "optimizers_config", "wal_config",
                                       "strict_mode_config", "metadata"};
    static const char *const types[] = {"HnswConfigDiff", "OptimizersConfigDiff", "WalConfigDiff",
                                        "StrictModeConfig", "Payload"};
    const char *name = rq->params[0];
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "CreateCollection") < 0 ||
        check_sections(rq, rq->body, secs, types, 5))
        return;
    fq_collection_t *c = fq_col_new(name);
    if (parse_vectors(rq, c, json_object_get(rq->body, "vectors")) < 0) {
        fq_col_free(c);
        return;
    }
    if (strlen(name) > 255) {
        fq_col_free(c);
        fq_fail0(rq, 422,
                 "Validation error in path parameters: [collection_name: length must "
                 "be between 1 and 255]");
        return;
    }
    fq_store_t *s = rq->app->store;
    if (fq_store_get(s, name)) {
        fq_col_free(c);
        fq_fail(rq, 409, "Wrong input: Collection `%s` already exists!", name);
        return;
    }
    if (fq_alias_target(s, name)) {
        fq_col_free(c);
        fq_fail(rq, 400,
                "Wrong input: Can't create collection with name %s. Alias with the same name "
                "already exists",
                name);
        return;
    }
    c->config = fq_default_collection_config();
    apply_create_options(c, rq->body);
    fq_store_add(s, c);
    fq_ok(rq, json_true());
}

void fq_h_get_collection(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    if (c) fq_ok(rq, collection_info(c));
}

void fq_h_list_collections(fq_rq_t *rq)
{
    json_t *list = json_array();
    fq_store_t *s = rq->app->store;
    for (size_t k = 0; k < s->ncols; k++)
        json_array_append_new(list, json_pack("{s:s}", "name", s->cols[k]->name));
    fq_ok(rq, json_pack("{s:o}", "collections", list));
}

void fq_h_collection_exists(fq_rq_t *rq)
{
    int exists = fq_store_resolve(rq->app->store, rq->params[0]) != NULL;
    fq_ok(rq, json_pack("{s:b}", "exists", exists));
}

void fq_h_delete_collection(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 0) < 0) return;
    fq_ok(rq, json_boolean(fq_store_remove(rq->app->store, rq->params[0])));
}

static int update_vectors_diff(fq_rq_t *rq, fq_collection_t *c, const json_t *diff)
{
    const char *name;
    json_t *d;
    json_object_foreach((json_t *)diff, name, d)
    {
        int slot = fq_col_vslot(c, name);
        if (slot < 0) {
            fq_fail(rq, 400, "Wrong input: Not existing vector name error: %s", name);
            return -1;
        }
        if (json_is_object(d)) merge_nonnull(c->vp[slot].params, d);
    }
    return 0;
}

void fq_h_update_collection(fq_rq_t *rq)
{
    static const char *const secs[] = {"vectors",       "optimizers_config",  "params",
                                       "hnsw_config",   "strict_mode_config", "metadata",
                                       "sparse_vectors"};
    static const char *const types[] = {"VectorsConfigDiff",    "OptimizersConfigDiff",
                                        "CollectionParamsDiff", "HnswConfigDiff",
                                        "StrictModeConfig",     "Payload",
                                        "SparseVectorsConfig"};
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "UpdateCollection") < 0 ||
        check_sections(rq, rq->body, secs, types, 7))
        return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    const json_t *b = rq->body, *x;
    if ((x = json_object_get(b, "vectors")) && json_is_object(x) &&
        update_vectors_diff(rq, c, x) < 0)
        return;
    if ((x = json_object_get(b, "optimizers_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "optimizer_config"), x);
    if ((x = json_object_get(b, "params")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "params"), x);
    if ((x = json_object_get(b, "hnsw_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "hnsw_config"), x);
    if ((x = json_object_get(b, "strict_mode_config")) && json_is_object(x))
        merge_nonnull(json_object_get(c->config, "strict_mode_config"), x);
    if ((x = json_object_get(b, "quantization_config")) && !json_is_null(x))
        json_object_set_new(c->config, "quantization_config",
                            json_is_string(x) ? json_null() : json_deep_copy(x));
    if ((x = json_object_get(b, "metadata")) && json_is_object(x)) {
        if (!json_is_object(json_object_get(c->config, "metadata")))
            json_object_set_new(c->config, "metadata", json_object());
        json_object_update(json_object_get(c->config, "metadata"), (json_t *)x);
    }
    if ((x = json_object_get(b, "sparse_vectors")) && json_is_object(x)) {
        json_t *params = json_object_get(c->config, "params");
        if (!json_is_object(json_object_get(params, "sparse_vectors")))
            json_object_set_new(params, "sparse_vectors", json_object());
        json_object_update(json_object_get(params, "sparse_vectors"), (json_t *)x);
    }
    fq_ok(rq, json_true());
}

void fq_h_collection_cluster(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    fq_ok(rq, json_pack("{s:I,s:i,s:[{s:i,s:I,s:s}],s:[],s:[]}", "peer_id",
                        (json_int_t)5734189315432109LL, "shard_count", 1, "local_shards",
                        "shard_id", 0, "points_count", (json_int_t)c->npts, "state", "Active",
                        "remote_shards", "shard_transfers"));
}

/* ---- payload indexes -------------------------------------------------------------------- */

static const char *index_type(const json_t *schema)
{
    static const char *types[] = {"keyword", "integer", "float",    "geo",
                                  "text",    "bool",    "datetime", "uuid"};
    const json_t *t = json_is_object(schema) ? json_object_get(schema, "type") : schema;
    for (size_t k = 0; json_is_string(t) && k < sizeof(types) / sizeof(types[0]); k++) {
        if (strcmp(json_string_value(t), types[k]) == 0) return types[k];
    }
    return NULL;
}

/* arg: {"field": name, "info": payload_schema entry}. */
static void apply_create_index(fq_rq_t *rq, fq_collection_t *c, const json_t *arg, uint64_t op)
{
    (void)rq;
    (void)op;
    json_object_set_new(c->payload_schema, json_string_value(json_object_get(arg, "field")),
                        json_deep_copy(json_object_get(arg, "info")));
}

/* arg: the field name. */
static void apply_delete_index(fq_rq_t *rq, fq_collection_t *c, const json_t *arg, uint64_t op)
{
    (void)rq;
    (void)op;
    json_object_del(c->payload_schema, json_string_value(arg));
}

void fq_h_create_index(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    const char *field = NULL;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "CreateFieldIndex") < 0) return;
    int r = fq_get_str(&pc, rq->body, "field_name", &field);
    if (r < 0) return;
    if (r == 1) {
        fq_fmt_error(rq, NULL, "missing field `field_name`");
        return;
    }
    const json_t *schema = json_object_get(rq->body, "field_schema");
    const char *type = schema && !json_is_null(schema) ? index_type(schema) : "keyword";
    if (!type) {
        fq_fmt_error(rq, schema,
                     "data did not match any variant of untagged enum "
                     "PayloadFieldSchema");
        return;
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    json_t *info = json_pack("{s:s}", "data_type", type);
    if (json_is_object(schema) && json_object_size(schema) > 1)
        json_object_set_new(info, "params", json_deep_copy(schema));
    uint64_t op = fq_async_write(rq, c, apply_create_index,
                                 json_pack("{s:s,s:o}", "field", field, "info", info));
    fq_ok(rq, fq_render_update(op, rq->wait));
}

void fq_h_delete_index(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 0) < 0) return;
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    uint64_t op = fq_async_write(rq, c, apply_delete_index, json_string_nocheck(rq->params[1]));
    fq_ok(rq, fq_render_update(op, rq->wait));
}

/* ---- aliases ---------------------------------------------------------------------------- */

static json_t *alias_list(fq_store_t *s, const char *only)
{
    json_t *a = json_array();
    for (size_t k = 0; k < s->naliases; k++) {
        if (only && strcmp(s->aliases[k].collection, only) != 0) continue;
        json_array_append_new(a, json_pack("{s:s,s:s}", "alias_name", s->aliases[k].alias,
                                           "collection_name", s->aliases[k].collection));
    }
    return json_pack("{s:o}", "aliases", a);
}

void fq_h_list_aliases(fq_rq_t *rq)
{
    fq_ok(rq, alias_list(rq->app->store, NULL));
}

void fq_h_collection_aliases(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    if (c) fq_ok(rq, alias_list(rq->app->store, c->name));
}

/* Kind of one alias action: 1 create, 2 delete, 3 rename, 0 malformed. */
static int alias_action_kind(const json_t *a, const char **x, const char **y)
{
    const json_t *o;
    if ((o = json_object_get(a, "create_alias"))) {
        *x = json_string_value(json_object_get(o, "collection_name"));
        *y = json_string_value(json_object_get(o, "alias_name"));
        return *x && *y ? 1 : 0;
    }
    if ((o = json_object_get(a, "delete_alias"))) {
        *x = json_string_value(json_object_get(o, "alias_name"));
        return *x ? 2 : 0;
    }
    if ((o = json_object_get(a, "rename_alias"))) {
        *x = json_string_value(json_object_get(o, "old_alias_name"));
        *y = json_string_value(json_object_get(o, "new_alias_name"));
        return *x && *y ? 3 : 0;
    }
    return 0;
}

static int apply_alias_action(fq_rq_t *rq, int kind, const char *x, const char *y)
{
    fq_store_t *s = rq->app->store;
    if (kind == 1) {
        if (!fq_store_get(s, x)) {
            fq_not_found_collection(rq, x);
            return -1;
        }
        if (fq_store_get(s, y)) {
            fq_fail(rq, 409, "Wrong input: Collection `%s` already exists!", y);
            return -1;
        }
        fq_alias_set(s, y, x);
    } else if (kind == 2) {
        fq_alias_delete(s, x);
    } else {
        const char *target = fq_alias_target(s, x);
        if (!target) {
            fq_fail(rq, 404, "Not found: Alias %s does not exists!", x);
            return -1;
        }
        char *t = strdup(target);
        fq_alias_delete(s, x);
        fq_alias_set(s, y, t);
        free(t);
    }
    return 0;
}

void fq_h_update_aliases(fq_rq_t *rq)
{
    fq_pctx_t pc = {rq, NULL, 1};
    json_t *actions = NULL;
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "ChangeAliasesOperation") < 0)
        return;
    int r = fq_get_array(&pc, rq->body, "actions", &actions);
    if (r < 0) return;
    if (r == 1) {
        fq_fmt_error(rq, NULL, "missing field `actions`");
        return;
    }
    const char *x, *y;
    for (size_t k = 0; k < json_array_size(actions); k++) {
        json_t *a = json_array_get(actions, k);
        if (!alias_action_kind(a, &x, &y)) {
            fq_fmt_error(rq, a, "data did not match any variant of untagged enum AliasOperations");
            return;
        }
    }
    for (size_t k = 0; k < json_array_size(actions); k++) {
        int kind = alias_action_kind(json_array_get(actions, k), &x, &y);
        if (apply_alias_action(rq, kind, x, y) < 0) return;
    }
    fq_ok(rq, json_true());
}

/* ---- named vectors (PUT / DELETE /collections/{c}/vectors/{name}) ---------------------- */

static json_t *sparse_config(fq_collection_t *c)
{
    json_t *params = json_object_get(c->config, "params");
    if (!json_is_object(json_object_get(params, "sparse_vectors")))
        json_object_set_new(params, "sparse_vectors", json_object());
    return json_object_get(params, "sparse_vectors");
}

static const json_t *sparse_get(const fq_collection_t *c, const char *name)
{
    return json_object_get(json_object_get(json_object_get(c->config, "params"), "sparse_vectors"),
                           name);
}

/* Shared start of both routes: query, vector name, collection. NULL when answered. */
static fq_collection_t *vector_name_target(fq_rq_t *rq)
{
    const char *name = rq->params[1];
    if (fq_parse_common_query(rq, 0) < 0) return NULL;
    if (!*name || strlen(name) > 255) {
        fq_fail0(rq, 422,
                 "Validation error in path parameters: [vector_name: length must be between 1 "
                 "and 255]");
        return NULL;
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (c) fq_async_flush(c); /* a schema change waits for the queued writes, like Qdrant's */
    return c;
}

void fq_h_create_vector_name(fq_rq_t *rq)
{
    const char *name = rq->params[1];
    const json_t *b = rq->body, *dense = json_object_get(b, "dense");
    const json_t *sparse = json_object_get(b, "sparse");
    fq_vparam_t vp = {0};
    if (!json_is_object(b) || json_object_size(b) != 1 ||
        !(json_is_object(dense) || json_is_object(sparse))) {
        fq_fmt_error(rq, b, "data did not match any variant of untagged enum VectorNameConfig");
        return;
    }
    char path[300];
    snprintf(path, sizeof(path), "dense");
    if (dense) {
        int r = parse_vparam(rq, name, dense, &vp, path);
        if (r > 0)
            fq_fmt_error(rq, b, "data did not match any variant of untagged enum VectorNameConfig");
        if (r) return;
    }
    fq_collection_t *c = vector_name_target(rq);
    int exists = c && (fq_col_vslot(c, name) >= 0 || sparse_get(c, name));
    if (c && !c->named && c->nvp == 1) {
        fq_fail(rq, 400,
                "Wrong input: fake_qdrant does not support adding named vectors to a collection "
                "with an unnamed vector");
    } else if (exists) {
        fq_fail(rq, 400, "Wrong input: Vector name %s already exists", name);
    }
    if (!c || exists || (!c->named && c->nvp == 1)) {
        free(vp.name);
        json_decref(vp.params);
        return;
    }
    if (dense)
        fq_col_add_vector(c, vp);
    else
        json_object_set_new(sparse_config(c), name, json_deep_copy(sparse));
    fq_ok(rq, fq_render_update(c->next_op++, rq->wait));
}

void fq_h_delete_vector_name(fq_rq_t *rq)
{
    const char *name = rq->params[1];
    fq_collection_t *c = vector_name_target(rq);
    if (!c) return;
    int slot = fq_col_vslot(c, name);
    if (slot >= 0 && c->named) {
        fq_col_drop_vector(c, slot);
    } else if (sparse_get(c, name)) {
        json_object_del(sparse_config(c), name);
    } else {
        fq_fail(rq, 400, "Wrong input: Not existing vector name error: %s", name);
        return;
    }
    fq_ok(rq, fq_render_update(c->next_op++, rq->wait));
}
