/* Execution of a validated document, without I/O: the operation is chosen, its variables are
 * coerced (spec 6.1.2), its root fields are collected (@skip/@include, fragments) and each is
 * turned into the Qdrant request(s) that resolve it; the caller runs those requests (through
 * the gateway's cache, gateway/handler/graphql_api.c), feeds the answers back, and gets the
 * response ({"data", "errors"}) shaped by the selection sets (aliases, __typename, fragments,
 * null propagation). Introspection and __typename resolve without requests. */
#ifndef GW_GRAPHQL_EXEC_H
#define GW_GRAPHQL_EXEC_H

#include <jansson.h>
#include <stddef.h>

#include "gateway/graphql/parse.h"
#include "gateway/graphql/schema.h"

#define GQL_MAX_FANOUT 256 /* collections described by one `collections` field */

/* One Qdrant request: method, target (percent-encoded, with query string) and a JSON body
 * (NULL: none). */
typedef struct gql_call {
    const char *method;
    char target[512];
    json_t *body;
} gql_call_t;

/* A root field being resolved. */
typedef struct gql_root {
    const char *key; /* response key */
    const gql_field_def_t *def;
    const gql_sel_t **nodes; /* the field nodes merged under key (first: location) */
    size_t nnodes;
    json_t *args; /* argument values, defaults applied (object) */
    /* What the caller runs now: n calls (0: resolved). */
    gql_call_t *calls;
    size_t ncalls;
    int stage;
    json_t *answers; /* the stage's answers so far (array, one per call) */
    json_t *value;   /* the resolved source value (NULL: failed, see error) */
    json_t *error;   /* a GraphQL error object for this field, or NULL */
} gql_root_t;

typedef struct gql_exec {
    const gql_doc_t *doc;
    const gql_op_t *op;
    json_t *vars; /* coerced variable values (object) */
    gql_root_t *roots;
    size_t nroots;
    json_t *errors; /* request errors (array); non-empty: nothing executes */
} gql_exec_t;

/* Chooses the operation (operation_name may be NULL), coerces variables (a JSON object or
 * NULL) and plans the root fields (max_roots bounds them). 0: ready; -1: ex->errors holds the
 * request errors (unknown operation, bad variables, too many root fields, out of memory). */
int gql_exec_prepare(gql_exec_t *ex, const gql_doc_t *doc, const char *operation_name,
                     const json_t *variables, const gql_limits_t *lim);
void gql_exec_free(gql_exec_t *ex);

/* The answer to root r's call i: HTTP status (0: none, why in error) and body. When every call
 * of the stage has been fed, gql_root_next plans the next stage (r->ncalls > 0 again) or
 * resolves r. */
void gql_root_feed(gql_root_t *r, size_t i, int status, const char *body, size_t len,
                   const char *error);
void gql_root_next(const gql_exec_t *ex, gql_root_t *r);

/* The response object {"data": ..., "errors": [...]} once every root is resolved (new
 * reference; NULL when out of memory). */
json_t *gql_exec_result(gql_exec_t *ex);

/* A GraphQL error object {"message", "locations"?, "path"?, "extensions"?} (new reference):
 * loc with line 0 adds no locations, path and ext may be NULL (their references are taken). */
json_t *gql_error_json(const char *msg, const gql_loc_t *locs, unsigned nlocs, json_t *path,
                       json_t *ext);

/* Collects the fields of sels on object type t (spec CollectFields): @skip/@include evaluated
 * with vars, fragments flattened; same response key merged. Used for root and nested fields. */
typedef struct gql_group {
    const char *key;
    const gql_sel_t **nodes;
    size_t n, cap;
} gql_group_t;
typedef struct gql_groups {
    gql_group_t *v;
    size_t n, cap;
} gql_groups_t;
int gql_collect(const gql_doc_t *doc, const json_t *vars, const gql_type_def_t *t,
                const gql_sel_t *sels, gql_groups_t *out);
void gql_groups_free(gql_groups_t *g);

/* An AST value as JSON with variables substituted (absent variables become NULL for the
 * caller to treat as "not provided"); new reference. is_float: the position is a Float. */
json_t *gql_value_json(const gql_value_t *v, const json_t *vars, int is_float);

#endif
