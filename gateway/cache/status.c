/* The cache's state and the reason for it; see status.h. */
#include "gateway/cache/status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

struct gw_cache_status {
    pthread_mutex_t lock;
    gw_cache_status_view_t v;
};

const char *gw_cache_state_name(gw_cache_state_t st)
{
    switch (st) {
    case GW_CACHE_ACTIVE:
        return "active";
    case GW_CACHE_DEGRADED:
        return "degraded";
    case GW_CACHE_BYPASS:
        return "bypass";
    }
    return "unknown";
}

static void fill(gw_cache_status_view_t *v, gw_cache_state_t st, const char *code,
                 const char *detail)
{
    v->state = st;
    snprintf(v->code, sizeof(v->code), "%s", code ? code : "");
    snprintf(v->detail, sizeof(v->detail), "%s", detail ? detail : "");
}

gw_cache_status_t *gw_cache_status_new(gw_cache_state_t st, const char *code, const char *detail)
{
    gw_cache_status_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    fill(&s->v, st, code, detail);
    s->v.since_us = gw_mono_us();
    return s;
}

void gw_cache_status_free(gw_cache_status_t *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void gw_cache_status_set(gw_cache_status_t *s, gw_cache_state_t st, const char *code,
                         const char *detail)
{
    if (!code) code = "";
    pthread_mutex_lock(&s->lock);
    int changed = s->v.state != st || strcmp(s->v.code, code) != 0;
    int first = s->v.changes == 0; /* leaving the state given at creation */
    fill(&s->v, st, code, detail);
    if (changed) {
        s->v.since_us = gw_mono_us();
        s->v.changes++;
    }
    pthread_mutex_unlock(&s->lock);
    if (!changed) return;
    /* Logged outside the lock; two workers racing may log in either order, each once. */
    if (st == GW_CACHE_ACTIVE)
        gw_log_info("cache: caching%s (%s)", first ? "" : " resumed", detail ? detail : "");
    else
        gw_log_warn("cache: %s (%s): %s", st == GW_CACHE_BYPASS ? "not caching" : "degraded", code,
                    detail ? detail : "");
}

void gw_cache_status_get(const gw_cache_status_t *s, gw_cache_status_view_t *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    *out = s->v;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
}
