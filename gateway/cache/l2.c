/* L2: the Redis tier shared by gateway replicas.
 *
 * Keys (all under cache.redis.prefix):
 *   gen:NAME  generation of a collection or alias; gen:* the global one. Seeded with the time in
 *             microseconds when missing (never 0 or 1), so a key that Redis evicted and a later
 *             write re-created can never bring an old generation back to life;
 *   e:HEX     an entry, keyed by the read without generations (gw_ckey_t.base);
 *   inval     the channel where "INSTANCE NAME" announces each bump, and (with
 *             cache.redis.lookup_filter) "INSTANCE :KEYHEX" each entry stored (l2filter.h).
 * An entry records the generations it was stored under and is used only while Redis still has
 * exactly those. It also records which gateway process stored it and that process's local key:
 * when that process reads it back, the local key must match too, so a write bumped locally is
 * honoured before its INCR has reached Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/cache/internal.h"
#include "gateway/cache/l2_entry.h"

#define L2_KEY_MAX (GW_NAME_MAX + 80)
/* What the Redis client refuses beyond (gw_redis_opts_t.max_reply_bytes) is l2_lookup's MGET
 * answer at its largest: the generations as decimal text, and an entry as l2_store writes it,
 * whose header section the upstream engines cap at 256 KiB and whose body cache.max_entry_bytes
 * caps. Replicas sharing a Redis need the same cache.max_entry_bytes: one with a smaller one
 * refuses (and reconnects on) the larger entries the others store. */
#define L2_HDRS_MAX (256u << 10)
#define L2_GEN_TEXT 24
_Static_assert(GW_DEPS_MAX + 2 <= GW_REDIS_MAX_ELEMENTS, "l2_lookup's MGET answer must fit");

/* A lookup in flight: one MGET of the generations it depends on, then the entry. */
typedef struct l2_lookup {
    creq_t *cr;
    int ngens;
} l2_lookup_t;

static void gen_key(const gw_cache_t *c, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%sgen:%s", c->cfg->cache_redis_prefix, name);
}

static void entry_key(const creq_t *cr, char *out, size_t cap)
{
    char hex[GW_DIGEST_HEX];
    gw_digest_hex(cr->key.base, hex);
    snprintf(out, cap, "%se:%s", cr->c->cfg->cache_redis_prefix, hex);
}

static double wall_ms(void)
{
    return gw_wall_seconds() * 1000.0;
}

/* ---- lookup ------------------------------------------------------------------------------- */

/* The stored value as an entry under the request's L1 key, if it is still valid. */
static gw_centry_t *l2_decode(creq_t *cr, const unsigned char *v, size_t len)
{
    gw_cache_shared_t *sh = cr->c->sh;
    gw_l2_entry_t le;
    const char *bad = gw_l2_entry_parse(v, len, &le);
    if (bad) {
        gw_log_debug("cache: L2 entry refused: %s", bad);
        return NULL;
    }
    if (le.ngens != cr->key.deps.n + 1) return NULL;
    for (uint32_t i = 0; i < le.ngens; i++)
        if (gw_l2_entry_gen(&le, i) != cr->l2gens[i])
            return NULL; /* written under other generations: stale */
    if (memcmp(le.inst, sh->instance, GW_L2_INST_LEN) == 0 &&
        memcmp(le.l1key, cr->l1key, GW_DIGEST_LEN) != 0)
        return NULL; /* ours, from before a local bump Redis may not have seen yet */
    double age_ms = wall_ms() - (double)le.created_ms;
    uint64_t age_us = age_ms > 0 ? (uint64_t)(age_ms * 1000.0) : 0;
    uint64_t ttl = sh->ttl_us[cr->cls], now = gw_mono_us();
    if (age_us >= ttl || age_us > now) return NULL;
    return gw_centry_new(cr->l1key, le.status, le.hdrs, le.hdrs_len, le.body, le.body_len,
                         now - age_us, ttl, cr->c->cfg->cache_stale_if_error_ms * 1000u);
}

static void l2_seed(gw_cache_t *c, const char *key)
{
    char now[24];
    snprintf(now, sizeof(now), "%llu", (unsigned long long)(wall_ms() * 1000.0));
    const char *argv[] = {"SET", key, now, "NX"};
    gw_redis_send(c->redis, 4, argv, NULL);
}

/* The MGET's answer: generation values first (a missing one is seeded: never small, see
 * l2_seed), then the entry. Any failure is a miss that stores nothing in Redis. */
static void l2_on_mget(void *arg, gw_redis_status_t st, const gw_redis_elem_t *el, size_t n)
{
    l2_lookup_t *lk = arg;
    creq_t *cr = lk->cr;
    gw_cache_t *c = cr->c;
    int ngens = lk->ngens, bad = st != GW_REDIS_OK || n != (size_t)ngens + 1, unknown = 0;
    gw_centry_t *e = NULL;
    free(lk);
    for (int i = 0; !bad && i < ngens; i++) {
        if (el[i].st == GW_REDIS_NIL || !el[i].data) {
            unknown = 1;
            char key[L2_KEY_MAX];
            gen_key(c, i == 0 ? "*" : cr->key.deps.name[i - 1], key, sizeof(key));
            l2_seed(c, key);
        } else if (el[i].st != GW_REDIS_OK ||
                   gw_l2_gen_parse(el[i].data, el[i].len, &cr->l2gens[i]) != 0) {
            bad = 1; /* not a generation INCR can move: nothing read or stored under it */
        }
    }
    cr->pending = 0;
    if (!bad && !unknown) {
        cr->l2_known = 1;
        for (int i = 0; i < ngens; i++)
            gw_l2gens_set(c->sh->l2gens, i == 0 ? "*" : cr->key.deps.name[i - 1], cr->l2gens[i]);
        const gw_redis_elem_t *v = &el[ngens];
        if (v->st == GW_REDIS_OK && v->data && v->len >= GW_L2_FIXED_LEN)
            e = l2_decode(cr, (const unsigned char *)v->data, v->len);
        if (e) gw_l2filter_add(c->sh->l2filter, cr->key.base, gw_mono_us());
    }
    if (bad) cr->l2_bad = 1;
    cr->c->l2_done(cr, e);
}

int l2_skippable(creq_t *cr)
{
    gw_cache_shared_t *sh = cr->c->sh;
    if (!sh->l2filter || !gw_redis_up(cr->c->redis) ||
        gw_l2filter_may_have(sh->l2filter, cr->key.base, gw_mono_us()))
        return 0;
    size_t ngens = cr->key.deps.n + 1;
    for (size_t i = 0; i < ngens; i++)
        if (!gw_l2gens_get(sh->l2gens, i == 0 ? "*" : cr->key.deps.name[i - 1], &cr->l2gens[i]))
            return 0;
    cr->l2_known = 1;
    return 1;
}

int l2_lookup(creq_t *cr)
{
    gw_cache_t *c = cr->c;
    if (!gw_redis_up(c->redis)) return -1;
    l2_lookup_t *lk = malloc(sizeof(*lk));
    if (!lk) return -1;
    lk->cr = cr;
    lk->ngens = (int)cr->key.deps.n + 1;
    char keys[GW_DEPS_MAX + 2][L2_KEY_MAX];
    const char *argv[GW_DEPS_MAX + 3] = {"MGET"};
    for (int i = 0; i <= lk->ngens; i++) {
        if (i < lk->ngens)
            gen_key(c, i == 0 ? "*" : cr->key.deps.name[i - 1], keys[i], sizeof(keys[i]));
        else
            entry_key(cr, keys[i], sizeof(keys[i]));
        argv[i + 1] = keys[i];
    }
    if (gw_redis_command_array(c->redis, l2_on_mget, lk, lk->ngens + 2, argv, NULL) != 0) {
        free(lk);
        return -1;
    }
    cr->pending = 1;
    return 0;
}

/* ---- store and invalidate ----------------------------------------------------------------- */

/* Tells every replica (and our own filter) that key is in Redis now. */
static void l2_announce(gw_cache_t *c, const unsigned char *key)
{
    gw_l2filter_add(c->sh->l2filter, key, gw_mono_us());
    char chan[128], msg[GW_L2_INST_LEN + 2 + 33];
    snprintf(chan, sizeof(chan), "%sinval", c->cfg->cache_redis_prefix);
    memcpy(msg, c->sh->instance, GW_L2_INST_LEN);
    msg[GW_L2_INST_LEN] = ' ';
    msg[GW_L2_INST_LEN + 1] = ':'; /* never the start of a name: Qdrant refuses ':' in names */
    gw_l2filter_format(key, msg + GW_L2_INST_LEN + 2);
    const char *pub[] = {"PUBLISH", chan, msg};
    gw_redis_send(c->redis, 3, pub, NULL);
}

void l2_store(creq_t *cr, const gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    if (!cr->l2_known || cr->l2_bad || !gw_redis_up(c->redis)) return;
    gw_l2_entry_t le = {
        .inst = (const unsigned char *)c->sh->instance,
        .l1key = cr->l1key,
        .created_ms = (uint64_t)wall_ms(),
        .status = e->status,
        .ngens = (uint32_t)cr->key.deps.n + 1,
        .hdrs = (const unsigned char *)e->hdrs,
        .hdrs_len = e->hdrs_len,
        .body = (const unsigned char *)e->body,
        .body_len = e->body_len,
    };
    size_t len = gw_l2_entry_size(le.ngens, le.hdrs_len, le.body_len);
    unsigned char *v = len ? malloc(len) : NULL;
    if (!v) return;
    gw_l2_entry_write(v, &le, cr->l2gens);
    char key[L2_KEY_MAX], ttl[24];
    entry_key(cr, key, sizeof(key));
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)(c->sh->ttl_us[cr->cls] / 1000u));
    const char *argv[] = {"SET", key, (const char *)v, "PX", ttl};
    size_t argvlen[] = {3, strlen(key), len, 2, strlen(ttl)};
    if (gw_redis_send(c->redis, 5, argv, argvlen) == 0) {
        gw_stat_inc(&c->st.stores_l2);
        if (c->sh->l2filter) l2_announce(c, cr->key.base);
    }
    free(v);
}

void l2_invalidate(gw_cache_t *c, const char *name)
{
    if (!c->redis || !gw_redis_up(c->redis))
        return; /* other replicas resynchronise (bump everything) when they see Redis again */
    char key[L2_KEY_MAX], chan[128], msg[GW_NAME_MAX + 32];
    gw_l2gens_forget(c->sh->l2gens, name); /* read again before the next store */
    gen_key(c, name, key, sizeof(key));
    l2_seed(c, key);
    const char *incr[] = {"INCR", key};
    gw_redis_send(c->redis, 2, incr, NULL);
    snprintf(chan, sizeof(chan), "%sinval", c->cfg->cache_redis_prefix);
    snprintf(msg, sizeof(msg), "%s %s", c->sh->instance, name);
    const char *pub[] = {"PUBLISH", chan, msg};
    gw_redis_send(c->redis, 3, pub, NULL);
}

/* ---- connection and subscription ---------------------------------------------------------- */

static void l2_on_message(void *arg, const char *msg, size_t len)
{
    gw_cache_t *c = arg;
    char name[GW_NAME_MAX];
    int rc = gw_l2_inval_parse(msg, len, c->sh->instance, name, sizeof(name));
    if (rc == 1 && name[0] == ':') { /* another replica stored an entry (l2_announce) */
        unsigned char key[16];
        if (gw_l2filter_parse(name + 1, strlen(name + 1), key) == 0)
            gw_l2filter_add(c->sh->l2filter, key, gw_mono_us());
    } else if (rc == 1) {
        gw_l2gens_forget(c->sh->l2gens, name);
        inval_remote(c, name);
    } else if (rc == -2) {
        gw_l2gens_forget(c->sh->l2gens, "*");
        inval_remote(c, "*"); /* a name we cannot track */
    }
}

static void l2_on_resync(void *arg)
{
    gw_cache_t *c = arg;
    /* Bumps and stores published while we were not listening are lost. */
    gw_l2gens_forget(c->sh->l2gens, "*");
    gw_l2filter_reset(c->sh->l2filter, gw_mono_us());
    inval_remote(c, "*");
}

gw_redis_t *l2_connect(gw_cache_t *c, int subscribe, cache_l2_done_cb done)
{
    c->l2_done = done;
    char err[256];
    gw_redis_opts_t o = c->sh->redis_opts;
    o.dns = c->loop->dns; /* a host name is resolved on this worker's loop */
    o.dns_counts = c->loop->stats ? c->loop->stats->dns[GW_DNS_PEER_REDIS] : NULL;
    o.max_reply_bytes = GW_L2_FIXED_LEN + 8u * (GW_DEPS_MAX + 1) + 8 + L2_HDRS_MAX +
                        c->cfg->cache_max_entry_bytes + (GW_DEPS_MAX + 1) * L2_GEN_TEXT;
    gw_redis_t *r = gw_redis_new(c->loop->base, &o, err, sizeof(err));
    if (!r) {
        gw_log_error("cache: Redis client: %s", err);
        return NULL;
    }
    char chan[128];
    snprintf(chan, sizeof(chan), "%sinval", c->cfg->cache_redis_prefix);
    if (subscribe && gw_redis_subscribe(r, chan, l2_on_message, l2_on_resync, c) != 0) {
        gw_redis_free(r);
        return NULL;
    }
    return r;
}
