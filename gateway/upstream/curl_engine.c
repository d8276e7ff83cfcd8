/* The libcurl engine of the upstream pool: a curl multi handle on the worker's libevent loop
 * (the hiperfifo pattern), one easy handle per transfer object, bodies streamed with
 * pause/resume. It carries internal fetches (health probes, alias lists, other nodes' metrics)
 * and proxied requests when the upstream is https://. */
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/upstream/internal.h"

#define PX_FETCH_MAX_BODY (4u << 20)

/* One socket libcurl asked us to watch. */
typedef struct px_sock {
    struct event *ev;
    gw_proxy_t *px;
} px_sock_t;

/* ---- libcurl <-> libevent glue ------------------------------------------------------------ */

static void px_check_done(gw_proxy_t *px);

static void px_on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    px_sock_t *s = arg;
    gw_proxy_t *px = s->px; /* s may be freed inside socket_action (CURL_POLL_REMOVE) */
    int mask =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(px->multi, fd, mask, &running);
    px_check_done(px);
}

static void px_on_timer(evutil_socket_t fd, short what, void *arg)
{
    gw_proxy_t *px = arg;
    int running;
    curl_multi_socket_action(px->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    px_check_done(px);
}

static int px_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    gw_proxy_t *px = userp;
    px_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(px->multi, fd, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s) return -1;
        s->px = px;
        curl_multi_assign(px->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(px->loop->base, fd, kind, px_on_socket_event, s);
    if (!s->ev) return -1;
    event_add(s->ev, NULL);
    return 0;
}

static int px_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    gw_proxy_t *px = userp;
    if (timeout_ms < 0) {
        evtimer_del(px->timer);
        return 0;
    }
    /* Even 0 goes through the loop: calling libcurl from here would recurse. */
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(px->timer, &tv);
    return 0;
}

/* Sockets to Qdrant, opened and closed through us so that the pool's size can be counted. */
static curl_socket_t px_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    gw_proxy_t *px = ud;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd != CURL_SOCKET_BAD && px->loop->stats) gw_stat_inc(&px->loop->stats->upstream_opened);
    return fd;
}

static int px_close_socket(void *ud, curl_socket_t fd)
{
    gw_proxy_t *px = ud;
    if (px->loop->stats) gw_stat_inc(&px->loop->stats->upstream_closed);
    return close(fd);
}

/* Options shared by proxied requests and internal fetches. */
static void px_common_opts(px_xfer_t *x, const char *target, size_t target_len)
{
    gw_proxy_t *px = x->px;
    const gw_config_t *cfg = px->loop->cfg;
    char url[8192];
    /* An absolute URL (internal fetches of other Qdrant nodes) is used as it is. */
    int absolute = target_len > 7 &&
                   (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0);
    int n = snprintf(url, sizeof(url), "%s%.*s", absolute ? "" : x->peer->base_url, (int)target_len,
                     target);
    if (n < 0 || (size_t)n >= sizeof(url))
        url[sizeof(url) - 1] = '\0'; /* over-long targets fail upstream, visibly */
    CURL *e = x->easy;
    x->elsewhere = (unsigned)absolute;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->upstream_connect_timeout_ms);
    long maxage = (long)(cfg->upstream_idle_timeout_ms / 1000);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, maxage > 0 ? maxage : 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, px_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, px);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, px_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, px);
    /* Other nodes' names (absolute URLs) are libcurl's to resolve, in its resolver thread:
     * kept no longer than the resolver keeps upstream.url's. */
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, (long)((cfg->dns_max_ttl_ms + 999) / 1000));
}

/* Starts x with the upstream's current addresses (CURLOPT_RESOLVE, this transfer's own list):
 * libcurl never resolves upstream.url's host itself (other hosts, in absolute URLs, it resolves
 * in its resolver thread). 0 / -1. */
static int pxc_add(px_xfer_t *x)
{
    char entry[1024];
    gw_proxy_t *px = x->px;
    curl_slist_free_all(x->resolve);
    x->resolve = NULL;
    /* Absolute URLs get every peer's entry: the default metrics.qdrant_urls (the peers) fetches
     * them as absolute URLs. An entry only names its peer's host:port. */
    for (int i = 0; i < px->npeers; i++) {
        px_peer_t *p = &px->peer[i];
        if ((!x->elsewhere && p != x->peer) ||
            gw_dns_name_curl_entry(p->name, entry, sizeof(entry)) != 0)
            continue;
        struct curl_slist *l = curl_slist_append(x->resolve, entry);
        if (!l) return -1;
        x->resolve = l;
    }
    if (x->resolve) curl_easy_setopt(x->easy, CURLOPT_RESOLVE, x->resolve);
    return curl_multi_add_handle(x->px->multi, x->easy) == CURLM_OK ? 0 : -1;
}

/* The easy handle of a transfer object, made on first use and reset on reuse. */
static CURL *px_easy(px_xfer_t *x)
{
    if (x->easy)
        curl_easy_reset(x->easy);
    else
        x->easy = curl_easy_init();
    return x->easy;
}

static void pxc_destroy_xfer(px_xfer_t *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    x->easy = NULL;
    curl_slist_free_all(x->resolve);
    x->resolve = NULL;
}

/* ---- response head and body -------------------------------------------------------------- */

static size_t px_on_header(char *line, size_t size, size_t nitems, void *ud)
{
    px_xfer_t *x = ud;
    size_t len = size * nitems;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after 1xx or a retry): start over. */
        evbuffer_drain(x->resp_hdrs, evbuffer_get_length(x->resp_hdrs));
        const char *sp = memchr(line, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        if (x->status >= 200 && x->req && x->req->codec && !x->head_forwarded) px_forward_head(x);
        return len;
    }
    if (evbuffer_get_length(x->resp_hdrs) + len > (256u << 10))
        return 0; /* absurd header section from upstream: fail the transfer */
    evbuffer_add(x->resp_hdrs, line, len);
    return len;
}

static size_t px_on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    px_xfer_t *x = ud;
    size_t len = size * nmemb;
    if (x->fetch_body) {
        if (evbuffer_get_length(x->fetch_body) + len > PX_FETCH_MAX_BODY) return 0;
        evbuffer_add(x->fetch_body, data, len);
        return len;
    }
    gw_req_t *r = x->req;
    if (!r || !r->codec) return 0; /* nobody to deliver to: abort the transfer */
    if (!x->head_forwarded) px_forward_head(x);
    if (!x->swallowed && r->codec->out_pending(r) >= GW_REQ_HIGH_WATER) {
        x->recv_paused = 1; /* resumed from on_drain when the client has read enough */
        return CURL_WRITEFUNC_PAUSE;
    }
    px_relay_body(x, data, len);
    return len;
}

/* ---- request body ------------------------------------------------------------------------ */

static size_t px_on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    px_xfer_t *x = ud;
    gw_req_t *r = x->req;
    if (!r) return CURL_READFUNC_ABORT;
    size_t want = size * nitems;
    int n = evbuffer_remove(r->body, buf, want);
    if (n > 0) {
        if (r->codec && evbuffer_get_length(r->body) < GW_REQ_LOW_WATER) r->codec->want_body(r, 1);
        return (size_t)n;
    }
    if (r->body_done) return 0;
    x->send_paused = 1; /* resumed from on_body when the client sends more */
    return CURL_READFUNC_PAUSE;
}

static void px_unpause(px_xfer_t *x)
{
    int mask = (x->recv_paused ? CURLPAUSE_RECV : 0) | (x->send_paused ? CURLPAUSE_SEND : 0);
    curl_easy_pause(x->easy, mask);
}

static void pxc_on_body(px_xfer_t *x)
{
    if (x->send_paused) {
        x->send_paused = 0;
        px_unpause(x);
    }
}

static void pxc_on_drain(px_xfer_t *x)
{
    if (x->recv_paused) {
        x->recv_paused = 0;
        px_unpause(x);
    }
}

static void pxc_abort(px_xfer_t *x)
{
    curl_multi_remove_handle(x->px->multi, x->easy);
}

/* ---- completion -------------------------------------------------------------------------- */

static px_outcome_t px_outcome(px_xfer_t *x, CURLcode res)
{
    px_outcome_t o = {GW_PROXY_OK, -1, NULL};
    if (res == CURLE_OK) return o;
    o.detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        o.end = GW_PROXY_TIMEOUT, o.uperr = GW_UPERR_TIMEOUT;
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        o.end = GW_PROXY_UNREACHABLE, o.uperr = GW_UPERR_REFUSED;
        if (!x->elsewhere) px_addr_failed(x->peer); /* maybe it moved: ask DNS again */
        break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        o.end = GW_PROXY_FAILED, o.uperr = GW_UPERR_RESET;
        break;
    default:
        o.end = GW_PROXY_FAILED, o.uperr = GW_UPERR_OTHER;
    }
    return o;
}

static void px_fetch_done(px_xfer_t *x, CURLcode res)
{
    double secs = (double)(gw_mono_us() - x->start_us) / 1e6;
    size_t len = evbuffer_get_length(x->fetch_body);
    const char *body = len ? (const char *)evbuffer_pullup(x->fetch_body, -1) : "";
    const char *err = res == CURLE_OK ? NULL : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
    gw_fetch_cb cb = x->cb;
    void *arg = x->cb_arg;
    long status = x->status;
    /* The callback may start another fetch: hand it our copy, recycle afterwards. */
    cb(arg, res == CURLE_OK, status, body, len, secs, err);
    px_xfer_put(x);
}

/* An internal fetch whose peer refused the connection (nothing was sent) goes once to another
 * peer that takes traffic; not a probe (pinned to its peer) nor an absolute URL. 1 when it did. */
static int px_fetch_move(px_xfer_t *x, CURLcode res)
{
    gw_proxy_t *px = x->px;
    if (res != CURLE_COULDNT_CONNECT || x->elsewhere || x->pinned || x->moved || px->npeers < 2)
        return 0;
    char *eff = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
    size_t bl = strlen(x->peer->base_url);
    if (!eff || strncmp(eff, x->peer->base_url, bl) != 0) return 0;
    int i = gw_bal_pick(&px->bal, gw_mono_us(), 1u << x->peer->idx);
    if (i < 0) return 0;
    char url[8192];
    int n = snprintf(url, sizeof(url), "%s%s", px->peer[i].base_url, eff + bl);
    if (n < 0 || (size_t)n >= sizeof(url)) return 0;
    gw_log_debug("internal fetch %s: %s; trying %s", eff, x->errbuf, px->peer[i].base_url);
    x->moved = 1;
    x->peer = &px->peer[i];
    x->status = 0;
    x->errbuf[0] = '\0';
    evbuffer_drain(x->resp_hdrs, evbuffer_get_length(x->resp_hdrs));
    evbuffer_drain(x->fetch_body, evbuffer_get_length(x->fetch_body));
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    return pxc_add(x) == 0;
}

static void px_check_done(gw_proxy_t *px)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(px->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        px_xfer_t *x = NULL;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(px->multi, e);
        if (x->cb && px_fetch_move(x, res)) continue;
        if (x->cb)
            px_fetch_done(x, res);
        else
            px_complete(x, px_outcome(x, res));
    }
}

/* ---- starting transfers ------------------------------------------------------------------ */

static int px_add_header(void *ctx, const char *name, size_t nl, const char *v, size_t vl)
{
    px_xfer_t *x = ctx;
    char line[8192 + 256];
    int n;
    if (vl == 0) /* "Name;" is libcurl's way to send an empty header ("Name:" removes it) */
        n = snprintf(line, sizeof(line), "%.*s;", (int)nl, name);
    else
        n = snprintf(line, sizeof(line), "%.*s: %.*s", (int)nl, name, (int)vl, v);
    if (n < 0 || (size_t)n >= sizeof(line)) return -1;
    struct curl_slist *l = curl_slist_append(x->hdrs, line);
    if (!l) return -1;
    x->hdrs = l;
    return 0;
}

static int px_build_headers(px_xfer_t *x, const gw_req_t *r)
{
    int has_accept, has_ctype;
    if (px_each_header(x->px, r, px_add_header, x, &has_accept, &has_ctype) != 0) return -1;
    /* libcurl would otherwise add headers the client never sent. */
    struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");
    if (l && !has_accept) l = curl_slist_append(l, "Accept:");
    if (l && !has_ctype) l = curl_slist_append(l, "Content-Type:");
    if (!l) return -1;
    x->hdrs = l;
    return 0;
}

static void px_set_method(px_xfer_t *x, const gw_req_t *r)
{
    CURL *e = x->easy;
    int framed = r->has_body || r->content_length == 0; /* the client sent a body (maybe empty) */
    curl_off_t size = r->content_length >= 0 ? (curl_off_t)r->content_length : -1;
    if (r->is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    if (!framed) {
        if (strcmp(r->method, "GET") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        return;
    }
    curl_easy_setopt(e, CURLOPT_READFUNCTION, px_on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, x);
    if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, size); /* -1: chunked upstream */
    } else {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, size);
        if (strcmp(r->method, "PUT") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

static void pxc_forward(px_xfer_t *x, gw_req_t *r)
{
    const gw_config_t *cfg = x->px->loop->cfg;
    CURL *e = px_easy(x);
    if (!e) {
        px_start_failed(x, r, "out of memory");
        return;
    }
    px_common_opts(x, r->target, r->target_len);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, px_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, px_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (r->route.flags & GW_ROUTE_F_STREAM) {
        /* Snapshots can take minutes: bound idleness, not the whole transfer. */
        long secs = (long)(cfg->upstream_timeout_ms / 1000);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->upstream_timeout_ms);
    }
    x->send_paused = x->recv_paused = 0;
    px_set_method(x, r);
    if (px_build_headers(x, r) != 0) {
        px_start_failed(x, r, "cannot build upstream request");
        return;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (pxc_add(x) != 0) px_start_failed(x, r, "cannot start upstream request");
}

/* A fetch that waited for the upstream's first address. */
static void pxc_fetch_resume(px_xfer_t *x, const char *err)
{
    if (!err && pxc_add(x) == 0) return;
    if (err && err != x->errbuf) snprintf(x->errbuf, sizeof(x->errbuf), "%s", err);
    px_fetch_done(x, err ? CURLE_COULDNT_RESOLVE_HOST : CURLE_OUT_OF_MEMORY);
}

int pxc_fetch(px_xfer_t *x, const gw_fetch_req_t *q)
{
    const gw_config_t *cfg = x->px->loop->cfg;
    CURL *e = px_easy(x);
    x->fetch_body = evbuffer_new();
    if (!e || !x->fetch_body) return -1;
    px_common_opts(x, q->path, strlen(q->path));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, px_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, px_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
    if (q->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, q->body);
        if (px_add_header(x, "content-type", 12, "application/json", 16) != 0) return -1;
    }
    if (q->method) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    int own_credentials = 0;
    for (size_t i = 0; i < q->nhdrs; i++) {
        const gw_hdr_t *h = &q->hdrs[i];
        own_credentials |= gw_header_name_eq(h->name, h->name_len, "api-key") ||
                           gw_header_name_eq(h->name, h->name_len, "authorization");
        if (px_add_header(x, h->name, h->name_len, h->value, h->value_len) != 0) return -1;
    }
    if (!own_credentials && cfg->upstream_api_key && cfg->upstream_api_key[0] &&
        px_add_header(x, "api-key", 7, cfg->upstream_api_key, strlen(cfg->upstream_api_key)) != 0)
        return -1;
    struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:"); /* no 100-continue round */
    if (!l) return -1;
    x->hdrs = l;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (!x->elsewhere && px_addr_wait(x, pxc_fetch_resume)) return 0; /* resumed later */
    return pxc_add(x);
}

/* ---- engine lifetime --------------------------------------------------------------------- */

int pxc_init(gw_proxy_t *px, char *err, size_t errlen)
{
    const gw_config_t *cfg = px->loop->cfg;
    px->multi = curl_multi_init();
    px->timer = evtimer_new(px->loop->base, px_on_timer, px);
    if (!px->multi || !px->timer) goto oom;
    curl_multi_setopt(px->multi, CURLMOPT_SOCKETFUNCTION, px_socket_cb);
    curl_multi_setopt(px->multi, CURLMOPT_SOCKETDATA, px);
    curl_multi_setopt(px->multi, CURLMOPT_TIMERFUNCTION, px_timer_cb);
    curl_multi_setopt(px->multi, CURLMOPT_TIMERDATA, px);
    curl_multi_setopt(px->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)cfg->upstream_max_connections);
    curl_multi_setopt(px->multi, CURLMOPT_MAXCONNECTS,
                      (long)cfg->upstream_max_connections * (px->npeers > 0 ? px->npeers : 1));
    curl_multi_setopt(px->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    return 0;
oom:
    snprintf(err, errlen, "out of memory creating the upstream pool");
    return -1;
}

static void pxc_free(gw_proxy_t *px)
{
    if (px->multi) {
        curl_multi_cleanup(px->multi); /* may call px_socket_cb: the base still exists */
        px->multi = NULL;
    }
    if (px->timer) event_free(px->timer);
    px->timer = NULL;
}

const px_engine_t pxc_engine = {
    .name = "libcurl",
    .forward = pxc_forward,
    .on_body = pxc_on_body,
    .on_drain = pxc_on_drain,
    .abort = pxc_abort,
    .destroy_xfer = pxc_destroy_xfer,
    .free = pxc_free,
};
