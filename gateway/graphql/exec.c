/* Operation execution without I/O (see exec.h): the operation and its root fields, the Qdrant
 * requests that resolve each root field, and their answers turned into source values. */
#include "gateway/graphql/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/exec_int.h"
#include "gateway/http/router.h"

/* ---- preparing ------------------------------------------------------------------------------- */

static void request_error(gql_exec_t *ex, const char *msg, const gql_loc_t *loc)
{
    json_array_append_new(ex->errors, gql_error_json(msg, loc, loc ? 1 : 0, NULL, NULL));
}

static const gql_op_t *choose_op(gql_exec_t *ex, const char *name)
{
    const gql_op_t *found = NULL;
    size_t n = 0;
    for (const gql_op_t *op = ex->doc->ops; op; op = op->next, n++)
        if (name && op->name && strcmp(op->name, name) == 0) found = op;
    if (name && !found) {
        char msg[GQL_MSG_MAX];
        snprintf(msg, sizeof(msg), "Unknown operation named \"%.200s\".", name);
        request_error(ex, msg, NULL);
    } else if (!name && n > 1) {
        request_error(ex, "Must provide operation name if query contains multiple operations.",
                      NULL);
    } else if (!name && n == 1) {
        found = ex->doc->ops;
    } else if (n == 0) {
        request_error(ex, "Must provide an operation.", NULL);
    }
    return found;
}

static void plan_root(gql_exec_t *ex, gql_root_t *r);

int gql_exec_prepare(gql_exec_t *ex, const gql_doc_t *doc, const char *operation_name,
                     const json_t *variables, const gql_limits_t *lim)
{
    gql_limits_t l = gql_limits_resolve(lim);
    memset(ex, 0, sizeof(*ex));
    ex->doc = doc;
    ex->errors = json_array();
    if (!ex->errors) return -1;
    if (!(ex->op = choose_op(ex, operation_name))) return -1;
    if (ex_coerce_variables(ex, variables) != 0) return -1;
    const gql_type_def_t *root = gql_schema_root(ex->op->kind == GQL_MUTATION);
    gql_groups_t g = {0};
    if (gql_collect(doc, ex->vars, root, ex->op->sel, &g) != 0) {
        gql_groups_free(&g);
        request_error(ex, "out of memory", NULL);
        return -1;
    }
    if (g.n > l.max_roots) {
        char msg[GQL_MSG_MAX];
        snprintf(msg, sizeof(msg), "Too many root fields: %zu (limit: %u).", g.n, l.max_roots);
        request_error(ex, msg, &ex->op->loc);
        gql_groups_free(&g);
        return -1;
    }
    ex->roots = calloc(g.n ? g.n : 1, sizeof(gql_root_t));
    if (!ex->roots) {
        gql_groups_free(&g);
        request_error(ex, "out of memory", NULL);
        return -1;
    }
    ex->nroots = g.n;
    for (size_t i = 0; i < g.n; i++) {
        gql_root_t *r = &ex->roots[i];
        r->key = g.v[i].key;
        r->nodes = g.v[i].nodes; /* ownership moves to the root */
        r->nnodes = g.v[i].n;
        r->def = gql_schema_field(root, r->nodes[0]->name);
        r->args = ex_args(ex, r->nodes[0], r->def ? r->def->args : NULL);
        plan_root(ex, r);
    }
    free(g.v);
    return 0;
}

static void calls_free(gql_root_t *r)
{
    for (size_t i = 0; i < r->ncalls; i++)
        json_decref(r->calls[i].body);
    free(r->calls);
    r->calls = NULL;
    r->ncalls = 0;
}

void gql_exec_free(gql_exec_t *ex)
{
    for (size_t i = 0; i < ex->nroots; i++) {
        gql_root_t *r = &ex->roots[i];
        calls_free(r);
        free(r->nodes);
        json_decref(r->args);
        json_decref(r->value);
        json_decref(r->error);
        json_decref(r->answers);
    }
    free(ex->roots);
    json_decref(ex->vars);
    json_decref(ex->errors);
    memset(ex, 0, sizeof(*ex));
}

/* ---- the Qdrant requests of each root field -------------------------------------------------- */

static const char *arg_str(const gql_root_t *r, const char *name)
{
    return json_string_value(json_object_get(r->args, name));
}

/* Copies argument `from` of r (when given and not null) into body as `to`. */
static void copy_arg(json_t *body, const gql_root_t *r, const char *from, const char *to)
{
    json_t *v = json_object_get(r->args, from);
    if (v && !json_is_null(v)) json_object_set(body, to, v);
}

static void field_error(gql_root_t *r, const char *msg, int status)
{
    json_t *ext = status ? json_pack("{s:i}", "status", status) : NULL;
    json_decref(r->error);
    r->error = gql_error_json(msg, &r->nodes[0]->loc, 1, json_pack("[s]", r->key), ext);
}

/* One call for r: method, collection suffix and body (reference taken). */
static void one_call(gql_root_t *r, const char *method, const char *suffix, json_t *body)
{
    const char *coll = arg_str(r, "collection");
    r->calls = calloc(1, sizeof(gql_call_t));
    if (!r->calls) {
        json_decref(body);
        field_error(r, "out of memory", 0);
        return;
    }
    r->calls[0].method = method;
    r->calls[0].body = body;
    if (coll ? gw_route_collection_target(coll, suffix, r->calls[0].target,
                                          sizeof(r->calls[0].target))
             : snprintf(r->calls[0].target, sizeof(r->calls[0].target), "%s", suffix) < 0) {
        calls_free(r);
        json_decref(body);
        field_error(r, "The collection name is too long.", 0);
        return;
    }
    r->ncalls = 1;
}

static json_t *with_flags(const gql_root_t *r, json_t *body)
{
    copy_arg(body, r, "withPayload", "with_payload");
    copy_arg(body, r, "withVector", "with_vector");
    return body;
}

static json_t *search_common(const gql_root_t *r, json_t *body)
{
    copy_arg(body, r, "limit", "limit");
    copy_arg(body, r, "offset", "offset");
    copy_arg(body, r, "filter", "filter");
    copy_arg(body, r, "scoreThreshold", "score_threshold");
    return with_flags(r, body);
}

static const char *wait_query(const gql_root_t *r)
{
    return json_is_false(json_object_get(r->args, "wait")) ? "?wait=false" : "?wait=true";
}

static void plan_write(gql_root_t *r, const char *path, json_t *body)
{
    char suffix[64];
    snprintf(suffix, sizeof(suffix), "%s%s", path, wait_query(r));
    copy_arg(body, r, "ids", "points");
    copy_arg(body, r, "filter", "filter");
    one_call(r, r->def->resolver == GQL_R_UPSERT ? "PUT" : "POST", suffix, body);
}

static void plan_root(gql_exec_t *ex, gql_root_t *r)
{
    json_t *b = NULL;
    switch (r->def ? r->def->resolver : GQL_R_NONE) {
    case GQL_R_COLLECTIONS:
        one_call(r, "GET", "/collections", NULL);
        return;
    case GQL_R_COLLECTION:
        r->calls = calloc(1, sizeof(gql_call_t));
        if (r->calls && gw_route_collection_target(arg_str(r, "name"), "", r->calls[0].target,
                                                   sizeof(r->calls[0].target)) == 0) {
            r->calls[0].method = "GET";
            r->ncalls = 1;
        } else {
            calls_free(r);
            field_error(r, "The collection name is too long.", 0);
        }
        return;
    case GQL_R_POINTS:
        b = json_object();
        copy_arg(b, r, "ids", "ids");
        one_call(r, "POST", "/points", with_flags(r, b));
        return;
    case GQL_R_SCROLL:
        b = json_object();
        copy_arg(b, r, "filter", "filter");
        copy_arg(b, r, "limit", "limit");
        copy_arg(b, r, "offset", "offset");
        one_call(r, "POST", "/points/scroll", with_flags(r, b));
        return;
    case GQL_R_COUNT:
        b = json_object();
        copy_arg(b, r, "filter", "filter");
        copy_arg(b, r, "exact", "exact");
        one_call(r, "POST", "/points/count", b);
        return;
    case GQL_R_SEARCH: {
        b = json_object();
        json_t *v = json_object_get(r->args, "vector");
        const char *using = arg_str(r, "using");
        json_object_set_new(b, "vector",
                            using ? json_pack("{s:s,s:O}", "name", using, "vector", v)
                                  : json_incref(v));
        one_call(r, "POST", "/points/search", search_common(r, b));
        return;
    }
    case GQL_R_QUERY:
        b = json_object();
        copy_arg(b, r, "query", "query");
        copy_arg(b, r, "using", "using");
        one_call(r, "POST", "/points/query", search_common(r, b));
        return;
    case GQL_R_RECOMMEND:
        b = json_object();
        copy_arg(b, r, "positive", "positive");
        copy_arg(b, r, "negative", "negative");
        copy_arg(b, r, "using", "using");
        one_call(r, "POST", "/points/recommend", search_common(r, b));
        return;
    case GQL_R_UPSERT:
        b = json_object();
        copy_arg(b, r, "points", "points");
        plan_write(r, "/points", b);
        return;
    case GQL_R_DELETE:
        plan_write(r, "/points/delete", json_object());
        return;
    case GQL_R_SET_PAYLOAD:
        b = json_object();
        copy_arg(b, r, "payload", "payload");
        plan_write(r, "/points/payload", b);
        return;
    case GQL_R_SCHEMA:
        r->value = json_incref(gql_schema_introspection());
        return;
    case GQL_R_TYPE: {
        json_t *t = gql_schema_type_json(arg_str(r, "name"));
        r->value = t ? json_incref(t) : json_null();
        return;
    }
    case GQL_R_TYPENAME:
        r->value = json_string(gql_schema_root(ex->op->kind == GQL_MUTATION)->name);
        return;
    case GQL_R_NONE:
        field_error(r, "This field cannot be resolved.", 0);
        return;
    }
}

/* ---- answers --------------------------------------------------------------------------------- */

void gql_root_feed(gql_root_t *r, size_t i, int status, const char *body, size_t len,
                   const char *error)
{
    if (!r->answers) r->answers = json_array();
    json_t *a = NULL;
    if (status == 200) a = json_loadb(body, len, 0, NULL);
    if (status == 200 && !a) {
        field_error(r, "Qdrant's answer is not JSON.", 502);
    } else if (status != 200 && !(r->def->resolver == GQL_R_COLLECTION && status == 404) &&
               !(r->def->resolver == GQL_R_COLLECTIONS && r->stage == 1 && status == 404)) {
        char msg[GQL_MSG_MAX];
        json_t *j = status ? json_loadb(body, len, 0, NULL) : NULL;
        const char *qe = json_string_value(json_object_get(json_object_get(j, "status"), "error"));
        if (qe)
            snprintf(msg, sizeof(msg), "%.300s", qe);
        else if (status)
            snprintf(msg, sizeof(msg), "%.*s", len && len < 300 ? (int)len : 0, body);
        if (!qe && (!status || !msg[0]))
            snprintf(msg, sizeof(msg), "%s",
                     status ? "Qdrant answered with an error." : (error ? error : "no answer"));
        field_error(r, msg, status ? status : 502);
        json_decref(j);
    }
    while (json_array_size(r->answers) <= i)
        json_array_append_new(r->answers, json_null());
    json_array_set_new(r->answers, i, a ? a : json_null());
}

static json_t *result_of(const gql_root_t *r, size_t i)
{
    return json_object_get(json_array_get(r->answers, i), "result");
}

/* A Collection source from the answer to GET /collections/{name}. */
static json_t *collection_source(const char *name, json_t *res)
{
    json_t *c = json_pack("{s:s}", "name", name);
    static const char *const map[][2] = {{"status", "status"},
                                         {"points_count", "pointsCount"},
                                         {"indexed_vectors_count", "indexedVectorsCount"},
                                         {"segments_count", "segmentsCount"},
                                         {"config", "config"}};
    for (size_t k = 0; c && k < sizeof(map) / sizeof(map[0]); k++) {
        json_t *v = json_object_get(res, map[k][0]);
        if (v) json_object_set(c, map[k][1], v);
    }
    return c;
}

/* Does the selection on Collection ask for more than its name? */
static int wants_details(const gql_exec_t *ex, const gql_root_t *r)
{
    gql_groups_t g = {0};
    int more = 0;
    const gql_type_def_t *t = gql_schema_type("Collection");
    for (size_t i = 0; i < r->nnodes; i++)
        if (gql_collect(ex->doc, ex->vars, t, r->nodes[i]->sel, &g) != 0) more = 1;
    for (size_t i = 0; i < g.n; i++)
        more |= strcmp(g.v[i].nodes[0]->name, "name") != 0 &&
                strcmp(g.v[i].nodes[0]->name, "__typename") != 0;
    gql_groups_free(&g);
    return more;
}

static void collections_next(const gql_exec_t *ex, gql_root_t *r)
{
    if (r->stage == 1) {
        json_t *list = json_array();
        json_t *names = json_object_get(r->value, "names");
        for (size_t i = 0; i < json_array_size(names); i++) {
            json_t *res = result_of(r, i);
            if (res) /* gone since the listing: left out */
                json_array_append_new(
                    list, collection_source(json_string_value(json_array_get(names, i)), res));
        }
        json_decref(r->value);
        r->value = list;
        return;
    }
    json_t *cs = json_object_get(result_of(r, 0), "collections"), *names = json_array();
    size_t n = json_array_size(cs);
    for (size_t i = 0; i < n; i++)
        json_array_append(names, json_object_get(json_array_get(cs, i), "name"));
    if (!wants_details(ex, r) || n == 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, json_pack("{s:O}", "name", json_array_get(names, i)));
        json_decref(names);
        r->value = list;
        return;
    }
    if (n > GQL_MAX_FANOUT) {
        json_decref(names);
        char msg[GQL_MSG_MAX];
        snprintf(msg, sizeof(msg),
                 "Too many collections to describe: %zu (limit: %d); ask for their names only.", n,
                 GQL_MAX_FANOUT);
        field_error(r, msg, 0);
        return;
    }
    r->calls = calloc(n, sizeof(gql_call_t));
    if (!r->calls) {
        json_decref(names);
        field_error(r, "out of memory", 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(names, i));
        r->calls[i].method = "GET";
        if (!name || gw_route_collection_target(name, "", r->calls[i].target,
                                                sizeof(r->calls[i].target)) != 0)
            snprintf(r->calls[i].target, sizeof(r->calls[i].target), "/collections/-");
    }
    r->ncalls = n;
    r->stage = 1;
    r->value = json_pack("{s:o}", "names", names); /* kept for the next stage */
}

void gql_root_next(const gql_exec_t *ex, gql_root_t *r)
{
    calls_free(r);
    if (r->error) {
        json_decref(r->answers);
        r->answers = NULL;
        return;
    }
    json_t *res = result_of(r, 0), *v = NULL;
    switch (r->def->resolver) {
    case GQL_R_COLLECTIONS:
        collections_next(ex, r);
        break;
    case GQL_R_COLLECTION:
        v = res ? collection_source(arg_str(r, "name"), res) : json_null();
        break;
    case GQL_R_SCROLL:
        v = json_pack("{s:O?,s:O?}", "points", json_object_get(res, "points"), "nextPageOffset",
                      json_object_get(res, "next_page_offset"));
        break;
    case GQL_R_COUNT:
        v = json_incref(json_object_get(res, "count"));
        break;
    case GQL_R_QUERY:
        v = json_incref(json_object_get(res, "points"));
        break;
    case GQL_R_UPSERT:
    case GQL_R_DELETE:
    case GQL_R_SET_PAYLOAD:
        v = json_pack("{s:O?,s:O?}", "operationId", json_object_get(res, "operation_id"), "status",
                      json_object_get(res, "status"));
        break;
    default: /* points, search, recommend: the list as Qdrant has it */
        v = json_incref(res);
    }
    if (r->def->resolver != GQL_R_COLLECTIONS) r->value = v;
    json_decref(r->answers);
    r->answers = NULL;
}

json_t *gql_exec_result(gql_exec_t *ex)
{
    json_t *data = json_object(), *errs = json_array();
    const gql_type_def_t *root = gql_schema_root(ex->op->kind == GQL_MUTATION);
    int nulled = 0;
    for (size_t i = 0; data && i < ex->nroots; i++) {
        gql_root_t *r = &ex->roots[i];
        const char *type = r->def ? r->def->type : "JSON";
        size_t tl = strlen(type);
        json_t *v;
        if (r->error) {
            json_array_append(errs, r->error);
            v = type[tl - 1] == '!' ? NULL : json_null();
        } else {
            json_t *path = json_pack("[s]", r->key);
            v = ex_complete(ex, type, tl, r->value, r->nodes, r->nnodes, root->name, path, errs);
            json_decref(path);
        }
        if (!v)
            nulled = 1;
        else
            json_object_set_new(data, r->key, v);
    }
    json_t *out = json_object();
    if (json_array_size(errs)) json_object_set(out, "errors", errs);
    json_object_set_new(out, "data", nulled ? json_null() : data);
    if (nulled) json_decref(data);
    json_decref(errs);
    return out;
}
