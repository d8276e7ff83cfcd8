/* Unit tests for gateway/models_memo: through the memo, translations and answers are byte for
 * byte what the plain functions give, first time and repeated, and nothing leaks between
 * models, plans, bodies or search kinds. */
#include "gateway/handler/models_memo.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static gw_model_t mini = {"mini", "docs", "", 4, 10, 100};
static gw_model_t other = {"other", "docs", "", 4, 10, 100};

static const char *ANSWER = "{\"result\":{\"points\":[{\"id\":7,\"version\":1,\"score\":0.5,"
                            "\"payload\":{\"t\":\"x\"}},{\"id\":\"a-b\",\"score\":0.25}]},"
                            "\"status\":\"ok\",\"time\":0.001}";

static void check_translate(gw_models_memo_t *m, const gw_model_t *model, int batch,
                            const char *body)
{
    gw_model_plan_t p1, p2;
    char *q1 = NULL, *q2 = NULL, e1[256] = "", e2[256] = "";
    size_t l1 = 0, l2 = 0;
    int s1 = gw_models_translate(model, batch, body, strlen(body), &p1, &q1, &l1, e1, sizeof e1);
    int s2 =
        gw_models_translate_memo(m, model, batch, body, strlen(body), &p2, &q2, &l2, e2, sizeof e2);
    ck_assert_int_eq(s1, s2);
    if (s1 == 0) {
        ck_assert_uint_eq(l1, l2);
        ck_assert_mem_eq(q1, q2, l1);
        ck_assert_int_eq(p1.batch, p2.batch);
        ck_assert_uint_eq(p1.n, p2.n);
        ck_assert_mem_eq(p1.payload, p2.payload, p1.n);
    } else {
        ck_assert_str_eq(e1, e2);
    }
    free(q1);
    free(q2);
}

START_TEST(test_translate_same_as_plain)
{
    gw_models_memo_t *m = gw_models_memo_new();
    const char *bodies[] = {
        "{\"query_vector\":[1,2,3,4]}",
        "{\"query_vector\":[1,2,3,4],\"limit\":3,\"with_payload\":true}",
        "{\"query_vector\":[1,2,3]}", /* wrong dimension: an error, never kept */
        "{\"query_vector\":[1,2,3,4],\"limit\":1000}",
        "not json",
    };
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
            check_translate(m, &mini, 0, bodies[i]);
            check_translate(m, &other, 0, bodies[i]);
        }
    for (int round = 0; round < 2; round++)
        check_translate(m, &mini, 1,
                        "{\"searches\":[{\"query_vector\":[1,2,3,4]},"
                        "{\"query_vector\":[4,3,2,1],\"with_payload\":true}]}");
    gw_models_memo_free(m);
}
END_TEST

static char *answer(gw_models_memo_t *m, const gw_model_t *model, const gw_model_plan_t *plan,
                    const char *body, size_t *len)
{
    return m ? gw_models_answer_memo(m, model, plan, body, strlen(body), 0.5, len)
             : gw_models_answer(model, plan, body, strlen(body), 0.5, len);
}

START_TEST(test_answer_same_as_plain)
{
    gw_models_memo_t *m = gw_models_memo_new();
    gw_model_plan_t with = {0, 1, {1}}, without = {0, 1, {0}};
    const gw_model_t *models[] = {&mini, &other};
    const gw_model_plan_t *plans[] = {&with, &without};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 2; j++) {
                size_t l1 = 0, l2 = 0;
                char *a1 = answer(NULL, models[i], plans[j], ANSWER, &l1);
                char *a2 = answer(m, models[i], plans[j], ANSWER, &l2);
                ck_assert_ptr_nonnull(a1);
                ck_assert_ptr_nonnull(a2);
                ck_assert_uint_eq(l1, l2);
                ck_assert_mem_eq(a1, a2, l1);
                ck_assert_uint_eq(strlen(a2), l2);
                free(a1);
                free(a2);
            }
    /* a body that is not Qdrant's answer stays an error, also after good ones */
    size_t len = 0;
    ck_assert_ptr_null(answer(m, &mini, &with, "{\"result\":42}", &len));
    /* the time is the caller's each time, not the memo's */
    char *a = gw_models_answer_memo(m, &mini, &with, ANSWER, strlen(ANSWER), 2.25, &len);
    ck_assert_ptr_nonnull(strstr(a, "\"time\":2.25}"));
    free(a);
    gw_models_memo_free(m);
}
END_TEST

START_TEST(test_no_memo)
{
    size_t len = 0;
    gw_model_plan_t plan = {0, 1, {0}};
    char *a = gw_models_answer_memo(NULL, &mini, &plan, ANSWER, strlen(ANSWER), 1, &len);
    ck_assert_ptr_nonnull(a);
    free(a);
    gw_models_memo_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("models_memo");
    TCase *tc = tcase_create("memo");
    tcase_add_test(tc, test_translate_same_as_plain);
    tcase_add_test(tc, test_answer_same_as_plain);
    tcase_add_test(tc, test_no_memo);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
