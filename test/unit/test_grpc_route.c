/* Unit tests for gateway/http/grpc_route's message scanners: field 1 (collection_name) and a
 * point write's `optional bool wait = 2`, with unknown fields of every wire type skipped, the
 * last occurrence winning, and malformed messages refused. */
#include "gateway/http/grpc_route.h"
#include "unit_util.h"

#include <check.h>
#include <string.h>

#define M(s) (const uint8_t *)(s), sizeof(s) - 1

START_TEST(test_field1)
{
    const uint8_t *name;
    size_t nl;
    ck_assert_int_eq(gw_grpc_field1(M("\x0a\x02gc\x10\x01"), &name, &nl), 1);
    ck_assert_uint_eq(nl, 2);
    ck_assert(memcmp(name, "gc", 2) == 0);
    ck_assert_int_eq(gw_grpc_field1(M("\x0a\x01x\x0a\x02yz"), &name, &nl), 1); /* last wins */
    ck_assert(nl == 2 && memcmp(name, "yz", 2) == 0);
    ck_assert_int_eq(gw_grpc_field1(M("\x10\x01"), &name, &nl), 0);
    ck_assert_int_eq(gw_grpc_field1(M("\x08\x01"), &name, &nl), 0);    /* field 1 as a varint */
    ck_assert_int_eq(gw_grpc_field1(M("\x0a\x05gc"), &name, &nl), -1); /* length past the end */
    ck_assert_int_eq(gw_grpc_field1(M("\x0b"), &name, &nl), -1);       /* a group */
    ck_assert_int_eq(gw_grpc_field1((const uint8_t *)"", 0, &name, &nl), 0);
}
END_TEST

START_TEST(test_wait)
{
    ck_assert_int_eq(gw_grpc_wait_true(M("\x0a\x02gc\x10\x01")), 1);
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x01\x0a\x02gc")), 1);
    ck_assert_int_eq(gw_grpc_wait_true(M("\x0a\x02gc")), 0); /* absent: Qdrant's false */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x0a\x02gc\x10\x00")), 0);
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x01\x10\x00")), 0); /* last wins */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x00\x10\x01")), 1);
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x81\x00")), 1); /* a non-minimal varint */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x12\x01\x01")), 0); /* field 2 not a varint */
    /* Unknown fields of each wire type before it: fixed64, fixed32, length-delimited. */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x19\x01\x02\x03\x04\x05\x06\x07\x08"
                                         "\x25\x01\x02\x03\x04"
                                         "\x1a\x03"
                                         "abc\x10\x01")),
                     1);
    /* Malformed: never taken for true. */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10")), 0);
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x01\x19\x01")), 0); /* fixed64 cut short */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\x01\x0f")), 0);     /* wire type 7 */
    ck_assert_int_eq(gw_grpc_wait_true(M("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")),
                     0); /* 11 bytes */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("grpc_route");
    TCase *tc = tcase_create("grpc_route");
    tcase_add_test(tc, test_field1);
    tcase_add_test(tc, test_wait);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
