/* Unit tests for common/prom.c and common/stat.h: histogram bucketing, the exposition text, label
 * escaping, and merging other exporters' text with an extra label. */
#include "common/prom.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(hist_bucket_bounds)
{
    ck_assert_int_eq(gw_hist_index(0), 0);
    ck_assert_int_eq(gw_hist_index(50), 0); /* le="5e-05" includes 50 us */
    ck_assert_int_eq(gw_hist_index(51), 1);
    ck_assert_int_eq(gw_hist_index(1000), 4);
    ck_assert_int_eq(gw_hist_index(1001), 5);
    ck_assert_int_eq(gw_hist_index(10000000), GW_HIST_BOUNDS - 1);
    ck_assert_int_eq(gw_hist_index(10000001), GW_HIST_BOUNDS); /* +Inf */
    for (int i = 1; i < GW_HIST_BOUNDS; i++)
        ck_assert_uint_gt(gw_hist_bounds_us[i], gw_hist_bounds_us[i - 1]);
}
END_TEST

START_TEST(histogram_text)
{
    gw_hist_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    gw_hist_observe(&a, 40);       /* 5e-05 */
    gw_hist_observe(&a, 700);      /* 0.001 */
    gw_hist_observe(&b, 3000000);  /* 5 */
    gw_hist_observe(&b, 99000000); /* +Inf */
    const gw_hist_t *h[] = {&a, &b};
    gw_text_t t = {0};
    gw_prom_histogram(&t, "x_seconds", "k=\"v\"", h, 2);
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"5e-05\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"0.0005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"0.001\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"2.5\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"5\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"10\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_sum{k=\"v\"} 102.000740000\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "x_seconds_count{k=\"v\"} 4\n"));
    gw_text_free(&t);
    gw_prom_histogram(&t, "y", NULL, h, 1);
    ck_assert_ptr_nonnull(strstr(t.p, "y_bucket{le=\"+Inf\"} 2\ny_sum 0.000740000\ny_count 2\n"));
    gw_text_free(&t);
}
END_TEST

START_TEST(samples_and_escaping)
{
    gw_text_t t = {0};
    char esc[64];
    gw_prom_escape("a\"b\\c\nd", esc, sizeof(esc));
    ck_assert_str_eq(esc, "a\\\"b\\\\c\\nd");
    gw_prom_family(&t, "m_total", "counter", "Things.");
    gw_prom_sample_u64(&t, "m_total", "a=\"1\"", 18446744073709551615ull);
    gw_prom_sample(&t, "g", NULL, 0.5);
    ck_assert_str_eq(t.p, "# HELP m_total Things.\n# TYPE m_total counter\n"
                          "m_total{a=\"1\"} 18446744073709551615\ng 0.5\n");
    gw_text_free(&t);
}
END_TEST

static const char node_a[] =
    "# HELP collections_total number of collections\n"
    "# TYPE collections_total gauge\n"
    "collections_total 3\n"
    "# HELP rest_responses_total total number of responses\n"
    "# TYPE rest_responses_total counter\n"
    "rest_responses_total{method=\"GET\",endpoint=\"/a\"} 7\n"
    "# TYPE lat histogram\n"
    "lat_bucket{le=\"1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 3.5\nlat_count 2\n"
    "process_cpu_seconds_total 99\n"
    "this is not a sample\n"
    "bad{unterminated=\"x} 1\n";
static const char node_b[] = "# HELP rest_responses_total other help\n"
                             "# TYPE rest_responses_total counter\n"
                             "rest_responses_total{method=\"POST\"} 1 1700000000000\r\n"
                             "collections_total 5\n";

START_TEST(merge_relabels_and_groups_families)
{
    static const char *const reserved[] = {"process_cpu_seconds_total", NULL};
    gw_prom_merge_t *m = gw_prom_merge_new();
    ck_assert_uint_eq(gw_prom_merge_add(m, node_a, strlen(node_a), "upstream", "a:6333", reserved),
                      2);
    ck_assert_uint_eq(gw_prom_merge_add(m, node_b, strlen(node_b), "upstream", "b:6333", reserved),
                      0);
    gw_text_t t = {0};
    gw_prom_merge_write(m, &t);
    gw_prom_merge_free(m);
    ck_assert_str_eq(t.p,
                     "# HELP collections_total number of collections\n"
                     "# TYPE collections_total gauge\n"
                     "collections_total{upstream=\"a:6333\"} 3\n"
                     "collections_total{upstream=\"b:6333\"} 5\n"
                     "# HELP rest_responses_total total number of responses\n"
                     "# TYPE rest_responses_total counter\n"
                     "rest_responses_total{upstream=\"a:6333\",method=\"GET\",endpoint=\"/a\"} 7\n"
                     "rest_responses_total{upstream=\"b:6333\",method=\"POST\"} 1 1700000000000\n"
                     "# TYPE lat histogram\n"
                     "lat_bucket{upstream=\"a:6333\",le=\"1\"} 1\n"
                     "lat_bucket{upstream=\"a:6333\",le=\"+Inf\"} 2\n"
                     "lat_sum{upstream=\"a:6333\"} 3.5\n"
                     "lat_count{upstream=\"a:6333\"} 2\n");
    gw_text_free(&t);
}
END_TEST

START_TEST(merge_drops_reserved_prefixes)
{
    static const char text[] = "# TYPE app_x counter\napp_x 1\nok 2\napp 3\n";
    static const char *const reserved[] = {"app_*", "app", NULL};
    gw_prom_merge_t *m = gw_prom_merge_new();
    gw_prom_merge_add(m, text, strlen(text), "upstream", "q\"x", reserved);
    gw_text_t t = {0};
    gw_prom_merge_write(m, &t);
    gw_prom_merge_free(m);
    ck_assert_str_eq(t.p, "ok{upstream=\"q\\\"x\"} 2\n");
    gw_text_free(&t);
}
END_TEST

/* A NUL inside a label value would cut the relabelled copy short (found by fuzz_prom_merge):
 * the line is dropped as malformed, the others kept. */
START_TEST(merge_drops_lines_with_nul)
{
    static const char text[] = "a{b=\"x\0y\"} 1\nok 2\n";
    gw_prom_merge_t *m = gw_prom_merge_new();
    ck_assert_uint_eq(gw_prom_merge_add(m, text, sizeof(text) - 1, "upstream", "n1", NULL), 1);
    gw_text_t t = {0};
    gw_prom_merge_write(m, &t);
    gw_prom_merge_free(m);
    ck_assert_str_eq(t.p, "ok{upstream=\"n1\"} 2\n");
    gw_text_free(&t);
}
END_TEST

static Suite *prom_suite(void)
{
    Suite *s = suite_create("prom");
    TCase *tc = tcase_create("prom");
    tcase_add_test(tc, hist_bucket_bounds);
    tcase_add_test(tc, histogram_text);
    tcase_add_test(tc, samples_and_escaping);
    tcase_add_test(tc, merge_relabels_and_groups_families);
    tcase_add_test(tc, merge_drops_reserved_prefixes);
    tcase_add_test(tc, merge_drops_lines_with_nul);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prom_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
