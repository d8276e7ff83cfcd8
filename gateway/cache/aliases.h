/* The alias list Qdrant answers to GET /aliases, read for the cache's invalidation (inval.c):
 * {"result":{"aliases":[{"alias_name":"a","collection_name":"c"},...]},...}. */
#ifndef GW_CACHE_ALIASES_H
#define GW_CACHE_ALIASES_H

#include <stddef.h>

typedef struct gw_alias_list {
    size_t n;           /* pairs */
    const char **alias; /* n names each, NUL-terminated, owned by the list */
    const char **coll;
    size_t skipped; /* items without both names as strings, left out */
    void *doc;      /* the parsed body the names point into */
} gw_alias_list_t;

/* 0 with *out filled (free it with gw_alias_list_free), or -1 with err saying why: not JSON,
 * no result.aliases array, out of memory (*out then needs no freeing). */
int gw_alias_list_parse(const char *body, size_t len, gw_alias_list_t *out, char *err,
                        size_t errlen);
void gw_alias_list_free(gw_alias_list_t *l);

#endif
