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
#include <poll.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
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

/* ---- a hostile Redis ---------------------------------------------------------------------- */

/* A child process on a free loopback port that speaks enough RESP2 to look like Redis (PING,
 * AUTH, SELECT, GET and MGET of missing keys, SET, SUBSCRIBE, PUBLISH to its subscribers) and,
 * once per rule, answers the first command named `on` with the rule's raw bytes instead, then
 * writes `trickle` over and over (trickle_max bytes, a 64 KiB write every pause_us) until the
 * peer leaves. Rules fire in order, each once, whichever connection sends the command; what
 * they did is in f->sh, shared with the test. */
typedef struct fake_rule {
    const char *on;
    const char *reply;
    size_t reply_len; /* 0: strlen(reply) */
    const char *trickle;
    size_t trickle_max;
    unsigned pause_us;
} fake_rule_t;

enum { FAKE_NONE, FAKE_TRICKLING, FAKE_PEER_LEFT, FAKE_SENT_ALL, FAKE_STALLED };

typedef struct fake_shared {
    uint64_t trickled; /* bytes of trickle written */
    int fired;         /* rules fired */
    int trickle_end;   /* FAKE_*: how the last trickle went */
} fake_shared_t;

typedef struct fake {
    pid_t pid;
    int port;
    fake_shared_t *sh;
} fake_t;

#define FAKE_CONNS 16
#define FAKE_BUF   (64 * 1024)

typedef struct fake_conn {
    int fd;
    size_t len;
    char sub[64]; /* channel it subscribed to */
    char buf[FAKE_BUF];
} fake_conn_t;

static inline int fake_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One command off the front of b: its length, 0 if incomplete, -1 if not RESP. At most 3
 * arguments are kept. */
static inline long fake_parse(const char *b, size_t len, int *argc, const char *argv[3],
                              size_t argl[3])
{
    const char *p = b, *end = b + len, *nl;
    if (len == 0) return 0;
    if (*p != '*') return -1;
    if (!(nl = memchr(p, '\n', len))) return 0;
    *argc = atoi(p + 1);
    p = nl + 1;
    for (int i = 0; i < *argc; i++) {
        if (p >= end) return 0;
        if (*p != '$') return -1;
        if (!(nl = memchr(p, '\n', (size_t)(end - p)))) return 0;
        size_t l = (size_t)atol(p + 1);
        p = nl + 1;
        if ((size_t)(end - p) < l + 2) return 0;
        if (i < 3) {
            argv[i] = p;
            argl[i] = l;
        }
        p += l + 2;
    }
    return p - b;
}

static inline void fake_trickle(int fd, const fake_rule_t *ru, fake_shared_t *sh)
{
    static char chunk[FAKE_BUF];
    size_t plen = strlen(ru->trickle), csize = FAKE_BUF - FAKE_BUF % plen, sent = 0;
    for (size_t i = 0; i < csize; i++)
        chunk[i] = ru->trickle[i % plen];
    __atomic_store_n(&sh->trickle_end, FAKE_TRICKLING, __ATOMIC_SEQ_CST);
    while (sent < ru->trickle_max) {
        size_t n = ru->trickle_max - sent < csize ? ru->trickle_max - sent : csize;
        if (fake_write(fd, chunk, n) != 0) {
            __atomic_store_n(&sh->trickle_end, errno == EAGAIN ? FAKE_STALLED : FAKE_PEER_LEFT,
                             __ATOMIC_SEQ_CST);
            return;
        }
        sent += n;
        __atomic_store_n(&sh->trickled, sent, __ATOMIC_SEQ_CST);
        if (ru->pause_us) usleep(ru->pause_us);
    }
    __atomic_store_n(&sh->trickle_end, FAKE_SENT_ALL, __ATOMIC_SEQ_CST);
}

#define FAKE_IS(i, name) (argl[i] == strlen(name) && strncasecmp(argv[i], name, argl[i]) == 0)

static inline void fake_command(fake_conn_t *cs, fake_conn_t *c, int argc, const char **argv,
                                const size_t *argl, const fake_rule_t *rules, int nrules,
                                fake_shared_t *sh)
{
    char out[512];
    int fired = __atomic_load_n(&sh->fired, __ATOMIC_SEQ_CST);
    if (FAKE_IS(0, "SUBSCRIBE") && argc >= 2)
        snprintf(c->sub, sizeof(c->sub), "%.*s", (int)argl[1], argv[1]);
    if (fired < nrules && FAKE_IS(0, rules[fired].on)) {
        const fake_rule_t *ru = &rules[fired];
        __atomic_store_n(&sh->fired, fired + 1, __ATOMIC_SEQ_CST);
        if (fake_write(c->fd, ru->reply, ru->reply_len ? ru->reply_len : strlen(ru->reply)) == 0 &&
            ru->trickle)
            fake_trickle(c->fd, ru, sh);
        return;
    }
    if (FAKE_IS(0, "PING")) {
        snprintf(out, sizeof(out), "+PONG\r\n");
    } else if (FAKE_IS(0, "GET")) {
        snprintf(out, sizeof(out), "$-1\r\n");
    } else if (FAKE_IS(0, "MGET")) {
        int n = snprintf(out, sizeof(out), "*%d\r\n", argc - 1);
        for (int i = 1; i < argc && n < (int)sizeof(out) - 8; i++)
            n += snprintf(out + n, sizeof(out) - (size_t)n, "$-1\r\n");
    } else if (FAKE_IS(0, "SUBSCRIBE") && argc >= 2) {
        snprintf(out, sizeof(out), "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%s\r\n:1\r\n", strlen(c->sub),
                 c->sub);
    } else if (FAKE_IS(0, "PUBLISH") && argc >= 3) {
        int n = 0;
        char msg[512];
        snprintf(msg, sizeof(msg), "*3\r\n$7\r\nmessage\r\n$%zu\r\n%.*s\r\n$%zu\r\n%.*s\r\n",
                 argl[1], (int)argl[1], argv[1], argl[2], (int)argl[2], argv[2]);
        for (int i = 0; i < FAKE_CONNS; i++)
            if (cs[i].fd >= 0 && strlen(cs[i].sub) == argl[1] &&
                memcmp(cs[i].sub, argv[1], argl[1]) == 0 &&
                fake_write(cs[i].fd, msg, strlen(msg)) == 0)
                n++;
        snprintf(out, sizeof(out), ":%d\r\n", n);
    } else {
        snprintf(out, sizeof(out), "+OK\r\n");
    }
    fake_write(c->fd, out, strlen(out));
}

static inline void fake_serve(int lfd, const fake_rule_t *rules, int nrules, fake_shared_t *sh)
{
    fake_conn_t *cs = calloc(FAKE_CONNS, sizeof(*cs));
    struct pollfd pfd[FAKE_CONNS + 1];
    if (!cs) _exit(1);
    for (int i = 0; i < FAKE_CONNS; i++)
        cs[i].fd = -1;
    for (;;) {
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < FAKE_CONNS; i++)
            pfd[i + 1] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
        if (poll(pfd, FAKE_CONNS + 1, -1) < 0) continue;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            struct timeval tv = {2, 0}; /* a peer that stops reading ends a trickle */
            for (int i = 0; fd >= 0 && i < FAKE_CONNS; i++) {
                if (cs[i].fd >= 0) continue;
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                cs[i].fd = fd;
                cs[i].len = 0;
                cs[i].sub[0] = '\0';
                fd = -1;
            }
            if (fd >= 0) close(fd);
        }
        for (int i = 0; i < FAKE_CONNS; i++) {
            fake_conn_t *c = &cs[i];
            if (c->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(c->fd, c->buf + c->len, FAKE_BUF - c->len);
            long used;
            int argc = 0;
            const char *argv[3] = {"", "", ""};
            size_t argl[3] = {0, 0, 0};
            if (n <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += (size_t)n;
            while (c->fd >= 0 && (used = fake_parse(c->buf, c->len, &argc, argv, argl)) > 0) {
                fake_command(cs, c, argc, argv, argl, rules, nrules, sh);
                memmove(c->buf, c->buf + used, c->len - (size_t)used);
                c->len -= (size_t)used;
            }
        }
    }
}

/* Starts the fake; rules (and what they point to) must stay valid until fake_start returns
 * (the child has its own copy). */
static inline void fake_start(fake_t *f, const fake_rule_t *rules, int nrules)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t alen = sizeof(a);
    pid_t parent = getpid();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    f->sh = mmap(NULL, sizeof(*f->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(f->sh, MAP_FAILED);
    memset(f->sh, 0, sizeof(*f->sh));
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        signal(SIGPIPE, SIG_IGN);
        fake_serve(lfd, rules, nrules, f->sh);
        _exit(0);
    }
    close(lfd);
}

static inline int fake_fired(const fake_t *f)
{
    return __atomic_load_n(&f->sh->fired, __ATOMIC_SEQ_CST);
}

static inline int fake_trickle_end(const fake_t *f)
{
    return __atomic_load_n(&f->sh->trickle_end, __ATOMIC_SEQ_CST);
}

static inline uint64_t fake_trickled(const fake_t *f)
{
    return __atomic_load_n(&f->sh->trickled, __ATOMIC_SEQ_CST);
}

static inline void fake_stop(fake_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
    munmap(f->sh, sizeof(*f->sh));
}

/* This process's resident memory (VmRSS), in KiB. */
static inline long vm_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *fp = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
    fclose(fp);
    ck_assert_int_gt(kib, 0);
    return kib;
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
