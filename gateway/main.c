/* qdrant-gateway entry point: command line, configuration, signals, and the worker threads.
 * Exit codes: 0 clean stop or valid config, 1 bad config or startup failure, 2 bad usage. */
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <jansson.h>
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
#include "gateway/cache/cache.h"
#include "gateway/handler/metrics.h"
#include "gateway/conn/tls.h"
#include "gateway/worker.h"

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

static gw_config_t *load_config(const gw_args_t *a)
{
    char err[1024];
    gw_config_t *cfg = gw_config_new();
    if (!cfg) {
        fprintf(stderr, "qdrant-gateway: out of memory\n");
        return NULL;
    }
    if (a->config_path && gw_config_load_file(cfg, a->config_path, err, sizeof(err)) != 0)
        goto fail;
    for (size_t i = 0; i < a->nsets; i++)
        if (gw_config_set(cfg, a->sets[i], err, sizeof(err)) != 0) goto fail;
    if (gw_config_finalize(cfg, err, sizeof(err)) != 0) goto fail;
    return cfg;
fail:
    fprintf(stderr, "qdrant-gateway: %s\n", err);
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
    gw_worker_t *workers;
    int n;
    struct event_base *base;
} run_state_t;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    run_state_t *st = arg;
    gw_log_info("%s received: draining connections", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (int i = 0; i < st->n; i++)
        gw_worker_stop(&st->workers[i]);
    event_base_loopexit(st->base, NULL);
}

/* SIGHUP: re-read the TLS certificate and key; a bad pair is logged and the old one kept. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    gw_shared_t *sh = arg;
    char err[512];
    gw_audit_reopen(); /* logrotate moved the audit log */
    if (!sh->tls) {
        gw_log_info("SIGHUP received: no TLS listener, nothing to reload");
        return;
    }
    if (gw_tls_reload(sh->tls, err, sizeof(err)) != 0)
        gw_log_error("SIGHUP: TLS certificate reload failed, keeping the previous one: %s", err);
    else
        gw_log_info("SIGHUP: TLS certificate reloaded from %s", sh->proc.cfg->tls_cert);
}

/* Signals go to the main thread's loop: stop on SIGTERM/SIGINT, reload TLS on SIGHUP. */
static int add_signals(struct event_base *base, run_state_t *st, gw_shared_t *sh,
                       struct event **evs)
{
    evs[0] = evsignal_new(base, SIGTERM, on_signal, st);
    evs[1] = evsignal_new(base, SIGINT, on_signal, st);
    evs[2] = evsignal_new(base, SIGHUP, on_sighup, sh);
    for (int i = 0; i < 3; i++)
        if (!evs[i] || event_add(evs[i], NULL) != 0) return -1;
    return 0;
}

static int run(const gw_config_t *cfg)
{
    gw_shared_t shared;
    raise_nofile(cfg);
    int shared_ok = gw_shared_init(&shared, cfg) == 0;
    gw_worker_t *workers = calloc((size_t)shared.proc.nworkers, sizeof(*workers));
    struct event_base *base = event_base_new();
    run_state_t st = {workers, 0, base};
    struct event *sigs[3] = {NULL, NULL, NULL};
    char err[512];
    int rc = 1;
    if (!shared_ok || !workers || !base) goto out;
    if (cfg->metrics_enabled && !(shared.metrics = gw_metrics_shared_new(cfg, err, sizeof(err)))) {
        gw_log_error("%s", err);
        goto out;
    }
    if (cfg->cache_enabled &&
        !(shared.cache = gw_cache_shared_new(cfg, shared.proc.nworkers, err, sizeof(err)))) {
        gw_log_error("%s", err);
        goto out;
    }
    if (gw_auth_configured(cfg) || cfg->auth_audit_log[0]) {
        if (gw_audit_open(cfg->auth_audit_log, err, sizeof(err)) != 0) {
            gw_log_error("%s", err);
            goto out;
        }
    }
    if (gw_auth_configured(cfg) &&
        !(shared.auth = gw_auth_new(cfg, shared.cache, err, sizeof(err)))) {
        gw_log_error("%s", err);
        goto out;
    }
    if (cfg->tls_listen[0]) {
        shared.tls = gw_tls_new(cfg->tls_cert, cfg->tls_key, err, sizeof(err));
        if (!shared.tls) {
            gw_log_error("%s", err);
            goto out;
        }
    }
    for (; st.n < shared.proc.nworkers; st.n++) {
        if (gw_worker_init(&workers[st.n], &shared, st.n, err, sizeof(err)) != 0) {
            gw_log_error("%s", err);
            goto out;
        }
    }
    if (add_signals(base, &st, &shared, sigs) != 0) goto out;
    /* Workers inherit a mask without these signals, so they reach the main thread. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (int i = 0; i < st.n; i++) {
        if (gw_worker_start(&workers[i]) != 0) {
            gw_log_error("cannot start worker thread %d", i);
            for (int j = 0; j < i; j++)
                gw_worker_stop(&workers[j]);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            goto out;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    gw_log_info("qdrant-gateway %s listening on %s:%u with %d worker(s), upstream %s", GW_VERSION,
                cfg->listen.host, (unsigned)cfg->listen.port, cfg->workers, cfg->upstream_url);
    if (shared.tls) gw_log_info("TLS (ALPN h2, http/1.1) listening on %s", cfg->tls_listen);
    event_base_dispatch(base);
    rc = 0;
out:
    for (int i = 0; i < st.n; i++)
        gw_worker_dispose(&workers[i]); /* joins: waits for each worker's drain */
    for (int i = 0; i < 3; i++)
        if (sigs[i]) event_free(sigs[i]);
    gw_tls_free(shared.tls);
    if (base) event_base_free(base);
    free(workers);
    gw_auth_free(shared.auth);
    gw_audit_close();
    gw_cache_shared_free(shared.cache);
    gw_metrics_shared_free(shared.metrics);
    gw_shared_dispose(&shared);
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
    gw_config_t *cfg = load_config(&args);
    free(args.sets);
    if (!cfg) return 1;
    if (args.check_only) {
        if (args.verbose) gw_config_dump(cfg, stdout);
        fprintf(stderr, "qdrant-gateway: configuration %s is valid\n",
                args.config_path ? args.config_path : "(built-in defaults)");
        gw_config_free(cfg);
        return 0;
    }
    gw_log_level_t level = GW_LOG_INFO;
    gw_log_parse_level(cfg->log_level, &level);
    gw_log_set_level(level);
    signal(SIGPIPE, SIG_IGN); /* writes to closed sockets return EPIPE instead */
    json_object_seed(0);      /* before threads: jansson's one piece of global state */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || evthread_use_pthreads() != 0) {
        fprintf(stderr, "qdrant-gateway: cannot initialise libcurl/libevent\n");
        gw_config_free(cfg);
        return 1;
    }
    int rc = run(cfg);
    curl_global_cleanup();
    libevent_global_shutdown();
    gw_config_free(cfg);
    return rc;
}
