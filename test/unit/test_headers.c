/* Unit tests for gateway/http/headers.c: hop-by-hop detection, header-name equality and token
 * lists, table-driven, with every input ending at a guard page so that over-reads fault. */
#include "gateway/http/headers.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Two slots, each a page followed by a PROT_NONE page; inputs are copied flush against the
 * guard and not NUL-terminated (picohttpparser's approach). */
static guard_slots_t guard;

static void guard_setup(void)
{
    guard_slots_open(&guard);
}

static void guard_teardown(void)
{
    guard_slots_close(&guard);
}

static const char *at_guard(int slot, const char *s, size_t len)
{
    return guard_at(&guard, slot, s, len);
}

typedef struct hop_case {
    const char *name;
    const char *connection; /* NULL: no Connection header */
    int want;
} hop_case_t;

static const hop_case_t hop_cases[] = {
    /* The fixed list, any case. */
    {"Connection", NULL, 1},
    {"connection", NULL, 1},
    {"CONNECTION", NULL, 1},
    {"Keep-Alive", NULL, 1},
    {"Proxy-Connection", NULL, 1},
    {"TE", NULL, 1},
    {"te", NULL, 1},
    {"Trailer", NULL, 1},
    {"Transfer-Encoding", NULL, 1},
    {"transfer-encoding", NULL, 1},
    {"Upgrade", NULL, 1},
    /* Any Proxy-*. */
    {"Proxy-Authorization", NULL, 1},
    {"proxy-authenticate", NULL, 1},
    {"PROXY-Anything", NULL, 1},
    {"Proxy-", NULL, 1},
    {"Proxy-Authorization", "", 1},
    {"Proxy-Authorization", "close", 1},
    /* End-to-end headers. */
    {"api-key", NULL, 0},
    {"Api-Key", NULL, 0},
    {"authorization", NULL, 0},
    {"Authorization", NULL, 0},
    {"Content-Type", NULL, 0},
    {"Content-Length", NULL, 0},
    {"Host", NULL, 0},
    {"Accept-Encoding", NULL, 0},
    {"Trailers", NULL, 0},
    {"Tee", NULL, 0},
    {"T", NULL, 0},
    {"Upgrade-Insecure-Requests", NULL, 0},
    {"Connectio", NULL, 0},
    {"Connections", NULL, 0},
    {"Keep-Alive2", NULL, 0},
    {"Proxy", NULL, 0},
    {"Proxy_Authorization", NULL, 0},
    {"X-Proxy-Id", NULL, 0},
    {"", NULL, 0},
    {"", "X-Foo", 0},
    /* Names listed in Connection. */
    {"X-Foo", "close, X-Foo", 1},
    {"x-foo", "close, X-Foo", 1},
    {"X-FOO", "close,x-foo", 1},
    {"X-Foo", "X-Foo", 1},
    {"X-Foo", " \tX-Foo\t ", 1},
    {"X-Foo", "close,\tX-Foo ,keep-alive", 1},
    {"X-Foo", ",,X-Foo,,", 1},
    {"X-Foo", ", ,\t, X-Foo", 1},
    {"X-Bar", "close, X-Foo", 0},
    {"X-Foo", "close, X-Foo-Bar", 0},
    {"X-Foo", "close, X-Fo", 0},
    {"X-Fo", "close, X-Foo", 0},
    {"X-Foo", "close X-Foo", 0}, /* one element "close X-Foo" */
    {"X-Foo", "", 0},
    {"X-Foo", ",", 0},
    {"X-Foo", " , \t ", 0},
    {"X-Foo", "close", 0},
    {"X-Foo", "\"X-Foo\"", 0},
    {"Keep-Alive", "close", 1},
    {"close", "close", 1}, /* a header actually named "close" goes, as RFC 9110 says */
    /* Never by Connection's say-so: credentials and framing. */
    {"api-key", "api-key", 0},
    {"Api-Key", "close, API-KEY", 0},
    {"authorization", "Authorization", 0},
    {"Authorization", "keep-alive, authorization", 0},
    {"Content-Length", "Content-Length", 0},
    {"Host", "host", 0},
    {"Content-Type", "Content-Type", 1},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(hop_by_hop)
{
    const hop_case_t *c = &hop_cases[_i];
    size_t nlen = strlen(c->name);
    const char *name = at_guard(0, c->name, nlen);
    const char *conn = NULL;
    size_t clen = 0;

    if (c->connection) {
        clen = strlen(c->connection);
        conn = at_guard(1, c->connection, clen);
    }
    ck_assert_msg(gw_header_is_hop_by_hop(name, nlen, conn, clen) == c->want,
                  "'%s' with Connection '%s': want %d", c->name,
                  c->connection ? c->connection : "(none)", c->want);
}
END_TEST

/* connection_len bounds the value: a name just past it is not listed. */
START_TEST(hop_by_hop_respects_lengths)
{
    const char *v = at_guard(1, "close, X-Foo", 12);
    const char *n = at_guard(0, "X-Foo", 5);

    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 5, v, 12), 1);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 5, v, 11), 0);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 5, v, 0), 0);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 5, NULL, 12), 0);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 4, v, 12), 0);
    n = at_guard(0, "Upgrade", 7);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 7, NULL, 0), 1);
    ck_assert_int_eq(gw_header_is_hop_by_hop(n, 6, NULL, 0), 0);
}
END_TEST

typedef struct eq_case {
    const char *name;
    const char *literal;
    int want;
} eq_case_t;

static const eq_case_t eq_cases[] = {
    {"Content-Type", "content-type", 1},
    {"CONTENT-TYPE", "content-type", 1},
    {"content-type", "content-type", 1},
    {"Content-Typ", "content-type", 0},
    {"Content-Types", "content-type", 0},
    {"Content_Type", "content-type", 0},
    {"", "", 1},
    {"", "a", 0},
    {"a", "", 0},
    {"API-KEY", "api-key", 1},
    {"\xC3\x89", "\xC3\xA9", 0}, /* no Unicode folding: names are ASCII tokens */
    {"[", "{", 0},               /* 'Z'+1 is not a letter */
    {"@", "`", 0},
};

START_TEST(name_eq)
{
    const eq_case_t *c = &eq_cases[_i];
    size_t len = strlen(c->name);
    const char *name = at_guard(0, c->name, len);

    ck_assert_msg(gw_header_name_eq(name, len, c->literal) == c->want, "'%s' vs '%s'", c->name,
                  c->literal);
}
END_TEST

typedef struct token_case {
    const char *value;
    const char *token;
    int want;
} token_case_t;

static const token_case_t token_cases[] = {
    {"keep-alive, Upgrade", "upgrade", 1},
    {"keep-alive, Upgrade", "keep-alive", 1},
    {"keep-alive, Upgrade", "close", 0},
    {"Upgrade", "upgrade", 1},
    {"UPGRADE", "upgrade", 1},
    {"upgrade,", "upgrade", 1},
    {",upgrade", "upgrade", 1},
    {"\tupgrade\t", "upgrade", 1},
    {"  upgrade  ,  close  ", "close", 1},
    {"upgraded", "upgrade", 0},
    {"upgrad", "upgrade", 0},
    {"up grade", "upgrade", 0},
    {"", "upgrade", 0},
    {",,,", "upgrade", 0},
    {" \t ", "upgrade", 0},
    {"a,,b", "", 0},
    {"", "", 0},
    {"gzip;q=0", "gzip", 0},
    {"gzip, deflate", "deflate", 1},
    {"trailers", "trailers", 1},
    {"trailers ; q=1", "trailers", 0},
};

START_TEST(has_token)
{
    const token_case_t *c = &token_cases[_i];
    size_t len = strlen(c->value);
    const char *value = at_guard(1, c->value, len);

    ck_assert_msg(gw_header_has_token(value, len, c->token) == c->want, "'%s' has '%s': want %d",
                  c->value, c->token, c->want);
}
END_TEST

START_TEST(has_token_null_value)
{
    ck_assert_int_eq(gw_header_has_token(NULL, 0, "close"), 0);
}
END_TEST

/* The stored-head iterator: CRLF and LF lines, OWS trimmed, lines without a name skipped, a
 * last line without its end, and reads that stay within the given length. */
START_TEST(hdr_block_walk)
{
    static const char block[] = "Content-Type: application/json\r\n"
                                "X-A:\t  spaced  \t\n"
                                "no colon here\r\n"
                                ": empty name\r\n"
                                "\r\n"
                                "Empty:\r\n"
                                "Last: one";
    gw_hdr_t h;
    size_t off = 0;
    const char *want[][2] = {
        {"Content-Type", "application/json"}, {"X-A", "spaced"}, {"Empty", ""}, {"Last", "one"}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(gw_hdr_block_next(block, sizeof(block) - 1, &off, &h), 1);
        ck_assert_uint_eq(h.name_len, strlen(want[i][0]));
        ck_assert_int_eq(memcmp(h.name, want[i][0], h.name_len), 0);
        ck_assert_uint_eq(h.value_len, strlen(want[i][1]));
        ck_assert_int_eq(memcmp(h.value, want[i][1], h.value_len), 0);
    }
    ck_assert_int_eq(gw_hdr_block_next(block, sizeof(block) - 1, &off, &h), 0);
    ck_assert_uint_eq(off, sizeof(block) - 1);
    /* A length that cuts a line: the value ends there too. */
    off = 0;
    ck_assert_int_eq(gw_hdr_block_next(block, 20, &off, &h), 1);
    ck_assert_uint_eq(h.value_len, 6); /* "applic" */
    ck_assert_int_eq(gw_hdr_block_next(block, 20, &off, &h), 0);
    off = 0;
    ck_assert_int_eq(gw_hdr_block_next(block, 0, &off, &h), 0);
}
END_TEST

static Suite *headers_suite(void)
{
    Suite *s = suite_create("headers");
    TCase *tc = tcase_create("headers");

    tcase_add_checked_fixture(tc, guard_setup, guard_teardown);
    tcase_add_loop_test(tc, hop_by_hop, 0, N(hop_cases));
    tcase_add_test(tc, hop_by_hop_respects_lengths);
    tcase_add_loop_test(tc, name_eq, 0, N(eq_cases));
    tcase_add_loop_test(tc, has_token, 0, N(token_cases));
    tcase_add_test(tc, has_token_null_value);
    tcase_add_test(tc, hdr_block_walk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(headers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
