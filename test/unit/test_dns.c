/* Unit tests for gateway/core/dns: the dns.resolvers check (libevent's address parser behind a
 * comma split), literals as names that never resolve, and the CURLOPT_RESOLVE entry. */
#include "gateway/core/dns.h"
#include "unit_util.h"

#include <check.h>
#include <string.h>

START_TEST(test_resolvers_ok)
{
    char err[256] = "";
    const char *good[] = {"", "127.0.0.1", "127.0.0.1:5353", "[::1]:53", "10.0.0.2, 10.0.0.3:53"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(gw_dns_check_resolvers(good[i], err, sizeof(err)) == 0, "%s: %s", good[i],
                      err);
}
END_TEST

START_TEST(test_resolvers_bad)
{
    char err[256] = "";
    ck_assert_int_eq(gw_dns_check_resolvers("dns.example", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "dns.resolvers: \"dns.example\" is not IP[:port] (a name server is "
                          "given by its address; IPv6 as [::1]:53)");
    ck_assert_int_eq(gw_dns_check_resolvers("127.0.0.1,,127.0.0.2", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "dns.resolvers: expected IP[:port] items separated by commas");
    ck_assert_int_eq(gw_dns_check_resolvers("127.0.0.1,", err, sizeof(err)), -1);
    ck_assert_int_eq(gw_dns_check_resolvers("127.0.0.1:99999", err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_literals)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char buf[128];
    gw_dns_name_t *n = gw_dns_name_new(NULL, "upstream", "127.0.0.2", 6333, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(gw_dns_name_is_literal(n), 1);
    ck_assert_int_eq(gw_dns_name_busy(n), 0);
    ck_assert_int_eq(gw_dns_name_pick(n, &ss, &len), 0);
    ck_assert_int_eq(ss.ss_family, AF_INET);
    gw_dns_name_describe(n, buf, sizeof(buf));
    ck_assert_str_eq(buf, "127.0.0.2:6333");
    ck_assert_int_eq(gw_dns_name_curl_entry(n, buf, sizeof(buf)), -1); /* curl needs none */
    gw_dns_name_free(n);
    n = gw_dns_name_new(NULL, "redis", "[::1]", 6379, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(n);
    gw_dns_name_describe(n, buf, sizeof(buf));
    ck_assert_str_eq(buf, "[::1]:6379");
    gw_dns_name_free(n);
    /* A name needs a resolver. */
    ck_assert_ptr_null(gw_dns_name_new(NULL, "redis", "redis", 6379, NULL, NULL, NULL));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_resolvers_ok);
    tcase_add_test(tc, test_resolvers_bad);
    tcase_add_test(tc, test_literals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
