/* Host names kept resolved on a worker's loop without ever blocking it: libevent's evdns, one
 * resolver per loop (nameservers from /etc/resolv.conf or dns.resolvers, names from the hosts
 * file first). A gw_dns_name_t is one host:port a peer is reached at (upstream.url's host,
 * cache.redis.url's host): it resolves at creation, again at the record's TTL (clamped to
 * dns.min_ttl..dns.max_ttl) and when its user says a connection to it failed (at most once per
 * dns.min_ttl), and keeps its last good addresses when a resolution fails. An IP literal is a
 * name that never resolves. Loop thread only, except gw_dns_name_describe's stats. */
#ifndef GW_CORE_DNS_H
#define GW_CORE_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/stat.h"

struct event_base;
typedef struct gw_dns gw_dns_t;
typedef struct gw_dns_name gw_dns_name_t;

typedef struct gw_dns_opts {
    const char *resolvers;  /* "" = /etc/resolv.conf; else "IP[:port]" items, comma-separated */
    const char *hosts_file; /* consulted before DNS (read once); "" = none */
    uint64_t min_ttl_ms;    /* shortest refresh, and the least time between two resolutions */
    uint64_t max_ttl_ms;    /* longest a resolved address is used without asking again */
    uint64_t timeout_ms;    /* one query's timeout (evdns tries twice per nameserver) */
    int log;                /* log changes and failures (one worker does, not all) */
} gw_dns_opts_t;

/* NULL with err filled (bad dns.resolvers item, out of memory). A resolv.conf that cannot be
 * read is logged and leaves evdns's default (127.0.0.1). */
gw_dns_t *gw_dns_new(struct event_base *base, const gw_dns_opts_t *o, char *err, size_t errlen);
/* After every name made from it was freed. NULL is a no-op. */
void gw_dns_free(gw_dns_t *d);
/* Checks one dns.resolvers list without creating anything: 0, or -1 with err filled. */
int gw_dns_check_resolvers(const char *list, char *err, size_t errlen);

/* What a resolution counts (an array of GW_DNS_R_N counters owned by the caller). */
enum { GW_DNS_R_OK, GW_DNS_R_FAILED, GW_DNS_R_CHANGED, GW_DNS_R_N };

/* Called on the loop after each resolution ends, changed = the address set differs from before
 * (the first answer included). Not called for literals. */
typedef void (*gw_dns_name_cb)(void *arg, int changed);

/* host: a name, an IPv4 literal or an IPv6 literal (brackets allowed). label names the peer in
 * logs ("upstream", "redis"). counts may be NULL. d may be NULL for literals only. Starts the
 * first resolution (its callback comes later, never from inside this call). NULL if out of
 * memory or (d NULL) host is not a literal. */
gw_dns_name_t *gw_dns_name_new(gw_dns_t *d, const char *label, const char *host, int port,
                               gw_stat_t *counts, gw_dns_name_cb cb, void *arg);
void gw_dns_name_free(gw_dns_name_t *n);

/* The next address to connect to (rotating over the set): 0, or -1 when there is none yet. */
int gw_dns_name_pick(gw_dns_name_t *n, struct sockaddr_storage *ss, socklen_t *len);
/* A resolution is under way: a caller with no address should wait for the callback. */
int gw_dns_name_busy(const gw_dns_name_t *n);
/* A connection to the name's address failed: resolve again now, or as soon as dns.min_ttl has
 * passed since the last resolution started. */
void gw_dns_name_failed(gw_dns_name_t *n);
int gw_dns_name_is_literal(const gw_dns_name_t *n);
/* How many addresses the name has now (0 before its first answer). */
size_t gw_dns_name_count(const gw_dns_name_t *n);
const char *gw_dns_name_host(const gw_dns_name_t *n);
/* The current addresses as "a:port,b:port" ("" when none), and the last resolution's error ("":
 * it succeeded). */
void gw_dns_name_describe(const gw_dns_name_t *n, char *buf, size_t len);
const char *gw_dns_name_error(const gw_dns_name_t *n);
/* One address as "a:port" ("[v6]:port"). */
void gw_dns_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len);
/* "host:port:addr[,addr...]" for CURLOPT_RESOLVE ([v6] in brackets); -1 when there is none or
 * the name is a literal. */
int gw_dns_name_curl_entry(const gw_dns_name_t *n, char *buf, size_t len);

#endif
