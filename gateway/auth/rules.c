/* Route needs, from Qdrant 1.19's checks: collection meta operations (create, update, delete,
 * aliases, shard keys, cluster setup, snapshot recovery) need global manage; payload indexes,
 * named vectors and snapshots are collection "extras"; the whitelisted probes need nothing;
 * the lists Qdrant filters by access (collections, aliases, telemetry, issues) need a valid
 * credential only (tests/consensus_tests/auth_tests/test_jwt_access.py, ACTION_ACCESS). */
#include "gateway/auth/rules.h"

#include <stdio.h>
#include <string.h>

typedef struct op_need {
    const char *op;
    gw_need_t need;
} op_need_t;

#define OPEN                                                                                       \
    {                                                                                              \
        GW_NEED_OPEN, 0                                                                            \
    }
#define ANY                                                                                        \
    {                                                                                              \
        GW_NEED_ANY, 0                                                                             \
    }
#define G_READ                                                                                     \
    {                                                                                              \
        GW_NEED_GLOBAL, 0                                                                          \
    }
#define G_MANAGE                                                                                   \
    {                                                                                              \
        GW_NEED_GLOBAL, GW_NEED_MANAGE                                                             \
    }
#define C_READ_X                                                                                   \
    {                                                                                              \
        GW_NEED_COLL, GW_NEED_EXTRAS                                                               \
    }
#define C_WRITE                                                                                    \
    {                                                                                              \
        GW_NEED_COLL, GW_NEED_WRITE                                                                \
    }
#define C_WRITE_X                                                                                  \
    {                                                                                              \
        GW_NEED_COLL, GW_NEED_WRITE | GW_NEED_EXTRAS                                               \
    }

/* Routes whose need differs from their class's default (read → read of the collection or
 * global read; write → write of the collection or global manage). */
static const op_need_t exceptions[] = {
    {"root", OPEN},
    {"healthz", OPEN},
    {"livez", OPEN},
    {"readyz", OPEN},
    {"web_ui", OPEN},
    {"get_collections", ANY},
    {"get_collections_aliases", ANY},
    {"telemetry", ANY},
    {"cluster_telemetry", ANY},
    {"get_issues", ANY},
    {"create_collection", G_MANAGE},
    {"delete_collection", G_MANAGE},
    {"update_collection", G_MANAGE},
    {"update_collection_cluster", G_MANAGE},
    {"create_shard_key", G_MANAGE},
    {"delete_shard_key", G_MANAGE},
    {"update_aliases", G_MANAGE},
    {"recover_from_snapshot", G_MANAGE},
    {"recover_from_uploaded_snapshot", G_MANAGE},
    {"recover_shard_from_snapshot", G_MANAGE},
    {"recover_shard_from_uploaded_snapshot", G_MANAGE},
    {"recover_partial_snapshot", G_MANAGE},
    {"recover_partial_snapshot_from", G_MANAGE},
    {"update_cluster_metadata_key", G_MANAGE},
    {"delete_cluster_metadata_key", G_MANAGE},
    {"collection_cluster_info", {GW_NEED_COLL, 0}},
    {"create_field_index", C_WRITE_X},
    {"delete_field_index", C_WRITE_X},
    {"create_vector_name", C_WRITE_X},
    {"delete_vector_name", C_WRITE_X},
    {"create_snapshot", C_WRITE_X},
    {"delete_snapshot", C_WRITE_X},
    {"list_snapshots", C_READ_X},
    {"get_snapshot", C_READ_X},
    {"list_shard_snapshots", C_READ_X},
    {"create_shard_snapshot", C_WRITE},
    {"delete_shard_snapshot", C_WRITE},
    {"stream_shard_snapshot", C_WRITE}, /* a read that Qdrant gives to writers only */
};

gw_need_t gw_need_of_route(const gw_route_t *rt, const char *path, size_t path_len)
{
    gw_need_t n = {GW_NEED_ANY, 0};
    switch (rt->handler) {
    case GW_H_HEALTH:
        return (gw_need_t){GW_NEED_OPEN, 0};
    case GW_H_METRICS:
        return (gw_need_t){GW_NEED_GLOBAL, 0};
    case GW_H_PURGE:
        return (gw_need_t){GW_NEED_GLOBAL, GW_NEED_MANAGE};
    case GW_H_MODELS: {
        static const char pre[] = "/api/v1/models/";
        if (path_len > sizeof(pre) - 1 && memcmp(path, pre, sizeof(pre) - 1) == 0)
            return (gw_need_t){GW_NEED_COLL, 0}; /* a model search: its collection */
        return n;
    }
    case GW_H_API_NOT_FOUND:
        return n;
    case GW_H_GRAPHQL:
        /* Any credential: each field runs as an internal request with the caller's credential,
         * which the gate checks like any other (a refused field is a GraphQL error). */
        return n;
    default:
        break;
    }
    if (!rt->op) return n; /* not a Qdrant route: Qdrant asks for a credential, then 404s */
    for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
        if (strcmp(exceptions[i].op, rt->op) == 0) return exceptions[i].need;
    int write = rt->cls == GW_ROUTE_QDRANT_WRITE;
    if (rt->collection) return (gw_need_t){GW_NEED_COLL, write ? GW_NEED_WRITE : 0};
    return (gw_need_t){GW_NEED_GLOBAL, write ? GW_NEED_MANAGE : 0};
}

static int deny(char *msg, size_t cap, const char *fmt, const char *coll)
{
    snprintf(msg, cap, fmt, coll);
    return 403;
}

static int check_global_mode(gw_global_mode_t g, gw_need_t need, char *msg, size_t cap)
{
    int manage = need.flags & GW_NEED_MANAGE, write = need.flags & GW_NEED_WRITE;
    if (g == GW_GLOBAL_R && (write || manage))
        return deny(msg, cap, "Forbidden: Global manage access is required", "");
    if (g == GW_GLOBAL_W && (manage || (write && need.scope == GW_NEED_GLOBAL)))
        return deny(msg, cap, "Forbidden: Global manage access is required", "");
    return 0;
}

int gw_access_check(const gw_access_t *a, gw_need_t need, const char *coll, char *msg, size_t cap)
{
    if (need.scope == GW_NEED_OPEN || need.scope == GW_NEED_ANY) return 0;
    if (a->global != GW_GLOBAL_LIST) return check_global_mode(a->global, need, msg, cap);
    if (need.scope == GW_NEED_GLOBAL)
        return deny(msg, cap, "Forbidden: Global access is required", "");
    const gw_access_coll_t *c = NULL;
    for (size_t i = 0; i < a->n && !c; i++)
        if (strcmp(a->coll[i].name, coll) == 0) c = &a->coll[i];
    if (!c) return deny(msg, cap, "Forbidden: Access to collection %s is required", coll);
    if ((need.flags & GW_NEED_EXTRAS) && c->mode == GW_COLL_PRW)
        return deny(msg, cap, "Forbidden: Only points access is allowed for collection %s", coll);
    if ((need.flags & GW_NEED_WRITE) && c->mode == GW_COLL_R)
        return deny(msg, cap, "Forbidden: Write access to collection %s is required", coll);
    if (need.flags & GW_NEED_MANAGE)
        return deny(msg, cap, "Forbidden: Manage access for this operation is required", "");
    return 0;
}

const char *gw_need_name(gw_need_t need)
{
    int manage = need.flags & GW_NEED_MANAGE, write = need.flags & GW_NEED_WRITE;
    switch (need.scope) {
    case GW_NEED_OPEN:
        return "open";
    case GW_NEED_ANY:
        return "any";
    case GW_NEED_GLOBAL:
        return manage ? "global_manage" : "global_read";
    case GW_NEED_COLL:
        return manage ? "manage" : write ? "write" : "read";
    }
    return "unknown";
}
