/* gRPC wire details: message framing, grpc-timeout, status names, grpc-message encoding. */
#include "common/grpc_frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *gw_grpc_status_name(int code)
{
    if (code < 0 || code >= (int)(sizeof(status_names) / sizeof(status_names[0])))
        return "UNKNOWN_CODE";
    return status_names[code];
}

void gw_grpc_frame_header(uint8_t out[GW_GRPC_FRAME_HDR], int compressed, uint32_t len)
{
    out[0] = compressed ? 1 : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

void gw_grpc_decoder_init(gw_grpc_decoder_t *d, uint32_t max_message, int compression_ok)
{
    memset(d, 0, sizeof(*d));
    d->max_message = max_message;
    d->compression_ok = compression_ok;
}

void gw_grpc_decoder_free(gw_grpc_decoder_t *d)
{
    free(d->buf);
    d->buf = NULL;
    d->buf_len = d->cap = 0;
}

__attribute__((format(printf, 3, 4))) static int fail(gw_grpc_decoder_t *d, gw_grpc_frame_err_t e,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    d->err = e;
    vsnprintf(d->errmsg, sizeof(d->errmsg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Validates a complete prefix and sets d->need. */
static int check_header(gw_grpc_decoder_t *d, const uint8_t *h)
{
    uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
    if (h[0] > 1)
        return fail(d, GW_GRPC_FRAME_BAD_FLAG, "gRPC frame %llu: compressed flag is %u, not 0 or 1",
                    (unsigned long long)d->messages + 1, h[0]);
    if (h[0] == 1 && !d->compression_ok)
        return fail(d, GW_GRPC_FRAME_COMPRESSED,
                    "gRPC frame %llu: compressed flag set without grpc-encoding",
                    (unsigned long long)d->messages + 1);
    if (n > d->max_message)
        return fail(d, GW_GRPC_FRAME_TOO_LARGE, "gRPC message larger than max (%u vs. %u bytes)", n,
                    d->max_message);
    d->need = n;
    return 0;
}

static int deliver(gw_grpc_decoder_t *d, const uint8_t *data, gw_grpc_msg_t *msg)
{
    msg->data = data;
    msg->len = d->need;
    msg->compressed = d->hdr[0];
    d->hdr_len = 0;
    d->buf_len = 0;
    d->messages++;
    return 1;
}

/* The whole frame is in the input at a frame boundary: no copy. 1 delivered, 0 not applicable. */
static int fast_path(gw_grpc_decoder_t *d, const uint8_t **data, size_t *len, gw_grpc_msg_t *msg)
{
    if (d->hdr_len != 0 || *len < GW_GRPC_FRAME_HDR) return 0;
    const uint8_t *p = *data;
    uint32_t n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (*len - GW_GRPC_FRAME_HDR < n) return 0;
    if (check_header(d, p) < 0) return -1;
    memcpy(d->hdr, p, GW_GRPC_FRAME_HDR);
    *data += GW_GRPC_FRAME_HDR + n;
    *len -= GW_GRPC_FRAME_HDR + n;
    return deliver(d, p + GW_GRPC_FRAME_HDR, msg);
}

/* Makes room for want more bytes, growing geometrically up to the message length. */
static int reserve(gw_grpc_decoder_t *d, size_t want)
{
    if (d->buf_len + want <= d->cap) return 0;
    size_t cap = d->cap ? d->cap * 2 : 4096;
    if (cap < d->buf_len + want) cap = d->buf_len + want;
    if (cap > d->need) cap = d->need;
    uint8_t *b = realloc(d->buf, cap);
    if (!b)
        return fail(d, GW_GRPC_FRAME_NOMEM, "out of memory for a %u-byte gRPC message", d->need);
    d->buf = b;
    d->cap = cap;
    return 0;
}

int gw_grpc_frame_feed(gw_grpc_decoder_t *d, const uint8_t **data, size_t *len, gw_grpc_msg_t *msg)
{
    if (d->err) return -1;
    int rc = fast_path(d, data, len, msg);
    if (rc != 0) return rc;
    if (d->hdr_len < GW_GRPC_FRAME_HDR) {
        if (*len == 0) return 0;
        size_t take = GW_GRPC_FRAME_HDR - d->hdr_len;
        if (take > *len) take = *len;
        memcpy(d->hdr + d->hdr_len, *data, take);
        d->hdr_len += take;
        *data += take;
        *len -= take;
        if (d->hdr_len < GW_GRPC_FRAME_HDR) return 0;
        if (check_header(d, d->hdr) < 0) return -1;
        d->buf_len = 0;
    }
    size_t take = d->need - d->buf_len;
    if (take > *len) take = *len;
    if (take > 0) {
        if (reserve(d, take) < 0) return -1;
        memcpy(d->buf + d->buf_len, *data, take);
        d->buf_len += take;
        *data += take;
        *len -= take;
    }
    if (d->buf_len < d->need) return 0;
    return deliver(d, d->buf, msg);
}

int gw_grpc_frame_finish(gw_grpc_decoder_t *d)
{
    if (d->err) return -1;
    if (d->hdr_len == 0) return 0;
    if (d->hdr_len < GW_GRPC_FRAME_HDR)
        return fail(d, GW_GRPC_FRAME_TRUNCATED,
                    "gRPC stream ended inside a frame prefix (%zu of 5 bytes)", d->hdr_len);
    return fail(d, GW_GRPC_FRAME_TRUNCATED, "gRPC stream ended inside a message (%zu of %u bytes)",
                d->buf_len, d->need);
}

int gw_grpc_frame_err_status(gw_grpc_frame_err_t e)
{
    switch (e) {
    case GW_GRPC_FRAME_NONE:
        return GW_GRPC_OK;
    case GW_GRPC_FRAME_TOO_LARGE:
    case GW_GRPC_FRAME_NOMEM:
        return GW_GRPC_RESOURCE_EXHAUSTED;
    case GW_GRPC_FRAME_COMPRESSED:
        return GW_GRPC_INTERNAL;
    default:
        return GW_GRPC_INVALID_ARGUMENT;
    }
}

/* ---- grpc-timeout ---- */

static const struct {
    char unit;
    uint64_t ns;
} timeout_units[] = {{'n', 1ULL},          {'u', 1000ULL},        {'m', 1000000ULL},
                     {'S', 1000000000ULL}, {'M', 60000000000ULL}, {'H', 3600000000000ULL}};
#define NUNITS (sizeof(timeout_units) / sizeof(timeout_units[0]))

int gw_grpc_timeout_parse(const char *s, size_t len, uint64_t *ns, char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "grpc-timeout is empty");
        return -1;
    }
    size_t nd = len - 1;
    int shown = len > 32 ? 32 : (int)len;
    for (size_t k = 0; k < nd; k++) {
        if (s[k] < '0' || s[k] > '9') {
            snprintf(err, errlen, "grpc-timeout \"%.*s\": TimeoutValue must be ASCII digits", shown,
                     s);
            return -1;
        }
    }
    if (nd == 0 || nd > 8) {
        snprintf(err, errlen, "grpc-timeout \"%.*s\": TimeoutValue must have 1 to 8 digits", shown,
                 s);
        return -1;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < nd; k++)
        v = v * 10 + (uint64_t)(s[k] - '0');
    for (size_t u = 0; u < NUNITS; u++) {
        if (s[nd] != timeout_units[u].unit) continue;
        uint64_t m = timeout_units[u].ns;
        *ns = v > UINT64_MAX / m ? UINT64_MAX : v * m;
        return 0;
    }
    snprintf(err, errlen, "grpc-timeout \"%.*s\": unit must be one of H M S m u n", shown, s);
    return -1;
}

size_t gw_grpc_timeout_format(uint64_t ns, char out[10])
{
    for (size_t u = 0; u < NUNITS; u++) {
        uint64_t m = timeout_units[u].ns;
        uint64_t v = ns / m + (ns % m != 0);
        if (v <= 99999999 || u == NUNITS - 1)
            return (size_t)snprintf(out, 10, "%llu%c", (unsigned long long)v,
                                    timeout_units[u].unit);
    }
    return 0; /* not reached: UINT64_MAX ns is 5124096H */
}

/* ---- grpc-message ---- */

size_t gw_grpc_message_encode(const char *msg, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (outlen == 0) return 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)msg[k];
        int plain = c >= 0x20 && c <= 0x7e && c != '%';
        size_t need = plain ? 1 : 3;
        if (o + need >= outlen) break;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t gw_grpc_message_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t k = 0; k < len; k++) {
        int hi, lo;
        if (s[k] == '%' && k + 2 < len && (hi = hexval(s[k + 1])) >= 0 &&
            (lo = hexval(s[k + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            k += 2;
        } else {
            out[o++] = s[k];
        }
    }
    out[o] = '\0';
    return o;
}
