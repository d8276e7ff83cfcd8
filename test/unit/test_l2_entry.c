/* Unit tests for gateway/cache/l2_entry.c: L2 entries written and read back, every way a stored
 * value can be wrong (each with its reason), generations' text, invalidation messages. */
#include "gateway/cache/l2_entry.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char key[GW_DIGEST_LEN] = {1, 2, 3};
static const uint64_t gens[3] = {1764000000000001ull, 42, UINT64_MAX};

static unsigned char *build(int status, uint32_t ngens, const char *hdrs, const char *body,
                            size_t *len)
{
    gw_l2_entry_t e = {.inst = (const unsigned char *)"00000000deadbeef",
                       .l1key = key,
                       .created_ms = 1764000000000ull,
                       .status = status,
                       .ngens = ngens,
                       .hdrs = (const unsigned char *)hdrs,
                       .hdrs_len = strlen(hdrs),
                       .body = (const unsigned char *)body,
                       .body_len = strlen(body)};
    *len = gw_l2_entry_size(ngens, e.hdrs_len, e.body_len);
    unsigned char *v = malloc(*len + 8);
    gw_l2_entry_write(v, &e, gens);
    return v;
}

START_TEST(test_round_trip)
{
    size_t len;
    unsigned char *v = build(200, 3, "content-type: application/json\r\n", "{\"result\":1}", &len);
    ck_assert_uint_eq(len, GW_L2_FIXED_LEN + 3 * 8 + 8 + 32 + 12);
    gw_l2_entry_t e;
    ck_assert_ptr_null(gw_l2_entry_parse(v, len, &e));
    ck_assert_int_eq(e.status, 200);
    ck_assert_uint_eq(e.created_ms, 1764000000000ull);
    ck_assert_uint_eq(e.ngens, 3);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_uint_eq(gw_l2_entry_gen(&e, i), gens[i]);
    ck_assert_mem_eq(e.inst, "00000000deadbeef", GW_L2_INST_LEN);
    ck_assert_mem_eq(e.l1key, key, GW_DIGEST_LEN);
    ck_assert_uint_eq(e.hdrs_len, 32);
    ck_assert_mem_eq(e.body, "{\"result\":1}", 12);
    free(v);
}
END_TEST

static void refused(const unsigned char *v, size_t len, const char *why)
{
    gw_l2_entry_t e;
    const char *got = gw_l2_entry_parse(v, len, &e);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, why);
}

START_TEST(test_refused)
{
    size_t len;
    unsigned char *v = build(200, 2, "a: b\r\n", "{}", &len);
    refused(v, GW_L2_FIXED_LEN - 1, "shorter than an entry's fixed part");
    refused(v, GW_L2_FIXED_LEN + 8, "shorter than its generations");
    refused(v, len - 1, "shorter than its header block and body");
    v[len] = 'x';
    refused(v, len + 1, "longer than its header block and body");
    v[0] = 'X';
    refused(v, len, "not an entry (no QGW1 magic)");
    free(v);
    /* A generation count past the value (8 * ngens wraps in 32 bits at 2^29). */
    v = build(200, 0, "", "", &len);
    size_t at = 4 + GW_L2_INST_LEN + GW_DIGEST_LEN + 12;
    v[at] = 0x01, v[at + 1] = 0, v[at + 2] = 0, v[at + 3] = 0x20; /* 0x20000001 */
    refused(v, len, "shorter than its generations");
    free(v);
}
END_TEST

/* Regression: a stored status was served whatever it was (0, 99, 4294967295 as -1). */
START_TEST(test_status_range)
{
    static const int bad[] = {0, 99, 100, 199, 600, -1};
    for (size_t i = 0; i < NELEM(bad); i++) {
        size_t len;
        unsigned char *v = build(bad[i], 1, "", "{}", &len);
        refused(v, len, "status is not a final HTTP status (200..599)");
        free(v);
    }
    size_t len;
    gw_l2_entry_t e;
    unsigned char *v = build(599, 1, "", "", &len);
    ck_assert_ptr_null(gw_l2_entry_parse(v, len, &e));
    free(v);
}
END_TEST

/* Regression: strtoull read "abc" as generation 0 and "12x" as 12, so entries were stored and
 * served under a generation INCR can never move (Redis refuses to INCR such a value). */
START_TEST(test_gen_text)
{
    uint64_t v = 0;
    ck_assert_int_eq(gw_l2_gen_parse("1764000000000001", 16, &v), 0);
    ck_assert_uint_eq(v, 1764000000000001ull);
    ck_assert_int_eq(gw_l2_gen_parse("18446744073709551615", 20, &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(gw_l2_gen_parse("0", 1, &v), 0);
    ck_assert_uint_eq(v, 0);
    static const char *const bad[] = {"",
                                      "abc",
                                      "12x",
                                      "-1",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "1.5",
                                      "18446744073709551616",
                                      "000000000000000000001"};
    for (size_t i = 0; i < NELEM(bad); i++) {
        v = 7;
        ck_assert_msg(gw_l2_gen_parse(bad[i], strlen(bad[i]), &v) == -1, "%s", bad[i]);
        ck_assert_uint_eq(v, 7);
    }
    ck_assert_int_eq(gw_l2_gen_parse("1\0", 2, &v), -1);
}
END_TEST

START_TEST(test_inval_message)
{
    static const char self[] = "00000000deadbeef";
    char name[8];
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef docs", 21, self, name, sizeof(name)), 1);
    ck_assert_str_eq(name, "docs");
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef *", 18, self, name, sizeof(name)), 1);
    ck_assert_str_eq(name, "*");
    ck_assert_int_eq(gw_l2_inval_parse("00000000deadbeef docs", 21, self, name, sizeof(name)), 0);
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef 1234567", 24, self, name, sizeof(name)),
                     1);
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef 12345678", 25, self, name, sizeof(name)),
                     -2);
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef ", 17, self, name, sizeof(name)), -1);
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdefxdocs", 21, self, name, sizeof(name)), -1);
    ck_assert_int_eq(gw_l2_inval_parse("short docs", 10, self, name, sizeof(name)), -1);
    /* Regression: a NUL in the name bumped only the part before it. */
    ck_assert_int_eq(gw_l2_inval_parse("0123456789abcdef do\0cs", 22, self, name, sizeof(name)),
                     -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("l2_entry");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_status_range);
    tcase_add_test(tc, test_gen_text);
    tcase_add_test(tc, test_inval_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
