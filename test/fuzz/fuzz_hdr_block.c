/* libFuzzer target for gw_hdr_block_next (gateway/http/headers.c), the walk over stored header
 * blocks (upstream heads, cache entries). Input: the block itself, in an exact-size heap copy.
 * Properties: every view lies within the block; off strictly increases and stays <= len; the
 * walk ends within len + 1 steps and stays ended; each header is one line's "name: value" with
 * a non-empty name without ':' or line ends, a value trimmed of spaces and tabs
 * within its line;
 * the walk sees exactly the lines with a colon past their first byte, in order; and walking the
 * block with CRLF line ends instead of LF gives the same headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http/headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 4097

static size_t walk(const char *buf, size_t len, gw_hdr_t *out, size_t max)
{
    size_t off = 0, n = 0, steps = 0;
    gw_hdr_t h;
    for (;;) {
        size_t before = off;
        int more = gw_hdr_block_next(buf, len, &off, &h);
        if (off > len) abort();
        if (!more) {
            if (off != len) abort(); /* the end is the end of the block */
            break;
        }
        if (off <= before) abort(); /* must progress */
        if (++steps > len + 1) abort();
        /* Views inside [buf + before, buf + off): the line just consumed. */
        if (h.name < buf + before || h.name_len == 0 || h.name + h.name_len > buf + off) abort();
        if (h.value < h.name + h.name_len + 1 || h.value + h.value_len > buf + off) abort();
        if (h.name[h.name_len] != ':') abort();
        if (memchr(h.name, ':', h.name_len) || memchr(h.name, '\n', h.name_len)) abort();
        if (memchr(h.value, '\n', h.value_len)) abort();
        if (h.value_len && (h.value[0] == ' ' || h.value[0] == '\t' ||
                            h.value[h.value_len - 1] == ' ' || h.value[h.value_len - 1] == '\t'))
            abort();
        if (n < max) out[n] = h;
        n++;
    }
    /* The end stays the end. */
    if (gw_hdr_block_next(buf, len, &off, &h) != 0) abort();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    static gw_hdr_t a[MAXH], b[MAXH];
    size_t na = walk(buf, size, a, MAXH);

    /* A model of the walk: lines split at '\n', a trailing '\r' dropped, a colon after byte 0. */
    size_t expect = 0;
    for (size_t i = 0; i < size;) {
        const char *eol = memchr(buf + i, '\n', size - i);
        size_t ll = eol ? (size_t)(eol - (buf + i)) : size - i;
        size_t cl = ll && buf[i + ll - 1] == '\r' ? ll - 1 : ll;
        const char *colon = memchr(buf + i, ':', cl);
        if (colon && colon != buf + i) expect++;
        i += ll + 1;
    }
    if (na != expect) abort();

    /* LF -> CRLF (for lines not already ending in CR) gives the same headers. */
    char *crlf = malloc(size * 2 + 1);
    size_t cl = 0;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) crlf[cl++] = '\r';
        crlf[cl++] = buf[i];
    }
    size_t nb = walk(crlf, cl, b, MAXH);
    if (nb != na) abort();
    for (size_t i = 0; i < na && i < MAXH; i++) {
        if (a[i].name_len != b[i].name_len || memcmp(a[i].name, b[i].name, a[i].name_len) != 0 ||
            a[i].value_len != b[i].value_len || memcmp(a[i].value, b[i].value, a[i].value_len) != 0)
            abort();
    }
    free(crlf);
    free(buf);
    return 0;
}
