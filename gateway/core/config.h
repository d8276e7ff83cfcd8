/* gateway/config: the gateway's typed configuration and the table that binds it to YAML.
 * Loading, --set overrides, cross-field checks and the effective-config dump; yconf does the YAML.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/yconf.h"

/* Laid out like yconf_listen_t (config.c asserts it), so yconf can fill it. */
typedef struct gw_listen_addr {
    char *host; /* IP literal (IPv6 without brackets) or DNS name; "*" is stored as "0.0.0.0" */
    uint16_t port;
} gw_listen_addr_t;

/* One model of the gateway API (models.NAME.* in YAML; conf/models.yaml documents them). */
typedef struct gw_model {
    char *name;        /* the NAME: [a-z0-9_-], 1 to 64 characters */
    char *collection;  /* models.NAME.collection: the Qdrant collection searched (required) */
    char *vector;      /* models.NAME.vector: the named vector to use; "" = the default vector */
    int dimension;     /* models.NAME.dimension, 1..65536 (required) */
    int default_limit; /* models.NAME.default_limit, 1..10000, default 10 */
    int max_limit;     /* models.NAME.max_limit, default_limit..10000, default 100 */
} gw_model_t;

/* One gateway key (auth.keys.NAME.* in YAML; conf/gateway.yaml documents them). */
typedef struct gw_auth_key_conf {
    char *name;         /* the NAME, shown in logs and the audit log (never the key) */
    char *sha256;       /* auth.keys.NAME.sha256: 64 hex digits, SHA-256 of the key (required) */
    char *role;         /* auth.keys.NAME.role: read | write | admin (default read) */
    char *collections;  /* auth.keys.NAME.collections: comma-separated allowlist; "" = all */
    char *tenant_field; /* auth.keys.NAME.tenant.field: payload field binding a tenant, or "" */
    char *tenant_value; /* auth.keys.NAME.tenant.value: its value (with tenant.field) */
    int rate_read;      /* auth.keys.NAME.rate.reads: requests per minute, per worker; 0 = off */
    int rate_write;     /* auth.keys.NAME.rate.writes: the same for writes */
    int rate_burst;     /* auth.keys.NAME.rate.burst: bucket size; 0 = a second's worth (>= 1) */
    /* auth.keys.NAME.rate.global.*: the same across every gateway sharing the limiter's Redis
     * (GCRA there); the local limit above applies whenever Redis cannot answer in time. */
    int rate_global_read;
    int rate_global_write;
    int rate_global_burst;
} gw_auth_key_conf_t;

#define GW_CONFIG_DEFAULT_UPSTREAM "http://127.0.0.1:6333" /* upstream.url's default */
#define GW_CONFIG_MAX_PEERS        16                      /* upstream.urls holds at most */

/* Every field always holds a valid value: defaults first, then files and --set on top. Strings
 * are heap strings owned by the struct, never NULL. Durations are milliseconds. */
typedef struct gw_config {
    /* server.listen, default 127.0.0.1:8000 */
    gw_listen_addr_t listen;
    /* server.workers, 0..256, default 0 = online CPUs (resolved by gw_config_finalize) */
    int workers;
    /* server.backlog, 1..65535, default 1024 */
    int backlog;
    /* server.max_connections, 1..1000000, default 10000 (whole process) */
    int max_connections;
    /* server.keepalive_timeout, 1s..1h, default 60s */
    uint64_t keepalive_timeout_ms;
    /* server.shutdown_timeout, 0..10m, default 10s */
    uint64_t shutdown_timeout_ms;
    /* upstream.url, http(s)://host[:port] with no path, default http://127.0.0.1:6333;
     * gw_config_finalize drops a trailing "/" */
    char *upstream_url;
    /* upstream.api_key, default "" (none); printable ASCII, never shown by gw_config_dump */
    char *upstream_api_key;
    /* upstream.max_connections, per worker, 1..10000, default 256 */
    int upstream_max_connections;
    /* upstream.connect_timeout, 10ms..1m, default 2s */
    uint64_t upstream_connect_timeout_ms;
    /* upstream.timeout, 100ms..24h, default 60s: longest wait for a whole answer (streaming
     * snapshot transfers use it as an idle limit instead) */
    uint64_t upstream_timeout_ms;
    /* upstream.idle_timeout, 100ms..1h, default 4s: a pooled connection unused this long is
     * closed before Qdrant (actix keep-alive 5 s) closes it */
    uint64_t upstream_idle_timeout_ms;
    /* upstream.health_interval, 0..1m, default 1s: how long a health probe result is reused,
     * and with several peers how often each worker probes each one (GET /readyz; 0 = never) */
    uint64_t upstream_health_interval_ms;
    /* upstream.urls: several peers of one Qdrant cluster, "url, url" (a YAML list; at most 16,
     * each like upstream.url); "" = the one node of upstream.url. gw_config_finalize refuses
     * both set (upstream.url other than its default) and drops trailing "/". */
    char *upstream_urls;
    /* upstream.outlier.*: passive ejection of failing peers (gateway/upstream/peers.h):
     * consecutive_failures 1..1000 (default 5); base_ejection 100ms..1h (30s), the n-th
     * ejection in a row lasting n times that up to max_ejection 100ms..1d (5m);
     * max_ejected_percent 0..100 (50; at least one peer may be out; 0 = never eject). */
    int upstream_outlier_consecutive_failures;
    uint64_t upstream_outlier_base_ejection_ms;
    uint64_t upstream_outlier_max_ejection_ms;
    int upstream_outlier_max_ejected_percent;
    /* dns.*: how upstream.url's and cache.redis.url's host names are resolved (gateway/core/dns.h):
     * resolvers "" = /etc/resolv.conf, else "IP[:port], ..."; hosts_file (default /etc/hosts, ""
     * = none) is read before DNS; answers are used for their TTL clamped to min_ttl (100ms..1h,
     * default 1s)..max_ttl (1s..1d, default 30s); one query waits timeout (100ms..1m, 2s). */
    char *dns_resolvers;
    char *dns_hosts_file;
    uint64_t dns_min_ttl_ms;
    uint64_t dns_max_ttl_ms;
    uint64_t dns_timeout_ms;
    /* limits.max_header_bytes, 1KiB..1MiB, default 32KiB */
    size_t max_header_bytes;
    /* limits.max_body_bytes, 1KiB..64GiB, default 32MiB (Qdrant's own) */
    size_t max_body_bytes;
    /* limits.header_timeout, 100ms..10m, default 10s */
    uint64_t header_timeout_ms;
    /* limits.body_timeout, 100ms..1h, default 60s: between two reads of a request body */
    uint64_t body_timeout_ms;
    /* tls.listen: "" (default: no TLS listener) or an address like server.listen */
    char *tls_listen;
    /* tls.cert, tls.key: PEM certificate chain and private key, required with tls.listen;
     * re-read on SIGHUP */
    char *tls_cert;
    char *tls_key;
    /* http2.max_concurrent_streams, 1..10000, default 128 (per connection) */
    int h2_max_concurrent_streams;
    /* http2.max_reset_streams, 1..1000000, default 100: streams a client may reset before they
     * are answered (beyond the number it let finish) until the connection gets GOAWAY */
    int h2_max_reset_streams;
    /* log.level: error|warn|info|debug, default info */
    char *log_level;

    /* metrics.*: the /metrics endpoint (conf/performance.yaml documents each key). */
    bool metrics_enabled;             /* metrics.enabled, default true */
    char *metrics_qdrant_urls;        /* metrics.qdrant_urls: comma-separated; "" = upstream.url */
    uint64_t metrics_upstream_ttl_ms; /* metrics.upstream_ttl, default 2s */
    uint64_t metrics_scrape_timeout_ms; /* metrics.scrape_timeout, default 2s */

    /* Search cache (conf/caching.yaml documents each key). */
    bool cache_enabled;               /* cache.enabled, default true */
    uint64_t cache_ttl_ms;            /* cache.ttl, 1s..7d, default 60s */
    bool cache_search_enabled;        /* cache.search.enabled: search/query/recommend/discover */
    uint64_t cache_search_ttl_ms;     /* cache.search.ttl, 0 = cache.ttl */
    bool cache_points_enabled;        /* cache.points.enabled: scroll/count/facet/retrieve */
    uint64_t cache_points_ttl_ms;     /* cache.points.ttl, 0 = cache.ttl */
    size_t cache_local_max_bytes;     /* cache.local.max_bytes, 0..1TiB, default 256MiB */
    size_t cache_max_entry_bytes;     /* cache.max_entry_bytes: larger answers are not stored */
    size_t cache_max_request_bytes;   /* cache.max_request_bytes: larger bodies bypass */
    int cache_min_uses;               /* cache.min_uses, 1..2, default 1 */
    uint64_t cache_stale_if_error_ms; /* cache.stale_if_error, default 5m, 0 = off */
    uint64_t cache_async_write_settle_ms; /* cache.async_write_settle, default 1s */
    uint64_t cache_alias_refresh_ms;      /* cache.alias_refresh, default 30s */
    bool cache_share_across_keys;         /* cache.share_across_keys, default false */
    bool cache_redis_lookup_filter;       /* cache.redis.lookup_filter, default true */
    char *cache_admin_key;           /* cache.admin_key: guards /api/v1/cache/purge; "" = off */
    char *cache_redis_url;           /* cache.redis.url, "" = no Redis (L1 only) */
    uint64_t cache_redis_timeout_ms; /* cache.redis.timeout, default 5ms */
    uint64_t cache_redis_connect_timeout_ms; /* cache.redis.connect_timeout, default 200ms */
    char *cache_redis_prefix;                /* cache.redis.prefix, default "qgw:" */
    char *cache_redis_sentinels;         /* cache.redis.sentinels, "h:p, h:p"; "" = no Sentinel */
    char *cache_redis_master_name;       /* cache.redis.master_name, default "mymaster" */
    char *cache_redis_sentinel_password; /* cache.redis.sentinel_password, "" = none */

    /* Gateway API models (models.NAME.*), in the order they were first declared; none by
     * default. gw_config_finalize checks each is complete. */
    gw_model_t *models;
    size_t nmodels;

    /* Access control (docs/security.md): off unless auth.jwt.enabled or a key is declared. */
    bool auth_jwt_enabled;       /* auth.jwt.enabled, default false */
    char *auth_jwt_secret;       /* auth.jwt.secret: Qdrant's api_key; "" = upstream.api_key */
    uint64_t auth_jwt_leeway_ms; /* auth.jwt.leeway, 0..5m, default 30s (Qdrant's) */
    bool auth_jwt_check_nbf;     /* auth.jwt.check_nbf, default true (Qdrant ignores nbf) */
    /* auth.jwt.rate.*: per JWT subject (the sub claim), as auth.keys.NAME.rate.* (0 = off) */
    int auth_jwt_rate_read, auth_jwt_rate_write, auth_jwt_rate_burst;
    int auth_jwt_rate_global_read, auth_jwt_rate_global_write, auth_jwt_rate_global_burst;
    int auth_jwt_rate_max_subjects; /* auth.jwt.rate.max_subjects: per worker, default 10000 */
    size_t auth_max_token_bytes;    /* auth.max_token_bytes, 256..64KiB, default 8KiB */
    char *auth_audit_log;           /* auth.audit_log: file path, "stderr", or "" (off) */
    char *auth_rate_redis_url;      /* auth.rate.redis_url: ""= cache.redis.url (and .sentinels) */
    uint64_t auth_rate_timeout_ms;  /* auth.rate.timeout, 1ms..1s, default 20ms */
    int auth_rate_max_parked;       /* auth.rate.max_parked: per worker, default 1024 */
    gw_auth_key_conf_t *auth_keys;  /* auth.keys.NAME.*, in declaration order */
    size_t nauth_keys;
    /* gRPC (gateway/grpc/): server.grpc_listen, "" (default: none) or an address like
     * server.listen, HTTP/2 prior knowledge only; upstream.grpc_url, http://host[:port] of
     * Qdrant's gRPC port, "" (default) = upstream.url's host on port 6334, or with several
     * peers (upstream.urls) each peer's host on 6334; upstream.grpc_urls, with upstream.urls
     * only: each peer's gRPC URL, the same count and order (for peers not on 6334). */
    char *grpc_listen;
    char *upstream_grpc_url;
    char *upstream_grpc_urls;
} gw_config_t;

/* A config holding the defaults; NULL when out of memory. Free with gw_config_free. */
gw_config_t *gw_config_new(void);

/* Applies a YAML file (and its includes) on top of c. 0 / -1 with "FILE:LINE: KEY: problem" in
 * err. On -1 c is partly updated: load into a fresh config to keep a working one on reload. */
int gw_config_load_file(gw_config_t *c, const char *path, char *err, size_t errlen);

/* Applies one --set "key=value" override, checked like a file value. 0 / -1. */
int gw_config_set(gw_config_t *c, const char *key_eq_value, char *err, size_t errlen);

/* After all files and overrides: checks that span keys and resolves workers = 0 to the number
 * of online CPUs (at most 256). Idempotent. 0 / -1. */
int gw_config_finalize(gw_config_t *c, char *err, size_t errlen);

/* Parses tls.listen (non-empty) into a heap host and a port. 0 / -1 with err filled. */
int gw_config_tls_addr(const gw_config_t *c, gw_listen_addr_t *out, char *err, size_t errlen);

/* server.grpc_listen (non-empty) into a heap host and a port. 0 / -1 with err filled. */
int gw_config_grpc_addr(const gw_config_t *c, gw_listen_addr_t *out, char *err, size_t errlen);
#define GW_CONFIG_GRPC_URL_MAX 520
/* The gRPC peers, into out[0..]: upstream.grpc_url alone when set; else upstream.grpc_urls;
 * else "http://<host>:6334" of each upstream.urls peer, or of upstream.url. Their count, 1..max
 * (max <= GW_CONFIG_MAX_PEERS). */
int gw_config_grpc_peers(const gw_config_t *c, char (*out)[GW_CONFIG_GRPC_URL_MAX], int max);

/* Writes the effective config as YAML that gw_config_load_file reads back to the same values;
 * a non-empty upstream.api_key is written as a comment, not its value. */
void gw_config_dump(const gw_config_t *c, FILE *out);

void gw_config_free(gw_config_t *c);

/* The key table (YCONF_END-terminated): for --help-config style listings and the tests. */
const yconf_key_t *gw_config_keys(void);

#endif /* GW_CONFIG_H */
