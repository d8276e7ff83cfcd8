/* gateway/config: the addresses derived from a loaded configuration (the TLS and gRPC
 * listeners, the gRPC upstream peers); see config.h. */
#include <stdio.h>
#include <string.h>

#include "gateway/core/config.h"

int gw_config_tls_addr(const gw_config_t *c, gw_listen_addr_t *out, char *err, size_t errlen)
{
    char msg[256];

    if (yconf_parse_listen(c->tls_listen, &out->host, &out->port, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "tls.listen: %s", msg);
        return -1;
    }
    return 0;
}

int gw_config_grpc_addr(const gw_config_t *c, gw_listen_addr_t *out, char *err, size_t errlen)
{
    char msg[256];

    if (yconf_parse_listen(c->grpc_listen, &out->host, &out->port, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "server.grpc_listen: %s", msg);
        return -1;
    }
    return 0;
}

/* "http://<host of url>:6334". */
static void grpc_from_rest(const char *u, size_t len, char *out, size_t cap)
{
    const char *a = strstr(u, "://");
    a = a && a < u + len ? a + 3 : u;
    size_t n = strcspn(a, "/?#,");
    if (a + n > u + len) n = (size_t)(u + len - a);
    const char *host_end = a + n;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (rb) host_end = rb + 1;
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon) host_end = colon;
    }
    snprintf(out, cap, "http://%.*s:6334", (int)(host_end - a), a);
}

int gw_config_grpc_peers(const gw_config_t *c, char (*out)[GW_CONFIG_GRPC_URL_MAX], int max)
{
    if (c->upstream_grpc_url[0]) {
        snprintf(out[0], GW_CONFIG_GRPC_URL_MAX, "%s", c->upstream_grpc_url);
        return 1;
    }
    const char *list = c->upstream_grpc_urls[0] ? c->upstream_grpc_urls : c->upstream_urls;
    if (!list[0]) {
        grpc_from_rest(c->upstream_url, strlen(c->upstream_url), out[0], GW_CONFIG_GRPC_URL_MAX);
        return 1;
    }
    int k = 0;
    for (const char *p = list; *p && k < max;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && p[m - 1] == ' ')
            m--;
        if (m > 1 && p[m - 1] == '/') m--;
        if (list == c->upstream_grpc_urls)
            snprintf(out[k], GW_CONFIG_GRPC_URL_MAX, "%.*s", (int)m, p);
        else
            grpc_from_rest(p, m, out[k], GW_CONFIG_GRPC_URL_MAX);
        k++;
        p += n;
        if (*p == ',') p++;
    }
    return k;
}
