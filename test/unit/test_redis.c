/* Unit tests for the per-worker Redis client: URL parsing, and the client against a real
 * redis-server that each test starts on a free loopback port (killed, stopped, restarted). */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "gateway/redis.h"
#include "unit_util.h"

#define REDIS_SERVER "/usr/bin/redis-server"

/* ---- a real redis-server ------------------------------------------------------------------ */

typedef struct srv {
    pid_t pid;
    int port;
    tmp_t tmp;
} srv_t;

/* A port the kernel just had free on 127.0.0.1 (racy in theory, fine on loopback). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int tcp_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Starts redis-server on port (0: a free one) and waits until it accepts connections. The
 * server dies with the test process (PR_SET_PDEATHSIG) even if a failed assertion skips
 * srv_stop. The first call creates the directory for its log; restarts reuse it. */
static void srv_start(srv_t *s, int port, const char *password)
{
    char portbuf[16], logfile[PATHLEN + 16];
    pid_t parent = getpid();
    if (port == 0) {
        tmp_open(&s->tmp);
        port = free_port();
    }
    s->port = port;
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    snprintf(logfile, sizeof(logfile), "%s/redis.log", s->tmp.dir);
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        const char *argv[] = {"redis-server", "--port",        portbuf,    "--bind",
                              "127.0.0.1",    "--save",        "",         "--appendonly",
                              "no",           "--dir",         s->tmp.dir, "--logfile",
                              logfile,        "--requirepass", password,   NULL};
        if (!password) argv[13] = NULL;
        execv(REDIS_SERVER, (char *const *)argv);
        _exit(127);
    }
    uint64_t deadline = gw_mono_us() + 10 * 1000000u;
    for (;;) {
        int fd = tcp_connect(port);
        if (fd >= 0) {
            close(fd);
            return;
        }
        int status;
        ck_assert_msg(waitpid(s->pid, &status, WNOHANG) == 0, "redis-server exited, see %s",
                      logfile);
        ck_assert_msg(gw_mono_us() < deadline, "redis-server did not listen on %d", port);
        usleep(10000);
    }
}

static void srv_kill(srv_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static void srv_stop(srv_t *s)
{
    srv_kill(s);
    tmp_close(&s->tmp);
}

/* A plain blocking hiredis client, to act as "another gateway" or an operator. */
static redisContext *sync_client(int port, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->err, 0);
    if (password) {
        redisReply *rep = redisCommand(c, "AUTH %s", password);
        ck_assert_ptr_nonnull(rep);
        ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
        freeReplyObject(rep);
    }
    return c;
}

static long long sync_integer(redisContext *c, const char *fmt, const char *a, const char *b)
{
    redisReply *rep = redisCommand(c, fmt, a, b);
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

/* ---- the event loop ----------------------------------------------------------------------- */

typedef struct loop {
    struct event_base *base;
    struct event *tick; /* so EVLOOP_ONCE returns at least every 5 ms */
} loop_t;

static void on_tick(evutil_socket_t fd, short what, void *arg) {}

static void loop_open(loop_t *l)
{
    struct timeval tv = {0, 5000};
    l->base = event_base_new();
    ck_assert_ptr_nonnull(l->base);
    l->tick = event_new(l->base, -1, EV_PERSIST, on_tick, NULL);
    event_add(l->tick, &tv);
}

static void loop_close(loop_t *l)
{
    event_free(l->tick);
    event_base_free(l->base);
}

/* Runs the loop until cond holds or ms pass (generous bounds: a shared, noisy machine). */
#define RUN_UNTIL(l, cond, ms)                                                                     \
    do {                                                                                           \
        uint64_t dl_ = gw_mono_us() + (uint64_t)(ms)*1000u;                                        \
        while (!(cond) && gw_mono_us() < dl_)                                                      \
            event_base_loop((l)->base, EVLOOP_ONCE);                                               \
    } while (0)

static void run_for(loop_t *l, int ms)
{
    RUN_UNTIL(l, 0, ms);
}

/* ---- recording callbacks ------------------------------------------------------------------ */

typedef struct rec {
    int calls;
    gw_redis_status_t st;
    char data[256];
    size_t len;
    long long integer;
} rec_t;

static void on_rec(void *arg, gw_redis_status_t st, const char *data, size_t len, long long integer)
{
    rec_t *r = arg;
    r->calls++;
    r->st = st;
    r->len = len;
    r->integer = integer;
    r->data[0] = '\0';
    if (data) memcpy(r->data, data, len < sizeof(r->data) ? len : sizeof(r->data) - 1);
}

typedef struct subrec {
    int messages, resyncs;
    char last[256];
    size_t last_len;
} subrec_t;

static void on_msg(void *arg, const char *msg, size_t len)
{
    subrec_t *s = arg;
    s->messages++;
    s->last_len = len;
    memcpy(s->last, msg, len < sizeof(s->last) ? len : sizeof(s->last));
}

static void on_resync(void *arg)
{
    ((subrec_t *)arg)->resyncs++;
}

static gw_redis_opts_t opts_for(int port)
{
    gw_redis_opts_t o;
    memset(&o, 0, sizeof(o));
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = port;
    o.connect_timeout_ms = 2000; /* correctness tests: timeouts far above scheduling noise */
    o.command_timeout_ms = 2000;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    return o;
}

static gw_redis_t *client_up(loop_t *l, const gw_redis_opts_t *o)
{
    char err[ERRLEN] = "";
    gw_redis_t *r = gw_redis_new(l->base, o, err, sizeof(err));
    ck_assert_msg(r != NULL, "gw_redis_new: %s", err);
    RUN_UNTIL(l, gw_redis_up(r), 10000);
    ck_assert_msg(gw_redis_up(r), "client did not come up");
    return r;
}

/* One command to completion; returns its status (rec filled). */
static gw_redis_status_t cmd(loop_t *l, gw_redis_t *r, rec_t *rec, int argc, const char **argv,
                             const size_t *lens)
{
    memset(rec, 0, sizeof(*rec));
    ck_assert_int_eq(gw_redis_command(r, on_rec, rec, argc, argv, lens), 0);
    ck_assert_int_eq(rec->calls, 0); /* never from inside the call */
    RUN_UNTIL(l, rec->calls > 0, 10000);
    ck_assert_int_eq(rec->calls, 1);
    return rec->st;
}

/* ---- URL parsing -------------------------------------------------------------------------- */

typedef struct url_ok {
    const char *url, *host, *password;
    int port, db;
} url_ok_t;

static const url_ok_t good_urls[] = {
    {"redis://127.0.0.1", "127.0.0.1", "", 6379, 0},
    {"redis://localhost:6380/2", "127.0.0.1", "", 6380, 2},
    {"REDIS://LocalHost/", "127.0.0.1", "", 6379, 0},
    {"redis://:s3cr%40t%2f@10.0.0.5:7000/15", "10.0.0.5", "s3cr@t/", 7000, 15},
    {"redis://:p:w@127.0.0.1", "127.0.0.1", "p:w", 6379, 0},
    {"redis://[::1]:6390", "::1", "", 6390, 0},
    {"redis://[fe80::1]/3", "fe80::1", "", 6379, 3},
    {"redis://192.168.1.2:65535/2147483647", "192.168.1.2", "", 65535, 2147483647},
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
    {"redis://cache.internal:6379",
     "redis URL: host \"cache.internal\" is not an IP address or localhost (a name would need a "
     "blocking DNS lookup)"},
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
    snprintf(o.host, sizeof(o.host), "10.1.1.1");
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
    tcase_add_test(tc, test_pipeline_1000);
    tcase_add_test(tc, test_max_pending);
    tcase_add_test(tc, test_select_db);
    tcase_add_test(tc, test_keepalive_beats_redis_timeout);
    tcase_add_test(tc, test_pubsub);
    tcase_add_test(tc, test_kill_and_restart);
    tcase_add_test(tc, test_timeout_then_late_reply);
    tcase_add_test(tc, test_stall_drops_connection);
    tcase_add_test(tc, test_timeouts_in_a_row_drop_connection);
    tcase_add_test(tc, test_nothing_listening_then_start);
    tcase_add_test(tc, test_connect_timeout);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_free_with_pending);
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
