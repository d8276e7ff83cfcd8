/* Unit tests for gateway/config: its key table through every error path with the exact text,
 * defaults, good values, --set, the shipped conf/ files, finalize and the dump round trip.
 * The models: map is in test_config_models.c. */
#include "common/yconf.h"
#include "gateway/core/config.h"
#include "unit_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- gateway load errors */

#define F "{D}/c.yaml"

static const err_case_t load_errors[] = {
    /* integers */
    {"server:\n  workers: abc\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"abc\""},
    {"server:\n  workers: 257\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"257\""},
    {"server:\n  workers: -1\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"-1\""},
    {"server:\n  workers: 0x10\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"0x10\""},
    {"server:\n  workers: 1.5\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"1.5\""},
    {"server:\n  workers: 99999999999999999999\n",
     F ":2: server.workers: expected an integer from 0 to 256, got \"99999999999999999999\""},
    {"server:\n  backlog: 0\n",
     F ":2: server.backlog: expected an integer from 1 to 65535, got \"0\""},
    {"upstream:\n  max_connections: 10001\n",
     F ":2: upstream.max_connections: expected an integer from 1 to 10000, got \"10001\""},
    /* sizes */
    {"limits:\n  max_header_bytes: 12x\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"12x\""},
    {"limits:\n  max_header_bytes: 1023\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"1023\""},
    {"limits:\n  max_header_bytes: 2MiB\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"2MiB\""},
    {"limits:\n  max_header_bytes: 1.5KiB\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"1.5KiB\""},
    {"limits:\n  max_header_bytes: 64 KiB\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"64 KiB\""},
    {"limits:\n  max_header_bytes: -1k\n",
     F ":2: limits.max_header_bytes: expected a size from 1KiB to 1MiB, got \"-1k\""},
    {"limits:\n  max_body_bytes: 65GiB\n",
     F ":2: limits.max_body_bytes: expected a size from 1KiB to 64GiB, got \"65GiB\""},
    {"limits:\n  max_body_bytes: 99999999999999999999G\n",
     F ":2: limits.max_body_bytes: expected a size from 1KiB to 64GiB, got "
       "\"99999999999999999999G\""},
    /* durations */
    {"server:\n  keepalive_timeout: 5x\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"5x\""},
    {"server:\n  keepalive_timeout: 500ms\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"500ms\""},
    {"server:\n  keepalive_timeout: 2h\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"2h\""},
    {"server:\n  keepalive_timeout: -1s\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"-1s\""},
    {"server:\n  keepalive_timeout: 1.s\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"1.s\""},
    {"server:\n  keepalive_timeout: 1.5ms\n",
     F ":2: server.keepalive_timeout: expected a duration from 1s to 1h, got \"1.5ms\""},
    {"upstream:\n  connect_timeout: 5ms\n",
     F ":2: upstream.connect_timeout: expected a duration from 10ms to 1m, got \"5ms\""},
    {"server:\n  shutdown_timeout: 11m\n",
     F ":2: server.shutdown_timeout: expected a duration from 0s to 10m, got \"11m\""},
    /* listen addresses */
    {"server:\n  listen: 127.0.0.1\n",
     F ":2: server.listen: expected host:port such as 127.0.0.1:8000 or *:8000, got "
       "\"127.0.0.1\""},
    {"server:\n  listen: 127.0.0.1:0\n",
     F ":2: server.listen: the port must be a number from 1 to 65535, got \"127.0.0.1:0\""},
    {"server:\n  listen: 127.0.0.1:65536\n",
     F ":2: server.listen: the port must be a number from 1 to 65535, got \"127.0.0.1:65536\""},
    {"server:\n  listen: localhost:http\n",
     F ":2: server.listen: the port must be a number from 1 to 65535, got \"localhost:http\""},
    {"server:\n  listen: \"::1:8000\"\n",
     F ":2: server.listen: an IPv6 address needs brackets, e.g. [::1]:8000, got \"::1:8000\""},
    {"server:\n  listen: \"[::1]8000\"\n",
     F ":2: server.listen: expected [IPv6 address]:port such as [::1]:8000, got \"[::1]8000\""},
    {"server:\n  listen: \"[zz]:80\"\n",
     F ":2: server.listen: invalid IPv6 address in brackets, got \"[zz]:80\""},
    {"server:\n  listen: \"[127.0.0.1]:80\"\n",
     F ":2: server.listen: invalid IPv6 address in brackets, got \"[127.0.0.1]:80\""},
    {"server:\n  listen: a_b:80\n",
     F ":2: server.listen: the host must be an IP address, a DNS name or *, got \"a_b:80\""},
    {"server:\n  listen: 999.1.1.1:80\n",
     F ":2: server.listen: the host must be an IP address, a DNS name or *, got \"999.1.1.1:80\""},
    {"server:\n  listen: \"-gw:80\"\n",
     F ":2: server.listen: the host must be an IP address, a DNS name or *, got \"-gw:80\""},
    {"server:\n  listen: \":8000\"\n",
     F ":2: server.listen: missing host (*:PORT listens on all addresses), got \":8000\""},
    /* upstream.url */
    {"upstream:\n  url: ftp://h\n",
     F ":2: upstream.url: must start with http:// or https://, got \"ftp://h\""},
    {"upstream:\n  url: 127.0.0.1:6333\n",
     F ":2: upstream.url: must start with http:// or https://, got \"127.0.0.1:6333\""},
    {"upstream:\n  url: http://\n", F ":2: upstream.url: has no host, got \"http://\""},
    {"upstream:\n  url: http://:6333\n", F ":2: upstream.url: has no host, got \"http://:6333\""},
    {"upstream:\n  url: http://h:0\n",
     F ":2: upstream.url: has an invalid port (1 to 65535), got \"http://h:0\""},
    {"upstream:\n  url: http://h:99999\n",
     F ":2: upstream.url: has an invalid port (1 to 65535), got \"http://h:99999\""},
    {"upstream:\n  url: \"http://h:\"\n",
     F ":2: upstream.url: has an invalid port (1 to 65535), got \"http://h:\""},
    {"upstream:\n  url: http://h/collections\n",
     F ":2: upstream.url: must not have a path: each request's own path is appended to it, got "
       "\"http://h/collections\""},
    {"upstream:\n  url: http://h?x=1\n",
     F ":2: upstream.url: must not have a query or fragment, got \"http://h?x=1\""},
    {"upstream:\n  url: http://u:p@h\n",
     F ":2: upstream.url: must not contain user:password@ (use upstream.api_key), got "
       "\"http://u:p@h\""},
    {"upstream:\n  url: http://::1:6333\n",
     F ":2: upstream.url: has an IPv6 host without [brackets], got \"http://::1:6333\""},
    {"upstream:\n  url: http://[::1\n",
     F ":2: upstream.url: has an IPv6 host without its closing ], got \"http://[::1\""},
    {"upstream:\n  url: http://[::1]x\n",
     F ":2: upstream.url: has text between ] and the port, got \"http://[::1]x\""},
    {"upstream:\n  url: http://[abc]:1\n",
     F ":2: upstream.url: has a host in [] that is not an IPv6 address, got \"http://[abc]:1\""},
    {"upstream:\n  url: \"http://a b\"\n",
     F ":2: upstream.url: must not contain spaces or control characters, got \"http://a b\""},
    {"upstream:\n  url: http://h_x\n",
     F ":2: upstream.url: has an invalid host, got \"http://h_x\""},
    /* secrets are never echoed */
    {"upstream:\n  api_key: \"k\\r\\nX-Evil: 1\"\n",
     F ":2: upstream.api_key: must be printable ASCII without spaces (it is sent as a header)"},
    /* tls and http2 */
    {"tls:\n  listen: 8443\n",
     F ":2: tls.listen: expected host:port such as 127.0.0.1:8000 or *:8000, got \"8443\""},
    {"tls:\n  listen: \"::1:8443\"\n",
     F ":2: tls.listen: an IPv6 address needs brackets, e.g. [::1]:8000, got \"::1:8443\""},
    {"tls:\n  listen: 127.0.0.1:0\n",
     F ":2: tls.listen: the port must be a number from 1 to 65535, got \"127.0.0.1:0\""},
    {"http2:\n  max_concurrent_streams: 0\n",
     F ":2: http2.max_concurrent_streams: expected an integer from 1 to 10000, got \"0\""},
    {"http2:\n  max_reset_streams: -5\n",
     F ":2: http2.max_reset_streams: expected an integer from 1 to 1000000, got \"-5\""},
    {"log:\n  level: verbose\n",
     F ":2: log.level: must be one of error, warn, info, debug, got \"verbose\""},
    {"log:\n  level: INFO\n",
     F ":2: log.level: must be one of error, warn, info, debug, got \"INFO\""},
    /* unknown keys, with suggestions */
    {"server:\n  lisen: 127.0.0.1:8000\n",
     F ":2: server.lisen: unknown key (did you mean server.listen?)"},
    {"server:\n  wrokers: 4\n", F ":2: server.wrokers: unknown key (did you mean server.workers?)"},
    {"workers: 4\n", F ":1: workers: unknown key (did you mean server.workers?)"},
    {"serverr:\n  listen: x\n", F ":1: serverr: unknown key (did you mean server?)"},
    {"limits:\n  max_connections: 5\n",
     F ":2: limits.max_connections: unknown key (did you mean server.max_connections?)"},
    {"cachex:\n  size: 1\n", F ":1: cachex: unknown key (did you mean cache?)"},
    {"metrics:\n  qdrant_urls: http://a:1,,http://b:2\n",
     F ":2: metrics.qdrant_urls: must be URLs separated by commas, without empty items, got "
       "\"http://a:1,,http://b:2\""},
    {"metrics:\n  qdrant_urls: http://a:1,ftp://b\n",
     F ":2: metrics.qdrant_urls: must start with http:// or https://, got \"http://a:1,ftp://b\""},
    {"cache:\n  size: 1\n", F ":2: cache.size: unknown key"},
    {"cache:\n  redis:\n    url: http://x\n",
     F ":3: cache.redis.url: must be empty (no Redis) or start with redis://"},
    {"cache:\n  ttl: 0\n", F ":2: cache.ttl: expected a duration from 1s to 168h, got \"0\""},
    {"server:\n  include: x.yaml\n", F ":2: server.include: unknown key"},
    /* models.NAME.* */
    {"models:\n  MiniLM:\n    collection: c\n    dimension: 4\n",
     F ":2: models: invalid name \"MiniLM\": only a-z, 0-9, _ and - are allowed"},
    {"models:\n  a.b:\n    collection: c\n",
     F ":2: models: invalid name \"a.b\": names cannot hold '.', '=', spaces or control "
       "characters"},
    {"models:\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n    "
     "dimension: 4\n",
     F ":2: models: invalid name "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
       "names are 1 to 64 characters"},
    {"models:\n  m:\n    collection: c\n    dimension: 0\n",
     F ":4: models.m.dimension: expected an integer from 1 to 65536, got \"0\""},
    {"models:\n  m:\n    collection: c\n    dimension: 65537\n",
     F ":4: models.m.dimension: expected an integer from 1 to 65536, got \"65537\""},
    {"models:\n  m:\n    collection: c\n    dimension: 4\n    max_limit: 10001\n",
     F ":5: models.m.max_limit: expected an integer from 1 to 10000, got \"10001\""},
    {"models:\n  m:\n    collection: c\n    dimension: 4\n    default_limit: 0\n",
     F ":5: models.m.default_limit: expected an integer from 1 to 10000, got \"0\""},
    {"models:\n  m:\n    collection: c\n    dimension: 4\n    default_limit: 20\n"
     "    max_limit: 10\n",
     F ":2: models.m: default_limit (20) is larger than max_limit (10)"},
    {"models:\n  m:\n    dimension: 4\n", F ":2: models.m: collection must be set"},
    {"models:\n  m:\n    collection: \"\"\n    dimension: 4\n",
     F ":2: models.m: collection must be set"},
    {"models:\n  m:\n    collection: c\n", F ":2: models.m: dimension must be set (1 to 65536)"},
    {"models:\n  m:\n", F ":2: models.m: collection must be set"},
    {"models:\n  m:\n    collection: \"a\\nb\"\n    dimension: 4\n",
     F ":3: models.m.collection: must not contain control characters, got \"a\\x0ab\""},
    {"models:\n  m:\n    collection: c\n    dimensions: 4\n",
     F ":4: models.m.dimensions: unknown key (did you mean models.m.dimension?)"},
    {"models:\n  m:\n    collection: c\n    dimension: 4\n  m:\n    dimension: 5\n",
     F ":5: models.m: duplicate key, first defined at line 2"},
    {"models:\n  m: docs\n", F ":2: models.m: expected a mapping of models.m.* keys, got \"docs\""},
    {"models: [m]\n",
     F ":1: models: expected a mapping of names to sections (models.NAME.KEY), got a list"},
    {"models:\n  m:\n    collection: [c]\n    dimension: 4\n",
     F ":3: models.m.collection: expected a string, got a list"},
    {"model:\n  m:\n    collection: c\n", F ":1: model: unknown key (did you mean models?)"},
    /* Sentinel: a list or a comma-separated string, IP literals, one name */
    {"cache:\n  redis:\n    sentinels: [127.0.0.1:1, [x]]\n",
     F ":3: cache.redis.sentinels: expected a list of plain values (no commas, no nesting)"},
    {"cache:\n  redis:\n    sentinels: [sentinel:26379]\n",
     F ":3: cache.redis.sentinels: Sentinels are given by IP address, got \"sentinel:26379\""},
    {"cache:\n  redis:\n    sentinels: 127.0.0.1\n",
     F ":3: cache.redis.sentinels: \"127.0.0.1\": expected host:port, got \"127.0.0.1\""},
    {"cache:\n  redis:\n    master_name: a b\n",
     F ":3: cache.redis.master_name: must be 1-63 of [A-Za-z0-9._-], got \"a b\""},
};

START_TEST(test_load_error)
{
    check_load_error(&load_errors[_i], _i);
}
END_TEST

START_TEST(test_unreadable)
{
    char path[PATHLEN], want[ERRLEN], err[ERRLEN];
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/missing.yaml", t.dir), (int)sizeof path);
    ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
    ck_assert_str_eq(err,
                     expand("{D}/missing.yaml: No such file or directory", &t, want, sizeof want));
    ck_assert_int_eq(gw_config_load_file(c, t.dir, err, sizeof err), -1);
    ck_assert_str_eq(err, expand("{D}: Is a directory", &t, want, sizeof want));
    if (geteuid() != 0) { /* root reads anything */
        tmp_write(&t, "locked.yaml", "log:\n  level: warn\n", path, sizeof path);
        chmod(path, 0);
        ck_assert_int_eq(gw_config_load_file(c, path, err, sizeof err), -1);
        ck_assert_str_eq(err, expand("{D}/locked.yaml: Permission denied", &t, want, sizeof want));
    }
    ck_assert_int_eq(gw_config_load_file(c, "/dev/zero", err, sizeof err), -1);
    ck_assert_str_eq(err, "/dev/zero: larger than 4MiB, too big for a config file");
    /* A tiny error buffer truncates; none at all is allowed. */
    ck_assert_int_eq(gw_config_load_file(c, t.dir, err, 8), -1);
    ck_assert_uint_eq(strlen(err), 7);
    ck_assert_int_eq(gw_config_load_file(c, t.dir, NULL, 0), -1);
    assert_defaults(c);
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

/* ---------------------------------------------------------------- defaults, good values */

static const char *const empty_files[] = {
    "",           "\n\n", "# only a comment\n", "---\n",
    "---\n...\n", "{}\n", "server:\n",          "server:\n  # listen: 0.0.0.0:8000\nupstream: ~\n",
};

START_TEST(test_defaults_when_empty)
{
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new(), *d = gw_config_new();
    const char *which;
    tmp_t t;

    tmp_open(&t);
    tmp_write(&t, "c.yaml", empty_files[_i], path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    assert_defaults(c);
    ck_assert_msg(same_values(gw_config_keys(), c, d, false, &which), "%s differs", which);
    gw_config_free(c);
    gw_config_free(d);
    tmp_close(&t);
}
END_TEST

START_TEST(test_good_values)
{
    static const char yaml[] = "# every key, none at its default\n"
                               "server:\n"
                               "  listen: \"[::1]:9000\"\n"
                               "  workers: 3\n"
                               "  backlog: \"511\"\n" /* quoted or not: the same */
                               "  max_connections: 1000000\n"
                               "  keepalive_timeout: 1.5s\n"
                               "  shutdown_timeout: 0\n"
                               "upstream:\n"
                               "  url: https://qdrant.example.com:8443/\n"
                               "  api_key: 'k-123'\n"
                               "  max_connections: 1\n"
                               "  connect_timeout: 250ms\n"
                               "  timeout: 24h\n"
                               "  idle_timeout: 100ms\n"
                               "  health_interval: 0s\n"
                               "limits:\n"
                               "  max_header_bytes: 1MiB\n"
                               "  max_body_bytes: 64GiB\n"
                               "  header_timeout: 2m\n"
                               "tls:\n"
                               "  listen: \"*:8443\"\n"
                               "  cert: /etc/gw/cert.pem\n"
                               "  key: /etc/gw/key.pem\n"
                               "http2:\n"
                               "  max_concurrent_streams: 10000\n"
                               "  max_reset_streams: 1\n"
                               "log: {level: debug}\n"
                               "metrics:\n"
                               "  enabled: false\n"
                               "  qdrant_urls: http://127.0.0.2:6333,https://q2:6334\n"
                               "  upstream_ttl: 0\n"
                               "  scrape_timeout: 5s\n"
                               "cache:\n"
                               "  enabled: false\n"
                               "  ttl: 2m\n"
                               "  search: {enabled: false, ttl: 5s}\n"
                               "  points: {enabled: false, ttl: 10s}\n"
                               "  local: {max_bytes: 0}\n"
                               "  max_entry_bytes: 64KiB\n"
                               "  max_request_bytes: 8KiB\n"
                               "  stale_if_error: 0\n"
                               "  async_write_settle: 0\n"
                               "  alias_refresh: 1h\n"
                               "  share_across_keys: true\n"
                               "  admin_key: adm\n"
                               "  redis:\n"
                               "    url: redis://127.0.0.1:6380/2\n"
                               "    timeout: 20ms\n"
                               "    connect_timeout: 1s\n"
                               "    prefix: gw1-\n"
                               "    sentinels: [127.0.0.5:26379, '[::1]:26380']\n"
                               "    master_name: cache-1\n";
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    tmp_t t;

    tmp_open(&t);
    tmp_write(&t, "c.yaml", yaml, path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c->listen.host, "::1");
    ck_assert_uint_eq(c->listen.port, 9000);
    ck_assert_int_eq(c->workers, 3);
    ck_assert_int_eq(c->backlog, 511);
    ck_assert_int_eq(c->max_connections, 1000000);
    ck_assert_uint_eq(c->keepalive_timeout_ms, 1500);
    ck_assert_uint_eq(c->shutdown_timeout_ms, 0);
    ck_assert_str_eq(c->upstream_url, "https://qdrant.example.com:8443/");
    ck_assert_str_eq(c->upstream_api_key, "k-123");
    ck_assert_int_eq(c->upstream_max_connections, 1);
    ck_assert_uint_eq(c->upstream_connect_timeout_ms, 250);
    ck_assert_uint_eq(c->upstream_timeout_ms, 24 * 3600 * 1000ull);
    ck_assert_uint_eq(c->upstream_idle_timeout_ms, 100);
    ck_assert_uint_eq(c->upstream_health_interval_ms, 0);
    ck_assert_uint_eq(c->max_header_bytes, 1024 * 1024);
    ck_assert_uint_eq(c->max_body_bytes, 64ull << 30);
    ck_assert_uint_eq(c->header_timeout_ms, 120000);
    ck_assert_str_eq(c->log_level, "debug");
    ck_assert(!c->metrics_enabled);
    ck_assert_str_eq(c->metrics_qdrant_urls, "http://127.0.0.2:6333,https://q2:6334");
    ck_assert_uint_eq(c->metrics_upstream_ttl_ms, 0);
    ck_assert_uint_eq(c->metrics_scrape_timeout_ms, 5000);
    ck_assert(!c->cache_enabled && !c->cache_search_enabled && !c->cache_points_enabled);
    ck_assert_uint_eq(c->cache_ttl_ms, 120000);
    ck_assert_uint_eq(c->cache_search_ttl_ms, 5000);
    ck_assert_uint_eq(c->cache_points_ttl_ms, 10000);
    ck_assert_uint_eq(c->cache_local_max_bytes, 0);
    ck_assert_uint_eq(c->cache_max_entry_bytes, 64 << 10);
    ck_assert_uint_eq(c->cache_max_request_bytes, 8 << 10);
    ck_assert_uint_eq(c->cache_stale_if_error_ms, 0);
    ck_assert_uint_eq(c->cache_async_write_settle_ms, 0);
    ck_assert_uint_eq(c->cache_alias_refresh_ms, 3600000);
    ck_assert(c->cache_share_across_keys);
    ck_assert_str_eq(c->cache_admin_key, "adm");
    ck_assert_str_eq(c->cache_redis_url, "redis://127.0.0.1:6380/2");
    ck_assert_uint_eq(c->cache_redis_timeout_ms, 20);
    ck_assert_uint_eq(c->cache_redis_connect_timeout_ms, 1000);
    ck_assert_str_eq(c->cache_redis_prefix, "gw1-");
    ck_assert_str_eq(c->cache_redis_sentinels, "127.0.0.5:26379, [::1]:26380");
    ck_assert_str_eq(c->cache_redis_master_name, "cache-1");
    ck_assert_str_eq(c->tls_listen, "*:8443");
    ck_assert_str_eq(c->tls_cert, "/etc/gw/cert.pem");
    ck_assert_str_eq(c->tls_key, "/etc/gw/key.pem");
    ck_assert_int_eq(c->h2_max_concurrent_streams, 10000);
    ck_assert_int_eq(c->h2_max_reset_streams, 1);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_str_eq(c->upstream_url, "https://qdrant.example.com:8443");
    gw_listen_addr_t tls;
    ck_assert_int_eq(gw_config_tls_addr(c, &tls, err, sizeof err), 0);
    ck_assert_str_eq(tls.host, "0.0.0.0");
    ck_assert_uint_eq(tls.port, 8443);
    free(tls.host);
    gw_config_free(c);
    tmp_close(&t);
}
END_TEST

static const char *const good_urls[] = {
    "http://127.0.0.1:6333",
    "https://qdrant.example.com",
    "http://[::1]:6333/",
    "http://localhost/",
};

START_TEST(test_good_urls)
{
    char kv[256], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    size_t i;

    for (i = 0; i < NELEM(good_urls); i++) {
        snprintf(kv, sizeof kv, "upstream.url=%s", good_urls[i]);
        ck_assert_msg(gw_config_set(c, kv, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(c->upstream_url, good_urls[i]);
    }
    /* the scheme is matched exactly: lowercase only */
    ck_assert_int_eq(gw_config_set(c, "upstream.url=HTTP://h", err, sizeof err), -1);
    ck_assert_str_eq(err, "--set upstream.url=HTTP://h: must start with http:// or https://, got "
                          "\"HTTP://h\"");
    ck_assert_str_eq(c->upstream_url, "http://localhost/");
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_str_eq(c->upstream_url, "http://localhost");
    gw_config_free(c);
}
END_TEST

/* ---------------------------------------------------------------- --set */

static const struct {
    const char *kv, *want;
} set_errors[] = {
    {"server.workers=abc",
     "--set server.workers=abc: expected an integer from 0 to 256, got \"abc\""},
    {"server.workers=", "--set server.workers=: expected an integer from 0 to 256, got \"\""},
    {"server.workers=5=6",
     "--set server.workers=5=6: expected an integer from 0 to 256, got \"5=6\""},
    {"server.lisen=1", "--set server.lisen=1: unknown key (did you mean server.listen?)"},
    {"Server.workers=1", "--set Server.workers=1: unknown key (did you mean server.workers?)"},
    {"server=1", "--set server=1: server is a section, not a key"},
    {"server.workers", "--set server.workers: expected key=value"},
    {"=4", "--set =4: unknown key"},
    {"upstream.api_key=a b",
     "--set upstream.api_key=(secret): must be printable ASCII without spaces (it is sent as a "
     "header)"},
    {"upstream.url=http://h/x",
     "--set upstream.url=http://h/x: must not have a path: each request's own path is appended "
     "to it, got \"http://h/x\""},
    {"limits.max_body_bytes=1TiB",
     "--set limits.max_body_bytes=1TiB: expected a size from 1KiB to 64GiB, got \"1TiB\""},
    {"server.listen=8000",
     "--set server.listen=8000: expected host:port such as 127.0.0.1:8000 or *:8000, got "
     "\"8000\""},
    {"log.level=trace",
     "--set log.level=trace: must be one of error, warn, info, debug, got \"trace\""},
    {"server.keepalive_timeout=0",
     "--set server.keepalive_timeout=0: expected a duration from 1s to 1h, got \"0\""},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
     "--set aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: key name too long"},
};

START_TEST(test_set_error)
{
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    int rc = gw_config_set(c, set_errors[_i].kv, err, sizeof err);

    assert_defaults(c); /* a refused --set changes nothing */
    gw_config_free(c);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, set_errors[_i].want);
}
END_TEST

START_TEST(test_set_good)
{
    static const char *const sets[] = {
        "server.workers=4",
        "server.workers=7", /* later wins */
        "server.listen=[::1]:9000",
        "upstream.api_key=abc",
        "limits.max_body_bytes=1GiB",
        "server.keepalive_timeout=1.5s",
        "log.level=debug",
        "upstream.url=https://q.example.com:8443/",
        "upstream.api_key=",
        "server.listen=*:80",
    };
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    size_t i;

    for (i = 0; i < NELEM(sets); i++)
        ck_assert_msg(gw_config_set(c, sets[i], err, sizeof err) == 0, "%s: %s", sets[i], err);
    ck_assert_int_eq(c->workers, 7);
    ck_assert_str_eq(c->listen.host, "0.0.0.0");
    ck_assert_uint_eq(c->listen.port, 80);
    ck_assert_str_eq(c->upstream_api_key, "");
    ck_assert_uint_eq(c->max_body_bytes, 1 << 30);
    ck_assert_uint_eq(c->keepalive_timeout_ms, 1500);
    ck_assert_str_eq(c->log_level, "debug");
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_str_eq(c->upstream_url, "https://q.example.com:8443");
    gw_config_free(c);
}
END_TEST

/* ---------------------------------------------------------------- shipped conf/ files */

/* Whether some line of text, indented by any amount, sets leaf ("  leaf: value"). */
static bool has_key_line(const char *text, const char *leaf)
{
    size_t n = strlen(leaf);
    const char *line;

    for (line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, leaf, n) == 0 && p[n] == ':') return true;
    }
    return false;
}

/* Whether some line of text is a commented-out example setting leaf ("  #   leaf: value"). */
static bool has_commented_key_line(const char *text, const char *leaf)
{
    size_t n = strlen(leaf);
    const char *line;

    for (line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (*p != '#') continue;
        p += 1 + strspn(p + 1, " ");
        if (strncmp(p, leaf, n) == 0 && p[n] == ':') return true;
    }
    return false;
}

START_TEST(test_conf_gateway_is_the_defaults)
{
    static const char *const files[] = {"gateway.yaml", "connection-pools.yaml", "performance.yaml",
                                        "caching.yaml", "models.yaml"};
    char path[PATHLEN], err[ERRLEN] = "", *text = NULL, line[PATHLEN];
    gw_config_t *c = gw_config_new(), *d = gw_config_new();
    const yconf_key_t *k;
    const char *which;
    size_t size = 0, i;
    FILE *all = memstream(&text, &size);

    conf_path("gateway.yaml", path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(same_values(gw_config_keys(), c, d, false, &which),
                  "conf/gateway.yaml: %s is not the built-in default", which);
    /* Every key is written out in one of the three files, with its comment. */
    for (i = 0; i < NELEM(files); i++) {
        FILE *f;
        conf_path(files[i], path, sizeof path);
        ck_assert_ptr_nonnull(f = fopen(path, "r"));
        while (fgets(line, sizeof line, f))
            fputs(line, all);
        fclose(f);
    }
    fclose(all);
    for (k = gw_config_keys(); k->name; k++) {
        const char *leaf = strrchr(k->name, '.');
        const yconf_key_t *s;
        ck_assert_msg(has_key_line(text, leaf ? leaf + 1 : k->name), "%s is missing from conf/",
                      k->name);
        if ((k->flags & YCONF_TYPE_MASK) != YCONF_MAP) continue;
        /* A map is empty by default: its keys are documented in a commented-out example. */
        for (s = k->map->keys; s->name; s++)
            ck_assert_msg(has_commented_key_line(
                              text, strrchr(s->name, '.') ? strrchr(s->name, '.') + 1 : s->name),
                          "%s.NAME.%s is missing from conf/ (as a commented example)", k->name,
                          s->name);
    }
    ck_assert_uint_eq(c->nmodels, 0);
    /* written in two parts so that this file does not hold the address it looks for */
    ck_assert_msg(!strstr(text, "192."
                                "168."),
                  "private addresses belong in production.yaml only");
    free(text);
    gw_config_free(c);
    gw_config_free(d);
}
END_TEST

START_TEST(test_conf_production_loads)
{
    char path[PATHLEN], err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();

    conf_path("production.yaml", path, sizeof path);
    ck_assert_msg(gw_config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(gw_config_finalize(c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c->listen.host, "0.0.0.0");
    ck_assert_uint_eq(c->listen.port, 8000);
    ck_assert_int_eq(c->workers, 8);
    ck_assert_str_eq(c->upstream_url, "http://127.0.0.1:6333");
    ck_assert_int_gt(c->upstream_max_connections, 64);
    gw_config_free(c);
}
END_TEST

/* ---------------------------------------------------------------- dump, finalize, table */

START_TEST(test_dump_round_trip)
{
    static const char *const sets[] = {
        "server.listen=[2001:db8::7]:8443", "server.workers=12",
        "server.keepalive_timeout=1.5s",    "upstream.url=http://[::1]:6334/",
        "upstream.api_key=top-secret",      "upstream.timeout=23h",
        "upstream.health_interval=0",       "limits.max_header_bytes=1500",
        "limits.max_body_bytes=33MB",       "log.level=warn",
    };
    char path[PATHLEN], err[ERRLEN] = "", *text = NULL;
    gw_config_t *c = gw_config_new(), *back = gw_config_new();
    const char *which;
    size_t size = 0, i;
    FILE *f;
    tmp_t t;

    tmp_open(&t);
    for (i = 0; i < NELEM(sets); i++)
        ck_assert_msg(gw_config_set(c, sets[i], err, sizeof err) == 0, "%s: %s", sets[i], err);
    f = memstream(&text, &size);
    gw_config_dump(c, f);
    fclose(f);
    /* the secret is a comment, never the value */
    ck_assert_ptr_null(strstr(text, "top-secret"));
    ck_assert_ptr_nonnull(strstr(text, "\n  # api_key: (secret, not shown)\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n  listen: \"[2001:db8::7]:8443\"\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n  keepalive_timeout: 1500ms\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n  max_body_bytes: 33000000\n"));
    tmp_write(&t, "dump.yaml", text, path, sizeof path);
    ck_assert_msg(gw_config_load_file(back, path, err, sizeof err) == 0, "%s\n%s", err, text);
    ck_assert_msg(same_values(gw_config_keys(), c, back, true, &which), "%s differs", which);
    ck_assert_str_eq(back->upstream_api_key, "");
    free(text);
    gw_config_free(c);
    gw_config_free(back);
    tmp_close(&t);
}
END_TEST

START_TEST(test_finalize)
{
    char err[ERRLEN] = "";
    gw_config_t *c = gw_config_new();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_int_eq(c->workers, cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0); /* idempotent */
    ck_assert_int_eq(gw_config_set(c, "server.workers=4", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    ck_assert_int_eq(c->workers, 4); /* an explicit count is kept */
    ck_assert_int_eq(gw_config_set(c, "upstream.connect_timeout=30s", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_set(c, "upstream.timeout=1500ms", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err,
                     "upstream.connect_timeout (30s) is longer than upstream.timeout (1500ms)");
    ck_assert_int_eq(gw_config_set(c, "upstream.timeout=1m", err, sizeof err), 0);
    /* TLS needs a certificate and a key */
    ck_assert_int_eq(gw_config_set(c, "tls.listen=127.0.0.1:8443", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_set(c, "tls.cert=/c.pem", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), -1);
    ck_assert_str_eq(err, "tls.listen is set: tls.cert and tls.key must name PEM files");
    ck_assert_int_eq(gw_config_set(c, "tls.key=/k.pem", err, sizeof err), 0);
    ck_assert_int_eq(gw_config_finalize(c, err, sizeof err), 0);
    gw_config_free(c);
}
END_TEST

START_TEST(test_key_table_is_valid)
{
    char err[ERRLEN] = "";
    gw_config_t c;

    memset(&c, 0, sizeof c);
    ck_assert_msg(yconf_init(gw_config_keys(), &c, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(yconf_find(gw_config_keys(), "server.listen"));
    ck_assert_ptr_null(yconf_find(gw_config_keys(), "server"));
    yconf_dispose(gw_config_keys(), &c);
    ck_assert_ptr_null(c.upstream_url);
    ck_assert_ptr_null(c.listen.host);
}
END_TEST

/* ---------------------------------------------------------------- runner */

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *errors = tcase_create("errors"), *values = tcase_create("values");
    TCase *files = tcase_create("files"), *table = tcase_create("table");

    tcase_add_loop_test(errors, test_load_error, 0, (int)NELEM(load_errors));
    tcase_add_test(errors, test_unreadable);
    tcase_add_loop_test(errors, test_set_error, 0, (int)NELEM(set_errors));
    tcase_add_loop_test(values, test_defaults_when_empty, 0, (int)NELEM(empty_files));
    tcase_add_test(values, test_good_values);
    tcase_add_test(values, test_good_urls);
    tcase_add_test(values, test_set_good);
    tcase_add_test(values, test_finalize);
    tcase_add_test(files, test_conf_gateway_is_the_defaults);
    tcase_add_test(files, test_conf_production_loads);
    tcase_add_test(files, test_dump_round_trip);
    tcase_add_test(table, test_key_table_is_valid);
    suite_add_tcase(s, errors);
    suite_add_tcase(s, values);
    suite_add_tcase(s, files);
    suite_add_tcase(s, table);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
