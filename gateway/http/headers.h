/* Header-name helpers for a proxy: which headers are hop-by-hop (RFC 9110 section 7.6.1) and
 * must not be forwarded, and case-insensitive name/token comparisons on (pointer, length) views. */
#ifndef GW_GATEWAY_HEADERS_H
#define GW_GATEWAY_HEADERS_H

#include <stddef.h>

/* A header as (pointer, length) views; in a request they point into memory the request owns. */
typedef struct gw_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} gw_hdr_t;

/* True when a header must not be forwarded by a proxy: Connection, Keep-Alive, Proxy-Connection,
 * TE, Trailer, Transfer-Encoding, Upgrade, any Proxy-* (Proxy-Authorization,
 * Proxy-Authenticate, ...), and any name listed in the message's Connection header value
 * (comma-separated tokens, case-insensitive, optional whitespace). connection_value may be NULL
 * (then connection_len is ignored). When a message has several Connection header lines, call
 * once per line (or pass them joined with ","). Inputs need no NUL terminator; thread-safe.
 * Exception: Connection cannot nominate Api-Key, Authorization, Content-Length or Host; those are
 * never hop-by-hop, so a client cannot make the gateway strip credentials or framing (the
 * hop-by-hop abuse of CVE-2022-31813). Meant for headers as received: headers the gateway adds
 * itself are not subject to the sender's Connection list. */
int gw_header_is_hop_by_hop(const char *name, size_t name_len, const char *connection_value,
                            size_t connection_len);

/* Case-insensitive comparison of a (ptr,len) header name with a NUL-terminated lowercase
 * literal. True only for an exact match of the whole name. */
int gw_header_name_eq(const char *name, size_t len, const char *lower_literal);

/* True if the comma-separated header value contains the token (case-insensitive), e.g.
 * Connection: "keep-alive, Upgrade" has "upgrade". Elements are trimmed of spaces and tabs and
 * compared whole: parameters are not parsed, so "gzip;q=0" does not contain "gzip" (as Go's
 * httpguts.HeaderValuesContainsToken). Empty elements and an empty token never match. */
int gw_header_has_token(const char *value, size_t len, const char *lower_token);

/* Walks a block of "Name: value" lines (LF or CRLF ended; the last may lack its end), as
 * upstream heads and cache entries store them: fills *out with views into buf for the next line
 * that has a non-empty name before a colon (value trimmed of spaces and tabs; other lines are
 * skipped) and returns 1, or returns 0 at the end. Start with *off = 0. */
int gw_hdr_block_next(const char *buf, size_t len, size_t *off, gw_hdr_t *out);

#endif
