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

#define L2_MAGIC     "QGW1"
#define L2_INST_LEN  16
#define L2_FIXED_LEN (4 + L2_INST_LEN + GW_DIGEST_LEN + 8 + 4 + 4)
#define L2_KEY_MAX   (GW_NAME_MAX + 80)
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

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

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
    if (len < L2_FIXED_LEN || memcmp(v, L2_MAGIC, 4) != 0) return NULL;
    const unsigned char *inst = v + 4, *l1key = inst + L2_INST_LEN, *p = l1key + GW_DIGEST_LEN;
    uint64_t created_ms = get_u64(p);
    int status = (int)get_u32(p + 8);
    uint32_t ngens = get_u32(p + 12);
    p += 16;
    if (ngens != cr->key.deps.n + 1 || (size_t)(p - v) + 8u * ngens + 8 > len) return NULL;
    for (uint32_t i = 0; i < ngens; i++)
        if (get_u64(p + 8 * i) != cr->l2gens[i])
            return NULL; /* written under other generations: stale */
    p += 8 * ngens;
    uint32_t hl = get_u32(p), bl = get_u32(p + 4);
    p += 8;
    if ((size_t)(p - v) + hl + bl != len) return NULL;
    if (memcmp(inst, sh->instance, L2_INST_LEN) == 0 &&
        memcmp(l1key, cr->l1key, GW_DIGEST_LEN) != 0)
        return NULL; /* ours, from before a local bump Redis may not have seen yet */
    double age_ms = wall_ms() - (double)created_ms;
    uint64_t age_us = age_ms > 0 ? (uint64_t)(age_ms * 1000.0) : 0;
    uint64_t ttl = sh->ttl_us[cr->cls], now = gw_mono_us();
    if (age_us >= ttl || age_us > now) return NULL;
    return gw_centry_new(cr->l1key, status, p, hl, p + hl, bl, now - age_us, ttl,
                         cr->c->cfg->cache_stale_if_error_ms * 1000u);
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
        } else if (el[i].st == GW_REDIS_OK) {
            char num[32];
            size_t len = el[i].len < 31 ? el[i].len : 31;
            memcpy(num, el[i].data, len);
            num[len] = '\0';
            cr->l2gens[i] = strtoull(num, NULL, 10);
        } else {
            bad = 1;
        }
    }
    cr->pending = 0;
    if (!bad && !unknown) {
        cr->l2_known = 1;
        for (int i = 0; i < ngens; i++)
            gw_l2gens_set(c->sh->l2gens, i == 0 ? "*" : cr->key.deps.name[i - 1], cr->l2gens[i]);
        const gw_redis_elem_t *v = &el[ngens];
        if (v->st == GW_REDIS_OK && v->data && v->len >= L2_FIXED_LEN)
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
    char chan[128], msg[L2_INST_LEN + 2 + 33];
    snprintf(chan, sizeof(chan), "%sinval", c->cfg->cache_redis_prefix);
    memcpy(msg, c->sh->instance, L2_INST_LEN);
    msg[L2_INST_LEN] = ' ';
    msg[L2_INST_LEN + 1] = ':'; /* never the start of a name: Qdrant refuses ':' in names */
    gw_l2filter_format(key, msg + L2_INST_LEN + 2);
    const char *pub[] = {"PUBLISH", chan, msg};
    gw_redis_send(c->redis, 3, pub, NULL);
}

void l2_store(creq_t *cr, const gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    if (!cr->l2_known || cr->l2_bad || !gw_redis_up(c->redis)) return;
    uint32_t ngens = (uint32_t)cr->key.deps.n + 1;
    size_t len = L2_FIXED_LEN + 8u * ngens + 8 + e->hdrs_len + e->body_len;
    unsigned char *v = malloc(len), *p = v;
    if (!v) return;
    memcpy(p, L2_MAGIC, 4);
    memcpy(p + 4, c->sh->instance, L2_INST_LEN);
    memcpy(p + 4 + L2_INST_LEN, cr->l1key, GW_DIGEST_LEN);
    p += 4 + L2_INST_LEN + GW_DIGEST_LEN;
    put_u64(p, (uint64_t)wall_ms());
    put_u32(p + 8, (uint32_t)e->status);
    put_u32(p + 12, ngens);
    p += 16;
    for (uint32_t i = 0; i < ngens; i++, p += 8)
        put_u64(p, cr->l2gens[i]);
    put_u32(p, (uint32_t)e->hdrs_len);
    put_u32(p + 4, (uint32_t)e->body_len);
    p += 8;
    memcpy(p, e->hdrs, e->hdrs_len);
    memcpy(p + e->hdrs_len, e->body, e->body_len);
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
    if (len <= L2_INST_LEN + 1 || msg[L2_INST_LEN] != ' ') return;
    if (memcmp(msg, c->sh->instance, L2_INST_LEN) == 0) return; /* ours, already applied */
    const char *rest = msg + L2_INST_LEN + 1;
    size_t nl = len - L2_INST_LEN - 1;
    if (rest[0] == ':') { /* another replica stored an entry */
        unsigned char key[16];
        if (gw_l2filter_parse(rest + 1, nl - 1, key) == 0)
            gw_l2filter_add(c->sh->l2filter, key, gw_mono_us());
        return;
    }
    char name[GW_NAME_MAX];
    if (nl >= sizeof(name)) {
        gw_l2gens_forget(c->sh->l2gens, "*");
        inval_remote(c, "*");
        return;
    }
    memcpy(name, rest, nl);
    name[nl] = '\0';
    gw_l2gens_forget(c->sh->l2gens, name);
    inval_remote(c, name);
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
    o.max_reply_bytes = L2_FIXED_LEN + 8u * (GW_DEPS_MAX + 1) + 8 + L2_HDRS_MAX +
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
