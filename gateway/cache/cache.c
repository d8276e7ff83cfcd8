/* The cache's request flow: classify, collect the body, build the key, look in L1, join or lead
 * a flight, look in L2, forward, store, answer; and invalidation for writes. */
#include "gateway/cache/cache.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "gateway/cache/internal.h"
#include "gateway/http/headers.h"
#include "gateway/upstream/proxy.h"

#define CACHE_MAX_REPLAY_HDRS 64
#define CACHE_MEMO_SLOTS_LOG2 13 /* 8192 recent distinct requests per worker keep their key */
#define CACHE_MEMO_MAX_BYTES  (16u << 20) /* ... holding at most 16 MiB of their bytes */
/* 2^22 bits (512 KiB) per half: 2 bits per key, a few % false positives at 200,000 keys per TTL */
#define CACHE_L2FILTER_BITS_LOG2 22
/* cache.min_uses's filter: 2 x 512 KiB. A read wrongly taken as seen (about 0.4% of first uses
 * at 100,000 distinct reads per TTL, 1.6% at 200,000) is only cached at once, as with 1. */
#define CACHE_SEEN_BITS_LOG2 22
#define CACHE_L2GENS_MAX     4096 /* collections and aliases whose Redis generation is kept */

static const gw_handler_ops_t creq_handler;
static const gw_proxy_tap_t read_tap;
static void creq_fetch(creq_t *cr);

/* ---- request contexts --------------------------------------------------------------------- */

#define CREQ_SPARE_MAX 64

creq_t *creq_new(gw_cache_t *c, gw_req_t *r, int cls)
{
    creq_t *cr = c->spare;
    if (cr) {
        /* All zero as calloc would give, except the key's name slots: only the first
         * key.deps.n of them are ever read. */
        c->spare = cr->wnext;
        c->nspare--;
        size_t key_at = offsetof(creq_t, key), after_key = key_at + sizeof(cr->key);
        memset(cr, 0, key_at);
        memset(&cr->key, 0, offsetof(gw_ckey_t, deps.name));
        memset((char *)cr + after_key, 0, sizeof(*cr) - after_key);
    } else if (!(cr = calloc(1, sizeof(*cr)))) {
        return NULL;
    }
    cr->c = c;
    cr->r = r;
    cr->cls = cls;
    return cr;
}

void creq_free(creq_t *cr)
{
    gw_centry_unref(cr->stale);
    gw_centry_unref(cr->found);
    if (cr->cap_hdrs) evbuffer_free(cr->cap_hdrs);
    if (cr->cap_body) evbuffer_free(cr->cap_body);
    gw_cache_t *c = cr->c;
    if (c && !c->closing && c->nspare < CREQ_SPARE_MAX) {
        cr->wnext = c->spare;
        c->spare = cr;
        c->nspare++;
        return;
    }
    free(cr);
}

/* ---- answering from an entry -------------------------------------------------------------- */

static void entry_release(void *arg)
{
    gw_centry_unref(arg);
}

static void respond_entry(gw_req_t *r, const gw_centry_t *e, const char *xcache)
{
    gw_hdr_t h[CACHE_MAX_REPLAY_HDRS + 3];
    size_t n = 0, off = 0;
    while (n < CACHE_MAX_REPLAY_HDRS && gw_hdr_block_next(e->hdrs, e->hdrs_len, &off, &h[n]))
        n++;
    uint64_t now = gw_mono_us();
    uint64_t secs = now > e->created_us ? (now - e->created_us) / 1000000u : 0;
    char agebuf[24], *age = agebuf + sizeof(agebuf);
    *--age = '\0';
    do {
        *--age = (char)('0' + secs % 10);
        secs /= 10;
    } while (secs);
    h[n++] = (gw_hdr_t){"x-request-id", 12, r->id, strlen(r->id)};
    h[n++] = (gw_hdr_t){"x-cache", 7, xcache, strlen(xcache)};
    h[n++] = (gw_hdr_t){"age", 3, age, strlen(age)};
    r->status = e->status;
    r->codec->send_head(r, e->status, h, n, (int64_t)e->body_len);
    if (e->body_len)
        gw_req_send_body_ref(r, e->body, e->body_len, entry_release,
                             gw_centry_ref((gw_centry_t *)e));
    r->codec->finish(r, 1);
}

/* Answers a request whose handler side the cache holds, and ends it. */
static void creq_answer(creq_t *cr, gw_centry_t *e, const char *xcache)
{
    gw_req_t *r = cr->r;
    if (r->codec) respond_entry(r, e, xcache);
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
    flight_land(cr->c->sh->flights, cr, e);
    creq_free(cr);
}

/* ---- forwarding --------------------------------------------------------------------------- */

static void creq_forward(creq_t *cr, const char *xcache, int capture)
{
    gw_req_t *r = cr->r;
    cr->xcache = xcache;
    cr->capturing = capture;
    r->handler = NULL;
    r->handler_ctx = NULL;
    gw_proxy_forward_tap(cr->c->proxy, r, &read_tap, cr);
}

static void creq_bypass(creq_t *cr, const char *why)
{
    gw_req_t *r = cr->r;
    gw_stat_inc(&cr->c->st.bypass);
    gw_log_debug("cache bypass for %s %.*s (id %s): %s", r->method, (int)r->path_len, r->path,
                 r->id, why);
    flight_land(cr->c->sh->flights, cr, NULL);
    creq_forward(cr, "BYPASS", 0);
}

static int is_failure(int status)
{
    return status >= 500;
}

/* Whether a shared cache may keep this answer (RFC 9111 3 and 5.2.2): no Set-Cookie, no
 * Cache-Control private / no-store / no-cache, a Vary naming only request headers every key
 * covers, and a JSON body (checked again on the bytes when it is not content-encoded). NULL when
 * it may, else why not (for the debug log). *encoded: a Content-Encoding was present. */
static const char *answer_unshareable(const gw_hdr_t *hdrs, size_t n, int *encoded)
{
    int json = 0;
    *encoded = 0;
    for (size_t i = 0; i < n; i++) {
        const gw_hdr_t *h = &hdrs[i];
        if (gw_header_name_eq(h->name, h->name_len, "set-cookie")) return "Set-Cookie";
        if (gw_header_name_eq(h->name, h->name_len, "cache-control") &&
            (gw_header_has_token(h->value, h->value_len, "private") ||
             gw_header_has_token(h->value, h->value_len, "no-store") ||
             gw_header_has_token(h->value, h->value_len, "no-cache")))
            return "Cache-Control forbids a shared cache";
        if (gw_header_name_eq(h->name, h->name_len, "content-encoding")) *encoded = 1;
        if (gw_header_name_eq(h->name, h->name_len, "content-type"))
            json = h->value_len >= 16 && gw_header_name_eq(h->value, 16, "application/json");
        if (gw_header_name_eq(h->name, h->name_len, "vary")) {
            const char *v = h->value, *end = h->value + h->value_len;
            while (v < end) {
                const char *comma = memchr(v, ',', (size_t)(end - v));
                const char *e = comma ? comma : end, *b = v;
                while (b < e && (*b == ' ' || *b == '\t'))
                    b++;
                const char *t = e;
                while (t > b && (t[-1] == ' ' || t[-1] == '\t'))
                    t--;
                if (t > b && !gw_ckey_vary_keyed(b, (size_t)(t - b)))
                    return "Vary names a header the key does not cover";
                v = comma ? comma + 1 : end;
            }
        }
    }
    return json ? NULL : "not a JSON answer";
}

static int read_on_head(void *ctx, gw_req_t *r, int status, gw_hdr_t *hdrs, size_t *n, size_t room,
                        int64_t clen)
{
    creq_t *cr = ctx;
    cr->status = status;
    if (cr->stale && is_failure(status)) {
        cr->capturing = 0;
        gw_stat_inc(&cr->c->st.stale);
        respond_entry(r, cr->stale, "STALE");
        return 1;
    }
    const gw_config_t *cfg = cr->c->cfg;
    if (cr->capturing && clen > (int64_t)cfg->cache_max_entry_bytes) cr->capturing = 0;
    if (cr->capturing && clen == GW_PROXY_CLEN_EOF) {
        gw_log_debug("request %s: answer not stored: its body is delimited by the close", r->id);
        cr->capturing = 0;
    }
    if (cr->capturing && status == 200) {
        int encoded;
        const char *why = answer_unshareable(hdrs, *n, &encoded);
        if (why) {
            gw_log_debug("request %s: answer not stored: %s", r->id, why);
            cr->capturing = 0;
        }
        cr->encoded = encoded;
    }
    if (cr->capturing) {
        cr->cap_hdrs = evbuffer_new();
        cr->cap_body = evbuffer_new();
        if (!cr->cap_hdrs || !cr->cap_body) cr->capturing = 0;
        for (size_t i = 0; cr->capturing && i < *n; i++) {
            if (gw_header_name_eq(hdrs[i].name, hdrs[i].name_len, "x-request-id")) continue;
            evbuffer_add_printf(cr->cap_hdrs, "%.*s: %.*s\r\n", (int)hdrs[i].name_len, hdrs[i].name,
                                (int)hdrs[i].value_len, hdrs[i].value);
        }
    }
    if (room > 0 && cr->xcache)
        hdrs[(*n)++] = (gw_hdr_t){"x-cache", 7, cr->xcache, strlen(cr->xcache)};
    return 0;
}

static void read_on_body(void *ctx, const void *data, size_t len)
{
    creq_t *cr = ctx;
    if (!cr->capturing) return;
    if (evbuffer_get_length(cr->cap_body) + len > cr->c->cfg->cache_max_entry_bytes)
        cr->capturing = 0; /* too big to keep: relayed, not stored */
    else
        evbuffer_add(cr->cap_body, data, len);
}

/* Qdrant's answers are {"result": ..., "status": ..., "time": ...}: an object, and this is
 * the cheap part of that check (a body cut short or something else is not stored). */
static int json_envelope(const char *b, size_t n)
{
    size_t i = 0, j = n;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    while (j > i && (b[j - 1] == ' ' || b[j - 1] == '\t' || b[j - 1] == '\r' || b[j - 1] == '\n'))
        j--;
    return j - i >= 2 && b[i] == '{' && b[j - 1] == '}';
}

/* The captured answer as an entry under the request's L1 key; NULL if none. */
static gw_centry_t *creq_make_entry(creq_t *cr)
{
    if (!cr->capturing || cr->status <= 0) return NULL;
    gw_cache_shared_t *sh = cr->c->sh;
    size_t hl = evbuffer_get_length(cr->cap_hdrs), bl = evbuffer_get_length(cr->cap_body);
    const void *h = hl ? (const void *)evbuffer_pullup(cr->cap_hdrs, -1) : "";
    const void *b = bl ? (const void *)evbuffer_pullup(cr->cap_body, -1) : "";
    if (cr->status == 200 && !cr->encoded && !json_envelope(b, bl)) return NULL;
    return gw_centry_new(cr->l1key, cr->status, h, hl, b, bl, gw_mono_us(), sh->ttl_us[cr->cls],
                         cr->c->cfg->cache_stale_if_error_ms * 1000u);
}

static int read_on_end(void *ctx, gw_req_t *r, gw_proxy_end_t how)
{
    creq_t *cr = ctx;
    gw_cache_t *c = cr->c;
    int answered = 0;
    gw_centry_t *e = how == GW_PROXY_OK ? creq_make_entry(cr) : NULL;
    /* Not while a wait=false write to what it read may still be applied (barrier.c). */
    if (e && e->status == 200 && !(cr->cc & GW_CC_NO_STORE) &&
        !unsettled_any(c->sh->unsettled, &cr->key.deps)) {
        if (gw_l1_put(c->sh->l1, e)) gw_stat_inc(&c->st.stores_l1);
        if (cr->l2_known) l2_store(cr, e);
    }
    if (how != GW_PROXY_OK && how != GW_PROXY_ABORTED && r && r->codec && !r->head_sent &&
        cr->stale) {
        gw_stat_inc(&c->st.stale);
        respond_entry(r, cr->stale, "STALE");
        answered = 1;
    }
    flight_land(c->sh->flights, cr, e); /* waiters get the same answer, whatever its status */
    gw_centry_unref(e);
    creq_free(cr);
    return answered;
}

static const gw_proxy_tap_t read_tap = {
    .on_head = read_on_head,
    .on_body = read_on_body,
    .on_end = read_on_end,
};

/* ---- reads -------------------------------------------------------------------------------- */

/* Miss in L1 (and no flight to join): L2 if there is one, else Qdrant. */
static void creq_fetch(creq_t *cr)
{
    if (!(cr->cc & GW_CC_NO_CACHE) && cr->c->redis) {
        if (l2_skippable(cr)) {
            gw_stat_inc(&cr->c->st.l2_skipped);
        } else if (l2_lookup(cr) == 0) {
            return; /* cache_l2_done follows */
        }
    }
    gw_stat_inc(&cr->c->st.misses);
    creq_forward(cr, "MISS", 1);
}

int creq_l2_gone(creq_t *cr, gw_centry_t *e)
{
    if (!cr->gone) return 0;
    flight_land(cr->c->sh->flights, cr, e); /* the client left while Redis answered: waiters
                                             * may still use e */
    gw_centry_unref(e);
    creq_free(cr);
    return 1;
}

static void cache_l2_done(creq_t *cr, gw_centry_t *e)
{
    gw_cache_t *c = cr->c;
    if (cr->rpc_cb) { /* a gRPC read (rpc.c) */
        rpc_l2_done(cr, e);
        return;
    }
    if (creq_l2_gone(cr, e)) return;
    if (e) {
        gw_stat_inc(&c->st.l2_hits);
        gw_l1_put(c->sh->l1, e);
        creq_answer(cr, e, "HIT");
        gw_centry_unref(e);
        return;
    }
    gw_stat_inc(&c->st.l2_misses);
    gw_stat_inc(&c->st.misses);
    creq_forward(cr, "MISS", 1);
}

/* A read that names collections besides its path's (lookup_from, with_lookup): the credential
 * must be able to read each, or it is answered 403 here, never from an entry. */
static int creq_check_deps(creq_t *cr)
{
    gw_req_t *r = cr->r;
    char msg[GW_ERROR_MSG_MAX];
    for (size_t i = 0; i < cr->key.deps.n; i++) {
        if (r->authz->check_read(r->authz, cr->key.deps.name[i], msg, sizeof(msg)) == 0) continue;
        gw_req_respond_error(r, 403, "%s", msg);
        r->handler = NULL;
        r->handler_ctx = NULL;
        gw_req_release(r, GW_REQ_HANDLER);
        creq_free(cr);
        return -1;
    }
    return 0;
}

/* cache.min_uses 2: whether r (body[0..len)) is the first of its kind within the window; that
 * one goes to Qdrant without a lookup or a store, and the next one is cached. */
static int creq_first_use(creq_t *cr, const char *body, size_t len, int per_credential)
{
    unsigned char fp[16];
    gw_cache_t *c = cr->c;
    if (!c->sh->seen || gw_ckey_fingerprint(cr->r, body, len, per_credential, fp) != 0 ||
        gw_l2filter_check_add(c->sh->seen, fp, gw_mono_us()))
        return 0;
    return 1;
}

static void creq_forward_first(creq_t *cr)
{
    gw_stat_inc(&cr->c->st.first_uses);
    gw_stat_inc(&cr->c->st.misses);
    creq_forward(cr, "MISS", 0);
}

/* The whole body is in: key, L1, flight, then fetch. */
static void creq_lookup(creq_t *cr)
{
    gw_cache_t *c = cr->c;
    gw_req_t *r = cr->r;
    const char *why = "cannot build a key";
    size_t len = evbuffer_get_length(r->body);
    const char *body = len ? (const char *)evbuffer_pullup(r->body, -1) : "";
    /* With auth on, entries are shared by access scope (the gate checked the path
     * collection, and every other collection the read names is checked below), not keyed by
     * credential. */
    int per_credential = !c->cfg->cache_share_across_keys && !r->authz;
    if (r->authz && r->authz->upstream_checks) {
        creq_bypass(cr, "the token's value_exists claim is Qdrant's to check");
        return;
    }
    /* Without auth a first use skips even the key (its JSON work); with auth the key names the
     * collections the read touches, which must be checked first. */
    int first = creq_first_use(cr, body, len, per_credential);
    if (first && !r->authz) {
        creq_forward_first(cr);
        return;
    }
    if (gw_ckey_build_memo(c->memo, &cr->key, r, body, len, per_credential, &why) != 0) {
        creq_bypass(cr, why);
        return;
    }
    if (r->authz && creq_check_deps(cr) != 0) return;
    if (first) {
        creq_forward_first(cr);
        return;
    }
    if (gw_names_capture(c->sh->names, &cr->key.deps, cr->gens, &cr->global) != 0) {
        creq_bypass(cr, "too many collections");
        return;
    }
    if (gw_ckey_l1(&cr->key, cr->gens, cr->global, cr->l1key) != 0) {
        creq_bypass(cr, "out of memory");
        return;
    }
    if (!(cr->cc & GW_CC_NO_CACHE)) {
        uint64_t now = gw_mono_us();
        gw_centry_t *e = gw_l1_get(c->sh->l1, cr->l1key, now);
        if (e && now < e->expires_us) {
            gw_stat_inc(&c->st.l1_hits);
            creq_answer(cr, e, "HIT");
            gw_centry_unref(e);
            return;
        }
        cr->stale = e;
        if (flight_join(c->sh->flights, cr)) return; /* posted back to us when the leader lands */
    }
    creq_fetch(cr);
}

static void creq_on_body(gw_req_t *r)
{
    creq_t *cr = r->handler_ctx;
    size_t len = evbuffer_get_length(r->body);
    if (len > cr->c->cfg->cache_max_request_bytes || (!r->body_done && len >= GW_REQ_HIGH_WATER))
        creq_bypass(cr, "request body too large to key");
    else if (r->body_done)
        creq_lookup(cr);
}

static void creq_on_abort(gw_req_t *r)
{
    creq_t *cr = r->handler_ctx;
    r->handler_ctx = NULL;
    cr->r = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
    if (cr->wstate == CR_WAITING || cr->wstate == CR_POSTED) {
        if (flight_leave(cr->c->sh->flights, cr))
            creq_free(cr);
        else
            cr->gone = 1; /* in our mailbox: freed when it is read */
        return;
    }
    if (cr->pending > 0) {
        cr->gone = 1; /* Redis still owes replies: cache_l2_done frees */
        return;
    }
    flight_land(cr->c->sh->flights, cr, NULL);
    creq_free(cr);
}

static const gw_handler_ops_t creq_handler = {
    .on_body = creq_on_body,
    .on_abort = creq_on_abort,
};

static void dispatch_read(gw_cache_t *c, gw_req_t *r, int cls)
{
    creq_t *cr = creq_new(c, r, cls);
    if (!cr) {
        gw_proxy_forward(c->proxy, r);
        return;
    }
    cr->cc = gw_ckey_cache_control(r);
    if (cr->cc & GW_CC_NO_STORE) {
        creq_bypass(cr, "Cache-Control: no-store");
        return;
    }
    if (!gw_names_aliases_loaded(c->sh->names)) {
        creq_bypass(cr, "alias list not loaded yet");
        return;
    }
    if (r->content_length > (int64_t)c->cfg->cache_max_request_bytes) {
        creq_bypass(cr, "request body too large to key");
        return;
    }
    r->handler = &creq_handler;
    r->handler_ctx = cr;
    if (r->body_done) creq_lookup(cr);
}

/* ---- the mailbox: coalesced waiters coming home ------------------------------------------- */

static void cache_post(creq_t *cr)
{
    gw_cache_t *c = cr->c;
    pthread_mutex_lock(&c->mail_lock);
    cr->wnext = c->mail;
    c->mail = cr;
    pthread_mutex_unlock(&c->mail_lock);
    gw_loop_wake(c->loop, GW_WAKE_CACHE_MAIL);
}

static creq_t *mail_take(gw_cache_t *c)
{
    pthread_mutex_lock(&c->mail_lock);
    creq_t *list = c->mail;
    c->mail = NULL;
    pthread_mutex_unlock(&c->mail_lock);
    return list;
}

void gw_cache_mail_arrived(gw_cache_t *c)
{
    creq_t *cr = mail_take(c);
    while (cr) {
        creq_t *next = cr->wnext;
        cr->wnext = NULL;
        cr->wstate = CR_ALONE;
        gw_centry_t *e = cr->found;
        cr->found = NULL;
        if (cr->gone) {
            gw_centry_unref(e);
            creq_free(cr);
        } else if (cr->rpc_cb) {
            rpc_waiter_home(cr, e); /* a gRPC read (rpc.c) */
        } else if (e) {
            gw_stat_inc(&c->st.coalesced);
            creq_answer(cr, e, "HIT");
            gw_centry_unref(e);
        } else {
            creq_fetch(cr); /* the leader got no answer to share: go alone */
        }
        cr = next;
    }
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void gw_cache_dispatch(gw_cache_t *c, gw_req_t *r)
{
    const gw_route_t *rt = &r->route;
    if (rt->cls == GW_ROUTE_QDRANT_WRITE && !(rt->flags & GW_ROUTE_F_NO_INVALIDATE)) {
        inval_dispatch_write(c, r);
        return;
    }
    int cls = gw_ckey_class(rt);
    if (cls >= 0 && c->sh->class_on[cls])
        dispatch_read(c, r, cls);
    else
        gw_proxy_forward(c->proxy, r);
}

/* ---- lifetime ----------------------------------------------------------------------------- */

gw_cache_shared_t *gw_cache_shared_new(const gw_config_t *cfg, int nworkers, char *err,
                                       size_t errlen)
{
    gw_cache_shared_t *sh = calloc(1, sizeof(*sh));
    if (!sh) goto oom;
    sh->cfg = cfg;
    sh->nworkers = nworkers > 0 ? nworkers : 1;
    sh->workers = calloc((size_t)sh->nworkers, sizeof(*sh->workers));
    if (!sh->workers) goto oom;
    uint64_t ttl[GW_CCLASS_COUNT] = {cfg->cache_search_ttl_ms, cfg->cache_points_ttl_ms};
    int on[GW_CCLASS_COUNT] = {cfg->cache_search_enabled, cfg->cache_points_enabled};
    for (int i = 0; i < GW_CCLASS_COUNT; i++) {
        sh->ttl_us[i] = (ttl[i] ? ttl[i] : cfg->cache_ttl_ms) * 1000u;
        sh->class_on[i] = cfg->cache_enabled && on[i];
    }
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        id = gw_mono_us() ^ (uint64_t)getpid() << 32;
    snprintf(sh->instance, sizeof(sh->instance), "%016llx", (unsigned long long)id);
    if (cfg->cache_redis_url[0] || cfg->cache_redis_sentinels[0]) {
        gw_redis_opts_t *ro = &sh->redis_opts;
        const char *url = cfg->cache_redis_url[0] ? cfg->cache_redis_url : "redis://127.0.0.1";
        if (cfg->cache_redis_sentinels[0] &&
            gw_sentinel_parse_list(cfg->cache_redis_sentinels, ro->sentinels, GW_SENTINEL_MAX,
                                   &ro->nsentinels, err, errlen) != 0) {
            gw_cache_shared_free(sh);
            return NULL;
        }
        snprintf(ro->master_name, sizeof(ro->master_name), "%s", cfg->cache_redis_master_name);
        if (strlen(cfg->cache_redis_sentinel_password) >= sizeof(ro->sentinel_password)) {
            snprintf(err, errlen, "cache.redis.sentinel_password: longer than 255 bytes");
            gw_cache_shared_free(sh);
            return NULL;
        }
        snprintf(ro->sentinel_password, sizeof(ro->sentinel_password), "%s",
                 cfg->cache_redis_sentinel_password);
        if (gw_redis_parse_url(url, &sh->redis_opts, err, errlen) != 0) {
            char msg[256];
            snprintf(msg, sizeof(msg), "%s", err);
            snprintf(err, errlen, "cache.redis.url: %s", msg);
            gw_cache_shared_free(sh);
            return NULL;
        }
        sh->redis_opts.connect_timeout_ms = (uint32_t)cfg->cache_redis_connect_timeout_ms;
        sh->redis_opts.command_timeout_ms = (uint32_t)cfg->cache_redis_timeout_ms;
        sh->redis_on = cfg->cache_enabled;
        if (sh->redis_on && cfg->cache_redis_lookup_filter) {
            uint64_t period = 0; /* entries live in Redis at most the longest TTL */
            for (int i = 0; i < GW_CCLASS_COUNT; i++)
                if (sh->ttl_us[i] > period) period = sh->ttl_us[i];
            sh->l2filter = gw_l2filter_new(CACHE_L2FILTER_BITS_LOG2, period, gw_mono_us());
            sh->l2gens = gw_l2gens_new(CACHE_L2GENS_MAX);
            if (!sh->l2filter || !sh->l2gens) goto oom;
        }
    }
    if (cfg->cache_enabled && cfg->cache_min_uses > 1) {
        uint64_t window = 0; /* a read counts as used again within the longest TTL */
        for (int i = 0; i < GW_CCLASS_COUNT; i++)
            if (sh->ttl_us[i] > window) window = sh->ttl_us[i];
        sh->seen = gw_l2filter_new(CACHE_SEEN_BITS_LOG2, window, gw_mono_us());
        if (!sh->seen) goto oom;
        gw_l2filter_complete(sh->seen);
    }
    sh->l1 = gw_l1_new(cfg->cache_local_max_bytes);
    sh->names = gw_names_new();
    sh->flights = flights_new(cache_post);
    int fetches_aliases = sh->class_on[GW_CCLASS_SEARCH] || sh->class_on[GW_CCLASS_POINTS];
    sh->status = fetches_aliases ? gw_cache_status_new(GW_CACHE_BYPASS, "aliases_pending",
                                                       "the alias list is not loaded yet")
                                 : gw_cache_status_new(GW_CACHE_ACTIVE, "", "");
    sh->unsettled = unsettled_new();
    if (!sh->l1 || !sh->names || !sh->flights || !sh->status || !sh->unsettled) goto oom;
    return sh;
oom:
    snprintf(err, errlen, "out of memory creating the cache");
    gw_cache_shared_free(sh);
    return NULL;
}

int gw_cache_alias_target(gw_cache_shared_t *sh, const char *name, char *out, size_t cap)
{
    return sh && sh->names ? gw_names_alias_target(sh->names, name, out, cap) : 0;
}

void gw_cache_shared_free(gw_cache_shared_t *sh)
{
    if (!sh) return;
    free(sh->workers);
    if (!sh->lent) {
        gw_l1_free(sh->l1);
        gw_names_free(sh->names);
        gw_cache_status_free(sh->status);
        unsettled_free(sh->unsettled);
    }
    flights_free(sh->flights);
    gw_l2filter_free(sh->l2filter);
    gw_l2gens_free(sh->l2gens);
    gw_l2filter_free(sh->seen);
    free(sh);
}

int gw_cache_shared_inherit(gw_cache_shared_t *sh, gw_cache_shared_t *prev)
{
    if (!prev || prev->lent) return 0;
    memcpy(sh->instance, prev->instance, sizeof(sh->instance)); /* one instance, one process */
    const gw_config_t *a = sh->cfg, *b = prev->cfg;
    if (a->cache_local_max_bytes != b->cache_local_max_bytes ||
        a->cache_share_across_keys != b->cache_share_across_keys ||
        strcmp(a->upstream_url, b->upstream_url) != 0 ||
        strcmp(a->upstream_urls, b->upstream_urls) != 0)
        return 0;
    gw_l1_free(sh->l1);
    gw_names_free(sh->names);
    gw_cache_status_free(sh->status);
    unsettled_free(sh->unsettled);
    sh->l1 = prev->l1;
    sh->names = prev->names;
    sh->status = prev->status;
    sh->unsettled = prev->unsettled;
    prev->lent = 1;
    return 1;
}

void gw_cache_shared_giveback(gw_cache_shared_t *sh, gw_cache_shared_t *prev)
{
    if (!prev || !prev->lent || prev->l1 != sh->l1) return;
    prev->lent = 0;
    sh->lent = 1;
}

static void cache_on_mail(void *arg)
{
    gw_cache_mail_arrived(arg);
}

gw_cache_t *gw_cache_new(gw_loop_t *loop, gw_cache_shared_t *sh, gw_proxy_t *proxy, char *err,
                         size_t errlen)
{
    if (loop->id < 0 || loop->id >= sh->nworkers || sh->workers[loop->id]) {
        snprintf(err, errlen, "cache: worker %d is not one of the %d expected", loop->id,
                 sh->nworkers);
        return NULL;
    }
    gw_cache_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory creating the cache");
        return NULL;
    }
    c->loop = loop;
    c->proxy = proxy;
    c->sh = sh;
    c->cfg = sh->cfg;
    pthread_mutex_init(&c->mail_lock, NULL);
    c->memo = gw_ckey_memo_new(CACHE_MEMO_SLOTS_LOG2, CACHE_MEMO_MAX_BYTES);
    if (!c->memo || inval_init(c, creq_free) != 0) {
        snprintf(err, errlen, "out of memory creating the cache");
        gw_cache_free(c);
        return NULL;
    }
    if (sh->redis_on) {
        /* one subscriber per process is enough */
        c->redis = l2_connect(c, loop->id == 0, cache_l2_done);
        if (!c->redis) {
            snprintf(err, errlen, "cannot create the Redis client");
            gw_cache_free(c);
            return NULL;
        }
    }
    gw_loop_on_wake(loop, GW_WAKE_CACHE_MAIL, cache_on_mail, c);
    sh->workers[loop->id] = c; /* before any thread runs: the scrape reads it from anywhere */
    return c;
}

void gw_cache_free(gw_cache_t *c)
{
    if (!c) return;
    c->closing = 1;
    if (c->loop) {
        gw_loop_on_wake(c->loop, GW_WAKE_CACHE_MAIL, NULL, NULL);
        if (c->sh->workers[c->loop->id] == c) c->sh->workers[c->loop->id] = NULL;
    }
    inval_free(c);
    gw_redis_free(c->redis); /* runs pending lookups' callbacks: their requests end */
    for (creq_t *cr = mail_take(c); cr;) {
        creq_t *next = cr->wnext;
        if (cr->r) { /* cannot happen: connections are destroyed before the cache */
            cr->r->handler_ctx = NULL;
            gw_req_release(cr->r, GW_REQ_HANDLER);
        }
        creq_free(cr);
        cr = next;
    }
    while (c->spare) {
        creq_t *cr = c->spare;
        c->spare = cr->wnext;
        free(cr);
    }
    gw_ckey_memo_free(c->memo);
    pthread_mutex_destroy(&c->mail_lock);
    free(c);
}

void gw_cache_sum_stats(const gw_cache_shared_t *sh, gw_cache_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; sh && i < sh->nworkers; i++) {
        const gw_cache_t *c = sh->workers[i];
        if (!c) continue;
        const cache_counters_t *s = &c->st;
        out->l1_hits += gw_stat_get(&s->l1_hits);
        out->l2_hits += gw_stat_get(&s->l2_hits);
        out->l2_misses += gw_stat_get(&s->l2_misses);
        out->l2_skipped += gw_stat_get(&s->l2_skipped);
        out->first_uses += gw_stat_get(&s->first_uses);
        out->misses += gw_stat_get(&s->misses);
        out->stale += gw_stat_get(&s->stale);
        out->bypass += gw_stat_get(&s->bypass);
        out->alias_failures += gw_stat_get(&s->alias_failures);
        out->barriers_ok += gw_stat_get(&s->barriers_ok);
        out->barriers_failed += gw_stat_get(&s->barriers_failed);
        out->coalesced += gw_stat_get(&s->coalesced);
        out->stores_l1 += gw_stat_get(&s->stores_l1);
        out->stores_l2 += gw_stat_get(&s->stores_l2);
        out->invalidations += gw_stat_get(&s->invalidations);
        out->purges += gw_stat_get(&s->purges);
    }
}

void gw_cache_get_status(const gw_cache_shared_t *sh, gw_cache_status_view_t *out)
{
    gw_cache_status_get(sh->status, out);
}

void gw_cache_get_l1_stats(const gw_cache_shared_t *sh, gw_l1_stats_t *out)
{
    gw_l1_get_stats(sh->l1, out);
}

gw_redis_t *gw_cache_redis(const gw_cache_t *c)
{
    return c->redis;
}

int gw_cache_sum_redis_stats(const gw_cache_shared_t *sh, gw_redis_stats_t *sum)
{
    int any = 0;
    memset(sum, 0, sizeof(*sum));
    for (int i = 0; sh && i < sh->nworkers; i++) {
        const gw_cache_t *c = sh->workers[i];
        if (!c || !c->redis) continue;
        gw_redis_stats_t one;
        gw_redis_get_stats(c->redis, &one);
        any = 1;
        sum->up |= one.up;
        sum->errors += one.errors, sum->timeouts += one.timeouts, sum->refused += one.refused;
        sum->reconnects += one.reconnects, sum->latency_us_sum += one.latency_us_sum;
        sum->latency_count += one.latency_count, sum->commands += one.commands;
        sum->sentinel |= one.sentinel, sum->sentinel_subscribed |= one.sentinel_subscribed;
        sum->sentinel_switches += one.sentinel_switches;
        sum->sentinel_queries += one.sentinel_queries;
        sum->sentinel_failures += one.sentinel_failures;
    }
    return any;
}
