/* Upstream pool: libcurl multi on the worker's libevent loop (the hiperfifo pattern), one easy
 * handle per transfer recycled through a free list, bodies streamed with pause/resume. */
#include "gateway/proxy.h"

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
#include "gateway/headers.h"

#define PX_FETCH_MAX_BODY (4u << 20)

typedef struct px_xfer px_xfer_t;

struct gw_proxy {
    gw_worker_t *w;
    CURLM *multi;
    struct event *timer;
    struct curl_slist *resolve;
    char base_url[512];
    px_xfer_t *free_list;
    px_xfer_t *all; /* every transfer object, idle or not, for teardown */
};

typedef struct px_sock {
    struct event *ev;
    gw_proxy_t *px;
} px_sock_t;

struct px_xfer {
    gw_proxy_t *px;
    CURL *easy;
    px_xfer_t *next_free;
    px_xfer_t *next_all;
    int active;    /* added to the multi handle */
    gw_req_t *req; /* NULL for internal fetches, or once the client went away */
    struct curl_slist *hdrs;
    struct evbuffer *resp_hdrs; /* header lines of the final response, raw */
    long status;
    int head_forwarded;
    unsigned send_paused : 1, recv_paused : 1;
    unsigned swallowed : 1; /* the tap answered the client: upstream body is discarded */
    const gw_proxy_tap_t *tap;
    void *tap_ctx;
    uint64_t start_us;
    char errbuf[CURL_ERROR_SIZE];
    /* internal fetch */
    gw_fetch_cb cb;
    void *cb_arg;
    struct evbuffer *fetch_body;
};

static const gw_handler_ops_t px_handler;

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
    s->ev = event_new(px->w->base, fd, kind, px_on_socket_event, s);
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

/* ---- transfers --------------------------------------------------------------------------- */

static px_xfer_t *px_xfer_get(gw_proxy_t *px)
{
    px_xfer_t *x = px->free_list;
    if (x) {
        px->free_list = x->next_free;
        curl_easy_reset(x->easy);
    } else {
        x = calloc(1, sizeof(*x));
        if (!x) return NULL;
        x->easy = curl_easy_init();
        x->resp_hdrs = evbuffer_new();
        if (!x->easy || !x->resp_hdrs) {
            if (x->easy) curl_easy_cleanup(x->easy);
            if (x->resp_hdrs) evbuffer_free(x->resp_hdrs);
            free(x);
            return NULL;
        }
        x->next_all = px->all;
        px->all = x;
    }
    x->px = px;
    x->next_free = NULL;
    x->req = NULL;
    x->status = 0;
    x->head_forwarded = 0;
    x->send_paused = x->recv_paused = 0;
    x->swallowed = 0;
    x->tap = NULL;
    x->tap_ctx = NULL;
    x->errbuf[0] = '\0';
    x->cb = NULL;
    x->cb_arg = NULL;
    x->start_us = gw_mono_us();
    evbuffer_drain(x->resp_hdrs, evbuffer_get_length(x->resp_hdrs));
    return x;
}

static void px_xfer_put(px_xfer_t *x)
{
    if (x->active && x->px->w->stats) gw_stat_dec(&x->px->w->stats->upstream_active);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    if (x->fetch_body) {
        evbuffer_free(x->fetch_body);
        x->fetch_body = NULL;
    }
    x->req = NULL;
    x->active = 0;
    x->next_free = x->px->free_list;
    x->px->free_list = x;
}

static void px_xfer_destroy(px_xfer_t *x)
{
    curl_slist_free_all(x->hdrs);
    if (x->fetch_body) evbuffer_free(x->fetch_body);
    evbuffer_free(x->resp_hdrs);
    curl_easy_cleanup(x->easy);
    free(x);
}

/* Sockets to Qdrant, opened and closed through us so that the pool's size can be counted. */
static curl_socket_t px_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    gw_proxy_t *px = ud;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd != CURL_SOCKET_BAD && px->w->stats) gw_stat_inc(&px->w->stats->upstream_opened);
    return fd;
}

static int px_close_socket(void *ud, curl_socket_t fd)
{
    gw_proxy_t *px = ud;
    if (px->w->stats) gw_stat_inc(&px->w->stats->upstream_closed);
    return close(fd);
}

/* Options shared by proxied requests and internal fetches. */
static void px_common_opts(px_xfer_t *x, const char *target, size_t target_len)
{
    gw_proxy_t *px = x->px;
    const gw_config_t *cfg = px->w->cfg;
    char url[8192];
    /* An absolute URL (internal fetches of other Qdrant nodes) is used as it is. */
    int absolute = target_len > 7 &&
                   (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0);
    int n =
        snprintf(url, sizeof(url), "%s%.*s", absolute ? "" : px->base_url, (int)target_len, target);
    if (n < 0 || (size_t)n >= sizeof(url))
        url[sizeof(url) - 1] = '\0'; /* over-long targets fail upstream, visibly */
    CURL *e = x->easy;
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
    if (px->resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, px->resolve);
}

/* Ends the tap exactly once; returns what on_end returned (1: it answered the client). */
static int px_tap_end(px_xfer_t *x, gw_req_t *r, gw_proxy_end_t how)
{
    const gw_proxy_tap_t *t = x->tap;
    x->tap = NULL;
    return t && t->on_end ? t->on_end(x->tap_ctx, r, how) : 0;
}

/* ---- response head and body -------------------------------------------------------------- */

/* Parses the collected header lines, drops hop-by-hop ones, and sends the head to the client. */
static void px_forward_head(px_xfer_t *x)
{
    gw_req_t *r = x->req;
    x->head_forwarded = 1;
    size_t len = evbuffer_get_length(x->resp_hdrs);
    char *buf = (char *)evbuffer_pullup(x->resp_hdrs, -1);
    enum { MAX_HDRS = 128, TAP_ROOM = 4 };
    gw_hdr_t hdrs[MAX_HDRS + TAP_ROOM];
    size_t n = 0;
    int64_t clen = -1;
    const char *conn_val = NULL;
    size_t conn_len = 0;
    /* First pass: Connection names further hop-by-hop headers. */
    for (size_t pass = 0; pass < 2; pass++) {
        size_t off = 0;
        while (off < len) {
            char *eol = memchr(buf + off, '\n', len - off);
            size_t ll = eol ? (size_t)(eol - (buf + off)) : len - off;
            const char *line = buf + off;
            off += ll + 1;
            if (ll && line[ll - 1] == '\r') ll--;
            const char *colon = memchr(line, ':', ll);
            if (!colon || colon == line) continue;
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            size_t vl = ll - nl - 1;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (pass == 0) {
                if (gw_header_name_eq(line, nl, "connection")) conn_val = v, conn_len = vl;
                continue;
            }
            if (gw_header_name_eq(line, nl, "content-length")) {
                clen = strtoll(v, NULL, 10);
                continue;
            }
            if (gw_header_is_hop_by_hop(line, nl, conn_val, conn_len) || n == MAX_HDRS - 1)
                continue;
            hdrs[n++] = (gw_hdr_t){line, nl, v, vl};
        }
    }
    hdrs[n++] = (gw_hdr_t){"x-request-id", 12, r->id, strlen(r->id)};
    if (x->tap && x->tap->on_head &&
        x->tap->on_head(x->tap_ctx, r, (int)x->status, hdrs, &n, TAP_ROOM, clen)) {
        x->swallowed = 1;
        return;
    }
    r->codec->send_head(r, (int)x->status, hdrs, n, clen);
}

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
    if (x->swallowed) return len;
    if (r->codec->out_pending(r) >= GW_REQ_HIGH_WATER) {
        x->recv_paused = 1; /* resumed from on_drain when the client has read enough */
        return CURL_WRITEFUNC_PAUSE;
    }
    r->codec->send_body(r, data, len);
    if (x->tap && x->tap->on_body) x->tap->on_body(x->tap_ctx, data, len);
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

static void px_on_body(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx;
    if (x && x->send_paused) {
        x->send_paused = 0;
        px_unpause(x);
    }
}

static void px_on_drain(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx;
    if (x && x->recv_paused) {
        x->recv_paused = 0;
        px_unpause(x);
    }
}

static void px_on_abort(gw_req_t *r)
{
    px_xfer_t *x = r->handler_ctx;
    r->handler_ctx = NULL;
    if (x) {
        curl_multi_remove_handle(x->px->multi, x->easy);
        px_tap_end(x, NULL, GW_PROXY_ABORTED);
        px_xfer_put(x);
    }
    gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t px_handler = {
    .on_body = px_on_body,
    .on_drain = px_on_drain,
    .on_abort = px_on_abort,
};

/* ---- completion -------------------------------------------------------------------------- */

static gw_proxy_end_t px_end_kind(CURLcode res)
{
    switch (res) {
    case CURLE_OK:
        return GW_PROXY_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return GW_PROXY_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return GW_PROXY_UNREACHABLE;
    default:
        return GW_PROXY_FAILED;
    }
}

static void px_fail_request(px_xfer_t *x, CURLcode res)
{
    gw_req_t *r = x->req;
    const gw_config_t *cfg = x->px->w->cfg;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
    if (x->swallowed) {
        px_tap_end(x, r, px_end_kind(res)); /* the tap answered; the failure is only news */
        return;
    }
    if (r->head_sent) {
        gw_log_warn("upstream failed mid-response for %s %.*s (id %s): %s", r->method,
                    (int)r->target_len, r->target, r->id, detail);
        r->codec->finish(r, 0);
        px_tap_end(x, r, px_end_kind(res));
        return;
    }
    if (px_tap_end(x, r, px_end_kind(res))) return; /* answered by the tap (a stale copy) */
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        gw_req_respond_error(r, 504, "Gateway timeout: upstream did not answer in time (%s)",
                             detail);
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        gw_req_respond_error(r, 502, "Bad gateway: upstream %s is unreachable (%s)",
                             cfg->upstream_url, detail);
        break;
    default:
        gw_req_respond_error(r, 502, "Bad gateway: upstream connection failed (%s)", detail);
        break;
    }
}

/* Upstream latency and failures by kind, for proxied requests whose client is still there. */
static void px_count(px_xfer_t *x, CURLcode res)
{
    gw_wstats_t *st = x->px->w->stats;
    if (!st || !x->req || !x->req->codec) return;
    gw_hist_observe(&st->upstream_duration, gw_mono_us() - x->start_us);
    switch (res) {
    case CURLE_OK:
        return;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        gw_stat_inc(&st->upstream_errors[GW_UPERR_REFUSED]);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        gw_stat_inc(&st->upstream_errors[GW_UPERR_TIMEOUT]);
        return;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        gw_stat_inc(&st->upstream_errors[GW_UPERR_RESET]);
        return;
    default:
        gw_stat_inc(&st->upstream_errors[GW_UPERR_OTHER]);
    }
}

static void px_complete(px_xfer_t *x, CURLcode res)
{
    if (!x->cb) px_count(x, res);
    if (x->cb) {
        double secs = (double)(gw_mono_us() - x->start_us) / 1e6;
        size_t len = evbuffer_get_length(x->fetch_body);
        const char *body = len ? (const char *)evbuffer_pullup(x->fetch_body, -1) : "";
        const char *err =
            res == CURLE_OK ? NULL : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
        gw_fetch_cb cb = x->cb;
        void *arg = x->cb_arg;
        long status = x->status;
        /* The callback may start another fetch: hand it our copy, recycle afterwards. */
        cb(arg, res == CURLE_OK, status, body, len, secs, err);
        px_xfer_put(x);
        return;
    }
    gw_req_t *r = x->req;
    if (r) {
        r->handler_ctx = NULL;
        if (!r->codec) {
            px_tap_end(x, NULL, GW_PROXY_ABORTED); /* client gone; nothing to answer */
        } else if (res == CURLE_OK) {
            if (!x->head_forwarded) px_forward_head(x);
            if (!x->swallowed) r->codec->finish(r, 1);
            px_tap_end(x, r, GW_PROXY_OK);
        } else {
            px_fail_request(x, res);
        }
        gw_req_release(r, GW_REQ_HANDLER);
    }
    px_xfer_put(x);
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
        px_complete(x, res);
    }
}

/* ---- starting transfers ------------------------------------------------------------------ */

static int px_add_header(px_xfer_t *x, const char *name, size_t nl, const char *v, size_t vl)
{
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

/* Client headers minus hop-by-hop and the ones we set ourselves, plus X-Forwarded-For,
 * X-Request-Id and the configured api-key when the client sent no credentials. */
static int px_build_headers(px_xfer_t *x, const gw_req_t *r)
{
    const gw_config_t *cfg = x->px->w->cfg;
    size_t cl = 0, xffl = 0;
    const char *conn = gw_req_header(r, "connection", &cl);
    const char *xff = gw_req_header(r, "x-forwarded-for", &xffl);
    int has_cred = 0, has_accept = 0, has_ctype = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const gw_hdr_t *h = &r->hdrs[i];
        if (gw_header_is_hop_by_hop(h->name, h->name_len, conn, cl) ||
            gw_header_name_eq(h->name, h->name_len, "host") ||
            gw_header_name_eq(h->name, h->name_len, "content-length") ||
            gw_header_name_eq(h->name, h->name_len, "expect") ||
            gw_header_name_eq(h->name, h->name_len, "x-forwarded-for") ||
            gw_header_name_eq(h->name, h->name_len, "x-request-id"))
            continue;
        if (gw_header_name_eq(h->name, h->name_len, "api-key") ||
            gw_header_name_eq(h->name, h->name_len, "authorization"))
            has_cred = 1;
        has_accept |= gw_header_name_eq(h->name, h->name_len, "accept");
        has_ctype |= gw_header_name_eq(h->name, h->name_len, "content-type");
        if (px_add_header(x, h->name, h->name_len, h->value, h->value_len) != 0) return -1;
    }
    char buf[1024];
    int n = xff ? snprintf(buf, sizeof(buf), "%.*s, %s", (int)xffl, xff, r->peer)
                : snprintf(buf, sizeof(buf), "%s", r->peer);
    if (n > 0 && (size_t)n < sizeof(buf) && r->peer[0] &&
        px_add_header(x, "X-Forwarded-For", 15, buf, (size_t)n) != 0)
        return -1;
    if (px_add_header(x, "X-Request-Id", 12, r->id, strlen(r->id)) != 0) return -1;
    if (!has_cred && cfg->upstream_api_key && cfg->upstream_api_key[0] &&
        px_add_header(x, "api-key", 7, cfg->upstream_api_key, strlen(cfg->upstream_api_key)) != 0)
        return -1;
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

void gw_proxy_forward(gw_proxy_t *px, gw_req_t *r)
{
    gw_proxy_forward_tap(px, r, NULL, NULL);
}

/* A transfer that could not start: the tap still ends, then the client gets a 500. */
static void px_start_failed(px_xfer_t *x, gw_req_t *r, const char *what)
{
    r->handler_ctx = NULL;
    if (x) {
        px_tap_end(x, r, GW_PROXY_FAILED);
        px_xfer_put(x);
    }
    gw_req_respond_error(r, 500, "Service internal error: %s", what);
    gw_req_release(r, GW_REQ_HANDLER);
}

void gw_proxy_forward_tap(gw_proxy_t *px, gw_req_t *r, const gw_proxy_tap_t *tap, void *ctx)
{
    const gw_config_t *cfg = px->w->cfg;
    px_xfer_t *x = px_xfer_get(px);
    if (!x) {
        if (tap && tap->on_end) tap->on_end(ctx, r, GW_PROXY_FAILED);
        px_start_failed(NULL, r, "out of memory");
        return;
    }
    x->req = r;
    x->tap = tap;
    x->tap_ctx = ctx;
    r->handler = &px_handler;
    r->handler_ctx = x;
    px_common_opts(x, r->target, r->target_len);
    CURL *e = x->easy;
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
    px_set_method(x, r);
    if (px_build_headers(x, r) != 0) {
        px_start_failed(x, r, "cannot build upstream request");
        return;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    x->active = 1;
    if (px->w->stats) gw_stat_inc(&px->w->stats->upstream_active);
    if (curl_multi_add_handle(px->multi, e) != CURLM_OK)
        px_start_failed(x, r, "cannot start upstream request");
}

int gw_proxy_fetch(gw_proxy_t *px, const char *path, uint64_t timeout_ms, gw_fetch_cb cb, void *arg)
{
    const gw_config_t *cfg = px->w->cfg;
    px_xfer_t *x = px_xfer_get(px);
    if (!x) return -1;
    x->cb = cb;
    x->cb_arg = arg;
    x->fetch_body = evbuffer_new();
    if (!x->fetch_body) {
        px_xfer_put(x);
        return -1;
    }
    px_common_opts(x, path, strlen(path));
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, px_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, px_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (cfg->upstream_api_key && cfg->upstream_api_key[0] &&
        px_add_header(x, "api-key", 7, cfg->upstream_api_key, strlen(cfg->upstream_api_key)) != 0) {
        px_xfer_put(x);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    x->active = 1;
    if (px->w->stats) gw_stat_inc(&px->w->stats->upstream_active);
    if (curl_multi_add_handle(px->multi, e) != CURLM_OK) {
        px_xfer_put(x);
        return -1;
    }
    return 0;
}

/* ---- pool lifetime ----------------------------------------------------------------------- */

gw_proxy_t *gw_proxy_new(gw_worker_t *w, char *err, size_t errlen)
{
    const gw_config_t *cfg = w->cfg;
    gw_proxy_t *px = calloc(1, sizeof(*px));
    if (!px) goto fail;
    px->w = w;
    size_t ul = strlen(cfg->upstream_url);
    while (ul && cfg->upstream_url[ul - 1] == '/')
        ul--; /* the request target brings its own leading slash */
    if (ul >= sizeof(px->base_url)) {
        snprintf(err, errlen, "upstream.url is too long");
        goto fail;
    }
    memcpy(px->base_url, cfg->upstream_url, ul);
    px->base_url[ul] = '\0';
    if (w->shared->upstream_resolve[0]) {
        px->resolve = curl_slist_append(NULL, w->shared->upstream_resolve);
        if (!px->resolve) goto oom;
    }
    px->multi = curl_multi_init();
    px->timer = evtimer_new(w->base, px_on_timer, px);
    if (!px->multi || !px->timer) goto oom;
    curl_multi_setopt(px->multi, CURLMOPT_SOCKETFUNCTION, px_socket_cb);
    curl_multi_setopt(px->multi, CURLMOPT_SOCKETDATA, px);
    curl_multi_setopt(px->multi, CURLMOPT_TIMERFUNCTION, px_timer_cb);
    curl_multi_setopt(px->multi, CURLMOPT_TIMERDATA, px);
    curl_multi_setopt(px->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)cfg->upstream_max_connections);
    curl_multi_setopt(px->multi, CURLMOPT_MAXCONNECTS, (long)cfg->upstream_max_connections);
    curl_multi_setopt(px->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    return px;
oom:
    snprintf(err, errlen, "out of memory creating the upstream pool");
fail:
    gw_proxy_free(px);
    return NULL;
}

void gw_proxy_free(gw_proxy_t *px)
{
    if (!px) return;
    if (px->multi) {
        /* In-flight transfers: detach them from their requests without calling back. */
        for (px_xfer_t *x = px->all; x; x = x->next_all) {
            if (!x->active) continue;
            curl_multi_remove_handle(px->multi, x->easy);
            px_tap_end(x, NULL, GW_PROXY_ABORTED);
            if (x->req) {
                x->req->handler_ctx = NULL;
                gw_req_release(x->req, GW_REQ_HANDLER);
            }
            px_xfer_put(x);
        }
        curl_multi_cleanup(px->multi); /* may call px_socket_cb: the base still exists */
    }
    while (px->all) {
        px_xfer_t *x = px->all;
        px->all = x->next_all;
        px_xfer_destroy(x);
    }
    if (px->timer) event_free(px->timer);
    curl_slist_free_all(px->resolve);
    free(px);
}
