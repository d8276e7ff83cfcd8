/* Stored bytes handed to a codec's output by reference (cache hits): the codec's evbuffer
 * points at them instead of copying, and the owner's reference is dropped once the output no
 * longer needs them. Shared by the HTTP/1.1 and HTTP/2 codecs' send_body_ref. */
#ifndef GW_HTTP_BODYREF_H
#define GW_HTTP_BODYREF_H

#include <stddef.h>

struct evbuffer;

/* Appends len bytes at data to out by reference; release(arg) runs once out has written or
 * dropped them. 0, or -1 (out of memory): out is unchanged and the caller still holds the
 * reference (copy the bytes, then release). */
int gw_body_add_ref(struct evbuffer *out, const void *data, size_t len, void (*release)(void *arg),
                    void *arg);

#endif
