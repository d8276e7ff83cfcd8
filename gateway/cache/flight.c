/* Coalescing: identical concurrent misses, on any worker, wait for one upstream request.
 * A process-wide table of flights keyed by the L1 key, sharded by lock; waiters are handed back
 * to their own worker's mailbox when the leader lands. */
#include <stdlib.h>
#include <string.h>

#include "gateway/cache/internal.h"

#define FL_SHARDS  16
#define FL_BUCKETS 64

typedef struct flight {
    struct flight *next;
    unsigned char key[GW_DIGEST_LEN];
    creq_t *waiters;
} flight_t;

typedef struct fl_shard {
    pthread_mutex_t lock;
    flight_t *buckets[FL_BUCKETS];
} fl_shard_t;

struct gw_flights {
    fl_shard_t shards[FL_SHARDS];
    cache_post_cb post; /* hands a released waiter back to its worker */
};

static fl_shard_t *fl_shard(gw_flights_t *f, const unsigned char *key)
{
    return &f->shards[key[1] % FL_SHARDS];
}

static flight_t **fl_slot(fl_shard_t *s, const unsigned char *key)
{
    flight_t **slot = &s->buckets[key[2] % FL_BUCKETS];
    while (*slot && memcmp((*slot)->key, key, GW_DIGEST_LEN) != 0)
        slot = &(*slot)->next;
    return slot;
}

gw_flights_t *flights_new(cache_post_cb post)
{
    gw_flights_t *f = calloc(1, sizeof(*f));
    if (f) f->post = post;
    if (f)
        for (int i = 0; i < FL_SHARDS; i++)
            pthread_mutex_init(&f->shards[i].lock, NULL);
    return f;
}

void flights_free(gw_flights_t *f)
{
    if (!f) return;
    for (int i = 0; i < FL_SHARDS; i++) {
        /* Workers are gone: their waiters were freed with their connections. */
        for (int b = 0; b < FL_BUCKETS; b++) {
            flight_t *fl = f->shards[i].buckets[b];
            while (fl) {
                flight_t *next = fl->next;
                free(fl);
                fl = next;
            }
        }
        pthread_mutex_destroy(&f->shards[i].lock);
    }
    free(f);
}

int flight_join(gw_flights_t *f, creq_t *cr)
{
    fl_shard_t *s = fl_shard(f, cr->l1key);
    pthread_mutex_lock(&s->lock);
    flight_t **slot = fl_slot(s, cr->l1key);
    if (*slot) {
        cr->wstate = CR_WAITING;
        cr->wnext = (*slot)->waiters;
        (*slot)->waiters = cr;
        cr->flight = *slot;
        pthread_mutex_unlock(&s->lock);
        return 1;
    }
    flight_t *fl = calloc(1, sizeof(*fl));
    if (fl) { /* out of memory: lead without a flight, nobody can join */
        memcpy(fl->key, cr->l1key, GW_DIGEST_LEN);
        *slot = fl;
        cr->leader = 1;
        cr->flight = fl;
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void flight_land(gw_flights_t *f, creq_t *leader, gw_centry_t *e)
{
    if (!leader->leader) return;
    leader->leader = 0;
    fl_shard_t *s = fl_shard(f, leader->l1key);
    pthread_mutex_lock(&s->lock);
    flight_t **slot = fl_slot(s, leader->l1key);
    flight_t *fl = *slot;
    if (fl != leader->flight) {
        fl = NULL; /* cannot happen: a flight is removed only by its leader */
    } else {
        *slot = fl->next;
        /* Posted under the lock: a waiter whose client leaves sees either WAITING (and takes
         * itself out) or POSTED with the post complete, never a post still on its way. */
        creq_t *w = fl->waiters;
        while (w) {
            creq_t *next = w->wnext; /* post reuses wnext; w may be freed right after */
            w->wstate = CR_POSTED;
            w->found = e ? gw_centry_ref(e) : NULL;
            w->flight = NULL;
            f->post(w);
            w = next;
        }
    }
    pthread_mutex_unlock(&s->lock);
    leader->flight = NULL;
    free(fl);
}

int flight_leave(gw_flights_t *f, creq_t *cr)
{
    fl_shard_t *s = fl_shard(f, cr->l1key);
    int removed = 0;
    pthread_mutex_lock(&s->lock);
    if (cr->wstate == CR_WAITING) {
        flight_t *fl = cr->flight;
        creq_t **p = &fl->waiters;
        while (*p && *p != cr)
            p = &(*p)->wnext;
        if (*p) *p = cr->wnext;
        cr->wstate = CR_ALONE;
        cr->flight = NULL;
        removed = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return removed;
}
