/* Cache keys: canonical JSON body, normalised path and query, credentials, dependencies. */
#include "gateway/cache/key.h"

#include <stdlib.h>
#include <string.h>

#include "common/cjson.h"
#include "gateway/http/headers.h"

#define CKEY_MAX_PARAMS 64

int gw_ckey_class(const gw_route_t *rt)
{
    static const struct {
        const char *op;
        int cls;
    } ops[] = {
        {"search_points", GW_CCLASS_SEARCH},
        {"search_batch_points", GW_CCLASS_SEARCH},
        {"search_point_groups", GW_CCLASS_SEARCH},
        {"search_matrix_pairs", GW_CCLASS_SEARCH},
        {"search_matrix_offsets", GW_CCLASS_SEARCH},
        {"query_points", GW_CCLASS_SEARCH},
        {"query_batch_points", GW_CCLASS_SEARCH},
        {"query_points_groups", GW_CCLASS_SEARCH},
        {"recommend_points", GW_CCLASS_SEARCH},
        {"recommend_batch_points", GW_CCLASS_SEARCH},
        {"recommend_point_groups", GW_CCLASS_SEARCH},
        {"discover_points", GW_CCLASS_SEARCH},
        {"discover_batch_points", GW_CCLASS_SEARCH},
        {"scroll_points", GW_CCLASS_POINTS},
        {"count_points", GW_CCLASS_POINTS},
        {"facet", GW_CCLASS_POINTS},
        {"get_point", GW_CCLASS_POINTS},
        {"get_points", GW_CCLASS_POINTS},
        {"local_shard_get_points", GW_CCLASS_POINTS},
        {"local_shard_scroll_points", GW_CCLASS_POINTS},
        {"local_shard_count_points", GW_CCLASS_POINTS},
    };
    if (rt->cls != GW_ROUTE_QDRANT_READ || !rt->op || !rt->collection) return -1;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].op, rt->op) == 0) return ops[i].cls;
    return -1;
}

const char *gw_ckey_class_name(int cls)
{
    return cls == GW_CCLASS_SEARCH ? "search" : cls == GW_CCLASS_POINTS ? "points" : "none";
}

/* ---- request pieces ------------------------------------------------------------------------ */

typedef struct span {
    const char *p;
    size_t len;
} span_t;

static int span_cmp(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A timeout Qdrant accepts: 1 to 19 decimal digits, not 0. Anything else ("abc", "", "-5")
 * stays in the key, so its answer (Qdrant's 400) is never mixed with a valid request's. */
static int valid_timeout(const char *v, size_t n)
{
    if (n == 0 || n > 19) return 0;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        nonzero |= v[i] != '0';
    }
    return nonzero;
}

long gw_ckey_norm_query(const char *q, size_t len, char *out, size_t cap)
{
    span_t params[CKEY_MAX_PARAMS];
    size_t n = 0, i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && q[i] != '&')
            i++;
        span_t s = {q + start, i - start};
        i++;
        if (s.len == 0) continue;
        const char *eq = memchr(s.p, '=', s.len);
        size_t nl = eq ? (size_t)(eq - s.p) : s.len;
        if (nl == 7 && memcmp(s.p, "timeout", 7) == 0 && eq && valid_timeout(eq + 1, s.len - 8))
            continue; /* how long Qdrant may take does not change the answer */
        if (n == CKEY_MAX_PARAMS) return -1;
        params[n++] = s;
    }
    qsort(params, n, sizeof(params[0]), span_cmp);
    size_t o = 0;
    for (i = 0; i < n; i++) {
        if (o + params[i].len + 1 > cap) return -1;
        if (i) out[o++] = '&';
        memcpy(out + o, params[i].p, params[i].len);
        o += params[i].len;
    }
    return (long)o;
}

/* The path as Qdrant routes it: runs of '/' merged, trailing '/' dropped. */
static void digest_path(gw_digest_t *d, const char *p, size_t len)
{
    char buf[2048];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '/' && o && buf[o - 1] == '/') continue;
        if (o == sizeof(buf)) {
            gw_digest_field(d, p, len); /* absurdly long: exact bytes, still a valid key */
            return;
        }
        buf[o++] = p[i];
    }
    while (o > 1 && buf[o - 1] == '/')
        o--;
    gw_digest_field(d, buf, o);
}

void gw_ckey_digest_header(gw_digest_t *d, const gw_req_t *r, const char *lower_name)
{
    size_t len = 0;
    const char *v = gw_req_header(r, lower_name, &len);
    gw_digest_u64(d, v != NULL);
    gw_digest_field(d, v ? v : "", v ? len : 0);
}

/* lookup_from: {"collection": name, ...}; with_lookup: name or {"collection": name, ...}. */
static int add_lookup(gw_deps_t *deps, const gw_cjnode_t *v)
{
    if (gw_cjnode_type(v) == GW_CJ_OBJ) v = gw_cjnode_get(v, "collection");
    size_t len = 0;
    const char *name = v ? gw_cjnode_str(v, &len) : NULL;
    if (!name) return 0; /* Qdrant will reject it; the key still covers the body */
    return gw_deps_add(deps, name, len);
}

/* Walks the body for the collections it reads besides the path's (-1: too many) and for what
 * makes its answer not a function of request and data: {"sample": "random"} anywhere (a query
 * or a prefetch) draws a fresh sample on every call (-2: never stored). 0 otherwise. */
static int find_deps(gw_deps_t *deps, const gw_cjnode_t *v)
{
    int obj = gw_cjnode_type(v) == GW_CJ_OBJ;
    for (size_t i = 0; i < gw_cjnode_count(v); i++) {
        const gw_cjnode_t *item = gw_cjnode_item(v, i);
        size_t kl = 0;
        const char *k = obj ? gw_cjnode_key(v, i, &kl) : NULL;
        if (k &&
            ((kl == 11 && memcmp(k, "lookup_from", 11) == 0) ||
             (kl == 11 && memcmp(k, "with_lookup", 11) == 0)) &&
            add_lookup(deps, item) != 0)
            return -1;
        if (k && kl == 6 && memcmp(k, "sample", 6) == 0) {
            size_t sl = 0;
            const char *sv = gw_cjnode_str(item, &sl);
            if (sv && sl == 6 && memcmp(sv, "random", 6) == 0) return -2;
        }
        int rc = find_deps(deps, item);
        if (rc != 0) return rc;
    }
    return 0;
}

static int digest_body(gw_digest_t *d, gw_deps_t *deps, const char *body, size_t len,
                       const char **why)
{
    if (len == 0) {
        gw_digest_u64(d, 0);
        return 0;
    }
    char err[160];
    gw_cjson_t *doc = gw_cjson_parse(body, len, err, sizeof(err));
    if (!doc) {
        *why = "body is not valid JSON";
        return -1;
    }
    int rc = find_deps(deps, gw_cjson_root(doc));
    if (rc == -2)
        *why = "random sample: Qdrant draws a new one every call";
    else if (rc != 0)
        *why = "too many collections";
    if (rc != 0) rc = -1;
    gw_digest_u64(d, 1);
    if (rc == 0) gw_cjson_digest(doc, d);
    gw_cjson_free(doc);
    return rc;
}

int gw_ckey_build(gw_ckey_t *k, const gw_req_t *r, const char *body, size_t len, int per_credential,
                  const char **why)
{
    char name[GW_NAME_MAX];
    k->deps.n = 0;
    ssize_t nl =
        gw_route_decode_param(r->route.collection, r->route.collection_len, name, sizeof(name));
    if (nl < 0 || gw_deps_add(&k->deps, name, (size_t)nl) != 0) {
        *why = "collection name too long";
        return -1;
    }
    char q[4096];
    long ql = r->query ? gw_ckey_norm_query(r->query, r->query_len, q, sizeof(q)) : 0;
    if (ql < 0) {
        *why = "query string too long";
        return -1;
    }
    gw_digest_t d;
    if (gw_digest_init(&d) != 0) {
        *why = "out of memory";
        return -1;
    }
    gw_digest_field(&d, "qgw-key-2", 9); /* bump when the key layout changes */
    gw_digest_field(&d, r->method, r->method_len);
    digest_path(&d, r->path, r->path_len);
    gw_digest_field(&d, q, (size_t)ql);
    gw_ckey_digest_varying(&d, r);
    if (per_credential) {
        gw_ckey_digest_header(&d, r, "api-key");
        gw_ckey_digest_header(&d, r, "authorization");
    }
    if (r->authz) { /* auth on: keyed by access scope; the tenant splits scopes */
        gw_digest_u64(&d, 1);
        gw_digest_field(&d, r->authz->tenant ? r->authz->tenant : "", r->authz->tenant_len);
    }
    if (digest_body(&d, &k->deps, body, len, why) != 0) {
        gw_digest_dispose(&d);
        return -1;
    }
    gw_digest_final(&d, k->base);
    return 0;
}

/* The last few generation vectors this thread digested (they change only on writes). */
#define GENS_MEMO 4

typedef struct gens_memo {
    size_t n; /* number of dependencies; SIZE_MAX: empty */
    uint64_t global, gens[GW_DEPS_MAX];
    unsigned char digest[GW_DIGEST_LEN];
} gens_memo_t;

static _Thread_local gens_memo_t gens_memo[GENS_MEMO] = {{SIZE_MAX, 0, {0}, {0}},
                                                         {SIZE_MAX, 0, {0}, {0}},
                                                         {SIZE_MAX, 0, {0}, {0}},
                                                         {SIZE_MAX, 0, {0}, {0}}};
static _Thread_local unsigned gens_memo_next;

static const unsigned char *gens_digest(size_t n, const uint64_t *gens, uint64_t global)
{
    for (int i = 0; i < GENS_MEMO; i++) {
        const gens_memo_t *m = &gens_memo[i];
        if (m->n == n && m->global == global && memcmp(m->gens, gens, n * sizeof(*gens)) == 0)
            return m->digest;
    }
    gw_digest_t d;
    if (gw_digest_init(&d) != 0) return NULL;
    gw_digest_field(&d, "qgw-gens-1", 10);
    gw_digest_u64(&d, global);
    gw_digest_u64(&d, (uint64_t)n);
    for (size_t i = 0; i < n; i++)
        gw_digest_u64(&d, gens[i]);
    gens_memo_t *m = &gens_memo[gens_memo_next++ % GENS_MEMO];
    gw_digest_final(&d, m->digest);
    m->n = n;
    m->global = global;
    memcpy(m->gens, gens, n * sizeof(*gens));
    return m->digest;
}

int gw_ckey_l1(const gw_ckey_t *k, const uint64_t *gens, uint64_t global,
               unsigned char out[GW_DIGEST_LEN])
{
    const unsigned char *g = gens_digest(k->deps.n, gens, global);
    if (!g) return -1;
    for (int i = 0; i < GW_DIGEST_LEN; i++)
        out[i] = k->base[i] ^ g[i];
    return 0;
}

/* Directive names in a comma-separated Cache-Control value, case-insensitively. */
unsigned gw_ckey_cache_control(const gw_req_t *r)
{
    unsigned out = 0;
    for (size_t h = 0; h < r->nhdrs; h++) {
        const gw_hdr_t *hd = &r->hdrs[h];
        if (!gw_header_name_eq(hd->name, hd->name_len, "cache-control") &&
            !gw_header_name_eq(hd->name, hd->name_len, "pragma"))
            continue;
        size_t i = 0;
        while (i < hd->value_len) {
            while (i < hd->value_len && (hd->value[i] == ' ' || hd->value[i] == ','))
                i++;
            size_t s = i;
            while (i < hd->value_len && hd->value[i] != ',' && hd->value[i] != '=' &&
                   hd->value[i] != ' ')
                i++;
            if (gw_header_name_eq(hd->value + s, i - s, "no-cache"))
                out |= GW_CC_NO_CACHE;
            else if (gw_header_name_eq(hd->value + s, i - s, "no-store"))
                out |= GW_CC_NO_STORE;
            while (i < hd->value_len && hd->value[i] != ',')
                i++;
        }
    }
    return out;
}

/* The request headers an answer may vary on that every key covers: Content-Type and
 * Accept-Encoding (how the body reads and is encoded) and what Qdrant's CORS answer varies on
 * (Vary: Origin, Access-Control-Request-*), so a hit never replays another origin's
 * Access-Control-Allow-Origin. */
static const char *const varying[] = {"content-type",
                                      "accept-encoding",
                                      "origin",
                                      "access-control-request-method",
                                      "access-control-request-headers",
                                      NULL};

const char *const *gw_ckey_varying_headers(void)
{
    return varying;
}

void gw_ckey_digest_varying(gw_digest_t *d, const gw_req_t *r)
{
    for (const char *const *k = varying; *k; k++)
        gw_ckey_digest_header(d, r, *k);
}

int gw_ckey_vary_keyed(const char *name, size_t len)
{
    for (const char *const *k = varying; *k; k++)
        if (gw_header_name_eq(name, len, *k)) return 1;
    return 0;
}
