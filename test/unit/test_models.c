/* Unit tests for gateway/models: the model table, validation and translation of searches (every
 * error with its exact text), answers, model states and collection summaries, JSON output. */
#include "gateway/handler/models.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static gw_model_t mini = {"mini", "docs", "", 4, 10, 100};
static gw_model_t named = {"img", "pics", "clip", 3, 2, 5};

/* ---------------------------------------------------------------- lookup, JSON output */

START_TEST(test_find)
{
    gw_model_t models[2] = {mini, named};
    gw_config_t cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.models = models;
    cfg.nmodels = 2;
    ck_assert_ptr_eq(gw_models_find(&cfg, "img", 3), &models[1]);
    ck_assert_ptr_eq(gw_models_find(&cfg, "minix", 4), &models[0]); /* a length, not a C string */
    ck_assert_ptr_null(gw_models_find(&cfg, "im", 2));
    ck_assert_ptr_null(gw_models_find(&cfg, "imgs", 4));
    ck_assert_ptr_null(gw_models_find(&cfg, "", 0));
}
END_TEST

START_TEST(test_dump)
{
    json_t *v = json_loads("{\"a\":[0.9,1.0,1e-05,0.30000000000000004,-2.5e+300,7,true,false,"
                           "null],\"s\":\"q\\\"\\\\\\n\\u0001\\u00e9\",\"o\":{}}",
                           0, NULL);
    size_t len = 0;
    char *text;

    ck_assert_ptr_nonnull(v);
    text = gw_models_dump(v, &len);
    ck_assert_str_eq(text, "{\"a\":[0.9,1.0,1e-05,0.30000000000000004,-2.5e+300,7,"
                           "true,false,null],\"s\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\",\"o\":{}}");
    ck_assert_uint_eq(len, strlen(text));
    free(text);
    json_decref(v);
}
END_TEST

/* ---------------------------------------------------------------- translation */

static char *translate(const gw_model_t *m, int batch, const char *body, gw_model_plan_t *plan,
                       int *status, char *err, size_t errlen)
{
    char *out = NULL;
    size_t outlen = 0;

    *status = gw_models_translate(m, batch, body, strlen(body), plan, &out, &outlen, err, errlen);
    if (out) ck_assert_uint_eq(outlen, strlen(out));
    return out;
}

static const struct {
    const gw_model_t *m;
    const char *body, *want;
    int payload;
} good_searches[] = {
    {&mini, "{\"query_vector\":[0.1,0.2,0.3,0.4]}", "{\"query\":[0.1,0.2,0.3,0.4],\"limit\":10}",
     0},
    {&mini, " {\"query_vector\":[1,2,3,4],\"limit\":100,\"with_payload\":true}\n",
     "{\"query\":[1,2,3,4],\"limit\":100,\"with_payload\":true}", 1},
    {&named, "{\"query_vector\":[1,0.5,-2e-3]}",
     "{\"query\":[1,0.5,-0.002],\"using\":\"clip\",\"limit\":2}", 0},
    {&mini,
     "{\"offset\":3,\"score_threshold\":0.5,\"filter\":{\"must\":[{\"key\":\"a\",\"match\":"
     "{\"value\":1}}]},\"with_payload\":[\"a\"],\"limit\":1,\"query_vector\":[0,0,0,1]}",
     "{\"query\":[0,0,0,1],\"limit\":1,\"filter\":{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1}"
     "}]},\"with_payload\":[\"a\"],\"score_threshold\":0.5,\"offset\":3}",
     1},
    {&mini,
     "{\"query_vector\":[0,0,0,1],\"with_payload\":false,\"filter\":null,\"offset\":null,"
     "\"limit\":null,\"score_threshold\":null}",
     "{\"query\":[0,0,0,1],\"limit\":10,\"with_payload\":false}", 0},
    {&mini, "{\"query_vector\":[0,0,0,1],\"with_payload\":{\"exclude\":[\"x\"]},\"offset\":0}",
     "{\"query\":[0,0,0,1],\"limit\":10,\"with_payload\":{\"exclude\":[\"x\"]},\"offset\":0}", 1},
    /* 32-bit float extremes are fine; the text of a number is kept exactly */
    {&mini, "{\"query_vector\":[3.4028234e38,-3.4028234e38,1e-45,0.12345678901234568]}",
     "{\"query\":[3.4028234e+38,-3.4028234e+38,1e-45,0.12345678901234568],\"limit\":10}", 0},
};

START_TEST(test_translate_good)
{
    char err[ERRLEN] = "";
    gw_model_plan_t plan;
    int status;
    char *out =
        translate(good_searches[_i].m, 0, good_searches[_i].body, &plan, &status, err, sizeof err);

    ck_assert_msg(status == 0, "%s", err);
    ck_assert_str_eq(out, good_searches[_i].want);
    ck_assert_int_eq(plan.batch, 0);
    ck_assert_uint_eq(plan.n, 1);
    ck_assert_int_eq(plan.payload[0], good_searches[_i].payload);
    free(out);
}
END_TEST

#define FE "Format error in JSON body: "
#define WI "Wrong input: "

static const struct {
    const gw_model_t *m;
    const char *body, *want;
} bad_searches[] = {
    {&mini, "", FE "EOF while parsing a value at line 1 column 0"},
    {&mini, " \n", FE "EOF while parsing a value at line 1 column 2"},
    {&mini, "{\"query_vector\":[1,2,3,4]", FE "'}' expected near end of file at line 1 column 25"},
    {&mini, "nope", FE "invalid token near 'nope' at line 1 column 4"},
    {&mini, "[1,2]", FE "expected a JSON object, got an array"},
    {&mini, "{\"limit\":1,\"limit\":2,\"query_vector\":[1,2,3,4]}",
     FE "duplicate object key near '\"limit\"' at line 1 column 18"},
    {&mini, "{}", FE "missing field `query_vector`"},
    {&mini, "{\"query_vector\":null}", FE "missing field `query_vector`"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"vector\":[1]}",
     FE "unknown field `vector`, expected one of `query_vector`, `limit`, `filter`, "
        "`with_payload`, `score_threshold`, `offset`"},
    {&mini, "{\"query_vector\":\"abc\"}",
     FE "query_vector: expected an array of numbers, got a string"},
    {&mini, "{\"query_vector\":[1,2,3]}", WI "model mini expects 4 dimensions, got 3"},
    {&mini, "{\"query_vector\":[]}", WI "model mini expects 4 dimensions, got 0"},
    {&mini, "{\"query_vector\":[1,2,\"3\",4]}",
     WI "query_vector[2]: expected a number, got a string"},
    {&mini, "{\"query_vector\":[1,null,3,4]}", WI "query_vector[1]: expected a number, got null"},
    {&mini, "{\"query_vector\":[[1],2,3,4]}",
     WI "query_vector[0]: expected a number, got an array"},
    {&mini, "{\"query_vector\":[1,2,3,true]}",
     WI "query_vector[3]: expected a number, got a boolean"},
    {&mini, "{\"query_vector\":[1,2,3,1e39]}",
     WI "query_vector[3]: 1e+39 is not a finite 32-bit float"},
    {&mini, "{\"query_vector\":[1,2,-1e300,4]}",
     WI "query_vector[2]: -1e+300 is not a finite 32-bit float"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"limit\":0}", WI "limit must be at least 1, got 0"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"limit\":-5}", WI "limit must be at least 1, got -5"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"limit\":101}",
     WI "limit 101 is over the maximum of 100 for model mini"},
    {&named, "{\"query_vector\":[1,2,3],\"limit\":6}",
     WI "limit 6 is over the maximum of 5 for model img"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"limit\":2.5}",
     FE "limit: expected a positive integer, got a number"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"limit\":\"5\"}",
     FE "limit: expected a positive integer, got a string"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"filter\":[]}",
     FE "filter: expected an object, got an array"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"with_payload\":1}",
     FE "with_payload: expected a boolean, a list of fields or an include/exclude object, got a "
        "number"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"score_threshold\":\"high\"}",
     FE "score_threshold: expected a number, got a string"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"offset\":1.5}",
     FE "offset: expected an integer, got a number"},
    {&mini, "{\"query_vector\":[1,2,3,4],\"offset\":-1}", WI "offset must be 0 or more, got -1"},
};

START_TEST(test_translate_bad)
{
    char err[ERRLEN] = "";
    gw_model_plan_t plan;
    int status;
    char *out =
        translate(bad_searches[_i].m, 0, bad_searches[_i].body, &plan, &status, err, sizeof err);

    ck_assert_ptr_null(out);
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(err, bad_searches[_i].want);
}
END_TEST

START_TEST(test_translate_batch)
{
    char err[ERRLEN] = "", *out, big[8192];
    gw_model_plan_t plan;
    size_t o, i;
    int status;

    out = translate(&named, 1,
                    "{\"searches\":[{\"query_vector\":[1,2,3]},{\"query_vector\":[0,0,1],"
                    "\"with_payload\":true,\"limit\":5}]}",
                    &plan, &status, err, sizeof err);
    ck_assert_msg(status == 0, "%s", err);
    ck_assert_str_eq(out,
                     "{\"searches\":[{\"query\":[1,2,3],\"using\":\"clip\",\"limit\":2},"
                     "{\"query\":[0,0,1],\"using\":\"clip\",\"limit\":5,\"with_payload\":true}]}");
    ck_assert_int_eq(plan.batch, 1);
    ck_assert_uint_eq(plan.n, 2);
    ck_assert_int_eq(plan.payload[0], 0);
    ck_assert_int_eq(plan.payload[1], 1);
    free(out);
    /* exactly GW_MODELS_MAX_BATCH is fine, one more is not */
    o = (size_t)snprintf(big, sizeof big, "{\"searches\":[");
    for (i = 0; i < GW_MODELS_MAX_BATCH; i++)
        o +=
            (size_t)snprintf(big + o, sizeof big - o, "%s{\"query_vector\":[1,2,3]}", i ? "," : "");
    snprintf(big + o, sizeof big - o, "]}");
    out = translate(&named, 1, big, &plan, &status, err, sizeof err);
    ck_assert_msg(status == 0, "%s", err);
    ck_assert_uint_eq(plan.n, GW_MODELS_MAX_BATCH);
    free(out);
    snprintf(big + o, sizeof big - o, ",{\"query_vector\":[1,2,3]}]}");
    ck_assert_ptr_null(translate(&named, 1, big, &plan, &status, err, sizeof err));
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(err, WI "searches must hold 1 to 100 searches, got 101");
}
END_TEST

static const struct {
    const char *body, *want;
} bad_batches[] = {
    {"{\"searches\":[]}", WI "searches must hold 1 to 100 searches, got 0"},
    {"{}", FE "missing field `searches`"},
    {"{\"searches\":{}}", FE "searches: expected an array, got an object"},
    {"{\"searches\":[],\"limit\":3}", FE "unknown field `limit`, expected `searches`"},
    {"{\"searches\":[{\"query_vector\":[1,2,3]},{\"query_vector\":[1,2,3]},{\"query_vector\":[1,2]}"
     "]}",
     WI "searches[2]: model img expects 3 dimensions, got 2"},
    {"{\"searches\":[{\"query_vector\":[1,2,3],\"limit\":9}]}",
     WI "searches[0]: limit 9 is over the maximum of 5 for model img"},
    {"{\"searches\":[{\"query_vector\":[1,2,3]},{\"query_vector\":[1,\"x\",3]}]}",
     WI "searches[1]: query_vector[1]: expected a number, got a string"},
    {"{\"searches\":[{\"query_vector\":[1,2,3]},{\"query\":[1,2,3]}]}",
     FE "searches[1]: unknown field `query`, expected one of `query_vector`, `limit`, `filter`, "
        "`with_payload`, `score_threshold`, `offset`"},
    {"{\"searches\":[{\"query_vector\":[1,2,3]},[1,2,3]]}",
     FE "searches[1]: expected an object, got an array"},
    {"{\"searches\":[{}]}", FE "searches[0]: missing field `query_vector`"},
};

START_TEST(test_translate_batch_bad)
{
    char err[ERRLEN] = "";
    gw_model_plan_t plan;
    int status;

    ck_assert_ptr_null(translate(&named, 1, bad_batches[_i].body, &plan, &status, err, sizeof err));
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(err, bad_batches[_i].want);
}
END_TEST

/* ---------------------------------------------------------------- answers */

static char *answer(const gw_model_t *m, const gw_model_plan_t *plan, const char *body)
{
    size_t len = 0;
    char *out = gw_models_answer(m, plan, body, strlen(body), 0.25, &len);

    if (out) ck_assert_uint_eq(len, strlen(out));
    return out;
}

START_TEST(test_answer)
{
    static const char points[] =
        "{\"result\":{\"points\":[{\"id\":4,\"version\":2,\"score\":0.9,\"payload\":{\"city\":"
        "\"London\",\"n\":1.5}},{\"id\":\"2b0c8a5e-0b7f-4e0e-9a53-16ea1d5bd1a1\",\"version\":0,"
        "\"score\":-1.25}]},\"status\":\"ok\",\"time\":0.001}";
    gw_model_plan_t plan = {.batch = 0, .n = 1, .payload = {1}};
    char *out;

    out = answer(&mini, &plan, points);
    ck_assert_str_eq(out,
                     "{\"result\":{\"model\":\"mini\",\"collection\":\"docs\",\"hits\":[{\"id\":"
                     "4,\"score\":0.9,\"payload\":{\"city\":\"London\",\"n\":1.5}},{\"id\":\""
                     "2b0c8a5e-0b7f-4e0e-9a53-16ea1d5bd1a1\",\"score\":-1.25,\"payload\":{}}]},"
                     "\"status\":\"ok\",\"time\":0.25}");
    free(out);
    plan.payload[0] = 0; /* payload only when asked for */
    out = answer(&mini, &plan, points);
    ck_assert_str_eq(out,
                     "{\"result\":{\"model\":\"mini\",\"collection\":\"docs\",\"hits\":[{\"id\":"
                     "4,\"score\":0.9},{\"id\":\"2b0c8a5e-0b7f-4e0e-9a53-16ea1d5bd1a1\",\"score\""
                     ":-1.25}]},\"status\":\"ok\",\"time\":0.25}");
    free(out);
    out = answer(&mini, &plan, "{\"result\":{\"points\":[]},\"status\":\"ok\",\"time\":0}");
    ck_assert_str_eq(out, "{\"result\":{\"model\":\"mini\",\"collection\":\"docs\",\"hits\":[]},"
                          "\"status\":\"ok\",\"time\":0.25}");
    free(out);
    /* not Qdrant's answer */
    ck_assert_ptr_null(answer(&mini, &plan, "not json"));
    ck_assert_ptr_null(answer(&mini, &plan, "{\"result\":[]}"));
    ck_assert_ptr_null(answer(&mini, &plan, "{\"result\":{\"points\":[{\"id\":1}]}}"));
    ck_assert_ptr_null(answer(&mini, &plan, "{\"result\":{\"points\":[{\"score\":1}]}}"));
}
END_TEST

START_TEST(test_answer_batch)
{
    static const char batches[] =
        "{\"result\":[{\"points\":[{\"id\":1,\"version\":0,\"score\":1.0,\"payload\":{\"a\":1}}]},"
        "{\"points\":[{\"id\":2,\"version\":0,\"score\":0.5,\"payload\":{\"a\":2}}]}],"
        "\"status\":\"ok\",\"time\":0.001}";
    gw_model_plan_t plan = {.batch = 1, .n = 2, .payload = {0, 1}};
    char *out = answer(&named, &plan, batches);

    ck_assert_str_eq(out,
                     "{\"result\":{\"model\":\"img\",\"collection\":\"pics\",\"batches\":["
                     "{\"hits\":[{\"id\":1,\"score\":1.0}]},{\"hits\":[{\"id\":2,\"score\":0.5,"
                     "\"payload\":{\"a\":2}}]}]},\"status\":\"ok\",\"time\":0.25}");
    free(out);
    plan.n = 3; /* one answer per search, no more, no less */
    ck_assert_ptr_null(answer(&named, &plan, batches));
    plan.n = 1;
    ck_assert_ptr_null(answer(&named, &plan, batches));
}
END_TEST

START_TEST(test_upstream_error)
{
    static const char env[] =
        "{\"status\":{\"error\":\"Not found: Collection `x` doesn't exist!\"},"
        "\"time\":0.0}";
    static const char plain[] = "Must provide an API key or an Authorization bearer token\n";
    char buf[256];

    gw_models_upstream_error(404, env, strlen(env), buf, sizeof buf);
    ck_assert_str_eq(buf, "Not found: Collection `x` doesn't exist!");
    gw_models_upstream_error(401, plain, strlen(plain), buf, sizeof buf);
    ck_assert_str_eq(buf, "Must provide an API key or an Authorization bearer token");
    gw_models_upstream_error(404, "", 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "upstream answered 404");
    gw_models_upstream_error(500, "a\x01b", 3, buf, sizeof buf);
    ck_assert_str_eq(buf, "upstream answered 500");
}
END_TEST

/* ---------------------------------------------------------------- model states, collections */

#define INFO(vectors)                                                                              \
    "{\"result\":{\"status\":\"green\",\"points_count\":12,\"config\":{\"params\":{"               \
    "\"vectors\":" vectors ",\"shard_number\":1}}},\"status\":\"ok\",\"time\":0.0}"

static const char single4[] = INFO("{\"size\":4,\"distance\":\"Dot\"}");
static const char single7[] = INFO("{\"size\":7,\"distance\":\"Cosine\"}");
static const char named3[] = INFO("{\"clip\":{\"size\":3,\"distance\":\"Cosine\"},\"size\":"
                                  "{\"size\":2,\"distance\":\"Dot\"}}");
static const char named9[] = INFO("{\"clip\":{\"size\":9,\"distance\":\"Cosine\"}}");
static const char noclip[] = INFO("{\"text\":{\"size\":3,\"distance\":\"Cosine\"}}");

static const struct {
    const gw_model_t *m;
    int status;
    const char *body, *error, *state, *detail;
} states[] = {
    {&mini, 200, single4, NULL, "ready", ""},
    {&mini, 200, single7, NULL, "dimension mismatch",
     "collection docs has 7-dimensional vectors, the model 4"},
    {&mini, 200, named3, NULL, "dimension mismatch",
     "collection docs has only named vectors: set models.mini.vector"},
    {&named, 200, named3, NULL, "ready", ""},
    {&named, 200, named9, NULL, "dimension mismatch",
     "collection pics has 9-dimensional vectors, the model 3"},
    {&named, 200, noclip, NULL, "dimension mismatch", "collection pics has no vector named clip"},
    {&named, 200, single4, NULL, "dimension mismatch",
     "collection pics has one unnamed vector, not one named clip"},
    {&mini, 404, "{\"status\":{\"error\":\"Not found: Collection `docs` doesn't exist!\"}}", NULL,
     "collection missing", "collection docs does not exist"},
    {&mini, 401, "Invalid API key or JWT", NULL, "unknown",
     "upstream answered 401: Invalid API key or JWT"},
    {&mini, 200, "{\"result\":{}}", NULL, "unknown", "unexpected collection info from upstream"},
    {&mini, 0, "", "no answer from upstream in time", "unknown", "no answer from upstream in time"},
};

START_TEST(test_state)
{
    char detail[256] = "x";
    const char *state =
        gw_models_state(states[_i].m, states[_i].status, states[_i].body, strlen(states[_i].body),
                        states[_i].error, detail, sizeof detail);

    ck_assert_str_eq(state, states[_i].state);
    ck_assert_str_eq(detail, states[_i].detail);
}
END_TEST

START_TEST(test_model_json)
{
    json_t *j = gw_models_model_json(&named, "ready", "");
    size_t len;
    char *text = gw_models_dump(j, &len);

    ck_assert_str_eq(text, "{\"name\":\"img\",\"collection\":\"pics\",\"vector\":\"clip\","
                           "\"dimension\":3,\"default_limit\":2,\"max_limit\":5,\"state\":"
                           "\"ready\",\"detail\":null}");
    free(text);
    json_decref(j);
    j = gw_models_model_json(&mini, "unknown", "why");
    text = gw_models_dump(j, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"state\":\"unknown\",\"detail\":\"why\"}"));
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(test_collections)
{
    static const char list[] =
        "{\"result\":{\"collections\":[{\"name\":\"a\"},{\"name\":\"b c\"}]},"
        "\"status\":\"ok\",\"time\":0.0}";
    gw_model_t models[3] = {mini, named, {"other", "docs", "", 4, 1, 1}};
    gw_config_t cfg;
    json_t *j;
    size_t len;
    char *text;

    memset(&cfg, 0, sizeof cfg);
    cfg.models = models;
    cfg.nmodels = 3;
    j = gw_models_collection_names(list, strlen(list));
    text = gw_models_dump(j, &len);
    ck_assert_str_eq(text, "[\"a\",\"b c\"]");
    free(text);
    json_decref(j);
    ck_assert_ptr_null(gw_models_collection_names("{\"result\":{}}", 13));
    ck_assert_ptr_null(gw_models_collection_names("{\"result\":{\"collections\":[{}]}}", 31));

    j = gw_models_collection_json(&cfg, "docs", 200, single4, strlen(single4), NULL);
    text = gw_models_dump(j, &len);
    ck_assert_str_eq(text, "{\"name\":\"docs\",\"points_count\":12,\"vectors\":{\"size\":4,"
                           "\"distance\":\"Dot\"},\"models\":[\"mini\",\"other\"]}");
    free(text);
    json_decref(j);
    j = gw_models_collection_json(&cfg, "pics", 200, named3, strlen(named3), NULL);
    text = gw_models_dump(j, &len);
    ck_assert_str_eq(text,
                     "{\"name\":\"pics\",\"points_count\":12,\"vectors\":{\"clip\":{\"size\":3,"
                     "\"distance\":\"Cosine\"},\"size\":{\"size\":2,\"distance\":\"Dot\"}},"
                     "\"models\":[\"img\"]}");
    free(text);
    json_decref(j);
    j = gw_models_collection_json(&cfg, "zz", 0, "", 0, "no answer from upstream in time");
    text = gw_models_dump(j, &len);
    ck_assert_str_eq(text, "{\"name\":\"zz\",\"points_count\":null,\"vectors\":null,\"models\":[],"
                           "\"error\":\"no answer from upstream in time\"}");
    free(text);
    json_decref(j);
    j = gw_models_collection_json(&cfg, "zz", 403, "Forbidden: nope", 15, NULL);
    text = gw_models_dump(j, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"error\":\"Forbidden: nope\"}"));
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(test_envelope)
{
    size_t len = 0;
    char *text = gw_models_envelope(json_pack("{s:[]}", "models"), 1.5, &len);

    ck_assert_str_eq(text, "{\"result\":{\"models\":[]},\"status\":\"ok\",\"time\":1.5}");
    free(text);
    ck_assert_ptr_null(gw_models_envelope(NULL, 0, &len));
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *models_suite(void)
{
    Suite *s = suite_create("models");
    TCase *basics = tcase_create("basics"), *translation = tcase_create("translation");
    TCase *answers = tcase_create("answers"), *meta = tcase_create("meta");

    tcase_add_test(basics, test_find);
    tcase_add_test(basics, test_dump);
    tcase_add_test(basics, test_envelope);
    tcase_add_loop_test(translation, test_translate_good, 0, (int)NELEM(good_searches));
    tcase_add_loop_test(translation, test_translate_bad, 0, (int)NELEM(bad_searches));
    tcase_add_test(translation, test_translate_batch);
    tcase_add_loop_test(translation, test_translate_batch_bad, 0, (int)NELEM(bad_batches));
    tcase_add_test(answers, test_answer);
    tcase_add_test(answers, test_answer_batch);
    tcase_add_test(answers, test_upstream_error);
    tcase_add_loop_test(meta, test_state, 0, (int)NELEM(states));
    tcase_add_test(meta, test_model_json);
    tcase_add_test(meta, test_collections);
    suite_add_tcase(s, basics);
    suite_add_tcase(s, translation);
    suite_add_tcase(s, answers);
    suite_add_tcase(s, meta);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(models_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
