/* The exposition text of one scrape. Gateway counters are summed over all workers here, at
 * scrape time; the request path only ever touches its own worker's counters. */
#include "gateway/handler/metrics_render.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gateway/auth/gate.h"
#include "gateway/cache/cache.h"
#include "gateway/cache/l1.h"
#include "gateway/redis/client.h"
#include "common/grpc_frame.h"
#include "gateway/http/grpc_route.h"
#include "gateway/http/router.h"
#include "gateway/upstream/proxy.h"

#define NS "qdrant_gateway_"

/* Families we write ourselves: an upstream exporter's family of the same name is dropped. */
static const char *const own_names[] = {
    NS "*", /* everything of ours */
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "qdrant_up",
    "qdrant_scrape_duration_seconds",
    NULL,
};

static void render_requests(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_proc_t *sh = env->proc;
    gw_prom_family(t, NS "http_requests_total", "counter",
                   "Client requests by route class, method and status code (499: client left).");
    for (int c = 0; c < GW_CLASSES; c++)
        for (int m = 0; m < GW_M_N; m++)
            for (int k = 0; k < GW_CODES; k++) {
                uint64_t v = 0;
                for (int i = 0; i < sh->nworkers; i++)
                    if (sh->loops[i]) v += gw_stat_get(&sh->loops[i]->stats->requests[c][m][k]);
                if (!v) continue;
                char labels[160];
                snprintf(labels, sizeof(labels), "route_class=\"%s\",method=\"%s\",code=\"%d\"",
                         gw_route_class_name((gw_route_class_t)c), gw_stats_method_name(m),
                         k == GW_CODES - 1 ? 0 : k + GW_CODE_MIN);
                gw_prom_sample_u64(t, NS "http_requests_total", labels, v);
            }
    gw_prom_family(t, NS "http_request_duration_seconds", "histogram",
                   "Time from a request's first byte to the end of its answer, by route class.");
    const gw_hist_t *h[256];
    for (int c = 0; c < GW_CLASSES; c++) {
        int nw = 0;
        for (int i = 0; i < sh->nworkers && nw < 256; i++)
            if (sh->loops[i]) h[nw++] = &sh->loops[i]->stats->duration[c];
        char labels[64];
        snprintf(labels, sizeof(labels), "route_class=\"%s\"",
                 gw_route_class_name((gw_route_class_t)c));
        gw_prom_histogram(t, NS "http_request_duration_seconds", labels, h, (size_t)nw);
    }
}

static void render_grpc(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_proc_t *sh = env->proc;
    gw_prom_family(t, NS "grpc_requests_total", "counter",
                   "gRPC calls by method and grpc-status (CANCELLED: the client left first).");
    for (size_t m = 0; m < GW_GRPC_RPCS; m++)
        for (int k = 0; k < GW_GRPC_CODES; k++) {
            uint64_t v = 0;
            for (int i = 0; i < sh->nworkers; i++)
                if (sh->loops[i]) v += gw_stat_get(&sh->loops[i]->stats->grpc_requests[m][k]);
            if (!v) continue;
            char labels[160];
            snprintf(labels, sizeof(labels), "method=\"%s\",code=\"%s\"",
                     gw_grpc_method_name(m) + 1, gw_grpc_status_name(k));
            gw_prom_sample_u64(t, NS "grpc_requests_total", labels, v);
        }
    gw_prom_family(t, NS "grpc_request_duration_seconds", "histogram",
                   "Time from a gRPC call's first byte to the end of its answer, by method "
                   "(methods that were called).");
    const gw_hist_t *h[256];
    for (size_t m = 0; m < GW_GRPC_RPCS; m++) {
        int nw = 0, used = 0;
        for (int i = 0; i < sh->nworkers && nw < 256; i++)
            if (sh->loops[i]) {
                h[nw++] = &sh->loops[i]->stats->grpc_duration[m];
                for (int k = 0; k < GW_GRPC_CODES && !used; k++)
                    used = gw_stat_get(&sh->loops[i]->stats->grpc_requests[m][k]) != 0;
            }
        if (!used) continue;
        char labels[128];
        snprintf(labels, sizeof(labels), "method=\"%s\"", gw_grpc_method_name(m) + 1);
        gw_prom_histogram(t, NS "grpc_request_duration_seconds", labels, h, (size_t)nw);
    }
}

static uint64_t sum_stat(const gw_proc_t *sh, size_t offset)
{
    uint64_t v = 0;
    for (int i = 0; i < sh->nworkers; i++)
        if (sh->loops[i])
            v += gw_stat_get((const gw_stat_t *)((const char *)sh->loops[i]->stats + offset));
    return v;
}

#define SUM(field) sum_stat(sh, offsetof(gw_wstats_t, field))

static void render_conns_upstream(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_proc_t *sh = env->proc;
    gw_prom_family(t, NS "http_requests_in_flight", "gauge", "Requests being served now.");
    gw_prom_sample_u64(t, NS "http_requests_in_flight", NULL, SUM(in_flight));
    gw_prom_family(t, NS "connections", "gauge",
                   "Open client connections by protocol (pending: TLS handshake or sniffing).");
    static const char *const protos[GW_PROTO_N] = {"pending", "http1", "h2"};
    for (int p = 0; p < GW_PROTO_N; p++) {
        char labels[40];
        snprintf(labels, sizeof(labels), "protocol=\"%s\"", protos[p]);
        gw_prom_sample_u64(t, NS "connections", labels, SUM(conns[p]));
    }
    const gw_hist_t *h[256];
    int nw = 0;
    for (int i = 0; i < sh->nworkers && nw < 256; i++)
        if (sh->loops[i]) h[nw++] = &sh->loops[i]->stats->upstream_duration;
    gw_prom_family(t, NS "upstream_request_duration_seconds", "histogram",
                   "Time Qdrant took to answer a forwarded request, to its last byte.");
    gw_prom_histogram(t, NS "upstream_request_duration_seconds", NULL, h, (size_t)nw);
    gw_prom_family(t, NS "upstream_errors_total", "counter",
                   "Forwarded requests that failed, by kind.");
    static const char *const kinds[GW_UPERR_N] = {"refused", "reset", "timeout", "other"};
    for (int k = 0; k < GW_UPERR_N; k++) {
        char labels[40];
        snprintf(labels, sizeof(labels), "kind=\"%s\"", kinds[k]);
        gw_prom_sample_u64(t, NS "upstream_errors_total", labels, SUM(upstream_errors[k]));
    }
    gw_prom_family(t, NS "graphql_operations_total", "counter",
                   "GraphQL operations at /graphql by type (invalid: did not parse or validate) "
                   "and outcome (executed, or refused before execution).");
    static const char *const gtypes[GW_GQL_TYPES] = {"query", "mutation", "invalid"};
    for (int k = 0; k < GW_GQL_TYPES; k++)
        for (int o = 0; o < 2; o++) {
            char labels[64];
            snprintf(labels, sizeof(labels), "type=\"%s\",outcome=\"%s\"", gtypes[k],
                     o ? "refused" : "executed");
            gw_prom_sample_u64(t, NS "graphql_operations_total", labels, SUM(graphql[k][o]));
        }
    uint64_t open = SUM(upstream_opened) - SUM(upstream_closed), active = SUM(upstream_active);
    gw_prom_family(
        t, NS "upstream_connections", "gauge",
        "Pooled connections to Qdrant: open, and idle (open minus transfers under way).");
    gw_prom_sample_u64(t, NS "upstream_connections", "state=\"open\"", open);
    gw_prom_sample_u64(t, NS "upstream_connections", "state=\"idle\"",
                       open > active ? open - active : 0);
}

static void peer_family(gw_text_t *t, const char *name, const char *type, const char *help,
                        const gw_proxy_t *px, const gw_proc_t *sh, size_t offset)
{
    gw_prom_family(t, name, type, help);
    for (int p = 0; p < gw_proxy_peer_count(px) && p < GW_STATS_MAX_PEERS; p++) {
        char labels[600];
        snprintf(labels, sizeof(labels), "peer=\"%s\"", gw_proxy_peer_url(px, p));
        gw_prom_sample_u64(t, name, labels,
                           sum_stat(sh, offsetof(gw_wstats_t, peer) +
                                            (size_t)p * sizeof(gw_peer_stats_t) + offset));
    }
}

/* Each Qdrant peer (upstream.urls, or the one of upstream.url), summed over the workers. */
static void render_peers(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_proc_t *sh = env->proc;
    const gw_proxy_t *px = env->proxy;
    if (!px) return;
#define PEER(f) offsetof(gw_peer_stats_t, f)
    peer_family(t, NS "upstream_peer_up", "gauge",
                "Workers sending this Qdrant peer traffic (not ejected, last probe passed).", px,
                sh, PEER(up));
    peer_family(t, NS "upstream_peer_requests_total", "counter",
                "Exchanges started with this peer (a read moved to another peer counts twice).", px,
                sh, PEER(requests));
    peer_family(t, NS "upstream_peer_errors_total", "counter",
                "Exchanges with this peer that failed: connect error, reset, timeout, 502/503/504.",
                px, sh, PEER(errors));
    peer_family(t, NS "upstream_peer_retries_total", "counter",
                "Reads that failed on this peer before any answer byte and went to another.", px,
                sh, PEER(retries));
    peer_family(t, NS "upstream_peer_ejections_total", "counter",
                "Times a worker's outlier detection ejected this peer.", px, sh, PEER(ejections));
    peer_family(t, NS "upstream_peer_probes_failed_total", "counter",
                "Active probes (GET /readyz) of this peer that failed.", px, sh, PEER(probes[0]));
    peer_family(t, NS "upstream_peer_probes_passed_total", "counter",
                "Active probes (GET /readyz) of this peer that passed.", px, sh, PEER(probes[1]));
#undef PEER
    gw_prom_family(t, NS "upstream_peer_request_duration_seconds", "histogram",
                   "Time each peer took for an exchange, failed ones included.");
    for (int p = 0; p < gw_proxy_peer_count(px) && p < GW_STATS_MAX_PEERS; p++) {
        const gw_hist_t *h[256];
        int nw = 0;
        for (int i = 0; i < sh->nworkers && nw < 256; i++)
            if (sh->loops[i]) h[nw++] = &sh->loops[i]->stats->peer[p].duration;
        char labels[600];
        snprintf(labels, sizeof(labels), "peer=\"%s\"", gw_proxy_peer_url(px, p));
        gw_prom_histogram(t, NS "upstream_peer_request_duration_seconds", labels, h, (size_t)nw);
    }
}

/* Resolutions of the upstream's and Redis's host names (IP literals are never resolved). */
static void render_dns(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_proc_t *sh = env->proc;
    static const char *const peers[GW_DNS_PEER_N] = {"upstream", "redis"};
    static const char *const results[GW_DNS_RESULTS] = {"ok", "failed", "changed"};
    gw_prom_family(t, NS "dns_resolutions_total", "counter",
                   "Resolutions of upstream.url's and cache.redis.url's host names, by result "
                   "(changed: an ok one that moved the address set; one per worker).");
    for (int p = 0; p < GW_DNS_PEER_N; p++)
        for (int k = 0; k < GW_DNS_RESULTS; k++) {
            char labels[64];
            snprintf(labels, sizeof(labels), "peer=\"%s\",result=\"%s\"", peers[p], results[k]);
            gw_prom_sample_u64(t, NS "dns_resolutions_total", labels, SUM(dns[p][k]));
        }
}

static void render_cache(const gw_handler_env_t *env, gw_text_t *t)
{
    const gw_cache_shared_t *cs = env->cache_shared;
    if (!cs) return;
    gw_cache_stats_t sum;
    gw_cache_sum_stats(cs, &sum);
    gw_redis_stats_t rs;
    int redis_any = gw_cache_sum_redis_stats(cs, &rs), redis_up = rs.up;
    gw_prom_family(
        t, NS "cache_lookups_total", "counter",
        "Cacheable reads by tier and result; l1 miss = went on to Redis or Qdrant; l2 skipped "
        "= not asked, as no replica stored it lately.");
    struct {
        const char *labels;
        uint64_t v;
    } rows[] = {
        {"tier=\"l1\",result=\"hit\"", sum.l1_hits},
        {"tier=\"l1\",result=\"miss\"", sum.l2_hits + sum.misses},
        {"tier=\"l1\",result=\"stale\"", sum.stale},
        {"tier=\"l1\",result=\"bypass\"", sum.bypass},
        {"tier=\"l2\",result=\"hit\"", sum.l2_hits},
        {"tier=\"l2\",result=\"miss\"", sum.l2_misses},
        {"tier=\"l2\",result=\"skipped\"", sum.l2_skipped}, /* no replica stored it lately */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        gw_prom_sample_u64(t, NS "cache_lookups_total", rows[i].labels, rows[i].v);
    gw_prom_family(t, NS "cache_first_uses_total", "counter",
                   "Reads sent to Qdrant without a lookup or a store as the first of their kind "
                   "within the TTL (cache.min_uses: 2); counted in tier=\"l1\" misses too.");
    gw_prom_sample_u64(t, NS "cache_first_uses_total", NULL, sum.first_uses);
    gw_prom_family(t, NS "cache_coalesced_total", "counter",
                   "Reads answered by an identical read's fetch instead of their own.");
    gw_prom_sample_u64(t, NS "cache_coalesced_total", NULL, sum.coalesced);
    gw_prom_family(t, NS "cache_stores_total", "counter", "Answers stored, by tier.");
    gw_prom_sample_u64(t, NS "cache_stores_total", "tier=\"l1\"", sum.stores_l1);
    gw_prom_sample_u64(t, NS "cache_stores_total", "tier=\"l2\"", sum.stores_l2);
    gw_prom_family(t, NS "cache_invalidations_total", "counter",
                   "Generation bumps: writes, settle timers, purges and other replicas' writes.");
    gw_prom_sample_u64(t, NS "cache_invalidations_total", NULL, sum.invalidations);
    gw_prom_family(t, NS "cache_purges_total", "counter", "Admin purges.");
    gw_prom_sample_u64(t, NS "cache_purges_total", NULL, sum.purges);
    gw_cache_status_view_t st;
    gw_cache_get_status(cs, &st);
    gw_prom_family(t, NS "cache_state", "gauge",
                   "1 for the cache's current state (active, degraded: caching with a weaker "
                   "guarantee, bypass: not caching) and its reason.");
    char labels[96];
    snprintf(labels, sizeof(labels), "state=\"%s\",reason=\"%s\"", gw_cache_state_name(st.state),
             st.code);
    gw_prom_sample_u64(t, NS "cache_state", labels, 1);
    gw_prom_family(t, NS "cache_alias_fetch_failures_total", "counter",
                   "Reads of Qdrant's alias list (GET /aliases) that failed.");
    gw_prom_sample_u64(t, NS "cache_alias_fetch_failures_total", NULL, sum.alias_failures);
    gw_prom_family(t, NS "cache_write_barriers_total", "counter",
                   "No-op wait=true updates sent after wait=false writes to learn when Qdrant "
                   "applied them: answered (ok), or failed (fell back to the settle timer).");
    gw_prom_sample_u64(t, NS "cache_write_barriers_total", "result=\"ok\"", sum.barriers_ok);
    gw_prom_sample_u64(t, NS "cache_write_barriers_total", "result=\"failed\"",
                       sum.barriers_failed);
    gw_l1_stats_t l1;
    gw_cache_get_l1_stats(cs, &l1);
    gw_prom_family(t, NS "cache_entries", "gauge", "Entries in the in-process tier.");
    gw_prom_sample_u64(t, NS "cache_entries", NULL, l1.entries);
    gw_prom_family(t, NS "cache_bytes", "gauge", "Bytes used by the in-process tier.");
    gw_prom_sample_u64(t, NS "cache_bytes", NULL, l1.bytes);
    gw_prom_family(t, NS "cache_max_bytes", "gauge", "cache.local.max_bytes.");
    gw_prom_sample_u64(t, NS "cache_max_bytes", NULL, l1.max_bytes);
    gw_prom_family(t, NS "cache_evictions_total", "counter", "Entries evicted to make room.");
    gw_prom_sample_u64(t, NS "cache_evictions_total", NULL, l1.evictions);
    if (!redis_any) return;
    gw_prom_family(t, NS "redis_up", "gauge", "1 when the Redis client is connected.");
    gw_prom_sample_u64(t, NS "redis_up", NULL, (uint64_t)redis_up);
    gw_prom_family(t, NS "redis_errors_total", "counter",
                   "Redis commands that failed or timed out, and calls refused while down.");
    gw_prom_sample_u64(t, NS "redis_errors_total", "kind=\"error\"", rs.errors);
    gw_prom_sample_u64(t, NS "redis_errors_total", "kind=\"timeout\"", rs.timeouts);
    gw_prom_sample_u64(t, NS "redis_errors_total", "kind=\"refused\"", rs.refused);
    gw_prom_family(t, NS "redis_reconnects_total", "counter", "Redis reconnections.");
    gw_prom_sample_u64(t, NS "redis_reconnects_total", NULL, rs.reconnects);
    gw_prom_family(t, NS "redis_command_duration_seconds", "summary",
                   "Round trip of Redis commands answered in time.");
    gw_prom_sample(t, NS "redis_command_duration_seconds_sum", NULL,
                   (double)rs.latency_us_sum / 1e6);
    gw_prom_sample_u64(t, NS "redis_command_duration_seconds_count", NULL, rs.latency_count);
    if (!rs.sentinel) return;
    gw_prom_family(
        t, NS "redis_sentinel_master_changes_total", "counter",
        "Times Sentinel named a new master address, the first one included (per worker).");
    gw_prom_sample_u64(t, NS "redis_sentinel_master_changes_total", NULL, rs.sentinel_switches);
    gw_prom_family(t, NS "redis_sentinel_queries_total", "counter",
                   "Sentinels asked where the master is, by outcome.");
    gw_prom_sample_u64(t, NS "redis_sentinel_queries_total", "result=\"ok\"",
                       rs.sentinel_queries - rs.sentinel_failures);
    gw_prom_sample_u64(t, NS "redis_sentinel_queries_total", "result=\"failed\"",
                       rs.sentinel_failures);
    gw_prom_family(t, NS "redis_sentinel_subscribed", "gauge",
                   "1 when listening to a Sentinel for +switch-master.");
    gw_prom_sample_u64(t, NS "redis_sentinel_subscribed", NULL, (uint64_t)rs.sentinel_subscribed);
}

/* /proc/self/stat: utime, stime (ticks), vsize (bytes), rss (pages). */
static void render_process(const gw_handler_env_t *env, gw_text_t *t)
{
    char buf[1024];
    double cpu = 0, vsize = 0, rss = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        const char *p = strrchr(buf, ')'); /* comm may contain spaces */
        unsigned long ut = 0, st = 0, vs = 0;
        long rs = 0;
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
                        "%*d %*d %*d %*u %lu %ld",
                        &ut, &st, &vs, &rs) == 4) {
            long hz = sysconf(_SC_CLK_TCK);
            cpu = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
            vsize = (double)vs;
            rss = (double)rs * (double)sysconf(_SC_PAGESIZE);
        }
    }
    uint64_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory itself */
    }
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    gw_prom_family(t, "process_cpu_seconds_total", "counter", "User and system CPU time.");
    gw_prom_sample(t, "process_cpu_seconds_total", NULL, cpu);
    gw_prom_family(t, "process_resident_memory_bytes", "gauge", "Resident memory.");
    gw_prom_sample(t, "process_resident_memory_bytes", NULL, rss);
    gw_prom_family(t, "process_virtual_memory_bytes", "gauge", "Virtual memory.");
    gw_prom_sample(t, "process_virtual_memory_bytes", NULL, vsize);
    gw_prom_family(t, "process_open_fds", "gauge", "Open file descriptors.");
    gw_prom_sample_u64(t, "process_open_fds", NULL, fds);
    gw_prom_family(t, "process_max_fds", "gauge", "RLIMIT_NOFILE.");
    gw_prom_sample(t, "process_max_fds", NULL, (double)rl.rlim_cur);
    gw_prom_family(t, "process_start_time_seconds", "gauge", "Start time, Unix seconds.");
    gw_prom_sample(t, "process_start_time_seconds", NULL, env->proc->life->start_wall);
    gw_prom_family(t, NS "build_info", "gauge", "Always 1; the version is a label.");
    gw_prom_sample_u64(t, NS "build_info", "version=\"" GW_VERSION "\"", 1);
    gw_life_t *life = env->proc->life;
    gw_prom_family(t, NS "config_reloads_total", "counter", "SIGHUP reloads, by outcome.");
    gw_prom_sample_u64(t, NS "config_reloads_total", "result=\"ok\"",
                       atomic_load(&life->reloads_ok));
    gw_prom_sample_u64(t, NS "config_reloads_total", "result=\"error\"",
                       atomic_load(&life->reloads_failed));
    gw_prom_family(t, NS "config_generation", "gauge",
                   "The configuration serving: 1 at start, one more per successful reload.");
    gw_prom_sample_u64(t, NS "config_generation", NULL, env->proc->generation);
    gw_prom_family(t, NS "config_last_reload_success_timestamp_seconds", "gauge",
                   "When the last reload took effect, Unix seconds (0: never).");
    gw_prom_sample(t, NS "config_last_reload_success_timestamp_seconds", NULL,
                   atomic_load(&life->last_reload_wall));
}

static void render_nodes(const gw_metrics_source_t *src, gw_text_t *t)
{
    gw_prom_family(t, "qdrant_up", "gauge",
                   "1 when the Qdrant node answered /metrics within metrics.scrape_timeout.");
    for (size_t i = 0; i < src->nnodes; i++) {
        char esc[320], labels[340];
        gw_prom_escape(src->node[i].label, esc, sizeof(esc));
        snprintf(labels, sizeof(labels), "upstream=\"%s\"", esc);
        gw_prom_sample_u64(t, "qdrant_up", labels, (uint64_t)src->node[i].up);
    }
    gw_prom_merge_t *m = gw_prom_merge_new();
    if (!m) {
        t->oom = 1;
        return;
    }
    for (size_t i = 0; i < src->nnodes; i++)
        if (src->node[i].text)
            gw_prom_merge_add(m, src->node[i].text, src->node[i].len, "upstream",
                              src->node[i].label, own_names);
    gw_prom_merge_write(m, t);
    gw_prom_merge_free(m);
}

void gw_metrics_render_redis(const char *info, size_t len, int configured, gw_text_t *t)
{
    static const struct {
        const char *field, *name, *type, *help;
    } map[] = {
        {"used_memory", "redis_used_memory_bytes", "gauge", "Memory Redis has allocated."},
        {"maxmemory", "redis_maxmemory_bytes", "gauge", "Redis maxmemory (0: none)."},
        {"keyspace_hits", "redis_keyspace_hits_total", "counter", "Successful key lookups."},
        {"keyspace_misses", "redis_keyspace_misses_total", "counter", "Failed key lookups."},
        {"evicted_keys", "redis_evicted_keys_total", "counter", "Keys evicted by maxmemory."},
        {"expired_keys", "redis_expired_keys_total", "counter", "Keys expired."},
        {"connected_clients", "redis_connected_clients", "gauge", "Client connections."},
        {"total_commands_processed", "redis_commands_processed_total", "counter",
         "Commands processed."},
    };
    if (!configured) return;
    gw_prom_family(t, "redis_up", "gauge", "1 when Redis answered INFO for this scrape.");
    gw_prom_sample_u64(t, "redis_up", NULL, info != NULL);
    for (size_t k = 0; info && k < sizeof(map) / sizeof(map[0]); k++) {
        size_t fl = strlen(map[k].field), off = 0;
        while (off < len) {
            const char *line = info + off;
            const char *eol = memchr(line, '\n', len - off);
            size_t ll = eol ? (size_t)(eol - line) : len - off;
            off += ll + 1;
            if (ll > fl && memcmp(line, map[k].field, fl) == 0 && line[fl] == ':') {
                gw_prom_family(t, map[k].name, map[k].type, map[k].help);
                gw_prom_sample(t, map[k].name, NULL, strtod(line + fl + 1, NULL));
                break;
            }
        }
    }
}

void gw_metrics_render(const gw_handler_env_t *env, const gw_metrics_source_t *src, gw_text_t *t)
{
    render_process(env, t);
    render_requests(env, t);
    render_grpc(env, t);
    render_conns_upstream(env, t);
    render_dns(env, t);
    render_peers(env, t);
    render_cache(env, t);
    gw_auth_render_metrics(env->auth, t);
    render_nodes(src, t);
    gw_metrics_render_redis(src->redis_info, src->redis_len, src->redis_configured, t);
}
