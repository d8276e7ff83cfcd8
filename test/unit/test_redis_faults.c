/* Unit tests for the Redis client when Redis fails: killed and restarted, stopped (timeouts,
 * stalls), nothing listening, connect timeouts, wrong passwords, and freeing the client with
 * commands outstanding. Each test starts its own redis-server on a free loopback port. */
#include "redis_fixture.h"

START_TEST(test_kill_and_restart)
{
    srv_t s;
    loop_t l;
    subrec_t sub = {0};
    rec_t recs[20], late;
    gw_redis_stats_t st;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    gw_redis_t *r = client_up(&l, &o);
    ck_assert_int_eq(gw_redis_subscribe(r, "ch", on_msg, on_resync, &sub), 0);
    RUN_UNTIL(&l, sub.resyncs == 1, 10000);
    ck_assert_int_eq(sub.resyncs, 1);

    /* Commands in flight when Redis dies hear DOWN, once each. */
    const char *get[] = {"GET", "k"};
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 2, get, NULL), 0);
    srv_kill(&s);
    uint64_t t0 = gw_mono_us();
    RUN_UNTIL(&l, !gw_redis_up(r) && recs[19].calls, 10000);
    ck_assert_int_eq(gw_redis_up(r), 0);
    ck_assert_uint_lt(gw_mono_us() - t0, 10000000u);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(recs[i].calls, 1);
        ck_assert_int_eq(recs[i].st, GW_REDIS_DOWN);
    }

    /* While down: refused at once, no callback, no queueing. */
    memset(&late, 0, sizeof(late));
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &late, 2, get, NULL), -1);
    run_for(&l, 300);
    ck_assert_int_eq(late.calls, 0);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.refused, 100);
    ck_assert_uint_eq(st.errors, 20);
    ck_assert_uint_ge(st.disconnects, 1);
    ck_assert_int_eq(st.sub_up, 0);

    /* Same port again: both connections come back by themselves, the subscription too. */
    srv_start(&s, s.port, NULL);
    RUN_UNTIL(&l, gw_redis_up(r) && sub.resyncs == 2, 10000);
    ck_assert_int_eq(gw_redis_up(r), 1);
    ck_assert_int_eq(sub.resyncs, 2);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_int_eq(st.sub_up, 1);
    redisContext *c = sync_client(s.port, NULL);
    ck_assert_int_eq(sync_integer(c, "PUBLISH %s %s", "ch", "after-restart"), 1);
    redisFree(c);
    RUN_UNTIL(&l, sub.messages == 1, 10000);
    ck_assert_int_eq(sub.messages, 1);
    ck_assert_mem_eq(sub.last, "after-restart", 13);
    rec_t rec;
    ck_assert_int_eq(cmd(&l, r, &rec, 2, get, NULL), GW_REDIS_NIL);

    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_timeout_then_late_reply)
{
    srv_t s;
    loop_t l;
    rec_t slow, rec;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.command_timeout_ms = 5;
    gw_redis_t *r = client_up(&l, &o);
    const char *get[] = {"GET", "k"};

    kill(s.pid, SIGSTOP); /* Redis hangs: the command goes out, nothing comes back */
    memset(&slow, 0, sizeof(slow));
    uint64_t t0 = gw_mono_us();
    ck_assert_int_eq(gw_redis_command(r, on_rec, &slow, 2, get, NULL), 0);
    RUN_UNTIL(&l, slow.calls > 0, 5000);
    uint64_t waited = gw_mono_us() - t0;
    ck_assert_int_eq(slow.calls, 1);
    ck_assert_int_eq(slow.st, GW_REDIS_TIMEOUT);
    ck_assert_msg(waited < 1000000u, "timeout took %llu us", (unsigned long long)waited);
    run_for(&l, 100);
    ck_assert_int_eq(slow.calls, 1);
    ck_assert_int_eq(gw_redis_up(r), 1); /* one timeout does not drop the connection */

    /* Redis resumes and answers the abandoned GET: the user must not hear of it. A later
     * command answered in time proves the late reply was read (replies come in order). */
    kill(s.pid, SIGCONT);
    int ok = 0;
    for (int i = 0; i < 200 && !ok; i++) {
        memset(&rec, 0, sizeof(rec));
        if (gw_redis_command(r, on_rec, &rec, 2, get, NULL) != 0) {
            run_for(&l, 20); /* reconnecting after a pile-up on a very slow machine */
            continue;
        }
        RUN_UNTIL(&l, rec.calls > 0, 5000);
        ok = rec.st == GW_REDIS_NIL;
    }
    ck_assert_msg(ok, "no reply in time after SIGCONT");
    ck_assert_int_eq(slow.calls, 1);
    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_ge(st.timeouts, 1);

    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_stall_drops_connection)
{
    srv_t s;
    loop_t l;
    gw_redis_stats_t st;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.command_timeout_ms = 5;
    o.connect_timeout_ms = 200;
    gw_redis_t *r = client_up(&l, &o);
    const char *get[] = {"GET", "k"};

    kill(s.pid, SIGSTOP);
    uint64_t dl = gw_mono_us() + 10 * 1000000u;
    do { /* writes keep coming; all of them time out; the oldest ages past 50 x 5 ms */
        if (gw_redis_up(r)) gw_redis_send(r, 2, get, NULL);
        run_for(&l, 20);
        gw_redis_get_stats(r, &st);
    } while (st.disconnects == 0 && gw_mono_us() < dl);
    ck_assert_uint_eq(st.disconnects, 1);
    ck_assert_int_eq(gw_redis_up(r), 0);
    ck_assert_uint_ge(st.timeouts, 10);
    /* Reconnects to a stopped Redis connect (the kernel accepts) but the handshake times out. */
    run_for(&l, 600);
    ck_assert_int_eq(gw_redis_up(r), 0);

    kill(s.pid, SIGCONT);
    RUN_UNTIL(&l, gw_redis_up(r), 10000);
    ck_assert_int_eq(gw_redis_up(r), 1);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.reconnects, 1);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* A whole pipeline window (max_pending) of commands timed out in a row: dropped at once. */
START_TEST(test_timeouts_in_a_row_drop_connection)
{
    srv_t s;
    loop_t l;
    rec_t recs[8];
    gw_redis_stats_t st;
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    o.command_timeout_ms = 5;
    o.max_pending = 8;
    gw_redis_t *r = client_up(&l, &o);
    const char *get[] = {"GET", "k"};
    kill(s.pid, SIGSTOP);
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 2, get, NULL), 0);
    RUN_UNTIL(&l, recs[7].calls == 1, 5000);
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.timeouts, 8);
    ck_assert_uint_eq(st.disconnects, 1);
    ck_assert_int_eq(st.up, 0);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(recs[i].calls, 1);
        ck_assert_int_eq(recs[i].st, GW_REDIS_TIMEOUT);
    }
    kill(s.pid, SIGCONT);
    RUN_UNTIL(&l, gw_redis_up(r), 10000);
    ck_assert_int_eq(gw_redis_up(r), 1);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(recs[i].calls, 1);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_nothing_listening_then_start)
{
    srv_t s;
    loop_t l;
    rec_t rec = {0};
    char err[ERRLEN];
    tmp_open(&s.tmp);
    int port = free_port(); /* nobody listens yet */
    loop_open(&l);
    gw_redis_opts_t o = opts_for(port);
    gw_redis_t *r = gw_redis_new(l.base, &o, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(gw_redis_up(r), 0);
    const char *ping[] = {"PING"};
    ck_assert_int_eq(gw_redis_command(r, on_rec, &rec, 1, ping, NULL), -1);
    run_for(&l, 500); /* several refused connects with backoff 20 -> 200 ms */
    ck_assert_int_eq(gw_redis_up(r), 0);
    ck_assert_int_eq(gw_redis_command(r, on_rec, &rec, 1, ping, NULL), -1);
    ck_assert_int_eq(rec.calls, 0);

    srv_start(&s, port, NULL); /* retries find it by themselves */
    RUN_UNTIL(&l, gw_redis_up(r), 10000);
    ck_assert_int_eq(gw_redis_up(r), 1);
    ck_assert_int_eq(cmd(&l, r, &rec, 1, ping, NULL), GW_REDIS_OK);
    ck_assert_str_eq(rec.data, "PONG");
    gw_redis_stats_t st;
    gw_redis_get_stats(r, &st);
    ck_assert_uint_eq(st.reconnects, 0); /* first time up */
    ck_assert_uint_eq(st.refused, 2);
    gw_redis_free(r);
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

/* A peer that completes the TCP handshake (the kernel does) and then never answers: the
 * connect timer must give up, close, and try again with backoff. */
START_TEST(test_connect_timeout)
{
    loop_t l;
    char err[ERRLEN];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t alen = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), fds[64], nfds = 0;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 64), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(ntohs(a.sin_port));
    o.connect_timeout_ms = 100;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 100;
    gw_redis_t *r = gw_redis_new(l.base, &o, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    uint64_t dl = gw_mono_us() + 10 * 1000000u;
    while (nfds < 4 && gw_mono_us() < dl) {
        run_for(&l, 10);
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0) fds[nfds++] = fd;
        ck_assert_int_eq(gw_redis_up(r), 0);
    }
    ck_assert_int_ge(nfds, 4);
    /* The abandoned attempts were closed: the first peer sees the PING, then EOF. */
    char buf[256];
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
        total += n;
    ck_assert_int_eq(n, 0);
    buf[total] = '\0';
    ck_assert_str_eq(buf, "*1\r\n$4\r\nPING\r\n");
    gw_redis_free(r); /* while connecting or waiting: no leak, no callback */
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    close(lfd);
    loop_close(&l);
}
END_TEST

START_TEST(test_auth)
{
    srv_t s;
    loop_t l;
    rec_t rec = {0};
    subrec_t sub = {0};
    char err[ERRLEN], url[96];
    srv_start(&s, 0, "s3cret");
    loop_open(&l);

    gw_redis_opts_t o = opts_for(0);
    snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d/1", s.port);
    ck_assert_int_eq(gw_redis_parse_url(url, &o, err, sizeof(err)), 0);
    gw_redis_t *r = client_up(&l, &o);
    const char *set[] = {"SET", "a", "1"};
    ck_assert_int_eq(cmd(&l, r, &rec, 3, set, NULL), GW_REDIS_OK);
    ck_assert_int_eq(gw_redis_subscribe(r, "ch", on_msg, on_resync, &sub), 0);
    RUN_UNTIL(&l, sub.resyncs == 1, 10000);
    redisContext *c = sync_client(s.port, "s3cret");
    ck_assert_int_eq(sync_integer(c, "PUBLISH %s %s", "ch", "m"), 1);
    redisFree(c);
    RUN_UNTIL(&l, sub.messages == 1, 10000);
    ck_assert_int_eq(sub.messages, 1);
    gw_redis_free(r);

    /* Wrong password, and none: never up (logged once), commands refused, no crash. */
    const char *pw[] = {"wrong", ""};
    for (int i = 0; i < 2; i++) {
        o = opts_for(s.port);
        snprintf(o.password, sizeof(o.password), "%s", pw[i]);
        r = gw_redis_new(l.base, &o, err, sizeof(err));
        ck_assert_ptr_nonnull(r);
        memset(&sub, 0, sizeof(sub));
        ck_assert_int_eq(gw_redis_subscribe(r, "ch", on_msg, on_resync, &sub), 0);
        run_for(&l, 500);
        gw_redis_stats_t st;
        gw_redis_get_stats(r, &st);
        ck_assert_int_eq(st.up, 0);
        ck_assert_int_eq(st.sub_up, 0);
        ck_assert_int_eq(sub.resyncs, 0);
        memset(&rec, 0, sizeof(rec));
        ck_assert_int_eq(gw_redis_command(r, on_rec, &rec, 3, set, NULL), -1);
        gw_redis_free(r);
        ck_assert_int_eq(rec.calls, 0);
    }
    loop_close(&l);
    srv_stop(&s);
}
END_TEST

START_TEST(test_free_with_pending)
{
    srv_t s;
    loop_t l;
    enum { N = 200 };
    static rec_t recs[N];
    srv_start(&s, 0, NULL);
    loop_open(&l);
    gw_redis_opts_t o = opts_for(s.port);
    const char *get[] = {"GET", "k"};

    /* Buffered, not yet written. */
    gw_redis_t *r = client_up(&l, &o);
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 2, get, NULL), 0);
    ck_assert_int_eq(gw_redis_send(r, 2, get, NULL), 0);
    gw_redis_free(r);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(recs[i].calls, 1);
        ck_assert_int_eq(recs[i].st, GW_REDIS_DOWN);
    }

    /* Written, Redis stopped: in flight, unanswered. */
    r = client_up(&l, &o);
    memset(recs, 0, sizeof(recs));
    kill(s.pid, SIGSTOP);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 2, get, NULL), 0);
    run_for(&l, 50);
    ck_assert_int_eq(recs[0].calls, 0);
    gw_redis_free(r);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(recs[i].calls, 1);
    kill(s.pid, SIGCONT);

    /* Timed out (abandoned) and still held by hiredis: freed without a second callback. */
    o.command_timeout_ms = 5;
    r = client_up(&l, &o);
    memset(recs, 0, sizeof(recs));
    kill(s.pid, SIGSTOP);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(gw_redis_command(r, on_rec, &recs[i], 2, get, NULL), 0);
    RUN_UNTIL(&l, recs[9].calls == 1, 5000);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(recs[i].st, GW_REDIS_TIMEOUT);
    gw_redis_free(r);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(recs[i].calls, 1);
    kill(s.pid, SIGCONT);

    /* While connecting. */
    char err[ERRLEN];
    r = gw_redis_new(l.base, &o, err, sizeof(err));
    ck_assert_ptr_nonnull(r);
    gw_redis_free(r);
    gw_redis_free(NULL);
    run_for(&l, 50); /* nothing of the freed clients fires */

    loop_close(&l);
    srv_stop(&s);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("redis_faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kill_and_restart);
    tcase_add_test(tc, test_timeout_then_late_reply);
    tcase_add_test(tc, test_stall_drops_connection);
    tcase_add_test(tc, test_timeouts_in_a_row_drop_connection);
    tcase_add_test(tc, test_nothing_listening_then_start);
    tcase_add_test(tc, test_connect_timeout);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_free_with_pending);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with plain write() */
    SRunner *sr = srunner_create(faults_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
