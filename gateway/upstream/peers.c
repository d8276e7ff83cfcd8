/* The per-worker balancer and outlier detector; see peers.h. */
#include "gateway/upstream/peers.h"

#include <string.h>

void gw_bal_init(gw_balancer_t *b, int n, const gw_outlier_conf_t *conf, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->n = n < 1 ? 1 : n > GW_PEERS_MAX ? GW_PEERS_MAX : n;
    b->conf = *conf;
    if (b->conf.consecutive_failures < 1) b->conf.consecutive_failures = 1;
    if (b->conf.max_ejection_us < b->conf.base_ejection_us)
        b->conf.max_ejection_us = b->conf.base_ejection_us;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t bal_rand(gw_balancer_t *b)
{
    uint64_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

int gw_bal_available(gw_balancer_t *b, int i, uint64_t now_us)
{
    gw_peer_t *p = &b->peer[i];
    if (p->state == GW_PEER_EJECTED && !b->conf.probing && now_us >= p->out_until_us) {
        p->state = GW_PEER_UP; /* no probes to wait for: its time is up */
        p->back_since_us = now_us;
    }
    return p->state == GW_PEER_UP;
}

int gw_bal_ejected(const gw_balancer_t *b)
{
    int k = 0;
    for (int i = 0; i < b->n; i++)
        k += b->peer[i].state == GW_PEER_EJECTED;
    return k;
}

/* Of the candidates in `set`, two drawn at random: the one with fewer requests under way. */
static int bal_two_choices(gw_balancer_t *b, const int *set, int k)
{
    if (k == 1) return set[0];
    uint64_t r = bal_rand(b);
    int a = set[r % (uint64_t)k];
    int c = set[(r >> 32) % (uint64_t)(k - 1)];
    if (c == a) c = set[k - 1]; /* the second draw skips the first */
    unsigned oa = b->peer[a].outstanding, oc = b->peer[c].outstanding;
    if (oa != oc) return oa < oc ? a : c;
    return (r >> 16) & 1 ? a : c;
}

int gw_bal_pick(gw_balancer_t *b, uint64_t now_us, uint32_t exclude)
{
    int up[GW_PEERS_MAX], all[GW_PEERS_MAX], nup = 0, nall = 0;
    for (int i = 0; i < b->n; i++) {
        if (exclude & (1u << i)) continue;
        all[nall++] = i;
        if (gw_bal_available(b, i, now_us)) up[nup++] = i;
    }
    if (nall == 0) return -1;
    return nup ? bal_two_choices(b, up, nup) : bal_two_choices(b, all, nall);
}

void gw_bal_start(gw_balancer_t *b, int i)
{
    b->peer[i].outstanding++;
}

static int bal_may_eject(const gw_balancer_t *b)
{
    if (b->conf.max_ejected_percent == 0) return 0;
    int allowed = (int)((unsigned)b->n * b->conf.max_ejected_percent / 100u);
    if (allowed < 1) allowed = 1;
    return gw_bal_ejected(b) < allowed;
}

static void bal_eject(gw_balancer_t *b, gw_peer_t *p, uint64_t now_us)
{
    /* A peer that stayed in for max_ejection since it came back starts again from base. */
    if (p->back_since_us && now_us - p->back_since_us >= b->conf.max_ejection_us) p->streak = 0;
    p->streak++;
    uint64_t d = b->conf.base_ejection_us * p->streak;
    if (d > b->conf.max_ejection_us || d / p->streak != b->conf.base_ejection_us)
        d = b->conf.max_ejection_us;
    p->state = GW_PEER_EJECTED;
    p->out_until_us = now_us + d;
    p->failures = 0;
    p->ejections++;
}

int gw_bal_done(gw_balancer_t *b, int i, gw_bal_result_t res, uint64_t now_us)
{
    gw_peer_t *p = &b->peer[i];
    if (p->outstanding) p->outstanding--;
    if (res == GW_BAL_NEUTRAL) return 0;
    if (res == GW_BAL_OK) {
        p->failures = 0;
        return 0;
    }
    p->failures++;
    if (p->state != GW_PEER_UP || p->failures < b->conf.consecutive_failures) return 0;
    if (!bal_may_eject(b)) return 0;
    bal_eject(b, p, now_us);
    return 1;
}

int gw_bal_probe(gw_balancer_t *b, int i, int ok, uint64_t now_us)
{
    gw_peer_t *p = &b->peer[i];
    gw_peer_state_t was = p->state;
    if (ok) {
        if (p->state == GW_PEER_DOWN ||
            (p->state == GW_PEER_EJECTED && now_us >= p->out_until_us)) {
            p->state = GW_PEER_UP;
            p->failures = 0;
            p->back_since_us = now_us;
        }
    } else if (p->state == GW_PEER_UP) {
        p->state = GW_PEER_DOWN;
    }
    return p->state != was;
}

const char *gw_peer_state_name(gw_peer_state_t s)
{
    switch (s) {
    case GW_PEER_UP:
        return "up";
    case GW_PEER_EJECTED:
        return "ejected";
    case GW_PEER_DOWN:
        return "down";
    }
    return "?";
}
