/* Unit tests for gateway/cache/l2filter.c and l2gens.c: what the Redis lookup may skip. */
#include "gateway/cache/l2filter.h"
#include "gateway/cache/l2gens.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static void key_of(unsigned n, unsigned char k[16])
{
    /* spread like a SHA-256 prefix would be */
    uint64_t a = (n + 1) * 0x9e3779b97f4a7c15ull, b = (n + 7) * 0xc2b2ae3d27d4eb4full;
    memcpy(k, &a, 8);
    memcpy(k + 8, &b, 8);
}

START_TEST(filter_says_maybe_until_it_listened_a_period)
{
    uint64_t t = 1000000, period = 5000000;
    gw_l2filter_t *f = gw_l2filter_new(12, period, t);
    unsigned char k[16];
    key_of(1, k);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t), 1);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + period - 1), 1);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + period), 0);
    gw_l2filter_add(f, k, t + period);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + period + 1), 1);
    /* a reset (lost announcements): maybe again for a whole period */
    gw_l2filter_reset(f, t + period + 2);
    key_of(2, k);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + 2 * period + 1), 1);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + 2 * period + 3), 0);
    gw_l2filter_free(f);
}
END_TEST

START_TEST(filter_forgets_after_two_periods_and_rarely_errs)
{
    uint64_t t = 0, period = 1000;
    gw_l2filter_t *f = gw_l2filter_new(16, period, t);
    t = period; /* complete */
    unsigned char k[16];
    for (unsigned i = 0; i < 2000; i++) {
        key_of(i, k);
        gw_l2filter_add(f, k, t);
    }
    for (unsigned i = 0; i < 2000; i++) {
        key_of(i, k);
        ck_assert_int_eq(gw_l2filter_may_have(f, k, t), 1); /* never a false "no" */
    }
    unsigned fp = 0;
    for (unsigned i = 100000; i < 110000; i++) {
        key_of(i, k);
        fp += (unsigned)gw_l2filter_may_have(f, k, t);
    }
    ck_assert_uint_lt(fp, 100); /* 2 bits of 65536 per key, 2000 keys: about 0.1 % */
    /* one rotation later they are still there (the previous half), two later gone */
    key_of(5, k);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + period), 1);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + 2 * period), 0);
    gw_l2filter_free(f);
}
END_TEST

START_TEST(complete_filter_says_first_seen_at_once)
{
    uint64_t t = 1000000, period = 5000000;
    gw_l2filter_t *f = gw_l2filter_new(12, period, t);
    gw_l2filter_complete(f); /* cache.min_uses: no "maybe" while it fills */
    unsigned char k[16], k2[16];
    key_of(1, k);
    key_of(2, k2);
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t), 0);
    ck_assert_int_eq(gw_l2filter_check_add(f, k, t), 0);     /* first use */
    ck_assert_int_eq(gw_l2filter_check_add(f, k, t + 1), 1); /* second */
    ck_assert_int_eq(gw_l2filter_check_add(f, k, t + 2), 1);
    ck_assert_int_eq(gw_l2filter_check_add(f, k2, t + 3), 0); /* another read: first again */
    /* remembered for one period at least, forgotten after two */
    ck_assert_int_eq(gw_l2filter_may_have(f, k, t + period + 1), 1);
    ck_assert_int_eq(gw_l2filter_check_add(f, k, t + 3 * period), 0);
    gw_l2filter_free(f);
}
END_TEST

START_TEST(announcement_text_round_trips_and_bad_text_is_refused)
{
    unsigned char k[16], back[16];
    char text[33];
    key_of(42, k);
    gw_l2filter_format(k, text);
    ck_assert_uint_eq(strlen(text), 32);
    ck_assert_int_eq(gw_l2filter_parse(text, 32, back), 0);
    ck_assert_mem_eq(k, back, 16);
    ck_assert_int_eq(gw_l2filter_parse(text, 31, back), -1);
    text[3] = 'G';
    ck_assert_int_eq(gw_l2filter_parse(text, 32, back), -1);
    text[3] = 'A'; /* upper case is not what we write */
    ck_assert_int_eq(gw_l2filter_parse(text, 32, back), -1);
}
END_TEST

START_TEST(gens_set_get_forget)
{
    gw_l2gens_t *g = gw_l2gens_new(8);
    uint64_t v = 0;
    ck_assert_int_eq(gw_l2gens_get(g, "c", &v), 0);
    gw_l2gens_set(g, "c", 7);
    gw_l2gens_set(g, "*", 3);
    ck_assert_int_eq(gw_l2gens_get(g, "c", &v), 1);
    ck_assert_uint_eq(v, 7);
    gw_l2gens_set(g, "c", 8);
    ck_assert_int_eq(gw_l2gens_get(g, "c", &v), 1);
    ck_assert_uint_eq(v, 8);
    gw_l2gens_forget(g, "c");
    ck_assert_int_eq(gw_l2gens_get(g, "c", &v), 0);
    ck_assert_int_eq(gw_l2gens_get(g, "*", &v), 1);
    gw_l2gens_forget(g, "*"); /* a global bump or a resync: everything */
    ck_assert_int_eq(gw_l2gens_get(g, "*", &v), 0);
    /* many names, forgetting some: the others stay findable (open addressing) */
    char name[16];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        gw_l2gens_set(g, name, (uint64_t)i);
    }
    gw_l2gens_forget(g, "n3");
    gw_l2gens_forget(g, "n5");
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        int known = gw_l2gens_get(g, name, &v);
        ck_assert_int_eq(known, i != 3 && i != 5);
        if (known) ck_assert_uint_eq(v, (uint64_t)i);
    }
    /* past the bound it starts over rather than grow */
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        gw_l2gens_set(g, name, 1);
    }
    ck_assert_int_eq(gw_l2gens_get(g, "m99", &v), 1);
    ck_assert_int_eq(gw_l2gens_get(g, "n0", &v), 0);
    gw_l2gens_free(g);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("l2filter");
    TCase *tc = tcase_create("l2filter");
    tcase_add_test(tc, filter_says_maybe_until_it_listened_a_period);
    tcase_add_test(tc, filter_forgets_after_two_periods_and_rarely_errs);
    tcase_add_test(tc, complete_filter_says_first_seen_at_once);
    tcase_add_test(tc, announcement_text_round_trips_and_bad_text_is_refused);
    tcase_add_test(tc, gens_set_get_forget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(filter_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
