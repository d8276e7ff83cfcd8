/* Collecting a request head; see head.h. */
#include "gateway/http/head.h"

#include <stdlib.h>
#include <string.h>

int gw_head_append(gw_head_t *h, const void *p, size_t n, size_t first_cap, uint32_t *off)
{
    if (h->len + n > h->cap) {
        size_t cap = h->cap ? h->cap : (first_cap ? first_cap : 512);
        while (cap < h->len + n)
            cap *= 2;
        char *b = realloc(h->buf, cap);
        if (!b) return -1;
        h->buf = b;
        h->cap = cap;
    }
    if (n) memcpy(h->buf + h->len, p, n);
    if (off) *off = (uint32_t)h->len;
    h->len += n;
    return 0;
}

gw_hoff_t *gw_head_field(gw_head_t *h, size_t max)
{
    if (h->nh >= max) return NULL;
    if (h->nh == h->hoff_cap) {
        size_t cap = h->hoff_cap ? 2 * h->hoff_cap : 16;
        if (cap > max) cap = max;
        gw_hoff_t *o = realloc(h->hoff, cap * sizeof(*o));
        if (!o) return NULL;
        h->hoff = o;
        h->hoff_cap = cap;
    }
    gw_hoff_t *o = &h->hoff[h->nh++];
    memset(o, 0, sizeof(*o));
    return o;
}

int gw_head_give(gw_head_t *h, gw_req_t *r, size_t extra)
{
    r->hdrs = calloc(h->nh + extra ? h->nh + extra : 1, sizeof(gw_hdr_t));
    if (!r->hdrs) return -1;
    r->raw = h->buf;
    const char *raw = r->raw ? r->raw : "";
    for (size_t i = 0; i < h->nh; i++) {
        const gw_hoff_t *o = &h->hoff[i];
        r->hdrs[i] = (gw_hdr_t){raw + o->name_off, o->name_len, raw + o->value_off, o->value_len};
    }
    r->nhdrs = h->nh;
    h->buf = NULL;
    h->len = h->cap = 0;
    h->nh = 0;
    return 0;
}

void gw_head_reset(gw_head_t *h)
{
    h->len = 0;
    h->nh = 0;
}

void gw_head_free(gw_head_t *h)
{
    free(h->buf);
    free(h->hoff);
    memset(h, 0, sizeof(*h));
}
