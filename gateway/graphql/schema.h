/* The GraphQL schema the gateway serves: one static table of types (Qdrant's collections,
 * points and searches, and the introspection types), from which validation, execution, the SDL
 * text of GET /graphql and the introspection answers are all derived. Read-only; thread-safe. */
#ifndef GW_GRAPHQL_SCHEMA_H
#define GW_GRAPHQL_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

typedef enum { GQL_K_SCALAR, GQL_K_OBJECT, GQL_K_INPUT, GQL_K_ENUM } gql_kind_t;

/* Types are written as in SDL: "[PointId!]!". */
typedef struct gql_arg_def {
    const char *name, *type;
    const char *def; /* default value as a GraphQL literal, NULL when none */
    const char *desc;
} gql_arg_def_t;

/* What executes a root field (exec.c); GQL_R_NONE for fields of other types. */
typedef enum {
    GQL_R_NONE,
    GQL_R_COLLECTIONS,
    GQL_R_COLLECTION,
    GQL_R_POINTS,
    GQL_R_SCROLL,
    GQL_R_COUNT,
    GQL_R_SEARCH,
    GQL_R_QUERY,
    GQL_R_RECOMMEND,
    GQL_R_UPSERT,
    GQL_R_DELETE,
    GQL_R_SET_PAYLOAD,
    GQL_R_SCHEMA,  /* __schema */
    GQL_R_TYPE,    /* __type(name) */
    GQL_R_TYPENAME /* __typename */
} gql_resolver_t;

typedef struct gql_field_def {
    const char *name, *type, *desc;
    const gql_arg_def_t *args; /* NULL-name terminated; NULL when none */
    gql_resolver_t resolver;
} gql_field_def_t;

typedef struct gql_type_def {
    const char *name;
    gql_kind_t kind;
    const char *desc;
    const gql_field_def_t *fields; /* OBJECT; NULL-name terminated */
    const gql_arg_def_t *inputs;   /* INPUT; NULL-name terminated */
    const char *const *enums;      /* ENUM; NULL terminated */
} gql_type_def_t;

typedef struct gql_dir_def {
    const char *name, *desc;
    const char *const *locations; /* NULL terminated: "FIELD", "FRAGMENT_SPREAD", ... */
    const gql_arg_def_t *args;
} gql_dir_def_t;

/* Lookups by name (NULL when unknown). gql_schema_field also knows the meta fields
 * __typename (every object type) and __schema, __type (Query). */
const gql_type_def_t *gql_schema_type(const char *name);
const gql_field_def_t *gql_schema_field(const gql_type_def_t *t, const char *name);
const gql_arg_def_t *gql_schema_arg(const gql_arg_def_t *args, const char *name);
const gql_dir_def_t *gql_schema_directive(const char *name);
/* "Query", "Mutation". */
const gql_type_def_t *gql_schema_root(int mutation);

/* The named type inside a type text ("[Int!]!" -> "Int"): its length, start in *name. */
size_t gql_type_named(const char *type, const char **name);

/* The schema in SDL (graphql-js printSchema layout), NUL-terminated, built once. */
const char *gql_schema_sdl(size_t *len);
/* Introspection (built once, shared, never freed): the __schema object, and a named __Type
 * object (NULL when unknown). Borrowed references: incref to keep. */
json_t *gql_schema_introspection(void);
json_t *gql_schema_type_json(const char *name);

#endif
