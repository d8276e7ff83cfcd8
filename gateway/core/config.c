/* gateway/config: the key table (name, type, field, range, default, check, help) behind
 * gw_config_t, the checks yconf cannot know (URLs, log levels, cross-key rules), and lifetime. */
#include "gateway/core/config.h"
#include "common/redis_url.h"
#include "gateway/core/dns.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC  1000.0
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define KIB  1024.0
#define MIB  (1024 * KIB)
#define GIB  (1024 * MIB)

/* yconf writes listen addresses through its own struct's member offsets. */
_Static_assert(sizeof(gw_listen_addr_t) == sizeof(yconf_listen_t) &&
                   offsetof(gw_listen_addr_t, host) == offsetof(yconf_listen_t, host) &&
                   offsetof(gw_listen_addr_t, port) == offsetof(yconf_listen_t, port),
               "gw_listen_addr_t must be laid out like yconf_listen_t");

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int check_port(const char *p, size_t len)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 5) return -1;
    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    return v >= 1 && v <= 65535 ? 0 : -1;
}

/* host[:port] of a URL, IPv6 in brackets. */
static int check_authority(const char *a, size_t len, char *err, size_t errlen)
{
    const char *host = a, *port = NULL, *colon, *close;
    size_t hlen = len;

    if (memchr(a, '@', len))
        return fail(err, errlen, "must not contain user:password@ (use upstream.api_key)");
    if (len > 0 && a[0] == '[') {
        if (!(close = memchr(a, ']', len)))
            return fail(err, errlen, "has an IPv6 host without its closing ]");
        host = a + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < a + len && close[1] != ':')
            return fail(err, errlen, "has text between ] and the port");
        port = close + 1 < a + len ? close + 2 : NULL;
        if (!memchr(host, ':', hlen))
            return fail(err, errlen, "has a host in [] that is not an IPv6 address");
    } else if ((colon = memchr(a, ':', len))) {
        hlen = (size_t)(colon - a);
        port = colon + 1;
        if (memchr(port, ':', len - hlen - 1))
            return fail(err, errlen, "has an IPv6 host without [brackets]");
    }
    if (hlen == 0) return fail(err, errlen, "has no host");
    if (!yconf_valid_host(host, hlen)) return fail(err, errlen, "has an invalid host");
    if (port && check_port(port, (size_t)(a + len - port)) < 0)
        return fail(err, errlen, "has an invalid port (1 to 65535)");
    return 0;
}

/* upstream.url: the gateway appends each client's path to it, so a path here would silently
 * move every request; credentials belong in upstream.api_key. */
static int check_url(const char *text, const void *value, char *err, size_t errlen)
{
    const char *auth, *end, *s;

    (void)value;
    if (strncmp(text, "http://", 7) == 0)
        auth = text + 7;
    else if (strncmp(text, "https://", 8) == 0)
        auth = text + 8;
    else
        return fail(err, errlen, "must start with http:// or https://");
    for (s = text; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return fail(err, errlen, "must not contain spaces or control characters");
    end = auth + strcspn(auth, "/?#");
    if (check_authority(auth, (size_t)(end - auth), err, errlen) < 0) return -1;
    if (*end == '?' || *end == '#') return fail(err, errlen, "must not have a query or fragment");
    if (*end == '/' && end[1] != '\0')
        return fail(err, errlen, "must not have a path: each request's own path is appended to it");
    return 0;
}

/* upstream.api_key goes into an HTTP header: CR/LF would split it into new headers. */
static int check_api_key(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    for (; *text; text++)
        if ((unsigned char)*text <= 0x20 || (unsigned char)*text >= 0x7f)
            return fail(err, errlen,
                        "must be printable ASCII without spaces (it is sent as a header)");
    return 0;
}

static int check_log_level(const char *text, const void *value, char *err, size_t errlen)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    size_t i;

    (void)value;
    for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(text, levels[i]) == 0) return 0;
    return fail(err, errlen, "must be one of error, warn, info, debug");
}

/* metrics.qdrant_urls: comma-separated URLs, each checked like upstream.url. */
static int check_url_list(const char *text, const void *value, char *err, size_t errlen)
{
    char one[512];
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof(one))
            return fail(err, errlen, "must be URLs separated by commas, without empty items");
        memcpy(one, p, n);
        one[n] = '\0';
        if (check_url(one, value, err, errlen) != 0) return -1;
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

/* cache.redis.url: redis://[:password@]host[:port][/db], parsed here exactly as the Redis client
 * will at startup, so that -t rejects what startup would (a host name instead of an IP). */
static int check_redis_url(const char *text, const void *value, char *err, size_t errlen)
{
    gw_redis_opts_t o;

    (void)value;
    if (!text[0]) return 0;
    if (strncmp(text, "redis://", 8) != 0)
        return fail(err, errlen, "must be empty (no Redis) or start with redis://");
    memset(&o, 0, sizeof o);
    return gw_redis_parse_url(text, &o, err, errlen);
}

/* cache.redis.sentinels: host:port, ... (IP literals: the Sentinel client resolves nothing). */
static int check_sentinels(const char *text, const void *value, char *err, size_t errlen)
{
    gw_hostport_t hp[GW_SENTINEL_MAX];
    size_t n;
    unsigned char buf[16];
    (void)value;
    if (!text[0]) return 0;
    if (gw_sentinel_parse_list(text, hp, GW_SENTINEL_MAX, &n, err, errlen) != 0) return -1;
    for (size_t i = 0; i < n; i++)
        if (inet_pton(AF_INET, hp[i].host, buf) != 1 && inet_pton(AF_INET6, hp[i].host, buf) != 1)
            return fail(err, errlen, "Sentinels are given by IP address");
    return 0;
}

/* upstream.urls: "url, url" (yconf joins a YAML list so), each checked like upstream.url, no
 * peer twice, at most GW_CONFIG_MAX_PEERS. */
static int check_peers(const char *text, const void *value, char *err, size_t errlen)
{
    char one[512], seen[GW_CONFIG_MAX_PEERS][512];
    size_t k = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof(one))
            return fail(err, errlen, "must be a list of URLs, without empty items");
        memcpy(one, p, n);
        one[n] = '\0';
        if (n > 1 && one[n - 1] == '/') one[n - 1] = '\0';
        if (check_url(one, value, err, errlen) != 0) return -1;
        for (size_t i = 0; i < k; i++)
            if (strcmp(seen[i], one) == 0) return fail(err, errlen, "lists a peer twice");
        if (k > 0 && (strncmp(seen[0], "https:", 6) == 0) != (strncmp(one, "https:", 6) == 0))
            return fail(err, errlen, "mixes http:// and https:// peers");
        if (k == GW_CONFIG_MAX_PEERS) return fail(err, errlen, "lists more than 16 peers");
        memcpy(seen[k++], one, n + 1);
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return 0;
}

static int check_resolvers(const char *text, const void *value, char *err, size_t errlen)
{
    char msg[256];
    (void)value;
    if (gw_dns_check_resolvers(text, msg, sizeof(msg)) == 0) return 0;
    /* the module's message names the key already: yconf adds it again */
    const char *m = strncmp(msg, "dns.resolvers: ", 15) == 0 ? msg + 15 : msg;
    return fail(err, errlen, m);
}

static int check_master_name(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    return gw_sentinel_name_ok(text) ? 0 : fail(err, errlen, "must be 1-63 of [A-Za-z0-9._-]");
}

/* cache.redis.prefix: part of every Redis key and channel name. */
static int check_prefix(const char *text, const void *value, char *err, size_t errlen)
{
    if (strlen(text) > 64) return fail(err, errlen, "must be at most 64 bytes");
    return check_api_key(text, value, err, errlen);
}

/* tls.listen: empty disables TLS; otherwise the same syntax as server.listen. */
static int check_tls_listen(const char *text, const void *value, char *err, size_t errlen)
{
    char *host = NULL;
    uint16_t port;

    (void)value;
    if (text[0] == '\0') return 0;
    if (yconf_parse_listen(text, &host, &port, err, errlen) < 0) return -1;
    free(host);
    return 0;
}

/* upstream.grpc_url: empty (derived from upstream.url) or an http:// URL like upstream.url (the
 * gRPC client speaks h2c only). */
static int check_grpc_url(const char *text, const void *value, char *err, size_t errlen)
{
    if (text[0] == '\0') return 0;
    if (strncmp(text, "http://", 7) != 0)
        return fail(err, errlen,
                    "must start with http:// (h2c; TLS towards Qdrant's gRPC port is "
                    "not supported)");
    return check_url(text, value, err, errlen);
}

/* upstream.grpc_urls: a list like upstream.urls, every item an http:// URL. */
static int check_grpc_urls(const char *text, const void *value, char *err, size_t errlen)
{
    if (check_peers(text, value, err, errlen) != 0) return -1;
    for (const char *p = text; *p;) {
        p += strspn(p, " ");
        if (strncmp(p, "http://", 7) != 0)
            return fail(err, errlen,
                        "every item must start with http:// (h2c; TLS towards Qdrant's gRPC "
                        "port is not supported)");
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return 0;
}

/* ---- models.NAME.* (the gateway API's model table) ------------------------------------- */

static int check_model_name(const char *name, char *err, size_t errlen)
{
    if (name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
        return fail(err, errlen, "only a-z, 0-9, _ and - are allowed");
    return 0;
}

/* Collection and vector names go into request paths and bodies. */
static int check_qdrant_name(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    if (strlen(text) > 255) return fail(err, errlen, "must be at most 255 bytes");
    for (; *text; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            return fail(err, errlen, "must not contain control characters");
    return 0;
}

static int check_model(const void *elem, char *err, size_t errlen)
{
    const gw_model_t *m = elem;

    if (!m->collection[0]) return fail(err, errlen, "collection must be set");
    if (m->dimension == 0) return fail(err, errlen, "dimension must be set (1 to 65536)");
    if (m->default_limit > m->max_limit) {
        snprintf(err, errlen, "default_limit (%d) is larger than max_limit (%d)", m->default_limit,
                 m->max_limit);
        return -1;
    }
    return 0;
}

#define MKEY(name_, type_, field_, ctype_, min_, max_, def_, check_, help_)                        \
    {                                                                                              \
        .name = name_, .flags = type_, .offset = YCONF_OFFSET(gw_model_t, field_, ctype_),         \
        .min = min_, .max = max_, .def = def_, .validate = check_, .help = help_                   \
    }

static const yconf_key_t model_keys[] = {
    MKEY("collection", YCONF_STRING, collection, char *, 0, 0, "", check_qdrant_name,
         "the Qdrant collection this model searches (required)"),
    MKEY("vector", YCONF_STRING, vector, char *, 0, 0, "", check_qdrant_name,
         "the collection's named vector to search; empty = its default (unnamed) vector"),
    MKEY("dimension", YCONF_INT, dimension, int, 1, 65536, NULL, NULL,
         "length of the model's vectors, 1..65536 (required)"),
    MKEY("default_limit", YCONF_INT, default_limit, int, 1, 10000, "10", NULL,
         "hits returned when a search gives no limit"),
    MKEY("max_limit", YCONF_INT, max_limit, int, 1, 10000, "100", NULL,
         "largest limit a search may ask for (at least default_limit)"),
    YCONF_END,
};

static const yconf_map_t models_map = {
    .keys = model_keys,
    .elem_size = sizeof(gw_model_t),
    .name_offset = offsetof(gw_model_t, name),
    .count_offset = offsetof(gw_config_t, nmodels),
    .max_count = 1000,
    .check_name = check_model_name,
    .check = check_model,
};

/* ---- auth.keys.NAME.* (gateway keys) ------------------------------------------------------ */

static int check_sha256(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    if (!text[0]) return 0; /* required: check_auth_key says so with the element's name */
    if (strlen(text) != 64 || text[strspn(text, "0123456789abcdefABCDEF")] != '\0')
        return fail(err, errlen,
                    "must be 64 hex digits (the SHA-256 of the key, e.g. from "
                    "printf %s KEY | sha256sum)");
    return 0;
}

static int check_role(const char *text, const void *value, char *err, size_t errlen)
{
    (void)value;
    if (strcmp(text, "read") && strcmp(text, "write") && strcmp(text, "admin"))
        return fail(err, errlen, "must be read, write or admin");
    return 0;
}

static int check_auth_key(const void *elem, char *err, size_t errlen)
{
    const gw_auth_key_conf_t *k = elem;

    if (!k->sha256[0]) return fail(err, errlen, "sha256 must be set (64 hex digits)");
    if (!k->tenant_field[0] != !k->tenant_value[0])
        return fail(err, errlen, "tenant.field and tenant.value go together");
    return 0;
}

#define AKEY(name_, type_, field_, def_, check_, help_)                                            \
    {                                                                                              \
        .name = name_, .flags = type_, .offset = YCONF_OFFSET(gw_auth_key_conf_t, field_, char *), \
        .def = def_, .validate = check_, .help = help_                                             \
    }

static const yconf_key_t auth_key_keys[] = {
    AKEY("sha256", YCONF_STRING, sha256, "", check_sha256,
         "SHA-256 of the key clients send (api-key or Authorization: Bearer), 64 hex digits"),
    AKEY("role", YCONF_STRING, role, "read", check_role,
         "read, write (points and payloads) or admin (everything)"),
    AKEY("collections", YCONF_STRING | YCONF_LIST, collections, "", NULL,
         "the collections this key may use (aliases of them too); empty = all"),
    AKEY("tenant.field", YCONF_STRING, tenant_field, "", NULL,
         "payload field binding this key to a tenant (enforced: docs/security.md)"),
    AKEY("tenant.value", YCONF_STRING, tenant_value, "", NULL, "the tenant's value of that field"),
    {.name = "rate.reads",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_read, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "reads per minute this key may make, per worker (429 beyond); 0 = no limit"},
    {.name = "rate.writes",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_write, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "writes per minute this key may make, per worker; 0 = no limit"},
    {.name = "rate.burst",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_burst, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "requests a key may make at once before the rate applies; 0 = a second's worth"},
    {.name = "rate.global.reads",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_global_read, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "reads per minute across every gateway sharing auth.rate.redis_url; 0 = none"},
    {.name = "rate.global.writes",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_global_write, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "writes per minute across every gateway sharing auth.rate.redis_url; 0 = none"},
    {.name = "rate.global.burst",
     .flags = YCONF_INT,
     .offset = YCONF_OFFSET(gw_auth_key_conf_t, rate_global_burst, int),
     .min = 0,
     .max = 100000000,
     .def = "0",
     .help = "requests allowed at once before the global rate applies; 0 = a second's worth"},
    YCONF_END,
};

static const yconf_map_t auth_keys_map = {
    .keys = auth_key_keys,
    .elem_size = sizeof(gw_auth_key_conf_t),
    .name_offset = offsetof(gw_auth_key_conf_t, name),
    .count_offset = offsetof(gw_config_t, nauth_keys),
    .max_count = 10000,
    .check = check_auth_key,
};

/* One line per key. KEY checks at compile time that the field has the C type named. */
#define KEY(name_, type_, field_, ctype_, min_, max_, def_, check_, help_)                         \
    {                                                                                              \
        .name = name_, .flags = type_, .offset = YCONF_OFFSET(gw_config_t, field_, ctype_),        \
        .min = min_, .max = max_, .def = def_, .validate = check_, .help = help_                   \
    }

static const yconf_key_t gw_keys[] = {
    KEY("server.listen", YCONF_LISTEN, listen, gw_listen_addr_t, 0, 0, "127.0.0.1:8000", NULL,
        "address:port for clients; *:PORT = all IPv4 addresses, [::]:PORT = all IPv6"),
    KEY("server.workers", YCONF_INT, workers, int, 0, 256, "0", NULL,
        "worker threads, one event loop each; 0 = one per online CPU"),
    KEY("server.backlog", YCONF_INT, backlog, int, 1, 65535, "1024", NULL,
        "listen(2) backlog: connections the kernel queues until accepted"),
    KEY("server.max_connections", YCONF_INT, max_connections, int, 1, 1000000, "10000", NULL,
        "client connections open at once, whole process"),
    KEY("server.keepalive_timeout", YCONF_DURATION, keepalive_timeout_ms, uint64_t, SEC, HOUR,
        "60s", NULL, "close a client connection idle this long"),
    KEY("server.shutdown_timeout", YCONF_DURATION, shutdown_timeout_ms, uint64_t, 0, 10 * MIN,
        "10s", NULL, "on SIGTERM, wait at most this long for requests in flight"),
    KEY("upstream.url", YCONF_STRING, upstream_url, char *, 0, 0, GW_CONFIG_DEFAULT_UPSTREAM,
        check_url, "Qdrant's REST endpoint, http(s)://host[:port] without a path"),
    KEY("upstream.api_key", YCONF_STRING | YCONF_SECRET, upstream_api_key, char *, 0, 0, "",
        check_api_key, "api-key header for Qdrant; empty = none"),
    KEY("upstream.max_connections", YCONF_INT, upstream_max_connections, int, 1, 10000, "256", NULL,
        "pooled connections to Qdrant, per worker"),
    KEY("upstream.connect_timeout", YCONF_DURATION, upstream_connect_timeout_ms, uint64_t, 10, MIN,
        "2s", NULL, "give up connecting to Qdrant after this long"),
    KEY("upstream.timeout", YCONF_DURATION, upstream_timeout_ms, uint64_t, 100, 24 * HOUR, "60s",
        NULL, "longest wait for a whole answer (streamed snapshots: longest silence)"),
    KEY("upstream.idle_timeout", YCONF_DURATION, upstream_idle_timeout_ms, uint64_t, 100, HOUR,
        "4s", NULL, "close a pooled connection unused this long, before Qdrant's 5s keep-alive"),
    KEY("upstream.health_interval", YCONF_DURATION, upstream_health_interval_ms, uint64_t, 0, MIN,
        "1s", NULL,
        "reuse a health probe result for this long; with several peers, probe each"
        " this often (0 = never)"),
    KEY("upstream.urls", YCONF_STRING | YCONF_LIST, upstream_urls, char *, 0, 0, "", check_peers,
        "peers of a Qdrant cluster (a list of URLs like upstream.url); empty = upstream.url"),
    KEY("upstream.outlier.consecutive_failures", YCONF_INT, upstream_outlier_consecutive_failures,
        int, 1, 1000, "5", NULL,
        "failures in a row (connect, reset, timeout, 502/503/504) "
        "that eject a peer"),
    KEY("upstream.outlier.base_ejection", YCONF_DURATION, upstream_outlier_base_ejection_ms,
        uint64_t, 100, HOUR, "30s", NULL,
        "first ejection's length; the n-th in a row lasts n times it"),
    KEY("upstream.outlier.max_ejection", YCONF_DURATION, upstream_outlier_max_ejection_ms, uint64_t,
        100, 24 * HOUR, "5m", NULL, "longest ejection"),
    KEY("upstream.outlier.max_ejected_percent", YCONF_INT, upstream_outlier_max_ejected_percent,
        int, 0, 100, "50", NULL, "most peers ejected at once, in percent (at least one; 0 = none)"),
    KEY("dns.resolvers", YCONF_STRING, dns_resolvers, char *, 0, 0, "", check_resolvers,
        "name servers IP[:port], comma-separated; empty = those of /etc/resolv.conf"),
    KEY("dns.hosts_file", YCONF_STRING, dns_hosts_file, char *, 0, 0, "/etc/hosts", NULL,
        "hosts file consulted before DNS (read once at startup); empty = none"),
    KEY("dns.min_ttl", YCONF_DURATION, dns_min_ttl_ms, uint64_t, 100, HOUR, "1s", NULL,
        "shortest use of an answer, and least time between two resolutions of a name"),
    KEY("dns.max_ttl", YCONF_DURATION, dns_max_ttl_ms, uint64_t, SEC, 24 * HOUR, "30s", NULL,
        "longest an address is used without asking DNS again (a record's TTL is capped to it)"),
    KEY("dns.timeout", YCONF_DURATION, dns_timeout_ms, uint64_t, 100, MIN, "2s", NULL,
        "one DNS query's timeout (each name server is tried twice)"),
    KEY("limits.max_header_bytes", YCONF_SIZE, max_header_bytes, size_t, KIB, MIB, "32KiB", NULL,
        "largest request line plus headers"),
    KEY("limits.max_body_bytes", YCONF_SIZE, max_body_bytes, size_t, KIB, 64 * GIB, "32MiB", NULL,
        "largest request body (Qdrant's own limit is 32MiB)"),
    KEY("limits.header_timeout", YCONF_DURATION, header_timeout_ms, uint64_t, 100, 10 * MIN, "10s",
        NULL, "a client must send the whole request head within this long"),
    KEY("limits.body_timeout", YCONF_DURATION, body_timeout_ms, uint64_t, 100, 60 * MIN, "60s",
        NULL, "longest wait between two reads of a request body (408 and close after)"),
    KEY("server.grpc_listen", YCONF_STRING, grpc_listen, char *, 0, 0, "", check_tls_listen,
        "second listener for gRPC clients (HTTP/2 prior knowledge only); empty = none"),
    KEY("upstream.grpc_url", YCONF_STRING, upstream_grpc_url, char *, 0, 0, "", check_grpc_url,
        "Qdrant's gRPC endpoint, http://host[:port]; empty = each peer's host on 6334"),
    KEY("upstream.grpc_urls", YCONF_STRING | YCONF_LIST, upstream_grpc_urls, char *, 0, 0, "",
        check_grpc_urls,
        "with upstream.urls: each peer's gRPC URL, same count and order; empty = host on 6334"),
    KEY("tls.listen", YCONF_STRING, tls_listen, char *, 0, 0, "", check_tls_listen,
        "address:port of the TLS listener (ALPN h2 and http/1.1); empty = no TLS"),
    KEY("tls.cert", YCONF_STRING, tls_cert, char *, 0, 0, "", NULL,
        "PEM certificate chain for tls.listen (re-read on SIGHUP)"),
    KEY("tls.key", YCONF_STRING, tls_key, char *, 0, 0, "", NULL,
        "PEM private key for tls.cert (re-read on SIGHUP)"),
    KEY("http2.max_concurrent_streams", YCONF_INT, h2_max_concurrent_streams, int, 1, 10000, "128",
        NULL, "HTTP/2 streams a client may have open at once on one connection"),
    KEY("http2.max_reset_streams", YCONF_INT, h2_max_reset_streams, int, 1, 1000000, "100", NULL,
        "streams a client may reset before they are answered (beyond those it let "
        "finish) before its HTTP/2 connection is closed with GOAWAY"),
    KEY("log.level", YCONF_STRING, log_level, char *, 0, 0, "info", check_log_level,
        "error, warn, info or debug"),
    KEY("metrics.enabled", YCONF_BOOL, metrics_enabled, bool, 0, 0, "true", NULL,
        "serve GET /metrics (gateway, Qdrant and Redis metrics in one scrape)"),
    KEY("metrics.qdrant_urls", YCONF_STRING, metrics_qdrant_urls, char *, 0, 0, "", check_url_list,
        "Qdrant nodes whose /metrics are re-exported, comma-separated; "
        "empty = upstream.url"),
    KEY("metrics.upstream_ttl", YCONF_DURATION, metrics_upstream_ttl_ms, uint64_t, 0, MIN, "2s",
        NULL, "reuse a node's /metrics text this long across scrapes"),
    KEY("metrics.scrape_timeout", YCONF_DURATION, metrics_scrape_timeout_ms, uint64_t, 100, MIN,
        "2s", NULL, "a node slower than this shows qdrant_up 0 instead of stalling"),
    KEY("cache.enabled", YCONF_BOOL, cache_enabled, bool, 0, 0, "true", NULL,
        "answer repeated reads from the cache"),
    KEY("cache.ttl", YCONF_DURATION, cache_ttl_ms, uint64_t, SEC, 7 * 24 * HOUR, "60s", NULL,
        "how long a stored answer is served"),
    KEY("cache.search.enabled", YCONF_BOOL, cache_search_enabled, bool, 0, 0, "true", NULL,
        "cache search, query, recommend, discover and matrix reads"),
    KEY("cache.search.ttl", YCONF_DURATION, cache_search_ttl_ms, uint64_t, 0, 7 * 24 * HOUR, "0",
        NULL, "TTL for the search class; 0 = cache.ttl"),
    KEY("cache.points.enabled", YCONF_BOOL, cache_points_enabled, bool, 0, 0, "true", NULL,
        "cache scroll, count, facet and point retrieval"),
    KEY("cache.points.ttl", YCONF_DURATION, cache_points_ttl_ms, uint64_t, 0, 7 * 24 * HOUR, "0",
        NULL, "TTL for the points class; 0 = cache.ttl"),
    KEY("cache.local.max_bytes", YCONF_SIZE, cache_local_max_bytes, size_t, 0, 1024 * GIB, "256MiB",
        NULL, "memory for the in-process tier, shared by all workers; 0 = none"),
    KEY("cache.max_entry_bytes", YCONF_SIZE, cache_max_entry_bytes, size_t, KIB, 512 * MIB, "1MiB",
        NULL, "answers larger than this are not stored"),
    KEY("cache.max_request_bytes", YCONF_SIZE, cache_max_request_bytes, size_t, KIB, 64 * MIB,
        "1MiB", NULL, "read bodies larger than this bypass the cache"),
    KEY("cache.min_uses", YCONF_INT, cache_min_uses, int, 1, 2, "1", NULL,
        "2: a read is cached from its second use within the TTL (the first goes straight on)"),
    KEY("cache.stale_if_error", YCONF_DURATION, cache_stale_if_error_ms, uint64_t, 0, 7 * 24 * HOUR,
        "5m", NULL, "serve an answer expired at most this long when Qdrant fails"),
    KEY("cache.async_write_settle", YCONF_DURATION, cache_async_write_settle_ms, uint64_t, 0, MIN,
        "1s", NULL, "after a wait=false write, invalidate again this much later"),
    KEY("cache.alias_refresh", YCONF_DURATION, cache_alias_refresh_ms, uint64_t, SEC, HOUR, "30s",
        NULL, "reload Qdrant's alias list this often"),
    KEY("cache.share_across_keys", YCONF_BOOL, cache_share_across_keys, bool, 0, 0, "false", NULL,
        "one entry for all api-keys (only when every key may read everything)"),
    KEY("cache.admin_key", YCONF_STRING | YCONF_SECRET, cache_admin_key, char *, 0, 0, "",
        check_api_key, "api-key for POST /api/v1/cache/purge; empty = purge disabled"),
    KEY("cache.redis.url", YCONF_STRING | YCONF_SECRET, cache_redis_url, char *, 0, 0, "",
        check_redis_url, "redis://[:password@]host[:port][/db] shared by replicas; empty = none"),
    KEY("cache.redis.timeout", YCONF_DURATION, cache_redis_timeout_ms, uint64_t, 1, 10 * SEC, "5ms",
        NULL, "a Redis lookup slower than this is treated as a miss"),
    KEY("cache.redis.connect_timeout", YCONF_DURATION, cache_redis_connect_timeout_ms, uint64_t, 10,
        MIN, "200ms", NULL, "give up connecting to Redis after this long"),
    KEY("cache.redis.sentinels", YCONF_STRING | YCONF_LIST, cache_redis_sentinels, char *, 0, 0, "",
        check_sentinels,
        "Redis Sentinels [host:port, ...] asked where the master is (the URL's host is then "
        "unused)"),
    KEY("cache.redis.sentinel_password", YCONF_STRING | YCONF_SECRET, cache_redis_sentinel_password,
        char *, 0, 0, "", NULL, "AUTH to the Sentinels (their requirepass); empty = none"),
    KEY("cache.redis.master_name", YCONF_STRING, cache_redis_master_name, char *, 0, 0, "mymaster",
        check_master_name, "the master's name in Sentinel"),
    KEY("cache.redis.prefix", YCONF_STRING, cache_redis_prefix, char *, 0, 0, "qgw:", check_prefix,
        "prefix of every Redis key and channel the gateway uses"),
    KEY("cache.redis.lookup_filter", YCONF_BOOL, cache_redis_lookup_filter, bool, 0, 0, "true",
        NULL, "announce L2 stores; misses nobody stored skip the Redis lookup"),
    /* The gateway API's models (conf/models.yaml), a map of named sections. */
    {.name = "models",
     .flags = YCONF_MAP,
     .offset = YCONF_OFFSET(gw_config_t, models, gw_model_t *),
     .help = "models served by the gateway API: NAME: {collection, vector, dimension, ...}",
     .map = &models_map},
    KEY("auth.jwt.enabled", YCONF_BOOL, auth_jwt_enabled, bool, 0, 0, "false", NULL,
        "verify Qdrant JWTs (HS256) at the gateway before Qdrant is asked"),
    KEY("auth.jwt.secret", YCONF_STRING | YCONF_SECRET, auth_jwt_secret, char *, 0, 0, "",
        check_api_key, "the key JWTs are signed with (Qdrant's api_key); empty = upstream.api_key"),
    KEY("auth.jwt.leeway", YCONF_DURATION, auth_jwt_leeway_ms, uint64_t, 0, 5 * MIN, "30s", NULL,
        "clock skew allowed on exp and nbf (Qdrant: 30s)"),
    KEY("auth.jwt.check_nbf", YCONF_BOOL, auth_jwt_check_nbf, bool, 0, 0, "true", NULL,
        "refuse tokens whose nbf is in the future (Qdrant itself ignores nbf)"),
    KEY("auth.jwt.rate.reads", YCONF_INT, auth_jwt_rate_read, int, 0, 100000000, "0", NULL,
        "reads per minute per JWT subject (sub claim), per worker (429 beyond); 0 = no limit"),
    KEY("auth.jwt.rate.writes", YCONF_INT, auth_jwt_rate_write, int, 0, 100000000, "0", NULL,
        "writes per minute per JWT subject, per worker; 0 = no limit"),
    KEY("auth.jwt.rate.burst", YCONF_INT, auth_jwt_rate_burst, int, 0, 100000000, "0", NULL,
        "requests a subject may make at once before the rate applies; 0 = a second's worth"),
    KEY("auth.jwt.rate.global.reads", YCONF_INT, auth_jwt_rate_global_read, int, 0, 100000000, "0",
        NULL, "reads per minute per JWT subject across every gateway sharing the Redis"),
    KEY("auth.jwt.rate.global.writes", YCONF_INT, auth_jwt_rate_global_write, int, 0, 100000000,
        "0", NULL, "writes per minute per JWT subject across every gateway sharing the Redis"),
    KEY("auth.jwt.rate.global.burst", YCONF_INT, auth_jwt_rate_global_burst, int, 0, 100000000, "0",
        NULL, "requests allowed at once before the global rate applies; 0 = a second's worth"),
    KEY("auth.jwt.rate.max_subjects", YCONF_INT, auth_jwt_rate_max_subjects, int, 16, 1000000,
        "10000", NULL, "subjects each worker keeps local buckets for (least recently used go)"),
    KEY("auth.max_token_bytes", YCONF_SIZE, auth_max_token_bytes, size_t, 256, 64 * KIB, "8KiB",
        NULL, "longer credentials are refused (401) without being parsed"),
    KEY("auth.rate.redis_url", YCONF_STRING | YCONF_SECRET, auth_rate_redis_url, char *, 0, 0, "",
        check_redis_url,
        "Redis of the global rate limits (rate.global.*); empty = cache.redis.url / .sentinels"),
    KEY("auth.rate.timeout", YCONF_DURATION, auth_rate_timeout_ms, uint64_t, 1, SEC, "20ms", NULL,
        "a global rate limit Redis does not decide within this is decided by the local limit"),
    KEY("auth.rate.max_parked", YCONF_INT, auth_rate_max_parked, int, 1, 1000000, "1024", NULL,
        "requests per worker waiting for Redis's rate limit verdict; beyond = the local limit"),
    KEY("auth.audit_log", YCONF_STRING, auth_audit_log, char *, 0, 0, "", NULL,
        "one JSON line per write and per refused request: a file (reopened on SIGHUP), "
        "stderr, or empty = off"),
    {.name = "auth.keys",
     .flags = YCONF_MAP,
     .offset = YCONF_OFFSET(gw_config_t, auth_keys, gw_auth_key_conf_t *),
     .help = "gateway keys: NAME: {sha256, role, collections, tenant: {field, value}}",
     .map = &auth_keys_map},
    YCONF_END,
};

const yconf_key_t *gw_config_keys(void)
{
    return gw_keys;
}

gw_config_t *gw_config_new(void)
{
    gw_config_t *c = calloc(1, sizeof *c);
    char err[256];

    if (!c) goto fail;
    /* Only out of memory can fail here: the table itself is checked by the unit test. */
    if (yconf_init(gw_keys, c, err, sizeof err) < 0) goto fail;
    return c;
fail:
    gw_config_free(c);
    return NULL;
}

int gw_config_load_file(gw_config_t *c, const char *path, char *err, size_t errlen)
{
    return yconf_load_file(gw_keys, c, path, err, errlen);
}

int gw_config_set(gw_config_t *c, const char *key_eq_value, char *err, size_t errlen)
{
    return yconf_set(gw_keys, c, key_eq_value, err, errlen);
}

/* Items of a "url, url" list. */
static int list_count(const char *text)
{
    int k = 0;
    for (const char *p = text; *p; k++) {
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return k;
}

/* upstream.grpc_urls pairs with upstream.urls item by item, and excludes upstream.grpc_url. */
static int grpc_urls_finalize(const gw_config_t *c, char *err, size_t errlen)
{
    if (!c->upstream_grpc_urls[0]) return 0;
    if (c->upstream_grpc_url[0]) {
        snprintf(err, errlen,
                 "upstream.grpc_url and upstream.grpc_urls are both set: set one (grpc_url sends "
                 "every gRPC call to one endpoint, grpc_urls names each peer's)");
        return -1;
    }
    int want = list_count(c->upstream_urls), got = list_count(c->upstream_grpc_urls);
    if (want != got) {
        snprintf(err, errlen,
                 "upstream.grpc_urls lists %d URL%s but upstream.urls lists %d peer%s: give one "
                 "gRPC URL per peer, in the same order",
                 got, got == 1 ? "" : "s", want, want == 1 ? "" : "s");
        return -1;
    }
    return 0;
}

/* upstream.url is the one-node spelling of upstream.urls: both set is a mistake to report. */
static int upstream_finalize(gw_config_t *c, char *err, size_t errlen)
{
    size_t n = strlen(c->upstream_urls);
    if (grpc_urls_finalize(c, err, errlen) != 0) return -1;
    if (n > 0 && strcmp(c->upstream_url, GW_CONFIG_DEFAULT_UPSTREAM) != 0) {
        snprintf(err, errlen,
                 "upstream.url (%s) and upstream.urls are both set: list every peer in "
                 "upstream.urls and leave upstream.url out",
                 c->upstream_url);
        return -1;
    }
    if (c->upstream_outlier_base_ejection_ms > c->upstream_outlier_max_ejection_ms) {
        char a[32], b[32];
        yconf_format_duration(c->upstream_outlier_base_ejection_ms, a, sizeof a);
        yconf_format_duration(c->upstream_outlier_max_ejection_ms, b, sizeof b);
        snprintf(err, errlen,
                 "upstream.outlier.base_ejection (%s) is longer than upstream.outlier.max_ejection "
                 "(%s)",
                 a, b);
        return -1;
    }
    return 0;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int gw_config_finalize(gw_config_t *c, char *err, size_t errlen)
{
    char a[32], b[32];
    size_t n;

    if (c->workers == 0) c->workers = online_cpus();
    /* curl's whole-transfer timeout would cut a longer connect short: a setting that lies. */
    if (c->upstream_connect_timeout_ms > c->upstream_timeout_ms) {
        yconf_format_duration(c->upstream_connect_timeout_ms, a, sizeof a);
        yconf_format_duration(c->upstream_timeout_ms, b, sizeof b);
        snprintf(err, errlen, "upstream.connect_timeout (%s) is longer than upstream.timeout (%s)",
                 a, b);
        return -1;
    }
    if (upstream_finalize(c, err, errlen) != 0) return -1;
    if (c->dns_min_ttl_ms > c->dns_max_ttl_ms) {
        yconf_format_duration(c->dns_min_ttl_ms, a, sizeof a);
        yconf_format_duration(c->dns_max_ttl_ms, b, sizeof b);
        snprintf(err, errlen, "dns.min_ttl (%s) is longer than dns.max_ttl (%s)", a, b);
        return -1;
    }
    if (c->tls_listen[0] && (!c->tls_cert[0] || !c->tls_key[0])) {
        snprintf(err, errlen, "tls.listen is set: tls.cert and tls.key must name PEM files");
        return -1;
    }
    if (yconf_check(gw_keys, c, err, errlen) < 0) return -1; /* models declared by --set */
    if (c->auth_jwt_enabled && !c->auth_jwt_secret[0] && !c->upstream_api_key[0]) {
        snprintf(err, errlen,
                 "auth.jwt.enabled: set auth.jwt.secret (or upstream.api_key) to "
                 "the key the tokens are signed with");
        return -1;
    }
    /* check_url allows "http://host/"; callers append paths that start with "/". */
    n = strlen(c->upstream_url);
    if (n > 0 && c->upstream_url[n - 1] == '/') c->upstream_url[n - 1] = '\0';
    return 0;
}

void gw_config_dump(const gw_config_t *c, FILE *out)
{
    yconf_dump(gw_keys, c, out, 0);
}

void gw_config_free(gw_config_t *c)
{
    if (!c) return;
    yconf_dispose(gw_keys, c);
    free(c);
}
