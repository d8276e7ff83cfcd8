/* Unit tests for common/digest: known SHA-256 answers, and the same digest however the input is
 * split into updates (gathered small pieces, pieces straddling the gather buffer, large ones),
 * repeated on one thread (the reused context) and on several threads at once. */
#include "common/digest.h"
#include "unit_util.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void hex_of(const void *data, size_t len, char out[GW_DIGEST_HEX])
{
    unsigned char d[GW_DIGEST_LEN];
    ck_assert_int_eq(gw_digest_buf(data, len, d), 0);
    gw_digest_hex(d, out);
}

START_TEST(test_known_answers)
{
    char hex[GW_DIGEST_HEX];
    hex_of("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    gw_digest_t d;
    unsigned char out[GW_DIGEST_LEN];
    ck_assert_int_eq(gw_digest_init(&d), 0);
    gw_digest_update(&d, "a", 1);
    gw_digest_update(&d, "", 0);
    gw_digest_update(&d, "bc", 2);
    gw_digest_final(&d, out);
    gw_digest_hex(out, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

/* Feeds data in pieces of the given sizes (cycled) and compares with the one-shot digest. */
static void check_split(const unsigned char *data, size_t len, const size_t *sizes, size_t nsizes)
{
    unsigned char want[GW_DIGEST_LEN], got[GW_DIGEST_LEN];
    gw_digest_t d;
    ck_assert_int_eq(gw_digest_buf(data, len, want), 0);
    ck_assert_int_eq(gw_digest_init(&d), 0);
    for (size_t off = 0, i = 0; off < len; i++) {
        size_t n = sizes[i % nsizes];
        if (n > len - off) n = len - off;
        gw_digest_update(&d, data + off, n);
        off += n;
    }
    gw_digest_final(&d, got);
    ck_assert_mem_eq(want, got, GW_DIGEST_LEN);
}

START_TEST(test_any_split_same_digest)
{
    size_t len = 20000;
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    const size_t a[] = {1}, b[] = {7, 500, 3}, c[] = {511, 2}, d[] = {512}, e[] = {513, 1},
                 f[] = {4096}, g[] = {8, 9000, 8};
    for (int round = 0; round < 3; round++) { /* the thread's context is reused */
        check_split(data, len, a, 1);
        check_split(data, len, b, 3);
        check_split(data, len, c, 2);
        check_split(data, len, d, 1);
        check_split(data, len, e, 2);
        check_split(data, len, f, 1);
        check_split(data, len, g, 3);
        check_split(data, 100, b, 3);
    }
    free(data);
}
END_TEST

START_TEST(test_fields_are_delimited)
{
    unsigned char x[GW_DIGEST_LEN], y[GW_DIGEST_LEN];
    gw_digest_t d;
    ck_assert_int_eq(gw_digest_init(&d), 0);
    gw_digest_field(&d, "ab", 2);
    gw_digest_field(&d, "c", 1);
    gw_digest_final(&d, x);
    ck_assert_int_eq(gw_digest_init(&d), 0);
    gw_digest_field(&d, "a", 1);
    gw_digest_field(&d, "bc", 2);
    gw_digest_final(&d, y);
    ck_assert_mem_ne(x, y, GW_DIGEST_LEN);
    /* two digests under way on one thread at once: each has its own context */
    gw_digest_t d1, d2;
    ck_assert_int_eq(gw_digest_init(&d1), 0);
    ck_assert_int_eq(gw_digest_init(&d2), 0);
    gw_digest_update(&d1, "abc", 3);
    gw_digest_update(&d2, "ab", 2);
    gw_digest_final(&d1, x);
    gw_digest_update(&d2, "c", 1);
    gw_digest_final(&d2, y);
    ck_assert_mem_eq(x, y, GW_DIGEST_LEN);
    gw_digest_dispose(&d); /* after final: harmless */
}
END_TEST

static void *digest_many(void *arg)
{
    const size_t sizes[] = {3, 700, 1};
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i ^ (size_t)arg);
    for (int i = 0; i < 200; i++)
        check_split(data, sizeof data, sizes, 3);
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, digest_many, (void *)i), 0);
    for (size_t i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_any_split_same_digest);
    tcase_add_test(tc, test_fields_are_delimited);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
