/* Tenant enforcement: a credential bound to a tenant (auth.keys.NAME.tenant, or a JWT's
 * `tenant` claim) sees and changes only the points whose payload field `field` is the string
 * `value`. Every request of such a credential is classified by its route (gw_tenant_policy) and
 * the body of every filter-bearing read and write is rewritten (gw_tenant_rewrite): the
 * condition {"key": field, "match": {"value": value}} joins the `must` of every filter it
 * carries (a request without one gets one), point-id selections become has_id filters with the
 * tenant, upserted payloads must carry the tenant and updates of existing points are bounded by
 * an update_filter. What cannot be checked is refused with a precise message.
 * Pure functions: JSON in, JSON or a refusal out; no I/O, thread-safe. */
#ifndef GW_AUTH_TENANT_H
#define GW_AUTH_TENANT_H

#include <stddef.h>

#define GW_TENANT_FIELD_MAX 64  /* field names: [A-Za-z0-9_-], 1..64 bytes */
#define GW_TENANT_VALUE_MAX 256 /* values: 1..256 bytes of UTF-8 */
#define GW_TENANT_MAX_DEPTH 32  /* filters and prefetches nested deeper are refused */

typedef struct gw_tenant {
    const char *field; /* NUL-terminated */
    const char *value; /* NUL-terminated */
} gw_tenant_t;

/* 0 when field and value are a valid binding, else -1 with the reason in msg. */
int gw_tenant_valid(const char *field, const char *value, char *msg, size_t cap);

typedef enum {
    GW_TENANT_REFUSE = 0, /* refused: its message is in msg */
    GW_TENANT_PASS,       /* nothing of a tenant's in it (collection_exists, ...): as it is */
    GW_TENANT_REWRITE,    /* its body goes through gw_tenant_rewrite */
} gw_tenant_policy_t;

/* What a route (its router op name; NULL for a path the router does not know) means for a
 * tenant-bound credential. REFUSE fills msg with Qdrant's 403 text ("Forbidden: ..."). */
gw_tenant_policy_t gw_tenant_policy(const char *op, const gw_tenant_t *t, char *msg, size_t cap);

/* Rewrites the body (len bytes, "" = {}) of a REWRITE route for tenant t. 0 with *out (malloc,
 * compact JSON, *out_len bytes, NUL-terminated); else the status (400 for a body that is not a
 * JSON object, 403 for one that would escape the tenant or cannot be checked) with the text
 * for Qdrant's error envelope in msg. */
int gw_tenant_rewrite(const char *op, const gw_tenant_t *t, const char *body, size_t len,
                      char **out, size_t *out_len, char *msg, size_t cap);

#endif
