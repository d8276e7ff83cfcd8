/* Validation of a parsed document against the gateway's schema (spec section 5, the rules
 * graphql-js 16 applies: operations, fields, arguments, fragments, values, variables,
 * directives, field merging) plus the gateway's limits: depth, aliases and fields once
 * fragments are expanded. Messages and locations follow graphql-js. */
#ifndef GW_GRAPHQL_VALIDATE_H
#define GW_GRAPHQL_VALIDATE_H

#include <stddef.h>

#include "gateway/graphql/parse.h"

#define GQL_MAX_ERRORS 32 /* then "Too many validation errors, ..." and validation stops */

/* Fills errs (capacity GQL_MAX_ERRORS) and returns how many; 0: the document is valid. */
size_t gql_validate(const gql_doc_t *d, const gql_limits_t *lim, gql_error_t *errs);

/* Type text a is allowed where b is expected (spec IsVariableUsageAllowed's core, without the
 * default-value relaxation): "Int!" fits "Int", "[Int!]" fits "[Int]", "Int" fits "[Int]"? no. */
int gql_type_fits(const char *a, size_t alen, const char *b, size_t blen);

/* Prints an AST value as GraphQL text (graphql-js print) into buf; returns buf. */
const char *gql_value_print(const gql_value_t *v, char *buf, size_t cap);

#endif
