/* libFuzzer target for the HTTP/1.1 server codec end to end (gateway/http1/server.c behind
 * gateway/conn/sniff.c), through a real worker (fuzz_worker.h): per input a fresh socketpair
 * connection gets the bytes, cut into writes of a size chosen from the input's hash (whole, 1,
 * 7 or 100 bytes), the loop spins until quiet, the client half-closes, then leaves.
 * Properties: the gateway never crashes (ASan/UBSan); it frees the connection once the client
 * is gone; whatever it writes back is empty or starts with "HTTP/1.1 "; and, unless the input
 * holds a HEAD request (whose answers have no body, which a response parser cannot know), the
 * whole output parses as a sequence of complete HTTP/1.1 responses (status 100..599, framing
 * intact; a body without a length ends where the gateway closed). */
#include <llhttp.h>

#include "fuzz_worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct resp_check {
    int begun, messages;
    int bad;
} resp_check_t;

static int on_message_begin(llhttp_t *p)
{
    ((resp_check_t *)p->data)->begun++;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    resp_check_t *rc = p->data;
    int status = llhttp_get_status_code(p);
    if (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) != 1 || status < 100 ||
        status > 599)
        rc->bad = 1;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    ((resp_check_t *)p->data)->messages++;
    return 0;
}

static void check_output(const uint8_t *in, size_t insize, const fw_out_t *o)
{
    if (o->len == 0) return;
    if (o->len < 9 || memcmp(o->p, "HTTP/1.1 ", 9) != 0) {
        fprintf(stderr, "output does not start with HTTP/1.1: %.*s\n",
                (int)(o->len < 64 ? o->len : 64), (const char *)o->p);
        abort();
    }
    if (memmem(in, insize, "HEAD", 4)) return;
    static llhttp_settings_t settings;
    static int init;
    if (!init) {
        llhttp_settings_init(&settings);
        settings.on_message_begin = on_message_begin;
        settings.on_headers_complete = on_headers_complete;
        settings.on_message_complete = on_message_complete;
        init = 1;
    }
    llhttp_t p;
    resp_check_t rc = {0, 0, 0};
    llhttp_init(&p, HTTP_RESPONSE, &settings);
    p.data = &rc;
    llhttp_errno_t e = llhttp_execute(&p, (const char *)o->p, o->len);
    if (e == HPE_OK && o->closed) e = llhttp_finish(&p);
    if (e != HPE_OK || rc.bad || rc.messages == 0 || rc.begun != rc.messages) {
        fprintf(
            stderr, "output is not a stream of HTTP/1.1 responses (%s: %s, %d messages):\n%.*s\n",
            llhttp_errno_name(e), llhttp_get_error_reason(&p) ? llhttp_get_error_reason(&p) : "",
            rc.messages, (int)(o->len < 2048 ? o->len : 2048), (const char *)o->p);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    fw_init();
    fw_out_t o;
    fw_exchange(NULL, 0, data, size, fw_step(data, size), &o);
    check_output(data, size, &o);
    free(o.p);
    return 0;
}
