/* Raw-bytes memo for cache keys. */
#include "gateway/cache/memo.h"

#include <stdlib.h>
#include <string.h>

typedef struct memo_slot {
    unsigned char raw[GW_DIGEST_LEN]; /* digest of the raw request */
    unsigned char base[GW_DIGEST_LEN];
    char *names; /* the dependencies, NUL-separated, in gw_deps_t order; NULL: slot empty */
    size_t ndeps;
} memo_slot_t;

struct gw_ckey_memo {
    size_t mask;
    memo_slot_t *slot;
};

gw_ckey_memo_t *gw_ckey_memo_new(unsigned slots_log2)
{
    gw_ckey_memo_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->mask = ((size_t)1 << slots_log2) - 1;
    m->slot = calloc(m->mask + 1, sizeof(*m->slot));
    if (!m->slot) {
        free(m);
        return NULL;
    }
    return m;
}

void gw_ckey_memo_free(gw_ckey_memo_t *m)
{
    if (!m) return;
    for (size_t i = 0; i <= m->mask; i++)
        free(m->slot[i].names);
    free(m->slot);
    free(m);
}

/* Everything gw_ckey_build reads, as it arrived: equal digests give equal keys. */
static int raw_digest(const gw_req_t *r, const char *body, size_t len, int per_credential,
                      unsigned char out[GW_DIGEST_LEN])
{
    gw_digest_t d;
    if (gw_digest_init(&d) != 0) return -1;
    gw_digest_field(&d, "qgw-raw-2", 9);
    gw_digest_u64(&d, (uint64_t)per_credential);
    gw_digest_field(&d, r->method, r->method_len);
    gw_digest_field(&d, r->path, r->path_len);
    gw_digest_field(&d, r->query ? r->query : "", r->query ? r->query_len : 0);
    gw_digest_field(&d, r->route.collection ? r->route.collection : "", r->route.collection_len);
    gw_ckey_digest_varying(&d, r);
    if (per_credential) {
        gw_ckey_digest_header(&d, r, "api-key");
        gw_ckey_digest_header(&d, r, "authorization");
    }
    if (r->authz) { /* auth on: keyed by access scope; the tenant splits scopes */
        gw_digest_u64(&d, 1);
        gw_digest_field(&d, r->authz->tenant ? r->authz->tenant : "", r->authz->tenant_len);
    }
    gw_digest_field(&d, body, len);
    gw_digest_final(&d, out);
    return 0;
}

static void memo_store(memo_slot_t *s, const unsigned char *raw, const gw_ckey_t *k)
{
    size_t total = 0;
    for (size_t i = 0; i < k->deps.n; i++)
        total += strlen(k->deps.name[i]) + 1;
    char *names = malloc(total ? total : 1);
    if (!names) return; /* not memoised: the next one takes the long way again */
    char *p = names;
    for (size_t i = 0; i < k->deps.n; i++) {
        size_t l = strlen(k->deps.name[i]) + 1;
        memcpy(p, k->deps.name[i], l);
        p += l;
    }
    free(s->names);
    s->names = names;
    s->ndeps = k->deps.n;
    memcpy(s->raw, raw, GW_DIGEST_LEN);
    memcpy(s->base, k->base, GW_DIGEST_LEN);
}

int gw_ckey_build_memo(gw_ckey_memo_t *m, gw_ckey_t *k, const gw_req_t *r, const char *body,
                       size_t len, int per_credential, const char **why)
{
    unsigned char raw[GW_DIGEST_LEN];
    if (!m || raw_digest(r, body, len, per_credential, raw) != 0)
        return gw_ckey_build(k, r, body, len, per_credential, why);
    size_t idx;
    memcpy(&idx, raw, sizeof(idx));
    memo_slot_t *s = &m->slot[idx & m->mask];
    if (s->names && memcmp(s->raw, raw, GW_DIGEST_LEN) == 0) {
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
    if (gw_ckey_build(k, r, body, len, per_credential, why) != 0) return -1;
    memo_store(s, raw, k);
    return 0;
}
