/* GraphQL executable documents (October 2021 spec + graphql-js 16 lexing): the syntax tree, a
 * lexer and recursive-descent parser with exact line:column locations and bounded input, and
 * the error type every GraphQL module reports through. No type-system definitions: a document
 * that holds one is a syntax error here (graphql-js rejects it at validation). */
#ifndef GW_GRAPHQL_PARSE_H
#define GW_GRAPHQL_PARSE_H

#include <stddef.h>

/* Line and column, from 1; columns count UTF-16 code units, as graphql-js reports them. */
typedef struct gql_loc {
    unsigned line, col;
} gql_loc_t;

#define GQL_MSG_MAX  320
#define GQL_LOCS_MAX 4

typedef struct gql_error {
    char msg[GQL_MSG_MAX];
    gql_loc_t locs[GQL_LOCS_MAX];
    unsigned nlocs;
} gql_error_t;

/* Bounds on what one request may ask (0 in a field: its default, GQL_DEFAULT_*). */
typedef struct gql_limits {
    size_t max_bytes;     /* document size */
    unsigned max_tokens;  /* lexical tokens in the document */
    unsigned max_depth;   /* field nesting of an operation, fragments expanded (validate.h) */
    unsigned max_aliases; /* aliased fields in the document (validate.h) */
    unsigned max_fields;  /* fields of an operation, fragments expanded (validate.h) */
    unsigned max_roots;   /* root fields executed by one operation (exec.h) */
} gql_limits_t;

#define GQL_DEFAULT_MAX_BYTES   (64u << 10)
#define GQL_DEFAULT_MAX_TOKENS  10000
#define GQL_DEFAULT_MAX_DEPTH   15
#define GQL_DEFAULT_MAX_ALIASES 30
#define GQL_DEFAULT_MAX_FIELDS  2000
#define GQL_DEFAULT_MAX_ROOTS   32
#define GQL_MAX_NESTING         64 /* selection sets, lists and objects inside one another */

/* l with every 0 replaced by its default. */
gql_limits_t gql_limits_resolve(const gql_limits_t *l);

typedef enum {
    GQL_V_VAR,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOL,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT,
} gql_vkind_t;

typedef struct gql_value {
    gql_vkind_t kind;
    gql_loc_t loc;
    const char *str; /* VAR (without $), ENUM: the name; INT, FLOAT: the literal; STRING: decoded */
    size_t len;      /* of str */
    int boolean;
    struct gql_value *items; /* LIST: the elements; OBJECT: the fields (with key) */
    const char *key;         /* a field of an OBJECT: its name */
    gql_loc_t key_loc;
    struct gql_value *next;
} gql_value_t;

typedef struct gql_arg {
    const char *name;
    gql_loc_t loc;
    gql_value_t *value;
    struct gql_arg *next;
} gql_arg_t;

typedef struct gql_dir {
    const char *name;
    gql_loc_t loc;
    gql_arg_t *args;
    struct gql_dir *next;
} gql_dir_t;

typedef enum { GQL_SEL_FIELD, GQL_SEL_SPREAD, GQL_SEL_INLINE } gql_selkind_t;

typedef struct gql_sel {
    gql_selkind_t kind;
    gql_loc_t loc;
    const char *alias;  /* FIELD: NULL when none */
    const char *name;   /* FIELD: the field; SPREAD: the fragment */
    gql_loc_t name_loc; /* SPREAD: of the fragment's name */
    gql_arg_t *args;
    gql_dir_t *dirs;
    const char *type_cond; /* INLINE: NULL when none */
    gql_loc_t type_loc;
    struct gql_sel *sel; /* FIELD (optional), INLINE: the sub-selection */
    int has_sel;         /* FIELD: a { ... } followed */
    gql_loc_t sel_loc;   /* where that { is */
    struct gql_sel *next;
} gql_sel_t;

typedef struct gql_var {
    const char *name; /* without $ */
    gql_loc_t loc;    /* of the $ */
    gql_loc_t name_loc;
    const char *type;      /* as written, normalised: "[Int!]!" */
    const char *type_name; /* the named type inside: "Int" */
    gql_loc_t type_loc;
    gql_value_t *def; /* default value, NULL when none */
    gql_dir_t *dirs;
    struct gql_var *next;
} gql_var_t;

typedef enum { GQL_QUERY, GQL_MUTATION, GQL_SUBSCRIPTION } gql_opkind_t;

typedef struct gql_op {
    gql_opkind_t kind;
    const char *name; /* NULL: anonymous */
    gql_loc_t loc;
    gql_loc_t name_loc;
    gql_var_t *vars;
    gql_dir_t *dirs;
    gql_sel_t *sel;
    struct gql_op *next;
} gql_op_t;

typedef struct gql_frag {
    const char *name;
    gql_loc_t loc;
    gql_loc_t name_loc;
    const char *type_cond;
    gql_loc_t type_loc;
    gql_dir_t *dirs;
    gql_sel_t *sel;
    struct gql_frag *next;
} gql_frag_t;

typedef struct gql_doc {
    gql_op_t *ops;     /* in document order */
    gql_frag_t *frags; /* in document order */
    struct gql_arena *arena;
} gql_doc_t;

/* Parses src[0..len) (needs no NUL; never reads past len). Returns the document, or NULL with
 * *err filled ("Syntax Error: ..." and the location, or a limit: "Document too large: ...",
 * "Document has too many tokens: ...", "Document nested too deeply ..."; "out of memory"). */
gql_doc_t *gql_parse(const char *src, size_t len, const gql_limits_t *lim, gql_error_t *err);
void gql_doc_free(gql_doc_t *d);

/* Arena memory of d, freed with it; NULL on out of memory. */
void *gql_doc_alloc(gql_doc_t *d, size_t n);

/* "Expected ..., found ..." style message into err at loc (printf format). */
void gql_error_set(gql_error_t *err, gql_loc_t loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
