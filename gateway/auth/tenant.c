/* Tenant enforcement: the route policy and the write rewrites; see tenant.h. */
#include "gateway/auth/tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth/tenant_int.h"

int gw_tenant_valid(const char *field, const char *value, char *msg, size_t cap)
{
    size_t fl = strlen(field), vl = strlen(value);
    if (fl == 0 || fl > GW_TENANT_FIELD_MAX ||
        strspn(field, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != fl) {
        snprintf(msg, cap, "tenant field must be 1 to %d of [A-Za-z0-9_-]", GW_TENANT_FIELD_MAX);
        return -1;
    }
    json_t *s = vl ? json_stringn(value, vl) : NULL; /* NULL unless valid UTF-8 */
    if (!s || vl > GW_TENANT_VALUE_MAX) {
        snprintf(msg, cap, "tenant value must be 1 to %d bytes of UTF-8", GW_TENANT_VALUE_MAX);
        json_decref(s);
        return -1;
    }
    json_decref(s);
    return 0;
}

/* ---- writes --------------------------------------------------------------------------------- */

/* A payload written for the tenant: its field, when set (always for `required`), must be the
 * tenant's value, as a string. */
static int payload_ok(tn_ctx_t *x, json_t *p, int required, const char *what)
{
    if (!json_is_object(p)) {
        if (!required && (!p || json_is_null(p))) return 0;
        return required ? tn_forbid(x, "%s: the payload must set %s to the tenant's value", what,
                                    x->t->field)
                        : tn_bad(x, "%s: payload must be an object", what);
    }
    json_t *v = json_object_get(p, x->t->field);
    if (!v && !required) return 0;
    if (!v)
        return tn_forbid(x, "%s: the payload must set %s to the tenant's value", what, x->t->field);
    if (!json_is_string(v) || strcmp(json_string_value(v), x->t->value) != 0)
        return tn_forbid(x, "%s: the payload may set %s only to the tenant's value", what,
                         x->t->field);
    return 0;
}

static int upsert(tn_ctx_t *x, json_t *b)
{
    json_t *pts = json_object_get(b, "points"), *batch = json_object_get(b, "batch");
    size_t i;
    json_t *e;
    if (json_is_array(pts)) {
        json_array_foreach(pts, i, e)
        {
            if (!json_is_object(e)) return tn_bad(x, "points[%zu]: expected an object", i);
            char what[48];
            snprintf(what, sizeof(what), "points[%zu]", i);
            if (payload_ok(x, json_object_get(e, "payload"), 1, what) != 0) return -1;
        }
    } else if (json_is_object(batch)) {
        json_t *ids = json_object_get(batch, "ids"), *pl = json_object_get(batch, "payloads");
        if (!json_is_array(ids)) return tn_bad(x, "batch.ids: expected a list");
        if (!json_is_array(pl) || json_array_size(pl) != json_array_size(ids))
            return tn_forbid(x, "batch: every point needs a payload with %s", x->t->field);
        json_array_foreach(pl, i, e)
        {
            char what[48];
            snprintf(what, sizeof(what), "batch.payloads[%zu]", i);
            if (payload_ok(x, e, 1, what) != 0) return -1;
        }
    } else {
        return tn_bad(x, "expected points or batch");
    }
    /* Existing points are overwritten only when they are the tenant's own. */
    return tn_inject(x, b, "update_filter");
}

/* points or filter (PointsSelector and the selectors of payload and vector updates): ids
 * become a has_id filter with the tenant, so only the tenant's points among them change. */
static int selector(tn_ctx_t *x, json_t *b)
{
    json_t *pts = json_object_get(b, "points"), *f = json_object_get(b, "filter");
    int has_p = pts && !json_is_null(pts), has_f = f && !json_is_null(f);
    if (has_p && has_f) return tn_forbid(x, "points and filter together: send one of them");
    if (!has_p && !has_f) return tn_bad(x, "expected points or filter");
    if (has_f) return tn_inject(x, b, "filter");
    if (!json_is_array(pts)) return tn_bad(x, "points: expected a list of point ids");
    json_t *nf = json_pack("{s:[{s:O},o]}", "must", "has_id", pts, tn_condition(x));
    if (!nf || json_object_set_new(b, "filter", nf) != 0) return tn_bad(x, "out of memory");
    json_object_del(b, "points");
    return 0;
}

static int set_payload_common(tn_ctx_t *x, json_t *b, int overwrite)
{
    json_t *key = json_object_get(b, "key");
    if (key && !json_is_null(key)) {
        if (!json_is_string(key)) return tn_bad(x, "key: expected a string");
        if (tn_names_field(x, json_string_value(key)))
            return tn_forbid(x, "setting payload under the tenant field is not allowed");
        if (!json_is_object(json_object_get(b, "payload")))
            return tn_bad(x, "payload must be an object");
    } else if (!json_is_object(json_object_get(b, "payload")) && !overwrite) {
        return tn_bad(x, "payload must be an object");
    } else if (payload_ok(x, json_object_get(b, "payload"), overwrite, "payload") != 0) {
        return -1;
    }
    return selector(x, b);
}

static int set_payload(tn_ctx_t *x, json_t *b)
{
    return set_payload_common(x, b, 0);
}

static int overwrite_payload(tn_ctx_t *x, json_t *b)
{
    return set_payload_common(x, b, 1);
}

static int delete_payload(tn_ctx_t *x, json_t *b)
{
    json_t *keys = json_object_get(b, "keys");
    if (!json_is_array(keys)) return tn_bad(x, "keys: expected a list");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (!json_is_string(k)) return tn_bad(x, "keys[%zu]: expected a string", i);
        if (tn_names_field(x, json_string_value(k)))
            return tn_forbid(x, "deleting the tenant field is not allowed");
    }
    return selector(x, b);
}

static int clear_payload(tn_ctx_t *x, json_t *b)
{
    (void)b;
    return tn_forbid(x, "clearing payloads would remove the tenant field; delete other keys");
}

static int update_vectors(tn_ctx_t *x, json_t *b)
{
    if (!json_is_array(json_object_get(b, "points"))) return tn_bad(x, "points: expected a list");
    return tn_inject(x, b, "update_filter"); /* only the tenant's points change */
}

typedef int (*rewrite_fn)(tn_ctx_t *, json_t *);

static const struct {
    const char *name;
    rewrite_fn fn;
} batch_ops[] = {
    {"upsert", upsert},
    {"delete", selector},
    {"set_payload", set_payload},
    {"overwrite_payload", overwrite_payload},
    {"delete_payload", delete_payload},
    {"clear_payload", clear_payload},
    {"update_vectors", update_vectors},
    {"delete_vectors", selector},
};

static int batch_update(tn_ctx_t *x, json_t *b)
{
    json_t *ops = json_object_get(b, "operations");
    if (!json_is_array(ops)) return tn_bad(x, "operations: expected a list");
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        if (!json_is_object(op) || json_object_size(op) != 1)
            return tn_bad(x, "operations[%zu]: expected an object of one operation", i);
        const char *name = json_object_iter_key(json_object_iter(op));
        json_t *arg = json_object_get(op, name);
        size_t k = 0;
        while (k < sizeof(batch_ops) / sizeof(*batch_ops) && strcmp(batch_ops[k].name, name))
            k++;
        if (k == sizeof(batch_ops) / sizeof(*batch_ops))
            return tn_forbid(x, "operations[%zu]: %s cannot be checked", i, name);
        if (!json_is_object(arg))
            return tn_bad(x, "operations[%zu].%s: expected an object", i, name);
        if (batch_ops[k].fn(x, arg) != 0) return -1;
    }
    return 0;
}

/* ---- the routes ----------------------------------------------------------------------------- */

static int search_batch(tn_ctx_t *x, json_t *b)
{
    return tn_batch(x, b, tn_search);
}
static int query_batch(tn_ctx_t *x, json_t *b)
{
    return tn_batch(x, b, tn_query);
}
static int recommend_batch(tn_ctx_t *x, json_t *b)
{
    return tn_batch(x, b, tn_recommend);
}
static int discover_batch(tn_ctx_t *x, json_t *b)
{
    return tn_batch(x, b, tn_discover);
}

/* Every route a tenant-bound credential may use: rewritten (fn) or passed (NULL). */
static const struct {
    const char *op;
    rewrite_fn fn;
} routes[] = {
    {"search_points", tn_search},
    {"search_point_groups", tn_search},
    {"search_matrix_pairs", tn_search},
    {"search_matrix_offsets", tn_search},
    {"search_batch_points", search_batch},
    {"query_points", tn_query},
    {"query_points_groups", tn_query},
    {"query_batch_points", query_batch},
    {"recommend_points", tn_recommend},
    {"recommend_point_groups", tn_recommend},
    {"recommend_batch_points", recommend_batch},
    {"discover_points", tn_discover},
    {"discover_batch_points", discover_batch},
    {"facet", tn_search},
    {"scroll_points", tn_search},
    {"count_points", tn_search},
    {"upsert_points", upsert},
    {"delete_points", selector},
    {"update_vectors", update_vectors},
    {"delete_vectors", selector},
    {"set_payload", set_payload},
    {"overwrite_payload", overwrite_payload},
    {"delete_payload", delete_payload},
    {"clear_payload", clear_payload},
    {"batch_update", batch_update},
    /* nothing of any tenant's in these */
    {"root", NULL},
    {"healthz", NULL},
    {"livez", NULL},
    {"readyz", NULL},
    {"get_collections", NULL},
    {"get_collections_aliases", NULL},
    {"collection_exists", NULL},
    {"get_collection_aliases", NULL},
};

static int route_index(const char *op)
{
    for (size_t i = 0; op && i < sizeof(routes) / sizeof(*routes); i++)
        if (strcmp(routes[i].op, op) == 0) return (int)i;
    return -1;
}

gw_tenant_policy_t gw_tenant_policy(const char *op, const gw_tenant_t *t, char *msg, size_t cap)
{
    int i = route_index(op);
    if (i >= 0) return routes[i].fn ? GW_TENANT_REWRITE : GW_TENANT_PASS;
    const char *why = "is not allowed (collection management and other tenants' data)";
    if (!op)
        why = "this path is not known to the gateway's tenant rules";
    else if (!strcmp(op, "get_point") || !strcmp(op, "get_points"))
        why = "retrieving points by id cannot be checked against the tenant; scroll with a "
              "has_id filter";
    else if (!strncmp(op, "local_shard_", 12))
        why = "shard-local point APIs are not allowed";
    if (!op || strchr(why, ';') || !strncmp(op, "local_shard_", 12))
        snprintf(msg, cap, "Forbidden: tenant-bound credential (%s): %s", t->field, why);
    else
        snprintf(msg, cap, "Forbidden: tenant-bound credential (%s): %s %s", t->field, op, why);
    return GW_TENANT_REFUSE;
}

int gw_tenant_rewrite(const char *op, const gw_tenant_t *t, const char *body, size_t len,
                      char **out, size_t *out_len, char *msg, size_t cap)
{
    tn_ctx_t x = {t, msg, cap, 0};
    *out = NULL;
    *out_len = 0;
    int i = route_index(op);
    if (i < 0) {
        gw_tenant_policy(op, t, msg, cap);
        return 403;
    }
    if (!routes[i].fn) {
        snprintf(msg, cap, "Forbidden: tenant-bound credential (%s): %s has no body to rewrite",
                 t->field, op);
        return 403;
    }
    json_error_t e;
    json_t *b = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &e) : json_object();
    if (!b) {
        tn_bad(&x, "%s at line %d column %d", e.text, e.line, e.column);
        return 400;
    }
    int rc = json_is_object(b) ? routes[i].fn(&x, b) : tn_bad(&x, "expected an object");
    if (rc == 0) {
        *out = json_dumps(b, JSON_COMPACT);
        if (!*out)
            rc = tn_bad(&x, "out of memory");
        else
            *out_len = strlen(*out);
    }
    json_decref(b);
    return rc == 0 ? 0 : x.status;
}
