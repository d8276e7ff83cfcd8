/* Unit tests for common/text: appends and printf keep the text NUL-terminated, reset keeps the
 * buffer for reuse, take hands the text over and empties the buffer. */
#include "common/text.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_add_printf_reset_take)
{
    gw_text_t t = {0};
    size_t len = 0;
    ck_assert_ptr_null(gw_text_take(&t, &len)); /* nothing ever added */
    gw_text_add(&t, "ab", 2);
    gw_text_printf(&t, "-%d-", 42);
    ck_assert_str_eq(t.p, "ab-42-");
    ck_assert_uint_eq(t.len, 6);
    gw_text_reset(&t);
    ck_assert_uint_eq(t.len, 0);
    ck_assert_str_eq(t.p, "");
    for (int i = 0; i < 2000; i++) /* past the first allocation */
        gw_text_add(&t, "0123456789", 10);
    ck_assert_uint_eq(t.len, 20000);
    ck_assert_uint_eq(strlen(t.p), 20000);
    char *s = gw_text_take(&t, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 20000);
    ck_assert_ptr_null(t.p);
    ck_assert_uint_eq(t.len, 0);
    free(s);
    gw_text_free(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_add_printf_reset_take);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
