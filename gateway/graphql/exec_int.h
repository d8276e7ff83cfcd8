/* What exec.c shares with coerce.c and shape.c. Private to gateway/graphql/. */
#ifndef GW_GRAPHQL_EXEC_INT_H
#define GW_GRAPHQL_EXEC_INT_H

#include "gateway/graphql/exec.h"

/* Variables of ex->op from the request's JSON into ex->vars; -1 with ex->errors filled. */
int ex_coerce_variables(gql_exec_t *ex, const json_t *given);
/* The arguments of field node s (defs: its definitions) with variables and defaults (object). */
json_t *ex_args(const gql_exec_t *ex, const gql_sel_t *s, const gql_arg_def_t *defs);
/* Room for element n in *p (capacity *cap, elements of size bytes). 0 / -1. */
int ex_grow(void **p, size_t *cap, size_t n, size_t size);
/* The value of a field of type text `type` from source src, shaped by the sub-selections of the
 * field nodes (merged), errors appended to errs with path. Returns the value (new reference),
 * or NULL when a non-null position got null (the caller's position becomes null). */
json_t *ex_complete(const gql_exec_t *ex, const char *type, size_t tl, json_t *src,
                    const gql_sel_t *const *nodes, size_t nnodes, const char *parent, json_t *path,
                    json_t *errs);

#endif
