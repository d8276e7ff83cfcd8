/* Unit tests for common/cjson.c and gateway/cache/key.c: which bodies and requests share a cache
 * key and which must not. */
#include "common/cjson.h"
#include "gateway/cache/key.h"
#include "unit_util.h"

#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

static void canon(const char *in, char *out, size_t cap)
{
    char err[160];
    gw_cjson_t *v = gw_cjson_parse(in, strlen(in), err, sizeof(err));
    ck_assert_msg(v != NULL, "parse %s: %s", in, err);
    size_t len = 0;
    char *s = gw_cjson_dump(v, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_lt(len, cap);
    memcpy(out, s, len + 1);
    free(s);
    gw_cjson_free(v);
}

typedef struct pair {
    const char *a, *b;
    int same;
} pair_t;

static const pair_t pairs[] = {
    /* key order and whitespace */
    {"{\"limit\":10,\"vector\":[1,2]}", "{ \"vector\" : [1, 2],\n\t\"limit\":10 }", 1},
    {"{\"a\":{\"y\":1,\"x\":2}}", "{\"a\":{\"x\":2,\"y\":1}}", 1},
    /* number spellings of one double */
    {"{\"v\":[0.1]}", "{\"v\":[0.10]}", 1},
    {"{\"v\":[0.1]}", "{\"v\":[1e-1]}", 1},
    {"{\"v\":[0.1]}", "{\"v\":[1E-1]}", 1},
    {"{\"v\":[100.0]}", "{\"v\":[1e2]}", 1},
    {"{\"v\":[-0.5]}", "{\"v\":[-5e-1]}", 1},
    {"{\"v\":[0.1]}", "{\"v\":[10e-2]}", 1},
    {"{\"v\":[0.1]}", "{\"v\":[0.01e1]}", 1},
    {"{\"v\":[1.5]}", "{\"v\":[15E-1]}", 1},
    {"{\"v\":[0.0]}", "{\"v\":[0e10]}", 1},
    {"{\"v\":[12300.0]}", "{\"v\":[1.23e+4]}", 1},
    {"{\"v\":[0.0]}", "{\"v\":[-0.0]}", 0},
    {"{\"v\":[0.1]}", "{\"v\":[-0.1]}", 0},
    {"{\"v\":[1e5]}", "{\"v\":[1e-5]}", 0},
    /* integers stay integers: serde refuses 10.0 for a usize */
    {"{\"limit\":10}", "{\"limit\":10.0}", 0},
    {"{\"limit\":10}", "{\"limit\":11}", 0},
    {"{\"v\":[0.1]}", "{\"v\":[0.1000001]}", 0},
    /* string escapes */
    {"{\"k\":\"\\u00e9\"}", "{\"k\":\"\xc3\xa9\"}", 1},
    {"{\"k\":\"a\\/b\"}", "{\"k\":\"a/b\"}", 1},
    {"{\"\\u0061\":1}", "{\"a\":1}", 1},
    {"{\"k\":\"\\ud83d\\ude00\"}", "{\"k\":\"\xf0\x9f\x98\x80\"}", 1},
    {"{\"k\":\"A\"}", "{\"k\":\"a\"}", 0},
    /* structure */
    {"{\"a\":[1,2]}", "{\"a\":[2,1]}", 0},
    {"{\"a\":null}", "{}", 0},
    {"{\"a\":true}", "{\"a\":1}", 0},
};

START_TEST(canonical_pairs)
{
    char a[512], b[512];
    canon(pairs[_i].a, a, sizeof(a));
    canon(pairs[_i].b, b, sizeof(b));
    if (pairs[_i].same)
        ck_assert_str_eq(a, b);
    else
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(canonical_form_is_compact_and_sorted)
{
    char out[256];
    canon("{ \"b\" : [ 1 , 0.50, -12.5e3, false ], \"a\" : { \"d\" : null, \"c\" : "
          "\"x\\ty\\u0001\\\"\" } }",
          out, sizeof(out));
    ck_assert_str_eq(
        out, "{\"a\":{\"c\":\"x\\u0009y\\u0001\\\"\",\"d\":null},\"b\":[1,5e-1,-125e2,false]}");
    canon("{\"b\":1,\"a\":{},\"ab\":[],\"\":\"\"}", out, sizeof(out));
    ck_assert_str_eq(out, "{\"\":\"\",\"a\":{},\"ab\":[],\"b\":1}");
}
END_TEST

static const char *const bad_json[] = {
    "",
    "{",
    "{\"a\":1,}",
    "{\"a\":1} x",
    "{\"a\":1,\"a\":2}",
    "[1,2",
    "{'a':1}",
    "{\"a\":NaN}",
    "\xff",
    "[01]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[-]",
    "[+1]",
    "[1e9999999999]",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\\x\"",
    "\"a\tb\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"abc",
    "\"\\",
    "tru",
    "nul",
    "[1 2]",
    "{\"a\" 1}",
    "{1:2}",
};

START_TEST(rejects_deep_nesting)
{
    char deep[300], err[160];
    memset(deep, '[', 129);
    memset(deep + 129, ']', 129);
    gw_cjson_t *v = gw_cjson_parse(deep, 258, err, sizeof(err));
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err, "recursion limit"));
    v = gw_cjson_parse(deep + 1, 256, err, sizeof(err)); /* 128 levels: fine */
    ck_assert_ptr_nonnull(v);
    gw_cjson_free(v);
}
END_TEST

START_TEST(error_positions)
{
    char err[160];
    ck_assert_ptr_null(gw_cjson_parse("{\n  \"a\": tru\n}", 15, err, sizeof(err)));
    ck_assert_str_eq(err, "line 2 column 8: expected value");
}
END_TEST

/* Arrays of numbers only are kept as one canonical text; arrays with anything else item by
 * item: both spell an array the same way, and a bad number array still fails where it is bad. */
START_TEST(number_arrays)
{
    char out[256], err[160];
    canon("[ 1 , 0.50 ,-12.5e3,7]", out, sizeof(out));
    ck_assert_str_eq(out, "[1,5e-1,-125e2,7]");
    canon("[1, 0.50, \"x\", -12.5e3]", out, sizeof(out));
    ck_assert_str_eq(out, "[1,5e-1,\"x\",-125e2]");
    canon("[[0.1,2],[3],[],[4,[5]]]", out, sizeof(out));
    ck_assert_str_eq(out, "[[1e-1,2],[3],[],[4,[5]]]");
    canon("{\"v\":[1,2],\"w\":[1,null]}", out, sizeof(out));
    ck_assert_str_eq(out, "{\"v\":[1,2],\"w\":[1,null]}");
    static const struct {
        const char *in, *err;
    } bad[] = {
        {"[1,2", "line 1 column 5: expected `,` or `]`"},
        {"[1,]", "line 1 column 4: expected value"},
        {"[1 2]", "line 1 column 4: expected `,` or `]`"},
        {"[1,01]", "line 1 column 5: expected `,` or `]`"},
        {"[1,1e]", "line 1 column 6: invalid number"},
        {"[1,1e1234567890]", "line 1 column 6: number out of range"},
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        ck_assert_ptr_null(gw_cjson_parse(bad[i].in, strlen(bad[i].in), err, sizeof(err)));
        ck_assert_msg(strcmp(err, bad[i].err) == 0, "%s: %s", bad[i].in, err);
    }
}
END_TEST

/* A number array (one packed node, the vector fast path) and the same numbers item by item
 * (a trailing null makes the array mixed) must give the same canonical numbers. */
START_TEST(number_array_paths_agree)
{
    static const char *const nums[] = {
        "0.5",
        "-0.5",
        "0.0",
        "-0.0",
        "0.000",
        "10.5",
        "10.50",
        "100.000",
        "1.0",
        "0.000123",
        "-0.012300",
        "123.456",
        "7",
        "-7",
        "0",
        "1e3",
        "1.5E-3",
        "-0.25e+2",
        "0.10000001",
        "9.90",
        "12345678901234567890.5",
        "0.12345678901234567890123",
    };
    char a[512], b[512], in[256];
    for (size_t i = 0; i < NELEM(nums); i++)
        for (size_t j = 0; j < NELEM(nums); j++) {
            snprintf(in, sizeof(in), "[%s, %s]", nums[i], nums[j]);
            canon(in, a, sizeof(a));
            snprintf(in, sizeof(in), "[%s,%s,null]", nums[i], nums[j]);
            canon(in, b, sizeof(b));
            size_t la = strlen(a);
            ck_assert_msg(strncmp(a, b, la - 1) == 0 && strcmp(b + la - 1, ",null]") == 0,
                          "%s vs %s", a, b);
        }
    canon("[-0.0,0.000123,10.50,100.000]", a, sizeof(a));
    ck_assert_str_eq(a, "[-0e0,123e-6,105e-1,1e2]");
}
END_TEST

START_TEST(rejects_bad_json)
{
    char err[160] = "";
    const char *in = bad_json[_i];
    gw_cjson_t *v = gw_cjson_parse(in, strlen(in), err, sizeof(err));
    ck_assert_msg(v == NULL, "accepted %s", in);
    ck_assert_msg(strstr(err, "line ") == err, "message: %s", err);
}
END_TEST

/* ---- request keys ---------------------------------------------------------------------------- */

typedef struct fake_req {
    gw_req_t r;
    gw_hdr_t h[8];
} fake_req_t;

static void mkreq(fake_req_t *f, const char *method, const char *path, const char *query,
                  const char *const *hdrs)
{
    memset(f, 0, sizeof(*f));
    gw_req_t *r = &f->r;
    r->method = method;
    r->method_len = strlen(method);
    r->path = path;
    r->path_len = strlen(path);
    r->query = query;
    r->query_len = query ? strlen(query) : 0;
    for (size_t i = 0; hdrs && hdrs[i]; i += 2) {
        f->h[r->nhdrs++] = (gw_hdr_t){hdrs[i], strlen(hdrs[i]), hdrs[i + 1], strlen(hdrs[i + 1])};
    }
    r->hdrs = f->h;
    gw_route_classify(method, r->method_len, path, r->path_len, &r->route);
}

static void key_of(const char *method, const char *path, const char *query, const char *const *hdrs,
                   const char *body, int per_cred, gw_ckey_t *k)
{
    fake_req_t f;
    const char *why = NULL;
    mkreq(&f, method, path, query, hdrs);
    ck_assert_int_ge(gw_ckey_class(&f.r.route), 0);
    ck_assert_msg(gw_ckey_build(k, &f.r, body, strlen(body), per_cred, &why) == 0, "%s",
                  why ? why : "");
}

static int same_key(const gw_ckey_t *a, const gw_ckey_t *b)
{
    return memcmp(a->base, b->base, GW_DIGEST_LEN) == 0;
}

START_TEST(key_equivalences)
{
    static const char *const json_ct[] = {"Content-Type", "application/json", NULL};
    gw_ckey_t a, b;
    const char *p = "/collections/c/points/query";
    key_of("POST", p, NULL, json_ct, "{\"query\":[0.1,0.2],\"limit\":3}", 1, &a);
    key_of("POST", p, NULL, json_ct, "{ \"limit\": 3, \"query\": [1e-1, 0.20] }", 1, &b);
    ck_assert(same_key(&a, &b));
    key_of("POST", "/collections//c/points/query/", NULL, json_ct,
           "{\"query\":[0.1,0.2],\"limit\":3}", 1, &b);
    ck_assert_msg(same_key(&a, &b), "// and a trailing / route the same");
    key_of("POST", p, "timeout=5", json_ct, "{\"query\":[0.1,0.2],\"limit\":3}", 1, &b);
    ck_assert_msg(same_key(&a, &b), "timeout does not change the answer");
    key_of("POST", p, "consistency=all", json_ct, "{\"query\":[0.1,0.2],\"limit\":3}", 1, &b);
    ck_assert_msg(!same_key(&a, &b), "consistency does");
    key_of("POST", p, NULL, json_ct, "{\"query\":[0.1,0.2],\"limit\":4}", 1, &b);
    ck_assert(!same_key(&a, &b));
    key_of("POST", "/collections/d/points/query", NULL, json_ct,
           "{\"query\":[0.1,0.2],\"limit\":3}", 1, &b);
    ck_assert(!same_key(&a, &b));
}
END_TEST

START_TEST(key_query_order_and_timeout)
{
    char out[128];
    long n = gw_ckey_norm_query("b=2&timeout=3&a=1&&c", 20, out, sizeof(out));
    ck_assert_int_eq(n, 9);
    ck_assert_int_eq(memcmp(out, "a=1&b=2&c", 9), 0);
    ck_assert_int_eq(gw_ckey_norm_query("timeout=1", 9, out, sizeof(out)), 0);
    ck_assert_int_eq(gw_ckey_norm_query("a=1&b=2", 7, out, 3), -1);
    /* Only a timeout Qdrant accepts is dropped: the others get Qdrant's 400, which must not be
     * answered from a valid request's entry (issue 19, item 7). */
    static const char *const invalid[] = {"timeout=abc",
                                          "timeout=",
                                          "timeout=-5",
                                          "timeout",
                                          "timeout=0",
                                          "timeout=+5",
                                          "timeout=12345678901234567890"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        long k = gw_ckey_norm_query(invalid[i], strlen(invalid[i]), out, sizeof(out));
        ck_assert_int_eq(k, (long)strlen(invalid[i]));
        ck_assert_int_eq(memcmp(out, invalid[i], (size_t)k), 0);
    }
}
END_TEST

START_TEST(key_credentials)
{
    static const char *const k1[] = {"api-key", "one", NULL};
    static const char *const k2[] = {"api-key", "two", NULL};
    static const char *const bearer[] = {"Authorization", "Bearer one", NULL};
    const char *p = "/collections/c/points/count", *body = "{\"exact\":true}";
    gw_ckey_t a, b, none;
    key_of("POST", p, NULL, k1, body, 1, &a);
    key_of("POST", p, NULL, k2, body, 1, &b);
    key_of("POST", p, NULL, NULL, body, 1, &none);
    ck_assert(!same_key(&a, &b));
    ck_assert(!same_key(&a, &none));
    key_of("POST", p, NULL, bearer, body, 1, &b);
    ck_assert(!same_key(&a, &b));
    key_of("POST", p, NULL, k1, body, 0, &a);
    key_of("POST", p, NULL, k2, body, 0, &b);
    ck_assert_msg(same_key(&a, &b), "shared across keys when asked");
}
END_TEST

START_TEST(key_dependencies)
{
    gw_ckey_t k;
    key_of("POST", "/collections/my%20coll/points/query", NULL, NULL,
           "{\"prefetch\":[{\"query\":7,\"lookup_from\":{\"collection\":\"zz\"}}],"
           "\"with_lookup\":\"aa\",\"query\":1}",
           1, &k);
    ck_assert_uint_eq(k.deps.n, 3);
    ck_assert_str_eq(k.deps.name[0], "aa");
    ck_assert_str_eq(k.deps.name[1], "my coll");
    ck_assert_str_eq(k.deps.name[2], "zz");
    key_of("POST", "/collections/c/points/search/groups", NULL, NULL,
           "{\"with_lookup\":{\"collection\":\"c\"},\"vector\":[1],\"group_by\":\"g\"}", 1, &k);
    ck_assert_uint_eq(k.deps.n, 1);
}
END_TEST

START_TEST(key_not_cacheable)
{
    fake_req_t f;
    gw_ckey_t k;
    const char *why = NULL;
    mkreq(&f, "POST", "/collections/c/points/query", NULL, NULL);
    ck_assert_int_eq(gw_ckey_build(&k, &f.r, "{\"a\":", 5, 1, &why), -1);
    ck_assert_str_eq(why, "body is not valid JSON");
    /* A random sample is a new answer every call (issue 19, item 9): in the query, in a
     * prefetch, in a batch; "sample" as a payload key or other value does not count. */
    static const char *const random[] = {
        "{\"query\":{\"sample\":\"random\"},\"limit\":3}",
        "{\"prefetch\":[{\"query\":{\"sample\":\"random\"}}],\"query\":{\"fusion\":\"rrf\"}}",
        "{\"searches\":[{\"query\":[1,2]},{\"query\":{\"sample\":\"random\"}}]}",
    };
    for (size_t i = 0; i < NELEM(random); i++) {
        why = NULL;
        ck_assert_int_eq(gw_ckey_build(&k, &f.r, random[i], strlen(random[i]), 1, &why), -1);
        ck_assert_ptr_nonnull(strstr(why, "random sample"));
    }
    static const char *const fine[] = {
        "{\"filter\":{\"must\":[{\"key\":\"sample\",\"match\":{\"value\":\"random\"}}]}}",
        "{\"query\":{\"sample\":\"other\"}}"};
    for (size_t i = 0; i < NELEM(fine); i++)
        ck_assert_int_eq(gw_ckey_build(&k, &f.r, fine[i], strlen(fine[i]), 1, &why), 0);
    static const char *const writes[][2] = {
        {"PUT", "/collections/c/points"},
        {"POST", "/collections/c/points/delete"},
        {"GET", "/collections/c"},
        {"GET", "/collections"},
        {"GET", "/telemetry"},
        {"POST", "/collections/c/points/payload"},
    };
    for (size_t i = 0; i < NELEM(writes); i++) {
        mkreq(&f, writes[i][0], writes[i][1], NULL, NULL);
        ck_assert_msg(gw_ckey_class(&f.r.route) < 0, "%s %s", writes[i][0], writes[i][1]);
    }
    mkreq(&f, "GET", "/collections/c/points/42", NULL, NULL);
    ck_assert_int_eq(gw_ckey_class(&f.r.route), GW_CCLASS_POINTS);
    mkreq(&f, "POST", "/collections/c/points/recommend/batch", NULL, NULL);
    ck_assert_int_eq(gw_ckey_class(&f.r.route), GW_CCLASS_SEARCH);
}
END_TEST

START_TEST(cache_control)
{
    fake_req_t f;
    static const char *const h1[] = {"Cache-Control", "max-age=0, No-Cache", NULL};
    static const char *const h2[] = {"cache-control", "no-store", NULL};
    static const char *const h3[] = {"Cache-Control", "no-cachex, private", NULL};
    mkreq(&f, "POST", "/collections/c/points/query", NULL, h1);
    ck_assert_uint_eq(gw_ckey_cache_control(&f.r), GW_CC_NO_CACHE);
    mkreq(&f, "POST", "/collections/c/points/query", NULL, h2);
    ck_assert_uint_eq(gw_ckey_cache_control(&f.r), GW_CC_NO_STORE);
    mkreq(&f, "POST", "/collections/c/points/query", NULL, h3);
    ck_assert_uint_eq(gw_ckey_cache_control(&f.r), 0);
}
END_TEST

START_TEST(l1_key_follows_generations)
{
    gw_ckey_t k;
    unsigned char a[GW_DIGEST_LEN], b[GW_DIGEST_LEN];
    key_of("POST", "/collections/c/points/count", NULL, NULL, "{}", 1, &k);
    uint64_t gens[1] = {4};
    ck_assert_int_eq(gw_ckey_l1(&k, gens, 1, a), 0);
    ck_assert_int_eq(gw_ckey_l1(&k, gens, 1, b), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
    gens[0] = 5;
    gw_ckey_l1(&k, gens, 1, b);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    gens[0] = 4;
    gw_ckey_l1(&k, gens, 2, b);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    /* past the per-thread memo of generation vectors (4 slots): still the same answers */
    for (uint64_t g = 10; g < 30; g++) {
        gens[0] = g;
        gw_ckey_l1(&k, gens, 1, b);
    }
    gens[0] = 4;
    gw_ckey_l1(&k, gens, 1, b);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
    /* another read under the same generations gets another key */
    gw_ckey_t k2;
    unsigned char c[GW_DIGEST_LEN];
    key_of("POST", "/collections/c/points/count", NULL, NULL, "{\"exact\":true}", 1, &k2);
    gw_ckey_l1(&k2, gens, 1, c);
    ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);
    /* a read with no dependency but the global generation */
    gw_ckey_t k0 = k;
    k0.deps.n = 0;
    ck_assert_int_eq(gw_ckey_l1(&k0, gens, 1, c), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);
}
END_TEST

static Suite *key_suite(void)
{
    Suite *s = suite_create("cache_key");
    TCase *tc = tcase_create("cjson");
    tcase_add_loop_test(tc, canonical_pairs, 0, NELEM(pairs));
    tcase_add_test(tc, canonical_form_is_compact_and_sorted);
    tcase_add_loop_test(tc, rejects_bad_json, 0, NELEM(bad_json));
    tcase_add_test(tc, rejects_deep_nesting);
    tcase_add_test(tc, error_positions);
    tcase_add_test(tc, number_arrays);
    tcase_add_test(tc, number_array_paths_agree);
    suite_add_tcase(s, tc);
    tc = tcase_create("key");
    tcase_add_test(tc, key_equivalences);
    tcase_add_test(tc, key_query_order_and_timeout);
    tcase_add_test(tc, key_credentials);
    tcase_add_test(tc, key_dependencies);
    tcase_add_test(tc, key_not_cacheable);
    tcase_add_test(tc, cache_control);
    tcase_add_test(tc, l1_key_follows_generations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(key_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
