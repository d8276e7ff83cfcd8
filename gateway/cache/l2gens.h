/* The generations Redis holds (gen:NAME), as this process last read them, so that a miss that
 * skips the Redis lookup (l2filter.h) can still store its answer under the right generations.
 * A value is dropped when this process bumps the name or another replica's bump is announced,
 * and everything is dropped on "*" (a global bump) and when announcements may have been lost,
 * so a value here is never older than the last announcement received. A store under a value a
 * bump just overtook is harmless: readers check the generations Redis has. Any thread. */
#ifndef GW_CACHE_L2GENS_H
#define GW_CACHE_L2GENS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_l2gens gw_l2gens_t;

/* Holds at most max names (past that it starts over). NULL on out of memory. */
gw_l2gens_t *gw_l2gens_new(size_t max);
void gw_l2gens_free(gw_l2gens_t *g);

/* name: a collection or alias, or "*" for the global generation. */
void gw_l2gens_set(gw_l2gens_t *g, const char *name, uint64_t value);
/* 1 with *value filled when known, else 0. */
int gw_l2gens_get(gw_l2gens_t *g, const char *name, uint64_t *value);
/* name bumped: forget it ("*": forget everything). */
void gw_l2gens_forget(gw_l2gens_t *g, const char *name);

#endif
