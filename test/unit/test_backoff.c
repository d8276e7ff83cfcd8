/* Unit tests for common/backoff: delays stay within [d/2, d] of a doubling d, stop at the cap,
 * start again from the minimum after a reset, and differ between seeds (the jitter). */
#include "common/backoff.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_doubles_to_cap_with_jitter)
{
    gw_backoff_t b;
    gw_backoff_init(&b, 100, 1000, 7);
    uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint64_t d = gw_backoff_next(&b);
        ck_assert_uint_ge(d, want[i] / 2);
        ck_assert_uint_le(d, want[i]);
    }
    gw_backoff_reset(&b);
    uint64_t d = gw_backoff_next(&b);
    ck_assert_uint_ge(d, 50);
    ck_assert_uint_le(d, 100);
}
END_TEST

START_TEST(test_seeds_spread)
{
    gw_backoff_t a, b;
    int differ = 0;
    for (int round = 0; round < 8; round++) {
        gw_backoff_init(&a, 1000, 1000, 1);
        gw_backoff_init(&b, 1000, 1000, 2);
        for (int i = 0; i < 4; i++)
            differ += gw_backoff_next(&a) != gw_backoff_next(&b);
    }
    ck_assert_int_gt(differ, 0);
}
END_TEST

START_TEST(test_degenerate_bounds)
{
    gw_backoff_t b;
    gw_backoff_init(&b, 0, 0, 0); /* clamped to 1 ms, a fixed seed */
    for (int i = 0; i < 100; i++)
        ck_assert_uint_le(gw_backoff_next(&b), 1);
    gw_backoff_init(&b, UINT64_MAX / 2 + 2, UINT64_MAX, 3); /* no overflow at the top */
    for (int i = 0; i < 4; i++)
        ck_assert_uint_ge(gw_backoff_next(&b), UINT64_MAX / 8);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, test_doubles_to_cap_with_jitter);
    tcase_add_test(tc, test_seeds_spread);
    tcase_add_test(tc, test_degenerate_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
