/* Worker threads: each owns an event loop, a SO_REUSEPORT listener, an upstream pool and a
 * health prober; it accepts, dispatches and drains its own connections. */
#include "gateway/worker.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/handler/models_api.h"
#include "gateway/cache/cache.h"
#include "gateway/conn/sniff.h"
#include "gateway/handler/health.h"
#include "gateway/handler/metrics.h"
#include "gateway/handler/models_memo.h"
#include "gateway/upstream/proxy.h"
#include "gateway/core/timer.h"

static void worker_accept(gw_worker_t *w, evutil_socket_t fd, struct sockaddr *sa, int salen,
                          gw_tls_t *tls)
{
    if (w->draining) {
        evutil_closesocket(fd);
        return;
    }
    int open = atomic_load(&w->shared->connections);
    if (open >= 2 * w->cfg->max_connections) {
        evutil_closesocket(fd); /* a flood: not even a 503 */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Over the limit: a connection that only answers 503 and closes (briefly lingering so the
     * answer is not lost to a reset); the open connections are not touched. */
    int refuse = open >= w->cfg->max_connections;
    if (gw_conn_accept(w, fd, sa, salen, refuse, tls) != 0)
        gw_log_warn("cannot set up a connection: out of memory");
}

static void worker_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
    worker_accept(arg, fd, sa, salen, NULL);
}

static void worker_on_accept_tls(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                                 int salen, void *arg)
{
    gw_worker_t *w = arg;
    worker_accept(w, fd, sa, salen, w->shared->tls);
}

static void worker_on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    gw_log_warn("accept failed: %s", evutil_socket_error_to_string(err));
    /* EMFILE/ENFILE: libevent keeps retrying; the error is logged, serving goes on. */
}

static void worker_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    gw_worker_t *w = arg;
    gw_log_warn("shutdown timeout: closing %zu connection(s) with requests in flight", w->nconns);
    event_base_loopexit(w->base, NULL);
}

static void worker_on_stop(evutil_socket_t fd, short what, void *arg);

/* Another thread called gw_worker_wake: the eventfd counter is reset, then each reason runs. */
static void worker_on_wake(evutil_socket_t fd, short what, void *arg)
{
    gw_worker_t *w = arg;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN) return;
    unsigned why = atomic_exchange(&w->wake_bits, 0);
    if ((why & GW_WAKE_CACHE_MAIL) && w->cache) gw_cache_mail_arrived(w->cache);
    if (why & GW_WAKE_STOP) event_active(w->stop_ev, EV_READ, 0);
}

static void worker_on_stop(evutil_socket_t fd, short what, void *arg)
{
    gw_worker_t *w = arg;
    if (w->draining) return;
    w->draining = 1;
    if (w->listener) {
        evconnlistener_free(w->listener);
        w->listener = NULL;
    }
    if (w->tls_listener) {
        evconnlistener_free(w->tls_listener);
        w->tls_listener = NULL;
    }
    gw_conn_link_t *c = w->conns.next;
    while (c != &w->conns) {
        gw_conn_link_t *next = c->next;
        c->drain(c);
        c = next;
    }
    if (w->nconns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    uint64_t ms = w->cfg->shutdown_timeout_ms;
    gw_timer_add_ms(w->deadline_ev, ms);
}

/* One SO_REUSEPORT listener per worker on addr; key names the config key in errors. */
static struct evconnlistener *worker_listen(gw_worker_t *w, const gw_listen_addr_t *addr,
                                            const char *key, evconnlistener_cb cb, char *err,
                                            size_t errlen)
{
    const char *host = addr->host;
    if (strcmp(host, "*") == 0) host = "0.0.0.0";
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s %s: %s", key, host, gai_strerror(rc));
        return NULL;
    }
    unsigned flags =
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
    struct evconnlistener *l = evconnlistener_new_bind(w->base, cb, w, flags, w->cfg->backlog,
                                                       res->ai_addr, (int)res->ai_addrlen);
    int saved = errno;
    freeaddrinfo(res);
    if (!l) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", addr->host, (unsigned)addr->port,
                 strerror(saved));
        return NULL;
    }
    evconnlistener_set_error_cb(l, worker_on_accept_error);
    return l;
}

static int worker_bind(gw_worker_t *w, char *err, size_t errlen)
{
    w->listener = worker_listen(w, &w->cfg->listen, "server.listen", worker_on_accept, err, errlen);
    if (!w->listener) return -1;
    if (!w->shared->tls) return 0;
    gw_listen_addr_t addr;
    if (gw_config_tls_addr(w->cfg, &addr, err, errlen) != 0) return -1;
    w->tls_listener = worker_listen(w, &addr, "tls.listen", worker_on_accept_tls, err, errlen);
    free(addr.host);
    return w->tls_listener ? 0 : -1;
}

void gw_shared_resolve_upstream(gw_shared_t *sh)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, sh->cfg->upstream_url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto done;
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when written in the URL */
    snprintf(sh->upstream_authority, sizeof(sh->upstream_authority), "%s%s%s", host,
             port ? ":" : "", port ? port : "");
    /* "[::1]" is a literal too: getaddrinfo wants it without the brackets */
    char bare[300];
    size_t hl = strlen(host);
    int bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    snprintf(bare, sizeof(bare), "%.*s", (int)(bracketed ? hl - 2 : hl), host + bracketed);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    hints.ai_flags |= AI_NUMERICHOST;
    int literal = getaddrinfo(bare, dport, &hints, &res) == 0;
    if (!literal) {
        hints.ai_flags &= ~AI_NUMERICHOST;
        int rc = getaddrinfo(bare, dport, &hints, &res);
        if (rc != 0) {
            gw_log_warn("cannot resolve upstream host %s (%s); will retry per connection", host,
                        gai_strerror(rc));
            goto done;
        }
    }
    if (strcmp(scheme, "http") == 0 && res->ai_addrlen <= sizeof(sh->upstream_addr)) {
        memcpy(&sh->upstream_addr, res->ai_addr, res->ai_addrlen);
        sh->upstream_addrlen = (socklen_t)res->ai_addrlen;
    }
    if (!literal) {
        char addr[INET6_ADDRSTRLEN] = "";
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr,
                      sizeof(addr));
        snprintf(sh->upstream_resolve, sizeof(sh->upstream_resolve),
                 strchr(addr, ':') ? "%s:%s:[%s]" : "%s:%s:%s", host, dport, addr);
        gw_log_info("upstream %s resolved to %s", host, addr);
    }
    freeaddrinfo(res);
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(dport);
    curl_url_cleanup(u);
}

int gw_worker_init(gw_worker_t *w, gw_shared_t *shared, int id, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->shared = shared;
    w->cfg = shared->cfg;
    w->conns.next = w->conns.prev = &w->conns;
    w->wake_fd = -1;
    w->stats = calloc(1, sizeof(*w->stats));
    /* One thread per loop: no locks in the base (every event_add/del took a mutex before).
     * Other threads reach the worker only through gw_worker_wake. */
    struct event_config *ec = event_config_new();
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK) == 0)
        w->base = event_base_new_with_config(ec);
    if (ec) event_config_free(ec);
    if (!w->base) {
        snprintf(err, errlen, "cannot create an event loop");
        goto fail;
    }
    w->stop_ev = event_new(w->base, -1, 0, worker_on_stop, w);
    w->deadline_ev = evtimer_new(w->base, worker_on_deadline, w);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake_ev = w->wake_fd >= 0
                     ? event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, worker_on_wake, w)
                     : NULL;
    if (!w->stop_ev || !w->deadline_ev || !w->stats || !w->wake_ev ||
        event_add(w->wake_ev, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (worker_bind(w, err, errlen) != 0) goto fail;
    w->proxy = gw_proxy_new(w, err, errlen);
    if (!w->proxy) goto fail;
    w->health = gw_health_new(w);
    if (!w->health) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (shared->cache && !(w->cache = gw_cache_new(w, shared->cache, err, errlen))) goto fail;
    return 0;
fail:
    gw_worker_dispose(w);
    return -1;
}

static void *worker_main(void *arg)
{
    gw_worker_t *w = arg;
    char name[32];
    snprintf(name, sizeof(name), "worker %d", w->id);
    gw_log_set_thread_name(name);
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int gw_worker_start(gw_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) return -1;
    w->thread_started = 1;
    return 0;
}

void gw_worker_wake(gw_worker_t *w, unsigned why)
{
    atomic_fetch_or(&w->wake_bits, why);
    uint64_t one = 1;
    if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        gw_log_warn("cannot wake worker %d: %s", w->id, strerror(errno));
}

void gw_worker_stop(gw_worker_t *w)
{
    gw_worker_wake(w, GW_WAKE_STOP);
}

void gw_worker_dispose(gw_worker_t *w)
{
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
        w->thread_started = 0;
    }
    /* Order matters: connections abort their upstream transfers, then the pool goes (libcurl
     * may still call the socket callback, so the base is freed last). */
    while (w->conns.next && w->conns.next != &w->conns)
        w->conns.next->destroy(w->conns.next);
    gw_health_free(w->health);
    gw_proxy_free(w->proxy); /* ends the cache's taps on transfers still running */
    gw_cache_free(w->cache);
    gw_models_memo_free(w->models_memo);
    if (w->listener) evconnlistener_free(w->listener);
    if (w->tls_listener) evconnlistener_free(w->tls_listener);
    if (w->stop_ev) event_free(w->stop_ev);
    if (w->wake_ev) event_free(w->wake_ev);
    if (w->wake_fd >= 0) close(w->wake_fd);
    if (w->deadline_ev) event_free(w->deadline_ev);
    if (w->base) event_base_free(w->base);
    free(w->stats);
    memset(w, 0, sizeof(*w));
}

void gw_worker_conn_add(gw_worker_t *w, gw_conn_link_t *c)
{
    c->next = w->conns.next;
    c->prev = &w->conns;
    w->conns.next->prev = c;
    w->conns.next = c;
    w->nconns++;
    if (w->stats) gw_stat_inc(&w->stats->conns[c->proto]);
}

void gw_worker_conn_remove(gw_worker_t *w, gw_conn_link_t *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = c;
    w->nconns--;
    if (w->stats) gw_stat_dec(&w->stats->conns[c->proto]);
    if (w->draining && w->nconns == 0) event_base_loopexit(w->base, NULL);
}

static int path_is(const gw_req_t *r, const char *p)
{
    size_t n = strlen(p);
    size_t len = r->path_len;
    while (len > 1 && r->path[len - 1] == '/')
        len--; /* trailing slashes are trimmed, as Qdrant does */
    return len == n && memcmp(r->path, p, n) == 0;
}

void gw_worker_dispatch(gw_worker_t *w, gw_req_t *r)
{
    if (w->shared->metrics && r->route.op && strcmp(r->route.op, "metrics") == 0) {
        gw_metrics_handle(w, r); /* ours replaces Qdrant's: it re-exports every node's */
        return;
    }
    if (r->route.cls != GW_ROUTE_GATEWAY_API) {
        if (w->cache)
            gw_cache_dispatch(w->cache, r);
        else
            gw_proxy_forward(w->proxy, r);
        return;
    }
    if (gw_api_handle(w, r))
        return; /* model API: /api/v1/models..., /api/v1/collections (gateway/api.c) */
    if (path_is(r, "/api/v1/cache/purge")) {
        if (w->cache) {
            gw_cache_purge_handle(w->cache, r);
            return;
        }
        gw_req_respond_error(r, 404, "Not found: the cache is disabled (cache.enabled: false)");
        gw_req_release(r, GW_REQ_HANDLER);
        return;
    }
    if (path_is(r, "/api/v1/health")) {
        if (strcmp(r->method, "GET") == 0 || r->is_head) {
            gw_health_handle(w->health, r);
            return;
        }
        gw_req_respond_error(r, 405, "Method not allowed: %s %.*s (use GET)", r->method,
                             (int)r->path_len, r->path);
    } else {
        gw_req_respond_error(r, 404, "Not found: no gateway API route %s %.*s", r->method,
                             (int)r->path_len, r->path);
    }
    gw_req_release(r, GW_REQ_HANDLER);
}
