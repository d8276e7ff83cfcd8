/* What access a route needs, and whether an access grant meets it, with Qdrant's own 403
 * texts (lib/storage/src/rbac/mod.rs). Pure functions over the router's classification. */
#ifndef GW_AUTH_RULES_H
#define GW_AUTH_RULES_H

#include <stddef.h>

#include "gateway/auth/jwt.h"
#include "gateway/http/router.h"

typedef enum {
    GW_NEED_OPEN = 0, /* no credential needed: /, /healthz, /livez, /readyz, /api/v1/health */
    GW_NEED_ANY,      /* any valid credential (lists Qdrant filters itself, unknown paths) */
    GW_NEED_GLOBAL,   /* access not limited to collections */
    GW_NEED_COLL,     /* access to the route's collection */
} gw_need_scope_t;

enum { GW_NEED_WRITE = 1, GW_NEED_MANAGE = 2, GW_NEED_EXTRAS = 4 };

typedef struct gw_need {
    gw_need_scope_t scope;
    unsigned flags;
} gw_need_t;

/* The need of a classified route (gw_route_classify). Model API searches are GW_NEED_COLL on
 * the model's collection: the caller finds that collection. */
gw_need_t gw_need_of_route(const gw_route_t *rt, const char *path, size_t path_len);

/* 0 when `a` meets `need` on `coll` (NUL-terminated; ignored unless GW_NEED_COLL), else 403
 * with Qdrant's message ("Forbidden: Global access is required", ...) in msg. */
int gw_access_check(const gw_access_t *a, gw_need_t need, const char *coll, char *msg, size_t cap);

/* "open", "any", "global_read", "global_manage", "read", "write", "manage": for logs, tests. */
const char *gw_need_name(gw_need_t need);

#endif
