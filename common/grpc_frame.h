/* gRPC over HTTP/2 wire details, shared by the gateway and fake_qdrant: the length-prefixed
 * message framing of DATA payloads (1-byte compressed flag, 4-byte big-endian length, message),
 * the grpc-timeout header, status code names and grpc-message percent-encoding. Pure: no I/O;
 * the decoder owns one buffer bounded by its message size limit. */
#ifndef GW_COMMON_GRPC_FRAME_H
#define GW_COMMON_GRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define GW_GRPC_FRAME_HDR 5

/* The status codes of grpc/grpc doc/statuscodes.md. */
typedef enum {
    GW_GRPC_OK = 0,
    GW_GRPC_CANCELLED = 1,
    GW_GRPC_UNKNOWN = 2,
    GW_GRPC_INVALID_ARGUMENT = 3,
    GW_GRPC_DEADLINE_EXCEEDED = 4,
    GW_GRPC_NOT_FOUND = 5,
    GW_GRPC_ALREADY_EXISTS = 6,
    GW_GRPC_PERMISSION_DENIED = 7,
    GW_GRPC_RESOURCE_EXHAUSTED = 8,
    GW_GRPC_FAILED_PRECONDITION = 9,
    GW_GRPC_ABORTED = 10,
    GW_GRPC_OUT_OF_RANGE = 11,
    GW_GRPC_UNIMPLEMENTED = 12,
    GW_GRPC_INTERNAL = 13,
    GW_GRPC_UNAVAILABLE = 14,
    GW_GRPC_DATA_LOSS = 15,
    GW_GRPC_UNAUTHENTICATED = 16,
} gw_grpc_status_t;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN_CODE" outside 0..16. */
const char *gw_grpc_status_name(int code);

/* ---- framing ---- */

/* Writes the 5-byte prefix of a message of len bytes. */
void gw_grpc_frame_header(uint8_t out[GW_GRPC_FRAME_HDR], int compressed, uint32_t len);

typedef enum {
    GW_GRPC_FRAME_NONE = 0,
    GW_GRPC_FRAME_TOO_LARGE,  /* declared length over max_message: RESOURCE_EXHAUSTED */
    GW_GRPC_FRAME_BAD_FLAG,   /* flag byte neither 0 nor 1: INVALID_ARGUMENT */
    GW_GRPC_FRAME_COMPRESSED, /* flag 1 without a grpc-encoding: INTERNAL (gRPC's compression
                               * spec calls it a protocol error) */
    GW_GRPC_FRAME_TRUNCATED,  /* the stream ended inside a prefix or a message: INVALID_ARGUMENT */
    GW_GRPC_FRAME_NOMEM,      /* RESOURCE_EXHAUSTED */
} gw_grpc_frame_err_t;

/* One decoded message. data points into the input given to gw_grpc_frame_feed (when the whole
 * message was there) or into the decoder's buffer; valid until the next feed, finish or free. */
typedef struct {
    const uint8_t *data;
    uint32_t len;
    int compressed;
} gw_grpc_msg_t;

typedef struct {
    uint32_t max_message; /* largest accepted message length */
    int compression_ok;   /* the stream named a grpc-encoding other than identity */
    uint8_t hdr[GW_GRPC_FRAME_HDR];
    size_t hdr_len; /* prefix bytes gathered so far */
    uint32_t need;  /* message length of the current frame (valid when hdr_len == 5) */
    uint8_t *buf;   /* partial message, capacity cap */
    size_t buf_len, cap;
    uint64_t messages; /* complete messages returned */
    gw_grpc_frame_err_t err;
    char errmsg[128];
} gw_grpc_decoder_t;

void gw_grpc_decoder_init(gw_grpc_decoder_t *d, uint32_t max_message, int compression_ok);
void gw_grpc_decoder_free(gw_grpc_decoder_t *d);

/* Consumes input from *data, *len (both advanced). Returns 1 with *msg filled when a message is
 * complete (call again for the rest of the input), 0 when the input is used up without one, -1
 * on an error (d->err, d->errmsg; the decoder stays failed). */
int gw_grpc_frame_feed(gw_grpc_decoder_t *d, const uint8_t **data, size_t *len, gw_grpc_msg_t *msg);
/* The stream ended: 0 at a frame boundary, -1 with GW_GRPC_FRAME_TRUNCATED inside a frame. */
int gw_grpc_frame_finish(gw_grpc_decoder_t *d);
/* The gRPC status an error maps to (the comments on gw_grpc_frame_err_t). */
int gw_grpc_frame_err_status(gw_grpc_frame_err_t e);

/* ---- grpc-timeout: TimeoutValue (1 to 8 digits) TimeoutUnit (H M S m u n) ---- */

/* Parses s[0..len) into nanoseconds (saturating at UINT64_MAX: 99999999H does not fit).
 * 0, or -1 with a message in err. */
int gw_grpc_timeout_parse(const char *s, size_t len, uint64_t *ns, char *err, size_t errlen);
/* Formats ns in the finest unit whose value fits in 8 digits, rounding up (never shorter than
 * asked; 0 becomes "0n"). out needs 10 bytes; returns the length. */
size_t gw_grpc_timeout_format(uint64_t ns, char out[10]);

/* ---- grpc-message: percent-encoding of everything outside 0x20..0x7E, and '%' ---- */

/* Encodes msg into out (NUL-terminated, truncated at a whole character to fit outlen);
 * returns the length written. */
size_t gw_grpc_message_encode(const char *msg, size_t len, char *out, size_t outlen);
/* Decodes into out (which may be s itself; needs len + 1 bytes). Malformed escapes are kept as they
 * are (the spec asks receivers to be lenient). Returns the decoded length; out is NUL-terminated.
 */
size_t gw_grpc_message_decode(const char *s, size_t len, char *out);

#endif
