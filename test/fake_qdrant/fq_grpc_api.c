/* fake_qdrant gRPC methods of grpc.health.v1.Health, qdrant.Qdrant and qdrant.Collections, on the
 * REST API's store, with Qdrant's status codes and messages; and the method table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collections_service.pb-c.h"
#include "common/grpc_frame.h"
#include "fq_grpc.h"
#include "fq_handlers.h"
#include "health_check.pb-c.h"

static void health_check(fq_gcall_t *c, const ProtobufCMessage *req)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    fq_greply(c, &r.base);
}

/* HealthCheckReply { string title = 1; string version = 2; optional string commit = 3; } */
void fq_grpc_healthcheck(fq_gcall_t *c)
{
    static const char title[] = "qdrant - vector search engine", version[] = "1.19.0";
    uint8_t msg[2 + sizeof(title) + 2 + sizeof(version)];
    size_t n = 0;
    msg[n++] = 0x0a;
    msg[n++] = sizeof(title) - 1;
    memcpy(msg + n, title, sizeof(title) - 1);
    n += sizeof(title) - 1;
    msg[n++] = 0x12;
    msg[n++] = sizeof(version) - 1;
    memcpy(msg + n, version, sizeof(version) - 1);
    n += sizeof(version) - 1;
    c->out = malloc(GW_GRPC_FRAME_HDR + n);
    if (!c->out) abort();
    gw_grpc_frame_header(c->out, 0, (uint32_t)n);
    memcpy(c->out + GW_GRPC_FRAME_HDR, msg, n);
    c->out_len = GW_GRPC_FRAME_HDR + n;
    c->status = GW_GRPC_OK;
}

static void list_collections(fq_gcall_t *c, const ProtobufCMessage *req)
{
    fq_store_t *s = c->app->store;
    Qdrant__ListCollectionsResponse r = QDRANT__LIST_COLLECTIONS_RESPONSE__INIT;
    r.n_collections = s->ncols;
    r.collections = fq_galloc(c, (s->ncols + 1) * sizeof(*r.collections));
    for (size_t k = 0; k < s->ncols; k++) {
        Qdrant__CollectionDescription *d = fq_galloc(c, sizeof(*d));
        qdrant__collection_description__init(d);
        d->name = s->cols[k]->name;
        r.collections[k] = d;
    }
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static Qdrant__VectorParams *vparams(fq_gcall_t *c, const fq_vparam_t *vp)
{
    Qdrant__VectorParams *p = fq_galloc(c, sizeof(*p));
    qdrant__vector_params__init(p);
    p->size = vp->size;
    p->distance = (Qdrant__Distance)(vp->dist + 1); /* Cosine, Euclid, Dot, Manhattan */
    return p;
}

static void get_collection(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__GetCollectionInfoRequest *q = (const void *)req;
    fq_collection_t *col = fq_store_resolve(c->app->store, q->collection_name);
    if (!col) {
        fq_gnot_found(c, q->collection_name);
        return;
    }
    Qdrant__VectorsConfig *vc = fq_galloc(c, sizeof(*vc));
    qdrant__vectors_config__init(vc);
    if (!col->named && col->nvp == 1) {
        vc->config_case = QDRANT__VECTORS_CONFIG__CONFIG_PARAMS;
        vc->params = vparams(c, &col->vp[0]);
    } else {
        Qdrant__VectorParamsMap *m = fq_galloc(c, sizeof(*m));
        qdrant__vector_params_map__init(m);
        m->n_map = col->nvp;
        m->map = fq_galloc(c, (col->nvp + 1) * sizeof(*m->map));
        for (size_t k = 0; k < col->nvp; k++) {
            Qdrant__VectorParamsMap__MapEntry *e = fq_galloc(c, sizeof(*e));
            qdrant__vector_params_map__map_entry__init(e);
            e->key = col->vp[k].name;
            e->value = vparams(c, &col->vp[k]);
            m->map[k] = e;
        }
        vc->config_case = QDRANT__VECTORS_CONFIG__CONFIG_PARAMS_MAP;
        vc->params_map = m;
    }
    Qdrant__CollectionParams params = QDRANT__COLLECTION_PARAMS__INIT;
    params.shard_number = 1;
    params._vectors_config_case = QDRANT__COLLECTION_PARAMS___VECTORS_CONFIG_VECTORS_CONFIG;
    params.vectors_config = vc;
    params._replication_factor_case =
        QDRANT__COLLECTION_PARAMS___REPLICATION_FACTOR_REPLICATION_FACTOR;
    params.replication_factor = 1;
    Qdrant__HnswConfigDiff hnsw = QDRANT__HNSW_CONFIG_DIFF__INIT;
    Qdrant__OptimizersConfigDiff opt = QDRANT__OPTIMIZERS_CONFIG_DIFF__INIT;
    Qdrant__WalConfigDiff wal = QDRANT__WAL_CONFIG_DIFF__INIT;
    Qdrant__CollectionConfig cfg = QDRANT__COLLECTION_CONFIG__INIT;
    cfg.params = &params;
    cfg.hnsw_config = &hnsw;
    cfg.optimizer_config = &opt;
    cfg.wal_config = &wal;
    Qdrant__OptimizerStatus ost = QDRANT__OPTIMIZER_STATUS__INIT;
    ost.ok = 1;
    Qdrant__CollectionInfo info = QDRANT__COLLECTION_INFO__INIT;
    info.status = QDRANT__COLLECTION_STATUS__Green;
    info.optimizer_status = &ost;
    info.segments_count = 2;
    info.config = &cfg;
    info._points_count_case = QDRANT__COLLECTION_INFO___POINTS_COUNT_POINTS_COUNT;
    info.points_count = col->npts;
    info._indexed_vectors_count_case =
        QDRANT__COLLECTION_INFO___INDEXED_VECTORS_COUNT_INDEXED_VECTORS_COUNT;
    Qdrant__GetCollectionInfoResponse r = QDRANT__GET_COLLECTION_INFO_RESPONSE__INIT;
    r.result = &info;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static void op_reply(fq_gcall_t *c, int result)
{
    Qdrant__CollectionOperationResponse r = QDRANT__COLLECTION_OPERATION_RESPONSE__INIT;
    r.result = result;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static int add_vparam(fq_gcall_t *c, fq_vparam_t *vp, const char *name,
                      const Qdrant__VectorParams *p)
{
    if (p->size < 1 || p->size > 65536)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                        "Validation error in body: [vectors_config.size: value %llu invalid, must "
                        "be from 1 to 65536]",
                        (unsigned long long)p->size);
    if (p->distance < QDRANT__DISTANCE__Cosine || p->distance > QDRANT__DISTANCE__Manhattan)
        return fq_gfail(c, GW_GRPC_INVALID_ARGUMENT, "Unknown distance: %d", (int)p->distance);
    vp->name = strdup(name);
    vp->size = (uint32_t)p->size;
    vp->dist = (fq_dist_t)(p->distance - 1);
    vp->params =
        json_pack("{s:I,s:s}", "size", (json_int_t)p->size, "distance", fq_dist_name(vp->dist));
    return 0;
}

static int create_vectors(fq_gcall_t *c, fq_collection_t *col, const Qdrant__CreateCollection *q)
{
    if (q->_vectors_config_case != QDRANT__CREATE_COLLECTION___VECTORS_CONFIG_VECTORS_CONFIG)
        return 0;
    const Qdrant__VectorsConfig *vc = q->vectors_config;
    if (vc->config_case == QDRANT__VECTORS_CONFIG__CONFIG_PARAMS) {
        col->vp = calloc(1, sizeof(*col->vp));
        col->nvp = 1;
        return add_vparam(c, &col->vp[0], "", vc->params);
    }
    if (vc->config_case != QDRANT__VECTORS_CONFIG__CONFIG_PARAMS_MAP) return 0;
    col->named = 1;
    col->vp = calloc(vc->params_map->n_map + 1, sizeof(*col->vp));
    for (size_t k = 0; k < vc->params_map->n_map; k++) {
        const Qdrant__VectorParamsMap__MapEntry *e = vc->params_map->map[k];
        if (!e->value) continue;
        if (add_vparam(c, &col->vp[col->nvp], e->key, e->value) < 0) return -1;
        col->nvp++;
    }
    return 0;
}

static void create_collection(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__CreateCollection *q = (const void *)req;
    const char *name = q->collection_name;
    fq_store_t *s = c->app->store;
    size_t len = strlen(name);
    if (len < 1 || len > 255) {
        fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                 "Validation error in body: [collection_name: length must be between 1 and 255]");
        return;
    }
    if (fq_store_get(s, name)) {
        fq_gfail(c, GW_GRPC_ALREADY_EXISTS, "Wrong input: Collection `%s` already exists!", name);
        return;
    }
    if (fq_alias_target(s, name)) {
        fq_gfail(c, GW_GRPC_INVALID_ARGUMENT,
                 "Wrong input: Can't create collection with name %s. Alias with the same name "
                 "already exists",
                 name);
        return;
    }
    fq_collection_t *col = fq_col_new(name);
    if (create_vectors(c, col, q) < 0) {
        fq_col_free(col);
        return;
    }
    col->config = fq_default_collection_config();
    fq_store_add(s, col);
    op_reply(c, 1);
}

static void delete_collection(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__DeleteCollection *q = (const void *)req;
    op_reply(c, fq_store_remove(c->app->store, q->collection_name));
}

static void collection_exists(fq_gcall_t *c, const ProtobufCMessage *req)
{
    const Qdrant__CollectionExistsRequest *q = (const void *)req;
    Qdrant__CollectionExists e = QDRANT__COLLECTION_EXISTS__INIT;
    e.exists = fq_store_resolve(c->app->store, q->collection_name) != NULL;
    Qdrant__CollectionExistsResponse r = QDRANT__COLLECTION_EXISTS_RESPONSE__INIT;
    r.result = &e;
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static void list_aliases(fq_gcall_t *c, const ProtobufCMessage *req)
{
    fq_store_t *s = c->app->store;
    Qdrant__ListAliasesResponse r = QDRANT__LIST_ALIASES_RESPONSE__INIT;
    r.aliases = fq_galloc(c, (s->naliases + 1) * sizeof(*r.aliases));
    for (size_t k = 0; k < s->naliases; k++) {
        Qdrant__AliasDescription *d = fq_galloc(c, sizeof(*d));
        qdrant__alias_description__init(d);
        d->alias_name = s->aliases[k].alias;
        d->collection_name = s->aliases[k].collection;
        r.aliases[r.n_aliases++] = d;
    }
    r.time = fq_gelapsed(c);
    fq_greply(c, &r.base);
}

static const fq_gmethod_t methods[] = {
    {"/grpc.health.v1.Health/Check", &grpc__health__v1__health_check_request__descriptor,
     health_check},
    {"/qdrant.Qdrant/HealthCheck", NULL, NULL},
    {"/qdrant.Collections/List", &qdrant__list_collections_request__descriptor, list_collections},
    {"/qdrant.Collections/Get", &qdrant__get_collection_info_request__descriptor, get_collection},
    {"/qdrant.Collections/Create", &qdrant__create_collection__descriptor, create_collection},
    {"/qdrant.Collections/Delete", &qdrant__delete_collection__descriptor, delete_collection},
    {"/qdrant.Collections/CollectionExists", &qdrant__collection_exists_request__descriptor,
     collection_exists},
    {"/qdrant.Collections/ListAliases", &qdrant__list_aliases_request__descriptor, list_aliases},
};

const fq_gmethod_t *fq_grpc_method(const char *path)
{
    for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
        if (strcmp(methods[k].path, path) == 0) return &methods[k];
    for (size_t k = 0; k < fq_grpc_points_nmethods; k++)
        if (strcmp(fq_grpc_points_methods[k].path, path) == 0) return &fq_grpc_points_methods[k];
    return NULL;
}
