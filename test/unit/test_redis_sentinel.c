/* Unit tests for common/redis_sentinel: the Sentinel list (every error with its text) and the
 * +switch-master message (ours, another master's, malformed ones). */
#include "common/redis_sentinel.h"
#include "unit_util.h"

#include <check.h>
#include <string.h>

START_TEST(test_list_forms)
{
    gw_hostport_t hp[4];
    size_t n;
    char err[160];
    ck_assert_int_eq(
        gw_sentinel_parse_list("127.0.0.5:26379, [::1]:26380 s3:1", hp, 4, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(hp[0].host, "127.0.0.5");
    ck_assert_int_eq(hp[0].port, 26379);
    ck_assert_str_eq(hp[1].host, "::1");
    ck_assert_int_eq(hp[1].port, 26380);
    ck_assert_str_eq(hp[2].host, "s3");
}
END_TEST

START_TEST(test_list_errors)
{
    static const struct {
        const char *in, *err;
    } bad[] = {
        {"", "no Sentinel address (expected host:port, ...)"},
        {" , ", "no Sentinel address (expected host:port, ...)"},
        {"host", "\"host\": expected host:port"},
        {"::1:5", "\"::1:5\": an IPv6 address goes in brackets"},
        {"[::1]5", "\"[::1]5\": expected [IPv6]:port"},
        {":5", "\":5\": the host is empty or too long"},
        {"h:0", "\"h:0\": the port must be 1-65535"},
        {"h:65536", "\"h:65536\": the port must be 1-65535"},
        {"h:1x", "\"h:1x\": the port must be 1-65535"},
        {"h/x:1", "\"h/x:1\": bad character in the host"},
        {"a:1 b:2 c:3", "more than 2 Sentinels"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_hostport_t hp[2];
        size_t n;
        char err[160] = "";
        ck_assert_int_eq(gw_sentinel_parse_list(bad[i].in, hp, 2, &n, err, sizeof(err)), -1);
        ck_assert_str_eq(err, bad[i].err);
    }
}
END_TEST

START_TEST(test_switch_message)
{
    gw_hostport_t to;
    const char *m = "mymaster 127.0.0.1 6379 127.0.0.2 6380";
    ck_assert_int_eq(gw_sentinel_parse_switch(m, strlen(m), "mymaster", &to), 1);
    ck_assert_str_eq(to.host, "127.0.0.2");
    ck_assert_int_eq(to.port, 6380);
    ck_assert_int_eq(gw_sentinel_parse_switch(m, strlen(m), "other", &to), 0);
    const char *v6 = "m ::1 1 fe80::2 2";
    ck_assert_int_eq(gw_sentinel_parse_switch(v6, strlen(v6), "m", &to), 1);
    ck_assert_str_eq(to.host, "fe80::2");
    static const char *bad[] = {"",
                                "m 1.1.1.1 1 2.2.2.2",
                                "m 1.1.1.1 1 2.2.2.2 2 extra",
                                "m 1.1.1.1 1 2.2.2.2 0",
                                "m 1.1.1.1 x 2.2.2.2 2",
                                "m 1.1.1.1 1 2/2 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(gw_sentinel_parse_switch(bad[i], strlen(bad[i]), "m", &to), -1);
    /* not NUL-terminated: only len bytes count */
    ck_assert_int_eq(gw_sentinel_parse_switch("m 1.1.1.1 1 2.2.2.2 2999", 23, "m", &to), 1);
    ck_assert_int_eq(to.port, 299);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_int_eq(gw_sentinel_name_ok("mymaster"), 1);
    ck_assert_int_eq(gw_sentinel_name_ok("a.b-c_d9"), 1);
    ck_assert_int_eq(gw_sentinel_name_ok(""), 0);
    ck_assert_int_eq(gw_sentinel_name_ok("a b"), 0);
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = 0;
    ck_assert_int_eq(gw_sentinel_name_ok(longname), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("redis_sentinel");
    TCase *tc = tcase_create("redis_sentinel");
    tcase_add_test(tc, test_list_forms);
    tcase_add_test(tc, test_list_errors);
    tcase_add_test(tc, test_switch_message);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
