/* A real worker for the codec fuzz targets (fuzz_h1.c, fuzz_h2.c), after
 * test/unit/worker_fixture.h: a whole gw_worker_t (dispatch table, cache, metrics) whose thread
 * never starts, built once; each input gets a fresh socketpair connection through
 * gw_conn_accept, and the loop is spun by hand until the gateway has been quiet for a few rounds.
 * The upstream is 127.0.0.1:1, so proxied requests fail fast (502) on the loop's first turns,
 * unless the target sets fw_upstream (a listener of its own, see fuzz_upstream.c) and any
 * further settings in fw_extra before the first fw_init.
 * A header, not a target: everything is static. */
#ifndef FUZZ_WORKER_H
#define FUZZ_WORKER_H

#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/cache/cache.h"
#include "gateway/conn/sniff.h"
#include "gateway/core/config.h"
#include "gateway/handler/metrics.h"
#include "gateway/worker.h"

#define FW_QUIET_ROUNDS 24   /* loop turns without output before we stop waiting */
#define FW_MAX_ROUNDS   4000 /* a hard cap per phase */

static gw_config_t *fw_cfg;
static gw_shared_t fw_shared;
static gw_life_t fw_life;
static gw_worker_t fw_w;
static char fw_upstream[80];               /* "upstream.url=..." or empty */
static const char *const *fw_extra = NULL; /* more "key=value" settings, NULL-terminated */

static void fw_die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz worker: %s: %s\n", what, err ? err : "");
    abort();
}

static void fw_set(const char *kv)
{
    char err[256];
    if (gw_config_set(fw_cfg, kv, err, sizeof(err)) != 0) fw_die(kv, err);
}

static void fw_init(void)
{
    char err[512], listen[64];
    if (fw_cfg) return;
    fw_cfg = gw_config_new();
    if (!fw_cfg) fw_die("config", "out of memory");
    fw_set(fw_upstream[0] ? fw_upstream : "upstream.url=http://127.0.0.1:1");
    fw_set("limits.max_header_bytes=2KiB");
    fw_set("limits.max_body_bytes=4KiB");
    fw_set("server.workers=1");
    fw_set("log.level=error");
    gw_log_set_level(GW_LOG_ERROR); /* main does this from log.level */
    fw_set("upstream.connect_timeout=100ms");
    fw_set("cache.admin_key=admin");
    fw_set("models.minilm.collection=docs");
    fw_set("models.minilm.dimension=3");
    for (const char *const *kv = fw_extra; kv && *kv; kv++)
        fw_set(*kv);
    /* A loopback port nothing listens on (the worker's own listener binds it). */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t alen = sizeof(a);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        fw_die("bind", "no free port");
    close(s);
    snprintf(listen, sizeof(listen), "server.listen=127.0.0.1:%u", ntohs(a.sin_port));
    fw_set(listen);
    if (gw_config_finalize(fw_cfg, err, sizeof(err)) != 0) fw_die("finalize", err);
    if (gw_shared_init(&fw_shared, fw_cfg, &fw_life) != 0) fw_die("shared", "out of memory");
    if (fw_cfg->metrics_enabled &&
        !(fw_shared.metrics = gw_metrics_shared_new(fw_cfg, err, sizeof(err))))
        fw_die("metrics", err);
    if (fw_cfg->cache_enabled &&
        !(fw_shared.cache = gw_cache_shared_new(fw_cfg, fw_shared.proc.nworkers, err, sizeof(err))))
        fw_die("cache", err);
    if (gw_worker_init(&fw_w, &fw_shared, 0, NULL, err, sizeof(err)) != 0) fw_die("worker", err);
}

static void fw_spin(int rounds)
{
    for (int i = 0; i < rounds; i++)
        event_base_loop(fw_w.loop.base, EVLOOP_NONBLOCK);
}

typedef struct fw_out {
    unsigned char *p;
    size_t len, cap;
    int closed; /* the gateway closed its end */
} fw_out_t;

/* Reads what is there; 1 if anything came. */
static int fw_read(int fd, fw_out_t *o)
{
    int got = 0;
    while (!o->closed) {
        if (o->len == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 65536;
            o->p = realloc(o->p, o->cap);
            if (!o->p) abort();
        }
        ssize_t r = read(fd, o->p + o->len, o->cap - o->len);
        if (r > 0) {
            o->len += (size_t)r;
            got = 1;
        } else if (r == 0) {
            o->closed = 1;
            got = 1;
        } else {
            break;
        }
    }
    return got;
}

/* Spins until nothing came for FW_QUIET_ROUNDS turns (or the gateway closed). */
static void fw_settle(int fd, fw_out_t *o)
{
    for (int quiet = 0, n = 0; quiet < FW_QUIET_ROUNDS && !o->closed && n < FW_MAX_ROUNDS; n++) {
        fw_spin(1);
        quiet = fw_read(fd, o) ? 0 : quiet + 1;
    }
}

/* One connection: writes prefix then data in pieces of `step` bytes (the loop turning between
 * them), waits for quiet, half-closes and waits again, closes, and checks that the gateway let
 * go of the connection. What it wrote back goes to *o (the caller frees o->p). */
__attribute__((unused)) static void fw_exchange(const void *prefix, size_t plen,
                                                const uint8_t *data, size_t size, size_t step,
                                                fw_out_t *o)
{
    int sv[2];
    memset(o, 0, sizeof(*o));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) abort();
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (gw_conn_accept(&fw_w.loop, sv[0], (struct sockaddr *)&peer, sizeof(peer), 0, NULL) != 0)
        abort();
    int client = sv[1];
    if (plen && send(client, prefix, plen, MSG_NOSIGNAL) != (ssize_t)plen) abort();
    for (size_t off = 0; off < size && !o->closed; off += step) {
        size_t n = size - off < step ? size - off : step;
        ssize_t w = send(client, data + off, n, MSG_NOSIGNAL);
        if (w < 0) break;                    /* the gateway closed early (after a 400, say) */
        if ((size_t)w < n) step = (size_t)w; /* buffer full: the rest goes after a turn */
        fw_spin(2);
        fw_read(client, o);
    }
    fw_settle(client, o);
    shutdown(client, SHUT_WR);
    fw_settle(client, o);
    close(client);
    /* The gateway must free the connection once the client is gone. */
    for (int n = 0; n < FW_MAX_ROUNDS && atomic_load(&fw_life.connections) != 0; n++)
        fw_spin(1);
    if (atomic_load(&fw_life.connections) != 0) {
        fprintf(stderr, "fuzz worker: connection still open after the client left\n");
        abort();
    }
    if (getenv("FUZZ_SHOW")) /* FUZZ_SHOW=1 ./fuzz_h1 FILE: what the gateway answered */
        fprintf(stderr, "--- %zu bytes%s:\n%.*s\n---\n", o->len, o->closed ? ", closed" : "",
                (int)o->len, o->p ? (const char *)o->p : "");
}

/* Deterministic per input: how it is cut into writes (whole, 1, 7 or 100 bytes). */
__attribute__((unused)) static size_t fw_step(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    static const size_t steps[] = {SIZE_MAX, 1, 7, 100};
    size_t s = steps[h % 4];
    if (s == 1 && size > 512) s = 16; /* byte by byte only for short inputs */
    return s;
}

#endif
