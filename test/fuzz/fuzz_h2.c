/* libFuzzer target for the HTTP/2 server codec end to end (gateway/http2/ behind
 * gateway/conn/sniff.c), through a real worker (fuzz_worker.h): per input a fresh socketpair
 * connection gets the client preface and then the input's bytes (frames, in the seeds), cut into
 * writes of a size chosen from the input's hash, the loop spins until quiet, the client
 * half-closes, then leaves.
 * Properties: the gateway never crashes (ASan/UBSan); it frees the connection once the client is
 * gone; its output is empty or starts with a SETTINGS frame (type 4, no ACK, stream 0), and is a
 * sequence of whole frames (9-byte headers with their full payloads) with no bytes left over,
 * each on a stream that is 0 for connection frames (SETTINGS, PING, GOAWAY) and odd otherwise
 * (the client opens streams; the gateway never pushes). */
#include "fuzz_worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(const fw_out_t *o)
{
    const unsigned char *p = o->p;
    if (o->len == 0) return;
    if (o->len < 9 || p[3] != 0x4 || (p[4] & 1) || (p[5] & 0x7f) || p[6] || p[7] || p[8]) {
        fprintf(stderr, "output does not start with a SETTINGS frame\n");
        abort();
    }
    size_t off = 0;
    while (off < o->len) {
        if (o->len - off < 9) {
            fprintf(stderr, "a partial frame header at %zu of %zu\n", off, o->len);
            abort();
        }
        size_t flen = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2];
        unsigned type = p[off + 3];
        uint32_t sid = ((uint32_t)(p[off + 5] & 0x7f) << 24) | (uint32_t)p[off + 6] << 16 |
                       (uint32_t)p[off + 7] << 8 | p[off + 8];
        if (type > 0x9 || type == 0x5 /* PUSH_PROMISE */) {
            fprintf(stderr, "frame type %u at %zu\n", type, off);
            abort();
        }
        int conn_frame = type == 0x4 || type == 0x6 || type == 0x7;
        if (conn_frame ? sid != 0
                       : (type != 0x8 && (sid == 0 || !(sid & 1))) ||
                             (type == 0x8 && sid != 0 && !(sid & 1))) {
            fprintf(stderr, "frame type %u on stream %u at %zu\n", type, sid, off);
            abort();
        }
        if (o->len - off - 9 < flen) {
            fprintf(stderr, "a frame of %zu bytes cut at %zu of %zu\n", flen, off, o->len);
            abort();
        }
        off += 9 + flen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    fw_init();
    fw_out_t o;
    fw_exchange(GW_H2_PREFACE, GW_H2_PREFACE_LEN, data, size, fw_step(data, size), &o);
    check_output(&o);
    free(o.p);
    return 0;
}
