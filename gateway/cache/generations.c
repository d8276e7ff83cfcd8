/* Generations and aliases in one small hash table behind a read-write lock: reads (every cached
 * request) share it, bumps (writes) and alias reloads take it exclusively. */
#include "gateway/cache/generations.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_BUCKETS 256

typedef struct name_ent {
    struct name_ent *next;
    uint64_t gen;
    char *alias_of; /* the collection this alias points to, or NULL */
    char name[];
} name_ent_t;

struct gw_names {
    pthread_rwlock_t lock;
    uint64_t global;
    uint64_t alias_want;   /* bumped by bump_all: the alias map may be out of date */
    uint64_t alias_loaded; /* alias_want when the loaded map's fetch started, + 1 */
    name_ent_t *buckets[NAMES_BUCKETS];
};

int gw_deps_add(gw_deps_t *d, const char *name, size_t len)
{
    if (len >= GW_NAME_MAX) return -1;
    size_t i = 0;
    for (; i < d->n; i++) {
        int c = strncmp(d->name[i], name, len);
        if (c == 0 && d->name[i][len] == '\0') return 0; /* already there */
        if (c > 0 || (c == 0 && d->name[i][len] != '\0')) break;
    }
    if (d->n == GW_DEPS_MAX) return -1;
    memmove(d->name[i + 1], d->name[i], (d->n - i) * GW_NAME_MAX);
    memcpy(d->name[i], name, len);
    d->name[i][len] = '\0';
    d->n++;
    return 0;
}

static unsigned names_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NAMES_BUCKETS;
}

static name_ent_t *names_find(gw_names_t *t, const char *name)
{
    name_ent_t *e = t->buckets[names_hash(name)];
    while (e && strcmp(e->name, name) != 0)
        e = e->next;
    return e;
}

/* Caller holds the write lock. NULL on OOM. */
static name_ent_t *names_get(gw_names_t *t, const char *name)
{
    name_ent_t *e = names_find(t, name);
    if (e) return e;
    size_t len = strlen(name);
    e = calloc(1, sizeof(*e) + len + 1);
    if (!e) return NULL;
    memcpy(e->name, name, len + 1);
    unsigned b = names_hash(name);
    e->next = t->buckets[b];
    t->buckets[b] = e;
    return e;
}

gw_names_t *gw_names_new(void)
{
    gw_names_t *t = calloc(1, sizeof(*t));
    if (t) pthread_rwlock_init(&t->lock, NULL);
    return t;
}

void gw_names_free(gw_names_t *t)
{
    if (!t) return;
    for (int i = 0; i < NAMES_BUCKETS; i++) {
        name_ent_t *e = t->buckets[i];
        while (e) {
            name_ent_t *next = e->next;
            free(e->alias_of);
            free(e);
            e = next;
        }
    }
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

int gw_names_capture(gw_names_t *t, gw_deps_t *d, uint64_t *gens, uint64_t *global)
{
    int rc = 0;
    pthread_rwlock_rdlock(&t->lock);
    size_t n = d->n;
    for (size_t i = 0; i < n && rc == 0; i++) {
        name_ent_t *e = names_find(t, d->name[i]);
        if (e && e->alias_of) rc = gw_deps_add(d, e->alias_of, strlen(e->alias_of));
    }
    for (size_t i = 0; i < d->n; i++) {
        name_ent_t *e = names_find(t, d->name[i]);
        gens[i] = e ? e->gen : 0;
    }
    *global = t->global;
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

size_t gw_names_bump(gw_names_t *t, const char *name, char out[2][GW_NAME_MAX])
{
    size_t n = 0;
    pthread_rwlock_wrlock(&t->lock);
    name_ent_t *e = names_get(t, name);
    if (!e) {
        t->global++; /* cannot track the name: invalidate everything rather than serve stale */
    } else {
        e->gen++;
        snprintf(out[n++], GW_NAME_MAX, "%s", name);
        if (e->alias_of) {
            name_ent_t *target = names_get(t, e->alias_of);
            if (target)
                target->gen++;
            else
                t->global++;
            snprintf(out[n++], GW_NAME_MAX, "%s", e->alias_of);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return n;
}

void gw_names_bump_one(gw_names_t *t, const char *name)
{
    pthread_rwlock_wrlock(&t->lock);
    name_ent_t *e = names_get(t, name);
    if (e)
        e->gen++;
    else
        t->global++;
    pthread_rwlock_unlock(&t->lock);
}

void gw_names_bump_all(gw_names_t *t)
{
    pthread_rwlock_wrlock(&t->lock);
    t->global++;
    t->alias_want++;
    pthread_rwlock_unlock(&t->lock);
}

uint64_t gw_names_alias_epoch(gw_names_t *t)
{
    pthread_rwlock_rdlock(&t->lock);
    uint64_t v = t->alias_want;
    pthread_rwlock_unlock(&t->lock);
    return v;
}

void gw_names_set_aliases(gw_names_t *t, const char *const *alias, const char *const *coll,
                          size_t n, uint64_t epoch)
{
    pthread_rwlock_wrlock(&t->lock);
    for (int i = 0; i < NAMES_BUCKETS; i++)
        for (name_ent_t *e = t->buckets[i]; e; e = e->next) {
            free(e->alias_of);
            e->alias_of = NULL;
        }
    for (size_t i = 0; i < n; i++) {
        name_ent_t *e = names_get(t, alias[i]);
        if (e) {
            free(e->alias_of); /* an alias listed twice: the last one counts */
            e->alias_of = strdup(coll[i]);
        }
        if (!e || !e->alias_of) t->global++; /* out of memory: do not trust what is cached */
    }
    if (epoch + 1 > t->alias_loaded) t->alias_loaded = epoch + 1;
    pthread_rwlock_unlock(&t->lock);
}

int gw_names_alias_target(gw_names_t *t, const char *name, char *out, size_t cap)
{
    int found = 0;
    pthread_rwlock_rdlock(&t->lock);
    name_ent_t *e = names_find(t, name);
    if (e && e->alias_of && strlen(e->alias_of) < cap) {
        memcpy(out, e->alias_of, strlen(e->alias_of) + 1);
        found = 1;
    }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

int gw_names_aliases_loaded(gw_names_t *t)
{
    pthread_rwlock_rdlock(&t->lock);
    int v = t->alias_loaded > t->alias_want;
    pthread_rwlock_unlock(&t->lock);
    return v;
}
