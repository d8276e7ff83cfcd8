/* Unit tests for gateway/core/dns: the dns.resolvers check (libevent's address parser behind a
 * comma split), literals as names that never resolve, and the CURLOPT_RESOLVE entry. */
#include "gateway/core/dns.h"
#include "unit_util.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_resolvers_ok)
{
    char err[256] = "";
    const char *good[] = {"", "127.0.0.1", "127.0.0.1:5353", "[::1]:53", "127.0.0.2, 127.0.0.3:53"};
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
    ck_assert_uint_eq(gw_dns_name_count(n), 1);
    gw_dns_addr_format(&ss, buf, sizeof(buf));
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

static void on_name(void *arg, int changed)
{
    int *seen = arg;
    *seen = changed ? 2 : 1;
}

/* A name from the hosts file, resolved on a real loop (the name server is never asked). */
START_TEST(test_hosts_file)
{
    char path[] = "/tmp/gw-dns-hosts-XXXXXX", err[256] = "", buf[128];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "127.0.0.7 qdrant.test qdrant\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    struct event_base *base = event_base_new();
    gw_dns_opts_t o = {.resolvers = "127.0.0.1:9",
                       .hosts_file = path,
                       .min_ttl_ms = 1000,
                       .max_ttl_ms = 30000,
                       .timeout_ms = 500};
    gw_dns_t *d = gw_dns_new(base, &o, err, sizeof(err));
    ck_assert_msg(d != NULL, "%s", err);
    gw_stat_t counts[GW_DNS_R_N] = {0};
    int seen = 0;
    gw_dns_name_t *n = gw_dns_name_new(d, "upstream", "qdrant", 6333, counts, on_name, &seen);
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(gw_dns_name_busy(n), 1);
    ck_assert_uint_eq(gw_dns_name_count(n), 0);
    ck_assert_int_eq(gw_dns_name_pick(n, &(struct sockaddr_storage){0}, &(socklen_t){0}), -1);
    ck_assert_int_eq(seen, 0); /* never from inside gw_dns_name_new */
    while (!seen)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert_int_eq(seen, 2);
    gw_dns_name_describe(n, buf, sizeof(buf));
    ck_assert_str_eq(buf, "127.0.0.7:6333");
    ck_assert_int_eq(gw_dns_name_curl_entry(n, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "qdrant:6333:127.0.0.7");
    ck_assert_uint_eq(gw_stat_get(&counts[GW_DNS_R_OK]), 1);
    ck_assert_uint_eq(gw_stat_get(&counts[GW_DNS_R_CHANGED]), 1);
    gw_dns_name_free(n);
    gw_dns_free(d);
    event_base_free(base);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_resolvers_ok);
    tcase_add_test(tc, test_resolvers_bad);
    tcase_add_test(tc, test_literals);
    tcase_add_test(tc, test_hosts_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
