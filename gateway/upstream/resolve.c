/* Resolving upstream.url once at startup; see resolve.h. */
#include "gateway/upstream/resolve.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

void gw_upstream_resolve(const char *url, gw_upstream_target_t *t)
{
    memset(t, 0, sizeof(*t));
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto done;
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when written in the URL */
    snprintf(t->authority, sizeof(t->authority), "%s%s%s", host, port ? ":" : "", port ? port : "");
    /* "[::1]" is a literal too: getaddrinfo wants it without the brackets */
    char bare[300];
    size_t hl = strlen(host);
    int bracketed = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
    snprintf(bare, sizeof(bare), "%.*s", (int)(bracketed ? hl - 2 : hl), host + bracketed);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    hints.ai_flags |= AI_NUMERICHOST;
    int literal = getaddrinfo(bare, dport, &hints, &res) == 0;
    if (!literal) {
        hints.ai_flags &= ~AI_NUMERICHOST;
        int rc = getaddrinfo(bare, dport, &hints, &res);
        if (rc != 0) {
            gw_log_warn("cannot resolve upstream host %s (%s); will retry per connection", host,
                        gai_strerror(rc));
            goto done;
        }
    }
    if (strcmp(scheme, "http") == 0 && res->ai_addrlen <= sizeof(t->addr)) {
        memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
        t->addrlen = (socklen_t)res->ai_addrlen;
    }
    if (!literal) {
        char addr[INET6_ADDRSTRLEN] = "";
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr,
                      sizeof(addr));
        snprintf(t->resolve, sizeof(t->resolve), strchr(addr, ':') ? "%s:%s:[%s]" : "%s:%s:%s",
                 host, dport, addr);
        gw_log_info("upstream %s resolved to %s", host, addr);
    }
    freeaddrinfo(res);
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(dport);
    curl_url_cleanup(u);
}
