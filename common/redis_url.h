/* Redis connection settings and the redis:// URL that names them. Pure: no I/O, no allocation;
 * config validation and the Redis client both use it. */
#ifndef GW_COMMON_REDIS_URL_H
#define GW_COMMON_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

#include "common/redis_sentinel.h"
#include "common/stat.h"

struct gw_dns;

/* Zero means "the default" for every numeric field, so a memset struct filled by
 * gw_redis_parse_url is a complete configuration. */
typedef struct gw_redis_opts {
    char host[256];              /* IPv4 or IPv6 literal, or a host name (resolved with dns below);
                                  * "" = 127.0.0.1 */
    int port;                    /* 0 = 6379 */
    char password[256];          /* AUTH when non-empty */
    int db;                      /* SELECT when > 0 */
    uint32_t connect_timeout_ms; /* TCP connect + AUTH/SELECT/PING (or SUBSCRIBE); default 200 */
    uint32_t command_timeout_ms; /* per-command deadline; default 5 */
    uint32_t max_pending;        /* outstanding commands cap; over it = refused; default 1024 */
    uint32_t backoff_min_ms;     /* reconnect delay doubles from min to max, with jitter */
    uint32_t backoff_max_ms;     /* defaults 100 and 5000 */
    uint32_t keepalive_ms;       /* PING the command connection when idle this long; default 30000,
                                  * below Redis's `timeout` (pub/sub connections are exempt from it) */
    size_t max_reply_bytes;      /* a reply whose strings add up to more is refused and the
                                  * connection dropped (see gateway/redis/client.h); default 4 MiB */
    /* Redis Sentinel: when nsentinels > 0, host and port are ignored and the master of
     * master_name is asked of these (IP literals), and followed across failovers. */
    gw_hostport_t sentinels[GW_SENTINEL_MAX];
    size_t nsentinels;
    char master_name[64];
    char sentinel_password[256]; /* AUTH to the Sentinels when non-empty */
    /* The resolver of the loop the client runs on (gateway/core/dns.h), for a host name; NULL
     * = IP literals only. dns_counts: GW_DNS_R_N counters of its resolutions, or NULL. */
    struct gw_dns *dns;
    gw_stat_t *dns_counts;
} gw_redis_opts_t;

/* Fills host, port, password and db from redis://[:password@]host[:port][/db] (password
 * percent-decoded; host an IP literal, [v6] literal, a host name, or "localhost" = 127.0.0.1).
 * Other fields are left as they are. 0, or -1 with a message in err. */
int gw_redis_parse_url(const char *url, gw_redis_opts_t *o, char *err, size_t errlen);

#endif
