/* Unit tests for gateway/graphql/validate.c and merge.c against the gateway's schema: every rule
 * with graphql-js 16.9's message and locations (each expectation below was checked against its
 * validate() on the schema's SDL; the two deliberate differences are marked), variables with
 * defaults, @include/@skip, fragments, field merging, and the depth, alias, field and error-count
 * limits with fragments expanded. */
#include "gateway/graphql/parse.h"
#include "gateway/graphql/schema.h"
#include "gateway/graphql/validate.h"
#include "unit_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every error of src as "msg @line:col ... | " joined, "OK" when valid. */
static const char *validate_text(const char *src, const gql_limits_t *lim)
{
    static char out[8192];
    gql_error_t e, errs[GQL_MAX_ERRORS];
    gql_doc_t *d = gql_parse(src, strlen(src), lim, &e);
    ck_assert_msg(d != NULL, "%s: %s", src, e.msg);
    size_t n = gql_validate(d, lim, errs), o = 0;
    gql_doc_free(d);
    if (n == 0) return "OK";
    for (size_t i = 0; i < n; i++) {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", errs[i].msg);
        for (unsigned k = 0; k < errs[i].nlocs; k++)
            o += (size_t)snprintf(out + o, sizeof(out) - o, " @%u:%u", errs[i].locs[k].line,
                                  errs[i].locs[k].col);
        o += (size_t)snprintf(out + o, sizeof(out) - o, " | ");
        ck_assert_uint_lt(o, sizeof(out));
    }
    return out;
}

typedef struct vcase {
    const char *src, *want;
} vcase_t;

/* Differences from graphql-js, on purpose: PointId is a real scalar here (graphql-js's SDL-built
 * custom scalars accept any literal), and a subscription is refused at validation (graphql-js
 * refuses it when executing, with the same message). */
static const vcase_t cases[] = {
    {"{ search(collection: \"c\", vector: [1,2]) { id nope } }",
     "Cannot query field \"nope\" on type \"ScoredPoint\". @1:47 | "},
    {"{ a: collections { name } a: collection(name: \"x\") { name } }",
     "Fields \"a\" conflict because \"collections\" and \"collection\" are different fields. Use "
     "different aliases on the fields to fetch both if this was intentional. @1:3 @1:27 | "},
    {"query { ...F } fragment F on Query { collections { name ...G } } fragment G on Collection { "
     "status ...G }",
     "Cannot spread fragment \"G\" within itself. @1:100 | "},
    {"{ collections { name @include(if: true) status @skip(if: $x) } }",
     "Variable \"$x\" is not defined. @1:58 @1:1 | "},
    {"{ collections(name: 1) { name } }",
     "Unknown argument \"name\" on field \"Query.collections\". @1:15 | "},
    {"mutation { upsertPoints(collection: \"c\", points: [{id: 1, vector: [1], bogus: 2}]) { "
     "status } }",
     "Field \"bogus\" is not defined by type \"PointInput\". @1:72 | "},
    {"{ points(collection: \"c\", ids: [1, \"6a1a4d2c-9a6e-4ef3-8a3b-0b1c2d3e4f50\", \"nope\", "
     "1.5, -1]) { id } }",
     "Expected value of type \"PointId\", found \"nope\". @1:76 | Expected value of type "
     "\"PointId\", found 1.5. @1:84 | Expected value of type \"PointId\", found -1. @1:89 | "},
    {"query A { collections { name } } query A { __typename }",
     "There can be only one operation named \"A\". @1:7 @1:40 | "},
    {"{ collections { name } } query B { __typename }",
     "This anonymous operation must be the only defined operation. @1:1 | "},
    {"query ($a: Int, $a: Int) { count(collection: \"c\") }",
     "There can be only one variable named \"$a\". @1:9 @1:18 | Variable \"$a\" is never used. "
     "@1:8 | Variable \"$a\" is never used. @1:17 | "},
    {"{ count(collection: \"c\", exact: $undefined) }",
     "Variable \"$undefined\" is not defined. @1:33 @1:1 | "},
    {"{ scroll(collection: \"c\") }",
     "Field \"scroll\" of type \"ScrollPage!\" must have a selection of subfields. Did you mean "
     "\"scroll { ... }\"? @1:3 | "},
    {"{ count(collection: \"c\") { x } }",
     "Field \"count\" must not have a selection since type \"Int!\" has no subfields. @1:26 | "},
    {"fragment F on Collection { name } { collections { name } }",
     "Fragment \"F\" is never used. @1:1 | "},
    {"{ collections { ...on Point { id } } }",
     "Fragment cannot be spread here as objects of type \"Collection\" can never be of type "
     "\"Point\". @1:17 | "},
    {"{ collections { name: status } collections { name } }",
     "Fields \"collections\" conflict because subfields \"name\" conflict because \"status\" and "
     "\"name\" are different fields. Use different aliases on the fields to fetch both if this was "
     "intentional. @1:3 @1:17 @1:32 @1:46 | "},
    {"{ collections { name: status name } }",
     "Fields \"name\" conflict because \"status\" and \"name\" are different fields. Use different "
     "aliases on the fields to fetch both if this was intentional. @1:17 @1:30 | "},
    {"{ count(collection: \"a\") count(collection: \"b\") }",
     "Fields \"count\" conflict because they have differing arguments. Use different aliases on "
     "the fields to fetch both if this was intentional. @1:3 @1:26 | "},
    {"query { s: search(collection: \"c\", vector: [1.5, 2, 3e2], limit: 2147483648) { id } }",
     "Int cannot represent non 32-bit signed integer value: 2147483648 @1:66 | "},
    {"{ count(collection: 1, exact: \"yes\") search(collection: \"c\", vector: [true]) { id } }",
     "String cannot represent a non string value: 1 @1:21 | Boolean cannot represent a non boolean "
     "value: \"yes\" @1:31 | Float cannot represent non numeric value: true @1:71 | "},
    {"{ count(collection: \"c\", exact: null) }", "OK"},
    {"{ collection(name: null) { name } }",
     "Expected value of type \"String!\", found null. @1:20 | "},
    {"subscription { __typename }",
     "Schema is not configured to execute subscription operation. @1:1 | "},
    {"query @nope { __typename }", "Unknown directive \"@nope\". @1:7 | "},
    {"{ collections { name @include } }",
     "Directive \"@include\" argument \"if\" of type \"Boolean!\" is required, but it was not "
     "provided. @1:22 | "},
    {"{ collection { name } }", "Field \"collection\" argument \"name\" of type \"String!\" is "
                                "required, but it was not provided. @1:3 | "},
    {"mutation { upsertPoints(collection: \"c\", points: [{vector: [1]}]) { status } }",
     "Field \"PointInput.id\" of required type \"PointId!\" was not provided. @1:51 | "},
    {"query($v: String) { count(collection: \"c\", filter: {must: [{key: \"a\", match: {value: "
     "$v}}]}) }",
     "OK"},
    {"query($v: Int = \"x\") { count(collection: \"c\") }",
     "Int cannot represent non-integer value: \"x\" @1:17 | Variable \"$v\" is never used. @1:7 "
     "| "},
    {"query($v: Collection) { __typename }",
     "Variable \"$v\" cannot be non-input type \"Collection\". @1:11 | Variable \"$v\" is never "
     "used. @1:7 | "},
    {"query($v: Nope) { __typename }",
     "Unknown type \"Nope\". @1:11 | Variable \"$v\" is never used. @1:7 | "},
    {"query($v: [PointId]) { points(collection: \"c\", ids: $v) { id } }",
     "Variable \"$v\" of type \"[PointId]\" used in position expecting type \"[PointId!]!\". @1:7 "
     "@1:53 | "},
    {"query Q($a: Int! = null) { count(collection: \"c\", exact: $a) }",
     "Expected value of type \"Int!\", found null. @1:20 | Variable \"$a\" of type \"Int!\" used "
     "in position expecting type \"Boolean\". @1:9 @1:58 | "},
    {"query Q($a: Boolean) { collections { name @include(if: $a) } }",
     "Variable \"$a\" of type \"Boolean\" used in position expecting type \"Boolean!\". @1:9 @1:56 "
     "| "},
    {"query Q($a: Boolean = true) { collections { name @include(if: $a) } }", "OK"},
    {"query Q($l: Int = 5, $v: [Float!]!) { search(collection: \"c\", vector: $v, limit: $l) { id "
     "} }",
     "OK"},
    {"{ ...Missing }", "Unknown fragment \"Missing\". @1:6 | "},
    {"fragment F on Collection { ...F } { collections { ...F } }",
     "Cannot spread fragment \"F\" within itself. @1:28 | "},
    {"fragment F on Nope { name } { collections { ...F } }", "Unknown type \"Nope\". @1:15 | "},
    {"fragment F on String { name } { collections { ...F } }",
     "Fragment \"F\" cannot condition on non composite type \"String\". @1:15 | "},
    {"{ collections { name } } fragment F on Collection { name } fragment F on Collection { status "
     "}",
     "There can be only one fragment named \"F\". @1:35 @1:69 | Fragment \"F\" is never used. "
     "@1:26 | Fragment \"F\" is never used. @1:60 | "},
    {"{ collections @include(if: true) @include(if: false) { name } }",
     "The directive \"@include\" can only be used once at this location. @1:15 @1:34 | "},
    {"query @skip(if: true) { __typename }",
     "Directive \"@skip\" may not be used on QUERY. @1:7 | "},
    {"{ count(collection: \"c\", collection: \"d\") }",
     "There can be only one argument named \"collection\". @1:9 @1:26 | "},
    {"{ collections { name(x: 1) } }",
     "Unknown argument \"x\" on field \"Collection.name\". @1:22 | "},
    {"mutation M { collections { name } }",
     "Cannot query field \"collections\" on type \"Mutation\". @1:14 | "},
    {"query { upsertPoints(collection: \"x\", points: []) { status } }",
     "Cannot query field \"upsertPoints\" on type \"Query\". @1:9 | "},
    {"{ count(collection: \"c\"\n  , exact: $x, filter: {a: $y}) }",
     "Variable \"$x\" is not defined. @2:12 @1:1 | Variable \"$y\" is not defined. @2:28 @1:1 | "},
    {"query A($x: Boolean!) { ...F } query B { ...F } fragment F on Query { collections { name "
     "@skip(if: $x) } }",
     "Variable \"$x\" is not defined by operation \"B\". @1:100 @1:32 | "},
    {"{ collections { ... @include(if: true) { name } ...@skip(if: false) { status } } }", "OK"},
    {"{ __typename __schema { queryType { name } } __type(name: \"Point\") { kind fields { name } "
     "} }",
     "OK"},
    {"{ collections { __typename name } points(collection: \"c\", ids: [1, "
     "\"00000000000000000000000000000000\"]) { id } }",
     "OK"},
    {"{ recommend(collection: \"c\", positive: [1], negative: null) { id score } }", "OK"},
    {"mutation { upsertPoints(collection: \"c\", points: {id: 1, vector: [1], payload: {a: 1}}) { "
     "status } }",
     "OK"},
    {"{ a: count(collection: \"c\", exact: true) a: count(exact: true, collection: \"c\") }", "OK"},
    {"{ a: count(collection: \"c\", exact: true) a: count(collection: \"c\") }\n",
     "Fields \"a\" conflict because they have differing arguments. Use different aliases on the "
     "fields to fetch both if this was intentional. @1:3 @1:42 | "},
};

START_TEST(test_rules)
{
    const char *got = validate_text(cases[_i].src, NULL);
    ck_assert_msg(strcmp(got, cases[_i].want) == 0, "%s\n got: %s\nwant: %s", cases[_i].src, got,
                  cases[_i].want);
}
END_TEST

/* A chain of n nested collection fields through fragments: Query.collections is one level, each
 * fragment adds nothing but indirection. */
START_TEST(test_limit_depth)
{
    gql_limits_t lim = {.max_depth = 3};
    ck_assert_str_eq(validate_text("{ scroll(collection: \"c\") { points { id } } }", &lim), "OK");
    ck_assert_str_eq(
        validate_text("query Q { scroll(collection: \"c\") { points { id } } __type(name: \"Q\") "
                      "{ ofType { ofType { name } } } }",
                      &lim),
        "Query is too deep: depth 4 exceeds the limit of 3. @1:1 | ");
    /* fragments are expanded: the depth is the same through them */
    ck_assert_str_eq(validate_text("{ __type(name: \"Q\") { ...A } } fragment A on __Type { ofType "
                                   "{ ...B } } fragment B on __Type { ofType { name } }",
                                   &lim),
                     "Query is too deep: depth 4 exceeds the limit of 3. @1:1 | ");
    /* the default allows graphql-js's own introspection query (depth 13) */
    ck_assert_uint_ge(GQL_DEFAULT_MAX_DEPTH, 13);
}
END_TEST

START_TEST(test_limit_aliases)
{
    gql_limits_t lim = {.max_aliases = 2};
    ck_assert_str_eq(validate_text("{ a: __typename b: __typename }", &lim), "OK");
    ck_assert_str_eq(validate_text("{ a: __typename b: __typename c: __typename }", &lim),
                     "Too many aliases: 3 (limit: 2). | ");
    /* aliases inside a fragment count once, however often it is spread */
    ck_assert_str_eq(validate_text("{ ...F ...F ...F } fragment F on Query { a: __typename b: "
                                   "__typename }",
                                   &lim),
                     "OK");
    ck_assert_str_eq(validate_text("{ x: __typename ...F } fragment F on Query { a: __typename b: "
                                   "__typename }",
                                   &lim),
                     "Too many aliases: 3 (limit: 2). | ");
}
END_TEST

START_TEST(test_limit_fields_fragment_bomb)
{
    /* each level spreads the one below twice: 2^12 fields once expanded, from a small text */
    char src[4096];
    size_t n = (size_t)snprintf(src, sizeof(src), "{ ...F0 }");
    for (int i = 0; i < 12; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, " fragment F%d on Query { ...F%d ...F%d }",
                              i, i + 1, i + 1);
    n += (size_t)snprintf(src + n, sizeof(src) - n, " fragment F12 on Query { __typename }");
    ck_assert_uint_lt(n, sizeof(src));
    ck_assert_str_eq(validate_text(src, NULL),
                     "Query is too large: more than 2000 fields with fragments expanded. @1:1 | ");
    gql_limits_t lim = {.max_fields = 5000};
    ck_assert_str_eq(validate_text(src, &lim), "OK");
}
END_TEST

START_TEST(test_error_cap)
{
    char src[8192];
    size_t n = (size_t)snprintf(src, sizeof(src), "{");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, " nope%d", i);
    snprintf(src + n, sizeof(src) - n, " }");
    gql_error_t e, errs[GQL_MAX_ERRORS];
    gql_doc_t *d = gql_parse(src, strlen(src), NULL, &e);
    ck_assert_ptr_nonnull(d);
    size_t k = gql_validate(d, NULL, errs);
    gql_doc_free(d);
    ck_assert_uint_eq(k, GQL_MAX_ERRORS);
    ck_assert_str_eq(errs[0].msg, "Cannot query field \"nope0\" on type \"Query\".");
    ck_assert_str_eq(errs[GQL_MAX_ERRORS - 1].msg,
                     "Too many validation errors, error limit reached. Validation aborted.");
    ck_assert_uint_eq(errs[GQL_MAX_ERRORS - 1].nlocs, 0);
}
END_TEST

START_TEST(test_type_fits_and_print)
{
    ck_assert(gql_type_fits("Int!", 4, "Int", 3));
    ck_assert(!gql_type_fits("Int", 3, "Int!", 4));
    ck_assert(gql_type_fits("[Int!]", 6, "[Int]", 5));
    ck_assert(!gql_type_fits("[Int]", 5, "[Int!]", 6));
    ck_assert(!gql_type_fits("Int", 3, "[Int]", 5));
    ck_assert(!gql_type_fits("Float", 5, "Int", 3));
    gql_error_t e;
    const char *src = "{ f(a: {x: [1, \"s\\n\\u0001\\u0085\\\"\", null, E, $v], y: {}}) }";
    gql_doc_t *d = gql_parse(src, strlen(src), NULL, &e);
    ck_assert_ptr_nonnull(d);
    char buf[128];
    ck_assert_str_eq(gql_value_print(d->ops->sel->args->value, buf, sizeof(buf)),
                     "{x: [1, \"s\\n\\u0001\\u0085\\\"\", null, E, $v], y: {}}");
    gql_doc_free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("graphql_validate");
    TCase *tc = tcase_create("validate");
    tcase_add_loop_test(tc, test_rules, 0, (int)NELEM(cases));
    tcase_add_test(tc, test_limit_depth);
    tcase_add_test(tc, test_limit_aliases);
    tcase_add_test(tc, test_limit_fields_fragment_bomb);
    tcase_add_test(tc, test_error_cap);
    tcase_add_test(tc, test_type_fits_and_print);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
