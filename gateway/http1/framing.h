/* The HTTP/1.1 rules a request head must pass before it runs anywhere (RFC 9110, RFC 9112), pure
 * functions over the head the codec built: field-name tokens, Transfer-Encoding and Host, and
 * the absolute form. */
#ifndef GW_HTTP1_FRAMING_H
#define GW_HTTP1_FRAMING_H

#include <stddef.h>

#include "gateway/http/request.h"

/* RFC 9110 token: llhttp lets "Name :" through, which a proxy must refuse (smuggling). */
int gw_h1_is_token(const char *s, size_t n);

/* Transfer-Encoding exactly "chunked", only one and not in HTTP/1.0; exactly one Host in
 * HTTP/1.1. 0, or 400 with the error text in msg. */
int gw_h1_check_framing(const gw_req_t *r, char *msg, size_t cap);

/* "http://host/path?q" becomes the request for "/path?q" (RFC 9112 3.2.2); other targets are
 * left alone. 0, or -1 when the authority is empty. May rewrite one byte of r->raw. */
int gw_h1_absolute_form(gw_req_t *r);

#endif
