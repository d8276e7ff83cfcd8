/* Raw-bytes memo for cache keys: XXH3 picks the slot, the stored bytes confirm the hit. */
#include "gateway/cache/memo.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "gateway/http/headers.h"

/* Bodies larger than this are not memoised (their key is built the long way each time). */
#define MEMO_MAX_BODY (256u << 10)

typedef struct memo_slot {
    uint64_t hash;      /* XXH3 of prefix and body */
    unsigned char *raw; /* prefix bytes then body bytes; NULL: slot empty */
    size_t prefix_len, body_len;
    unsigned char base[GW_DIGEST_LEN];
    char *names; /* the dependencies, NUL-separated, in gw_deps_t order */
    size_t ndeps;
} memo_slot_t;

struct gw_ckey_memo {
    size_t mask;
    size_t bytes, max_bytes; /* raw bytes held, and their bound */
    memo_slot_t *slot;
};

gw_ckey_memo_t *gw_ckey_memo_new(unsigned slots_log2, size_t max_bytes)
{
    gw_ckey_memo_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->mask = ((size_t)1 << slots_log2) - 1;
    m->max_bytes = max_bytes;
    m->slot = calloc(m->mask + 1, sizeof(*m->slot));
    if (!m->slot) {
        free(m);
        return NULL;
    }
    return m;
}

static void slot_clear(gw_ckey_memo_t *m, memo_slot_t *s)
{
    if (s->raw) m->bytes -= s->prefix_len + s->body_len;
    free(s->raw);
    free(s->names);
    s->raw = NULL;
    s->names = NULL;
}

void gw_ckey_memo_free(gw_ckey_memo_t *m)
{
    if (!m) return;
    for (size_t i = 0; i <= m->mask; i++)
        slot_clear(m, &m->slot[i]);
    free(m->slot);
    free(m);
}

size_t gw_ckey_memo_bytes(const gw_ckey_memo_t *m)
{
    return m ? m->bytes : 0;
}

/* The request's bytes besides the body that gw_ckey_build reads, length-prefixed so that no
 * two different requests serialise alike. */
typedef struct prefix {
    unsigned char *p;
    size_t len, cap;
    unsigned char inline_buf[1024];
} prefix_t;

static int prefix_put(prefix_t *x, const void *data, size_t len)
{
    size_t need = x->len + sizeof(uint64_t) + len;
    if (need > x->cap) {
        size_t cap = x->cap * 2 > need ? x->cap * 2 : need;
        unsigned char *p = x->p == x->inline_buf ? malloc(cap) : realloc(x->p, cap);
        if (!p) return -1;
        if (x->p == x->inline_buf) memcpy(p, x->inline_buf, x->len);
        x->p = p;
        x->cap = cap;
    }
    uint64_t l = len;
    memcpy(x->p + x->len, &l, sizeof(l));
    if (len) memcpy(x->p + x->len + sizeof(l), data, len);
    x->len = need;
    return 0;
}

static int prefix_header(prefix_t *x, const gw_req_t *r, const char *lower_name)
{
    size_t len = 0;
    const char *v = gw_req_header(r, lower_name, &len);
    return prefix_put(x, v ? "1" : "0", 1) | prefix_put(x, v ? v : "", v ? len : 0);
}

static int prefix_build(prefix_t *x, const gw_req_t *r, int per_credential)
{
    x->p = x->inline_buf;
    x->len = 0;
    x->cap = sizeof(x->inline_buf);
    int rc = prefix_put(x, per_credential ? "c" : "-", 1);
    rc |= prefix_put(x, r->method, r->method_len);
    rc |= prefix_put(x, r->path, r->path_len);
    rc |= prefix_put(x, r->query ? r->query : "", r->query ? r->query_len : 0);
    rc |= prefix_put(x, r->route.collection ? r->route.collection : "", r->route.collection_len);
    for (const char *const *k = gw_ckey_varying_headers(); *k; k++)
        rc |= prefix_header(x, r, *k);
    if (per_credential) {
        rc |= prefix_header(x, r, "api-key");
        rc |= prefix_header(x, r, "authorization");
    }
    if (r->authz) /* auth on: keyed by access scope; the tenant splits scopes */
        rc |= prefix_put(x, "t", 1) |
              prefix_put(x, r->authz->tenant ? r->authz->tenant : "", r->authz->tenant_len);
    return rc ? -1 : 0;
}

static void prefix_dispose(prefix_t *x)
{
    if (x->p != x->inline_buf) free(x->p);
}

static void memo_store(gw_ckey_memo_t *m, memo_slot_t *s, uint64_t hash, const prefix_t *x,
                       const char *body, size_t len, const gw_ckey_t *k)
{
    slot_clear(m, s);
    size_t raw_len = x->len + len;
    if (m->bytes + raw_len > m->max_bytes) return; /* full: the next one takes the long way */
    size_t total = 0;
    for (size_t i = 0; i < k->deps.n; i++)
        total += strlen(k->deps.name[i]) + 1;
    char *names = malloc(total ? total : 1);
    unsigned char *raw = malloc(raw_len ? raw_len : 1);
    if (!names || !raw) {
        free(names);
        free(raw);
        return;
    }
    char *p = names;
    for (size_t i = 0; i < k->deps.n; i++) {
        size_t l = strlen(k->deps.name[i]) + 1;
        memcpy(p, k->deps.name[i], l);
        p += l;
    }
    memcpy(raw, x->p, x->len);
    if (len) memcpy(raw + x->len, body, len);
    s->hash = hash;
    s->raw = raw;
    s->prefix_len = x->len;
    s->body_len = len;
    s->names = names;
    s->ndeps = k->deps.n;
    memcpy(s->base, k->base, GW_DIGEST_LEN);
    m->bytes += raw_len;
}

/* The same request, byte for byte: a hash collision can never hand out another's key. */
static int slot_matches(const memo_slot_t *s, uint64_t hash, const prefix_t *x, const char *body,
                        size_t len)
{
    return s->raw && s->hash == hash && s->prefix_len == x->len && s->body_len == len &&
           memcmp(s->raw, x->p, x->len) == 0 && (!len || memcmp(s->raw + x->len, body, len) == 0);
}

int gw_ckey_fingerprint(const gw_req_t *r, const char *body, size_t len, int per_credential,
                        unsigned char out[16])
{
    prefix_t x;
    if (prefix_build(&x, r, per_credential) != 0) {
        prefix_dispose(&x);
        return -1;
    }
    XXH128_hash_t h = XXH3_128bits_withSeed(body, len, XXH3_64bits(x.p, x.len));
    prefix_dispose(&x);
    memcpy(out, &h.low64, 8);
    memcpy(out + 8, &h.high64, 8);
    return 0;
}

int gw_ckey_build_memo(gw_ckey_memo_t *m, gw_ckey_t *k, const gw_req_t *r, const char *body,
                       size_t len, int per_credential, const char **why)
{
    prefix_t x;
    if (!m || len > MEMO_MAX_BODY || prefix_build(&x, r, per_credential) != 0) {
        if (m && len <= MEMO_MAX_BODY) prefix_dispose(&x);
        return gw_ckey_build(k, r, body, len, per_credential, why);
    }
    uint64_t hash = XXH3_64bits_withSeed(body, len, XXH3_64bits(x.p, x.len));
    memo_slot_t *s = &m->slot[hash & m->mask];
    if (slot_matches(s, hash, &x, body, len)) {
        prefix_dispose(&x);
        memcpy(k->base, s->base, GW_DIGEST_LEN);
        k->deps.n = s->ndeps;
        const char *p = s->names;
        for (size_t i = 0; i < s->ndeps; i++) {
            size_t l = strlen(p) + 1;
            memcpy(k->deps.name[i], p, l);
            p += l;
        }
        return 0;
    }
    int rc = gw_ckey_build(k, r, body, len, per_credential, why);
    if (rc == 0) memo_store(m, s, hash, &x, body, len, k);
    prefix_dispose(&x);
    return rc;
}
