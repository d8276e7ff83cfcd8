/* Rendering one scrape: what the sources returned plus every worker's counters, as text. */
#ifndef GW_METRICS_RENDER_H
#define GW_METRICS_RENDER_H

#include <stddef.h>

#include "common/prom.h"
#include "gateway/handler/env.h"

typedef struct gw_metrics_node {
    char label[300]; /* host:port */
    int up;
    double seconds;
    char *text;
    size_t len;
} gw_metrics_node_t;

typedef struct gw_metrics_source {
    size_t nnodes;
    gw_metrics_node_t node[16];
    int redis_configured;
    char *redis_info; /* INFO's answer, or NULL (down, slow or not configured) */
    size_t redis_len;
} gw_metrics_source_t;

/* Writes the whole exposition: gateway, process, cache, Redis client, Qdrant nodes, Redis. */
void gw_metrics_render(const gw_handler_env_t *env, const gw_metrics_source_t *src, gw_text_t *t);

/* Redis INFO "field:value" lines as redis_* metrics (redis_up from whether info is given). */
void gw_metrics_render_redis(const char *info, size_t len, int configured, gw_text_t *t);

#endif
