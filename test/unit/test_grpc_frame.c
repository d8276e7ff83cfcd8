/* Unit tests for common/grpc_frame: messages split at every byte, several per input, zero-length
 * ones, the size limit, flag errors, truncation at end of stream; grpc-timeout parse/format;
 * status names; grpc-message percent-encoding. */
#include "common/grpc_frame.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Frames "hello", "", and 10000 bytes of 'x' into buf; returns the length. */
static size_t three_frames(uint8_t *buf)
{
    size_t n = 0;
    gw_grpc_frame_header(buf + n, 0, 5);
    memcpy(buf + n + 5, "hello", 5);
    n += 10;
    gw_grpc_frame_header(buf + n, 0, 0);
    n += 5;
    gw_grpc_frame_header(buf + n, 0, 10000);
    memset(buf + n + 5, 'x', 10000);
    return n + 5 + 10000;
}

static void check_three(gw_grpc_decoder_t *d, const uint8_t *buf, size_t total, size_t step)
{
    size_t got = 0, off = 0;
    uint32_t lens[3] = {5, 0, 10000};
    while (off < total) {
        size_t chunk = total - off < step ? total - off : step;
        const uint8_t *p = buf + off;
        size_t len = chunk;
        gw_grpc_msg_t m;
        int rc;
        while ((rc = gw_grpc_frame_feed(d, &p, &len, &m)) == 1) {
            ck_assert_uint_lt(got, 3);
            ck_assert_uint_eq(m.len, lens[got]);
            ck_assert_int_eq(m.compressed, 0);
            if (got == 0) ck_assert(memcmp(m.data, "hello", 5) == 0);
            if (got == 2) ck_assert(m.data[0] == 'x' && m.data[9999] == 'x');
            got++;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(len, 0);
        off += chunk;
    }
    ck_assert_uint_eq(got, 3);
    ck_assert_int_eq(gw_grpc_frame_finish(d), 0);
}

START_TEST(test_split_everywhere)
{
    static uint8_t buf[20000];
    size_t total = three_frames(buf);
    size_t steps[] = {1, 2, 3, 4, 5, 6, 7, 11, 4096, total};
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        gw_grpc_decoder_t d;
        gw_grpc_decoder_init(&d, 1 << 20, 0);
        check_three(&d, buf, total, steps[k]);
        ck_assert_uint_eq(d.messages, 3);
        gw_grpc_decoder_free(&d);
    }
}
END_TEST

static int feed_all(gw_grpc_decoder_t *d, const uint8_t *buf, size_t len)
{
    gw_grpc_msg_t m;
    int rc;
    while ((rc = gw_grpc_frame_feed(d, &buf, &len, &m)) == 1)
        ;
    return rc;
}

START_TEST(test_too_large)
{
    gw_grpc_decoder_t d;
    gw_grpc_decoder_init(&d, 100, 0);
    uint8_t h[5];
    gw_grpc_frame_header(h, 0, 101);
    ck_assert_int_eq(feed_all(&d, h, 3), 0);
    ck_assert_int_eq(feed_all(&d, h + 3, 2), -1); /* known once the prefix is complete */
    ck_assert_int_eq(d.err, GW_GRPC_FRAME_TOO_LARGE);
    ck_assert_str_eq(d.errmsg, "gRPC message larger than max (101 vs. 100 bytes)");
    ck_assert_int_eq(gw_grpc_frame_err_status(d.err), GW_GRPC_RESOURCE_EXHAUSTED);
    ck_assert_int_eq(feed_all(&d, h, 5), -1); /* stays failed */
    ck_assert_int_eq(gw_grpc_frame_finish(&d), -1);
    gw_grpc_decoder_free(&d);

    gw_grpc_decoder_init(&d, 100, 0); /* exactly the limit is fine */
    uint8_t f[105] = {0};
    gw_grpc_frame_header(f, 0, 100);
    ck_assert_int_eq(feed_all(&d, f, sizeof(f)), 0);
    ck_assert_uint_eq(d.messages, 1);
    gw_grpc_decoder_free(&d);

    gw_grpc_decoder_init(&d, UINT32_MAX, 0); /* 4 GiB declared: no allocation up front */
    gw_grpc_frame_header(h, 0, UINT32_MAX);
    ck_assert_int_eq(feed_all(&d, h, 5), 0);
    ck_assert_int_eq(feed_all(&d, (const uint8_t *)"abc", 3), 0);
    ck_assert_uint_le(d.cap, 4096);
    ck_assert_int_eq(gw_grpc_frame_finish(&d), -1);
    ck_assert_str_eq(d.errmsg, "gRPC stream ended inside a message (3 of 4294967295 bytes)");
    gw_grpc_decoder_free(&d);
}
END_TEST

START_TEST(test_flags)
{
    gw_grpc_decoder_t d;
    uint8_t f[8];
    gw_grpc_frame_header(f, 1, 3);
    memcpy(f + 5, "abc", 3);
    gw_grpc_decoder_init(&d, 100, 0);
    ck_assert_int_eq(feed_all(&d, f, 8), -1);
    ck_assert_int_eq(d.err, GW_GRPC_FRAME_COMPRESSED);
    ck_assert_str_eq(d.errmsg, "gRPC frame 1: compressed flag set without grpc-encoding");
    ck_assert_int_eq(gw_grpc_frame_err_status(d.err), GW_GRPC_INTERNAL);
    gw_grpc_decoder_free(&d);

    gw_grpc_decoder_init(&d, 100, 1); /* with grpc-encoding: handed over, marked */
    const uint8_t *p = f;
    size_t len = 8;
    gw_grpc_msg_t m;
    ck_assert_int_eq(gw_grpc_frame_feed(&d, &p, &len, &m), 1);
    ck_assert_int_eq(m.compressed, 1);
    ck_assert_uint_eq(m.len, 3);
    gw_grpc_decoder_free(&d);

    f[0] = 2;
    gw_grpc_decoder_init(&d, 100, 1);
    ck_assert_int_eq(feed_all(&d, f, 8), -1);
    ck_assert_int_eq(d.err, GW_GRPC_FRAME_BAD_FLAG);
    ck_assert_str_eq(d.errmsg, "gRPC frame 1: compressed flag is 2, not 0 or 1");
    ck_assert_int_eq(gw_grpc_frame_err_status(d.err), GW_GRPC_INVALID_ARGUMENT);
    gw_grpc_decoder_free(&d);
}
END_TEST

START_TEST(test_truncated)
{
    gw_grpc_decoder_t d;
    uint8_t f[8];
    gw_grpc_frame_header(f, 0, 3);
    memcpy(f + 5, "abc", 3);
    gw_grpc_decoder_init(&d, 100, 0);
    ck_assert_int_eq(gw_grpc_frame_finish(&d), 0); /* no message at all is a clean end */
    ck_assert_int_eq(feed_all(&d, f, 2), 0);
    ck_assert_int_eq(gw_grpc_frame_finish(&d), -1);
    ck_assert_int_eq(d.err, GW_GRPC_FRAME_TRUNCATED);
    ck_assert_str_eq(d.errmsg, "gRPC stream ended inside a frame prefix (2 of 5 bytes)");
    gw_grpc_decoder_free(&d);
    gw_grpc_decoder_init(&d, 100, 0);
    ck_assert_int_eq(feed_all(&d, f, 7), 0);
    ck_assert_int_eq(gw_grpc_frame_finish(&d), -1);
    ck_assert_str_eq(d.errmsg, "gRPC stream ended inside a message (2 of 3 bytes)");
    ck_assert_int_eq(gw_grpc_frame_err_status(d.err), GW_GRPC_INVALID_ARGUMENT);
    gw_grpc_decoder_free(&d);
}
END_TEST

static uint64_t timeout_ok(const char *s)
{
    uint64_t ns = 0;
    char err[128];
    ck_assert_msg(gw_grpc_timeout_parse(s, strlen(s), &ns, err, sizeof(err)) == 0, "%s: %s", s,
                  err);
    return ns;
}

static void timeout_bad(const char *s, const char *want)
{
    uint64_t ns = 0;
    char err[128];
    ck_assert_int_eq(gw_grpc_timeout_parse(s, strlen(s), &ns, err, sizeof(err)), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(test_timeout)
{
    ck_assert_uint_eq(timeout_ok("1S"), 1000000000ULL);
    ck_assert_uint_eq(timeout_ok("500m"), 500000000ULL);
    ck_assert_uint_eq(timeout_ok("10u"), 10000ULL);
    ck_assert_uint_eq(timeout_ok("7n"), 7ULL);
    ck_assert_uint_eq(timeout_ok("2M"), 120000000000ULL);
    ck_assert_uint_eq(timeout_ok("1H"), 3600000000000ULL);
    ck_assert_uint_eq(timeout_ok("0m"), 0);
    ck_assert_uint_eq(timeout_ok("99999999S"), 99999999000000000ULL);
    ck_assert_uint_eq(timeout_ok("99999999H"), UINT64_MAX); /* saturates */
    timeout_bad("", "grpc-timeout is empty");
    timeout_bad("S", "grpc-timeout \"S\": TimeoutValue must have 1 to 8 digits");
    timeout_bad("123456789S", "grpc-timeout \"123456789S\": TimeoutValue must have 1 to 8 digits");
    timeout_bad("1s", "grpc-timeout \"1s\": unit must be one of H M S m u n");
    timeout_bad("10", "grpc-timeout \"10\": unit must be one of H M S m u n");
    timeout_bad("-1S", "grpc-timeout \"-1S\": TimeoutValue must be ASCII digits");
    timeout_bad(" 1S", "grpc-timeout \" 1S\": TimeoutValue must be ASCII digits");
    timeout_bad("1.5S", "grpc-timeout \"1.5S\": TimeoutValue must be ASCII digits");

    char out[10];
    ck_assert_uint_eq(gw_grpc_timeout_format(0, out), 2);
    ck_assert_str_eq(out, "0n");
    gw_grpc_timeout_format(99999999, out);
    ck_assert_str_eq(out, "99999999n");
    gw_grpc_timeout_format(100000000, out);
    ck_assert_str_eq(out, "100000u");
    gw_grpc_timeout_format(100000001, out); /* rounded up, never shorter */
    ck_assert_str_eq(out, "100001u");
    gw_grpc_timeout_format(UINT64_MAX, out);
    ck_assert_str_eq(out, "5124096H");
    const char *round[] = {"1S", "500m", "10u", "99999999H", "12345678M"};
    for (size_t k = 0; k < 5; k++) { /* format(parse(x)) never shortens */
        uint64_t ns = timeout_ok(round[k]);
        gw_grpc_timeout_format(ns, out);
        ck_assert_uint_ge(timeout_ok(out), ns < UINT64_MAX ? ns : 0);
    }
}
END_TEST

START_TEST(test_status_and_message)
{
    ck_assert_str_eq(gw_grpc_status_name(GW_GRPC_OK), "OK");
    ck_assert_str_eq(gw_grpc_status_name(GW_GRPC_NOT_FOUND), "NOT_FOUND");
    ck_assert_str_eq(gw_grpc_status_name(GW_GRPC_UNIMPLEMENTED), "UNIMPLEMENTED");
    ck_assert_str_eq(gw_grpc_status_name(GW_GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
    ck_assert_str_eq(gw_grpc_status_name(17), "UNKNOWN_CODE");
    ck_assert_str_eq(gw_grpc_status_name(-1), "UNKNOWN_CODE");

    char out[64];
    const char *msg = "Not found: 100% \xc3\xa9t\xc3\xa9\n";
    size_t n = gw_grpc_message_encode(msg, strlen(msg), out, sizeof(out));
    ck_assert_str_eq(out, "Not found: 100%25 %C3%A9t%C3%A9%0A");
    ck_assert_uint_eq(n, strlen(out));
    char back[64];
    gw_grpc_message_decode(out, n, back);
    ck_assert_str_eq(back, msg);
    n = gw_grpc_message_encode("ab\n", 3, out, 5); /* no half escape */
    ck_assert_str_eq(out, "ab");
    gw_grpc_message_decode("%zz%4", 5, back); /* lenient: kept as is */
    ck_assert_str_eq(back, "%zz%4");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("grpc_frame");
    TCase *tc = tcase_create("grpc_frame");
    tcase_add_test(tc, test_split_everywhere);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_status_and_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
