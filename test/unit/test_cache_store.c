/* Unit tests for gateway/cache/l1.c (byte accounting, LRU order, expiry, references) and
 * gateway/cache/generations.c (generations, aliases, dependency sets). */
#include "gateway/cache/l1.h"
#include "gateway/cache/generations.h"
#include "unit_util.h"

#include <check.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Keys that all land in one shard (key[0] picks it), distinct elsewhere. */
static void mkkey(unsigned char *k, unsigned shard, unsigned i)
{
    memset(k, 0, GW_DIGEST_LEN);
    k[0] = (unsigned char)shard;
    memcpy(k + 8, &i, sizeof(i));
    k[31] = (unsigned char)(i * 7);
}

static gw_centry_t *mkentry(unsigned shard, unsigned i, size_t body, uint64_t now, uint64_t ttl)
{
    unsigned char k[GW_DIGEST_LEN];
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    mkkey(k, shard, i);
    ck_assert_uint_le(body, sizeof(buf));
    return gw_centry_new(k, 200, "content-type: application/json\r\n", 32, buf, body, now, ttl,
                         1000);
}

START_TEST(lru_byte_accounting)
{
    gw_l1_t *c = gw_l1_new(16 * 10000); /* 10000 bytes per shard */
    gw_l1_stats_t st;
    gw_centry_t *e = mkentry(3, 1, 1000, 0, 100);
    size_t charge = e->charge;
    ck_assert_uint_gt(charge, 1000 + 32);
    ck_assert_int_eq(gw_l1_put(c, e), 1);
    gw_centry_unref(e);
    gw_l1_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.bytes, charge);
    /* Replacing the same key does not double count. */
    e = mkentry(3, 1, 1000, 0, 100);
    gw_l1_put(c, e);
    gw_centry_unref(e);
    gw_l1_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.bytes, charge);
    /* Fill the shard well past its budget: it never exceeds it. */
    for (unsigned i = 2; i < 40; i++) {
        e = mkentry(3, i, 1000, 0, 100);
        gw_l1_put(c, e);
        gw_centry_unref(e);
        gw_l1_get_stats(c, &st);
        ck_assert_uint_le(st.bytes, 10000);
    }
    ck_assert_uint_eq(st.entries, 10000 / charge);
    ck_assert_uint_eq(st.evictions, 39 - 10000 / charge);
    gw_l1_clear(c);
    gw_l1_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    gw_l1_free(c);
}
END_TEST

START_TEST(lru_evicts_least_recently_used)
{
    gw_l1_t *c = gw_l1_new(16 * 4000);
    unsigned char k[GW_DIGEST_LEN];
    for (unsigned i = 0; i < 3; i++) {
        gw_centry_t *e = mkentry(5, i, 1000, 0, 100);
        gw_l1_put(c, e);
        gw_centry_unref(e);
    }
    mkkey(k, 5, 0);
    gw_centry_t *e = gw_l1_get(c, k, 1); /* 0 is now the most recent */
    ck_assert_ptr_nonnull(e);
    gw_centry_unref(e);
    e = mkentry(5, 3, 1000, 0, 100); /* evicts 1, the least recent */
    gw_l1_put(c, e);
    gw_centry_unref(e);
    mkkey(k, 5, 1);
    ck_assert_ptr_null(gw_l1_get(c, k, 1));
    for (unsigned i = 0; i < 4; i += 2 + (i == 0)) { /* 0 and 2... and 3 */
        mkkey(k, 5, i);
        e = gw_l1_get(c, k, 1);
        ck_assert_msg(e != NULL, "entry %u evicted", i);
        gw_centry_unref(e);
    }
    gw_l1_free(c);
}
END_TEST

START_TEST(lru_expiry_and_stale)
{
    gw_l1_t *c = gw_l1_new(1 << 20);
    unsigned char k[GW_DIGEST_LEN];
    gw_centry_t *e = mkentry(1, 1, 10, 1000, 500); /* fresh until 1500, stale until 2500 */
    gw_l1_put(c, e);
    gw_centry_unref(e);
    mkkey(k, 1, 1);
    e = gw_l1_get(c, k, 1499);
    ck_assert(e && 1499 < e->expires_us);
    gw_centry_unref(e);
    e = gw_l1_get(c, k, 2000); /* expired, still there for stale-if-error */
    ck_assert(e && 2000 >= e->expires_us);
    gw_centry_unref(e);
    ck_assert_ptr_null(gw_l1_get(c, k, 2500));
    gw_l1_stats_t st;
    gw_l1_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    gw_l1_free(c);
}
END_TEST

START_TEST(lru_refuses_oversized_and_zero_budget)
{
    gw_l1_t *c = gw_l1_new(16 * 1000);
    gw_centry_t *e = mkentry(2, 1, 2000, 0, 100);
    ck_assert_int_eq(gw_l1_put(c, e), 0);
    gw_centry_unref(e);
    gw_l1_free(c);
    c = gw_l1_new(0);
    e = mkentry(2, 1, 1, 0, 100);
    ck_assert_int_eq(gw_l1_put(c, e), 0);
    gw_centry_unref(e);
    gw_l1_free(c);
}
END_TEST

START_TEST(lru_reader_keeps_evicted_entry)
{
    gw_l1_t *c = gw_l1_new(1 << 20);
    unsigned char k[GW_DIGEST_LEN];
    gw_centry_t *e = mkentry(4, 9, 100, 0, 100);
    gw_l1_put(c, e);
    gw_centry_unref(e);
    mkkey(k, 4, 9);
    e = gw_l1_get(c, k, 1);
    gw_l1_clear(c);
    ck_assert_uint_eq(e->body_len, 100); /* still readable (ASan would catch a free) */
    ck_assert_int_eq(e->body[99], 'x');
    gw_centry_unref(e);
    gw_l1_free(c);
}
END_TEST

typedef struct hammer {
    gw_l1_t *c;
    unsigned seed;
} hammer_t;

static void *hammer_run(void *arg)
{
    hammer_t *h = arg;
    for (unsigned i = 0; i < 20000; i++) {
        unsigned n = (h->seed + i * 2654435761u) % 512;
        unsigned char k[GW_DIGEST_LEN];
        mkkey(k, n % 16, n);
        gw_centry_t *e = gw_l1_get(h->c, k, 1);
        if (e) {
            gw_centry_unref(e);
        } else {
            e = mkentry(n % 16, n, 64 + n, 0, 1000);
            gw_l1_put(h->c, e);
            gw_centry_unref(e);
        }
    }
    return NULL;
}

START_TEST(lru_threads)
{
    gw_l1_t *c = gw_l1_new(16 * 8192);
    pthread_t t[4];
    hammer_t h[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer_t){c, (unsigned)i * 7919u};
        pthread_create(&t[i], NULL, hammer_run, &h[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    gw_l1_stats_t st;
    gw_l1_get_stats(c, &st);
    ck_assert_uint_le(st.bytes, 16 * 8192);
    gw_l1_free(c);
}
END_TEST

/* ---- names ----------------------------------------------------------------------------------- */

START_TEST(deps_sorted_unique)
{
    gw_deps_t d = {0};
    ck_assert_int_eq(gw_deps_add(&d, "b", 1), 0);
    ck_assert_int_eq(gw_deps_add(&d, "a", 1), 0);
    ck_assert_int_eq(gw_deps_add(&d, "ab", 2), 0);
    ck_assert_int_eq(gw_deps_add(&d, "a", 1), 0);
    ck_assert_uint_eq(d.n, 3);
    ck_assert_str_eq(d.name[0], "a");
    ck_assert_str_eq(d.name[1], "ab");
    ck_assert_str_eq(d.name[2], "b");
    char big[GW_NAME_MAX + 1];
    memset(big, 'z', sizeof(big));
    ck_assert_int_eq(gw_deps_add(&d, big, sizeof(big)), -1);
    for (int i = 0; d.n < GW_DEPS_MAX; i++) {
        char n[16];
        snprintf(n, sizeof(n), "n%d", i);
        ck_assert_int_eq(gw_deps_add(&d, n, strlen(n)), 0);
    }
    ck_assert_int_eq(gw_deps_add(&d, "zzz", 3), -1);
}
END_TEST

START_TEST(names_generations_and_aliases)
{
    gw_names_t *t = gw_names_new();
    gw_deps_t d = {0};
    uint64_t g[GW_DEPS_MAX], global = 0;
    ck_assert_int_eq(gw_names_aliases_loaded(t), 0);
    gw_deps_add(&d, "al", 2);
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_uint_eq(g[0], 0);

    const char *alias[] = {"al"}, *coll[] = {"c"};
    uint64_t epoch = gw_names_alias_epoch(t);
    gw_names_set_aliases(t, alias, coll, 1, epoch);
    ck_assert_int_eq(gw_names_aliases_loaded(t), 1);
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(d.n, 2); /* "al" depends on "c" too */
    ck_assert_str_eq(d.name[1], "c");

    char out[2][GW_NAME_MAX];
    ck_assert_uint_eq(gw_names_bump(t, "c", out), 1);
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(g[0], 0);
    ck_assert_uint_eq(g[1], 1);
    ck_assert_uint_eq(gw_names_bump(t, "al", out), 2); /* a write through the alias */
    ck_assert_str_eq(out[1], "c");
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(g[0], 1);
    ck_assert_uint_eq(g[1], 2);
    uint64_t before = global;
    gw_names_bump_all(t);
    ck_assert_int_eq(gw_names_aliases_loaded(t), 0); /* an alias may have changed */
    gw_names_set_aliases(t, alias, coll, 1, epoch);  /* a fetch that started before: not enough */
    ck_assert_int_eq(gw_names_aliases_loaded(t), 0);
    epoch = gw_names_alias_epoch(t);
    gw_names_set_aliases(t, alias, coll, 1, epoch);
    ck_assert_int_eq(gw_names_aliases_loaded(t), 1);
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(global, before + 1);
    gw_names_bump_one(t, "al");
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(g[0], 2);
    ck_assert_uint_eq(g[1], 2);
    gw_names_set_aliases(t, NULL, NULL, 0, gw_names_alias_epoch(t)); /* alias removed */
    gw_deps_t d2 = {0};
    gw_deps_add(&d2, "al", 2);
    gw_names_capture(t, &d2, g, &global);
    ck_assert_uint_eq(d2.n, 1);
    gw_names_free(t);
}
END_TEST

/* Regression (found by fuzz_alias_list): an alias listed twice leaked the first copy of its
 * collection's name on every reload. The last pair counts; reloading the same list again and
 * again holds no more memory than once (glibc's own count of bytes in use). */
START_TEST(names_duplicate_alias)
{
    gw_names_t *t = gw_names_new();
    const char *alias[] = {"al", "al", "c2"}, *coll[] = {"c1", "c2", "c2"};
    gw_names_set_aliases(t, alias, coll, 3, gw_names_alias_epoch(t));
    gw_deps_t d = {0};
    uint64_t g[GW_DEPS_MAX], global;
    gw_deps_add(&d, "al", 2);
    gw_names_capture(t, &d, g, &global);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_str_eq(d.name[1], "c2");
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 1000; i++)
        gw_names_set_aliases(t, alias, coll, 3, gw_names_alias_epoch(t));
    size_t after = mallinfo2().uordblks;
    ck_assert_msg(after < before + 4096, "reloads hold %zu more bytes", after - before);
    gw_names_free(t);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("cache_store");
    TCase *tc = tcase_create("lru");
    tcase_add_test(tc, lru_byte_accounting);
    tcase_add_test(tc, lru_evicts_least_recently_used);
    tcase_add_test(tc, lru_expiry_and_stale);
    tcase_add_test(tc, lru_refuses_oversized_and_zero_budget);
    tcase_add_test(tc, lru_reader_keeps_evicted_entry);
    tcase_add_test(tc, lru_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_test(tc, deps_sorted_unique);
    tcase_add_test(tc, names_generations_and_aliases);
    tcase_add_test(tc, names_duplicate_alias);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
