/* Where upstream.url is: resolved once, before the workers start, so that no request waits on
 * DNS. The own HTTP/1.1 client connects to `addr`; libcurl gets `resolve` (CURLOPT_RESOLVE). */
#ifndef GW_UPSTREAM_RESOLVE_H
#define GW_UPSTREAM_RESOLVE_H

#include <sys/socket.h>

typedef struct gw_upstream_target {
    char resolve[300]; /* CURLOPT_RESOLVE entry "host:port:addr", or "" for IP literals */
    /* The address of an http:// upstream; addrlen 0 for https:// or a name that did not resolve
     * (libcurl then carries every request). */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char authority[300]; /* host[:port] as written in upstream.url: Host, logs */
} gw_upstream_target_t;

/* Fills *t for url (zeroed first). When resolution fails, libcurl resolves per connection
 * instead (logged). */
void gw_upstream_resolve(const char *url, gw_upstream_target_t *t);

#endif
