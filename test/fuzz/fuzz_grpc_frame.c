/* libFuzzer target for common/grpc_frame.c. Input: byte 0 = options (bit 0: a grpc-encoding was
 * given), byte 1 = chunk size (0 means 1), bytes 2-3 = max message size (big-endian), then the
 * DATA bytes of one gRPC stream.
 * Properties: the stream fed in chunks gives the same messages (lengths, flags, bytes) and the
 * same outcome (error kind and message, or a clean or truncated end) as fed in one piece; each
 * message is within the limit; errors carry a non-empty message and map to a non-OK status; the
 * buffer never exceeds the largest message. The same bytes as a grpc-timeout either fail with a
 * message or parse to a value that gw_grpc_timeout_format writes back no shorter; as a
 * grpc-message they encode to printable ASCII that decodes back to the original. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grpc_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *bytes; /* every message's flag, length and bytes, concatenated */
    size_t len;
    int rc; /* -1 error, 0 clean end */
    gw_grpc_frame_err_t err;
    char errmsg[128];
} outcome_t;

static void record(outcome_t *o, const gw_grpc_msg_t *m)
{
    o->bytes = realloc(o->bytes, o->len + 5 + m->len);
    if (!o->bytes) abort();
    gw_grpc_frame_header(o->bytes + o->len, m->compressed, m->len);
    if (m->len) memcpy(o->bytes + o->len + 5, m->data, m->len);
    o->len += 5 + m->len;
}

static void run(const uint8_t *p, size_t n, size_t step, uint32_t max, int comp, outcome_t *o)
{
    gw_grpc_decoder_t d;
    gw_grpc_decoder_init(&d, max, comp);
    memset(o, 0, sizeof(*o));
    size_t off = 0, most = 0;
    int rc = 0;
    while (off < n && rc >= 0) {
        size_t chunk = n - off < step ? n - off : step;
        const uint8_t *q = p + off;
        size_t len = chunk;
        gw_grpc_msg_t m;
        while ((rc = gw_grpc_frame_feed(&d, &q, &len, &m)) == 1) {
            if (m.len > max || (m.compressed && !comp)) abort();
            if (m.len > most) most = m.len;
            record(o, &m);
        }
        if (rc == 0 && len != 0) abort(); /* 0 means the input was used up */
        if (d.cap > max) abort();
        off += chunk;
    }
    if (rc >= 0) rc = gw_grpc_frame_finish(&d);
    o->rc = rc;
    o->err = d.err;
    memcpy(o->errmsg, d.errmsg, sizeof(o->errmsg));
    if (rc < 0 && (d.err == GW_GRPC_FRAME_NONE || !d.errmsg[0] ||
                   gw_grpc_frame_err_status(d.err) == GW_GRPC_OK))
        abort();
    if (rc == 0 && d.err != GW_GRPC_FRAME_NONE) abort();
    gw_grpc_decoder_free(&d);
}

static void check_timeout(const uint8_t *p, size_t n)
{
    uint64_t ns = 0;
    char err[96];
    err[0] = '\0';
    if (n > 16) n = 16;
    if (gw_grpc_timeout_parse((const char *)p, n, &ns, err, sizeof(err)) < 0) {
        if (!err[0]) abort();
        return;
    }
    char out[10];
    size_t len = gw_grpc_timeout_format(ns, out);
    uint64_t back = 0;
    if (len < 2 || len > 9 || gw_grpc_timeout_parse(out, len, &back, err, sizeof(err)) < 0) abort();
    if (back < ns && ns != UINT64_MAX) abort();
}

static void check_message(const uint8_t *p, size_t n)
{
    if (n > 512) n = 512;
    size_t cap = 3 * n + 1;
    char *enc = malloc(cap), *dec = malloc(cap);
    size_t e = gw_grpc_message_encode((const char *)p, n, enc, cap);
    for (size_t k = 0; k < e; k++)
        if (enc[k] < 0x20 || enc[k] > 0x7e) abort();
    size_t dl = gw_grpc_message_decode(enc, e, dec);
    if (dl != n || memcmp(dec, p, n) != 0) abort();
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 65536) return 0;
    int comp = data[0] & 1;
    size_t step = data[1] ? data[1] : 1;
    uint32_t max = (uint32_t)data[2] << 8 | data[3];
    const uint8_t *p = data + 4;
    size_t n = size - 4;
    outcome_t whole, chunked;
    run(p, n, n ? n : 1, max, comp, &whole);
    run(p, n, step, max, comp, &chunked);
    if (whole.rc != chunked.rc || whole.err != chunked.err || whole.len != chunked.len ||
        (whole.len && memcmp(whole.bytes, chunked.bytes, whole.len) != 0) ||
        strcmp(whole.errmsg, chunked.errmsg) != 0)
        abort();
    free(whole.bytes);
    free(chunked.bytes);
    check_timeout(p, n);
    check_message(p, n);
    return 0;
}
