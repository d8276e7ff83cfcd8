/* Unit tests for gateway/http1/framing.c: the RFC 9112 rules judged before a request runs, on
 * hand-built request heads (test_h1.c drives the same rules through the real codec). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1/framing.h"

static gw_req_t req_with(gw_hdr_t *h, size_t n, int minor)
{
    gw_req_t r;
    memset(&r, 0, sizeof(r));
    r.hdrs = h;
    r.nhdrs = n;
    r.http_minor = minor;
    return r;
}

START_TEST(framing_rules)
{
    char msg[128];
    gw_hdr_t host = {"Host", 4, "a", 1}, te = {"transfer-encoding", 17, " Chunked ", 9};
    gw_hdr_t gz = {"Transfer-Encoding", 17, "gzip, chunked", 13};
    gw_hdr_t ok1[] = {host, te};
    gw_req_t r = req_with(ok1, 2, 1);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 0);
    gw_hdr_t bad[] = {host, gz};
    r = req_with(bad, 2, 1);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 400);
    ck_assert_ptr_nonnull(strstr(msg, "only chunked"));
    gw_hdr_t two[] = {host, te, te};
    r = req_with(two, 3, 1);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 400);
    r = req_with(&te, 1, 0);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 400);
    ck_assert_ptr_nonnull(strstr(msg, "HTTP/1.0"));
    r = req_with(NULL, 0, 1);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 400);
    ck_assert_ptr_nonnull(strstr(msg, "missing Host"));
    r = req_with(NULL, 0, 0);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 0); /* HTTP/1.0 needs no Host */
    gw_hdr_t hosts[] = {host, host};
    r = req_with(hosts, 2, 1);
    ck_assert_int_eq(gw_h1_check_framing(&r, msg, sizeof msg), 400);
    ck_assert(gw_h1_is_token("X-Api-Key", 9));
    ck_assert(!gw_h1_is_token("Host ", 5));
    ck_assert(!gw_h1_is_token("", 0));
}
END_TEST

static void absolute(const char *target, int rc, const char *path, const char *query)
{
    gw_req_t r;
    memset(&r, 0, sizeof(r));
    r.raw = strdup(target);
    r.target = r.raw;
    r.target_len = strlen(target);
    r.path = r.target;
    r.path_len = r.target_len;
    ck_assert_int_eq(gw_h1_absolute_form(&r), rc);
    if (rc == 0) {
        ck_assert_uint_eq(r.path_len, strlen(path));
        ck_assert_int_eq(memcmp(r.path, path, r.path_len), 0);
        if (query) {
            ck_assert_uint_eq(r.query_len, strlen(query));
            ck_assert_int_eq(memcmp(r.query, query, r.query_len), 0);
        } else {
            ck_assert_ptr_null(r.query);
        }
    }
    free(r.raw);
}

START_TEST(absolute_form)
{
    absolute("http://h/collections/c?x=1", 0, "/collections/c", "x=1");
    absolute("HTTPS://h:6333/a", 0, "/a", NULL);
    absolute("http://h", 0, "/", NULL);
    absolute("http://h?q", 0, "/", "q");
    absolute("http:///x", -1, NULL, NULL);
    absolute("/origin/form", 0, "/origin/form", NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("h1_framing");
    TCase *tc = tcase_create("h1_framing");
    tcase_add_test(tc, framing_rules);
    tcase_add_test(tc, absolute_form);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
