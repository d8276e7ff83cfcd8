/* A real worker loop for codec unit tests (test_h1.c, test_h2.c): a socketpair whose server end
 * goes through gw_conn_accept (protocol sniffing, then h1 or h2), the loop driven by hand.
 * It is a whole gw_worker_t (dispatch table included) whose thread never starts. Gateway API
 * routes answer locally; proxied routes fail fast (upstream on port 1: 502).
 * A header, not a test: everything is static inline. */
#ifndef WORKER_FIXTURE_H
#define WORKER_FIXTURE_H

#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conn/sniff.h"
#include "gateway/core/config.h"
#include "gateway/worker.h"

typedef struct fixture {
    gw_config_t *cfg;
    gw_shared_t shared;
    gw_life_t life;
    gw_worker_t w;
    int client; /* our end of the socketpair */
} fixture_t;

/* A loopback port nothing listens on right now (the worker's own listener binds it). */
static inline unsigned fx_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static inline void fx_init(fixture_t *f)
{
    char err[256], listen[64];
    memset(f, 0, sizeof(*f));
    f->cfg = gw_config_new();
    ck_assert_ptr_nonnull(f->cfg);
    /* Nothing listens on port 1: requests that reach the proxy fail fast with 502. */
    ck_assert_int_eq(gw_config_set(f->cfg, "upstream.url=http://127.0.0.1:1", err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_set(f->cfg, "limits.max_header_bytes=2KiB", err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_set(f->cfg, "limits.max_body_bytes=4KiB", err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_set(f->cfg, "server.workers=1", err, sizeof(err)), 0);
    snprintf(listen, sizeof(listen), "server.listen=127.0.0.1:%u", fx_free_port());
    ck_assert_int_eq(gw_config_set(f->cfg, listen, err, sizeof(err)), 0);
    ck_assert_int_eq(gw_config_finalize(f->cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(gw_shared_init(&f->shared, f->cfg, &f->life), 0);
    if (gw_worker_init(&f->w, &f->shared, 0, NULL, err, sizeof(err)) != 0) ck_abort_msg("%s", err);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    ck_assert_int_eq(
        gw_conn_accept(&f->w.loop, sv[0], (struct sockaddr *)&peer, sizeof(peer), 0, NULL), 0);
    f->client = sv[1];
}

static inline void fx_dispose(fixture_t *f)
{
    close(f->client);
    gw_worker_dispose(&f->w);
    gw_shared_dispose(&f->shared);
    gw_config_free(f->cfg);
}

static inline void spin(fixture_t *f, int rounds)
{
    for (int i = 0; i < rounds; i++)
        event_base_loop(f->w.loop.base, EVLOOP_NONBLOCK);
}

/* Sends `len` bytes in pieces of `step` (running the loop between pieces), then collects what
 * the gateway wrote until it has been quiet for a while or closed. Returns a malloc'd buffer,
 * NUL-terminated; its length (it may hold NULs) goes to *outlen when outlen is not NULL. */
static inline char *exchange_n(fixture_t *f, const void *data, size_t len, size_t step, int *closed,
                               size_t *outlen)
{
    const char *in = data;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        if (write(f->client, in + off, n) != (ssize_t)n)
            break; /* the gateway closed early (e.g. after a 400): that is what we test */
        spin(f, 3);
    }
    size_t cap = 1 << 16, used = 0;
    char *out = malloc(cap);
    *closed = 0;
    fcntl(f->client, F_SETFL, O_NONBLOCK);
    for (int quiet = 0; quiet < 200 && !*closed;) {
        spin(f, 1);
        if (used + 1 == cap) out = realloc(out, cap *= 2);
        ssize_t r = read(f->client, out + used, cap - used - 1);
        if (r > 0) {
            used += (size_t)r;
            quiet = 0;
        } else if (r == 0) {
            *closed = 1;
        } else {
            quiet++;
            usleep(1000);
        }
    }
    out[used] = '\0';
    if (outlen) *outlen = used;
    return out;
}

static inline char *exchange(fixture_t *f, const char *data, size_t len, size_t step, int *closed)
{
    return exchange_n(f, data, len, step, closed, NULL);
}

#endif
