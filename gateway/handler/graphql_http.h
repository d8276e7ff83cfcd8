/* GraphQL over HTTP (the GraphQL-over-HTTP draft, 2024), the pure part: a request's parameters
 * from a GET query string or a POST JSON body, the media type of the answer from Accept, and
 * the status code each kind of outcome gets. No I/O; gateway/handler/graphql_api.c uses it. */
#ifndef GW_HANDLER_GRAPHQL_HTTP_H
#define GW_HANDLER_GRAPHQL_HTTP_H

#include <jansson.h>
#include <stddef.h>

typedef struct gw_gql_params {
    char *query;          /* heap, NUL-terminated; NULL when absent */
    size_t query_len;     /* may hold NULs: the parser is told the length */
    char *operation_name; /* heap; NULL when absent or null */
    json_t *variables;    /* an object, or NULL when absent or null */
} gw_gql_params_t;

void gw_gql_params_free(gw_gql_params_t *p);

/* From a query string (without '?'): query, variables (JSON text), operationName; '+' is a space,
 * %XX decoded. 0, or 400 with the reason in err. An absent query leaves p->query NULL. */
int gw_gql_params_from_query(const char *qs, size_t len, gw_gql_params_t *p, char *err,
                             size_t errlen);
/* From a POST body of media type application/json: {"query": string, "variables": object|null,
 * "operationName": string|null, "extensions": object|null}. 0, or 400 with err. */
int gw_gql_params_from_json(const char *body, size_t len, gw_gql_params_t *p, char *err,
                            size_t errlen);

/* Content-Type value is application/json (parameters such as charset allowed). */
int gw_gql_is_json_type(const char *v, size_t len);
/* The client accepts application/graphql-response+json (the Accept header; NULL: absent). */
int gw_gql_wants_grj(const char *accept, size_t len);

#define GW_GQL_TYPE_GRJ  "application/graphql-response+json; charset=utf-8"
#define GW_GQL_TYPE_JSON "application/json; charset=utf-8"

#endif
