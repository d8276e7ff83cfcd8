/* libFuzzer target for what the gateway reads from Qdrant: the own HTTP/1.1 engine's response
 * parsing (gateway/upstream/h1_engine.c: status line, header collection, body framing, 1xx,
 * answers to HEAD, leftovers), the header re-split and hop-by-hop filtering that forwards the
 * head (px_forward_head, gateway/upstream/exchange.c), the cache's and the write path's looks at
 * the head (gateway/cache/cache.c, inval.c), and the client codec writing it all out again.
 * Through a real worker (fuzz_worker.h) whose upstream.url is a loopback listener of this
 * target: per input, a client on a fresh socketpair connection sends one request; the
 * connection the gateway opens for it gets the input's bytes as the answer, in writes of a size
 * the input picks, then is closed. Other requests the worker makes (GET /aliases for the cache,
 * any probe) get a small valid answer. Input: byte 0 picks the request (bits 0-1: a cached
 * search, a cached point read, HEAD of a collection, a write) and the write size (bits 2-3:
 * whole, 1, 7 or 100 bytes); the rest is the answer.
 * Properties: no crash (ASan/UBSan); the connection is freed once the client leaves; the client
 * gets exactly one HTTP/1.1 response, well framed, or (when the answer broke off after its
 * head) that response's head and part of its body, then the end of the connection; and when
 * llhttp, reading the answer as the gateway's engine does, finds a complete final answer with
 * status S, the client's status is S; when it finds no valid final head (a status outside
 * 100..599 ends the reading), 502.
 * Both readings apply RFC 9112 6.3 (no body for 1xx, 204, 304 and answers to HEAD), which
 * llhttp 8 leaves to its user. */
#include <errno.h>
#include <llhttp.h>

#include "fuzz_worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int up_listen = -1;
static unsigned long long counter;

/* ---- the upstream side -------------------------------------------------------------------- */

#define UP_MAX 8

typedef struct up_conn {
    int fd;
    llhttp_t p;
    char url[256];
    size_t url_len;
    int complete; /* a whole request has been read */
    int answered;
} up_conn_t;

static llhttp_settings_t up_settings;

static int up_on_url(llhttp_t *p, const char *at, size_t len)
{
    up_conn_t *u = p->data;
    size_t room = sizeof(u->url) - 1 - u->url_len;
    size_t n = len < room ? len : room;
    memcpy(u->url + u->url_len, at, n);
    u->url_len += n;
    u->url[u->url_len] = '\0';
    return 0;
}

static int up_on_complete(llhttp_t *p)
{
    ((up_conn_t *)p->data)->complete = 1;
    return HPE_PAUSED;
}

static void up_init(void)
{
    llhttp_settings_init(&up_settings);
    up_settings.on_url = up_on_url;
    up_settings.on_message_complete = up_on_complete;
    up_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t alen = sizeof(a);
    if (up_listen < 0 || bind(up_listen, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(up_listen, 64) != 0 || getsockname(up_listen, (struct sockaddr *)&a, &alen) != 0)
        fw_die("upstream listener", "cannot listen on 127.0.0.1");
    snprintf(fw_upstream, sizeof(fw_upstream), "upstream.url=http://127.0.0.1:%u",
             ntohs(a.sin_port));
    static const char *const extra[] = {"upstream.health_interval=0", "cache.local.max_bytes=1MiB",
                                        "upstream.timeout=5s", NULL};
    fw_extra = extra;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EAGAIN) {
                fw_spin(1);
                continue;
            }
            return; /* the gateway let go: fine */
        }
        c += w;
        n -= (size_t)w;
    }
}

static const char ALIASES[] =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
    "content-length: 91\r\n\r\n"
    "{\"result\":{\"aliases\":[{\"alias_name\":\"al\",\"collection_name\":\"c\"}]},\"status\":"
    "\"ok\",\"time\":0}";
static const char OTHER[] = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                            "connection: close\r\ncontent-length: 33\r\n\r\n"
                            "{\"result\":true,\"status\":\"ok\",\"t\":0}";

typedef struct exch {
    const char *target; /* the proxied request's target, as Qdrant sees it */
    const uint8_t *ans; /* the answer */
    size_t ans_len, step;
    int answers; /* how many connections got it */
    up_conn_t up[UP_MAX];
} exch_t;

/* Accepts, reads requests, answers: the proxied one with the input, others canned. */
static void up_turn(exch_t *x)
{
    for (;;) {
        int fd = accept4(up_listen, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) break;
        up_conn_t *u = NULL;
        for (int i = 0; i < UP_MAX && !u; i++)
            if (x->up[i].fd < 0) u = &x->up[i];
        if (!u) {
            close(fd);
            continue;
        }
        memset(u, 0, sizeof(*u));
        u->fd = fd;
        llhttp_init(&u->p, HTTP_REQUEST, &up_settings);
        u->p.data = u;
    }
    for (int i = 0; i < UP_MAX; i++) {
        up_conn_t *u = &x->up[i];
        if (u->fd < 0 || u->answered) continue;
        char buf[16384];
        ssize_t n;
        while (!u->complete && (n = read(u->fd, buf, sizeof(buf))) > 0) {
            llhttp_errno_t e = llhttp_execute(&u->p, buf, (size_t)n);
            if (e != HPE_OK && e != HPE_PAUSED) {
                fprintf(stderr, "the gateway sent upstream a request llhttp refuses: %s\n",
                        llhttp_errno_name(e));
                abort();
            }
        }
        if (!u->complete) continue;
        u->answered = 1;
        if (strcmp(u->url, x->target) == 0) {
            x->answers++;
            for (size_t off = 0; off < x->ans_len; off += x->step) {
                size_t k = x->ans_len - off < x->step ? x->ans_len - off : x->step;
                send_all(u->fd, x->ans + off, k);
                if (x->step < x->ans_len) fw_spin(2);
            }
        } else if (strncmp(u->url, "/aliases", 8) == 0) {
            send_all(u->fd, ALIASES, sizeof(ALIASES) - 1);
        } else {
            send_all(u->fd, OTHER, sizeof(OTHER) - 1);
        }
        close(u->fd); /* every answer ends with the connection */
        u->fd = -1;
    }
}

/* ---- what llhttp makes of the answer ------------------------------------------------------ */

/* RFC 9112 6.3, which llhttp 8 does not apply by itself: no body for an answer to HEAD, nor
 * for 1xx, 204 and 304, whatever the head says. */
static int no_body(int status, int head_only)
{
    return head_only || status < 200 || status == 204 || status == 304 ? 1 : 0;
}

typedef struct ref {
    int head_only;  /* the request was HEAD */
    int final_head; /* status of the first final head seen, 0 if none */
    int final_done; /* ... and its message completed */
} ref_t;

static int ref_on_headers(llhttp_t *p)
{
    ref_t *r = p->data;
    int st = llhttp_get_status_code(p);
    if (st < 100 || st > 599) return -1; /* invalid (RFC 9110 15): the answer ends here */
    if (st >= 200 && !r->final_head) r->final_head = st;
    return no_body(st, r->head_only);
}

static int ref_on_complete(llhttp_t *p)
{
    ref_t *r = p->data;
    if (llhttp_get_status_code(p) < 200) return 0;
    r->final_done = 1;
    return HPE_PAUSED;
}

static void ref_read(const uint8_t *ans, size_t len, ref_t *r)
{
    static llhttp_settings_t s;
    if (!s.on_headers_complete) {
        llhttp_settings_init(&s);
        s.on_headers_complete = ref_on_headers;
        s.on_message_complete = ref_on_complete;
    }
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = r;
    llhttp_errno_t e = llhttp_execute(&p, (const char *)ans, len);
    if (e == HPE_OK) llhttp_finish(&p); /* the connection's end may end the body */
}

/* ---- what the client got ------------------------------------------------------------------ */

typedef struct got {
    int head_only;
    int status, heads, messages;
} got_t;

static int got_on_headers(llhttp_t *p)
{
    got_t *g = p->data;
    g->heads++;
    g->status = llhttp_get_status_code(p);
    if (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) != 1) g->status = -1;
    return no_body(g->status, g->head_only);
}

static int got_on_complete(llhttp_t *p)
{
    ((got_t *)p->data)->messages++;
    return 0;
}

static void fail(const char *why, const uint8_t *ans, size_t alen, const fw_out_t *o)
{
    fprintf(stderr, "%s\n--- answer (%zu bytes):\n%.*s\n--- client got (%zu bytes%s):\n%.*s\n---\n",
            why, alen, (int)(alen < 2048 ? alen : 2048), (const char *)ans, o->len,
            o->closed ? ", closed" : "", (int)(o->len < 2048 ? o->len : 2048),
            o->p ? (const char *)o->p : "");
    abort();
}

static void check(int head_only, const uint8_t *ans, size_t alen, const fw_out_t *o)
{
    static llhttp_settings_t s;
    if (!s.on_headers_complete) {
        llhttp_settings_init(&s);
        s.on_headers_complete = got_on_headers;
        s.on_message_complete = got_on_complete;
    }
    got_t g = {head_only, 0, 0, 0};
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &g;
    llhttp_errno_t e = llhttp_execute(&p, (const char *)o->p, o->len);
    if (e == HPE_OK && o->closed) e = llhttp_finish(&p);
    if (g.heads != 1 || g.status < 100 || g.status > 599)
        fail("the client did not get one HTTP/1.1 response head", ans, alen, o);
    int whole = e == HPE_OK && g.messages == 1;
    ref_t r = {head_only, 0, 0};
    ref_read(ans, alen, &r);
    if (r.final_done) {
        if (g.status != r.final_head) fail("the client got another status", ans, alen, o);
        if (!whole) fail("a complete answer reached the client cut or garbled", ans, alen, o);
    } else if (!r.final_head) {
        if (g.status != 502) fail("no answer from upstream, yet no 502", ans, alen, o);
        if (!whole) fail("the 502 is not a whole response", ans, alen, o);
    } else if (!whole && !(o->closed && e == HPE_INVALID_EOF_STATE)) {
        fail("a broken answer's response is neither whole nor cut by the close", ans, alen, o);
    }
}

/* ---- one input ---------------------------------------------------------------------------- */

static void settle(exch_t *x, int fd, fw_out_t *o)
{
    for (int quiet = 0, n = 0; quiet < FW_QUIET_ROUNDS && !o->closed && n < FW_MAX_ROUNDS; n++) {
        fw_spin(1);
        up_turn(x);
        quiet = fw_read(fd, o) ? 0 : quiet + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    if (up_listen < 0) up_init();
    fw_init();
    static const size_t steps[] = {SIZE_MAX, 1, 7, 100};
    exch_t x = {.ans = data + 1, .ans_len = size - 1, .step = steps[(data[0] >> 2) & 3]};
    if (x.step == 1 && x.ans_len > 512) x.step = 16;
    for (int i = 0; i < UP_MAX; i++)
        x.up[i].fd = -1;
    char target[96], req[512];
    int kind = data[0] & 3, head_only = kind == 2;
    unsigned long long n = ++counter; /* a new cache key each time: always a miss */
    int rl;
    if (kind == 0) {
        char body[64];
        int bl = snprintf(body, sizeof(body), "{\"vector\":[1,2,3],\"limit\":%llu}", n % 1000 + 1);
        snprintf(target, sizeof(target), "/collections/c/points/search?n=%llu", n);
        rl = snprintf(req, sizeof(req),
                      "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s",
                      target, bl, body);
    } else if (kind == 1) {
        snprintf(target, sizeof(target), "/collections/al/points/%llu", n);
        rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: gw\r\n\r\n", target);
    } else if (kind == 2) {
        snprintf(target, sizeof(target), "/collections/c?n=%llu", n);
        rl = snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: gw\r\n\r\n", target);
    } else {
        static const char body[] = "{\"points\":[{\"id\":1,\"vector\":[1,2,3]}]}";
        snprintf(target, sizeof(target), "/collections/c/points?wait=true");
        rl = snprintf(req, sizeof(req),
                      "PUT %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n%s",
                      target, sizeof(body) - 1, body);
    }
    x.target = target;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) abort();
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (gw_conn_accept(&fw_w.loop, sv[0], (struct sockaddr *)&peer, sizeof(peer), 0, NULL) != 0)
        abort();
    int client = sv[1];
    fw_out_t o;
    memset(&o, 0, sizeof(o));
    if (send(client, req, (size_t)rl, MSG_NOSIGNAL) != rl) abort();
    /* Until the answer is complete: the client's response ends (keep-alive: its framing says
     * so, which settle's quiet rounds stand for) or the gateway closes. */
    settle(&x, client, &o);
    shutdown(client, SHUT_WR);
    settle(&x, client, &o);
    close(client);
    for (int k = 0; k < FW_MAX_ROUNDS && atomic_load(&fw_life.connections) != 0; k++) {
        fw_spin(1);
        up_turn(&x);
    }
    if (atomic_load(&fw_life.connections) != 0) {
        fprintf(stderr, "fuzz upstream: connection still open after the client left\n");
        abort();
    }
    for (int i = 0; i < UP_MAX; i++)
        if (x.up[i].fd >= 0) close(x.up[i].fd);
    if (getenv("FUZZ_SHOW"))
        fprintf(stderr, "--- %d answers; client got %zu bytes%s:\n%.*s\n---\n", x.answers, o.len,
                o.closed ? ", closed" : "", (int)o.len, o.p ? (const char *)o.p : "");
    if (x.answers != 1) {
        fprintf(stderr, "the proxied request reached upstream %d times\n", x.answers);
        abort();
    }
    check(head_only, x.ans, x.ans_len, &o);
    free(o.p);
    return 0;
}
