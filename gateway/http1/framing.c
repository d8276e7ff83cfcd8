/* HTTP/1.1 request framing rules the codec applies before a request runs; see framing.h. */
#include "gateway/http1/framing.h"

#include <stdio.h>
#include <string.h>

#include "gateway/http/headers.h"

/* RFC 9110 token characters: llhttp lets "Name :" through, which a proxy must refuse (the
 * next hop may read the name differently: request smuggling). */
int gw_h1_is_token(const char *s, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch && strchr(extra, ch))))
            return 0;
    }
    return 1;
}

/* Trims spaces and tabs around a header value view. */
static void h1_trim(const char **v, size_t *n)
{
    while (*n && (**v == ' ' || **v == '\t'))
        (*v)++, (*n)--;
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
        (*n)--;
}

/* RFC 9112's framing rules, checked before the request runs anywhere: llhttp refuses a
 * Transfer-Encoding other than chunked only after on_headers_complete, when the request would
 * already have been dispatched (a DELETE answered 400 yet executed). 0, or 400 with msg. */
int gw_h1_check_framing(const gw_req_t *r, char *msg, size_t cap)
{
    size_t te = 0, host = 0;
    const char *tev = NULL;
    size_t tel = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const gw_hdr_t *h = &r->hdrs[i];
        if (gw_header_name_eq(h->name, h->name_len, "transfer-encoding")) {
            te++;
            tev = h->value, tel = h->value_len;
        } else if (gw_header_name_eq(h->name, h->name_len, "host")) {
            host++;
        }
    }
    const char *why = NULL;
    if (te && r->http_minor == 0)
        why = "Transfer-Encoding in an HTTP/1.0 request";
    else if (te > 1)
        why = "more than one Transfer-Encoding header";
    else if (te) {
        h1_trim(&tev, &tel);
        if (!(tel == 7 && gw_header_name_eq(tev, tel, "chunked")))
            why = "unsupported Transfer-Encoding (only chunked is accepted)";
    }
    if (!why && r->http_minor >= 1 && host == 0) why = "missing Host header";
    if (!why && host > 1) why = "more than one Host header";
    if (!why) return 0;
    snprintf(msg, cap, "Bad request: %s", why);
    return 400;
}

/* RFC 9112 3.2.2: a server accepts the absolute form ("http://host/path?q"): the request is
 * for the path, as if the origin form had been sent. 0, or -1 when the authority is empty. */
int gw_h1_absolute_form(gw_req_t *r)
{
    const char *t = r->target;
    size_t n = r->target_len, skip;
    if (n >= 7 && gw_header_name_eq(t, 7, "http://"))
        skip = 7;
    else if (n >= 8 && gw_header_name_eq(t, 8, "https://"))
        skip = 8;
    else
        return 0; /* not absolute: gw_req_admit judges it */
    size_t a = skip;
    while (a < n && t[a] != '/' && t[a] != '?')
        a++;
    if (a == skip) return -1;
    if (a == n) {
        r->target = "/";
        r->target_len = 1;
    } else if (t[a] == '?') {
        r->raw[(t + a - 1) - r->raw] = '/'; /* the authority's last byte is not needed */
        r->target = t + a - 1;
        r->target_len = n - a + 1;
    } else {
        r->target = t + a;
        r->target_len = n - a;
    }
    r->path = r->target;
    const char *q = memchr(r->target, '?', r->target_len);
    r->path_len = q ? (size_t)(q - r->target) : r->target_len;
    r->query = q ? q + 1 : NULL;
    r->query_len = q ? r->target_len - r->path_len - 1 : 0;
    return 0;
}
