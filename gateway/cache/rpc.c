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
    gw_digest_u64(&d, global);
    gw_digest_u64(&d, (uint64_t)deps.n);
    for (size_t i = 0; i < deps.n; i++) {
        gw_digest_field(&d, deps.name[i], strlen(deps.name[i]));
        gw_digest_u64(&d, gens[i]);
    }
    gw_digest_final(&d, k->key);
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
    creq_t *cr = creq_new(c, NULL, k->cls);
    if (cr) {
        memcpy(cr->l1key, k->key, GW_DIGEST_LEN);
        cr->rpc_cb = cb;
        cr->rpc_arg = arg;
        if (flight_join(c->sh->flights, cr)) {
            out->fl = (gw_rpc_flight_t *)(void *)cr;
            return GW_RPC_WAIT;
        }
    }
    gw_stat_inc(&c->st.misses);
    if (cr && cr->leader) {
        out->fl = (gw_rpc_flight_t *)(void *)cr;
        return GW_RPC_LEAD;
    }
    if (cr) creq_free(cr);
    return GW_RPC_ALONE;
}

void rpc_waiter_home(creq_t *cr, gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    gw_stat_inc(e ? &c->st.coalesced : &c->st.misses);
    void (*cb)(void *, gw_centry_t *) = cr->rpc_cb;
    void *arg = cr->rpc_arg;
    creq_free(cr);
    cb(arg, e);
}

/* The entry for an OK answer under key, stored in L1; NULL if too big or out of memory. */
static gw_centry_t *rpc_store(gw_cache_t *c, const unsigned char *key, int cls, const void *body,
                              size_t len)
{
    if (len > c->cfg->cache_max_entry_bytes) return NULL;
    uint64_t ttl = c->sh->ttl_us[cls];
    gw_centry_t *e = gw_centry_new(key, 200, "", 0, body, len, gw_mono_us(), ttl,
                                   c->cfg->cache_stale_if_error_ms * 1000u);
    if (e && gw_l1_put(c->sh->l1, e)) gw_stat_inc(&c->st.stores_l1);
    return e;
}

void gw_cache_rpc_land(gw_cache_t *c, gw_rpc_flight_t *fl, const void *body, size_t len)
{
    creq_t *cr = rpc_creq(fl);
    gw_centry_t *e = body ? rpc_store(c, cr->l1key, cr->cls, body, len) : NULL;
    flight_land(c->sh->flights, cr, e); /* each waiter takes a reference of its own */
    gw_centry_unref(e);
    creq_free(cr);
}

void gw_cache_rpc_leave(gw_cache_t *c, gw_rpc_flight_t *fl)
{
    creq_t *cr = rpc_creq(fl);
    if (flight_leave(c->sh->flights, cr))
        creq_free(cr);
    else
        cr->gone = 1; /* posted already: freed when this worker reads its mailbox */
}

void gw_cache_rpc_put(gw_cache_t *c, const gw_rpc_key_t *k, const void *body, size_t len)
{
    gw_centry_unref(rpc_store(c, k->key, k->cls, body, len));
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
