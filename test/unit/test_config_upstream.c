/* Unit tests for the cluster keys of gateway/config: upstream.urls (YAML list or one string,
 * each URL checked like upstream.url, no duplicates, one scheme, at most 16), the
 * upstream.outlier.* ranges, finalize refusing upstream.url and upstream.urls together or a
 * base ejection longer than the longest, and what resolve.c makes of the list; the gRPC peers
 * (upstream.grpc_urls paired with upstream.urls, or each peer's host on 6334). */
#include "common/yconf.h"
#include "gateway/core/config.h"
#include "gateway/upstream/resolve.h"
#include "unit_util.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define F "{D}/c.yaml"

static const err_case_t load_errors[] = {
    {"upstream:\n  urls: [ftp://h]\n",
     F ":2: upstream.urls: must start with http:// or https://, got \"ftp://h\""},
    {"upstream:\n  urls: [http://a:1, http://a:1/]\n",
     F ":2: upstream.urls: lists a peer twice, got \"http://a:1, http://a:1/\""},
    {"upstream:\n  urls: [http://a:1, https://b:2]\n",
     F ":2: upstream.urls: mixes http:// and https:// peers, got \"http://a:1, https://b:2\""},
    {"upstream:\n  urls: [http://a/x]\n",
     F ":2: upstream.urls: must not have a path: each request's own path is appended to it, got "
       "\"http://a/x\""},
    {"upstream:\n  urls: \"http://a:1,,http://b:2\"\n",
     F ":2: upstream.urls: must be a list of URLs, without empty items, got "
       "\"http://a:1,,http://b:2\""},
    {"upstream:\n  grpc_urls: [https://a:1]\n",
     F ":2: upstream.grpc_urls: every item must start with http:// (h2c; TLS towards Qdrant's "
       "gRPC port is not supported), got \"https://a:1\""},
    {"upstream:\n  grpc_urls: [http://a:1, http://a:1]\n",
     F ":2: upstream.grpc_urls: lists a peer twice, got \"http://a:1, http://a:1\""},
    {"upstream:\n  outlier:\n    consecutive_failures: 0\n",
     F ":3: upstream.outlier.consecutive_failures: expected an integer from 1 to 1000, got \"0\""},
    {"upstream:\n  outlier:\n    max_ejected_percent: 101\n",
     F ":3: upstream.outlier.max_ejected_percent: expected an integer from 0 to 100, got \"101\""},
    {"upstream:\n  outlier:\n    base_ejection: 10ms\n",
     F ":3: upstream.outlier.base_ejection: expected a duration from 100ms to 1h, got \"10ms\""},
};

START_TEST(test_load_error)
{
    check_load_error(&load_errors[_i], _i);
}
END_TEST

START_TEST(test_too_many_peers)
{
    char text[4096] = "upstream:\n  urls:\n", path[PATHLEN], err[ERRLEN] = "";
    for (int i = 0; i < 17; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "    - http://h%d:6333\n", i);
    gw_config_t *c = gw_config_new();
    tmp_t t;
    tmp_open(&t);
    tmp_write(&t, "c.yaml", text, path, sizeof path);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "upstream.urls: lists more than 16 peers"));
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

START_TEST(test_list_and_resolve)
{
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;
    tmp_open(&t);
    tmp_write(&t, "c.yaml",
              "upstream:\n  urls:\n    - http://127.0.0.2:6333/\n    - http://[::1]:6334\n"
              "    - http://qdrant-2\n  outlier:\n    consecutive_failures: 3\n"
              "    base_ejection: 1s\n    max_ejection: 10s\n    max_ejected_percent: 34\n",
              path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(gw_config_finalize(c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c->upstream_urls, "http://127.0.0.2:6333/, http://[::1]:6334, http://qdrant-2");
    ck_assert_int_eq(c->upstream_outlier_consecutive_failures, 3);
    ck_assert_uint_eq(c->upstream_outlier_base_ejection_ms, 1000);
    ck_assert_uint_eq(c->upstream_outlier_max_ejection_ms, 10000);
    ck_assert_int_eq(c->upstream_outlier_max_ejected_percent, 34);
    gw_upstream_targets_t ts;
    ck_assert_int_eq(gw_upstream_parse_all(c->upstream_urls, c->upstream_url, &ts), 0);
    ck_assert_int_eq(ts.n, 3);
    ck_assert_str_eq(ts.t[0].url, "http://127.0.0.2:6333");
    ck_assert_str_eq(ts.t[1].host, "::1");
    ck_assert_int_eq(ts.t[1].port, 6334);
    ck_assert_str_eq(ts.t[2].authority, "qdrant-2");
    ck_assert_int_eq(ts.t[2].port, 80);
    /* Without upstream.urls: the one node of upstream.url. */
    ck_assert_int_eq(gw_upstream_parse_all("", "http://q:7", &ts), 0);
    ck_assert_int_eq(ts.n, 1);
    ck_assert_str_eq(ts.t[0].url, "http://q:7");
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

START_TEST(test_finalize_conflicts)
{
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    ck_assert_int_eq(gw_config_set(c, "upstream.urls=http://a:1, http://b:2", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0); /* url left at its default */
    ck_assert_int_eq(gw_config_set(c, "upstream.url=http://c:3", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "upstream.url (http://c:3) and upstream.urls are both set: list every "
                          "peer in upstream.urls and leave upstream.url out");
    ck_assert_int_eq(gw_config_set(c, "upstream.urls=", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_int_eq(gw_config_set(c, "upstream.outlier.base_ejection=10m", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "upstream.outlier.base_ejection (10m) is longer than "
                          "upstream.outlier.max_ejection (5m)");
    gw_config_free(c);
}
END_TEST

START_TEST(test_grpc_peers)
{
    char err[ERRLEN] = "", u[GW_CONFIG_MAX_PEERS][GW_CONFIG_GRPC_URL_MAX];
    gw_config_t *c = gw_config_new();
    /* One node: upstream.url's host on 6334. */
    ck_assert_int_eq(gw_config_grpc_peers(c, u, GW_CONFIG_MAX_PEERS), 1);
    ck_assert_str_eq(u[0], "http://127.0.0.1:6334");
    /* A cluster: each peer's host on 6334. */
    ck_assert_int_eq(
        gw_config_set(c, "upstream.urls=https://a:1/, http://[::1]:2, http://q", err, sizeof err),
        -1); /* mixed schemes */
    ck_assert_int_eq(
        gw_config_set(c, "upstream.urls=http://a:1/, http://[::1]:2, http://q", err, sizeof err),
        0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_int_eq(gw_config_grpc_peers(c, u, GW_CONFIG_MAX_PEERS), 3);
    ck_assert_str_eq(u[0], "http://a:6334");
    ck_assert_str_eq(u[1], "http://[::1]:6334");
    ck_assert_str_eq(u[2], "http://q:6334");
    /* upstream.grpc_urls: paired one by one, the same count. */
    ck_assert_int_eq(gw_config_set(c, "upstream.grpc_urls=http://a:7, http://b:8", err, sizeof err),
                     0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "upstream.grpc_urls lists 2 URLs but upstream.urls lists 3 peers: give "
                          "one gRPC URL per peer, in the same order");
    ck_assert_int_eq(
        gw_config_set(c, "upstream.grpc_urls=http://a:7, http://b:8/, http://c", err, sizeof err),
        0);
    ck_assert_msg(gw_config_finalize(c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(gw_config_grpc_peers(c, u, GW_CONFIG_MAX_PEERS), 3);
    ck_assert_str_eq(u[0], "http://a:7");
    ck_assert_str_eq(u[1], "http://b:8");
    ck_assert_str_eq(u[2], "http://c");
    /* upstream.grpc_url with grpc_urls is a mistake; alone it takes every call. */
    ck_assert_int_eq(gw_config_set(c, "upstream.grpc_url=http://g:9", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "upstream.grpc_url and upstream.grpc_urls are both set"));
    ck_assert_int_eq(gw_config_set(c, "upstream.grpc_urls=", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_int_eq(gw_config_grpc_peers(c, u, GW_CONFIG_MAX_PEERS), 1);
    ck_assert_str_eq(u[0], "http://g:9");
    gw_config_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("config_upstream");
    TCase *tc = tcase_create("config_upstream");
    tcase_add_loop_test(tc, test_load_error, 0, (int)NELEM(load_errors));
    tcase_add_test(tc, test_too_many_peers);
    tcase_add_test(tc, test_list_and_resolve);
    tcase_add_test(tc, test_finalize_conflicts);
    tcase_add_test(tc, test_grpc_peers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
