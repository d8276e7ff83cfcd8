/* See bodyref.h. */
#include "gateway/http/bodyref.h"

#include <event2/buffer.h>
#include <stdlib.h>

typedef struct body_ref {
    void (*release)(void *arg);
    void *arg;
} body_ref_t;

static void body_ref_done(const void *data, size_t len, void *extra)
{
    body_ref_t *ref = extra;
    (void)data, (void)len;
    ref->release(ref->arg);
    free(ref);
}

int gw_body_add_ref(struct evbuffer *out, const void *data, size_t len, void (*release)(void *arg),
                    void *arg)
{
    body_ref_t *ref = malloc(sizeof(*ref));
    if (!ref) return -1;
    ref->release = release;
    ref->arg = arg;
    if (evbuffer_add_reference(out, data, len, body_ref_done, ref) != 0) {
        free(ref);
        return -1;
    }
    return 0;
}
