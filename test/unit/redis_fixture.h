/* A real redis-server for the Redis client's unit tests (test_redis*.c): started on a free
 * loopback port, killed, stopped and restarted by the tests; an event loop to drive the client;
 * a synchronous hiredis client to look at what the server holds. Header-only, no state. */
#ifndef REDIS_FIXTURE_H
#define REDIS_FIXTURE_H

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
#include "gateway/redis/client.h"
#include "unit_util.h"

#define REDIS_SERVER "/usr/bin/redis-server"

/* ---- a real redis-server ------------------------------------------------------------------ */

typedef struct srv {
    pid_t pid;
    int port;
    tmp_t tmp;
} srv_t;

/* A port the kernel just had free on 127.0.0.1 (racy in theory, fine on loopback). */
static inline int free_port(void)
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

static inline int tcp_connect(int port)
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
static inline void srv_start(srv_t *s, int port, const char *password)
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

static inline void srv_kill(srv_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

static inline void srv_stop(srv_t *s)
{
    srv_kill(s);
    tmp_close(&s->tmp);
}

/* A plain blocking hiredis client, to act as "another gateway" or an operator. */
static inline redisContext *sync_client(int port, const char *password)
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

static inline long long sync_integer(redisContext *c, const char *fmt, const char *a, const char *b)
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

static inline void on_tick(evutil_socket_t fd, short what, void *arg) {}

static inline void loop_open(loop_t *l)
{
    struct timeval tv = {0, 5000};
    l->base = event_base_new();
    ck_assert_ptr_nonnull(l->base);
    l->tick = event_new(l->base, -1, EV_PERSIST, on_tick, NULL);
    event_add(l->tick, &tv);
}

static inline void loop_close(loop_t *l)
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

static inline void run_for(loop_t *l, int ms)
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

static inline void on_rec(void *arg, gw_redis_status_t st, const char *data, size_t len,
                          long long integer)
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

static inline void on_msg(void *arg, const char *msg, size_t len)
{
    subrec_t *s = arg;
    s->messages++;
    s->last_len = len;
    memcpy(s->last, msg, len < sizeof(s->last) ? len : sizeof(s->last));
}

static inline void on_resync(void *arg)
{
    ((subrec_t *)arg)->resyncs++;
}

static inline gw_redis_opts_t opts_for(int port)
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

static inline gw_redis_t *client_up(loop_t *l, const gw_redis_opts_t *o)
{
    char err[ERRLEN] = "";
    gw_redis_t *r = gw_redis_new(l->base, o, err, sizeof(err));
    ck_assert_msg(r != NULL, "gw_redis_new: %s", err);
    RUN_UNTIL(l, gw_redis_up(r), 10000);
    ck_assert_msg(gw_redis_up(r), "client did not come up");
    return r;
}

/* One command to completion; returns its status (rec filled). */
static inline gw_redis_status_t cmd(loop_t *l, gw_redis_t *r, rec_t *rec, int argc,
                                    const char **argv, const size_t *lens)
{
    memset(rec, 0, sizeof(*rec));
    ck_assert_int_eq(gw_redis_command(r, on_rec, rec, argc, argv, lens), 0);
    ck_assert_int_eq(rec->calls, 0); /* never from inside the call */
    RUN_UNTIL(l, rec->calls > 0, 10000);
    ck_assert_int_eq(rec->calls, 1);
    return rec->st;
}

#endif
