/* Cluster-level routes of fake_qdrant: issues clearing, cluster telemetry, peer recovery and
 * removal, quotas, collection cluster updates, shard keys and optimization progress. Standalone
 * Qdrant answers the consensus operations with 400 "Distributed mode disabled"; with
 * --distributed 1 the fake acts as a one-peer cluster for shard keys. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_handlers.h"

#define PEER_ID 5734189315432109ULL

void fq_h_clear_issues(fq_rq_t *rq)
{
    fq_ok(rq, json_true());
}

/* ?timeout= (>= 1) and ?details_level= (integer). -1 when answered. */
static int telemetry_query(fq_rq_t *rq)
{
    char *d = fq_query_param(rq, "details_level");
    int bad = 0;
    if (d) {
        char *end;
        errno = 0;
        (void)strtoll(d, &end, 10);
        bad = !*d || *end || errno;
    }
    if (bad)
        fq_fail0(rq, 400, "Deserialize error in query parameters: invalid digit found in string");
    free(d);
    return bad ? -1 : fq_parse_common_query(rq, 0);
}

void fq_h_cluster_telemetry(fq_rq_t *rq)
{
    if (telemetry_query(rq) < 0) return;
    json_t *cols = json_object();
    fq_store_t *s = rq->app->store;
    for (size_t k = 0; k < s->ncols; k++) {
        const fq_collection_t *c = s->cols[k];
        json_object_set_new(cols, c->name,
                            json_pack("{s:s,s:[],s:[],s:[]}", "id", c->name, "shards",
                                      "reshardings", "shard_transfers"));
    }
    fq_ok(rq, json_pack("{s:o,s:n}", "collections", cols, "cluster"));
}

static int distributed(const fq_rq_t *rq)
{
    return rq->app->opt.distributed;
}

void fq_h_recover_peer(fq_rq_t *rq)
{
    if (!distributed(rq)) {
        fq_fail(rq, 405, "Qdrant is running in standalone mode");
        return;
    }
    fq_ok(rq, json_true());
}

void fq_h_remove_peer(fq_rq_t *rq)
{
    const char *id = rq->params[0];
    char *end;
    errno = 0;
    unsigned long long peer = strtoull(id, &end, 10);
    if (!*id || *end || errno || *id == '-' || *id == '+') {
        fq_reply_empty(rq, 404); /* actix: the u64 path segment does not parse */
        return;
    }
    char *f = fq_query_param(rq, "force");
    int bad = f && strcmp(f, "true") != 0 && strcmp(f, "false") != 0;
    free(f);
    if (bad) {
        fq_fail0(rq, 400,
                 "Deserialize error in query parameters: provided string was not "
                 "`true` or `false`");
        return;
    }
    if (fq_parse_common_query(rq, 0) < 0) return;
    if (!distributed(rq))
        fq_fail(rq, 400, "Bad request: Distributed mode disabled.");
    else if (peer == PEER_ID)
        fq_fail(rq, 400, "Bad request: Cannot remove peer %llu as there are shards on it", peer);
    else
        fq_fail(rq, 400, "Bad request: Peer %llu does not exist", peer);
}

/* ---- quotas ---- */

static json_t *quota_config(fq_store_t *s)
{
    return s->quotas ? json_deep_copy(s->quotas) : json_pack("{s:b}", "enabled", 0);
}

void fq_h_get_quotas(fq_rq_t *rq)
{
    fq_ok(rq, json_pack("{s:o,s:{s:i,s:i}}", "config", quota_config(rq->app->store), "usage",
                        "resident_memory_percent", 1, "disk_usage_percent", 10));
}

void fq_h_update_quotas(fq_rq_t *rq)
{
    static const char *const pct[] = {"max_resident_memory_percent", "max_disk_usage_percent",
                                      "release_margin_percent"};
    fq_pctx_t pc = {rq, NULL, 1};
    int enabled = 0;
    uint64_t v[3];
    int has[3];
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "QuotaConfig") < 0 ||
        fq_get_bool(&pc, rq->body, "enabled", &enabled) < 0)
        return;
    for (int k = 0; k < 3; k++) {
        int r = fq_get_uint(&pc, rq->body, pct[k], "u8", &v[k]);
        if (r < 0) return;
        has[k] = r == 0;
        if (has[k] && v[k] > 255) {
            fq_fmt_error(rq, json_object_get(rq->body, pct[k]),
                         "invalid value: integer `%llu`, expected u8", (unsigned long long)v[k]);
            return;
        }
    }
    for (int k = 0; k < 3; k++) {
        uint64_t lo = k == 2 ? 0 : 1;
        if (has[k] && (v[k] < lo || v[k] > 100)) {
            fq_validation_error(rq, "%s: value %llu invalid, must be from %llu to 100", pct[k],
                                (unsigned long long)v[k], (unsigned long long)lo);
            return;
        }
    }
    json_t *cfg = json_pack("{s:b}", "enabled", enabled);
    for (int k = 0; k < 3; k++)
        if (has[k]) json_object_set_new(cfg, pct[k], json_integer((json_int_t)v[k]));
    json_decref(rq->app->store->quotas);
    rq->app->store->quotas = cfg;
    fq_ok(rq, json_true());
}

/* ---- shard keys ---- */

static int custom_sharding(const fq_collection_t *c)
{
    const json_t *m = json_object_get(json_object_get(c->config, "params"), "sharding_method");
    return json_is_string(m) && strcmp(json_string_value(m), "custom") == 0;
}

static int shard_key_index(const fq_collection_t *c, const json_t *key)
{
    for (size_t k = 0; k < json_array_size(c->shard_keys); k++)
        if (json_equal(json_array_get(c->shard_keys, k), (json_t *)key)) return (int)k;
    return -1;
}

static void key_text(const json_t *key, char *buf, size_t len)
{
    if (json_is_string(key))
        snprintf(buf, len, "%s", json_string_value(key));
    else
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(key));
}

/* Parses {"shard_key":…} (plus the create-only fields); returns the key (borrowed) or NULL when
 * answered. */
static const json_t *parse_shard_key(fq_rq_t *rq, const json_t *o, int create)
{
    fq_pctx_t pc = {rq, NULL, 1};
    const json_t *key = json_object_get(o, "shard_key");
    if (!key) {
        fq_missing(&pc, o, "shard_key");
        return NULL;
    }
    if (!json_is_string(key) && !(json_is_integer(key) && json_integer_value(key) >= 0)) {
        fq_fmt_error(rq, key, "data did not match any variant of untagged enum ShardKey");
        return NULL;
    }
    static const char *const nums[] = {"shards_number", "replication_factor"};
    for (int k = 0; create && k < 2; k++) {
        uint64_t v;
        int r = fq_get_uint(&pc, o, nums[k], "u32", &v);
        if (r < 0) return NULL;
        if (r == 0 && v < 1) {
            fq_validation_error(rq, "%s: value %llu invalid, must be 1 or larger", nums[k],
                                (unsigned long long)v);
            return NULL;
        }
    }
    return key;
}

/* Applies a create / drop of a shard key on the collection of rq->params[0]. */
static void shard_key_op(fq_rq_t *rq, const json_t *o, int create)
{
    const json_t *key = parse_shard_key(rq, o, create);
    if (!key) return;
    if (!distributed(rq)) {
        fq_fail(rq, 400, "Bad request: Distributed mode disabled");
        return;
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    char text[128];
    key_text(key, text, sizeof(text));
    if (!custom_sharding(c)) {
        fq_fail(rq, 400, "Bad request: Shard key %s can not be used with auto sharding method",
                text);
        return;
    }
    int idx = shard_key_index(c, key);
    if (create && idx >= 0) {
        fq_fail(rq, 400, "Bad request: Shard key %s already exists", text);
        return;
    }
    if (!create && idx < 0) {
        fq_fail(rq, 404, "Not found: Shard key %s not found", text);
        return;
    }
    if (!c->shard_keys) c->shard_keys = json_array();
    if (create)
        json_array_append(c->shard_keys, (json_t *)key);
    else
        json_array_remove(c->shard_keys, (size_t)idx);
    fq_ok(rq, json_true());
}

void fq_h_create_shard_key(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 0) == 0 && fq_body_object(rq, "CreateShardingKey") == 0)
        shard_key_op(rq, rq->body, 1);
}

void fq_h_delete_shard_key(fq_rq_t *rq)
{
    if (fq_parse_common_query(rq, 0) == 0 && fq_body_object(rq, "DropShardingKey") == 0)
        shard_key_op(rq, rq->body, 0);
}

void fq_h_list_shard_keys(fq_rq_t *rq)
{
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    json_t *keys = json_null();
    if (custom_sharding(c)) {
        keys = json_array();
        for (size_t k = 0; k < json_array_size(c->shard_keys); k++)
            json_array_append_new(keys,
                                  json_pack("{s:O}", "key", json_array_get(c->shard_keys, k)));
    }
    fq_ok(rq, json_pack("{s:o}", "shard_keys", keys));
}

/* POST /collections/{c}/cluster: a ClusterOperations object with exactly one operation. */
void fq_h_update_collection_cluster(fq_rq_t *rq)
{
    static const char *const ops[] = {"move_shard",       "replicate_shard",  "abort_transfer",
                                      "drop_replica",     "restart_transfer", "start_resharding",
                                      "abort_resharding", "replicate_points", "create_sharding_key",
                                      "drop_sharding_key"};
    if (fq_parse_common_query(rq, 0) < 0 || fq_body_object(rq, "ClusterOperations") < 0) return;
    const char *name = NULL;
    json_t *arg = NULL;
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        json_t *x = json_object_get(rq->body, ops[k]);
        if (x && json_object_size(rq->body) == 1) name = ops[k], arg = x;
    }
    if (!name || !json_is_object(arg)) {
        fq_fmt_error(rq, NULL, "data did not match any variant of untagged enum ClusterOperations");
        return;
    }
    if (strcmp(name, "create_sharding_key") == 0 || strcmp(name, "drop_sharding_key") == 0) {
        shard_key_op(rq, arg, name[0] == 'c');
        return;
    }
    if (!distributed(rq)) {
        fq_fail(rq, 400, "Bad request: Distributed mode disabled");
        return;
    }
    if (fq_rq_collection(rq))
        fq_fail(rq, 400, "Wrong input: fake_qdrant does not support the cluster operation %s",
                name);
}

/* ---- optimizations ---- */

void fq_h_get_optimizations(fq_rq_t *rq)
{
    char *with = fq_query_param(rq, "with"), *lim = fq_query_param(rq, "completed_limit");
    int q = 0, done = 0, idle = 0, bad = 0;
    for (char *tok = with ? strtok(with, ",") : NULL; tok && !bad; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "queued") == 0)
            q = 1;
        else if (strcmp(tok, "completed") == 0)
            done = 1;
        else if (strcmp(tok, "idle_segments") == 0)
            idle = 1;
        else
            bad = 1;
    }
    if (lim) {
        char *end;
        errno = 0;
        (void)strtoull(lim, &end, 10);
        bad |= !*lim || *end || errno || *lim == '-';
    }
    free(with);
    free(lim);
    if (bad) {
        fq_fail0(rq, 400,
                 "Deserialize error in query parameters: with: unknown value, expected "
                 "queued, completed or idle_segments; completed_limit: a usize");
        return;
    }
    fq_collection_t *c = fq_rq_collection(rq);
    if (!c) return;
    json_t *out =
        json_pack("{s:{s:i,s:i,s:i,s:i},s:[]}", "summary", "queued_optimizations", 0,
                  "queued_segments", 0, "queued_points", 0, "idle_segments", 1, "running");
    if (q) json_object_set_new(out, "queued", json_array());
    if (done) json_object_set_new(out, "completed", json_array());
    if (idle) {
        char uuid[64];
        snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012llx",
                 (unsigned)(strlen(c->name) * 2654435761u), (unsigned long long)c->next_op);
        json_object_set_new(
            out, "idle_segments",
            json_pack("[{s:s,s:I}]", "uuid", uuid, "points_count", (json_int_t)c->npts));
    }
    fq_ok(rq, out);
}
