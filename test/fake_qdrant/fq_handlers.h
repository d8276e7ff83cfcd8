/* Route handlers of fake_qdrant, one family per source file; each answers exactly once through
 * the reply helpers of fq_app.h. The route table in fq_router.c wires them to method + path. */
#ifndef FQ_HANDLERS_H
#define FQ_HANDLERS_H

#include "fq_app.h"

/* fq_api_collections.c: service routes, collections, aliases, payload indexes */
json_t *fq_default_collection_config(void); /* CollectionConfig of a new collection */
void fq_h_root(fq_rq_t *rq);
void fq_h_healthz(fq_rq_t *rq);
void fq_h_readyz(fq_rq_t *rq);
void fq_h_cluster(fq_rq_t *rq);
void fq_h_issues(fq_rq_t *rq);
void fq_h_list_collections(fq_rq_t *rq);
void fq_h_get_collection(fq_rq_t *rq);
void fq_h_create_collection(fq_rq_t *rq);
void fq_h_update_collection(fq_rq_t *rq);
void fq_h_delete_collection(fq_rq_t *rq);
void fq_h_collection_exists(fq_rq_t *rq);
void fq_h_collection_cluster(fq_rq_t *rq);
void fq_h_update_aliases(fq_rq_t *rq);
void fq_h_list_aliases(fq_rq_t *rq);
void fq_h_collection_aliases(fq_rq_t *rq);
void fq_h_create_index(fq_rq_t *rq);
void fq_h_delete_index(fq_rq_t *rq);
void fq_h_create_vector_name(fq_rq_t *rq);
void fq_h_delete_vector_name(fq_rq_t *rq);

/* fq_api_points.c: point writes */
void fq_h_upsert(fq_rq_t *rq);
void fq_h_delete_points(fq_rq_t *rq);
void fq_h_update_vectors(fq_rq_t *rq);
void fq_h_delete_vectors(fq_rq_t *rq);
void fq_h_set_payload(fq_rq_t *rq);
void fq_h_overwrite_payload(fq_rq_t *rq);
void fq_h_delete_payload(fq_rq_t *rq);
void fq_h_clear_payload(fq_rq_t *rq);
void fq_h_batch_update(fq_rq_t *rq);

/* fq_api_reads.c: retrieve, scroll, count, facet */
void fq_h_retrieve(fq_rq_t *rq);
void fq_h_get_point(fq_rq_t *rq);
void fq_h_scroll(fq_rq_t *rq);
void fq_h_count(fq_rq_t *rq);
void fq_h_facet(fq_rq_t *rq);

/* fq_api_search.c: legacy search / recommend / discover and distance matrix */
void fq_h_search(fq_rq_t *rq);
void fq_h_search_batch(fq_rq_t *rq);
void fq_h_search_groups(fq_rq_t *rq);
void fq_h_recommend(fq_rq_t *rq);
void fq_h_recommend_batch(fq_rq_t *rq);
void fq_h_recommend_groups(fq_rq_t *rq);
void fq_h_discover(fq_rq_t *rq);
void fq_h_discover_batch(fq_rq_t *rq);
void fq_h_matrix_pairs(fq_rq_t *rq);
void fq_h_matrix_offsets(fq_rq_t *rq);

/* fq_api_query.c: universal query API */
void fq_h_query(fq_rq_t *rq);
void fq_h_query_batch(fq_rq_t *rq);
void fq_h_query_groups(fq_rq_t *rq);

/* fq_snapshots.c */
void fq_h_snap_list(fq_rq_t *rq);
void fq_h_snap_create(fq_rq_t *rq);
void fq_h_snap_get(fq_rq_t *rq);
void fq_h_snap_delete(fq_rq_t *rq);
void fq_h_snap_upload(fq_rq_t *rq);
void fq_h_snap_recover(fq_rq_t *rq);
void fq_h_full_snap_list(fq_rq_t *rq);
void fq_h_full_snap_create(fq_rq_t *rq);
void fq_h_full_snap_get(fq_rq_t *rq);
void fq_h_full_snap_delete(fq_rq_t *rq);
void fq_h_shard_snap_list(fq_rq_t *rq);
void fq_h_shard_snap_create(fq_rq_t *rq);
void fq_h_shard_snap_get(fq_rq_t *rq);
void fq_h_shard_snap_delete(fq_rq_t *rq);
void fq_h_shard_snap_stream(fq_rq_t *rq);
void fq_h_shard_snap_recover(fq_rq_t *rq);
void fq_h_shard_snap_upload(fq_rq_t *rq);

/* fq_api_cluster.c: cluster, quotas, shard keys, optimizations */
void fq_h_clear_issues(fq_rq_t *rq);
void fq_h_cluster_telemetry(fq_rq_t *rq);
void fq_h_recover_peer(fq_rq_t *rq);
void fq_h_remove_peer(fq_rq_t *rq);
void fq_h_get_quotas(fq_rq_t *rq);
void fq_h_update_quotas(fq_rq_t *rq);
void fq_h_create_shard_key(fq_rq_t *rq);
void fq_h_delete_shard_key(fq_rq_t *rq);
void fq_h_list_shard_keys(fq_rq_t *rq);
void fq_h_update_collection_cluster(fq_rq_t *rq);
void fq_h_get_optimizations(fq_rq_t *rq);

#endif
