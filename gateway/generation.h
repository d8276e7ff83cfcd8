/* A generation: everything one configuration runs with (its shared state, cache, metrics
 * scrape, TLS context and worker threads). Startup builds the first; each SIGHUP builds the
 * next beside it and retires the one before, whose workers finish their connections on their
 * own settings. Main thread only, except where a worker is told something. */
#ifndef GW_GENERATION_H
#define GW_GENERATION_H

#include <stddef.h>

#include "gateway/core/config.h"
#include "gateway/core/proc.h"

typedef struct gw_generation gw_generation_t;

/* Builds the generation for cfg (taking ownership of it, also on failure) with every listener
 * bound, ready to start. prev: the generation it replaces, or NULL at startup; its listening
 * sockets on unchanged addresses are taken over and its cache tier kept when compatible (see
 * gw_cache_shared_inherit). NULL with err filled: nothing of prev was touched. */
gw_generation_t *gw_generation_new(gw_config_t *cfg, gw_generation_t *prev, gw_life_t *life,
                                   char *err, size_t errlen);
/* Starts the worker threads (with SIGTERM, SIGINT and SIGHUP blocked in them). 0 / -1 with err
 * filled, the threads started so far stopped. */
int gw_generation_start(gw_generation_t *g, char *err, size_t errlen);
/* Replaced by a reload: workers stop accepting and finish what they serve (gw_worker_retire). */
void gw_generation_retire(gw_generation_t *g);
/* Shutting down: workers drain (gw_worker_stop). */
void gw_generation_stop(gw_generation_t *g);
/* 1 once every worker thread's loop has returned. */
int gw_generation_finished(const gw_generation_t *g);
/* Joins the workers (waiting for their drain) and frees everything. NULL is fine. */
void gw_generation_free(gw_generation_t *g);

/* A reload that failed after gw_generation_new: g gives prev back what it took over (the cache
 * tier), then is freed. */
void gw_generation_abandon(gw_generation_t *g, gw_generation_t *prev);

const gw_config_t *gw_generation_config(const gw_generation_t *g);
/* 1 for the configuration read at startup, one more per reload. */
unsigned gw_generation_number(const gw_generation_t *g);
/* 1 when the cache's in-process tier came from the generation before. */
int gw_generation_kept_cache(const gw_generation_t *g);

#endif
