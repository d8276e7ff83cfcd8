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

gw_centry_t *gw_cache_rpc_get(gw_cache_t *c, const gw_rpc_key_t *k)
{
    uint64_t now = gw_mono_us();
    gw_centry_t *e = gw_l1_get(c->sh->l1, k->key, now);
    if (e && e->expires_us <= now) {
        gw_centry_unref(e); /* stale: gRPC reads are not served stale */
        e = NULL;
    }
    gw_stat_inc(e ? &c->st.l1_hits : &c->st.misses);
    return e;
}

void gw_cache_rpc_put(gw_cache_t *c, const gw_rpc_key_t *k, const void *body, size_t len)
{
    if (len > c->cfg->cache_max_entry_bytes) return;
    uint64_t ttl = c->sh->ttl_us[k->cls];
    gw_centry_t *e = gw_centry_new(k->key, 200, "", 0, body, len, gw_mono_us(), ttl, 0);
    if (!e) return;
    if (gw_l1_put(c->sh->l1, e)) gw_stat_inc(&c->st.stores_l1);
    gw_centry_unref(e);
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
