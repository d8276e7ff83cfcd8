/* Unit tests for the per-worker Redis client: URL parsing, commands, pipelining, pub/sub and
 * keepalive against a real redis-server (failures and recovery: test_redis_faults.c). */
#include "redis_fixture.h"

/* ---- URL parsing -------------------------------------------------------------------------- */

typedef struct url_ok {
    const char *url, *host, *password;
    int port, db;
} url_ok_t;

static const url_ok_t good_urls[] = {
    {"redis://127.0.0.1", "127.0.0.1", "", 6379, 0},
    {"redis://localhost:6380/2", "127.0.0.1", "", 6380, 2},
    {"REDIS://LocalHost/", "127.0.0.1", "", 6379, 0},
    {"redis://:s3cr%40t%2f@127.0.0.5:7000/15", "127.0.0.5", "s3cr@t/", 7000, 15},
    {"redis://:p:w@127.0.0.1", "127.0.0.1", "p:w", 6379, 0},
    {"redis://[::1]:6390", "::1", "", 6390, 0},
    {"redis://redis:6379/1", "redis", "", 6379, 1},
    {"redis://:pw@cache.internal", "cache.internal", "pw", 6379, 0},
    {"redis://[fe80::1]/3", "fe80::1", "", 6379, 3},
    {"redis://127.1.2.3:65535/2147483647", "127.1.2.3", "", 65535, 2147483647},
};

START_TEST(test_url_good)
{
    const url_ok_t *c = &good_urls[_i];
    gw_redis_opts_t o;
    char err[ERRLEN] = "";
    memset(&o, 0, sizeof(o));
    o.db = 9;
    snprintf(o.password, sizeof(o.password), "stale");
    o.command_timeout_ms = 7;
    ck_assert_msg(gw_redis_parse_url(c->url, &o, err, sizeof(err)) == 0, "%s: %s", c->url, err);
    ck_assert_str_eq(o.host, c->host);
    ck_assert_str_eq(o.password, c->password);
    ck_assert_int_eq(o.port, c->port);
    ck_assert_int_eq(o.db, c->db);
    ck_assert_uint_eq(o.command_timeout_ms, 7); /* untouched */
}
END_TEST

typedef struct url_bad {
    const char *url, *want;
} url_bad_t;

static const url_bad_t bad_urls[] = {
    {NULL, "redis URL: must start with redis://"},
    {"", "redis URL: must start with redis://"},
    {"http://127.0.0.1", "redis URL: must start with redis://"},
    {"127.0.0.1:6379", "redis URL: must start with redis://"},
    {"rediss://127.0.0.1", "redis URL: TLS (rediss://) is not supported"},
    {"redis://", "redis URL: missing host"},
    {"redis:///0", "redis URL: missing host"},
    {"redis://:pw@:6379", "redis URL: missing host"},
    {"redis://cache_internal!:6379",
     "redis URL: host \"cache_internal!\" is neither an IP address nor a host name"},
    {"redis://[127.0.0.1]", "redis URL: host [127.0.0.1] is not an IPv6 address"},
    {"redis://::1", "redis URL: IPv6 addresses must be in brackets, as in redis://[::1]:6379"},
    {"redis://::1:6379", "redis URL: IPv6 addresses must be in brackets, as in redis://[::1]:6379"},
    {"redis://[::1", "redis URL: unterminated '[' in the host"},
    {"redis://[::1]x", "redis URL: unexpected \"x\" after the host"},
    {"redis://127.0.0.1:", "redis URL: missing port"},
    {"redis://127.0.0.1:0", "redis URL: port 0 out of range 1-65535"},
    {"redis://127.0.0.1:65536", "redis URL: port 65536 out of range 1-65535"},
    {"redis://127.0.0.1:99999999999999999999",
     "redis URL: port 99999999999999999999 out of range 1-65535"},
    {"redis://127.0.0.1:6a", "redis URL: port \"6a\" is not a number"},
    {"redis://127.0.0.1:6379:1", "redis URL: port \"6379:1\" is not a number"},
    {"redis://127.0.0.1:-1", "redis URL: port \"-1\" is not a number"},
    {"redis://127.0.0.1/x", "redis URL: database \"x\" is not a number"},
    {"redis://127.0.0.1/1/2", "redis URL: database \"1/2\" is not a number"},
    {"redis://127.0.0.1/2147483648", "redis URL: database 2147483648 out of range 0-2147483647"},
    {"redis://127.0.0.1/1?timeout=1", "redis URL: query parameters are not supported"},
    {"redis://127.0.0.1#x", "redis URL: fragments are not supported"},
    {"redis://user:pw@127.0.0.1",
     "redis URL: the part before '@' must be ':password' (user names are not supported)"},
    {"redis://secret@127.0.0.1",
     "redis URL: the part before '@' must be ':password' (user names are not supported)"},
    {"redis://:@127.0.0.1", "redis URL: empty password after ':'"},
    {"redis://:%zz@127.0.0.1", "redis URL: bad percent-encoding in the password"},
    {"redis://:ab%4@127.0.0.1", "redis URL: bad percent-encoding in the password"},
    {"redis://:a%00b@127.0.0.1", "redis URL: the password contains %00"},
};

START_TEST(test_url_bad)
{
    const url_bad_t *c = &bad_urls[_i];
    gw_redis_opts_t o, before;
    char err[ERRLEN] = "";
    memset(&o, 0, sizeof(o));
    snprintf(o.host, sizeof(o.host), "127.1.1.1");
    o.port = 1234;
    before = o;
    ck_assert_msg(gw_redis_parse_url(c->url, &o, err, sizeof(err)) == -1, "%s parsed", c->url);
    ck_assert_str_eq(err, c->want);
    ck_assert_msg(memcmp(&o, &before, sizeof(o)) == 0, "%s: opts changed on failure", c->url);
}
END_TEST

START_TEST(test_url_long_password)
{
    char url[600], err[ERRLEN] = "";
    gw_redis_opts_t o;
    memset(&o, 0, sizeof(o));
    snprintf(url, sizeof(url), "redis://:%0300d@127.0.0.1", 7);
    ck_assert_int_eq(gw_redis_parse_url(url, &o, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "redis URL: password longer than 255 bytes");
}
END_TEST

START_TEST(test_new_rejects_bad_opts)
{
    loop_t l;
    char err[ERRLEN] = "";
    gw_redis_opts_t o = opts_for(6379);
    loop_open(&l);
    snprintf(o.host, sizeof(o.host), "cache.internal");
    ck_assert_ptr_null(gw_redis_new(l.base, &o, err, sizeof(err)));
    ck_assert_str_eq(err, "redis: host \"cache.internal\" is not an IP address");
    o = opts_for(70000);
    ck_assert_ptr_null(gw_redis_new(l.base, &o, err, sizeof(err)));
    ck_assert_str_eq(err, "redis: port 70000 out of range 1-65535");
    loop_close(&l);
}
END_TEST

/* ---- commands ----------------------------------------------------------------------------- */

START_TEST(test_round_trip)
{
    srv_t s;
    loop_t l;
    rec_t rec;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    gw_redis_t *r = client_up(&l, &o);

    const char value[] = "v\0al\r\nue"; /* binary safe */
    const char *set[] = {"SET", "k", value};
    size_t setlen[] = {3, 1, sizeof(value) - 1};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, set, setlen), GW_REDIS_OK);
    ck_assert_str_eq(rec.data, "OK");

    const char *get[] = {"GET", "k"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_OK);
    ck_assert_uint_eq(rec.len, sizeof(value) - 1);
    ck_assert_mem_eq(rec.data, value, sizeof(value) - 1);

    const char *miss[] = {"GET", "missing"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, miss, NULL), GW_REDIS_NIL);
    ck_assert_uint_eq(rec.len, 0);

    const char *incr[] = {"INCR", "n"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, incr, NULL), GW_REDIS_OK);
    ck_assert_int_eq(rec.integer, 1);
    ck_assert_int_eq(cmd(&l, r, &rec, 2, incr, NULL), GW_REDIS_OK);
    ck_assert_int_eq(rec.integer, 2);

    const char *bad[] = {"INCR", "k"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, bad, NULL), GW_REDIS_ERROR);
    ck_assert_str_eq(rec.data, "ERR value is not an integer or out of range");

    const char *del[] = {"DEL", "k", "n", "nope"};
    ck_assert_int_eq(cmd(&l, r, &rec, 4, del, NULL), GW_REDIS_OK);
    ck_assert_int_eq(rec.integer, 2);

    /* Fire and forget, then a read that is answered after it (same connection, in order). */
    const char *setex[] = {"SET", "f", "1", "EX", "60"};
    ck_assert_int_eq(gw_redis_send(r, 5, setex, NULL), 0);
    const char *getf[] = {"GET", "f"};
    ck_assert_int_eq(cmd(&l, r, &rec, 2, getf, NULL), GW_REDIS_OK);
    ck_assert_str_eq(rec.data, "1");

    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.commands, 9);
    ck_assert_uint_eq(st.errors, 1);
    ck_assert_uint_eq(st.timeouts, 0);
    ck_assert_uint_eq(st.refused, 0);
    ck_assert_uint_eq(st.latency_count, 9);
    ck_assert_int_eq(st.up, 1);
    ck_assert_int_eq(st.sub_up, 0);

    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* MGET through gw_redis_command_array: strings, nils and their order; a non-array answer is an
 * error; a refused command never calls back. */
typedef struct arec {
    int calls;
    gw_redis_status_t st;
    size_t n;
    gw_redis_status_t est[4];
    char data[4][16];
} arec_t;

static void on_array(void *arg, gw_redis_status_t st, const gw_redis_elem_t *el, size_t n)
{
    arec_t *a = arg;
    a->calls++;
    a->st = st;
    a->n = n;
    for (size_t i = 0; i < n && i < 4; i++) {
        a->est[i] = el[i].st;
        snprintf(a->data[i], sizeof(a->data[i]), "%.*s", (int)el[i].len,
                 el[i].data ? el[i].data : "");
    }
}

START_TEST(test_array_reply)
{
    srv_t s;
    loop_t l;
    rec_t rec;
    arec_t a;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    gw_redis_t *r = client_up(&l, &o);

    const char *set[] = {"MSET", "a", "1", "c", "three"};
    ck_assert_int_eq(cmd(&l, r, &rec, 5, set, NULL), GW_REDIS_OK);
    const char *mget[] = {"MGET", "a", "b", "c"};
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(gw_redis_command_array(r, on_array, &a, 4, mget, NULL), 0);
    ck_assert_int_eq(a.calls, 0);
    RUN_UNTIL(&l, a.calls > 0, 10000);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.st, GW_REDIS_OK);
    ck_assert_uint_eq(a.n, 3);
    ck_assert_int_eq(a.est[0], GW_REDIS_OK);
    ck_assert_str_eq(a.data[0], "1");
    ck_assert_int_eq(a.est[1], GW_REDIS_NIL);
    ck_assert_int_eq(a.est[2], GW_REDIS_OK);
    ck_assert_str_eq(a.data[2], "three");

    const char *get[] = {"GET", "a"}; /* not an array: reported as an error, no elements */
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(gw_redis_command_array(r, on_array, &a, 2, get, NULL), 0);
    RUN_UNTIL(&l, a.calls > 0, 10000);
    ck_assert_int_eq(a.st, GW_REDIS_ERROR);
    ck_assert_uint_eq(a.n, 0);
    ck_assert_int_eq(gw_redis_command_array(r, NULL, &a, 2, get, NULL), -1);

    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

typedef struct seq {
    int calls, bad;
    long long expect;
} seq_t;

static void on_seq(void *arg, gw_redis_status_t st, const char *data, size_t len, long long integer)
{
    seq_t *q = arg;
    q->calls++;
    if (st != GW_REDIS_OK || integer != ++q->expect) q->bad++;
}

START_TEST(test_pipeline_1000)
{
    srv_t s;
    loop_t l;
    seq_t q = {0};
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.command_timeout_ms = 10000;
    gw_redis_t *r = client_up(&l, &o);
    const char *incr[] = {"INCR", "ctr"};
    for (int i = 0; i < 1000; i++) /* one loop iteration: all go out in one write */
        ck_assert_int_eq(gw_redis_command(r, on_seq, &q, 2, incr, NULL), 0);
    ck_assert_int_eq(q.calls, 0);
    RUN_UNTIL(&l, q.calls == 1000, 20000);
    ck_assert_int_eq(q.calls, 1000);
    ck_assert_int_eq(q.bad, 0); /* 1, 2, ... 1000, in order */
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_max_pending)
{
    srv_t s;
    loop_t l;
    rec_t recs[9];
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.max_pending = 8;
    gw_redis_t *r = client_up(&l, &o);
    const char *ping[] = {"PING"};
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 1, ping, NULL), 0);
    ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[8], 1, ping, NULL), -1);
    ck_assert_int_eq(gw_redis_send(r, 1, ping, NULL), -1);
    RUN_UNTIL(&l, recs[7].calls == 1, 10000);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(recs[i].calls, 1);
    ck_assert_int_eq(recs[8].calls, 0);
    ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[8], 1, ping, NULL), 0); /* room again */
    RUN_UNTIL(&l, recs[8].calls == 1, 10000);
    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.refused, 2);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_select_db)
{
    srv_t s;
    loop_t l;
    rec_t rec;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    char url[64], err[ERRLEN];
    gw_redis_opts_t o = opts_for(0);
    snprintf(url, sizeof(url), "redis://localhost:%d/3", s.port);
    ck_assert_int_eq(gw_redis_parse_url(url, &o, err, sizeof(err)), 0);
    gw_redis_t *r = client_up(&l, &o);
    const char *set[] = {"SET", "in3", "yes"};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, set, NULL), GW_REDIS_OK);
    redisContext *c = sync_client(s.port, NULL);
    ck_assert_int_eq(sync_integer(c, "EXISTS %s%s", "in3", ""), 0);
    redisReply *rep = redisCommand(c, "SELECT 3");
    freeReplyObject(rep);
    ck_assert_int_eq(sync_integer(c, "EXISTS %s%s", "in3", ""), 1);
    redisFree(c);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* Redis closes idle clients after `timeout` seconds; the keepalive PING prevents that. */
START_TEST(test_keepalive_beats_redis_timeout)
{
    srv_t s;
    loop_t l;
    rec_t rec;
    srv_start(&s, 0, NULL);
    redisContext *c = sync_client(s.port, NULL);
    redisReply *rep = redisCommand(c, "CONFIG SET timeout 1");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    redisFree(c);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.keepalive_ms = 300;
    gw_redis_t *r = client_up(&l, &o);
    run_for(&l, 3000); /* idle three times longer than Redis allows */
    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.disconnects, 0);
    ck_assert_int_eq(st.up, 1);
    const char *ping[] = {"PING"};
    ck_assert_int_eq(cmd(&l, r, &rec, 1, ping, NULL), GW_REDIS_OK);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* ---- pub/sub ------------------------------------------------------------------------------ */

START_TEST(test_pubsub)
{
    srv_t s;
    loop_t l;
    subrec_t sub = {0};
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    gw_redis_t *r = client_up(&l, &o);
    ck_assert_int_eq(gw_redis_subscribe(r, "gw:inval", on_msg, on_resync, &sub), 0);
    ck_assert_int_eq(gw_redis_subscribe(r, "other", on_msg, NULL, &sub), -1); /* only one */
    gw_redis_stats_t st;
    RUN_UNTIL(&l, (gw_redis_get_stats(r, &st), st.sub_up), 10000);
    ck_assert_int_eq(st.sub_up, 1);
    ck_assert_int_eq(sub.resyncs, 1);

    redisContext *c = sync_client(s.port, NULL);
    ck_assert_int_eq(sync_integer(c, "PUBLISH %s %s", "gw:inval", "coll-a 17"), 1);
    RUN_UNTIL(&l, sub.messages == 1, 10000);
    ck_assert_int_eq(sub.messages, 1);
    ck_assert_uint_eq(sub.last_len, 9);
    ck_assert_mem_eq(sub.last, "coll-a 17", 9);
    ck_assert_int_eq(sync_integer(c, "PUBLISH %s %s", "unrelated", "x"), 0);
    redisReply *rep = redisCommand(c, "PUBLISH gw:inval %b", "a\0b", (size_t)3);
    freeReplyObject(rep);
    RUN_UNTIL(&l, sub.messages == 2, 10000);
    ck_assert_uint_eq(sub.last_len, 3);
    ck_assert_mem_eq(sub.last, "a\0b", 3);
    redisFree(c);

    /* The command connection is unaffected by the subscription. */
    rec_t rec;
    const char *pub[] = {"PUBLISH", "gw:inval", "from-us"};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, pub, NULL), GW_REDIS_OK);
    ck_assert_int_eq(rec.integer, 1);
    RUN_UNTIL(&l, sub.messages == 3, 10000);
    ck_assert_mem_eq(sub.last, "from-us", 7);
    ck_assert_int_eq(sub.resyncs, 1);

    /* Only the command connection drops (pubsub clients survive CLIENT KILL TYPE normal): once
     * it is back, on_resync runs again, since a refetch started before may have failed. */
    c = sync_client(s.port, NULL);
    ck_assert_int_ge(sync_integer(c, "CLIENT KILL TYPE %s SKIPME %s", "normal", "yes"), 1);
    redisFree(c);
    RUN_UNTIL(&l, sub.resyncs == 2, 10000);
    ck_assert_int_eq(sub.resyncs, 2);
    gw_redis_get_stats(r, &st);
    ck_assert_int_eq(st.up, 1);
    ck_assert_int_eq(st.sub_up, 1);
    ck_assert_uint_eq(st.disconnects, 1);
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_int_eq(sub.messages, 3);

    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* ---- failures ----------------------------------------------------------------------------- */

/* Callbacks may issue commands; a command issued from a DOWN callback is refused. */
typedef struct chain {
    gw_redis_t *r;
    int calls, reissued, refused_in_down;
} chain_t;

static void on_chain(void *arg, gw_redis_status_t st, const char *data, size_t len,
                     long long integer)
{
    chain_t *c = arg;
    const char *incr[] = {"INCR", "chain"};
    c->calls++;
    if (st == GW_REDIS_DOWN) {
        if (gw_redis_command(c->r, on_chain, c, 2, incr, NULL) == -1) c->refused_in_down++;
        return;
    }
    if (st == GW_REDIS_OK && integer < 50 &&
        gw_redis_command(c->r, on_chain, c, 2, incr, NULL) == 0)
        c->reissued++;
}

START_TEST(test_commands_from_callbacks)
{
    srv_t s;
    loop_t l;
    chain_t ch = {0};
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    ch.r = client_up(&l, &o);
    const char *incr[] = {"INCR", "chain"};
    ck_assert_int_eq(gw_redis_command(ch.r, on_chain, &ch, 2, incr, NULL), 0);
    RUN_UNTIL(&l, ch.calls == 50, 10000);
    ck_assert_int_eq(ch.calls, 50);
    ck_assert_int_eq(ch.reissued, 49);

    const char *get[] = {"GET", "k"};
    ck_assert_int_eq(gw_redis_command(ch.r, on_chain, &ch, 2, get, NULL), 0);
    srv_kill(&s);
    RUN_UNTIL(&l, ch.calls == 51, 10000);
    ck_assert_int_eq(ch.refused_in_down, 1);
    gw_redis_free(ch.r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *s = suite_create("redis");
    TCase *url = tcase_create("url");
    tcase_add_loop_test(url, test_url_good, 0, (int)NELEM(good_urls));
    tcase_add_loop_test(url, test_url_bad, 0, (int)NELEM(bad_urls));
    tcase_add_test(url, test_url_long_password);
    tcase_add_test(url, test_new_rejects_bad_opts);
    suite_add_tcase(s, url);

    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_array_reply);
    tcase_add_test(tc, test_pipeline_1000);
    tcase_add_test(tc, test_max_pending);
    tcase_add_test(tc, test_select_db);
    tcase_add_test(tc, test_keepalive_beats_redis_timeout);
    tcase_add_test(tc, test_pubsub);
    tcase_add_test(tc, test_commands_from_callbacks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with plain write() */
    SRunner *sr = srunner_create(redis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
