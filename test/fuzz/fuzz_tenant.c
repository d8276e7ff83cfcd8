/* libFuzzer target for gw_tenant_rewrite (gateway/auth/tenant.c). Input: byte 0 picks the
 * route (one of the rewritten ones), the rest is the body.
 * Properties: the answer is 0, 400 or 403; on 0 the output is a JSON object that parses again,
 * its length is right, and rewriting it again succeeds (a rewritten body passes the checks: the
 * injected condition is the tenant's own match); on a refusal the message is non-empty,
 * NUL-terminated and starts with Qdrant's prefix for its status, also into a 4-byte buffer with
 * the same status. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/auth/tenant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ops[] = {
        "search_points",       "search_batch_points",   "search_point_groups",
        "search_matrix_pairs", "query_points",          "query_batch_points",
        "query_points_groups", "recommend_points",      "recommend_batch_points",
        "discover_points",     "discover_batch_points", "facet",
        "scroll_points",       "count_points",          "upsert_points",
        "delete_points",       "update_vectors",        "delete_vectors",
        "set_payload",         "overwrite_payload",     "delete_payload",
        "clear_payload",       "batch_update"};
    static const gw_tenant_t t = {"group_id", "acme"};
    if (size < 1 || size > 65536) return 0;
    const char *op = ops[data[0] % (sizeof(ops) / sizeof(*ops))];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char msg[1024], small[4] = "", *out = NULL, *out2 = NULL;
    size_t n = 0, n2 = 0;
    int st = gw_tenant_rewrite(op, &t, body, len, &out, &n, msg, sizeof(msg));
    if (st != 0 && st != 400 && st != 403) abort();
    if (st == 0) {
        if (!out || strlen(out) != n) abort();
        json_t *j = json_loadb(out, n, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) abort();
        json_decref(j);
        if (gw_tenant_rewrite(op, &t, out, n, &out2, &n2, msg, sizeof(msg)) != 0) abort();
        free(out2);
    } else {
        if (out || !msg[0]) abort();
        const char *pre = st == 400 ? "Format error in JSON body: " : "Forbidden: ";
        if (strncmp(msg, pre, strlen(pre)) != 0) abort();
    }
    free(out);
    out = NULL;
    int st2 = gw_tenant_rewrite(op, &t, body, len, &out, &n, small, sizeof(small));
    if (st2 != st || strlen(small) >= sizeof(small)) abort();
    free(out);
    return 0;
}
