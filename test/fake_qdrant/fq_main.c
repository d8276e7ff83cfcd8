/* fake_qdrant: a Qdrant 1.19 REST stand-in for the gateway's integration tests. This file parses
 * the command line, wires the HTTP server to the router and runs the event loop until SIGTERM. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "fq_app.h"
#include "fq_grpc.h"
#include "fq_metrics.h"
#include "fq_router.h"

static const char usage[] =
    "usage: fake_qdrant --listen HOST:PORT [options]\n"
    "  --latency-ms N          delay search-type reads (query, search, recommend, discover,\n"
    "                          scroll, count, facet, matrix) by N ms\n"
    "  --api-key KEY           require this read-write key (api-key or Authorization: Bearer)\n"
    "  --read-only-api-key KEY accept this key for reads only\n"
    "  --jwt-rbac true         also accept JWTs signed with --api-key, checked like Qdrant\n"
    "  --error-rate P          answer fraction P of requests with 500 \"injected fault\"\n"
    "  --reset-rate P          reset the connection for fraction P of requests\n"
    "  --slow-body-ms N        send response bodies in small pieces N ms apart\n"
    "  --snapshot-mb N         size of downloaded snapshots in MiB (default 64)\n"
    "  --keepalive-timeout S   close idle keep-alive connections after S seconds (default 5)\n"
    "  --seed N                seed of the fault dice (default 1)\n"
    "  --async-apply-ms N      answer point/payload/index writes sent without wait=true at\n"
    "                          once but apply them N ms later, in order (default 0: at once)\n"
    "  --distributed 0|1       1: a one-peer cluster (shard keys work), 0: standalone (default)\n"
    "  --grpc-listen HOST:PORT also serve Qdrant's gRPC API there (same store)\n"
    "  --help                  this text\n";

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < lo || d > hi) {
        fprintf(stderr, "fake_qdrant: invalid value for %s: %s\n", opt, v);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_listen(const char *v, fq_options_t *o)
{
    const char *colon = strrchr(v, ':');
    double port;
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof(o->host) ||
        parse_num("--listen", colon + 1, 0, 65535, &port) < 0) {
        fprintf(stderr, "fake_qdrant: --listen wants HOST:PORT, got %s\n", v);
        return -1;
    }
    memcpy(o->host, v, colon - v);
    o->host[colon - v] = '\0';
    if (strcmp(o->host, "localhost") == 0) strcpy(o->host, "127.0.0.1");
    o->port = (int)port;
    return 0;
}

/* Applies one "--name value" option; -1 on error. */
static int apply_option(fq_options_t *o, const char *name, const char *v)
{
    double d;
    if (strcmp(name, "--listen") == 0) return parse_listen(v, o);
    if (strcmp(name, "--grpc-listen") == 0) {
        o->grpc_listen = v;
        return 0;
    }
    if (strcmp(name, "--api-key") == 0) {
        o->api_key = *v ? v : NULL;
        return 0;
    }
    if (strcmp(name, "--jwt-rbac") == 0) {
        o->jwt_rbac = strcmp(v, "true") == 0;
        return 0;
    }
    if (strcmp(name, "--read-only-api-key") == 0) {
        o->ro_api_key = *v ? v : NULL;
        return 0;
    }
    static const struct {
        const char *name;
        double lo, hi;
    } nums[] = {{"--latency-ms", 0, 3600000},  {"--error-rate", 0, 1},
                {"--reset-rate", 0, 1},        {"--slow-body-ms", 0, 3600000},
                {"--snapshot-mb", 0, 1048576}, {"--keepalive-timeout", 1, 86400},
                {"--seed", 0, 1e18},           {"--async-apply-ms", 0, 3600000},
                {"--distributed", 0, 1}};
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
        if (strcmp(name, nums[k].name) != 0) continue;
        if (parse_num(name, v, nums[k].lo, nums[k].hi, &d) < 0) return -1;
        switch (k) {
        case 0:
            o->latency_ms = (int)d;
            break;
        case 1:
            o->error_rate = d;
            break;
        case 2:
            o->reset_rate = d;
            break;
        case 3:
            o->slow_body_ms = (int)d;
            break;
        case 4:
            o->snapshot_mb = (uint64_t)d;
            break;
        case 5:
            o->keepalive_timeout_s = (int)d;
            break;
        case 6:
            o->seed = (uint64_t)d;
            break;
        case 7:
            o->async_apply_ms = (int)d;
            break;
        default:
            o->distributed = d != 0;
            break;
        }
        return 0;
    }
    fprintf(stderr, "fake_qdrant: unknown option %s\n%s", name, usage);
    return -1;
}

static int parse_args(int argc, char **argv, fq_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->snapshot_mb = 64;
    o->keepalive_timeout_s = 5;
    o->seed = 1;
    o->port = -1;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        const char *name = argv[k], *eq = strchr(name, '=');
        char buf[64];
        const char *val;
        if (eq && (size_t)(eq - name) < sizeof(buf)) {
            memcpy(buf, name, eq - name);
            buf[eq - name] = '\0';
            name = buf;
            val = eq + 1;
        } else if (k + 1 < argc) {
            val = argv[++k];
        } else {
            fprintf(stderr, "fake_qdrant: %s needs a value\n", name);
            return -1;
        }
        if (apply_option(o, name, val) < 0) return -1;
    }
    if (o->port < 0) {
        fprintf(stderr, "fake_qdrant: --listen HOST:PORT is required\n%s", usage);
        return -1;
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void on_accept(void *arg)
{
    fq_app_t *app = arg;
    fq_metrics_conn_accepted(app->metrics);
}

static void on_close(void *arg)
{
    fq_app_t *app = arg;
    fq_metrics_conn_closed(app->metrics);
}

int main(int argc, char **argv)
{
    fq_app_t app;
    memset(&app, 0, sizeof(app));
    if (parse_args(argc, argv, &app.opt) < 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    app.base = event_base_new();
    app.store = fq_store_new();
    app.metrics = fq_metrics_new();
    app.rng = app.opt.seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    app.started = time(NULL);
    fq_http_options_t hopt = {.keepalive_timeout_s = app.opt.keepalive_timeout_s,
                              .slow_body_ms = app.opt.slow_body_ms,
                              .max_header_bytes = 64 * 1024};
    fq_http_handlers_t h = {fq_router_on_headers, fq_router_on_request, on_accept, on_close};
    app.http = fq_http_server_new(app.base, app.opt.host, app.opt.port, &hopt, &h, &app);
    int rc = 0;
    if (!app.http) {
        fprintf(stderr, "fake_qdrant: cannot listen on %s:%d: %s\n", app.opt.host, app.opt.port,
                strerror(errno));
        rc = 1;
    } else {
        struct event *sigterm = evsignal_new(app.base, SIGTERM, on_signal, app.base);
        struct event *sigint = evsignal_new(app.base, SIGINT, on_signal, app.base);
        event_add(sigterm, NULL);
        event_add(sigint, NULL);
        if (app.opt.grpc_listen && fq_grpc_start(&app) < 0) rc = 1;
        else event_base_dispatch(app.base);
        fq_grpc_server_free(app.grpc);
        event_free(sigterm);
        event_free(sigint);
        fq_http_server_free(app.http);
    }
    fq_metrics_free(app.metrics);
    fq_store_free(app.store);
    event_base_free(app.base);
    return rc;
}
