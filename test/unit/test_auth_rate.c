/* Unit tests for global rate limits (gateway/auth/rate_global.c): the Lua script's reply parsed
 * strictly, the limiter's Redis key, the rate.global.* and auth.rate.* settings and what the key
 * table makes of them, and the limiter refusing an invalid Redis setting. */
#include "gateway/auth/keys.h"
#include "gateway/auth/rate_global.h"
#include "unit_util.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *s, gw_rlg_verdict_t *v, char *err, size_t cap)
{
    return gw_rlg_parse_reply(s, strlen(s), v, err, cap);
}

START_TEST(test_reply_good)
{
    gw_rlg_verdict_t v;
    char err[160];
    ck_assert_int_eq(parse("1 0 3000", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v.allowed, 1);
    ck_assert_uint_eq(v.retry_us, 0);
    ck_assert_double_eq_tol(v.available, 3.0, 1e-9);
    ck_assert_int_eq(parse("0 59999993 123", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_uint_eq(v.retry_us, 59999993);
    ck_assert_double_eq_tol(v.available, 0.123, 1e-9);
    ck_assert_int_eq(parse("0 86400000000 0", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(parse("1 0 100000000000", &v, err, sizeof(err)), 0);
}
END_TEST

static const struct {
    const char *in, *why;
} bad_replies[] = {
    {"", "empty rate limit reply"},
    {"2 0 1", "the first field must be 0 or 1"},
    {"01 0 1", "the first field must be 0 or 1"},
    {"-1 0 1", "the first field must be 0 or 1"},
    {"1  0 1", "the second field must be microseconds up to a day"},
    {"1", "the first field must be 0 or 1"},
    {"0 86400000001 0", "the second field must be microseconds up to a day"},
    {"0 18446744073709551616 0", "the second field must be microseconds up to a day"},
    {"0 007 0", "the second field must be microseconds up to a day"},
    {"1 0", "the second field must be microseconds up to a day"},
    {"1 0 ", "the third field must be thousandths of tokens up to 1e11"},
    {"1 0 100000000001", "the third field must be thousandths of tokens up to 1e11"},
    {"1 0 1.5", "bytes after the third field"},
    {"1 0 1 ", "bytes after the third field"},
    {"1 5 1", "allowed with a retry time"},
    {"0 0 1", "refused without a retry time"},
    {"OK", "the first field must be 0 or 1"},
    {"1 0 1234567890123456789012345678901234567890123456789012345678901234", "at most 64"},
};

START_TEST(test_reply_bad)
{
    gw_rlg_verdict_t v;
    char err[160] = "";
    ck_assert_int_eq(parse(bad_replies[_i].in, &v, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, bad_replies[_i].why), "\"%s\": %s", bad_replies[_i].in, err);
    ck_assert_int_eq(gw_rlg_parse_reply(NULL, 0, &v, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_key_names)
{
    char k[32];
    ck_assert_int_eq(gw_rlg_key(k, sizeof(k), "qgw:", GW_RLG_SPACE_KEY, "svc", 0), 12);
    ck_assert_str_eq(k, "qgw:rl:svc:r");
    ck_assert_int_eq(gw_rlg_key(k, sizeof(k), "", GW_RLG_SPACE_SUBJECT, "svc", 1), 9);
    ck_assert_str_eq(k, "rls:svc:w");
    ck_assert_int_eq(gw_rlg_key(k, sizeof(k), "qgw:", "rl", "a-name-too-long-for-the-buffer", 1),
                     -1);
    ck_assert_str_eq(gw_rlg_status_name(GW_RLG_TIMEOUT), "timeout");
    ck_assert_str_eq(gw_rlg_status_name(GW_RLG_UNCONFIGURED), "unconfigured");
}
END_TEST

#define HASH "2adcd1c3d4a4b4ab4b1c2f2b9fe2a7c5a1e0c55e5b4a0a5c1d9d8d3d8a0b5f01"

START_TEST(test_config)
{
    gw_config_t *cfg = gw_config_new();
    char err[256];
    ck_assert_uint_eq(cfg->auth_rate_timeout_ms, 20);
    ck_assert_int_eq(cfg->auth_rate_max_parked, 1024);
    ck_assert_str_eq(cfg->auth_rate_redis_url, "");
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.sha256=" HASH, err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.rate.global.reads=600", err, sizeof(err)),
                     0);
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.rate.global.writes=30", err, sizeof(err)),
                     0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.keys.one.rate.global.reads=-1", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.rate.timeout=0ms", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.rate.timeout=2s", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.rate.max_parked=0", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.rate.redis_url=http://x", err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "redis://"));
    ck_assert_int_eq(gw_config_set(cfg, "auth.rate.timeout=50ms", err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg->auth_rate_timeout_ms, 50);
    gw_keys_t t;
    ck_assert_int_eq(gw_keys_build(&t, cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(t.key[0].global_per_min[0], 600);
    ck_assert_int_eq(t.key[0].global_per_min[1], 30);
    ck_assert_int_eq(t.key[0].global_burst[0], 10); /* a second's worth */
    ck_assert_int_eq(t.key[0].global_burst[1], 1);  /* at least 1 */
    ck_assert_double_eq(t.key[0].rate[0], 0);       /* no local limit */
    gw_keys_free(&t);
    ck_assert_int_eq(gw_config_set(cfg, "auth.keys.one.rate.global.burst=7", err, sizeof(err)), 0);
    ck_assert_int_eq(gw_keys_build(&t, cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(t.key[0].global_burst[0], 7);
    ck_assert_int_eq(t.key[0].global_burst[1], 7);
    gw_keys_free(&t);
    /* auth.jwt.rate.*: per subject */
    ck_assert_int_eq(cfg->auth_jwt_rate_max_subjects, 10000);
    ck_assert_int_eq(gw_config_set(cfg, "auth.jwt.rate.global.reads=60", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg->auth_jwt_rate_global_read, 60);
    ck_assert_int_ne(gw_config_set(cfg, "auth.jwt.rate.max_subjects=15", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.jwt.rate.max_subjects=1000001", err, sizeof(err)), 0);
    ck_assert_int_ne(gw_config_set(cfg, "auth.jwt.rate.reads=x", err, sizeof(err)), 0);
    /* No Redis anywhere: no limiter, and no error. */
    err[0] = 'x';
    ck_assert_ptr_null(gw_rlg_new(cfg, 2, err, sizeof(err)));
    ck_assert_str_eq(err, "");
    /* A Redis: a limiter (clients come per worker later). */
    ck_assert_int_eq(
        gw_config_set(cfg, "auth.rate.redis_url=redis://127.0.0.1:1", err, sizeof(err)), 0);
    gw_rlg_t *g = gw_rlg_new(cfg, 2, err, sizeof(err));
    ck_assert_msg(g != NULL, "%s", err);
    ck_assert_int_eq(gw_rlg_up(g), 0);
    gw_rlg_free(g);
    gw_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("auth_rate");
    TCase *tc = tcase_create("global");
    tcase_add_test(tc, test_reply_good);
    tcase_add_loop_test(tc, test_reply_bad, 0, (int)(sizeof(bad_replies) / sizeof(*bad_replies)));
    tcase_add_test(tc, test_key_names);
    tcase_add_test(tc, test_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
