/* The access gate; see gate.h. */
#include "gateway/auth/gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "common/clock.h"
#include "gateway/auth/audit.h"
#include "gateway/auth/jwt.h"
#include "gateway/auth/keys.h"
#include "gateway/auth/rate.h"
#include "gateway/auth/rules.h"
#include "gateway/auth/tenant.h"
#include "gateway/cache/generations.h"
#include "gateway/core/loop.h"
#include "gateway/http/dispatch.h"

#define NO_CRED  "Must provide an API key or an Authorization bearer token"
#define BAD_CRED "Invalid API key or JWT"

struct gw_auth {
    const gw_config_t *cfg;
    gw_cache_shared_t *cache;
    gw_keys_t keys;
    const char *secret; /* JWT key (Qdrant's api_key), "" when JWTs are off */
    size_t secret_len;
    gw_rate_t *rate; /* the keys' rate limits */
};

/* One request's verdict: what r->authz points into. */
typedef struct authz {
    gw_req_authz_t pub;
    gw_auth_t *a;
    const char *kind; /* "key", "jwt", "api_key", "none" */
    const gw_key_t *key;
    gw_jwt_claims_t claims;
    const gw_access_t *access;
    int refused;
    char error[GW_ERROR_MSG_MAX];
    char collection[256];
    int has_collection;
    char tenant[GW_NAME_MAX * 2];
    gw_tenant_t bound;     /* the tenant (field, value), when bound */
    struct evbuffer *body; /* a tenant's request body, read whole before its rewrite */
} authz_t;

static const gw_access_t full_access = {GW_GLOBAL_M, 0, NULL};

int gw_auth_configured(const gw_config_t *cfg)
{
    return cfg->auth_jwt_enabled || cfg->nauth_keys > 0;
}

gw_auth_t *gw_auth_new(const gw_config_t *cfg, gw_cache_shared_t *cache, char *err, size_t errlen)
{
    gw_auth_t *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->cache = cache;
    if (gw_keys_build(&a->keys, cfg, err, errlen) != 0) {
        free(a);
        return NULL;
    }
    a->secret = !cfg->auth_jwt_enabled    ? ""
                : cfg->auth_jwt_secret[0] ? cfg->auth_jwt_secret
                                          : cfg->upstream_api_key;
    a->secret_len = strlen(a->secret);
    if (!(a->rate = gw_rate_new(cfg, &a->keys, err, errlen))) {
        gw_auth_free(a);
        return NULL;
    }
    return a;
}

int gw_auth_worker_start(gw_auth_t *a, gw_loop_t *loop, char *err, size_t errlen)
{
    return a ? gw_rate_worker_start(a->rate, loop, err, errlen) : 0;
}

void gw_auth_worker_end(gw_auth_t *a, int worker)
{
    if (a) gw_rate_worker_end(a->rate, worker);
}

void gw_auth_render_metrics(const gw_auth_t *a, gw_text_t *t)
{
    if (a) gw_rate_render(a->rate, t);
}

void gw_auth_free(gw_auth_t *a)
{
    if (!a) return;
    gw_rate_free(a->rate); /* before the keys it points into */
    gw_keys_free(&a->keys);
    free(a);
}

/* ---- the verdict's life: audit, then free ------------------------------------------------ */

static void authz_done(gw_req_authz_t *pub, const gw_req_t *r)
{
    authz_t *z = (authz_t *)pub;
    int write = r->route.cls == GW_ROUTE_QDRANT_WRITE || r->route.handler == GW_H_PURGE;
    if (gw_audit_enabled() && (z->refused || write)) {
        gw_audit_rec_t rec = {
            .time = gw_wall_seconds(),
            .key = z->key ? z->key->name : NULL,
            .subject = z->claims.subject ? z->claims.subject : z->claims.sub,
            .auth = z->kind,
            .client = r->peer,
            .method = r->method,
            .route = r->route.op ? r->route.op : "",
            .path = r->path,
            .path_len = r->path_len,
            .collection = z->has_collection ? z->collection : NULL,
            .status = r->status ? r->status : 499,
            .request_id = r->id,
            .error = z->refused ? z->error : NULL,
        };
        gw_audit_write(&rec);
    }
    gw_jwt_claims_free(&z->claims);
    if (z->body) evbuffer_free(z->body);
    free(z);
}

/* ---- access checks, with aliases for gateway keys ----------------------------------------- */

static int check(authz_t *z, gw_need_t need, const char *coll, char *msg, size_t cap)
{
    int st = gw_access_check(z->access, need, coll, msg, cap);
    if (st == 0 || !z->key || need.scope != GW_NEED_COLL) return st;
    /* A key's allowlist covers the aliases of its collections (as far as the cache's alias
     * map knows). JWTs name collections literally, as Qdrant checks them. */
    char target[GW_NAME_MAX], m2[256];
    if (gw_cache_alias_target(z->a->cache, coll, target, sizeof(target)) &&
        gw_access_check(z->access, need, target, m2, sizeof(m2)) == 0)
        return 0;
    return st;
}

static int check_read(gw_req_authz_t *pub, const char *name, char *msg, size_t cap)
{
    authz_t *z = (authz_t *)pub;
    int st = check(z, (gw_need_t){GW_NEED_COLL, 0}, name, msg, cap);
    if (st) { /* the cache refuses the request with it: the audit log says so */
        z->refused = 1;
        snprintf(z->error, sizeof(z->error), "%s", msg);
    }
    return st;
}

/* ---- answering ----------------------------------------------------------------------------- */

static int refuse_plain(authz_t *z, gw_req_t *r, int status, const char *text)
{
    z->refused = 1;
    snprintf(z->error, sizeof(z->error), "%s", text);
    gw_req_respond(r, status, NULL, text, strlen(text));
    gw_req_release(r, GW_REQ_HANDLER);
    return 1;
}

static int refuse_json(authz_t *z, gw_req_t *r, const char *msg)
{
    z->refused = 1;
    snprintf(z->error, sizeof(z->error), "%s", msg);
    gw_req_respond_error(r, 403, "%s", msg);
    gw_req_release(r, GW_REQ_HANDLER);
    return 1;
}

/* ---- the credential -------------------------------------------------------------------------- */

static const char *credential(const gw_req_t *r, size_t *len)
{
    const char *v = gw_req_header(r, "api-key", len);
    if (v) return v;
    v = gw_req_header(r, "authorization", len);
    if (v && *len >= 7 && memcmp(v, "Bearer ", 7) == 0) {
        *len -= 7;
        return v + 7;
    }
    return NULL;
}

/* The client's credential headers are not Qdrant's: drop them, upstream.api_key goes instead. */
static void drop_credentials(gw_req_t *r)
{
    size_t o = 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        const gw_hdr_t *h = &r->hdrs[i];
        if (gw_header_name_eq(h->name, h->name_len, "api-key") ||
            gw_header_name_eq(h->name, h->name_len, "authorization"))
            continue;
        r->hdrs[o++] = *h;
    }
    r->nhdrs = o;
}

/* The credential is bound to a tenant: enforced (tenant_admit) and part of every cache key
 * ("field\0value"). Both are validated (gw_tenant_valid), so they fit. */
static void bind_tenant(authz_t *z, const char *field, const char *value)
{
    size_t f = strlen(field), v = strlen(value);
    z->bound = (gw_tenant_t){field, value};
    if (f + v + 1 < sizeof(z->tenant)) {
        memcpy(z->tenant, field, f + 1);
        memcpy(z->tenant + f + 1, value, v);
    }
    z->pub.tenant = z->tenant;
    z->pub.tenant_len = f + 1 + v < sizeof(z->tenant) ? f + 1 + v : sizeof(z->tenant);
}

/* Identifies cred: 0, or a refusal's status with its text in msg. */
static int identify(authz_t *z, gw_req_t *r, const char *cred, size_t len, char *msg, size_t cap)
{
    gw_auth_t *a = z->a;
    if (len > a->cfg->auth_max_token_bytes) return snprintf(msg, cap, BAD_CRED), 401;
    if ((z->key = gw_keys_find(&a->keys, cred, len))) {
        z->kind = "key";
        z->access = &z->key->access;
        if (z->key->tenant_field) bind_tenant(z, z->key->tenant_field, z->key->tenant_value);
        drop_credentials(r);
        return 0;
    }
    if (!a->secret_len) return snprintf(msg, cap, BAD_CRED), 401;
    if (gw_ct_eq(cred, len, a->secret, a->secret_len)) { /* Qdrant's api_key: full access */
        z->kind = "api_key";
        z->access = &full_access;
        return 0;
    }
    gw_jwt_opts_t o = {(const unsigned char *)a->secret, a->secret_len,
                       (uint64_t)gw_wall_seconds(),      a->cfg->auth_jwt_leeway_ms / 1000,
                       a->cfg->auth_jwt_check_nbf,       a->cfg->auth_max_token_bytes};
    int st = gw_jwt_verify(cred, len, &o, &z->claims, msg, cap);
    if (st) return st;
    z->kind = "jwt";
    z->access = &z->claims.access;
    z->pub.upstream_checks = z->claims.value_exists_collection != NULL;
    if (z->claims.tenant_field) bind_tenant(z, z->claims.tenant_field, z->claims.tenant_value);
    return 0;
}

/* The collection a route needs: its path's, or a model's. 0, or -1 for an unknown model. A
 * path name too long to be a collection (Qdrant caps them at 255 bytes) is checked as "", which
 * no collection list holds: only global access passes, as it would in Qdrant. */
static int route_collection(authz_t *z, const gw_req_t *r)
{
    if (r->route.collection) {
        ssize_t n = gw_route_decode_param(r->route.collection, r->route.collection_len,
                                          z->collection, sizeof(z->collection) - 1);
        z->collection[n < 0 ? 0 : n] = '\0';
        z->has_collection = 1;
        return 0;
    }
    static const char pre[] = "/api/v1/models/";
    if (r->route.handler != GW_H_MODELS || r->path_len <= sizeof(pre) - 1) return -1;
    const char *name = r->path + sizeof(pre) - 1, *end = r->path + r->path_len;
    const char *slash = memchr(name, '/', (size_t)(end - name));
    size_t nl = (size_t)((slash ? slash : end) - name);
    const gw_config_t *cfg = z->a->cfg;
    for (size_t i = 0; i < cfg->nmodels; i++)
        if (strlen(cfg->models[i].name) == nl && memcmp(cfg->models[i].name, name, nl) == 0) {
            snprintf(z->collection, sizeof(z->collection), "%s", cfg->models[i].collection);
            z->has_collection = 1;
            return 0;
        }
    return -1;
}

/* 429 with Qdrant's rate limit text and Retry-After (whole seconds, rounded up). */
static int refuse_rate(authz_t *z, gw_req_t *r, int write, double wait, double available)
{
    unsigned secs = (unsigned)wait + ((double)(unsigned)wait < wait ? 1 : 0);
    if (!secs) secs = 1;
    snprintf(z->error, sizeof(z->error),
             "Rate limiting exceeded: %s rate limit exceeded: Operation requires 1 tokens but "
             "only %.1f were available. Retry after %us",
             write ? "Write" : "Read", available, secs);
    z->refused = 1;
    if (r->grpc) { /* RESOURCE_EXHAUSTED (gw_grpc_code_of_http), the text as grpc-message */
        gw_req_respond_grpc(r, gw_grpc_code_of_http(429), z->error, strlen(z->error));
        gw_req_release(r, GW_REQ_HANDLER);
        return 1;
    }
    char body[GW_ERROR_BODY_MAX], ra[16];
    size_t n =
        gw_error_envelope(body, sizeof(body), (double)(gw_mono_us() - r->start_us) / 1e6, z->error);
    snprintf(ra, sizeof(ra), "%u", secs);
    if (r->codec && !r->head_sent) {
        gw_hdr_t h[3] = {{"content-type", 12, "application/json", 16},
                         {"retry-after", 11, ra, strlen(ra)},
                         {"x-request-id", 12, r->id, strlen(r->id)}};
        r->codec->send_head(r, 429, h, r->id[0] ? 3 : 2, (int64_t)n);
        if (!r->is_head) r->codec->send_body(r, body, n);
        r->codec->finish(r, 1);
    }
    gw_req_release(r, GW_REQ_HANDLER);
    return 1;
}

/* ---- tenants: the route's policy, then the body's rewrite -------------------------------------
 */

static int refuse_status(authz_t *z, gw_req_t *r, int status, const char *msg)
{
    z->refused = 1;
    snprintf(z->error, sizeof(z->error), "%s", msg);
    gw_req_respond_error(r, status, "%s", msg);
    gw_req_release(r, GW_REQ_HANDLER);
    return 1;
}

/* The whole body is in z->body (and r->body): rewritten into r->body. 0, or 1 answered. */
static int tenant_rewrite(authz_t *z, gw_req_t *r)
{
    if (!z->body && !(z->body = evbuffer_new()))
        return refuse_status(z, r, 503, "Service unavailable: out of memory");
    evbuffer_add_buffer(z->body, r->body);
    size_t len = evbuffer_get_length(z->body), n = 0;
    const char *in = len ? (const char *)evbuffer_pullup(z->body, -1) : "";
    char *out = NULL, msg[GW_ERROR_MSG_MAX];
    int st = gw_tenant_rewrite(r->route.op, &z->bound, in, len, &out, &n, msg, sizeof(msg));
    if (st) return refuse_status(z, r, st, msg);
    evbuffer_drain(z->body, len);
    int rc = evbuffer_add(r->body, out, n);
    free(out);
    if (rc) return refuse_status(z, r, 503, "Service unavailable: out of memory");
    r->content_length = (int64_t)n;
    r->has_body = 1;
    return 0;
}

/* Reading a tenant's body: moved aside as it comes (so HTTP/2 flow control goes on), bounded
 * by server.max_body as every body is (the codecs refuse more with 413). */
static void tenant_on_body(gw_req_t *r)
{
    authz_t *z = r->handler_ctx;
    if (evbuffer_remove_buffer(r->body, z->body, evbuffer_get_length(r->body)) < 0) {
        r->handler = NULL;
        r->handler_ctx = NULL;
        refuse_status(z, r, 503, "Service unavailable: out of memory");
        return;
    }
    if (!r->body_done) return;
    r->handler = NULL;
    r->handler_ctx = NULL;
    if (tenant_rewrite(z, r) == 0) gw_dispatch_resume(r);
}

static void tenant_on_abort(gw_req_t *r)
{
    r->handler = NULL;
    r->handler_ctx = NULL;
    gw_req_release(r, GW_REQ_HANDLER);
}

static const gw_handler_ops_t tenant_reader = {
    .on_body = tenant_on_body,
    .on_abort = tenant_on_abort,
};

/* A tenant-bound credential: refused, passed, or its body rewritten (now when it is all in,
 * else once read: the request is the gate's until then). 0 to go on, 1 taken. */
static int tenant_admit(authz_t *z, gw_req_t *r)
{
    gw_handler_id_t h = r->route.handler;
    /* The model API and GraphQL make Qdrant requests that pass this gate themselves. */
    if (h == GW_H_MODELS || h == GW_H_GRAPHQL || h == GW_H_HEALTH || h == GW_H_API_NOT_FOUND)
        return 0;
    char msg[GW_ERROR_MSG_MAX];
    const char *op = r->route.cls == GW_ROUTE_NOT_FOUND ? NULL : r->route.op;
    if (h == GW_H_PURGE) op = "purge";
    gw_tenant_policy_t p = gw_tenant_policy(op, &z->bound, msg, sizeof(msg));
    if (p == GW_TENANT_PASS) return 0;
    if (p == GW_TENANT_REFUSE) return refuse_json(z, r, msg);
    if (r->grpc) /* the rewrite is of JSON bodies: a protobuf message is not checked, so refused */
        return refuse_json(z, r,
                           "Forbidden: tenant-bound credential: gRPC requests cannot be checked "
                           "for the tenant (use the REST API)");
    size_t el = 0;
    const char *enc = gw_req_header(r, "content-encoding", &el);
    if (enc && !(el == 8 && strncasecmp(enc, "identity", 8) == 0))
        return refuse_json(z, r,
                           "Forbidden: tenant-bound credential: a compressed request body "
                           "cannot be checked");
    if (r->body_done) return tenant_rewrite(z, r);
    if (!(z->body = evbuffer_new()))
        return refuse_status(z, r, 503, "Service unavailable: out of memory");
    r->handler = &tenant_reader;
    r->handler_ctx = z;
    tenant_on_body(r); /* what came with the head */
    return 1;
}

static int gate_rest(authz_t *z, gw_req_t *r);

/* A parked request's global verdict: 429, or the rest of the gate, then its handler. */
static void rate_done(void *ctx, gw_req_t *r, double wait, double available)
{
    authz_t *z = ctx;
    gw_gate_wait_t w = gw_dispatch_gate_take(r); /* before an answer may free r */
    int st = wait > 0 ? refuse_rate(z, r, r->route.cls == GW_ROUTE_QDRANT_WRITE, wait, available)
                      : gate_rest(z, r);
    gw_dispatch_gate_done(r, w, st);
}

int gw_auth_gate(void *ctx, gw_req_t *r)
{
    gw_auth_t *a = ctx;
    gw_need_t need = gw_need_of_route(&r->route, r->path, r->path_len);
    if (need.scope == GW_NEED_OPEN) return 0;
    authz_t *z = calloc(1, sizeof(*z));
    if (!z) {
        gw_req_respond_error(r, 503, "Service unavailable: out of memory");
        gw_req_release(r, GW_REQ_HANDLER);
        return 1;
    }
    z->a = a;
    z->kind = "none";
    z->pub.check_read = check_read;
    z->pub.done = authz_done;
    r->authz = &z->pub;
    size_t len = 0;
    const char *cred = credential(r, &len);
    if (!cred) return refuse_plain(z, r, 401, NO_CRED);
    char msg[GW_ERROR_MSG_MAX];
    z->pub.credential = cred;
    z->pub.credential_len = len;
    int st = identify(z, r, cred, len, msg, sizeof(msg));
    if (st) return refuse_plain(z, r, st, msg);
    if (need.scope == GW_NEED_COLL && route_collection(z, r) != 0)
        need.scope = GW_NEED_ANY; /* an unknown model: the handler answers 404 */
    if (check(z, need, z->collection, msg, sizeof(msg)) != 0) return refuse_json(z, r, msg);
    if (z->key || z->claims.sub) { /* a gateway key's limits, or a JWT subject's */
        int write = r->route.cls == GW_ROUTE_QDRANT_WRITE;
        double available = 0, wait = 0;
        int rc = gw_rate_admit(a->rate, r, z->key, z->claims.sub, write, rate_done, z, &wait,
                               &available);
        if (rc > 0) return refuse_rate(z, r, write, wait, available);
        if (rc < 0) return -1; /* parked: rate_done goes on */
    }
    return gate_rest(z, r);
}

/* After the rate limits: what the credential may manage, then its tenant. 0 / 1 as the gate. */
static int gate_rest(authz_t *z, gw_req_t *r)
{
    char msg[GW_ERROR_MSG_MAX];
    z->pub.manage = gw_access_check(z->access, (gw_need_t){GW_NEED_GLOBAL, GW_NEED_MANAGE}, "", msg,
                                    sizeof(msg)) == 0;
    if (z->bound.field) {
        z->pub.manage = 0; /* collection management and purges are refused for tenants */
        return tenant_admit(z, r);
    }
    return 0;
}
