/* Where upstream.url is, as written: parsed once at startup, resolved by nobody here. Each
 * worker's pool keeps the host resolved on its own loop (gateway/core/dns.h): the own HTTP/1.1
 * client connects to the name's current address, libcurl gets it per transfer (CURLOPT_RESOLVE). */
#ifndef GW_UPSTREAM_RESOLVE_H
#define GW_UPSTREAM_RESOLVE_H

typedef struct gw_upstream_target {
    int https;           /* https:// (libcurl carries every request) */
    char host[256];      /* a name or an IP literal, IPv6 without brackets */
    int port;            /* as written, or the scheme's default */
    char authority[300]; /* host[:port] as written in upstream.url: Host, logs */
    char url[512];       /* the URL as written, without a trailing "/" */
} gw_upstream_target_t;

#define GW_UPSTREAM_MAX_PEERS 16 /* = GW_CONFIG_MAX_PEERS */

/* Every peer: upstream.urls, or the one of upstream.url. */
typedef struct gw_upstream_targets {
    int n;
    gw_upstream_target_t t[GW_UPSTREAM_MAX_PEERS];
} gw_upstream_targets_t;

/* Fills *t for url (zeroed first): 0, or -1 when url does not parse (the configuration check
 * makes that impossible; it is logged). */
int gw_upstream_parse(const char *url, gw_upstream_target_t *t);

/* Fills *ts from list ("url, url, ...": upstream.urls), or from `one` (upstream.url) when list
 * is empty. 0, or -1 when a URL does not parse or there are too many (logged). */
int gw_upstream_parse_all(const char *list, const char *one, gw_upstream_targets_t *ts);

#endif
