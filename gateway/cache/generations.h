/* What a collection name means to the cache, process-wide: its generation (bumped by every
 * write that can change what reads of it return) and, for aliases, the collection it points to.
 * Reads key their entries on the generations of every name they depend on, so a bump makes the
 * old entries unreachable; nothing is ever searched for and deleted. Thread-safe. */
#ifndef GW_CACHE_NAMES_H
#define GW_CACHE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define GW_NAME_MAX 256 /* longer names are not cached (Qdrant caps names at 255 bytes) */
#define GW_DEPS_MAX 16

/* A read's dependencies: sorted, unique collection or alias names. */
typedef struct gw_deps {
    size_t n;
    char name[GW_DEPS_MAX][GW_NAME_MAX];
} gw_deps_t;

/* Adds a name (kept sorted and unique). 0, or -1 when it is too long or the set is full. */
int gw_deps_add(gw_deps_t *d, const char *name, size_t len);

typedef struct gw_names gw_names_t;

gw_names_t *gw_names_new(void);
void gw_names_free(gw_names_t *t);

/* Adds the collection each alias in d points to (an alias's reads change when its collection
 * is written), then fills gens[i] for every d->name[i] and *global. 0, or -1 if d is full. */
int gw_names_capture(gw_names_t *t, gw_deps_t *d, uint64_t *gens, uint64_t *global);

/* Bumps `name` and, if it is an alias, its collection. Writes the names bumped to out (up to
 * 2). Returns how many. */
size_t gw_names_bump(gw_names_t *t, const char *name, char out[2][GW_NAME_MAX]);
/* Bumps one name only (an invalidation another replica already expanded). */
void gw_names_bump_one(gw_names_t *t, const char *name);
/* Invalidates everything, and marks the alias map out of date (an alias may have changed). */
void gw_names_bump_all(gw_names_t *t);

/* The alias map's version a reload must reach: take it before fetching the list. */
uint64_t gw_names_alias_epoch(gw_names_t *t);
/* Replaces the alias map with `n` pairs (alias, collection) fetched after `epoch` was taken. */
void gw_names_set_aliases(gw_names_t *t, const char *const *alias, const char *const *coll,
                          size_t n, uint64_t epoch);
/* When `name` is a known alias: copies the collection it points to into out (cap bytes, NUL
 * terminated) and returns 1; else 0. */
int gw_names_alias_target(gw_names_t *t, const char *name, char *out, size_t cap);

/* 1 when the alias map is loaded and no bump_all happened since the fetch that loaded it
 * started. Reads are not cached otherwise: they could name an alias we do not know. */
int gw_names_aliases_loaded(gw_names_t *t);

#endif
