/* Known Redis generations: a small open-addressing table under one lock; see l2gens.h. */
#include "gateway/cache/l2gens.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct gen_slot {
    char *name; /* NULL: empty */
    uint64_t value;
} gen_slot_t;

struct gw_l2gens {
    pthread_mutex_t lock;
    size_t cap, n, max; /* cap: a power of two, at least twice max */
    gen_slot_t *slot;
};

gw_l2gens_t *gw_l2gens_new(size_t max)
{
    gw_l2gens_t *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->max = max ? max : 1;
    g->cap = 4;
    while (g->cap < 2 * g->max)
        g->cap *= 2;
    g->slot = calloc(g->cap, sizeof(*g->slot));
    if (!g->slot) {
        free(g);
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

static void clear_all(gw_l2gens_t *g)
{
    for (size_t i = 0; i < g->cap; i++) {
        free(g->slot[i].name);
        g->slot[i].name = NULL;
    }
    g->n = 0;
}

void gw_l2gens_free(gw_l2gens_t *g)
{
    if (!g) return;
    clear_all(g);
    free(g->slot);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* The slot holding name, or the empty one where it would go. */
static gen_slot_t *find(gw_l2gens_t *g, const char *name)
{
    size_t i = (size_t)XXH3_64bits(name, strlen(name)) & (g->cap - 1);
    while (g->slot[i].name && strcmp(g->slot[i].name, name) != 0)
        i = (i + 1) & (g->cap - 1);
    return &g->slot[i];
}

void gw_l2gens_set(gw_l2gens_t *g, const char *name, uint64_t value)
{
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    gen_slot_t *s = find(g, name);
    if (!s->name) {
        if (g->n >= g->max) {
            clear_all(g);
            s = find(g, name);
        }
        s->name = strdup(name);
        if (s->name) g->n++;
    }
    if (s->name) s->value = value;
    pthread_mutex_unlock(&g->lock);
}

int gw_l2gens_get(gw_l2gens_t *g, const char *name, uint64_t *value)
{
    if (!g) return 0;
    pthread_mutex_lock(&g->lock);
    gen_slot_t *s = find(g, name);
    int known = s->name != NULL;
    if (known) *value = s->value;
    pthread_mutex_unlock(&g->lock);
    return known;
}

void gw_l2gens_forget(gw_l2gens_t *g, const char *name)
{
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    if (strcmp(name, "*") == 0) {
        clear_all(g);
    } else {
        gen_slot_t *s = find(g, name);
        if (s->name) {
            /* Open addressing: re-place the run after the hole rather than leave a gap. */
            free(s->name);
            s->name = NULL;
            g->n--;
            size_t i = (size_t)(s - g->slot);
            for (size_t j = (i + 1) & (g->cap - 1); g->slot[j].name; j = (j + 1) & (g->cap - 1)) {
                gen_slot_t moved = g->slot[j];
                g->slot[j].name = NULL;
                *find(g, moved.name) = moved;
            }
        }
    }
    pthread_mutex_unlock(&g->lock);
}
