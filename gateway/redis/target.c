/* A Redis host name's address for hiredis; see target.h. */
#include "gateway/redis/target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int gw_redis_target_pick(gw_dns_name_t *n, char *host, size_t hostlen, int *port, char *addr,
                         size_t addrlen, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (gw_dns_name_pick(n, &ss, &sl) != 0) {
        if (gw_dns_name_busy(n)) return 1;
        const char *e = gw_dns_name_error(n);
        snprintf(why, whylen, "host %s does not resolve: %s", gw_dns_name_host(n),
                 e[0] ? e : "no address");
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s->sin_addr, host, (socklen_t)hostlen);
        *port = ntohs(s->sin_port);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s->sin6_addr, host, (socklen_t)hostlen);
        *port = ntohs(s->sin6_port);
    }
    gw_dns_addr_format(&ss, addr, addrlen);
    return 0;
}

int gw_redis_target_current(const gw_dns_name_t *n, const char *addr)
{
    char set[1024];
    gw_dns_name_describe(n, set, sizeof(set));
    size_t al = strlen(addr);
    for (const char *p = set; *p;) {
        size_t l = strcspn(p, ",");
        if (l == al && memcmp(p, addr, al) == 0) return 1;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}
