/* The gRPC side of the cache; see rpc.h. */
#include "gateway/cache/rpc.h"

#include <string.h>

#include "common/clock.h"
#include "gateway/cache/internal.h"
#include "gateway/cache/key.h"

int gw_cache_rpc_key(gw_cache_t *c, const gw_req_t *r, const void *canon, size_t len,
                     gw_rpc_key_t *k, const char **why)
{
    k->cls = gw_ckey_class(&r->route);
    if (k->cls < 0 || !c->sh->class_on[k->cls]) {
        *why = "not a cached class";
        return -1;
    }
    if (!gw_names_aliases_loaded(c->sh->names)) {
        *why = "alias list not loaded yet";
        return -1;
    }
    gw_deps_t deps = {0};
    char name[GW_NAME_MAX];
    ssize_t nl =
        gw_route_decode_param(r->route.collection, r->route.collection_len, name, sizeof(name));
    if (nl < 0 || gw_deps_add(&deps, name, (size_t)nl) != 0) {
        *why = "collection name too long";
        return -1;
    }
    uint64_t gens[GW_DEPS_MAX], global;
    if (gw_names_capture(c->sh->names, &deps, gens, &global) != 0) {
        *why = "too many collections";
        return -1;
    }
    if (unsettled_any(c->sh->unsettled, &deps)) {
        *why = "a write to the collection may not be applied yet";
        return -1;
    }
    gw_digest_t d;
    if (gw_digest_init(&d) != 0) {
        *why = "out of memory";
        return -1;
    }
    gw_digest_field(&d, "qgw-grpc-1", 10); /* never equal to a REST key's layout */
    gw_digest_field(&d, r->grpc_method, strlen(r->grpc_method));
    gw_digest_field(&d, canon, len);
    if (!c->cfg->cache_share_across_keys && !r->authz) {
        gw_ckey_digest_header(&d, r, "api-key");
        gw_ckey_digest_header(&d, r, "authorization");
    }
    if (r->authz) { /* auth on: keyed by access scope; the tenant splits scopes */
        gw_digest_u64(&d, 1);
        gw_digest_field(&d, r->authz->tenant ? r->authz->tenant : "", r->authz->tenant_len);
    }
    gw_digest_u64(&d, (uint64_t)deps.n);
    for (size_t i = 0; i < deps.n; i++)
        gw_digest_field(&d, deps.name[i], strlen(deps.name[i]));
    gw_ckey_t ck; /* base and deps.n are all gw_ckey_l1 reads */
    gw_digest_final(&d, ck.base);
    ck.deps.n = deps.n;
    if (deps.n > GW_RPC_DEPS_MAX || gw_ckey_l1(&ck, gens, global, k->key) != 0) {
        *why = deps.n > GW_RPC_DEPS_MAX ? "too many collections" : "out of memory";
        return -1;
    }
    memcpy(k->base, ck.base, GW_DIGEST_LEN);
    k->ndeps = deps.n;
    memcpy(k->deps, deps.name, deps.n * GW_NAME_MAX);
    return 0;
}

static creq_t *rpc_creq(gw_rpc_flight_t *fl)
{
    return (creq_t *)(void *)fl;
}

gw_rpc_found_t gw_cache_rpc_lookup(gw_cache_t *c, const gw_rpc_key_t *k, gw_rpc_wait_cb cb,
                                   void *arg, gw_rpc_lookup_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t now = gw_mono_us();
    gw_centry_t *e = gw_l1_get(c->sh->l1, k->key, now);
    if (e && now < e->expires_us) {
        gw_stat_inc(&c->st.l1_hits);
        out->hit = e;
        return GW_RPC_HIT;
    }
    out->stale = e; /* gw_l1_get dropped it if past its stale window */
    if (c->sh->seen && !gw_l2filter_check_add(c->sh->seen, k->base, now)) {
        gw_stat_inc(&c->st.first_uses);
        gw_stat_inc(&c->st.misses);
        return GW_RPC_FIRST;
    }
    creq_t *cr = creq_new(c, NULL, k->cls);
    if (cr) {
        memcpy(cr->l1key, k->key, GW_DIGEST_LEN);
        memcpy(cr->key.base, k->base, GW_DIGEST_LEN);
        cr->key.deps.n = k->ndeps;
        memcpy(cr->key.deps.name, k->deps, k->ndeps * GW_NAME_MAX);
        cr->rpc_cb = cb;
        cr->rpc_arg = arg;
        out->fl = (gw_rpc_flight_t *)(void *)cr;
        if (flight_join(c->sh->flights, cr)) return GW_RPC_WAIT;
        /* Leading (or alone, out of memory): Redis first, as for REST (cache.c creq_fetch). */
        if (c->redis) {
            if (l2_skippable(cr))
                gw_stat_inc(&c->st.l2_skipped);
            else if (l2_lookup(cr) == 0)
                return GW_RPC_WAIT; /* rpc_l2_done follows */
        }
    }
    gw_stat_inc(&c->st.misses);
    if (cr && cr->leader) return GW_RPC_LEAD;
    if (cr) creq_free(cr);
    out->fl = NULL;
    return GW_RPC_ALONE;
}

/* Runs a waiter's callback; a flight handle that leads is handed on, else freed first. */
static void rpc_call_back(creq_t *cr, gw_centry_t *e, int lead)
{
    void (*cb)(void *, gw_centry_t *, gw_rpc_flight_t *) = cr->rpc_cb;
    void *arg = cr->rpc_arg;
    if (!lead) creq_free(cr);
    cb(arg, e, lead ? (gw_rpc_flight_t *)(void *)cr : NULL);
}

void rpc_waiter_home(creq_t *cr, gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    gw_stat_inc(e ? &c->st.coalesced : &c->st.misses);
    rpc_call_back(cr, e, 0);
}

void rpc_l2_done(creq_t *cr, gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    if (creq_l2_gone(cr, e)) return;
    if (e) {
        gw_stat_inc(&c->st.l2_hits);
        gw_l1_put(c->sh->l1, e);
        flight_land(c->sh->flights, cr, e);
        rpc_call_back(cr, e, 0);
        return;
    }
    gw_stat_inc(&c->st.l2_misses);
    gw_stat_inc(&c->st.misses);
    if (cr->leader)
        rpc_call_back(cr, NULL, 1); /* it leads now: to Qdrant, then gw_cache_rpc_land */
    else
        rpc_call_back(cr, NULL, 0); /* no flight (out of memory): alone */
}

/* The entry for an OK answer under key; NULL if too big or out of memory. */
static gw_centry_t *rpc_entry(gw_cache_t *c, const unsigned char *key, int cls, const void *body,
                              size_t len)
{
    if (len > c->cfg->cache_max_entry_bytes) return NULL;
    return gw_centry_new(key, 200, "", 0, body, len, gw_mono_us(), c->sh->ttl_us[cls],
                         c->cfg->cache_stale_if_error_ms * 1000u);
}

/* Stores e in L1 unless a wait=false write to what it read may still be applied (barrier.c),
 * as REST's read_on_end does; 1 if it may be stored. */
static int rpc_store_l1(gw_cache_t *c, const gw_deps_t *d, gw_centry_t *e)
{
    if (unsettled_any(c->sh->unsettled, d)) return 0;
    if (gw_l1_put(c->sh->l1, e)) gw_stat_inc(&c->st.stores_l1);
    return 1;
}

void gw_cache_rpc_land(gw_cache_t *c, gw_rpc_flight_t *fl, const void *body, size_t len)
{
    creq_t *cr = rpc_creq(fl);
    gw_centry_t *e = body ? rpc_entry(c, cr->l1key, cr->cls, body, len) : NULL;
    if (e && rpc_store_l1(c, &cr->key.deps, e) && cr->l2_known) l2_store(cr, e);
    flight_land(c->sh->flights, cr, e); /* each waiter takes a reference of its own */
    gw_centry_unref(e);
    creq_free(cr);
}

void gw_cache_rpc_leave(gw_cache_t *c, gw_rpc_flight_t *fl)
{
    creq_t *cr = rpc_creq(fl);
    if (cr->leader && cr->pending > 0)
        cr->gone = 1; /* Redis still owes its reply: rpc_l2_done lands and frees */
    else if (flight_leave(c->sh->flights, cr))
        creq_free(cr);
    else
        cr->gone = 1; /* posted already: freed when this worker reads its mailbox */
}

void gw_cache_rpc_put(gw_cache_t *c, const gw_rpc_key_t *k, const void *body, size_t len)
{
    gw_centry_t *e = rpc_entry(c, k->key, k->cls, body, len);
    if (!e) return;
    gw_deps_t d;
    d.n = k->ndeps;
    memcpy(d.name, k->deps, k->ndeps * GW_NAME_MAX);
    rpc_store_l1(c, &d, e);
    gw_centry_unref(e);
}

void gw_cache_rpc_stale_served(gw_cache_t *c)
{
    gw_stat_inc(&c->st.stale);
}

void gw_cache_rpc_write(gw_cache_t *c, const char *name, int wait_default_false)
{
    const char *n = name && name[0] ? name : "*";
    inval_bump(c, n, NULL);
    if (wait_default_false) inval_settle_later(c, n);
}

void gw_cache_rpc_bypass(gw_cache_t *c)
{
    gw_stat_inc(&c->st.bypass);
}
