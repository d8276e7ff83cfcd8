/* What makes two reads the same read: the cache key. Pure functions over a request and its
 * body, no state, so that they can be unit-tested on their own.
 *
 * The key covers: method, path (with '/' runs merged and trailing '/' dropped, as Qdrant routes
 * it), the query string without `timeout` and with its parameters sorted, the canonical JSON
 * body, the client's credentials (unless entries are shared across keys), Content-Type,
 * Accept-Encoding, and the CORS request headers (Origin, Access-Control-Request-*). The collection
 * generations are added separately (gw_ckey_l1) because they change while the rest does not. */
#ifndef GW_CACHE_KEY_H
#define GW_CACHE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "gateway/cache/generations.h"
#include "gateway/http/request.h"

/* Route classes with their own switch and TTL (cache.search.*, cache.points.*). */
typedef enum { GW_CCLASS_SEARCH = 0, GW_CCLASS_POINTS, GW_CCLASS_COUNT } gw_cclass_t;

/* The class of a cacheable read, or -1 when the route is never cached. */
int gw_ckey_class(const gw_route_t *rt);
const char *gw_ckey_class_name(int cls);

typedef struct gw_ckey {
    unsigned char base[GW_DIGEST_LEN]; /* the read without generations: the shared (L2) key */
    gw_deps_t deps; /* the path collection plus lookup_from / with_lookup collections */
} gw_ckey_t;

/* Builds the key of a cacheable read from the request and its whole body. 0, or -1 with *why
 * set to a short reason ("body is not valid JSON") when it must not be cached. */
int gw_ckey_build(gw_ckey_t *k, const gw_req_t *r, const char *body, size_t len, int per_credential,
                  const char **why);

/* Feeds whether request header `lower_name` is present, and its value, into d. */
void gw_ckey_digest_header(gw_digest_t *d, const gw_req_t *r, const char *lower_name);

/* The local (L1) key: base combined with the generation of every dependency and the global one,
 * as base XOR SHA-256(global, gens...). base already fixes the dependencies (it covers the path
 * and body they come from), so equal keys need equal bases and equal generations unless two
 * SHA-256 outputs collide; the generations' digest is memoised per thread (it changes only on
 * writes). 0, or -1 (out of memory): do not cache. */
int gw_ckey_l1(const gw_ckey_t *k, const uint64_t *gens, uint64_t global,
               unsigned char out[GW_DIGEST_LEN]);

/* Request Cache-Control directives the cache honours. */
enum { GW_CC_NO_CACHE = 1, GW_CC_NO_STORE = 2 };
unsigned gw_ckey_cache_control(const gw_req_t *r);

/* Feeds the request headers every key covers (gw_ckey_vary_keyed) into d. */
void gw_ckey_digest_varying(gw_digest_t *d, const gw_req_t *r);
/* The lower-case names gw_ckey_digest_varying digests, NULL-terminated. */
const char *const *gw_ckey_varying_headers(void);
/* True when the request header `name` is part of every key, so an answer whose Vary names it
 * may be stored (Accept-Encoding, Content-Type, Origin, Access-Control-Request-*). */
int gw_ckey_vary_keyed(const char *name, size_t len);

/* The query string the key uses: `timeout` removed, parameters sorted, joined by '&'. Writes at
 * most cap bytes; returns the length, or -1 if it does not fit. */
long gw_ckey_norm_query(const char *q, size_t len, char *out, size_t cap);

#endif
