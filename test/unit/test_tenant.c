/* Unit tests for gateway/auth/tenant.c: the route policy for tenant-bound credentials and the
 * body rewrite of every filter-bearing read and write (search, query with prefetches, their
 * batches and groups, recommend, discover, matrix, facet, scroll, count; upsert, delete,
 * vectors and payload updates, batch_update), escape attempts, and malformed bodies. Each
 * rewrite is compared as JSON with the expected body. */
#include "gateway/auth/tenant.h"
#include "unit_util.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_tenant_t T = {"group_id", "acme"};
#define TC "{\"key\":\"group_id\",\"match\":{\"value\":\"acme\"}}"
#define TF "{\"must\":[" TC "]}"

static char msg[1024];

/* The rewrite of body for op: its status (0 = rewritten, compared with want as JSON). */
static int rw(const char *op, const char *body, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    msg[0] = '\0';
    int st = gw_tenant_rewrite(op, &T, body, strlen(body), &out, &n, msg, sizeof(msg));
    if (st == 0) {
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_eq(n, strlen(out));
        if (want) {
            json_t *a = json_loads(out, 0, NULL), *b = json_loads(want, 0, NULL);
            ck_assert_msg(b != NULL, "bad expectation %s", want);
            ck_assert_msg(json_equal(a, b), "%s: got %s, want %s", op, out, want);
            json_decref(a);
            json_decref(b);
        }
    } else {
        ck_assert_ptr_null(out);
        ck_assert_msg(msg[0], "refusal without a message");
    }
    free(out);
    return st;
}

static void refused(const char *op, const char *body, const char *needle)
{
    ck_assert_int_eq(rw(op, body, NULL), 403);
    ck_assert_msg(strstr(msg, needle) != NULL, "%s: '%s' lacks '%s'", op, msg, needle);
    ck_assert_msg(strncmp(msg, "Forbidden: tenant-bound credential (group_id): ", 47) == 0, "%s",
                  msg);
}

START_TEST(test_valid)
{
    char m[128];
    ck_assert_int_eq(gw_tenant_valid("group_id", "acme", m, sizeof(m)), 0);
    ck_assert_int_eq(gw_tenant_valid("a-b_9", "x", m, sizeof(m)), 0);
    ck_assert_int_eq(gw_tenant_valid("", "x", m, sizeof(m)), -1);
    ck_assert_int_eq(gw_tenant_valid("a.b", "x", m, sizeof(m)), -1);
    ck_assert_int_eq(gw_tenant_valid("a[0]", "x", m, sizeof(m)), -1);
    ck_assert_int_eq(gw_tenant_valid("g", "", m, sizeof(m)), -1);
    ck_assert_int_eq(gw_tenant_valid("g", "\xff", m, sizeof(m)), -1);
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(gw_tenant_valid("g", big, m, sizeof(m)), -1);
    big[65] = '\0';
    ck_assert_int_eq(gw_tenant_valid(big, "v", m, sizeof(m)), -1);
}
END_TEST

START_TEST(test_policy)
{
    static const char *const rewrite[] = {"search_points",
                                          "search_point_groups",
                                          "search_matrix_pairs",
                                          "search_matrix_offsets",
                                          "search_batch_points",
                                          "query_points",
                                          "query_points_groups",
                                          "query_batch_points",
                                          "recommend_points",
                                          "recommend_point_groups",
                                          "recommend_batch_points",
                                          "discover_points",
                                          "discover_batch_points",
                                          "facet",
                                          "scroll_points",
                                          "count_points",
                                          "upsert_points",
                                          "delete_points",
                                          "update_vectors",
                                          "delete_vectors",
                                          "set_payload",
                                          "overwrite_payload",
                                          "delete_payload",
                                          "clear_payload",
                                          "batch_update"};
    for (size_t i = 0; i < NELEM(rewrite); i++)
        ck_assert_int_eq(gw_tenant_policy(rewrite[i], &T, msg, sizeof(msg)), GW_TENANT_REWRITE);
    static const char *const pass[] = {"get_collections", "collection_exists",
                                       "get_collections_aliases", "get_collection_aliases"};
    for (size_t i = 0; i < NELEM(pass); i++)
        ck_assert_int_eq(gw_tenant_policy(pass[i], &T, msg, sizeof(msg)), GW_TENANT_PASS);
    static const char *const refuse[] = {"get_collection",
                                         "create_collection",
                                         "delete_collection",
                                         "update_collection",
                                         "update_aliases",
                                         "create_field_index",
                                         "delete_field_index",
                                         "create_snapshot",
                                         "telemetry",
                                         "metrics",
                                         "cluster_status",
                                         "create_shard_key",
                                         "update_collection_cluster",
                                         "get_point",
                                         "get_points",
                                         "local_shard_scroll_points",
                                         "create_vector_name"};
    for (size_t i = 0; i < NELEM(refuse); i++) {
        ck_assert_int_eq(gw_tenant_policy(refuse[i], &T, msg, sizeof(msg)), GW_TENANT_REFUSE);
        ck_assert(strncmp(msg, "Forbidden: tenant-bound credential (group_id): ", 47) == 0);
    }
    gw_tenant_policy("get_points", &T, msg, sizeof(msg));
    ck_assert_str_eq(msg, "Forbidden: tenant-bound credential (group_id): retrieving points by "
                          "id cannot be checked against the tenant; scroll with a has_id filter");
    gw_tenant_policy("create_collection", &T, msg, sizeof(msg));
    ck_assert_ptr_nonnull(strstr(msg, "create_collection is not allowed"));
    ck_assert_int_eq(gw_tenant_policy(NULL, &T, msg, sizeof(msg)), GW_TENANT_REFUSE);
    ck_assert_ptr_nonnull(strstr(msg, "not known"));
    /* a PASS or REFUSE route is not rewritten */
    ck_assert_int_eq(rw("get_points", "{\"ids\":[1]}", NULL), 403);
    ck_assert_int_eq(rw("collection_exists", "{}", NULL), 403);
}
END_TEST

START_TEST(test_filter_added)
{
    static const char *const ops[] = {
        "search_points", "search_point_groups", "search_matrix_pairs", "search_matrix_offsets",
        "facet",         "scroll_points",       "count_points"};
    for (size_t i = 0; i < NELEM(ops); i++) {
        ck_assert_int_eq(rw(ops[i], "{\"limit\":3}", "{\"limit\":3,\"filter\":" TF "}"), 0);
        ck_assert_int_eq(rw(ops[i], "{\"filter\":null}", "{\"filter\":" TF "}"), 0);
        ck_assert_int_eq(rw(ops[i], "", "{\"filter\":" TF "}"), 0); /* no body: {} */
    }
    /* search keeps the vector and everything else */
    ck_assert_int_eq(rw("search_points", "{\"vector\":[0.5,1],\"limit\":2,\"with_payload\":true}",
                        "{\"vector\":[0.5,1],\"limit\":2,\"with_payload\":true,\"filter\":" TF "}"),
                     0);
}
END_TEST

START_TEST(test_filter_joined)
{
    /* must as a list, as one condition, absent; should/must_not kept */
    ck_assert_int_eq(rw("scroll_points",
                        "{\"filter\":{\"must\":[{\"key\":\"c\",\"match\":{\"value\":1}}]}}",
                        "{\"filter\":{\"must\":[{\"key\":\"c\",\"match\":{\"value\":1}}," TC "]}}"),
                     0);
    ck_assert_int_eq(rw("count_points",
                        "{\"filter\":{\"must\":{\"key\":\"c\",\"match\":{\"value\":1}}}}",
                        "{\"filter\":{\"must\":[{\"key\":\"c\",\"match\":{\"value\":1}}," TC "]}}"),
                     0);
    ck_assert_int_eq(
        rw("facet",
           "{\"key\":\"c\",\"filter\":{\"should\":[{\"key\":\"c\",\"match\":{\"value\":1}}]}}",
           "{\"key\":\"c\",\"filter\":{\"should\":[{\"key\":\"c\",\"match\":{\"value\":1}}],"
           "\"must\":[" TC "]}}"),
        0);
    ck_assert_int_eq(rw("scroll_points",
                        "{\"filter\":{\"must\":null,\"must_not\":[{\"has_id\":[1]}]}}",
                        "{\"filter\":{\"must\":[" TC "],\"must_not\":[{\"has_id\":[1]}]}}"),
                     0);
    /* the tenant's own condition, sent by the client, is allowed (and doubled: harmless) */
    ck_assert_int_eq(
        rw("count_points", "{\"filter\":" TF "}", "{\"filter\":{\"must\":[" TC "," TC "]}}"), 0);
    ck_assert_int_eq(rw("count_points", "{\"filter\":{\"should\":[" TC "]}}",
                        "{\"filter\":{\"should\":[" TC "],\"must\":[" TC "]}}"),
                     0);
    /* nested inner keys are relative to the nested key: not the tenant field */
    ck_assert_int_eq(
        rw("count_points",
           "{\"filter\":{\"must\":[{\"nested\":{\"key\":\"d\",\"filter\":{\"must\":[{\"key\":"
           "\"group_id\",\"match\":{\"value\":\"x\"}}]}}}]}}",
           NULL),
        0);
    /* a field whose name only begins like the tenant field */
    ck_assert_int_eq(
        rw("count_points",
           "{\"filter\":{\"must\":[{\"key\":\"group_ids\",\"match\":{\"value\":\"x\"}}]}}", NULL),
        0);
}
END_TEST

START_TEST(test_escapes)
{
    static const char *const f[] = {
        "{\"should\":[{\"key\":\"group_id\",\"match\":{\"value\":\"other\"}}]}",
        "{\"must_not\":[" TC "]}",
        "{\"must\":[{\"key\":\"group_id\",\"match\":{\"any\":[\"acme\",\"other\"]}}]}",
        "{\"must\":[{\"key\":\"group_id\",\"match\":{\"except\":[\"acme\"]}}]}",
        "{\"must\":[{\"key\":\"group_id\",\"match\":{\"value\":\"acme\"},\"range\":{}}]}",
        "{\"must\":[{\"key\":\"group_id\",\"match\":{\"value\":\"other\"}}]}",
        "{\"must\":[{\"key\":\"group_id.x\",\"match\":{\"value\":\"acme\"}}]}",
        "{\"must\":[{\"key\":\"group_id[]\",\"match\":{\"value\":\"acme\"}}]}",
        "{\"must\":[{\"key\":\"\\\"group_id\\\"\",\"match\":{\"value\":\"x\"}}]}",
        "{\"must\":[{\"is_empty\":{\"key\":\"group_id\"}}]}",
        "{\"must\":[{\"is_null\":{\"key\":\"group_id\"}}]}",
        "{\"must\":[{\"nested\":{\"key\":\"group_id\",\"filter\":{}}}]}",
        "{\"should\":[{\"must\":[{\"should\":{\"key\":\"group_id\",\"match\":{\"value\":\"o\"}}}]}]"
        "}",
        "{\"min_should\":{\"conditions\":[{\"key\":\"group_id\",\"match\":{\"value\":\"o\"}}],"
        "\"min_count\":1}}",
    };
    char body[512];
    for (size_t i = 0; i < NELEM(f); i++) {
        snprintf(body, sizeof(body), "{\"filter\":%s}", f[i]);
        ck_assert_msg(rw("scroll_points", body, NULL) == 403, "not refused: %s", body);
        snprintf(body, sizeof(body), "{\"filter\":%s,\"points\":null}", f[i]);
        ck_assert_msg(rw("delete_points", body, NULL) == 403, "not refused: %s", body);
        snprintf(body, sizeof(body), "{\"prefetch\":{\"filter\":%s}}", f[i]);
        ck_assert_msg(rw("query_points", body, NULL) == 403, "not refused: %s", body);
    }
    refused("scroll_points", "{\"filter\":{\"must_not\":[" TC "]}}", "the filter may not name");
    /* depth */
    char deep[4096] = "", *p = deep;
    for (int i = 0; i < 40; i++)
        p += sprintf(p, "{\"must\":[");
    p += sprintf(p, "{\"has_id\":[1]}");
    for (int i = 0; i < 40; i++)
        p += sprintf(p, "]}");
    snprintf(body, sizeof(body), "{\"filter\":%.450s}", deep);
    char *b2 = malloc(strlen(deep) + 16);
    sprintf(b2, "{\"filter\":%s}", deep);
    refused("count_points", b2, "nested too deeply");
    free(b2);
}
END_TEST

START_TEST(test_query)
{
    ck_assert_int_eq(rw("query_points", "{\"query\":[1,2],\"limit\":1}",
                        "{\"query\":[1,2],\"limit\":1,\"filter\":" TF "}"),
                     0);
    /* every prefetch level gets the tenant */
    ck_assert_int_eq(
        rw("query_points",
           "{\"prefetch\":[{\"query\":[1],\"prefetch\":{\"query\":[2]}},{\"query\":[3],"
           "\"filter\":{\"must\":[{\"key\":\"c\",\"match\":{\"value\":2}}]}}],\"query\":{"
           "\"fusion\":"
           "\"rrf\"}}",
           "{\"prefetch\":[{\"query\":[1],\"prefetch\":{\"query\":[2],\"filter\":" TF
           "},\"filter\":" TF
           "},{\"query\":[3],\"filter\":{\"must\":[{\"key\":\"c\",\"match\":{\"value\":2}}," TC
           "]}}],\"query\":{\"fusion\":\"rrf\"},\"filter\":" TF "}"),
        0);
    ck_assert_int_eq(rw("query_points_groups", "{\"query\":[1],\"group_by\":\"c\"}",
                        "{\"query\":[1],\"group_by\":\"c\",\"filter\":" TF "}"),
                     0);
    ck_assert_int_eq(rw("query_points", "{\"query\":{\"nearest\":[1,2]}}", NULL), 0);
    ck_assert_int_eq(
        rw("query_points", "{\"query\":{\"nearest\":{\"indices\":[1],\"values\":[1]}}}", NULL), 0);
    ck_assert_int_eq(rw("query_points", "{\"query\":{\"order_by\":\"c\"}}", NULL), 0);
    ck_assert_int_eq(rw("query_points", "{\"query\":{\"recommend\":{\"positive\":[[1,2]]}}}", NULL),
                     0);
    /* point ids as query inputs: refused */
    refused("query_points", "{\"query\":7}", "query by point id");
    refused("query_points", "{\"query\":\"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\"}", "point id");
    refused("query_points", "{\"query\":{\"nearest\":7}}", "nearest by point id");
    refused("query_points", "{\"query\":{\"recommend\":{\"positive\":[[1,2]],\"negative\":[3]}}}",
            "recommend by point id");
    refused("query_points", "{\"query\":{\"discover\":{\"target\":1,\"context\":[]}}}", "discover");
    refused(
        "query_points",
        "{\"query\":{\"discover\":{\"target\":[1],\"context\":{\"positive\":2,\"negative\":[1]}}}}",
        "discover");
    refused("query_points", "{\"query\":{\"context\":[{\"positive\":[1],\"negative\":3}]}}",
            "context");
    refused("query_points", "{\"prefetch\":{\"query\":9}}", "point id");
    refused("query_points", "{\"prefetch\":{\"prefetch\":[{\"query\":{\"nearest\":9}}]}}",
            "point id");
    refused("query_points", "{\"query\":[1],\"lookup_from\":{\"collection\":\"b\"}}",
            "lookup_from");
    refused("query_points", "{\"prefetch\":{\"lookup_from\":{\"collection\":\"b\"}}}",
            "lookup_from");
    refused("query_points_groups", "{\"group_by\":\"c\",\"with_lookup\":\"b\"}", "with_lookup");
    ck_assert_int_eq(rw("query_points", "{\"prefetch\":[1]}", NULL), 400);
    ck_assert_int_eq(rw("query_points", "{\"prefetch\":\"x\"}", NULL), 400);
}
END_TEST

START_TEST(test_batches)
{
    ck_assert_int_eq(rw("search_batch_points",
                        "{\"searches\":[{\"vector\":[1]},{\"vector\":[2],\"filter\":{}}]}",
                        "{\"searches\":[{\"vector\":[1],\"filter\":" TF
                        "},{\"vector\":[2],\"filter\":" TF "}]}"),
                     0);
    ck_assert_int_eq(rw("query_batch_points", "{\"searches\":[{\"prefetch\":{\"query\":[1]}}]}",
                        "{\"searches\":[{\"prefetch\":{\"query\":[1],\"filter\":" TF
                        "},\"filter\":" TF "}]}"),
                     0);
    ck_assert_int_eq(rw("recommend_batch_points", "{\"searches\":[{\"positive\":[[1]]}]}",
                        "{\"searches\":[{\"positive\":[[1]],\"filter\":" TF "}]}"),
                     0);
    ck_assert_int_eq(rw("discover_batch_points", "{\"searches\":[{\"target\":[1],\"context\":[]}]}",
                        "{\"searches\":[{\"target\":[1],\"context\":[],\"filter\":" TF "}]}"),
                     0);
    refused("search_batch_points",
            "{\"searches\":[{\"vector\":[1]},{\"vector\":[1],\"filter\":{\"must_not\":[" TC "]}}]}",
            "may not name");
    refused("recommend_batch_points", "{\"searches\":[{\"positive\":[1]}]}",
            "recommend by point id");
    refused("discover_batch_points", "{\"searches\":[{\"target\":1}]}", "discover by point id");
    ck_assert_int_eq(rw("search_batch_points", "{}", NULL), 400);
    ck_assert_int_eq(rw("search_batch_points", "{\"searches\":[1]}", NULL), 400);
}
END_TEST

START_TEST(test_recommend_discover)
{
    ck_assert_int_eq(
        rw("recommend_points", "{\"positive\":[[1,2]],\"negative\":[[0,1]],\"limit\":2}",
           "{\"positive\":[[1,2]],\"negative\":[[0,1]],\"limit\":2,\"filter\":" TF "}"),
        0);
    ck_assert_int_eq(rw("recommend_point_groups", "{\"positive\":[[1]],\"group_by\":\"c\"}", NULL),
                     0);
    refused("recommend_points", "{\"positive\":[1]}", "recommend by point id");
    refused("recommend_points",
            "{\"positive\":[[1]],\"negative\":[\"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\"]}",
            "recommend by point id");
    refused("recommend_points", "{\"positive\":[[1]],\"lookup_from\":{\"collection\":\"o\"}}",
            "lookup_from");
    refused("recommend_point_groups",
            "{\"positive\":[[1]],\"group_by\":\"c\",\"with_lookup\":{\"collection\":\"o\"}}",
            "with_lookup");
    ck_assert_int_eq(
        rw("discover_points", "{\"target\":[1],\"context\":[{\"positive\":[1],\"negative\":[2]}]}",
           "{\"target\":[1],\"context\":[{\"positive\":[1],\"negative\":[2]}],\"filter\":" TF "}"),
        0);
    refused("discover_points", "{\"target\":3,\"context\":[]}", "discover by point id");
    refused("discover_points", "{\"context\":[{\"positive\":4,\"negative\":[2]}]}", "point id");
    refused("search_point_groups", "{\"vector\":[1],\"group_by\":\"c\",\"with_lookup\":\"o\"}",
            "with_lookup");
}
END_TEST

START_TEST(test_upsert)
{
    ck_assert_int_eq(
        rw("upsert_points",
           "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":\"acme\",\"c\":1}}]}",
           "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":\"acme\",\"c\":1}}],"
           "\"update_filter\":" TF "}"),
        0);
    ck_assert_int_eq(
        rw("upsert_points",
           "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1],[2]],\"payloads\":[{\"group_id\":\"acme\"},"
           "{\"group_id\":\"acme\"}]},\"update_filter\":{\"must\":[{\"key\":\"c\",\"match\":{"
           "\"value\":1}}]}}",
           "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1],[2]],\"payloads\":[{\"group_id\":\"acme\"},"
           "{\"group_id\":\"acme\"}]},\"update_filter\":{\"must\":[{\"key\":\"c\",\"match\":{"
           "\"value\":1}}," TC "]}}"),
        0);
    refused("upsert_points", "{\"points\":[{\"id\":1,\"vector\":[1]}]}",
            "points[0]: the payload must set group_id");
    refused("upsert_points", "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"c\":1}}]}",
            "must set");
    refused("upsert_points",
            "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":\"acme\"}},{\"id\":2,"
            "\"vector\":[1],\"payload\":{\"group_id\":\"other\"}}]}",
            "points[1]: the payload may set group_id only to the tenant's value");
    refused("upsert_points",
            "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":[\"acme\",\"x\"]}}]}",
            "only to the tenant's value");
    refused("upsert_points",
            "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":1}}]}",
            "only to the tenant's value");
    refused("upsert_points", "{\"batch\":{\"ids\":[1],\"vectors\":[[1]]}}",
            "every point needs a payload");
    refused(
        "upsert_points",
        "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1],[1]],\"payloads\":[{\"group_id\":\"acme\"}]}}",
        "every point needs");
    refused("upsert_points", "{\"batch\":{\"ids\":[1],\"vectors\":[[1]],\"payloads\":[null]}}",
            "must set");
    refused("upsert_points",
            "{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{\"group_id\":\"acme\"}}],"
            "\"update_filter\":{\"must_not\":[" TC "]}}",
            "may not name");
    ck_assert_int_eq(rw("upsert_points", "{}", NULL), 400);
    ck_assert_int_eq(rw("upsert_points", "{\"points\":[1]}", NULL), 400);
}
END_TEST

START_TEST(test_selectors)
{
    static const char *const ops[] = {"delete_points", "delete_vectors"};
    for (size_t i = 0; i < NELEM(ops); i++) {
        ck_assert_int_eq(rw(ops[i], "{\"points\":[1,\"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\"]}",
                            "{\"filter\":{\"must\":[{\"has_id\":[1,\"5c56c793-69f3-4fbf-87e6-"
                            "c4bf54c28c26\"]}," TC "]}}"),
                         0);
        ck_assert_int_eq(rw(ops[i], "{\"filter\":{\"must\":[{\"has_id\":[1]}]}}",
                            "{\"filter\":{\"must\":[{\"has_id\":[1]}," TC "]}}"),
                         0);
        refused(ops[i], "{\"points\":[1],\"filter\":{}}", "points and filter together");
        ck_assert_int_eq(rw(ops[i], "{}", NULL), 400); /* nothing selected: never "all of mine" */
        ck_assert_int_eq(rw(ops[i], "{\"points\":null,\"filter\":null}", NULL), 400);
        ck_assert_int_eq(rw(ops[i], "{\"points\":5}", NULL), 400);
    }
    ck_assert_int_eq(rw("delete_vectors", "{\"points\":[1],\"vector\":[\"v\"]}",
                        "{\"vector\":[\"v\"],\"filter\":{\"must\":[{\"has_id\":[1]}," TC "]}}"),
                     0);
    ck_assert_int_eq(rw("update_vectors", "{\"points\":[{\"id\":1,\"vector\":[1]}]}",
                        "{\"points\":[{\"id\":1,\"vector\":[1]}],\"update_filter\":" TF "}"),
                     0);
    ck_assert_int_eq(rw("update_vectors", "{}", NULL), 400);
}
END_TEST

START_TEST(test_payload)
{
    ck_assert_int_eq(rw("set_payload", "{\"payload\":{\"c\":2},\"points\":[1]}",
                        "{\"payload\":{\"c\":2},\"filter\":{\"must\":[{\"has_id\":[1]}," TC "]}}"),
                     0);
    ck_assert_int_eq(rw("set_payload",
                        "{\"payload\":{\"c\":2,\"group_id\":\"acme\"},\"filter\":{}}",
                        "{\"payload\":{\"c\":2,\"group_id\":\"acme\"},\"filter\":" TF "}"),
                     0);
    ck_assert_int_eq(rw("set_payload",
                        "{\"payload\":{\"group_id\":\"x\"},\"key\":\"meta\",\"points\":[1]}", NULL),
                     0); /* under another key: meta.group_id, not the tenant field */
    refused("set_payload", "{\"payload\":{\"group_id\":\"other\"},\"points\":[1]}",
            "only to the tenant's value");
    refused("set_payload", "{\"payload\":{\"a\":1},\"key\":\"group_id\",\"points\":[1]}",
            "under the tenant field");
    refused("set_payload", "{\"payload\":{\"a\":1},\"key\":\"group_id.x\",\"points\":[1]}",
            "under the tenant field");
    ck_assert_int_eq(rw("overwrite_payload",
                        "{\"payload\":{\"group_id\":\"acme\",\"c\":1},\"filter\":{}}",
                        "{\"payload\":{\"group_id\":\"acme\",\"c\":1},\"filter\":" TF "}"),
                     0);
    refused("overwrite_payload", "{\"payload\":{\"c\":1},\"points\":[1]}", "must set group_id");
    ck_assert_int_eq(rw("delete_payload", "{\"keys\":[\"c\"],\"points\":[1]}",
                        "{\"keys\":[\"c\"],\"filter\":{\"must\":[{\"has_id\":[1]}," TC "]}}"),
                     0);
    refused("delete_payload", "{\"keys\":[\"c\",\"group_id\"],\"points\":[1]}",
            "deleting the tenant field");
    refused("delete_payload", "{\"keys\":[\"group_id[0]\"],\"filter\":{}}",
            "deleting the tenant field");
    refused("clear_payload", "{\"points\":[1]}", "clearing payloads");
    ck_assert_int_eq(rw("set_payload", "{\"points\":[1]}", NULL), 400);
    ck_assert_int_eq(rw("set_payload", "{\"payload\":3,\"points\":[1]}", NULL), 400);
    ck_assert_int_eq(rw("delete_payload", "{\"keys\":[1],\"points\":[1]}", NULL), 400);
}
END_TEST

START_TEST(test_batch_update)
{
    ck_assert_int_eq(
        rw("batch_update",
           "{\"operations\":[{\"upsert\":{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{"
           "\"group_id\":\"acme\"}}]}},{\"delete\":{\"points\":[2]}},{\"set_payload\":{\"payload\":"
           "{\"c\":1},\"filter\":{}}},{\"delete_vectors\":{\"points\":[1],\"vector\":[\"\"]}},"
           "{\"update_vectors\":{\"points\":[{\"id\":1,\"vector\":[1]}]}}]}",
           "{\"operations\":[{\"upsert\":{\"points\":[{\"id\":1,\"vector\":[1],\"payload\":{"
           "\"group_id\":\"acme\"}}],\"update_filter\":" TF "}},{\"delete\":{\"filter\":{\"must\":["
           "{\"has_id\":[2]}," TC "]}}},{\"set_payload\":{\"payload\":{\"c\":1},\"filter\":" TF
           "}},{\"delete_vectors\":{\"vector\":[\"\"],\"filter\":{\"must\":[{\"has_id\":[1]}," TC
           "]}}},{\"update_vectors\":{\"points\":[{\"id\":1,\"vector\":[1]}],\"update_filter\":" TF
           "}}]}"),
        0);
    refused("batch_update", "{\"operations\":[{\"clear_payload\":{\"points\":[1]}}]}", "clearing");
    refused("batch_update",
            "{\"operations\":[{\"delete\":{\"points\":[1]}},{\"overwrite_payload\":{\"payload\":{},"
            "\"points\":[1]}}]}",
            "must set group_id");
    refused("batch_update", "{\"operations\":[{\"create_index\":{}}]}",
            "operations[0]: create_index cannot be checked");
    ck_assert_int_eq(rw("batch_update", "{\"operations\":[{\"delete\":{},\"upsert\":{}}]}", NULL),
                     400);
    ck_assert_int_eq(rw("batch_update", "{\"operations\":[{\"delete\":1}]}", NULL), 400);
    ck_assert_int_eq(rw("batch_update", "{}", NULL), 400);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *const bodies[] = {
        "[]",
        "1",
        "\"x\"",
        "null",
        "{",
        "{\"filter\":1}",
        "{\"filter\":[]}",
        "{\"filter\":{\"must\":1}}",
        "{\"filter\":{\"must\":[1]}}",
        "{\"filter\":{\"must\":[{\"key\":1}]}}",
        "{\"filter\":{\"min_should\":1}}",
        "{\"filter\":{\"must\":[{\"is_empty\":{\"key\":3}}]}}",
        "{\"filter\":{},\"filter\":{}}", /* duplicate keys: which one would Qdrant read? */
        "{\"limit\":1} trailing",
    };
    for (size_t i = 0; i < NELEM(bodies); i++) {
        ck_assert_msg(rw("scroll_points", bodies[i], NULL) == 400, "not 400: %s", bodies[i]);
        ck_assert(strncmp(msg, "Format error in JSON body: ", 27) == 0);
    }
    /* a tiny message buffer still gets a NUL-terminated prefix */
    char small[8], *out = NULL;
    size_t n;
    ck_assert_int_eq(
        gw_tenant_rewrite("scroll_points", &T, "[]", 2, &out, &n, small, sizeof(small)), 400);
    ck_assert_uint_lt(strlen(small), sizeof(small));
    /* a value that needs escaping survives as JSON */
    gw_tenant_t q = {"g", "a\"b\\c"};
    ck_assert_int_eq(gw_tenant_rewrite("count_points", &q, "{}", 2, &out, &n, msg, sizeof(msg)), 0);
    ck_assert_str_eq(
        out, "{\"filter\":{\"must\":[{\"key\":\"g\",\"match\":{\"value\":\"a\\\"b\\\\c\"}}]}}");
    free(out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tenant");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_policy);
    tcase_add_test(tc, test_filter_added);
    tcase_add_test(tc, test_filter_joined);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_query);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_recommend_discover);
    tcase_add_test(tc, test_upsert);
    tcase_add_test(tc, test_selectors);
    tcase_add_test(tc, test_payload);
    tcase_add_test(tc, test_batch_update);
    tcase_add_test(tc, test_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(suite());
}
