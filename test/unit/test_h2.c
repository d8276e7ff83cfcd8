/* Unit tests for the HTTP/2 front door: the preface sniffer (pure, fed whole, split and byte by
 * byte, reads checked against a guard page), and the h2 codec over a socketpair into a real
 * worker loop, driven by an nghttp2 client session (gateway API routes answer locally). */
#include <check.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"
#include "worker_fixture.h"

/* ---- the sniffer --------------------------------------------------------------------------- */

typedef struct sniff_case {
    const char *input;
    size_t len;        /* 0: strlen */
    gw_sniff_t result; /* for the whole input */
    size_t decided_at; /* bytes needed for the decision (result is MORE before) */
} sniff_case_t;

static const sniff_case_t sniff_cases[] = {
    {GW_H2_PREFACE, 0, GW_SNIFF_H2, 24},
    {GW_H2_PREFACE "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 33, GW_SNIFF_H2, 24},
    {"GET / HTTP/1.0\r\n\r\n", 0, GW_SNIFF_H1, 1},
    {"GET /collections HTTP/1.1\r\nHost: x\r\n\r\n", 0, GW_SNIFF_H1, 1},
    {"PUT /collections/c HTTP/1.1\r\n\r\n", 0, GW_SNIFF_H1, 2},
    {"POST /x HTTP/1.1\r\n\r\n", 0, GW_SNIFF_H1, 2},
    {"PRI /x HTTP/1.1\r\n\r\n", 0, GW_SNIFF_H1, 5},
    {"PRI * HTTP/1.1\r\n\r\n", 0, GW_SNIFF_H1, 12},
    /* "PRI * HTTP/2.0" matched: a broken preface is HTTP/2's to reject */
    {"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 0, GW_SNIFF_H2, 19},
    {"PRI * HTTP/2.0\n\n", 0, GW_SNIFF_H2, 15},
    {"\x16\x03\x01\x02\x00\x01", 6, GW_SNIFF_H1, 1}, /* a TLS ClientHello on the cleartext port */
    {"P", 0, GW_SNIFF_MORE, 2},
    {"", 0, GW_SNIFF_MORE, 1},
};

START_TEST(test_sniff_whole_and_prefixes)
{
    const sniff_case_t *tc = &sniff_cases[_i];
    size_t len = tc->len ? tc->len : strlen(tc->input);
    guard_slots_t g;
    guard_slots_open(&g);
    /* Every prefix, each flush against a guard page: MORE until decided_at, then the result. */
    for (size_t n = 0; n <= len; n++) {
        const char *p = guard_at(&g, 0, tc->input, n);
        gw_sniff_t want = n < tc->decided_at ? GW_SNIFF_MORE : tc->result;
        ck_assert_msg(gw_conn_sniff(p, n) == want, "case %d, %zu bytes: got %d want %d", _i, n,
                      (int)gw_conn_sniff(p, n), (int)want);
    }
    guard_slots_close(&g);
}
END_TEST

/* ---- an nghttp2 client on the other end of the socketpair ---------------------------------- */

#define MAX_STREAMS 8

typedef struct h2_resp {
    int32_t id;
    int status;
    char body[8192];
    size_t body_len;
    char ctype[64];
    int has_request_id;
    int closed;
    uint32_t close_code;
} h2_resp_t;

typedef struct client {
    nghttp2_session *s;
    char out[1 << 16];
    size_t out_len;
    h2_resp_t resp[MAX_STREAMS];
    int nresp;
    int goaway;
    uint32_t goaway_code;
} client_t;

static h2_resp_t *resp_for(client_t *cl, int32_t id)
{
    for (int i = 0; i < cl->nresp; i++)
        if (cl->resp[i].id == id) return &cl->resp[i];
    ck_assert_int_lt(cl->nresp, MAX_STREAMS);
    h2_resp_t *r = &cl->resp[cl->nresp++];
    memset(r, 0, sizeof(*r));
    r->id = id;
    return r;
}

static ssize_t cl_send(nghttp2_session *s, const uint8_t *d, size_t n, int f, void *u)
{
    client_t *cl = u;
    ck_assert_uint_le(cl->out_len + n, sizeof(cl->out));
    memcpy(cl->out + cl->out_len, d, n);
    cl->out_len += n;
    return (ssize_t)n;
}

static int cl_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nl,
                     const uint8_t *v, size_t vl, uint8_t flags, void *u)
{
    h2_resp_t *r = resp_for(u, fr->hd.stream_id);
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        r->status = atoi((const char *)v);
    else if (nl == 12 && memcmp(name, "content-type", 12) == 0)
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)vl, v);
    else if (nl == 12 && memcmp(name, "x-request-id", 12) == 0)
        r->has_request_id = 1;
    for (size_t i = 0; i < nl; i++)
        ck_assert_msg(!(name[i] >= 'A' && name[i] <= 'Z'), "upper-case header name %.*s", (int)nl,
                      name);
    ck_assert_msg(!(nl == 10 && memcmp(name, "connection", 10) == 0), "connection header sent");
    return 0;
}

static int cl_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                   void *u)
{
    h2_resp_t *r = resp_for(u, id);
    ck_assert_uint_le(r->body_len + n, sizeof(r->body) - 1);
    memcpy(r->body + r->body_len, d, n);
    r->body_len += n;
    return 0;
}

static int cl_close(nghttp2_session *s, int32_t id, uint32_t code, void *u)
{
    h2_resp_t *r = resp_for(u, id);
    r->closed = 1;
    r->close_code = code;
    return 0;
}

static int cl_frame(nghttp2_session *s, const nghttp2_frame *fr, void *u)
{
    client_t *cl = u;
    if (fr->hd.type == NGHTTP2_GOAWAY) {
        cl->goaway = 1;
        cl->goaway_code = fr->goaway.error_code;
    }
    return 0;
}

static void cl_init(client_t *cl)
{
    nghttp2_session_callbacks *cb;
    memset(cl, 0, sizeof(*cl));
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_send_callback(cb, cl_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cl_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cl_frame);
    ck_assert_int_eq(nghttp2_session_client_new(&cl->s, cb, cl), 0);
    nghttp2_session_callbacks_del(cb);
    ck_assert_int_eq(nghttp2_submit_settings(cl->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }

typedef struct body_src {
    const char *data;
    size_t len, off;
} body_src_t;

static ssize_t cl_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *u)
{
    body_src_t *b = src->ptr;
    size_t n = b->len - b->off < len ? b->len - b->off : len;
    memcpy(buf, b->data + b->off, n);
    b->off += n;
    if (b->off == b->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int32_t cl_request(client_t *cl, const char *method, const char *path, body_src_t *body)
{
    nghttp2_nv nva[] = {NV(":method", method), NV(":scheme", "http"), NV(":path", path),
                        NV(":authority", "gw.test")};
    nghttp2_data_provider prd = {.source.ptr = body, .read_callback = cl_read_body};
    int32_t id = nghttp2_submit_request(cl->s, NULL, nva, 4, body ? &prd : NULL, NULL);
    ck_assert_int_gt(id, 0);
    return id;
}

/* Sends what the client queued (in pieces of step bytes), feeds the answer back to it. Returns
 * whether the gateway closed the connection. */
static int cl_roundtrip(client_t *cl, fixture_t *f, size_t step)
{
    ck_assert_int_eq(nghttp2_session_send(cl->s), 0);
    int closed;
    size_t n;
    char *in = exchange_n(f, cl->out, cl->out_len, step, &closed, &n);
    cl->out_len = 0;
    ssize_t rv = nghttp2_session_mem_recv(cl->s, (const uint8_t *)in, n);
    ck_assert_msg(rv == (ssize_t)n, "client could not parse the answer: %zd", rv);
    free(in);
    return closed;
}

static void cl_dispose(client_t *cl)
{
    nghttp2_session_del(cl->s);
}

/* ---- the codec ----------------------------------------------------------------------------- */

static void check_json_error(const h2_resp_t *r, int status, const char *fragment)
{
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(r->ctype, "application/json");
    ck_assert_msg(r->has_request_id, "no x-request-id");
    ck_assert_msg(strstr(r->body, "{\"status\":{\"error\":\"") == r->body, "%s", r->body);
    ck_assert_msg(strstr(r->body, fragment), "'%s' not in %s", fragment, r->body);
}

/* A request fed whole, and byte by byte (the preface split too). */
START_TEST(test_request_any_split)
{
    size_t steps[] = {1 << 20, 1, 7};
    fixture_t f;
    client_t cl;
    fx_init(&f);
    cl_init(&cl);
    int32_t id = cl_request(&cl, "GET", "/api/v1/nope?x=1", NULL);
    ck_assert_int_eq(cl_roundtrip(&cl, &f, steps[_i]), 0);
    h2_resp_t *r = resp_for(&cl, id);
    check_json_error(r, 404, "no gateway API route GET /api/v1/nope");
    ck_assert_int_eq(r->closed, 1);
    ck_assert_uint_eq(r->close_code, NGHTTP2_NO_ERROR);
    cl_dispose(&cl);
    fx_dispose(&f);
}
END_TEST

/* Several streams on one connection, each answered on its own stream. */
START_TEST(test_multiplexed_and_head)
{
    fixture_t f;
    client_t cl;
    fx_init(&f);
    cl_init(&cl);
    int32_t a = cl_request(&cl, "GET", "/api/v1/aaa", NULL);
    int32_t b = cl_request(&cl, "DELETE", "/api/v1/health", NULL);
    int32_t c = cl_request(&cl, "HEAD", "/api/v1/ccc", NULL);
    int32_t d = cl_request(&cl, "GET", "/collections", NULL); /* proxied: upstream is down */
    ck_assert_int_eq(cl_roundtrip(&cl, &f, 1 << 20), 0);
    check_json_error(resp_for(&cl, a), 404, "/api/v1/aaa");
    check_json_error(resp_for(&cl, b), 405, "DELETE /api/v1/health");
    ck_assert_int_eq(resp_for(&cl, c)->status, 404);
    ck_assert_uint_eq(resp_for(&cl, c)->body_len, 0); /* HEAD: no body */
    check_json_error(resp_for(&cl, d), 502, "Bad gateway");
    cl_dispose(&cl);
    fx_dispose(&f);
}
END_TEST

/* Limits answer on the offending stream only; the connection goes on. */
START_TEST(test_limits_per_stream)
{
    static char big[6000];
    memset(big, 'x', sizeof(big));
    body_src_t body = {big, sizeof(big), 0};
    char path[3000];
    snprintf(path, sizeof(path), "/api/v1/%02990d", 0);
    fixture_t f;
    client_t cl;
    fx_init(&f);
    cl_init(&cl);
    int32_t over = cl_request(&cl, "POST", "/collections/c/points/count", &body);
    int32_t hdr = cl_request(&cl, "GET", path, NULL);
    int32_t ok = cl_request(&cl, "GET", "/api/v1/fine", NULL);
    ck_assert_int_eq(cl_roundtrip(&cl, &f, 1 << 20), 0);
    h2_resp_t *r = resp_for(&cl, over);
    /* The body streams to an unreachable upstream: 413 when the limit is crossed first, or
     * the 502 of the upstream; either way on this stream only. */
    ck_assert_msg(r->status == 413 || r->status == 502, "status %d", r->status);
    if (r->status == 413) check_json_error(r, 413, "larger than allowed (limit: 4096 bytes)");
    check_json_error(resp_for(&cl, hdr), 431, "too large");
    check_json_error(resp_for(&cl, ok), 404, "/api/v1/fine");
    ck_assert_int_eq(cl.goaway, 0);
    cl_dispose(&cl);
    fx_dispose(&f);
}
END_TEST

/* A declared body over the limit is answered before any byte of it is read. */
START_TEST(test_content_length_over_limit)
{
    fixture_t f;
    client_t cl;
    fx_init(&f);
    cl_init(&cl);
    nghttp2_nv nva[] = {NV(":method", "POST"), NV(":scheme", "http"),
                        NV(":path", "/collections/c/points/count"), NV(":authority", "x"),
                        NV("content-length", "5000000")};
    int32_t id = nghttp2_submit_headers(cl.s, NGHTTP2_FLAG_NONE, -1, NULL, nva, 5, NULL);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(cl_roundtrip(&cl, &f, 1 << 20), 0);
    h2_resp_t *r = resp_for(&cl, id);
    check_json_error(r, 413, "request body of 5000000 bytes is larger than allowed");
    ck_assert_int_eq(r->closed, 1); /* then RST_STREAM(NO_ERROR): stop sending */
    ck_assert_uint_eq(r->close_code, NGHTTP2_NO_ERROR);
    cl_dispose(&cl);
    fx_dispose(&f);
}
END_TEST

/* A broken preface or garbage after a good one: GOAWAY and close, nothing else. */
START_TEST(test_garbage_gets_goaway)
{
    static const char bad_preface[] = "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n";
    static const char garbage[] =
        GW_H2_PREFACE "\x13\x37\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05 random bytes";
    const char *in = _i == 0 ? bad_preface : garbage;
    size_t len = _i == 0 ? sizeof(bad_preface) - 1 : sizeof(garbage) - 1;
    fixture_t f;
    fx_init(&f);
    int closed;
    size_t n;
    char *out = exchange_n(&f, in, len, 1 << 20, &closed, &n);
    ck_assert_int_eq(closed, 1);
    /* Frames: our SETTINGS, then a GOAWAY (type 7) with a non-zero error code. */
    int goaway = 0;
    for (size_t off = 0; off + 9 <= n;) {
        size_t flen = ((size_t)(unsigned char)out[off] << 16) |
                      ((size_t)(unsigned char)out[off + 1] << 8) | (unsigned char)out[off + 2];
        if (out[off + 3] == 7 && off + 9 + 8 <= n)
            goaway = (unsigned char)out[off + 9 + 7] != 0 || out[off + 9 + 6] != 0;
        off += 9 + flen;
    }
    ck_assert_msg(goaway, "no GOAWAY with an error code in %zu bytes", n);
    free(out);
    fx_dispose(&f);
}
END_TEST

static Suite *h2_suite(void)
{
    Suite *s = suite_create("h2");
    TCase *sniff = tcase_create("sniff"), *codec = tcase_create("codec");
    tcase_add_loop_test(sniff, test_sniff_whole_and_prefixes, 0, (int)NELEM(sniff_cases));
    tcase_set_timeout(codec, 60);
    tcase_add_loop_test(codec, test_request_any_split, 0, 3);
    tcase_add_test(codec, test_multiplexed_and_head);
    tcase_add_test(codec, test_limits_per_stream);
    tcase_add_test(codec, test_content_length_over_limit);
    tcase_add_loop_test(codec, test_garbage_gets_goaway, 0, 2);
    suite_add_tcase(s, sniff);
    suite_add_tcase(s, codec);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(h2_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
