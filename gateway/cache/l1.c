/* L1: sharded hash tables with intrusive LRU lists and byte accounting. */
#include "gateway/cache/l1.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define L1_SHARDS      16
#define L1_MIN_BUCKETS 64
#define L1_ENTRY_EXTRA 64 /* allocator and table overhead per entry, roughly */

typedef struct l1_shard {
    pthread_mutex_t lock;
    gw_centry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t n;
    size_t bytes, max_bytes;
    uint64_t evictions;
    gw_centry_t lru; /* sentinel: lru.lru_next is the most recent */
} l1_shard_t;

struct gw_l1 {
    size_t max_bytes;
    l1_shard_t shards[L1_SHARDS];
};

gw_centry_t *gw_centry_new(const unsigned char key[GW_DIGEST_LEN], int status, const void *hdrs,
                           size_t hdrs_len, const void *body, size_t body_len, uint64_t created_us,
                           uint64_t ttl_us, uint64_t stale_us)
{
    gw_centry_t *e = malloc(sizeof(*e) + hdrs_len + body_len + 1);
    if (!e) return NULL;
    memset(e, 0, sizeof(*e));
    char *p = (char *)(e + 1);
    memcpy(e->key, key, GW_DIGEST_LEN);
    atomic_init(&e->refs, 1);
    e->status = status;
    e->created_us = created_us;
    e->expires_us = created_us + ttl_us;
    e->stale_until_us = e->expires_us + stale_us;
    if (hdrs_len) memcpy(p, hdrs, hdrs_len);
    e->hdrs = p;
    e->hdrs_len = hdrs_len;
    if (body_len) memcpy(p + hdrs_len, body, body_len);
    p[hdrs_len + body_len] = '\0';
    e->body = p + hdrs_len;
    e->body_len = body_len;
    e->charge = sizeof(*e) + hdrs_len + body_len + L1_ENTRY_EXTRA;
    return e;
}

gw_centry_t *gw_centry_ref(gw_centry_t *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

void gw_centry_unref(gw_centry_t *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) free(e);
}

/* ---- one shard (caller holds the lock) ----------------------------------------------------- */

static size_t l1_bucket(const l1_shard_t *s, const unsigned char *key)
{
    uint64_t h;
    memcpy(&h, key + 8, sizeof(h)); /* key[0] picked the shard; any other bytes are uniform */
    return (size_t)h & (s->nbuckets - 1);
}

static void lru_unlink(gw_centry_t *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(l1_shard_t *s, gw_centry_t *e)
{
    e->lru_next = s->lru.lru_next;
    e->lru_prev = &s->lru;
    s->lru.lru_next->lru_prev = e;
    s->lru.lru_next = e;
}

/* Unlinks e from the table (via its slot) and the LRU list, and drops the shard's reference. */
static void shard_remove(l1_shard_t *s, gw_centry_t **slot)
{
    gw_centry_t *e = *slot;
    *slot = e->hnext;
    lru_unlink(e);
    s->n--;
    s->bytes -= e->charge;
    gw_centry_unref(e);
}

static gw_centry_t **shard_find(l1_shard_t *s, const unsigned char *key)
{
    gw_centry_t **slot = &s->buckets[l1_bucket(s, key)];
    while (*slot && memcmp((*slot)->key, key, GW_DIGEST_LEN) != 0)
        slot = &(*slot)->hnext;
    return slot;
}

static void shard_grow(l1_shard_t *s)
{
    size_t nb = s->nbuckets * 2;
    gw_centry_t **b = calloc(nb, sizeof(*b));
    if (!b) return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        gw_centry_t *e = s->buckets[i];
        while (e) {
            gw_centry_t *next = e->hnext;
            uint64_t h;
            memcpy(&h, e->key + 8, sizeof(h));
            size_t j = (size_t)h & (nb - 1);
            e->hnext = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

static void shard_evict_to(l1_shard_t *s, size_t budget)
{
    while (s->bytes > budget && s->lru.lru_prev != &s->lru) {
        gw_centry_t *victim = s->lru.lru_prev;
        shard_remove(s, shard_find(s, victim->key));
        s->evictions++;
    }
}

/* ---- public ------------------------------------------------------------------------------- */

gw_l1_t *gw_l1_new(size_t max_bytes)
{
    gw_l1_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->max_bytes = max_bytes;
    for (int i = 0; i < L1_SHARDS; i++) {
        l1_shard_t *s = &c->shards[i];
        pthread_mutex_init(&s->lock, NULL);
        s->nbuckets = L1_MIN_BUCKETS;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        s->max_bytes = max_bytes / L1_SHARDS;
        s->lru.lru_next = s->lru.lru_prev = &s->lru;
        if (!s->buckets) {
            gw_l1_free(c);
            return NULL;
        }
    }
    return c;
}

void gw_l1_free(gw_l1_t *c)
{
    if (!c) return;
    gw_l1_clear(c);
    for (int i = 0; i < L1_SHARDS; i++) {
        free(c->shards[i].buckets);
        pthread_mutex_destroy(&c->shards[i].lock);
    }
    free(c);
}

gw_centry_t *gw_l1_get(gw_l1_t *c, const unsigned char key[GW_DIGEST_LEN], uint64_t now_us)
{
    l1_shard_t *s = &c->shards[key[0] % L1_SHARDS];
    gw_centry_t *found = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->buckets) {
        gw_centry_t **slot = shard_find(s, key);
        gw_centry_t *e = *slot;
        if (e && now_us >= e->stale_until_us) {
            shard_remove(s, slot);
        } else if (e) {
            lru_unlink(e);
            lru_push_front(s, e);
            found = gw_centry_ref(e);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

int gw_l1_put(gw_l1_t *c, gw_centry_t *e)
{
    l1_shard_t *s = &c->shards[e->key[0] % L1_SHARDS];
    if (e->charge > s->max_bytes) return 0;
    pthread_mutex_lock(&s->lock);
    gw_centry_t **slot = shard_find(s, e->key);
    if (*slot) shard_remove(s, slot);
    shard_evict_to(s, s->max_bytes - e->charge);
    if (s->n >= s->nbuckets) shard_grow(s);
    size_t b = l1_bucket(s, e->key);
    e->hnext = s->buckets[b];
    s->buckets[b] = gw_centry_ref(e);
    lru_push_front(s, e);
    s->n++;
    s->bytes += e->charge;
    pthread_mutex_unlock(&s->lock);
    return 1;
}

void gw_l1_clear(gw_l1_t *c)
{
    for (int i = 0; i < L1_SHARDS; i++) {
        l1_shard_t *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        while (s->lru.lru_next != &s->lru)
            shard_remove(s, shard_find(s, s->lru.lru_next->key));
        pthread_mutex_unlock(&s->lock);
    }
}

void gw_l1_get_stats(gw_l1_t *c, gw_l1_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->max_bytes = c->max_bytes;
    for (int i = 0; i < L1_SHARDS; i++) {
        l1_shard_t *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->n;
        out->bytes += s->bytes;
        out->evictions += s->evictions;
        pthread_mutex_unlock(&s->lock);
    }
}
