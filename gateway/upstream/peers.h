/* Choosing a Qdrant peer and deciding which peers are out: the balancer and outlier detector of
 * one worker, pure (no I/O, no clock: the caller passes the time), so it is unit-tested alone.
 *
 * Balancing is least-outstanding-requests over two peers drawn at random (power of two
 * choices) among the available ones. A peer is out when it failed `consecutive_failures` times
 * in a row (passive ejection: connect errors, resets, timeouts, 502/503/504), for n ×
 * base_ejection on its n-th ejection in a row (at most max_ejection), and never more than
 * max_ejected_percent of the peers at once (at least one). With active probes, an ejected peer
 * returns only when a probe passes after its ejection time; a failed probe takes a peer out
 * until one passes. When no peer is available every peer is a candidate again (panic mode, as
 * Envoy's): the request is tried rather than refused. */
#ifndef GW_UPSTREAM_PEERS_H
#define GW_UPSTREAM_PEERS_H

#include <stdint.h>

#define GW_PEERS_MAX 16 /* = GW_CONFIG_MAX_PEERS */

typedef enum {
    GW_PEER_UP = 0,  /* takes traffic */
    GW_PEER_EJECTED, /* failed too often in a row: out until its time passed (and a probe) */
    GW_PEER_DOWN,    /* its last active probe failed: out until one passes */
} gw_peer_state_t;

typedef struct gw_outlier_conf {
    unsigned consecutive_failures; /* >= 1 */
    uint64_t base_ejection_us;
    uint64_t max_ejection_us;     /* >= base */
    unsigned max_ejected_percent; /* 0..100; 0 = never eject */
    int probing;                  /* 1: an ejected peer needs a passing probe to return */
} gw_outlier_conf_t;

typedef struct gw_peer {
    gw_peer_state_t state;
    unsigned outstanding;   /* requests under way */
    unsigned failures;      /* consecutive */
    unsigned streak;        /* ejections in a row: the next lasts streak+1 × base */
    uint64_t out_until_us;  /* EJECTED: not before */
    uint64_t back_since_us; /* when it last came back (0: never out) */
    uint64_t ejections;     /* total */
} gw_peer_t;

typedef struct gw_balancer {
    gw_peer_t peer[GW_PEERS_MAX];
    int n;
    gw_outlier_conf_t conf;
    uint64_t rng; /* xorshift state, never 0 */
} gw_balancer_t;

/* The result of one exchange with a peer, as the outlier detector counts it. */
typedef enum {
    GW_BAL_OK = 0,  /* an answer that is not 502/503/504 */
    GW_BAL_FAIL,    /* connect error, reset, timeout, 502/503/504 */
    GW_BAL_NEUTRAL, /* says nothing about the peer (client went away, stale keep-alive) */
} gw_bal_result_t;

/* n peers (1..GW_PEERS_MAX), all up. */
void gw_bal_init(gw_balancer_t *b, int n, const gw_outlier_conf_t *conf, uint64_t seed);

/* The peer for the next request, skipping those in the `exclude` bit mask (a retry's first
 * peer): power of two choices among the available peers, else among all (panic). -1 when every
 * peer is excluded. Does not count the request: gw_bal_start does. */
int gw_bal_pick(gw_balancer_t *b, uint64_t now_us, uint32_t exclude);

/* Peer i takes a request / finished one. done returns 1 when this result ejected it. */
void gw_bal_start(gw_balancer_t *b, int i);
int gw_bal_done(gw_balancer_t *b, int i, gw_bal_result_t res, uint64_t now_us);

/* An active probe of peer i passed (ok) or failed. 1 when its state changed. */
int gw_bal_probe(gw_balancer_t *b, int i, int ok, uint64_t now_us);

/* Whether peer i takes traffic now (an ejection whose time passed without probing ends here). */
int gw_bal_available(gw_balancer_t *b, int i, uint64_t now_us);

/* Peers currently EJECTED. */
int gw_bal_ejected(const gw_balancer_t *b);

const char *gw_peer_state_name(gw_peer_state_t s);

#endif
