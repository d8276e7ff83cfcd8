/* Invalidation: writes passing through bump the generations of what they change (again after
 * cache.async_write_settle for wait=false writes), the alias list is kept current, and the
 * admin purge. */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "gateway/cache/aliases.h"
#include "gateway/cache/internal.h"
#include "gateway/upstream/proxy.h"
#include "gateway/core/timer.h"

#define ALIAS_RETRY_MS     1000
#define ALIAS_RETRY_MAX_MS 30000
#define ALIAS_TIMEOUT_MS   5000
#define PURGE_MAX_BODY     (64u << 10)

struct settle {
    settle_t *prev, *next;
    gw_cache_t *c;
    struct event *ev;
    char name[GW_NAME_MAX]; /* "*" = everything */
};

static void alias_schedule(gw_cache_t *c, uint64_t ms)
{
    gw_timer_add_ms(c->alias_ev, ms);
}

size_t inval_bump(gw_cache_t *c, const char *name, char out[2][GW_NAME_MAX])
{
    gw_stat_inc(&c->st.invalidations);
    if (strcmp(name, "*") == 0) {
        gw_names_bump_all(c->sh->names);
        l2_invalidate(c, "*");
        alias_schedule(c, 0); /* aliases may have changed: reload them now */
        return 0;
    }
    char bumped[2][GW_NAME_MAX];
    size_t n = gw_names_bump(c->sh->names, name, bumped);
    for (size_t i = 0; i < n; i++) {
        l2_invalidate(c, bumped[i]);
        if (out) memcpy(out[i], bumped[i], GW_NAME_MAX);
    }
    if (n == 0) l2_invalidate(c, "*"); /* could not track the name locally */
    return n;
}

static void invalidate(gw_cache_t *c, const char *name)
{
    inval_bump(c, name, NULL);
}

void inval_remote(gw_cache_t *c, const char *name)
{
    gw_stat_inc(&c->st.invalidations);
    if (strcmp(name, "*") == 0) {
        gw_names_bump_all(c->sh->names);
        alias_schedule(c, 0);
    } else {
        gw_names_bump_one(c->sh->names, name);
    }
}

/* ---- delayed re-invalidation -------------------------------------------------------------- */

static void settle_unlink(settle_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->c->settles = s->next;
    if (s->next) s->next->prev = s->prev;
    event_free(s->ev);
    free(s);
}

static void settle_on_timer(evutil_socket_t fd, short what, void *arg)
{
    settle_t *s = arg;
    invalidate(s->c, s->name);
    settle_unlink(s);
}

void inval_settle_later(gw_cache_t *c, const char *name)
{
    uint64_t ms = c->cfg->cache_async_write_settle_ms;
    if (ms == 0) return;
    settle_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->ev = evtimer_new(c->loop->base, settle_on_timer, s))) {
        free(s);
        invalidate(c, name); /* out of memory: at least bump now */
        return;
    }
    s->c = c;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->next = c->settles;
    if (c->settles) c->settles->prev = s;
    c->settles = s;
    gw_timer_add_ms(s->ev, ms);
}

/* ---- writes ------------------------------------------------------------------------------- */

/* ?wait=true (Qdrant's point writes default to false: acknowledged before they are applied). */
static int query_wait_true(const gw_req_t *r)
{
    const char *q = r->query;
    size_t len = r->query ? r->query_len : 0, i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && q[i] != '&')
            i++;
        if (i - s == 9 && memcmp(q + s, "wait=true", 9) == 0) return 1;
        i++;
    }
    return 0;
}

/* r, for the write's credentials, is NULL once the client is gone. */
static void write_invalidate(creq_t *cr, const gw_req_t *r)
{
    if (cr->write_seen) return;
    cr->write_seen = 1;
    const char *name = (cr->route_flags & GW_ROUTE_F_ALL_COLLECTIONS) || cr->key.deps.n == 0
                           ? "*"
                           : cr->key.deps.name[0];
    char bumped[2][GW_NAME_MAX];
    size_t n = inval_bump(cr->c, name, bumped);
    if (!(cr->route_flags & GW_ROUTE_F_WAIT_DEFAULT_FALSE) || cr->wait_true) return;
    /* Acknowledged, maybe not applied yet: find out when it is. */
    if (n > 0)
        barrier_after_write(cr->c, name, (const char(*)[GW_NAME_MAX])bumped, n, r);
    else
        inval_settle_later(cr->c, name);
}

/* Bumped before the client sees the answer, so its next read cannot get the old one. A 4xx
 * changed nothing; anything else (5xx included) may have been applied. */
static int write_on_head(void *ctx, gw_req_t *r, int status, gw_hdr_t *hdrs, size_t *n, size_t room,
                         int64_t clen)
{
    creq_t *cr = ctx;
    if (status < 400 || status >= 500)
        write_invalidate(cr, r);
    else
        cr->write_seen = 1;
    return 0;
}

static int write_on_end(void *ctx, gw_req_t *r, gw_proxy_end_t how)
{
    creq_t *cr = ctx;
    write_invalidate(cr, r); /* no answer seen (timeout, reset): it may still have been applied */
    cr->c->inval_end(cr);
    return 0;
}

static const gw_proxy_tap_t write_tap = {
    .on_head = write_on_head,
    .on_end = write_on_end,
};

void inval_dispatch_write(gw_cache_t *c, gw_req_t *r)
{
    creq_t *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        invalidate(c, "*"); /* cannot follow this write: drop everything instead */
        gw_proxy_forward(c->proxy, r);
        return;
    }
    cr->c = c;
    cr->cls = -1;
    cr->route_flags = r->route.flags;
    cr->wait_true = query_wait_true(r);
    if (r->route.collection) {
        char name[GW_NAME_MAX];
        ssize_t nl =
            gw_route_decode_param(r->route.collection, r->route.collection_len, name, sizeof(name));
        if (nl < 0 || gw_deps_add(&cr->key.deps, name, (size_t)nl) != 0)
            cr->route_flags |= GW_ROUTE_F_ALL_COLLECTIONS; /* name too long: bump everything */
    }
    gw_proxy_forward_tap(c->proxy, r, &write_tap, cr);
}

/* ---- the alias list ----------------------------------------------------------------------- */

static int aliases_apply(gw_cache_t *c, const char *body, size_t len)
{
    gw_alias_list_t l;
    char err[160];
    if (gw_alias_list_parse(body, len, &l, err, sizeof(err)) != 0) {
        gw_log_debug("cache: GET /aliases: %s", err);
        return -1;
    }
    gw_names_set_aliases(c->sh->names, l.alias, l.coll, l.n, c->alias_epoch);
    gw_alias_list_free(&l);
    return 0;
}

/* After a load: the regular refresh, unless something asked for a newer list while this one
 * was on its way (a bump_all moved the epoch on); then fetch again now. */
static void alias_schedule_next(gw_cache_t *c)
{
    gw_backoff_reset(&c->alias_backoff);
    alias_schedule(c, gw_names_aliases_loaded(c->sh->names) ? c->cfg->cache_alias_refresh_ms : 0);
}

/* A fetch failed: say why (bypass while no list was ever loaded, degraded while an older one
 * is used) and try again after a growing delay. */
static void alias_failed(gw_cache_t *c, int loaded, const char *code, const char *what)
{
    gw_stat_inc(&c->st.alias_failures);
    char detail[240];
    if (loaded)
        snprintf(detail, sizeof(detail),
                 "cannot refresh the alias list (%s); using the last one loaded, alias changes "
                 "made directly on Qdrant may be missed",
                 what);
    else
        snprintf(detail, sizeof(detail),
                 "cannot read the alias list (%s); every cacheable read goes to Qdrant uncached",
                 what);
    gw_cache_status_set(c->sh->status, loaded ? GW_CACHE_DEGRADED : GW_CACHE_BYPASS,
                        loaded ? "aliases_stale" : code, detail);
    alias_schedule(c, gw_backoff_next(&c->alias_backoff));
}

static void alias_on_fetched(void *arg, int ok, long status, const char *body, size_t len,
                             double seconds, const char *error)
{
    gw_cache_t *c = arg;
    int loaded = gw_names_aliases_loaded(c->sh->names);
    c->alias_fetching = 0;
    char what[160], code[48];
    if (ok && status == 200 && aliases_apply(c, body, len) == 0) {
        gw_cache_status_set(c->sh->status, GW_CACHE_ACTIVE, "", "the alias list is loaded");
        alias_schedule_next(c);
        return;
    }
    if (ok && (status == 401 || status == 403)) {
        /* Qdrant wants a key the gateway does not have: no alias tracking, reads through an
         * alias are then invalidated only by writes through that same alias. */
        snprintf(what, sizeof(what),
                 "Qdrant answered %ld to GET /aliases (set upstream.api_key): caching without "
                 "alias tracking; reads through an alias see only writes through that alias",
                 status);
        gw_cache_status_set(c->sh->status, GW_CACHE_DEGRADED, "aliases_forbidden", what);
        gw_names_set_aliases(c->sh->names, NULL, NULL, 0, c->alias_epoch);
        alias_schedule_next(c);
        return;
    }
    if (ok && status == 200) {
        snprintf(code, sizeof(code), "aliases_invalid");
        snprintf(what, sizeof(what), "GET /aliases answered 200 without Qdrant's alias list");
    } else if (ok) {
        snprintf(code, sizeof(code), "aliases_http_%ld", status);
        snprintf(what, sizeof(what), "Qdrant answered %ld to GET /aliases", status);
    } else {
        snprintf(code, sizeof(code), "aliases_unreachable");
        snprintf(what, sizeof(what), "GET /aliases failed: %s", error ? error : "no answer");
    }
    (void)seconds;
    alias_failed(c, loaded, code, what);
}

static void alias_on_timer(evutil_socket_t fd, short what, void *arg)
{
    gw_cache_t *c = arg;
    if (c->alias_fetching)
        return; /* its answer reschedules, at once if a newer list was asked for meanwhile */
    c->alias_epoch = gw_names_alias_epoch(c->sh->names);
    if (gw_proxy_fetch(c->proxy, "/aliases", ALIAS_TIMEOUT_MS, alias_on_fetched, c) == 0)
        c->alias_fetching = 1;
    else
        alias_failed(c, gw_names_aliases_loaded(c->sh->names), "aliases_unreachable",
                     "GET /aliases could not be started");
}

int inval_init(gw_cache_t *c, cache_creq_end_cb end)
{
    c->inval_end = end;
    /* From ALIAS_RETRY_MS doubling to the refresh period (at most ALIAS_RETRY_MAX_MS); seeded
     * per worker so that the workers' retries spread out. */
    uint64_t cap = c->cfg->cache_alias_refresh_ms < ALIAS_RETRY_MAX_MS
                       ? c->cfg->cache_alias_refresh_ms
                       : ALIAS_RETRY_MAX_MS;
    gw_backoff_init(&c->alias_backoff, ALIAS_RETRY_MS, cap,
                    0x2545f491u * (uint32_t)(c->loop->id + 1));
    c->alias_ev = evtimer_new(c->loop->base, alias_on_timer, c);
    if (!c->alias_ev) return -1;
    if (c->sh->class_on[GW_CCLASS_SEARCH] || c->sh->class_on[GW_CCLASS_POINTS])
        alias_schedule(c, 0);
    return 0;
}

void inval_free(gw_cache_t *c)
{
    barriers_free(c);
    while (c->settles)
        settle_unlink(c->settles);
    if (c->alias_ev) event_free(c->alias_ev);
}

/* ---- POST /api/v1/cache/purge ------------------------------------------------------------- */

static int key_matches(const char *want, const char *got, size_t len)
{
    size_t wl = strlen(want);
    unsigned char diff = (unsigned char)(wl != len);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(got[i] ^ want[i < wl ? i : 0]);
    return diff == 0;
}

static const char *purge_credential(const gw_req_t *r, size_t *len)
{
    const char *v = gw_req_header(r, "api-key", len);
    if (v) return v;
    v = gw_req_header(r, "authorization", len);
    if (v && *len > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
        *len -= 7;
        return v + 7;
    }
    return NULL;
}

static void purge_finish(gw_cache_t *c, gw_req_t *r)
{
    size_t len = evbuffer_get_length(r->body);
    const char *body = len ? (const char *)evbuffer_pullup(r->body, -1) : "";
    json_error_t e;
    json_t *root = len ? json_loadb(body, len, 0, &e) : json_object();
    json_t *coll = json_object_get(root, "collection");
    if (!json_is_object(root) || (coll && !json_is_string(coll)) ||
        json_object_size(root) > (coll ? 1u : 0u)) {
        gw_req_respond_error(r, 400, "Bad request: body must be {} or {\"collection\": \"name\"}");
    } else {
        const char *name = coll ? json_string_value(coll) : "*";
        if (!coll) gw_l1_clear(c->sh->l1);
        invalidate(c, name);
        gw_stat_inc(&c->st.purges);
        gw_log_info("cache purge: %s", coll ? name : "everything");
        json_t *res = json_pack("{s:{s:s},s:s,s:f}", "result", "purged", name, "status", "ok",
                                "time", (double)(gw_mono_us() - r->start_us) / 1e6);
        char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
        if (text)
            gw_req_respond(r, 200, "application/json", text, strlen(text));
        else
            gw_req_respond_error(r, 500, "Service internal error: %s", "out of memory");
        free(text);
        json_decref(res);
    }
    json_decref(root);
}

static void purge_on_body(gw_req_t *r)
{
    gw_cache_t *c = r->handler_ctx;
    if (r->finished) return;
    if (evbuffer_get_length(r->body) > PURGE_MAX_BODY) {
        gw_req_respond_error(r, 413, "Payload too large: purge body over %u bytes", PURGE_MAX_BODY);
    } else if (r->body_done) {
        purge_finish(c, r);
    } else {
        return;
    }
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
}

static void purge_on_abort(gw_req_t *r)
{
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t purge_handler = {
    .on_body = purge_on_body,
    .on_abort = purge_on_abort,
};

void gw_cache_purge_handle(gw_cache_t *c, gw_req_t *r)
{
    const char *admin = c->cfg->cache_admin_key;
    size_t len = 0;
    const char *cred = purge_credential(r, &len);
    if (strcmp(r->method, "POST") != 0)
        gw_req_respond_error(r, 405, "Method not allowed: %s /api/v1/cache/purge (use POST)",
                             r->method);
    else if (r->authz && r->authz->manage) { /* the access gate checked global manage */
        r->handler = &purge_handler;
        r->handler_ctx = c;
        purge_on_body(r);
        return;
    } else if (!admin[0])
        gw_req_respond_error(r, 403, "Forbidden: cache purge is disabled (set cache.admin_key)");
    else if (!cred)
        gw_req_respond_error(r, 401, "Must provide an API key or an Authorization bearer token");
    else if (!key_matches(admin, cred, len))
        gw_req_respond_error(r, 401, "Invalid API key or JWT");
    else {
        r->handler = &purge_handler;
        r->handler_ctx = c;
        purge_on_body(r);
        return;
    }
    gw_req_release(r, GW_REQ_HANDLER);
}
