/* Active health probes of the peers: every upstream.health_interval each worker sends GET
 * /readyz to each peer it is not already probing (libcurl, an internal fetch pinned to that
 * peer). A probe answers within max(health_interval, 1 s), capped by upstream.timeout, with
 * 200, or it failed; the balancer (peers.h) hears every result. Only with several peers: one
 * node has nobody to move its traffic to. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/core/timer.h"
#include "gateway/upstream/internal.h"

typedef struct px_probe_slot {
    px_probe_t *pr;
    int idx;
    int busy; /* a probe of this peer is under way */
} px_probe_slot_t;

struct px_probe {
    gw_proxy_t *px;
    struct event *timer;
    uint64_t timeout_ms;
    px_probe_slot_t slot[GW_PEERS_MAX];
};

static void probe_answered(void *arg, int ok, long status, const char *body, size_t len,
                           double seconds, const char *error)
{
    (void)body, (void)len, (void)seconds;
    px_probe_slot_t *s = arg;
    char why[300];
    s->busy = 0;
    int pass = ok && status == 200;
    if (!ok)
        snprintf(why, sizeof(why), "failed: %s", error ? error : "no answer");
    else
        snprintf(why, sizeof(why), "answered %ld", status);
    px_peer_probed(s->pr->px, s->idx, pass, why);
}

static void probe_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    px_probe_t *pr = arg;
    gw_proxy_t *px = pr->px;
    for (int i = 0; i < px->npeers; i++) {
        px_probe_slot_t *s = &pr->slot[i];
        if (s->busy) continue; /* a frozen peer: its probe's own timeout ends it */
        gw_fetch_req_t q = {.path = "/readyz", .timeout_ms = pr->timeout_ms};
        s->busy = 1;
        if (px_fetch_on(px, i, &q, probe_answered, s) != 0)
            probe_answered(s, 0, 0, NULL, 0, 0.0, "cannot start the probe");
    }
    gw_timer_add_ms(pr->timer, px->loop->cfg->upstream_health_interval_ms);
}

px_probe_t *px_probe_new(gw_proxy_t *px)
{
    const gw_config_t *cfg = px->loop->cfg;
    px_probe_t *pr = calloc(1, sizeof(*pr));
    if (!pr) return NULL;
    pr->px = px;
    pr->timer = evtimer_new(px->loop->base, probe_tick, pr);
    if (!pr->timer) {
        free(pr);
        return NULL;
    }
    uint64_t t = cfg->upstream_health_interval_ms < 1000 ? 1000 : cfg->upstream_health_interval_ms;
    pr->timeout_ms = t < cfg->upstream_timeout_ms ? t : cfg->upstream_timeout_ms;
    for (int i = 0; i < GW_PEERS_MAX; i++)
        pr->slot[i] = (px_probe_slot_t){pr, i, 0};
    gw_timer_add_ms(pr->timer, 0); /* the first round at once: a peer down at start is known */
    return pr;
}

void px_probe_free(px_probe_t *pr)
{
    if (!pr) return;
    event_free(pr->timer);
    free(pr);
}
