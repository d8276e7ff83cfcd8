/* A request head as a codec collects it: its bytes in one growing buffer and each header as
 * offsets into it (offsets, because the buffer moves as it grows), until the head is complete
 * and gw_head_give hands the bytes to the request. Used by the HTTP/1.1 and HTTP/2 codecs. */
#ifndef GW_HTTP_HEAD_H
#define GW_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http/request.h"

typedef struct gw_hoff {
    uint32_t name_off, name_len, value_off, value_len;
} gw_hoff_t;

typedef struct gw_head {
    char *buf;
    size_t len, cap;
    gw_hoff_t *hoff; /* grows on demand: small while a connection idles */
    size_t nh, hoff_cap;
} gw_head_t;

/* Appends n bytes (the buffer starts at first_cap and doubles); *off, when not NULL, gets the
 * offset they start at. 0, or -1 on out of memory (nothing appended). */
int gw_head_append(gw_head_t *h, const void *p, size_t n, size_t first_cap, uint32_t *off);
/* A new, zeroed header slot at hoff[nh++]; NULL when there are already max (nothing changes) or
 * on out of memory (tell them apart by h->nh == max). */
gw_hoff_t *gw_head_field(gw_head_t *h, size_t max);
/* Gives the bytes to r (r->raw) and fills r->hdrs / r->nhdrs with views of every header; extra
 * more slots are allocated after them for the codec to add. The head starts over empty (its
 * header slots are kept). 0, or -1 on out of memory (the head is unchanged). */
int gw_head_give(gw_head_t *h, gw_req_t *r, size_t extra);
/* Forgets what was collected, keeping the memory. */
void gw_head_reset(gw_head_t *h);
void gw_head_free(gw_head_t *h);

#endif
