/* Unit tests for the Redis client when Redis answers what it should not (issue 19, item 3):
 * lengths that would take all memory, replies over the bounds of client.h, what hiredis cannot
 * parse or asserts on, junk on the subscription. The server is a fake the test scripts
 * (redis_fixture.h), or a real redis-server holding a value over the bound. */
#include "redis_fixture.h"

typedef struct arec {
    int calls;
    gw_redis_status_t st;
    size_t n;
} arec_t;

static void on_arec(void *arg, gw_redis_status_t st, const gw_redis_elem_t *el, size_t n)
{
    arec_t *a = arg;
    a->calls++;
    a->st = st;
    a->n = n;
}

static gw_redis_status_t mget(loop_t *l, gw_redis_t *r, arec_t *a)
{
    const char *argv[] = {"MGET", "a", "b"};
    memset(a, 0, sizeof(*a));
    ck_assert_int_eq(gw_redis_command_array(r, on_arec, a, 3, argv, NULL), 0);
    RUN_UNTIL(l, a->calls > 0, 10000);
    ck_assert_int_eq(a->calls, 1);
    return a->st;
}

/* Up again by itself, and answering: a GET of a missing key is nil (the fake's, or Redis's). */
static void recovers(loop_t *l, gw_redis_t *r)
{
    rec_t rec;
    const char *get[] = {"GET", "missing"};
    RUN_UNTIL(l, gw_redis_up(r), 10000);
    ck_assert_int_eq(gw_redis_up(r), 1);
    ck_assert_int_eq(cmd(l, r, &rec, 2, get, NULL), GW_REDIS_NIL);
}

/* The reply that took a worker to 15.6 GB: an array header for two billion elements, then
 * elements as fast as the socket takes them. Refused at the header (no element vector), the
 * first command hears an error at once, the second that the connection went, memory stays flat
 * and the fake sees its peer leave long before its 16 MB are out. */
START_TEST(test_huge_array)
{
    fake_t f;
    loop_t l;
    rec_t first, second;
    gw_redis_stats_t st;
    const fake_rule_t rules[] = {{"GET", "*2000000000\r\n", 0, ":1\r\n", 16u << 20, 200}};
    fake_start(&f, rules, 1);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = client_up(&l, &o);
    long rss0 = vm_rss_kib();
    const char *get[] = {"GET", "k"};
    memset(&first, 0, sizeof(first));
    memset(&second, 0, sizeof(second));
    ck_assert_int_eq(gw_redis_command(r, on_rec, &first, 2, get, NULL), 0);
    ck_assert_int_eq(gw_redis_command(r, on_rec, &second, 2, get, NULL), 0);
    RUN_UNTIL(&l, first.calls && second.calls, 10000);
    ck_assert_int_eq(first.calls, 1);
    /* ERROR with the bound's reason, not TIMEOUT: refused by the reader, not by the deadline. */
    ck_assert_int_eq(first.st, GW_REDIS_ERROR);
    ck_assert_msg(strstr(first.data, "an array of 2000000000 elements"), "%s", first.data);
    ck_assert_int_eq(second.calls, 1);
    ck_assert_int_eq(second.st, GW_REDIS_DOWN);
    RUN_UNTIL(&l, fake_trickle_end(&f) > FAKE_TRICKLING, 10000);
    ck_assert_int_eq(fake_trickle_end(&f), FAKE_PEER_LEFT);
    ck_assert_uint_lt(fake_trickled(&f), 16u << 20);
    long grown = vm_rss_kib() - rss0;
    ck_assert_msg(grown < 64 * 1024, "RSS grew by %ld KiB", grown);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 1);
    ck_assert_uint_eq(st.errors, 2);
    ck_assert_uint_eq(st.disconnects, 1);
    recovers(&l, r);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.reconnects, 1);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* A 300 MB bulk string whose body trickles in: refused at its length line, not buffered. */
START_TEST(test_huge_bulk)
{
    fake_t f;
    loop_t l;
    rec_t rec;
    gw_redis_stats_t st;
    const fake_rule_t rules[] = {{"GET", "$300000000\r\n", 0, "x", 96u << 20, 1000}};
    fake_start(&f, rules, 1);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = client_up(&l, &o);
    long rss0 = vm_rss_kib();
    const char *get[] = {"GET", "k"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_ERROR);
    ck_assert_msg(strstr(rec.data, "a bulk string of 300000000 bytes"), "%s", rec.data);
    RUN_UNTIL(&l, fake_trickle_end(&f) > FAKE_TRICKLING, 10000);
    ck_assert_int_eq(fake_trickle_end(&f), FAKE_PEER_LEFT);
    ck_assert_uint_lt(fake_trickled(&f), 96u << 20);
    long grown = vm_rss_kib() - rss0;
    ck_assert_msg(grown < 64 * 1024, "RSS grew by %ld KiB", grown);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 1);
    recovers(&l, r);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* A line that never ends (no length to refuse it by): refused once one item has buffered more
 * than max_reply_bytes, not before, and not much later. */
START_TEST(test_unending_line)
{
    fake_t f;
    loop_t l;
    rec_t rec;
    const fake_rule_t rules[] = {{"GET", "+", 0, "a", 32u << 20, 1000}};
    fake_start(&f, rules, 1);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    o.max_reply_bytes = 256u << 10;
    gw_redis_t *r = client_up(&l, &o);
    long rss0 = vm_rss_kib();
    const char *get[] = {"GET", "k"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_ERROR);
    ck_assert_msg(strstr(rec.data, "of one item buffered"), "%s", rec.data);
    RUN_UNTIL(&l, fake_trickle_end(&f) > FAKE_TRICKLING, 10000);
    ck_assert_int_eq(fake_trickle_end(&f), FAKE_PEER_LEFT);
    ck_assert_uint_ge(fake_trickled(&f), 256u << 10);
    ck_assert_uint_lt(fake_trickled(&f), 32u << 20);
    long grown = vm_rss_kib() - rss0;
    ck_assert_msg(grown < 64 * 1024, "RSS grew by %ld KiB", grown);
    recovers(&l, r);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

static char *bulk_of(size_t len)
{
    char *s = malloc(len + 32);
    ck_assert_ptr_nonnull(s);
    int h = snprintf(s, 32, "$%zu\r\n", len);
    memset(s + h, 'v', len);
    memcpy(s + h + len, "\r\n", 3);
    return s;
}

static char *array_of(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 8);
    ck_assert_ptr_nonnull(s);
    sprintf(s, "*2\r\n%s%s", a, b);
    return s;
}

/* max_reply_bytes is the sum of a reply's strings: exactly the bound passes, one byte more is
 * refused, in one bulk or spread over an array's. */
START_TEST(test_reply_bytes_bound)
{
    fake_t f;
    loop_t l;
    rec_t rec;
    arec_t a;
    gw_redis_stats_t st;
    char *b100k = bulk_of(100000), *b100k1 = bulk_of(100001), *b50k = bulk_of(50000),
         *b60k = bulk_of(60000);
    char *a100k = array_of(b50k, b50k), *a120k = array_of(b60k, b60k);
    const fake_rule_t rules[] = {{"GET", b100k, 0, NULL, 0, 0},
                                 {"GET", b100k1, 0, NULL, 0, 0},
                                 {"MGET", a100k, 0, NULL, 0, 0},
                                 {"MGET", a120k, 0, NULL, 0, 0}};
    fake_start(&f, rules, 4);
    free(b100k);
    free(b100k1);
    free(b50k);
    free(b60k);
    free(a100k);
    free(a120k);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    o.max_reply_bytes = 100000;
    gw_redis_t *r = client_up(&l, &o);
    const char *get[] = {"GET", "k"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_OK);
    ck_assert_uint_eq(rec.len, 100000);
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_ERROR);
    ck_assert_msg(strstr(rec.data, "100001 bytes"), "%s", rec.data);
    recovers(&l, r);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_OK);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_ERROR);
    ck_assert_uint_eq(a.n, 0);
    recovers(&l, r);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 2);
    ck_assert_uint_eq(st.disconnects, 2);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

static char *ints(int n)
{
    char *s = malloc((size_t)n * 4 + 16), *p = s;
    ck_assert_ptr_nonnull(s);
    p += sprintf(p, "*%d\r\n", n);
    for (int i = 0; i < n; i++)
        p += sprintf(p, ":1\r\n");
    return s;
}

/* GW_REDIS_MAX_ELEMENTS (64) elements pass, 65 do not, nor 64 + 16 spread over nested arrays. */
START_TEST(test_array_bound)
{
    fake_t f;
    loop_t l;
    arec_t a;
    gw_redis_stats_t st;
    char *a64 = ints(64), *a65 = ints(65), *a16 = ints(16), nested[512];
    snprintf(nested, sizeof(nested), "*2\r\n%s%s", a16, a64);
    const fake_rule_t rules[] = {{"MGET", a64, 0, NULL, 0, 0},
                                 {"MGET", a65, 0, NULL, 0, 0},
                                 {"MGET", nested, 0, NULL, 0, 0}};
    ck_assert_int_eq(GW_REDIS_MAX_ELEMENTS, 64);
    fake_start(&f, rules, 3);
    free(a64);
    free(a65);
    free(a16);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = client_up(&l, &o);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_OK);
    ck_assert_uint_eq(a.n, 64);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_ERROR);
    recovers(&l, r);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_ERROR);
    recovers(&l, r);
    ck_assert_int_eq(mget(&l, r, &a), GW_REDIS_OK); /* the fake's own: two nils */
    ck_assert_uint_eq(a.n, 2);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 2);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* What an independent probe threw at the gateway and hiredis already handled (issue 19): kept
 * handled. dropped: the connection is dropped for it (and comes back). */
typedef struct hostile {
    const char *name, *on, *reply;
    gw_redis_status_t want;
    int dropped;
} hostile_t;

static const hostile_t hostile[] = {
    {"garbage", "GET", "hello\r\n", GW_REDIS_ERROR, 1},
    {"binary garbage", "GET", "\xff\xfe\x01\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 map", "GET", "%1\r\n+a\r\n+b\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 set", "MGET", "~1\r\n:1\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 null", "GET", "_\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 double", "GET", ",1.5\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 boolean", "GET", "#t\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 big number", "GET", "(12345678901234567890\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 verbatim", "GET", "=7\r\ntxt:abc\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 attribute", "GET", "|1\r\n+a\r\n+b\r\n$-1\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 blob error", "GET", "!3\r\nerr\r\n", GW_REDIS_ERROR, 1},
    {"RESP3 push", "MGET", ">2\r\n+a\r\n+b\r\n", GW_REDIS_ERROR, 1},
    {"negative bulk length", "GET", "$-5\r\n", GW_REDIS_ERROR, 1},
    {"negative array length", "MGET", "*-5\r\n", GW_REDIS_ERROR, 1},
    {"bulk length not a number", "GET", "$12a\r\nabc\r\n", GW_REDIS_ERROR, 1},
    {"bulk length too long", "GET", "$0000000000000000000000001\r\nx\r\n", GW_REDIS_ERROR, 1},
    {"integer not a number", "GET", ":12x\r\n", GW_REDIS_ERROR, 1},
    {"nested 9 deep", "MGET", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
     GW_REDIS_ERROR, 1},
    {"nil bulk", "GET", "$-1\r\n", GW_REDIS_NIL, 0},
    {"nil array", "GET", "*-1\r\n", GW_REDIS_NIL, 0},
    {"integer for GET", "GET", ":5\r\n", GW_REDIS_OK, 0},
    {"array for GET", "GET", "*1\r\n$1\r\nv\r\n", GW_REDIS_OK, 0},
    {"status for MGET", "MGET", "+OK\r\n", GW_REDIS_ERROR, 0},
    {"error for MGET", "MGET", "-ERR no\r\n", GW_REDIS_ERROR, 0},
    {"empty array for MGET", "MGET", "*0\r\n", GW_REDIS_OK, 0},
};

START_TEST(test_hostile_reply)
{
    const hostile_t *h = &hostile[_i];
    fake_t f;
    loop_t l;
    rec_t rec;
    arec_t a;
    gw_redis_stats_t st;
    const fake_rule_t rule = {h->on, h->reply, 0, NULL, 0, 0};
    fake_start(&f, &rule, 1);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = client_up(&l, &o);
    const char *get[] = {"GET", "k"};
    gw_redis_status_t got =
        strcmp(h->on, "GET") == 0 ? cmd(&l, r, &rec, 2, get, NULL) : mget(&l, r, &a);
    ck_assert_msg(got == h->want, "%s: status %d, want %d", h->name, got, h->want);
    gw_redis_get_stats(r, &st);
    ck_assert_msg(st.bad_replies == (uint64_t)h->dropped, "%s: %llu bad replies", h->name,
                  (unsigned long long)st.bad_replies);
    ck_assert_uint_eq(st.disconnects, (uint64_t)h->dropped);
    recovers(&l, r);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* A reply when no command waits for one makes hiredis 0.14.1 assert (abort the process). */
START_TEST(test_unsolicited_reply)
{
    fake_t f;
    loop_t l;
    char err[ERRLEN];
    gw_redis_stats_t st;
    const fake_rule_t rules[] = {{"PING", "+PONG\r\n+OK\r\n", 0, NULL, 0, 0}};
    fake_start(&f, rules, 1);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = gw_redis_new(l.base, &o, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    RUN_UNTIL(&l, (gw_redis_get_stats(r, &st), st.bad_replies == 1), 10000);
    ck_assert_uint_eq(st.bad_replies, 1);
    recovers(&l, r);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 1);
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* Junk on the subscribed connection, each right after a subscription is confirmed; hiredis
 * asserts on most of it (or reads past an array). Each is dropped and resubscribed; then a
 * subscription with harmless junk (a second confirmation, a status, a message for another
 * channel, a message that is not a string) stays up and delivers what is published. */
#define SUBOK "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
START_TEST(test_pubsub_junk)
{
    fake_t f;
    loop_t l;
    rec_t rec;
    subrec_t sub = {0};
    gw_redis_stats_t st;
    const fake_rule_t rules[] = {
        {"SUBSCRIBE", SUBOK "*1\r\n$7\r\nmessage\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*3\r\n:1\r\n:2\r\n:3\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n$1\r\nx\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*2\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nx\r\n", 0, NULL,
         0, 0},
        {"SUBSCRIBE", SUBOK ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE", SUBOK "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2000000000\r\n", 0, NULL, 0, 0},
        {"SUBSCRIBE",
         SUBOK SUBOK "+hello\r\n*3\r\n$7\r\nmessage\r\n$5\r\nother\r\n$1\r\nx\r\n"
                     "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n:7\r\n",
         0, NULL, 0, 0},
    };
    enum { NRULES = sizeof(rules) / sizeof(rules[0]), NBAD = NRULES - 1 };
    fake_start(&f, rules, NRULES);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(f.port);
    gw_redis_t *r = client_up(&l, &o);
    ck_assert_int_eq(gw_redis_subscribe(r, "ch", on_msg, on_resync, &sub), 0);
    RUN_UNTIL(&l, (gw_redis_get_stats(r, &st), fake_fired(&f) == NRULES && st.sub_up), 20000);
    ck_assert_int_eq(fake_fired(&f), NRULES);
    run_for(&l, 100);
    gw_redis_get_stats(r, &st);
    ck_assert_int_eq(st.sub_up, 1);
    ck_assert_uint_eq(st.bad_replies, NBAD);
    ck_assert_int_eq(sub.resyncs, NRULES); /* once per subscription, not per confirmation */
    ck_assert_int_eq(sub.messages, 0);
    const char *pub[] = {"PUBLISH", "ch", "hello"};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, pub, NULL), GW_REDIS_OK);
    ck_assert_int_eq(rec.integer, 1);
    RUN_UNTIL(&l, sub.messages == 1, 10000);
    ck_assert_int_eq(sub.messages, 1);
    ck_assert_uint_eq(sub.last_len, 5);
    ck_assert_mem_eq(sub.last, "hello", 5);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.disconnects, 0); /* the command connection never noticed */
    gw_redis_free(r);
    loop_close(&l);
    fake_stop(&f);
}
END_TEST

/* The same bound against a real redis-server: a value of max_reply_bytes is read, a value one
 * byte longer drops the connection, which comes back and reads the first again. */
START_TEST(test_bound_with_redis)
{
    srv_t s;
    loop_t l;
    rec_t rec;
    enum { MAX = 200000 };
    char *v = malloc(MAX + 1);
    ck_assert_ptr_nonnull(v);
    memset(v, 'v', MAX + 1);
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.max_reply_bytes = MAX;
    gw_redis_t *r = client_up(&l, &o);
    const char *set_ok[] = {"SET", "ok", v}, *set_big[] = {"SET", "big", v};
    size_t len_ok[] = {3, 2, MAX}, len_big[] = {3, 3, MAX + 1};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, set_ok, len_ok), GW_REDIS_OK);
    ck_assert_int_eq(cmd(&l, r, &rec, 3, set_big, len_big), GW_REDIS_OK);
    const char *get_ok[] = {"GET", "ok"}, *get_big[] = {"GET", "big"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get_ok, NULL), GW_REDIS_OK);
    ck_assert_uint_eq(rec.len, MAX);
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get_big, NULL), GW_REDIS_ERROR);
    ck_assert_msg(strstr(rec.data, "bulk string of 200001 bytes"), "%s", rec.data);
    RUN_UNTIL(&l, gw_redis_up(r), 10000);
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get_ok, NULL), GW_REDIS_OK);
    ck_assert_uint_eq(rec.len, MAX);
    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.bad_replies, 1);
    ck_assert_uint_eq(st.reconnects, 1);
    free(v);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("redis_hostile");
    TCase *h = tcase_create("hostile");
    tcase_set_timeout(h, 60);
    tcase_add_test(h, test_huge_array);
    tcase_add_test(h, test_huge_bulk);
    tcase_add_test(h, test_unending_line);
    tcase_add_test(h, test_reply_bytes_bound);
    tcase_add_test(h, test_array_bound);
    tcase_add_loop_test(h, test_hostile_reply, 0, (int)NELEM(hostile));
    tcase_add_test(h, test_unsolicited_reply);
    tcase_add_test(h, test_pubsub_junk);
    tcase_add_test(h, test_bound_with_redis);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with plain write() */
    return unit_run(hostile_suite());
}
