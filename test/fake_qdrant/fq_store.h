/* In-memory Qdrant data for fake_qdrant: collections with their vector configs, aliases, and
 * points (id, version, vectors, payload) kept in a hash plus a lazily id-sorted array. */
#ifndef FQ_STORE_H
#define FQ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

typedef enum { FQ_DIST_COSINE, FQ_DIST_EUCLID, FQ_DIST_DOT, FQ_DIST_MANHATTAN } fq_dist_t;

/* A point id: unsigned integer, or UUID (ordered after all integers, like Qdrant). */
typedef struct {
    int is_uuid;
    uint64_t num;
    unsigned char uuid[16];
} fq_pid_t;

typedef struct {
    char *name; /* "" for the default (unnamed) vector */
    uint32_t size;
    fq_dist_t dist;
    json_t *params; /* VectorParams as reported by GET collection */
} fq_vparam_t;

typedef struct fq_point {
    fq_pid_t id;
    uint64_t version;
    size_t idx;      /* position in the collection's array */
    float **vec;     /* one slot per vector param; NULL when the point lacks that vector */
    json_t *payload; /* always an object */
} fq_point_t;

typedef struct {
    char *name;
    char *creation_time;
    uint64_t size;
    char checksum[65];
} fq_snapshot_t;

/* The snapshots of one scope: a collection, its shard, or the whole storage. */
typedef struct {
    fq_snapshot_t *v;
    size_t n;
} fq_snaplist_t;

void fq_snaplist_add(fq_snaplist_t *l, fq_snapshot_t s);
/* Index of the snapshot called name, or -1. */
int fq_snaplist_find(const fq_snaplist_t *l, const char *name);
void fq_snaplist_remove(fq_snaplist_t *l, size_t idx);
void fq_snaplist_clear(fq_snaplist_t *l);

typedef struct fq_collection {
    char *name;
    int named; /* vectors were configured as a name → params map */
    fq_vparam_t *vp;
    size_t nvp;
    json_t *config;         /* CollectionConfig as reported (params rebuilt on output) */
    json_t *payload_schema; /* field → {"data_type":…, "params"?} */
    fq_point_t **pts;
    size_t npts, cappts;
    int sorted;
    fq_point_t **tab; /* open addressing, power-of-two size */
    size_t tabcap;
    uint64_t next_op;
    fq_snaplist_t snaps;          /* collection snapshots */
    fq_snaplist_t shard_snaps;    /* snapshots of its one local shard (shard 0) */
    json_t *shard_keys;           /* custom sharding: array of ShardKey values, in creation order */
    void *pending;                /* queue of deferred writes (fq_async.c), NULL when none */
    void (*pending_free)(void *); /* drops it: called by fq_col_free */
} fq_collection_t;

typedef struct {
    char *alias;
    char *collection;
} fq_alias_t;

typedef struct {
    fq_collection_t **cols;
    size_t ncols;
    fq_alias_t *aliases;
    size_t naliases;
    fq_snaplist_t full_snaps; /* storage ("full") snapshots */
    json_t *quotas;           /* QuotaConfig as last set by PUT /quotas */
} fq_store_t;

fq_store_t *fq_store_new(void);
void fq_store_free(fq_store_t *s);
void fq_store_clear(fq_store_t *s);

fq_collection_t *fq_store_get(fq_store_t *s, const char *name);
/* Collection by name, or by alias name (Qdrant resolves aliases on every collection route). */
fq_collection_t *fq_store_resolve(fq_store_t *s, const char *name);
void fq_store_add(fq_store_t *s, fq_collection_t *c);
/* Removes the collection and every alias pointing to it; 1 if it existed. */
int fq_store_remove(fq_store_t *s, const char *name);

const char *fq_alias_target(fq_store_t *s, const char *alias);
void fq_alias_set(fq_store_t *s, const char *alias, const char *collection);
int fq_alias_delete(fq_store_t *s, const char *alias);

fq_collection_t *fq_col_new(const char *name);
void fq_col_free(fq_collection_t *c);
/* Index of the vector called name ("" or NULL = default); -1 when unknown. */
int fq_col_vslot(const fq_collection_t *c, const char *name);
fq_point_t *fq_col_find(fq_collection_t *c, const fq_pid_t *id);
/* Existing point, or a new empty one. NULL on allocation failure. */
fq_point_t *fq_col_upsert(fq_collection_t *c, const fq_pid_t *id);
int fq_col_delete(fq_collection_t *c, const fq_pid_t *id);
/* The points sorted by id (stable until the next insert/delete). */
fq_point_t **fq_col_sorted(fq_collection_t *c);
/* Stores v (size floats) into slot, normalising it for Cosine like Qdrant. */
void fq_point_set_vec(fq_collection_t *c, fq_point_t *p, int slot, const float *v);
void fq_point_clear_vecs(fq_collection_t *c, fq_point_t *p);
/* Adds a vector slot (vp is taken) to the collection and to every point (empty there). */
void fq_col_add_vector(fq_collection_t *c, fq_vparam_t vp);
/* Drops vector slot and its data from every point. */
void fq_col_drop_vector(fq_collection_t *c, int slot);

int fq_pid_cmp(const fq_pid_t *a, const fq_pid_t *b);
/* JSON id → pid: unsigned integer or UUID string. 0 ok, -1 invalid. */
int fq_pid_from_json(const json_t *v, fq_pid_t *out);
/* Path text → pid (u64 digits or any UUID form). */
int fq_pid_from_str(const char *s, fq_pid_t *out);
json_t *fq_pid_to_json(const fq_pid_t *id);
void fq_pid_fmt(const fq_pid_t *id, char *buf, size_t len);

const char *fq_dist_name(fq_dist_t d);
int fq_dist_parse(const char *s, fq_dist_t *out);

#endif
