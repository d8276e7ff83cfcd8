/* qdrant-gateway entry point: command line, configuration, signals, and the worker threads.
 * Exit codes: 0 clean stop or valid config, 1 bad config or startup failure, 2 bad usage. */
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/core/config.h"
#include "gateway/auth/audit.h"
#include "gateway/auth/gate.h"
#include "gateway/core/timer.h"
#include "gateway/generation.h"

typedef struct gw_args {
    const char *config_path;
    int check_only;
    int verbose;
    const char **sets;
    size_t nsets;
} gw_args_t;

static void usage(FILE *out)
{
    fprintf(out, "Usage: qdrant-gateway [options]\n"
                 "A caching, pooling gateway in front of Qdrant's REST API.\n\n"
                 "  -c, --config FILE     load configuration from FILE (YAML); without it the\n"
                 "                        built-in defaults are used (see conf/gateway.yaml)\n"
                 "  -s, --set KEY=VALUE   override one configuration key, e.g.\n"
                 "                        --set server.listen=127.0.0.1:8000 (repeatable)\n"
                 "  -t, --check-config    validate the configuration and exit (0 if valid)\n"
                 "  -v, --verbose         with -t, print the effective configuration\n"
                 "  -V, --version         print the version and exit\n"
                 "  -h, --help            print this help and exit\n");
}

/* 0: run; 1: exit 0 (help/version); -1: usage error. */
static int parse_args(int argc, char **argv, gw_args_t *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"check-config", no_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    a->sets = calloc((size_t)argc, sizeof(*a->sets));
    if (!a->sets) return -1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:tvVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            a->config_path = optarg;
            break;
        case 's':
            a->sets[a->nsets++] = optarg;
            break;
        case 't':
            a->check_only = 1;
            break;
        case 'v':
            a->verbose = 1;
            break;
        case 'V':
            printf("qdrant-gateway %s\n", GW_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qdrant-gateway: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The configuration from the file and the --set overrides; NULL with err filled. */
static gw_config_t *load_config(const gw_args_t *a, char *err, size_t errlen)
{
    gw_config_t *cfg = gw_config_new();
    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (a->config_path && gw_config_load_file(cfg, a->config_path, err, errlen) != 0) goto fail;
    for (size_t i = 0; i < a->nsets; i++)
        if (gw_config_set(cfg, a->sets[i], err, errlen) != 0) goto fail;
    if (gw_config_finalize(cfg, err, errlen) != 0) goto fail;
    return cfg;
fail:
    gw_config_free(cfg);
    return NULL;
}

/* Every client and upstream connection is a descriptor: take the whole hard limit (as nginx's
 * worker_rlimit_nofile would), and say so when even that is below what the configuration can
 * open (client connections, every worker's pool, listeners, Redis, a margin). */
static void raise_nofile(const gw_config_t *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t before = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
    }
    if (rl.rlim_cur != before)
        gw_log_info("open files limit raised from %llu to %llu", (unsigned long long)before,
                    (unsigned long long)rl.rlim_cur);
    unsigned long long need =
        (unsigned long long)cfg->max_connections +
        (unsigned long long)cfg->workers * ((unsigned long long)cfg->upstream_max_connections + 8) +
        64;
    if (rl.rlim_cur != RLIM_INFINITY && (unsigned long long)rl.rlim_cur < need)
        gw_log_warn("open files limit %llu is below the %llu descriptors server.max_connections "
                    "and the upstream pools may need: raise LimitNOFILE / ulimit -n",
                    (unsigned long long)rl.rlim_cur, need);
}

typedef struct run_state {
    const gw_args_t *args;
    gw_life_t life;
    gw_generation_t *cur;      /* the configuration serving */
    gw_generation_t **retired; /* replaced ones still finishing, oldest first */
    int nretired;
    struct event_base *base;
    struct event *sigs[3];
    struct event *reap_ev;
} run_state_t;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    run_state_t *st = arg;
    gw_log_info("%s received: draining connections", sig == SIGINT ? "SIGINT" : "SIGTERM");
    gw_generation_stop(st->cur);
    for (int i = 0; i < st->nretired; i++)
        gw_generation_stop(st->retired[i]);
    event_base_loopexit(st->base, NULL);
}

/* Frees retired generations whose workers are done, oldest first: a younger one may own the
 * cache tier an older one still reads (gw_cache_shared_inherit). */
static void reap(run_state_t *st)
{
    int k = 0;
    while (k < st->nretired && gw_generation_finished(st->retired[k])) {
        gw_generation_free(st->retired[k]);
        k++;
    }
    if (k) {
        memmove(st->retired, st->retired + k, (size_t)(st->nretired - k) * sizeof(*st->retired));
        st->nretired -= k;
        gw_log_info("previous configuration's workers finished; %d still finishing", st->nretired);
    }
    if (st->nretired) gw_timer_add_ms(st->reap_ev, 200);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    reap(arg);
}

static void reload_failed(run_state_t *st, const char *why, const char *err)
{
    atomic_fetch_add(&st->life.reloads_failed, 1);
    gw_log_error("SIGHUP: reload failed, %s; the running configuration stays: %s", why, err);
}

/* SIGHUP: the whole configuration again, from the same file and --set overrides. The new
 * generation is built beside the running one (listeners taken over, cache kept when it can
 * be); only once it runs is the old one retired. Any error leaves everything as it was. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    run_state_t *st = arg;
    char err[1024];
    gw_audit_reopen(); /* logrotate moved the audit log */
    gw_log_info("SIGHUP received: reloading %s",
                st->args->config_path ? st->args->config_path : "the built-in defaults");
    gw_config_t *cfg = load_config(st->args, err, sizeof(err));
    if (!cfg) return reload_failed(st, "the configuration is invalid", err);
    gw_generation_t **r = realloc(st->retired, (size_t)(st->nretired + 1) * sizeof(*r));
    if (!r) {
        gw_config_free(cfg);
        return reload_failed(st, "out of memory", "");
    }
    st->retired = r;
    gw_generation_t *g = gw_generation_new(cfg, st->cur, &st->life, err, sizeof(err));
    if (!g) return reload_failed(st, "cannot set it up", err);
    if (gw_generation_start(g, err, sizeof(err)) != 0) {
        gw_generation_abandon(g, st->cur);
        return reload_failed(st, "cannot start it", err);
    }
    st->retired[st->nretired++] = st->cur;
    gw_generation_retire(st->cur);
    st->cur = g;
    const gw_config_t *c = gw_generation_config(g);
    gw_log_level_t level = GW_LOG_INFO;
    gw_log_parse_level(c->log_level, &level);
    gw_log_set_level(level);
    atomic_store(&st->life.generation, gw_generation_number(g));
    atomic_fetch_add(&st->life.reloads_ok, 1);
    atomic_store(&st->life.last_reload_wall, gw_wall_seconds());
    gw_log_info("SIGHUP: configuration %u in effect (listening on %s:%u, %d worker(s), upstream "
                "%s, in-process cache %s); the previous one finishes its connections",
                atomic_load(&st->life.generation), c->listen.host, (unsigned)c->listen.port,
                c->workers, c->upstream_urls[0] ? c->upstream_urls : c->upstream_url,
                gw_generation_kept_cache(g) ? "kept" : "new");
    reap(st);
}

/* Signals go to the main thread's loop: stop on SIGTERM/SIGINT, reload on SIGHUP. */
static int add_signals(run_state_t *st)
{
    st->sigs[0] = evsignal_new(st->base, SIGTERM, on_signal, st);
    st->sigs[1] = evsignal_new(st->base, SIGINT, on_signal, st);
    st->sigs[2] = evsignal_new(st->base, SIGHUP, on_sighup, st);
    st->reap_ev = evtimer_new(st->base, on_reap, st);
    for (int i = 0; i < 3; i++)
        if (!st->sigs[i] || event_add(st->sigs[i], NULL) != 0) return -1;
    return st->reap_ev ? 0 : -1;
}

static int run(const gw_args_t *args, gw_config_t *cfg)
{
    run_state_t st = {.args = args};
    char err[1024];
    int rc = 1;
    raise_nofile(cfg);
    st.life.start_us = gw_mono_us();
    st.life.start_wall = gw_wall_seconds();
    atomic_init(&st.life.generation, 1);
    st.base = event_base_new();
    if (!st.base) {
        gw_config_free(cfg);
        gw_log_error("cannot create the main event loop");
        return 1;
    }
    st.cur = gw_generation_new(cfg, NULL, &st.life, err, sizeof(err));
    if (!st.cur) {
        gw_log_error("%s", err);
        goto out;
    }
    /* Before any worker runs: they write to it. Reloads reopen it (logrotate), same path. */
    if ((gw_auth_configured(cfg) || cfg->auth_audit_log[0]) &&
        gw_audit_open(cfg->auth_audit_log, err, sizeof(err)) != 0) {
        gw_log_error("%s", err);
        goto out;
    }
    if (add_signals(&st) != 0) goto out;
    if (gw_generation_start(st.cur, err, sizeof(err)) != 0) {
        gw_log_error("%s", err);
        goto out;
    }
    gw_log_info("qdrant-gateway %s listening on %s:%u with %d worker(s), upstream %s", GW_VERSION,
                cfg->listen.host, (unsigned)cfg->listen.port, cfg->workers,
                cfg->upstream_urls[0] ? cfg->upstream_urls : cfg->upstream_url);
    if (cfg->tls_listen[0]) gw_log_info("TLS (ALPN h2, http/1.1) listening on %s", cfg->tls_listen);
    event_base_dispatch(st.base);
    rc = 0;
out:
    for (int i = 0; i < st.nretired; i++)
        gw_generation_free(st.retired[i]); /* oldest first */
    free(st.retired);
    gw_generation_free(st.cur);
    for (int i = 0; i < 3; i++)
        if (st.sigs[i]) event_free(st.sigs[i]);
    if (st.reap_ev) event_free(st.reap_ev);
    event_base_free(st.base);
    gw_audit_close();
    if (rc == 0) gw_log_info("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    gw_args_t args = {0};
    int pr = parse_args(argc, argv, &args);
    if (pr != 0) {
        free(args.sets);
        return pr > 0 ? 0 : 2;
    }
    char err[1024];
    gw_config_t *cfg = load_config(&args, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "qdrant-gateway: %s\n", err);
        free(args.sets);
        return 1;
    }
    if (args.check_only) {
        if (args.verbose) gw_config_dump(cfg, stdout);
        fprintf(stderr, "qdrant-gateway: configuration %s is valid\n",
                args.config_path ? args.config_path : "(built-in defaults)");
        gw_config_free(cfg);
        free(args.sets);
        return 0;
    }
    gw_log_level_t level = GW_LOG_INFO;
    gw_log_parse_level(cfg->log_level, &level);
    gw_log_set_level(level);
    /* glibc gives each worker thread its own arena and, with the default 128 KiB trim
     * threshold, shrinks and regrows its top with mprotect as requests come and go (0.7 calls
     * per 768-dimension miss under strace -c). Keep up to 8 MiB of free top per arena, grow by
     * 1 MiB, and take blocks up to 4 MiB (large answers) from the arena rather than mmap. */
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    signal(SIGPIPE, SIG_IGN); /* writes to closed sockets return EPIPE instead */
    json_object_seed(0);      /* before threads: jansson's one piece of global state */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || evthread_use_pthreads() != 0) {
        fprintf(stderr, "qdrant-gateway: cannot initialise libcurl/libevent\n");
        gw_config_free(cfg);
        return 1;
    }
    int rc = run(&args, cfg); /* owns cfg; reloads read args again */
    free(args.sets);
    curl_global_cleanup();
    libevent_global_shutdown();
    return rc;
}
