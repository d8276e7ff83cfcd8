/* Tenant rewrites of filters and read bodies; see tenant.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway/auth/tenant_int.h"

static int vfill(tn_ctx_t *x, int status, const char *pre, const char *fmt, va_list ap)
{
    int n = snprintf(x->msg, x->cap, "%s", pre);
    if (n >= 0 && (size_t)n < x->cap) vsnprintf(x->msg + n, x->cap - (size_t)n, fmt, ap);
    x->status = status;
    return -1;
}

int tn_forbid(tn_ctx_t *x, const char *fmt, ...)
{
    char pre[GW_TENANT_FIELD_MAX + 64];
    snprintf(pre, sizeof(pre), "Forbidden: tenant-bound credential (%s): ", x->t->field);
    va_list ap;
    va_start(ap, fmt);
    vfill(x, 403, pre, fmt, ap);
    va_end(ap);
    return -1;
}

int tn_bad(tn_ctx_t *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(x, 400, "Format error in JSON body: ", fmt, ap);
    va_end(ap);
    return -1;
}

int tn_names_field(const tn_ctx_t *x, const char *key)
{
    size_t n;
    if (key[0] == '"') { /* a quoted first segment: "group_id".x */
        const char *q = strchr(key + 1, '"');
        key++;
        n = q ? (size_t)(q - key) : strlen(key);
    } else {
        n = strcspn(key, ".[");
    }
    return n == strlen(x->t->field) && memcmp(key, x->t->field, n) == 0;
}

json_t *tn_condition(const tn_ctx_t *x)
{
    return json_pack("{s:s, s:{s:s}}", "key", x->t->field, "match", "value", x->t->value);
}

/* {"key": field, "match": {"value": value}} exactly: the tenant's own condition, allowed. */
static int is_bound_match(const tn_ctx_t *x, json_t *c)
{
    json_t *k = json_object_get(c, "key"), *m = json_object_get(c, "match");
    json_t *v = json_object_get(m, "value");
    return json_object_size(c) == 2 && json_is_string(k) &&
           strcmp(json_string_value(k), x->t->field) == 0 && json_object_size(m) == 1 &&
           json_is_string(v) && strcmp(json_string_value(v), x->t->value) == 0;
}

static int check_key_of(tn_ctx_t *x, json_t *obj, const char *what)
{
    json_t *k = json_object_get(obj, "key");
    if (k && !json_is_null(k) && !json_is_string(k))
        return tn_bad(x, "%s: key must be a string", what);
    if (json_is_string(k) && tn_names_field(x, json_string_value(k)))
        return tn_forbid(x, "a %s condition on the tenant field is not allowed", what);
    return 0;
}

static int check_filter(tn_ctx_t *x, json_t *f, int depth, int neg);

/* neg: under a must_not, where even the tenant's own match is refused. */
static int check_cond(tn_ctx_t *x, json_t *c, int depth, int neg)
{
    if (!json_is_object(c)) return tn_bad(x, "filter condition: expected an object");
    json_t *k = json_object_get(c, "key");
    if (k && !json_is_null(k) && !json_is_string(k))
        return tn_bad(x, "filter condition: key must be a string");
    if (json_is_string(k) && tn_names_field(x, json_string_value(k)) &&
        (neg || !is_bound_match(x, c)))
        return tn_forbid(x, "the filter may not name the tenant field other than as its own "
                            "match");
    static const char *const keyed[] = {"is_empty", "is_null", "nested"};
    for (size_t i = 0; i < sizeof(keyed) / sizeof(*keyed); i++) {
        json_t *o = json_object_get(c, keyed[i]);
        if (o && !json_is_null(o) && check_key_of(x, o, keyed[i]) != 0) return -1;
    }
    /* A condition may itself be a filter (must/should/must_not/min_should). */
    return check_filter(x, c, depth + 1, neg);
}

static int check_clause(tn_ctx_t *x, json_t *v, const char *name, int depth, int neg)
{
    if (!v || json_is_null(v)) return 0;
    if (json_is_object(v)) return check_cond(x, v, depth, neg);
    if (!json_is_array(v)) return tn_bad(x, "filter %s: expected a condition or a list", name);
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c) if (check_cond(x, c, depth, neg) != 0) return -1;
    return 0;
}

static int check_filter(tn_ctx_t *x, json_t *f, int depth, int neg)
{
    if (!f || json_is_null(f)) return 0;
    if (!json_is_object(f)) return tn_bad(x, "filter: expected an object");
    if (depth > GW_TENANT_MAX_DEPTH) return tn_forbid(x, "the filter is nested too deeply");
    static const char *const clauses[] = {"must", "should", "must_not"};
    for (size_t i = 0; i < 3; i++)
        if (check_clause(x, json_object_get(f, clauses[i]), clauses[i], depth, neg || i == 2) != 0)
            return -1;
    json_t *ms = json_object_get(f, "min_should");
    if (ms && !json_is_null(ms)) {
        if (!json_is_object(ms)) return tn_bad(x, "filter min_should: expected an object");
        if (check_clause(x, json_object_get(ms, "conditions"), "min_should", depth, neg) != 0)
            return -1;
    }
    return 0;
}

int tn_check_filter(tn_ctx_t *x, json_t *f, int depth)
{
    return check_filter(x, f, depth, 0);
}

int tn_inject(tn_ctx_t *x, json_t *obj, const char *name)
{
    json_t *f = json_object_get(obj, name);
    if (!f || json_is_null(f)) {
        json_t *nf = json_pack("{s:[o]}", "must", tn_condition(x));
        if (!nf || json_object_set_new(obj, name, nf) != 0) return tn_bad(x, "out of memory");
        return 0;
    }
    if (!json_is_object(f)) return tn_bad(x, "%s: expected an object", name);
    if (tn_check_filter(x, f, 0) != 0) return -1;
    json_t *must = json_object_get(f, "must"), *cond = tn_condition(x);
    int rc;
    if (!must || json_is_null(must))
        rc = json_object_set_new(f, "must", json_pack("[o]", cond));
    else if (json_is_object(must))
        rc = json_object_set_new(f, "must", json_pack("[O,o]", must, cond));
    else
        rc = json_array_append_new(must, cond);
    return rc ? tn_bad(x, "out of memory") : 0;
}

/* ---- read bodies ---------------------------------------------------------------------------- */

/* A vector input that is a point id (integer or UUID string) reads another point's vector,
 * which may be another tenant's: refused. Vectors (arrays, sparse, documents) pass. */
static int example_ok(tn_ctx_t *x, json_t *v, const char *what)
{
    if (json_is_integer(v) || json_is_string(v))
        return tn_forbid(x, "%s by point id cannot be checked against the tenant; pass vectors",
                         what);
    return 0;
}

static int examples_ok(tn_ctx_t *x, json_t *list, const char *what)
{
    if (!list || json_is_null(list)) return 0;
    if (!json_is_array(list)) return example_ok(x, list, what);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (example_ok(x, v, what) != 0) return -1;
    return 0;
}

static int no_member(tn_ctx_t *x, json_t *b, const char *name, const char *why)
{
    json_t *v = json_object_get(b, name);
    if (v && !json_is_null(v)) return tn_forbid(x, "%s %s", name, why);
    return 0;
}

/* Context pairs: one {positive, negative} or a list of them. */
static int context_ok(tn_ctx_t *x, json_t *ctx, const char *what)
{
    if (!ctx || json_is_null(ctx)) return 0;
    if (json_is_object(ctx))
        ctx = json_pack("[O]", ctx);
    else
        json_incref(ctx);
    int rc = 0;
    if (!json_is_array(ctx)) {
        rc = tn_bad(x, "context: expected a list of pairs");
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(ctx, i, p)
        {
            json_t *pos = json_object_get(p, "positive"), *neg = json_object_get(p, "negative");
            if ((pos && example_ok(x, pos, what) != 0) || (neg && example_ok(x, neg, what) != 0)) {
                rc = -1;
                break;
            }
        }
    }
    json_decref(ctx);
    return rc;
}

int tn_search(tn_ctx_t *x, json_t *b)
{
    if (no_member(x, b, "with_lookup", "reads another collection by id: not allowed") != 0)
        return -1;
    return tn_inject(x, b, "filter");
}

int tn_recommend(tn_ctx_t *x, json_t *b)
{
    if (no_member(x, b, "lookup_from", "reads another collection's points: not allowed") ||
        examples_ok(x, json_object_get(b, "positive"), "recommend") ||
        examples_ok(x, json_object_get(b, "negative"), "recommend"))
        return -1;
    return tn_search(x, b);
}

int tn_discover(tn_ctx_t *x, json_t *b)
{
    json_t *target = json_object_get(b, "target");
    if (no_member(x, b, "lookup_from", "reads another collection's points: not allowed") ||
        (target && !json_is_null(target) && example_ok(x, target, "discover")) ||
        context_ok(x, json_object_get(b, "context"), "discover"))
        return -1;
    return tn_search(x, b);
}

/* The query of a QueryRequest or Prefetch (QueryInterface). */
static int query_ok(tn_ctx_t *x, json_t *q)
{
    if (!q || json_is_null(q) || json_is_array(q)) return 0;
    if (!json_is_object(q)) return example_ok(x, q, "query");
    json_t *n = json_object_get(q, "nearest"), *r = json_object_get(q, "recommend"),
           *d = json_object_get(q, "discover");
    if (n && example_ok(x, n, "nearest")) return -1;
    if (r && (examples_ok(x, json_object_get(r, "positive"), "recommend") ||
              examples_ok(x, json_object_get(r, "negative"), "recommend")))
        return -1;
    if (d) {
        json_t *t = json_object_get(d, "target");
        if ((t && !json_is_null(t) && example_ok(x, t, "discover")) ||
            context_ok(x, json_object_get(d, "context"), "discover"))
            return -1;
    }
    return context_ok(x, json_object_get(q, "context"), "context");
}

static int prefetch_walk(tn_ctx_t *x, json_t *p, int depth)
{
    if (!json_is_object(p)) return tn_bad(x, "prefetch: expected an object");
    if (depth > GW_TENANT_MAX_DEPTH) return tn_forbid(x, "prefetches are nested too deeply");
    if (no_member(x, p, "lookup_from", "reads another collection's points: not allowed") ||
        query_ok(x, json_object_get(p, "query")) || tn_inject(x, p, "filter"))
        return -1;
    json_t *sub = json_object_get(p, "prefetch");
    if (!sub || json_is_null(sub)) return 0;
    if (json_is_object(sub)) return prefetch_walk(x, sub, depth + 1);
    if (!json_is_array(sub)) return tn_bad(x, "prefetch: expected an object or a list");
    size_t i;
    json_t *e;
    json_array_foreach(sub, i, e) if (prefetch_walk(x, e, depth + 1) != 0) return -1;
    return 0;
}

int tn_query(tn_ctx_t *x, json_t *b)
{
    if (no_member(x, b, "with_lookup", "reads another collection by id: not allowed") != 0)
        return -1;
    return prefetch_walk(x, b, 0);
}

int tn_batch(tn_ctx_t *x, json_t *b, int (*fn)(tn_ctx_t *, json_t *))
{
    json_t *s = json_object_get(b, "searches");
    if (!json_is_array(s)) return tn_bad(x, "searches: expected a list");
    size_t i;
    json_t *e;
    json_array_foreach(s, i, e)
    {
        if (!json_is_object(e)) return tn_bad(x, "searches[%zu]: expected an object", i);
        if (fn(x, e) != 0) return -1;
    }
    return 0;
}
