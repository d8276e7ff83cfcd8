/* What the gateway reads of Redis Sentinel, as text: the configured list of Sentinels and the
 * `+switch-master` message Sentinels publish on a failover. Pure: no I/O, no allocation. */
#ifndef GW_COMMON_REDIS_SENTINEL_H
#define GW_COMMON_REDIS_SENTINEL_H

#include <stddef.h>

#define GW_SENTINEL_MAX      16 /* Sentinels in one list */
#define GW_SENTINEL_HOST_MAX 64 /* bytes of a host, NUL included */

typedef struct gw_hostport {
    char host[GW_SENTINEL_HOST_MAX]; /* an IP literal (IPv6 without brackets) or a host name */
    int port;
} gw_hostport_t;

/* "host:port, [v6]:port, ..." (commas and/or spaces between entries; port required, 1-65535;
 * at least one, at most max). *n is the count. 0, or -1 with the problem in err. */
int gw_sentinel_parse_list(const char *text, gw_hostport_t *out, size_t max, size_t *n, char *err,
                           size_t errlen);

/* A `+switch-master` payload: "<master-name> <old-ip> <old-port> <new-ip> <new-port>". 1 when
 * it is well formed and names `master` (the new address in *to), 0 when it is for another
 * master, -1 when it is malformed. len bytes at msg, not NUL-terminated. */
int gw_sentinel_parse_switch(const char *msg, size_t len, const char *master, gw_hostport_t *to);

/* "host:port", or "[v6]:port" for a host with a colon; truncated to len. */
void gw_hostport_format(const gw_hostport_t *hp, char *buf, size_t len);

/* A name Sentinel accepts for a master: 1-63 bytes of [A-Za-z0-9._-]. 1 or 0. */
int gw_sentinel_name_ok(const char *name);

#endif
