/* The protocol-neutral request object: lifetime, header lookup, request ids, and the response
 * helpers (plain bodies and Qdrant's JSON error envelope) shared by every handler. */
#include "gateway/http/request.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/grpc_frame.h"
#include "gateway/http/grpc_route.h"
#include "gateway/http/headers.h"
#include "gateway/core/loop.h"

void gw_req_send_body_ref(gw_req_t *r, const void *data, size_t len, void (*release)(void *arg),
                          void *arg)
{
    if (r->codec->send_body_ref) {
        r->codec->send_body_ref(r, data, len, release, arg);
        return;
    }
    r->codec->send_body(r, data, len);
    release(arg);
}

gw_req_t *gw_req_new(gw_loop_t *l, const gw_codec_ops_t *codec, void *codec_ctx)
{
    gw_req_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->body = evbuffer_new();
    if (!r->body) {
        free(r);
        return NULL;
    }
    r->loop = l;
    r->codec = codec;
    r->codec_ctx = codec_ctx;
    r->holders = GW_REQ_CODEC | GW_REQ_HANDLER;
    r->content_length = -1;
    r->grpc_status = -1;
    r->start_us = gw_mono_us();
    if (l && l->stats) gw_stat_inc(&l->stats->in_flight);
    return r;
}

/* The request is over: one sample for requests_total and the duration histogram. A request
 * that got no answer (the client left first) counts as 499, nginx's "client closed request". */
static void req_count(const gw_req_t *r)
{
    gw_wstats_t *st = r->loop ? r->loop->stats : NULL;
    if (!st) return;
    gw_stat_dec(&st->in_flight);
    if (r->internal) return;
    int cls = (int)r->route.cls;
    if (cls < 0 || cls >= GW_CLASSES) cls = 0;
    int code = r->status ? r->status : 499;
    int ci = code >= GW_CODE_MIN && code < GW_CODE_MIN + GW_CODES - 1 ? code - GW_CODE_MIN
                                                                      : GW_CODES - 1;
    int mi = r->method ? gw_stats_method_index(r->method) : GW_M_OTHER;
    gw_stat_inc(&st->requests[cls][mi][ci]);
    gw_hist_observe(&st->duration[cls], gw_mono_us() - r->start_us);
    int gi = r->grpc_method ? gw_grpc_method_index(r->grpc_method) : -1;
    if (gi >= 0) {
        int gc = r->grpc_status >= 0 && r->grpc_status < GW_GRPC_CODES ? r->grpc_status
                 : r->grpc_status < 0                                  ? GW_GRPC_CANCELLED
                                                                       : GW_GRPC_UNKNOWN;
        gw_stat_inc(&st->grpc_requests[gi][gc]);
        gw_hist_observe(&st->grpc_duration[gi], gw_mono_us() - r->start_us);
    }
}

int gw_req_admit(gw_req_t *r, uint64_t max_body, char *msg, size_t cap)
{
    if (r->target_len == 0 || r->target[0] != '/') {
        snprintf(msg, cap, "Bad request: the request target must be an absolute path");
        return 400;
    }
    if (strcmp(r->method, "CONNECT") == 0) {
        snprintf(msg, cap, "Method not allowed: CONNECT");
        return 405;
    }
    size_t ctl;
    const char *ct = gw_req_header(r, "content-type", &ctl);
    if (ct && gw_grpc_is_content_type(ct, ctl)) {
        if (!r->h2) {
            snprintf(msg, cap, "HTTP version not supported: gRPC needs HTTP/2");
            return 505;
        }
        r->grpc = 1; /* unary messages, bounded by the gRPC handler: streamed past the codec */
        r->grpc_method = gw_grpc_route(r->target, r->target_len, &r->route);
        r->route.flags |= GW_ROUTE_F_STREAM;
        return 0;
    }
    gw_route_classify(r->method, r->method_len, r->path, r->path_len, &r->route);
    int64_t limit = (int64_t)max_body;
    if (!(r->route.flags & GW_ROUTE_F_STREAM) && r->content_length > limit) {
        snprintf(msg, cap,
                 "Payload too large: request body of %lld bytes is larger than allowed "
                 "(limit: %lld bytes)",
                 (long long)r->content_length, (long long)limit);
        return 413;
    }
    return 0;
}

void gw_req_release(gw_req_t *r, unsigned holder)
{
    if (!r) return;
    r->holders &= ~holder;
    if (holder == GW_REQ_CODEC)
        r->codec = NULL; /* the codec is gone: handlers must not write any more */
    if (r->holders) return;
    req_count(r);
    if (r->authz && r->authz->done) r->authz->done(r->authz, r);
    evbuffer_free(r->body);
    free(r->hdrs);
    free(r->raw);
    free(r);
}

const char *gw_req_header(const gw_req_t *r, const char *lower_name, size_t *len)
{
    for (size_t i = 0; i < r->nhdrs; i++) {
        if (gw_header_name_eq(r->hdrs[i].name, r->hdrs[i].name_len, lower_name)) {
            if (len) *len = r->hdrs[i].value_len;
            return r->hdrs[i].value;
        }
    }
    return NULL;
}

/* A client-supplied id is kept only if it is short and made of safe characters, so it can be
 * logged and forwarded without escaping. */
static int id_is_safe(const char *v, size_t n)
{
    if (n == 0 || n >= sizeof(((gw_req_t *)0)->id)) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

static uint64_t next_random(void)
{
    /* xorshift64*, one state per thread, seeded from the kernel: ids need to be unique, not
     * unpredictable, and getrandom per request would cost a syscall. */
    static _Thread_local uint64_t s;
    while (s == 0) {
        if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
            s = gw_mono_us() ^ (uint64_t)(uintptr_t)&s;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
}

void gw_req_assign_id(gw_req_t *r)
{
    size_t n;
    const char *v = gw_req_header(r, "x-request-id", &n);
    if (v && id_is_safe(v, n)) {
        memcpy(r->id, v, n);
        r->id[n] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (int half = 0; half < 2; half++) {
        uint64_t x = next_random();
        for (int i = 15; i >= 0; i--, x >>= 4)
            r->id[half * 16 + i] = hex[x & 15];
    }
    r->id[32] = '\0';
}

void gw_req_respond_grpc(gw_req_t *r, int code, const char *msg, size_t len)
{
    if (!r->codec || r->head_sent) return;
    char status[12], enc[GW_ERROR_MSG_MAX * 3 + 1];
    int sl = snprintf(status, sizeof(status), "%d", code);
    gw_hdr_t h[3] = {{"content-type", 12, "application/grpc", 16},
                     {"grpc-status", 11, status, (size_t)sl}};
    size_t n = 2;
    if (len) {
        if (len > GW_ERROR_MSG_MAX) len = GW_ERROR_MSG_MAX;
        h[n++] =
            (gw_hdr_t){"grpc-message", 12, enc, gw_grpc_message_encode(msg, len, enc, sizeof(enc))};
    }
    r->grpc_status = code;
    r->codec->send_head(r, 200, h, n, GW_REQ_NO_BODY);
    r->codec->finish(r, 1);
}

int gw_grpc_code_of_http(int status)
{
    switch (status) {
    case 400:
        return GW_GRPC_INVALID_ARGUMENT;
    case 401:
        return GW_GRPC_UNAUTHENTICATED;
    case 403:
        return GW_GRPC_PERMISSION_DENIED;
    case 404:
    case 405:
        return GW_GRPC_UNIMPLEMENTED;
    case 408:
    case 504:
        return GW_GRPC_DEADLINE_EXCEEDED;
    case 413:
    case 429:
    case 431:
        return GW_GRPC_RESOURCE_EXHAUSTED;
    case 502:
    case 503:
        return GW_GRPC_UNAVAILABLE;
    default:
        return status >= 500 ? GW_GRPC_INTERNAL : GW_GRPC_UNKNOWN;
    }
}

void gw_req_respond(gw_req_t *r, int status, const char *content_type, const void *body, size_t len)
{
    if (!r->codec || r->head_sent) return;
    if (r->grpc && status >= 400 && (!content_type || strcmp(content_type, "application/grpc"))) {
        /* A gRPC client reads statuses, not bodies: the gateway's refusal as its gRPC code,
         * the text (plain, or the envelope's message) as grpc-message. */
        gw_req_respond_grpc(r, gw_grpc_code_of_http(status), r->grpc_errmsg ? r->grpc_errmsg : body,
                            r->grpc_errmsg ? strlen(r->grpc_errmsg) : len);
        return;
    }
    gw_hdr_t h[2] = {
        {"content-type", 12, content_type ? content_type : "",
         content_type ? strlen(content_type) : 0},
        {"x-request-id", 12, r->id, strlen(r->id)},
    };
    const gw_hdr_t *hv = content_type ? h : h + 1;
    size_t nh = (content_type ? 1 : 0) + (r->id[0] ? 1 : 0);
    r->codec->send_head(r, status, hv, nh, (int64_t)len);
    if (len && !r->is_head) r->codec->send_body(r, body, len);
    r->codec->finish(r, 1);
}

size_t gw_error_envelope(char *out, size_t cap, double secs, const char *msg)
{
    json_t *s = json_string(msg);
    if (!s) { /* not UTF-8 (bytes quoted from a client's body): keep it readable */
        char clean[GW_ERROR_MSG_MAX];
        snprintf(clean, sizeof(clean), "%s", msg);
        for (char *p = clean; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
        s = json_string(clean);
    }
    char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    int n = snprintf(out, cap, "{\"status\":{\"error\":%s},\"time\":%.6f}",
                     quoted ? quoted : "\"error\"", secs);
    free(quoted);
    if (n < 0 || (size_t)n >= cap)
        n = snprintf(out, cap, "{\"status\":{\"error\":\"error\"},\"time\":%.6f}", secs);
    return n < 0 ? 0 : (size_t)n;
}

void gw_req_respond_error(gw_req_t *r, int status, const char *fmt, ...)
{
    char msg[GW_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->grpc) {
        r->grpc_errmsg = msg; /* the message, not its JSON envelope */
        gw_req_respond(r, status, NULL, msg, strlen(msg));
        r->grpc_errmsg = NULL;
        return;
    }
    char body[GW_ERROR_BODY_MAX];
    size_t n =
        gw_error_envelope(body, sizeof(body), (double)(gw_mono_us() - r->start_us) / 1e6, msg);
    gw_req_respond(r, status, "application/json", body, n);
}

const char *gw_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return "Unknown";
    }
}
