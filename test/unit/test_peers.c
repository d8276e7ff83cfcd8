/* Unit tests for gateway/upstream/peers: power-of-two choices prefers the less loaded peer and
 * spreads ties, consecutive failures eject (and a success resets the count), ejections grow
 * with repeats up to the cap and reset after a long good spell, at most max_ejected_percent of
 * the peers are out, probes take peers out and let ejected ones back only after their time,
 * and with nobody available every peer is a candidate again (panic). Time is passed in. */
#include "gateway/upstream/peers.h"
#include "unit_util.h"

#include <check.h>

#define S 1000000ull /* one second in microseconds */

static gw_outlier_conf_t conf(unsigned fails, unsigned pct, int probing)
{
    return (gw_outlier_conf_t){.consecutive_failures = fails,
                               .base_ejection_us = 10 * S,
                               .max_ejection_us = 25 * S,
                               .max_ejected_percent = pct,
                               .probing = probing};
}

static void fail_n(gw_balancer_t *b, int i, int n, uint64_t now)
{
    for (int k = 0; k < n; k++) {
        gw_bal_start(b, i);
        gw_bal_done(b, i, GW_BAL_FAIL, now);
    }
}

START_TEST(test_two_choices_prefers_idle_and_spreads)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(5, 50, 0);
    gw_bal_init(&b, 3, &c, 42);
    int hits[3] = {0};
    for (int k = 0; k < 3000; k++)
        hits[gw_bal_pick(&b, 0, 0)]++;
    for (int i = 0; i < 3; i++)
        ck_assert_int_gt(hits[i], 700); /* idle peers: ties broken at random */
    /* Peer 0 busy: any pair holding it picks the other. */
    for (int k = 0; k < 5; k++)
        gw_bal_start(&b, 0);
    for (int k = 0; k < 1000; k++)
        ck_assert_int_ne(gw_bal_pick(&b, 0, 0), 0);
    ck_assert_int_eq(gw_bal_pick(&b, 0, 0x6), 0); /* only 0 left: exclusions win */
    ck_assert_int_eq(gw_bal_pick(&b, 0, 0x7), -1);
}
END_TEST

START_TEST(test_consecutive_failures_eject)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(3, 100, 0);
    gw_bal_init(&b, 3, &c, 1);
    fail_n(&b, 1, 2, 0);
    gw_bal_start(&b, 1);
    ck_assert_int_eq(gw_bal_done(&b, 1, GW_BAL_OK, 0), 0); /* a success resets the count */
    fail_n(&b, 1, 2, 0);
    ck_assert_int_eq(b.peer[1].state, GW_PEER_UP);
    gw_bal_start(&b, 1);
    ck_assert_int_eq(gw_bal_done(&b, 1, GW_BAL_NEUTRAL, 0), 0); /* says nothing */
    gw_bal_start(&b, 1);
    ck_assert_int_eq(gw_bal_done(&b, 1, GW_BAL_FAIL, 5), 1);
    ck_assert_int_eq(b.peer[1].state, GW_PEER_EJECTED);
    ck_assert_uint_eq(b.peer[1].out_until_us, 5 + 10 * S);
    ck_assert_uint_eq(b.peer[1].outstanding, 0);
    for (int k = 0; k < 500; k++)
        ck_assert_int_ne(gw_bal_pick(&b, 6, 0), 1);
    /* Without probes, its time ending is enough. */
    ck_assert_int_eq(gw_bal_available(&b, 1, 5 + 10 * S - 1), 0);
    ck_assert_int_eq(gw_bal_available(&b, 1, 5 + 10 * S), 1);
}
END_TEST

START_TEST(test_ejection_grows_and_resets)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(1, 100, 0);
    gw_bal_init(&b, 2, &c, 1);
    uint64_t t = 0, want[] = {10 * S, 20 * S, 25 * S, 25 * S};
    for (int k = 0; k < 4; k++) {
        fail_n(&b, 0, 1, t);
        ck_assert_int_eq(b.peer[0].state, GW_PEER_EJECTED);
        ck_assert_uint_eq(b.peer[0].out_until_us - t, want[k]);
        t = b.peer[0].out_until_us;
        ck_assert_int_eq(gw_bal_available(&b, 0, t), 1);
    }
    ck_assert_uint_eq(b.peer[0].ejections, 4);
    t += 25 * S; /* in for max_ejection: the next ejection starts from base again */
    fail_n(&b, 0, 1, t);
    ck_assert_uint_eq(b.peer[0].out_until_us - t, 10 * S);
}
END_TEST

START_TEST(test_max_ejected_percent)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(1, 50, 0);
    gw_bal_init(&b, 4, &c, 1);
    for (int i = 0; i < 4; i++)
        fail_n(&b, i, 1, 0);
    ck_assert_int_eq(gw_bal_ejected(&b), 2); /* half of four */
    gw_bal_init(&b, 3, &c, 1);
    for (int i = 0; i < 3; i++)
        fail_n(&b, i, 1, 0);
    ck_assert_int_eq(gw_bal_ejected(&b), 1); /* 50 % of three rounds down */
    c = conf(1, 10, 0);
    gw_bal_init(&b, 3, &c, 1);
    fail_n(&b, 2, 1, 0);
    ck_assert_int_eq(gw_bal_ejected(&b), 1); /* at least one */
    c = conf(1, 0, 0);
    gw_bal_init(&b, 3, &c, 1);
    fail_n(&b, 2, 5, 0);
    ck_assert_int_eq(gw_bal_ejected(&b), 0); /* 0: never */
}
END_TEST

START_TEST(test_probes)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(2, 100, 1);
    gw_bal_init(&b, 3, &c, 1);
    /* A failed probe takes a peer out at once, a passing one brings it back. */
    ck_assert_int_eq(gw_bal_probe(&b, 0, 0, 0), 1);
    ck_assert_int_eq(b.peer[0].state, GW_PEER_DOWN);
    ck_assert_int_eq(gw_bal_probe(&b, 0, 0, 1), 0);
    for (int k = 0; k < 300; k++)
        ck_assert_int_ne(gw_bal_pick(&b, 1, 0), 0);
    ck_assert_int_eq(gw_bal_probe(&b, 0, 1, 2), 1);
    ck_assert_int_eq(b.peer[0].state, GW_PEER_UP);
    /* Ejected: a probe passing before its time does not bring it back; its time alone neither. */
    fail_n(&b, 1, 2, 100);
    ck_assert_int_eq(b.peer[1].state, GW_PEER_EJECTED);
    ck_assert_int_eq(gw_bal_probe(&b, 1, 1, 100 + 5 * S), 0);
    ck_assert_int_eq(gw_bal_available(&b, 1, 100 + 11 * S), 0);
    ck_assert_int_eq(gw_bal_probe(&b, 1, 0, 100 + 11 * S), 0); /* still ejected */
    ck_assert_int_eq(gw_bal_probe(&b, 1, 1, 100 + 12 * S), 1);
    ck_assert_int_eq(gw_bal_available(&b, 1, 100 + 12 * S), 1);
    ck_assert_uint_eq(b.peer[1].failures, 0);
}
END_TEST

START_TEST(test_panic_when_none_available)
{
    gw_balancer_t b;
    gw_outlier_conf_t c = conf(1, 100, 1);
    gw_bal_init(&b, 2, &c, 3);
    gw_bal_probe(&b, 0, 0, 0);
    gw_bal_probe(&b, 1, 0, 0);
    int hits[2] = {0};
    for (int k = 0; k < 400; k++)
        hits[gw_bal_pick(&b, 0, 0)]++;
    ck_assert_int_gt(hits[0], 50); /* tried rather than refused */
    ck_assert_int_gt(hits[1], 50);
    ck_assert_int_eq(gw_bal_pick(&b, 0, 0x1), 1);
    /* One peer: it is always the pick, whatever state it is in. */
    gw_bal_init(&b, 1, &c, 3);
    fail_n(&b, 0, 3, 0);
    ck_assert_int_eq(gw_bal_pick(&b, 1, 0), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("peers");
    TCase *tc = tcase_create("peers");
    tcase_add_test(tc, test_two_choices_prefers_idle_and_spreads);
    tcase_add_test(tc, test_consecutive_failures_eject);
    tcase_add_test(tc, test_ejection_grows_and_resets);
    tcase_add_test(tc, test_max_ejected_percent);
    tcase_add_test(tc, test_probes);
    tcase_add_test(tc, test_panic_when_none_available);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
