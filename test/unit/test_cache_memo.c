/* Unit tests for gateway/cache/memo.c: a memoised key is always the key gw_ckey_build gives,
 * whatever shares a slot, whatever was evicted, and the bytes it holds stay under the bound. */
#include "gateway/cache/memo.h"
#include "unit_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fake_req {
    gw_req_t r;
    gw_hdr_t h[8];
} fake_req_t;

static void mkreq(fake_req_t *f, const char *path, const char *const *hdrs)
{
    memset(f, 0, sizeof(*f));
    gw_req_t *r = &f->r;
    r->method = "POST";
    r->method_len = 4;
    r->path = path;
    r->path_len = strlen(path);
    for (size_t i = 0; hdrs && hdrs[i]; i += 2)
        f->h[r->nhdrs++] = (gw_hdr_t){hdrs[i], strlen(hdrs[i]), hdrs[i + 1], strlen(hdrs[i + 1])};
    r->hdrs = f->h;
    gw_route_classify(r->method, r->method_len, path, r->path_len, &r->route);
}

/* The memo's key for (path, hdrs, body, cred) equals the long way's, deps included. */
static void check_same(gw_ckey_memo_t *m, const char *path, const char *const *hdrs,
                       const char *body, int cred)
{
    fake_req_t f;
    mkreq(&f, path, hdrs);
    gw_ckey_t want, got;
    const char *why = NULL;
    ck_assert_int_eq(gw_ckey_build(&want, &f.r, body, strlen(body), cred, &why), 0);
    ck_assert_int_eq(gw_ckey_build_memo(m, &got, &f.r, body, strlen(body), cred, &why), 0);
    ck_assert_mem_eq(got.base, want.base, GW_DIGEST_LEN);
    ck_assert_uint_eq(got.deps.n, want.deps.n);
    for (size_t i = 0; i < want.deps.n; i++)
        ck_assert_str_eq(got.deps.name[i], want.deps.name[i]);
}

static const char *const ct_json[] = {"content-type", "application/json", NULL};
static const char *const ct_gzip[] = {"content-type", "application/json", "accept-encoding", "gzip",
                                      NULL};
static const char *const key_a[] = {"api-key", "a", NULL};
static const char *const key_b[] = {"api-key", "b", NULL};

START_TEST(memo_gives_the_built_key)
{
    gw_ckey_memo_t *m = gw_ckey_memo_new(8, 1 << 20);
    const char *q = "{\"query\":[0.1,0.2],\"limit\":3}";
    const char *l = "{\"query\":{\"recommend\":{\"positive\":[1]}},\"lookup_from\":"
                    "{\"collection\":\"other\"}}";
    for (int round = 0; round < 3; round++) { /* the first stores, the others hit */
        check_same(m, "/collections/c/points/query", ct_json, q, 0);
        check_same(m, "/collections/d/points/query", ct_json, q, 0);
        check_same(m, "/collections/c/points/query", ct_gzip, q, 0);
        check_same(m, "/collections/c/points/query", key_a, q, 1);
        check_same(m, "/collections/c/points/query", key_b, q, 1);
        check_same(m, "/collections/c/points/query", key_a, q, 0);
        check_same(m, "/collections/c/points/query", ct_json, l, 0);
    }
    gw_ckey_memo_free(m);
}
END_TEST

/* One slot: every request lands on the same one, so each lookup must tell the stored bytes
 * apart from its own rather than trust the slot. */
START_TEST(one_slot_never_confuses_requests)
{
    gw_ckey_memo_t *m = gw_ckey_memo_new(0, 1 << 20);
    char body[128];
    for (int i = 0; i < 200; i++) {
        snprintf(body, sizeof(body), "{\"query\":[%d.5],\"limit\":%d}", i % 3, 1 + i % 2);
        check_same(m, "/collections/c/points/query", ct_json, body, 0);
        check_same(m, "/collections/c/points/query", ct_json, body, 0);
    }
    gw_ckey_memo_free(m);
}
END_TEST

static void fingerprint(const char *path, const char *const *hdrs, const char *body, int cred,
                        unsigned char out[16])
{
    fake_req_t f;
    mkreq(&f, path, hdrs);
    ck_assert_int_eq(gw_ckey_fingerprint(&f.r, body, strlen(body), cred, out), 0);
}

/* cache.min_uses's fingerprint: a repeat gives the same one, any byte the key reads changes it. */
START_TEST(fingerprint_tells_requests_apart)
{
    const char *p = "/collections/c/points/query", *q = "{\"query\":[0.1,0.2],\"limit\":3}";
    unsigned char a[16], b[16];
    fingerprint(p, ct_json, q, 0, a);
    fingerprint(p, ct_json, q, 0, b);
    ck_assert_mem_eq(a, b, 16);
    fingerprint(p, ct_json, "{\"query\":[0.1,0.2],\"limit\":4}", 0, b);
    ck_assert(memcmp(a, b, 16) != 0);
    fingerprint("/collections/d/points/query", ct_json, q, 0, b);
    ck_assert(memcmp(a, b, 16) != 0);
    fingerprint(p, ct_gzip, q, 0, b); /* a header the key varies on */
    ck_assert(memcmp(a, b, 16) != 0);
    fingerprint(p, key_a, q, 1, a); /* per credential: each key its own */
    fingerprint(p, key_b, q, 1, b);
    ck_assert(memcmp(a, b, 16) != 0);
    fingerprint(p, key_b, q, 0, a); /* shared: the key does not matter */
    fingerprint(p, key_a, q, 0, b);
    ck_assert_mem_eq(a, b, 16);
}
END_TEST

START_TEST(bytes_stay_under_the_bound)
{
    size_t bound = 64 << 10;
    gw_ckey_memo_t *m = gw_ckey_memo_new(10, bound);
    char *body = malloc(20000);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(body, 20000, "{\"query\":[%d", i);
        while (n < 19000)
            n += snprintf(body + n, (size_t)(20000 - n), ",0.%d", i);
        snprintf(body + n, (size_t)(20000 - n), "],\"limit\":3}");
        check_same(m, "/collections/c/points/query", ct_json, body, 0);
        ck_assert_uint_le(gw_ckey_memo_bytes(m), bound);
        check_same(m, "/collections/c/points/query", ct_json, body, 0); /* stored or not */
    }
    ck_assert_uint_gt(gw_ckey_memo_bytes(m), 0);
    free(body);
    gw_ckey_memo_free(m);
    ck_assert_uint_eq(gw_ckey_memo_bytes(NULL), 0);
}
END_TEST

START_TEST(failures_are_the_same_and_not_kept)
{
    gw_ckey_memo_t *m = gw_ckey_memo_new(4, 1 << 20);
    fake_req_t f;
    mkreq(&f, "/collections/c/points/query", ct_json);
    gw_ckey_t k;
    const char *why = NULL, *why2 = NULL;
    const char *bad = "{\"query\":[0.1,";
    ck_assert_int_ne(gw_ckey_build(&k, &f.r, bad, strlen(bad), 0, &why), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_ne(gw_ckey_build_memo(m, &k, &f.r, bad, strlen(bad), 0, &why2), 0);
        ck_assert_ptr_nonnull(why2);
        ck_assert_str_eq(why2, why);
    }
    ck_assert_uint_eq(gw_ckey_memo_bytes(m), 0);
    gw_ckey_memo_free(m);
}
END_TEST

static Suite *memo_suite(void)
{
    Suite *s = suite_create("cache_memo");
    TCase *tc = tcase_create("memo");
    tcase_add_test(tc, memo_gives_the_built_key);
    tcase_add_test(tc, one_slot_never_confuses_requests);
    tcase_add_test(tc, fingerprint_tells_requests_apart);
    tcase_add_test(tc, bytes_stay_under_the_bound);
    tcase_add_test(tc, failures_are_the_same_and_not_kept);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(memo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
