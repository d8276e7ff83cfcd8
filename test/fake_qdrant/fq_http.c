/* Minimal HTTP/1.1 server for fake_qdrant: parses request heads and bodies (Content-Length or
 * chunked), writes actix-like replies, and implements keep-alive, streaming and fault hooks. */

#include "fq_http.h"
#include "fq_gzip.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>

enum { ST_HEAD, ST_BODY, ST_HANDLING, ST_WRITING };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

#define STREAM_HIGH (256 * 1024)
#define STREAM_LOW  (64 * 1024)
#define MAX_HEADERS 128

struct fq_http_server {
    struct event_base *base;
    struct evconnlistener *lis;
    fq_http_options_t opt;
    fq_http_handlers_t h;
    void *arg;
    uint64_t next_conn_id;
    fq_conn_t *conns; /* every open connection, for shutdown */
};

struct fq_conn {
    fq_http_server_t *srv;
    struct bufferevent *bev;
    struct event *timer;   /* request-head / keep-alive deadline */
    struct event *slow_ev; /* slow-body pacing */
    int state;
    int keep_alive;
    int read_eof;
    int close_after;
    fq_http_req_t *req;
    int chunked, ch_state;
    uint64_t remaining;
    struct evbuffer *slow_body;
    size_t piece;
    fq_http_fill_cb fill;
    void *fill_arg;
    void (*fill_free)(void *);
    int fill_done;
    uint64_t id;
    char peer[64];
    fq_conn_t *next, *prev;
};

static void process_input(fq_conn_t *c);

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void req_free(fq_http_req_t *r)
{
    if (!r)
        return;
    if (r->user_free && r->user)
        r->user_free(r->user);
    for (size_t k = 0; k < r->nheaders; k++) {
        free(r->headers[k].name);
        free(r->headers[k].value);
    }
    free(r->headers);
    free(r->target);
    free(r->path);
    free(r->query);
    if (r->body)
        evbuffer_free(r->body);
    if (r->out_headers)
        evbuffer_free(r->out_headers);
    if (r->sha_ctx)
        EVP_MD_CTX_free(r->sha_ctx);
    free(r);
}

static void conn_free(fq_conn_t *c)
{
    fq_http_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    req_free(c->req);
    if (c->fill_free && c->fill_arg)
        c->fill_free(c->fill_arg);
    if (c->slow_body)
        evbuffer_free(c->slow_body);
    if (c->timer)
        event_free(c->timer);
    if (c->slow_ev)
        event_free(c->slow_ev);
    bufferevent_free(c->bev);
    free(c);
    if (srv->h.on_close)
        srv->h.on_close(srv->arg);
}

static void arm_timer(fq_conn_t *c)
{
    struct timeval tv = {c->srv->opt.keepalive_timeout_s, 0};
    evtimer_add(c->timer, &tv);
}

const char *fq_http_header(const fq_http_req_t *req, const char *name)
{
    for (size_t k = 0; k < req->nheaders; k++) {
        if (strcasecmp(req->headers[k].name, name) == 0)
            return req->headers[k].value;
    }
    return NULL;
}

void fq_http_add_header(fq_http_req_t *req, const char *name, const char *value)
{
    if (!req->out_headers)
        req->out_headers = evbuffer_new();
    evbuffer_add_printf(req->out_headers, "%s: %s\r\n", name, value);
}

/* Does a comma-separated header value contain token (case-insensitive)? */
static int header_has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *end = v;
        while (*end && *end != ',')
            end++;
        const char *te = end;
        while (te > v && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if ((size_t)(te - v) == tl && strncasecmp(v, token, tl) == 0)
            return 1;
        v = end;
    }
    return 0;
}

#define CHUNKED UINT64_MAX  /* write_head's clen for a chunked body */
#define ZCHUNK  (16 * 1024) /* chunk size of compressed bodies */

static void write_head(fq_conn_t *c, int status, const char *ctype, uint64_t clen)
{
    fq_http_req_t *r = c->req;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
    if (clen == CHUNKED)
        evbuffer_add_printf(out, "transfer-encoding: chunked\r\n");
    else
        evbuffer_add_printf(out, "content-length: %llu\r\n", (unsigned long long)clen);
    if (ctype)
        evbuffer_add_printf(out, "content-type: %s\r\n", ctype);
    if (r->out_headers)
        evbuffer_add_buffer(out, r->out_headers);
    evbuffer_add_printf(out,
                        "vary: Origin, Access-Control-Request-Method, "
                        "Access-Control-Request-Headers\r\n");
    if (c->close_after || !c->keep_alive)
        evbuffer_add_printf(out, "connection: close\r\n");
    else if (r->minor == 0)
        evbuffer_add_printf(out, "connection: keep-alive\r\n");
    evbuffer_add_printf(out, "date: %s\r\n\r\n", date);
}

static void on_slow_tick(evutil_socket_t fd, short what, void *arg)
{
    fq_conn_t *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t n = evbuffer_get_length(c->slow_body);
    evbuffer_remove_buffer(c->slow_body, out, n < c->piece ? n : c->piece);
    if (evbuffer_get_length(c->slow_body) == 0) {
        evbuffer_free(c->slow_body);
        c->slow_body = NULL;
        return; /* the write callback finishes the reply once flushed */
    }
    struct timeval tv = {c->srv->opt.slow_body_ms / 1000, (c->srv->opt.slow_body_ms % 1000) * 1000};
    evtimer_add(c->slow_ev, &tv);
}

static int begin_reply(fq_http_req_t *req)
{
    fq_conn_t *c = req->conn;
    if (req->responded || !c)
        return -1;
    req->responded = 1;
    if (c->state != ST_HANDLING)
        c->close_after = 1; /* answered before the body was read */
    c->state = ST_WRITING;
    return 0;
}

/* Actix's Compress middleware: a non-empty body is encoded when Accept-Encoding asks for a
 * coding the fake has, and then goes out chunked (HTTP/1.1; 1.0 gets a length), its size being
 * unknown to actix's encoder. Returns the body to send (body itself or its encoding); *clen
 * gets its framing. */
static struct evbuffer *compress_body(fq_http_req_t *req, int status, struct evbuffer *body,
                                      uint64_t *clen)
{
    size_t len = body ? evbuffer_get_length(body) : 0;
    *clen = len;
    if (!len || status == 204 || strcmp(req->method, "HEAD") == 0) return body;
    fq_coding_t enc = fq_coding_negotiate(fq_http_header(req, "Accept-Encoding"));
    struct evbuffer *z = enc ? fq_coding_encode(enc, body) : NULL;
    if (!z) return body;
    evbuffer_free(body);
    fq_http_add_header(req, "content-encoding", fq_coding_name(enc));
    fq_http_add_header(req, "vary", "accept-encoding");
    if (req->minor == 0) {
        *clen = evbuffer_get_length(z);
        return z;
    }
    struct evbuffer *framed = evbuffer_new();
    while (evbuffer_get_length(z)) {
        size_t n = evbuffer_get_length(z) < ZCHUNK ? evbuffer_get_length(z) : ZCHUNK;
        evbuffer_add_printf(framed, "%zx\r\n", n);
        evbuffer_remove_buffer(z, framed, n);
        evbuffer_add(framed, "\r\n", 2);
    }
    evbuffer_add(framed, "0\r\n\r\n", 5);
    evbuffer_free(z);
    *clen = CHUNKED;
    return framed;
}

void fq_http_respond(fq_http_req_t *req, int status, const char *content_type,
                     struct evbuffer *body)
{
    if (begin_reply(req) < 0) {
        if (body)
            evbuffer_free(body);
        return;
    }
    fq_conn_t *c = req->conn;
    uint64_t clen;
    body = compress_body(req, status, body, &clen);
    size_t len = body ? evbuffer_get_length(body) : 0;
    write_head(c, status, content_type, clen);
    if (strcmp(req->method, "HEAD") == 0 && body) { /* the length, never the bytes */
        evbuffer_free(body);
        body = NULL;
        len = 0;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (len && c->srv->opt.slow_body_ms > 0) {
        c->slow_body = body;
        c->piece = len / 20 > 64 ? len / 20 + 1 : 64;
        body = NULL;
        on_slow_tick(-1, 0, c);
    } else if (len) {
        evbuffer_add_buffer(out, body);
    }
    if (body)
        evbuffer_free(body);
    if (c->close_after)
        bufferevent_disable(c->bev, EV_READ);
}

static void stream_fill(fq_conn_t *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (!c->fill_done && evbuffer_get_length(out) < STREAM_HIGH)
        c->fill_done = c->fill(out, c->fill_arg);
    if (c->fill_done)
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

void fq_http_respond_stream(fq_http_req_t *req, int status, const char *content_type,
                            uint64_t content_length, fq_http_fill_cb fill, void *arg,
                            void (*free_arg)(void *))
{
    if (begin_reply(req) < 0) {
        if (free_arg)
            free_arg(arg);
        return;
    }
    fq_conn_t *c = req->conn;
    write_head(c, status, content_type, content_length);
    c->fill = fill;
    c->fill_arg = arg;
    c->fill_free = free_arg;
    c->fill_done = content_length == 0;
    bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW, 0);
    stream_fill(c);
}

void fq_http_abort(fq_http_req_t *req)
{
    fq_conn_t *c = req->conn;
    if (!c)
        return;
    struct linger lg = {1, 0};
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    conn_free(c);
}

static void finish_reply(fq_conn_t *c)
{
    req_free(c->req);
    c->req = NULL;
    if (c->fill_free && c->fill_arg)
        c->fill_free(c->fill_arg);
    c->fill = NULL;
    c->fill_arg = NULL;
    c->fill_free = NULL;
    if (c->close_after || !c->keep_alive || c->read_eof) {
        conn_free(c);
        return;
    }
    c->state = ST_HEAD;
    arm_timer(c);
    process_input(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    fq_conn_t *c = arg;
    if (c->state != ST_WRITING)
        return;
    if (c->fill && !c->fill_done) {
        stream_fill(c);
        return;
    }
    if (c->slow_body || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    finish_reply(c);
}

/* Answers a protocol error and closes (no router involved). */
static void protocol_error(fq_conn_t *c, int status)
{
    if (!c->req) {
        c->req = calloc(1, sizeof(*c->req));
        if (!c->req) {
            conn_free(c);
            return;
        }
        c->req->conn = c;
    }
    c->close_after = 1;
    c->state = ST_HANDLING;
    fq_http_respond(c->req, status, NULL, NULL);
}

static int parse_request_line(fq_http_req_t *r, char *line)
{
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof(r->method))
        return -1;
    char *sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || sp2 == sp1 + 1)
        return -1;
    for (char *m = line; m < sp1; m++) {
        if (!isupper((unsigned char)*m) && *m != '-' && *m != '_')
            return -1;
    }
    memcpy(r->method, line, sp1 - line);
    r->method[sp1 - line] = '\0';
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
        r->minor = 1;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        r->minor = 0;
    else
        return -1;
    r->target = strndup(sp1 + 1, sp2 - sp1 - 1);
    const char *t = r->target;
    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        const char *slash = strchr(strstr(t, "//") + 2, '/');
        t = slash ? slash : "/";
    } else if (t[0] != '/') {
        return -1;
    }
    const char *q = strchr(t, '?');
    r->path = q ? strndup(t, q - t) : strdup(t);
    r->query = q ? strdup(q + 1) : NULL;
    return 0;
}

static int parse_header_line(fq_http_req_t *r, char *line)
{
    char *colon = strchr(line, ':');
    if (!colon || colon == line || r->nheaders >= MAX_HEADERS)
        return -1;
    for (char *n = line; n < colon; n++) {
        if (*n == ' ' || *n == '\t' || (unsigned char)*n < 0x21)
            return -1;
    }
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    if (r->nheaders % 16 == 0) {
        fq_header_t *nh = realloc(r->headers, (r->nheaders + 16) * sizeof(*nh));
        if (!nh)
            return -1;
        r->headers = nh;
    }
    r->headers[r->nheaders].name = strndup(line, colon - line);
    r->headers[r->nheaders].value = strndup(v, vl);
    r->nheaders++;
    return 0;
}

/* Splits the head block into lines and fills r. 0 or -1 (bad request). */
static int parse_head(fq_http_req_t *r, char *head)
{
    char *save = NULL;
    char *line = strtok_r(head, "\n", &save);
    if (!line)
        return -1;
    size_t l = strlen(line);
    if (l && line[l - 1] == '\r')
        line[l - 1] = '\0';
    if (parse_request_line(r, line) < 0)
        return -1;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (l == 0)
            break;
        if (parse_header_line(r, line) < 0)
            return -1;
    }
    return 0;
}

/* Decides framing from the headers: 0 ok, -1 bad request. */
static int setup_framing(fq_conn_t *c)
{
    fq_http_req_t *r = c->req;
    const char *te = fq_http_header(r, "Transfer-Encoding");
    const char *cl = NULL;
    for (size_t k = 0; k < r->nheaders; k++) {
        if (strcasecmp(r->headers[k].name, "Content-Length") != 0)
            continue;
        if (cl && strcmp(cl, r->headers[k].value) != 0)
            return -1;
        cl = r->headers[k].value;
    }
    c->chunked = 0;
    c->remaining = 0;
    if (te) {
        if (cl || !header_has_token(te, "chunked"))
            return -1;
        c->chunked = 1;
        c->ch_state = CH_SIZE;
    } else if (cl) {
        if (!*cl || strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 18)
            return -1;
        c->remaining = strtoull(cl, NULL, 10);
    }
    const char *conn = fq_http_header(r, "Connection");
    if (r->minor == 0)
        c->keep_alive = conn && header_has_token(conn, "keep-alive");
    else
        c->keep_alive = !(conn && header_has_token(conn, "close"));
    return 0;
}

static void dispatch(fq_conn_t *c)
{
    fq_http_req_t *r = c->req;
    c->state = ST_HANDLING;
    if (r->sha_ctx) {
        unsigned int n = 0;
        EVP_DigestFinal_ex(r->sha_ctx, r->body_sha256, &n);
    }
    c->srv->h.on_request(r, c->srv->arg);
}

static void body_sink(fq_conn_t *c, struct evbuffer *in, size_t n)
{
    fq_http_req_t *r = c->req;
    r->body_len += n;
    if (r->body_mode == FQ_BODY_HASH) {
        while (n > 0) {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            size_t take = v.iov_len < n ? v.iov_len : n;
            EVP_DigestUpdate(r->sha_ctx, v.iov_base, take);
            evbuffer_drain(in, take);
            n -= take;
        }
        return;
    }
    if (r->body_overflow || r->body_len > r->body_limit) {
        r->body_overflow = 1;
        evbuffer_drain(in, n);
        return;
    }
    evbuffer_remove_buffer(in, r->body, n);
}

/* Chunked decoder step: 1 complete, 0 need more, -1 error. */
static int read_chunked(fq_conn_t *c, struct evbuffer *in)
{
    for (;;) {
        if (c->ch_state == CH_DATA) {
            size_t avail = evbuffer_get_length(in);
            if (avail == 0)
                return 0;
            size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
            body_sink(c, in, n);
            c->remaining -= n;
            if (c->remaining == 0)
                c->ch_state = CH_DATA_END;
            continue;
        }
        size_t ll;
        char *line = evbuffer_readln(in, &ll, EVBUFFER_EOL_CRLF);
        if (!line)
            return evbuffer_get_length(in) > 4096 ? -1 : 0;
        int st = c->ch_state, bad = 0;
        if (st == CH_SIZE) {
            char *end;
            unsigned long long sz = strtoull(line, &end, 16);
            bad = end == line || (*end && *end != ';' && *end != ' ');
            c->remaining = sz;
            c->ch_state = sz ? CH_DATA : CH_TRAILER;
        } else if (st == CH_DATA_END) {
            bad = ll != 0;
            c->ch_state = CH_SIZE;
        } else if (ll == 0) {
            free(line);
            return 1;
        }
        free(line);
        if (bad)
            return -1;
    }
}

static int read_body(fq_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->chunked) {
        int r = read_chunked(c, in);
        if (r < 0) {
            protocol_error(c, 400);
            return -1;
        }
        return r;
    }
    size_t avail = evbuffer_get_length(in);
    size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
    if (n)
        body_sink(c, in, n);
    c->remaining -= n;
    return c->remaining == 0;
}

static void start_body(fq_conn_t *c)
{
    fq_http_req_t *r = c->req;
    if (r->body_mode == FQ_BODY_HASH) {
        r->sha_ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(r->sha_ctx, EVP_sha256(), NULL);
    } else {
        r->body = evbuffer_new();
    }
    int has_body = c->chunked || c->remaining > 0;
    const char *expect = fq_http_header(r, "Expect");
    if (has_body && expect && r->minor == 1 && strcasecmp(expect, "100-continue") == 0)
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    c->state = ST_BODY;
}

/* Tries to take a request head from the input: 1 got one, 0 need more, -1 stop. */
static int read_head(fq_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) { /* ignore empty lines before a request (RFC 9112 2.2) */
        unsigned char two[2];
        ssize_t got = evbuffer_copyout(in, two, 2);
        if (got >= 1 && two[0] == '\n')
            evbuffer_drain(in, 1);
        else if (got == 2 && two[0] == '\r' && two[1] == '\n')
            evbuffer_drain(in, 2);
        else
            break;
    }
    struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    struct evbuffer_ptr lf = evbuffer_search(in, "\n\n", 2, NULL); /* bare-LF clients */
    size_t tail = 4;
    if (lf.pos >= 0 && (p.pos < 0 || lf.pos < p.pos)) {
        p = lf;
        tail = 2;
    }
    if (p.pos < 0) {
        if (evbuffer_get_length(in) > c->srv->opt.max_header_bytes) {
            protocol_error(c, 431);
            return -1;
        }
        return 0;
    }
    size_t hl = (size_t)p.pos + tail;
    char *head = malloc(hl + 1);
    fq_http_req_t *r = calloc(1, sizeof(*r));
    if (!head || !r) {
        free(head);
        free(r);
        conn_free(c);
        return -1;
    }
    evbuffer_remove(in, head, hl);
    head[hl] = '\0';
    c->req = r;
    r->conn = c;
    r->conn_id = c->id;
    snprintf(r->peer, sizeof(r->peer), "%s", c->peer);
    int bad = parse_head(r, head) < 0 || setup_framing(c) < 0;
    free(head);
    evtimer_del(c->timer);
    if (bad) {
        protocol_error(c, 400);
        return -1;
    }
    return 1;
}

static void process_input(fq_conn_t *c)
{
    for (;;) {
        if (c->state == ST_HEAD) {
            int r = read_head(c);
            if (r <= 0)
                return;
            c->srv->h.on_headers(c->req, c->srv->arg);
            if (c->req->responded)
                return;
            start_body(c);
        }
        if (c->state != ST_BODY)
            return;
        int r = read_body(c);
        if (r <= 0)
            return;
        dispatch(c);
        return; /* pipelined requests wait until this reply is written */
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    process_input(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    fq_conn_t *c = arg;
    if (what & BEV_EVENT_ERROR) {
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->read_eof = 1;
        if (c->state == ST_HEAD || c->state == ST_BODY)
            conn_free(c);
    }
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    fq_conn_t *c = arg;
    if (c->state == ST_HEAD)
        conn_free(c);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    fq_http_server_t *srv = arg;
    fq_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    c->state = ST_HEAD;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, ntohs(in->sin_port));
    }
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(srv->base, on_timeout, c);
    c->slow_ev = evtimer_new(srv->base, on_slow_tick, c);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    arm_timer(c);
    if (srv->h.on_accept)
        srv->h.on_accept(srv->arg);
}

fq_http_server_t *fq_http_server_new(struct event_base *base, const char *host, int port,
                                     const fq_http_options_t *opt,
                                     const fq_http_handlers_t *handlers, void *arg)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return NULL;
    fq_http_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    srv->opt = *opt;
    srv->h = *handlers;
    srv->arg = arg;
    srv->lis = evconnlistener_new_bind(base, on_accept, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
                                           LEV_OPT_REUSEABLE,
                                       1024, (struct sockaddr *)&sin, sizeof(sin));
    if (!srv->lis) {
        free(srv);
        return NULL;
    }
    return srv;
}

void fq_http_server_free(fq_http_server_t *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_free(srv->conns);
    evconnlistener_free(srv->lis);
    free(srv);
}
