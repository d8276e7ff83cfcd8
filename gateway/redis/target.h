/* Where a Redis client connects when cache.redis.url names a host: the name's current address
 * (gateway/core/dns.h) as the literal hiredis is given, so hiredis never resolves anything. */
#ifndef GW_REDIS_TARGET_H
#define GW_REDIS_TARGET_H

#include <stddef.h>

#include "gateway/core/dns.h"

/* The next address of n as host (a literal, no brackets) and port, and "a:port" in addr for
 * logs. 0: there is one; 1: none yet, an answer is coming (wait for the name's callback); -1:
 * none, the last resolution failed (why says so). */
int gw_redis_target_pick(gw_dns_name_t *n, char *host, size_t hostlen, int *port, char *addr,
                         size_t addrlen, char *why, size_t whylen);
/* addr ("a:port") is one of n's current addresses. */
int gw_redis_target_current(const gw_dns_name_t *n, const char *addr);

#endif
