/* Unit tests for gateway/graphql/exec.c, coerce.c, shape.c and gateway/handler/graphql_http.c:
 * operation choice, variable coercion (defaults, every type, graphql-js's messages), the Qdrant
 * requests planned for each root field, answers shaped by selection sets (aliases, fragments,
 * __typename, @skip/@include, null propagation), Qdrant errors as GraphQL errors, and the
 * GraphQL-over-HTTP parameters and media types. No I/O: answers are fed by hand. */
#include "gateway/graphql/exec.h"
#include "gateway/graphql/parse.h"
#include "gateway/graphql/validate.h"
#include "gateway/handler/graphql_http.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    gql_doc_t *doc;
    gql_exec_t ex;
    int rc;
} run_t;

/* Parses, validates (unless unchecked: variables defined and left unused) and prepares. */
static void prepare_as(run_t *r, const char *src, const char *op, const char *vars, int unchecked)
{
    gql_error_t e, errs[GQL_MAX_ERRORS];
    r->doc = gql_parse(src, strlen(src), NULL, &e);
    ck_assert_msg(r->doc != NULL, "%s", e.msg);
    size_t n = unchecked ? 0 : gql_validate(r->doc, NULL, errs);
    ck_assert_msg(n == 0, "%s", errs[0].msg);
    json_t *v = vars ? json_loads(vars, 0, NULL) : NULL;
    r->rc = gql_exec_prepare(&r->ex, r->doc, op, v, NULL);
    json_decref(v);
}

static void prepare(run_t *r, const char *src, const char *op, const char *vars)
{
    prepare_as(r, src, op, vars, 0);
}

static void done(run_t *r)
{
    gql_exec_free(&r->ex);
    gql_doc_free(r->doc);
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void assert_json(const json_t *j, const char *want)
{
    char *s = dump(j);
    ck_assert_msg(s && strcmp(s, want) == 0, "\n got: %s\nwant: %s", s ? s : "(null)", want);
    free(s);
}

/* The first error message of a failed prepare. */
static const char *first_error(run_t *r)
{
    ck_assert_int_eq(r->rc, -1);
    return json_string_value(json_object_get(json_array_get(r->ex.errors, 0), "message"));
}

/* Feeds the one call of root i with status and body, then the next stage. */
static void answer(run_t *r, size_t i, int status, const char *body)
{
    gql_root_t *rt = &r->ex.roots[i];
    ck_assert_uint_eq(rt->ncalls, 1);
    gql_root_feed(rt, 0, status, body, strlen(body), NULL);
    gql_root_next(&r->ex, rt);
}

START_TEST(test_operation_choice)
{
    run_t r;
    prepare(&r, "query A { __typename } query B { __typename }", NULL, NULL);
    ck_assert_str_eq(first_error(&r),
                     "Must provide operation name if query contains multiple operations.");
    done(&r);
    prepare(&r, "query A { __typename } query B { __typename }", "C", NULL);
    ck_assert_str_eq(first_error(&r), "Unknown operation named \"C\".");
    done(&r);
    prepare(&r, "query A { a: __typename } mutation B { b: __typename }", "B", NULL);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.ex.nroots, 1);
    ck_assert_str_eq(r.ex.roots[0].key, "b");
    json_t *res = gql_exec_result(&r.ex);
    assert_json(res, "{\"data\":{\"b\":\"Mutation\"}}");
    json_decref(res);
    done(&r);
}
END_TEST

typedef struct varcase {
    const char *src, *vars, *msg;
} varcase_t;

static const varcase_t varcases[] = {
    {"query ($n: Int!) { count(collection: \"c\", exact: true) __typename @skip(if: false) }", NULL,
     "Variable \"$n\" of required type \"Int!\" was not provided."},
    {"query ($n: Int!) { __typename @include(if: true) }", "{\"n\": null}",
     "Variable \"$n\" of non-null type \"Int!\" must not be null."},
    {"query ($n: Int) { __typename }", "{\"n\": \"x\"}",
     "Variable \"$n\" got invalid value \"x\"; Int cannot represent non-integer value: \"x\""},
    {"query ($n: Int) { __typename }", "{\"n\": 2147483648}",
     "Variable \"$n\" got invalid value 2147483648; Int cannot represent non 32-bit signed "
     "integer value: 2147483648"},
    {"query ($n: Int) { __typename }", "{\"n\": 1.5}",
     "Variable \"$n\" got invalid value 1.5; Int cannot represent non-integer value: 1.5"},
    {"query ($f: [Float!]) { __typename }", "{\"f\": [1, \"a\"]}",
     "Variable \"$f\" got invalid value [1,\"a\"] at \"f[1]\"; Float cannot represent non "
     "numeric value: \"a\""},
    {"query ($f: [Float!]) { __typename }", "{\"f\": [1, null]}",
     "Variable \"$f\" got invalid value [1,null] at \"f[1]\"; Expected non-nullable type "
     "\"Float!\" not to be null."},
    {"query ($s: String) { __typename }", "{\"s\": 1}",
     "Variable \"$s\" got invalid value 1; String cannot represent a non string value: 1"},
    {"query ($b: Boolean) { __typename }", "{\"b\": \"true\"}",
     "Variable \"$b\" got invalid value \"true\"; Boolean cannot represent a non boolean value: "
     "\"true\""},
    {"query ($p: PointId) { __typename }", "{\"p\": -1}",
     "Variable \"$p\" got invalid value -1; A point id is an unsigned integer or a UUID string"},
    {"query ($p: [PointInput!]!) { __typename }", "{\"p\": [{\"id\": 1}]}",
     "Variable \"$p\" got invalid value [{\"id\":1}] at \"p[0]\"; Field \"vector\" of required "
     "type \"JSON!\" was not provided."},
    {"query ($p: [PointInput!]!) { __typename }",
     "{\"p\": [{\"id\": 1, \"vector\": [1], "
     "\"x\": 2}]}",
     "Variable \"$p\" got invalid value [{\"id\":1,\"vector\":[1],\"x\":2}] at \"p[0]\"; Field "
     "\"x\" is not defined by type \"PointInput\"."},
    {"query ($p: PointInput) { __typename }", "{\"p\": 3}",
     "Variable \"$p\" got invalid value 3; Expected type \"PointInput\" to be an object."},
};

START_TEST(test_variable_errors)
{
    run_t r;
    prepare_as(&r, varcases[_i].src, NULL, varcases[_i].vars, 1);
    ck_assert_str_eq(first_error(&r), varcases[_i].msg);
    /* located at the variable's definition */
    json_t *loc = json_array_get(json_object_get(json_array_get(r.ex.errors, 0), "locations"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(loc, "line")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(loc, "column")), 8);
    done(&r);
}
END_TEST

START_TEST(test_variables_coerced)
{
    run_t r;
    /* defaults, a single value as a list of one, integral floats as Int, UUIDs, JSON as is */
    prepare(&r,
            "query ($v: [Float!]! = [1, 2.5], $n: Int = 3, $ids: [PointId!]!, $j: JSON, $k: Int)"
            " { search(collection: \"c\", vector: $v, limit: $n, filter: $j) { id }"
            " points(collection: \"c\", ids: $ids, withVector: true) { id }"
            " scroll(collection: \"c\", limit: $k) { nextPageOffset } }",
            NULL,
            "{\"ids\": \"6a1a4d2c-9a6e-4ef3-8a3b-0b1c2d3e4f50\", \"n\": 2.0, \"j\": {\"must\": "
            "[]}}");
    ck_assert_int_eq(r.rc, 0);
    assert_json(r.ex.vars, "{\"v\":[1.0,2.5],\"n\":2,\"ids\":[\"6a1a4d2c-9a6e-4ef3-8a3b-"
                           "0b1c2d3e4f50\"],\"j\":{\"must\":[]}}");
    gql_call_t *c = &r.ex.roots[0].calls[0];
    ck_assert_str_eq(c->method, "POST");
    ck_assert_str_eq(c->target, "/collections/c/points/search");
    assert_json(c->body, "{\"vector\":[1.0,2.5],\"limit\":2,\"offset\":0,\"filter\":{\"must\":[]},"
                         "\"with_payload\":true,\"with_vector\":false}");
    assert_json(r.ex.roots[1].calls[0].body,
                "{\"ids\":[\"6a1a4d2c-9a6e-4ef3-8a3b-0b1c2d3e4f50\"],\"with_payload\":true,"
                "\"with_vector\":true}");
    /* $k absent and no default: the argument's own default (10) applies */
    assert_json(r.ex.roots[2].calls[0].body,
                "{\"limit\":10,\"with_payload\":true,\"with_vector\":false}");
    done(&r);
}
END_TEST

START_TEST(test_planned_calls)
{
    run_t r;
    prepare(&r,
            "mutation { upsertPoints(collection: \"my coll/x\", points: [{id: 1, vector: [1], "
            "payload: {a: \"b\"}}]) { status } deletePoints(collection: \"c\", ids: [2], wait: "
            "false) { status } setPayload(collection: \"c\", payload: {k: 1}, filter: {must: "
            "[]}) { status } }",
            NULL, NULL);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(r.ex.roots[0].calls[0].method, "PUT");
    ck_assert_str_eq(r.ex.roots[0].calls[0].target, "/collections/my%20coll%2Fx/points?wait=true");
    assert_json(r.ex.roots[0].calls[0].body,
                "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"a\":\"b\"}}]}");
    ck_assert_str_eq(r.ex.roots[1].calls[0].target, "/collections/c/points/delete?wait=false");
    assert_json(r.ex.roots[1].calls[0].body, "{\"points\":[2]}");
    ck_assert_str_eq(r.ex.roots[2].calls[0].target, "/collections/c/points/payload?wait=true");
    assert_json(r.ex.roots[2].calls[0].body, "{\"payload\":{\"k\":1},\"filter\":{\"must\":[]}}");
    done(&r);

    prepare(&r,
            "{ search(collection: \"c\", vector: [1], using: \"img\", scoreThreshold: 0.5) { id } "
            "query(collection: \"c\", query: {recommend: {positive: [1]}}, limit: 2) { id } "
            "recommend(collection: \"c\", positive: [1], negative: [2]) { id } "
            "count(collection: \"c\", exact: false) collection(name: \"c\") { name } }",
            NULL, NULL);
    assert_json(r.ex.roots[0].calls[0].body,
                "{\"vector\":{\"name\":\"img\",\"vector\":[1.0]},\"limit\":10,\"offset\":0,"
                "\"score_threshold\":0.5,\"with_payload\":true,\"with_vector\":false}");
    ck_assert_str_eq(r.ex.roots[1].calls[0].target, "/collections/c/points/query");
    assert_json(r.ex.roots[1].calls[0].body,
                "{\"query\":{\"recommend\":{\"positive\":[1]}},\"limit\":2,\"offset\":0,"
                "\"with_payload\":true,\"with_vector\":false}");
    assert_json(r.ex.roots[2].calls[0].body,
                "{\"positive\":[1],\"negative\":[2],\"limit\":10,\"with_payload\":true,"
                "\"with_vector\":false}");
    assert_json(r.ex.roots[3].calls[0].body, "{\"exact\":false}");
    ck_assert_str_eq(r.ex.roots[4].calls[0].method, "GET");
    ck_assert_str_eq(r.ex.roots[4].calls[0].target, "/collections/c");
    ck_assert_ptr_null(r.ex.roots[4].calls[0].body);
    done(&r);
}
END_TEST

START_TEST(test_shaping)
{
    run_t r;
    prepare(&r,
            "query ($p: Boolean = false) { hits: search(collection: \"c\", vector: [1]) { ...H "
            "score @include(if: $p) ... on ScoredPoint { pid: id __typename } } "
            "n: count(collection: \"c\") skipped: count(collection: \"d\") @skip(if: true) "
            "__typename } fragment H on ScoredPoint { id payload }",
            NULL, NULL);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.ex.nroots, 3); /* the skipped field is no root field at all */
    answer(&r, 0, 200,
           "{\"result\":[{\"id\":7,\"version\":1,\"score\":0.5,\"payload\":{\"a\":1}},"
           "{\"id\":\"6a1a4d2c-9a6e-4ef3-8a3b-0b1c2d3e4f50\",\"score\":0.25,\"payload\":null}],"
           "\"status\":\"ok\"}");
    answer(&r, 1, 200, "{\"result\":{\"count\":2},\"status\":\"ok\"}");
    ck_assert_uint_eq(r.ex.roots[2].ncalls, 0); /* __typename: nothing to ask Qdrant */
    json_t *res = gql_exec_result(&r.ex);
    assert_json(res, "{\"data\":{\"hits\":[{\"id\":7,\"payload\":{\"a\":1},\"pid\":7,"
                     "\"__typename\":\"ScoredPoint\"},{\"id\":\"6a1a4d2c-9a6e-4ef3-8a3b-"
                     "0b1c2d3e4f50\",\"payload\":null,\"pid\":\"6a1a4d2c-9a6e-4ef3-8a3b-"
                     "0b1c2d3e4f50\",\"__typename\":\"ScoredPoint\"}],\"n\":2,\"__typename\":"
                     "\"Query\"}}");
    json_decref(res);
    done(&r);
}
END_TEST

START_TEST(test_errors_and_null_propagation)
{
    run_t r;
    prepare(&r,
            "{ c: collection(name: \"gone\") { name } n: count(collection: \"x\")\n"
            "  s: scroll(collection: \"c\") { points { id } } }",
            NULL, NULL);
    answer(&r, 0, 404, "{\"status\":{\"error\":\"Not found: Collection `gone` doesn't exist!\"}}");
    answer(&r, 1, 404, "{\"status\":{\"error\":\"Not found: Collection `x` doesn't exist!\"}}");
    answer(&r, 2, 200, "{\"result\":{\"points\":[{\"id\":1},null]}}"); /* Point! is null */
    json_t *res = gql_exec_result(&r.ex);
    /* collection: null, no error; count is Int!: the error nulls data */
    assert_json(res,
                "{\"errors\":[{\"message\":\"Not found: Collection `x` doesn't exist!\","
                "\"locations\":[{\"line\":1,\"column\":40}],\"path\":[\"n\"],\"extensions\":"
                "{\"status\":404}},{\"message\":\"Cannot return null for non-nullable field "
                "ScrollPage.points.\",\"locations\":[{\"line\":2,\"column\":32}],\"path\":[\"s\","
                "\"points\",1]}],\"data\":null}");
    json_decref(res);
    done(&r);

    prepare(&r, "{ collection(name: \"c\") { name } }", NULL, NULL);
    gql_root_feed(&r.ex.roots[0], 0, 0, "", 0, "no answer from upstream in time");
    gql_root_next(&r.ex, &r.ex.roots[0]);
    res = gql_exec_result(&r.ex);
    assert_json(res, "{\"errors\":[{\"message\":\"no answer from upstream in time\",\"locations\":"
                     "[{\"line\":1,\"column\":3}],\"path\":[\"collection\"],\"extensions\":"
                     "{\"status\":502}}],\"data\":{\"collection\":null}}");
    json_decref(res);
    done(&r);
}
END_TEST

START_TEST(test_collections_stages)
{
    run_t r;
    prepare(&r, "{ names: collections { name } full: collections { name pointsCount } }", NULL,
            NULL);
    const char *list = "{\"result\":{\"collections\":[{\"name\":\"a\"},{\"name\":\"b c\"}]}}";
    answer(&r, 0, 200, list);
    ck_assert_uint_eq(r.ex.roots[0].ncalls, 0); /* names only: one request */
    answer(&r, 1, 200, list);
    gql_root_t *rt = &r.ex.roots[1];
    ck_assert_uint_eq(rt->ncalls, 2);
    ck_assert_str_eq(rt->calls[1].target, "/collections/b%20c");
    const char *info = "{\"result\":{\"status\":\"green\",\"points_count\":3}}";
    gql_root_feed(rt, 1, 404, "{}", 2, NULL); /* deleted meanwhile: left out */
    gql_root_feed(rt, 0, 200, info, strlen(info), NULL);
    gql_root_next(&r.ex, rt);
    json_t *res = gql_exec_result(&r.ex);
    assert_json(res, "{\"data\":{\"names\":[{\"name\":\"a\"},{\"name\":\"b c\"}],\"full\":"
                     "[{\"name\":\"a\",\"pointsCount\":3}]}}");
    json_decref(res);
    done(&r);
}
END_TEST

START_TEST(test_introspection)
{
    run_t r;
    prepare(&r,
            "{ __type(name: \"PointInput\") { kind name inputFields { name type { kind ofType { "
            "name } } } } none: __type(name: \"Nope\") { name } __schema { mutationType { name } "
            "directives { name } } }",
            NULL, NULL);
    json_t *res = gql_exec_result(&r.ex);
    assert_json(res,
                "{\"data\":{\"__type\":{\"kind\":\"INPUT_OBJECT\",\"name\":\"PointInput\","
                "\"inputFields\":[{\"name\":\"id\",\"type\":{\"kind\":\"NON_NULL\",\"ofType\":{"
                "\"name\":\"PointId\"}}},{\"name\":\"vector\",\"type\":{\"kind\":\"NON_NULL\","
                "\"ofType\":{\"name\":\"JSON\"}}},{\"name\":\"payload\",\"type\":{\"kind\":"
                "\"SCALAR\",\"ofType\":null}}]},\"none\":null,\"__schema\":{\"mutationType\":{"
                "\"name\":\"Mutation\"},\"directives\":[{\"name\":\"include\"},{\"name\":"
                "\"skip\"},{\"name\":\"deprecated\"},{\"name\":\"specifiedBy\"}]}}}");
    json_decref(res);
    done(&r);
}
END_TEST

START_TEST(test_root_limit)
{
    run_t r;
    char src[2048];
    size_t n = (size_t)snprintf(src, sizeof(src), "{");
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, " a%d: __typename", i);
    snprintf(src + n, sizeof(src) - n, " }");
    gql_limits_t lim = {.max_aliases = 100};
    gql_error_t e;
    r.doc = gql_parse(src, strlen(src), &lim, &e);
    ck_assert_ptr_nonnull(r.doc);
    r.rc = gql_exec_prepare(&r.ex, r.doc, NULL, NULL, &lim);
    ck_assert_str_eq(first_error(&r), "Too many root fields: 33 (limit: 32).");
    done(&r);
}
END_TEST

START_TEST(test_http_params)
{
    gw_gql_params_t p;
    char err[256];
    const char *qs = "query=%7B+a+%7D&operationName=Q&variables=%7B%22x%22%3A1%7D&other=1";
    ck_assert_int_eq(gw_gql_params_from_query(qs, strlen(qs), &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p.query, "{ a }");
    ck_assert_str_eq(p.operation_name, "Q");
    assert_json(p.variables, "{\"x\":1}");
    gw_gql_params_free(&p);
    ck_assert_int_eq(gw_gql_params_from_query("", 0, &p, err, sizeof(err)), 0);
    ck_assert_ptr_null(p.query);
    gw_gql_params_free(&p);
    qs = "query=x&variables=%5B1%5D";
    ck_assert_int_eq(gw_gql_params_from_query(qs, strlen(qs), &p, err, sizeof(err)), 400);
    ck_assert_str_eq(err, "The \"variables\" parameter must be an object or null.");
    qs = "query=x&variables=%7B";
    ck_assert_int_eq(gw_gql_params_from_query(qs, strlen(qs), &p, err, sizeof(err)), 400);

    const char *b = "{\"query\": \"{ a }\", \"variables\": null, \"operationName\": null}";
    ck_assert_int_eq(gw_gql_params_from_json(b, strlen(b), &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p.query, "{ a }");
    ck_assert_ptr_null(p.variables);
    ck_assert_ptr_null(p.operation_name);
    gw_gql_params_free(&p);
    b = "{\"variables\": {}}";
    ck_assert_int_eq(gw_gql_params_from_json(b, strlen(b), &p, err, sizeof(err)), 400);
    ck_assert_str_eq(err, "The body has no \"query\".");
    b = "{\"query\": 1}";
    ck_assert_int_eq(gw_gql_params_from_json(b, strlen(b), &p, err, sizeof(err)), 400);
    ck_assert_str_eq(err, "The \"query\" parameter must be a string.");
    b = "{\"query\": \"x\", \"operationName\": 2}";
    ck_assert_int_eq(gw_gql_params_from_json(b, strlen(b), &p, err, sizeof(err)), 400);
    b = "[1]";
    ck_assert_int_eq(gw_gql_params_from_json(b, strlen(b), &p, err, sizeof(err)), 400);

    ck_assert(gw_gql_is_json_type("application/json", 16));
    ck_assert(gw_gql_is_json_type(" Application/JSON; charset=utf-8", 33));
    ck_assert(!gw_gql_is_json_type("application/jsonx", 17));
    ck_assert(!gw_gql_is_json_type("text/plain", 10));
    const char *a = "application/json, application/graphql-response+json;q=0.9";
    ck_assert(gw_gql_wants_grj(a, strlen(a)));
    a = "application/graphql-response+json; q=0";
    ck_assert(!gw_gql_wants_grj(a, strlen(a)));
    a = "application/json";
    ck_assert(!gw_gql_wants_grj(a, strlen(a)));
    ck_assert(!gw_gql_wants_grj(NULL, 0));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("graphql_exec");
    TCase *tc = tcase_create("exec");
    tcase_add_test(tc, test_operation_choice);
    tcase_add_loop_test(tc, test_variable_errors, 0, (int)NELEM(varcases));
    tcase_add_test(tc, test_variables_coerced);
    tcase_add_test(tc, test_planned_calls);
    tcase_add_test(tc, test_shaping);
    tcase_add_test(tc, test_errors_and_null_propagation);
    tcase_add_test(tc, test_collections_stages);
    tcase_add_test(tc, test_introspection);
    tcase_add_test(tc, test_root_limit);
    tcase_add_test(tc, test_http_params);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
