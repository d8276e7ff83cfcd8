/* What validate.c shares with its other part, merge.c (OverlappingFieldsCanBeMerged): the
 * validation context. Private to gateway/graphql/. */
#ifndef GW_GRAPHQL_VALIDATE_INT_H
#define GW_GRAPHQL_VALIDATE_INT_H

#include "gateway/graphql/parse.h"
#include "gateway/graphql/schema.h"

static const gql_loc_t NOLOC = {0, 0};

typedef struct usage {
    const char *name;
    gql_loc_t loc;
    const char *type; /* expected type text, NULL inside a JSON literal (anything goes) */
    size_t tlen;
    int has_default; /* the position has a default value */
} usage_t;

typedef struct owner { /* an operation or a fragment */
    usage_t *u;
    size_t nu, cu;
    const gql_sel_t **spreads;
    size_t ns, cs;
    int state;              /* cycle search: 0 new, 1 on the path, 2 done */
    unsigned depth, fields; /* expanded, memoised */
    int measured;
} owner_t;

typedef struct vctx {
    const gql_doc_t *doc;
    gql_limits_t lim;
    gql_error_t *errs;
    size_t n;
    int full; /* the error list is full: stop */
    owner_t *ops, *frags;
    size_t nops, nfrags;
    owner_t *cur;
    unsigned aliases;
} vctx_t;

/* One error with up to two locations (NOLOC: none); sets full at GQL_MAX_ERRORS. */
void vl_err(vctx_t *c, gql_loc_t a, gql_loc_t b, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Makes room for element n in *p (capacity *cap, elements of size bytes). 0 / -1. */
int vl_grow(void **p, size_t *cap, size_t n, size_t size);
/* The fragment named name (its index into *idx when idx is not NULL), NULL when none. */
const gql_frag_t *vl_find_frag(const vctx_t *c, const char *name, size_t *idx);
/* OverlappingFieldsCanBeMerged for a definition's selection set on type t. */
void vl_check_overlap(vctx_t *c, const gql_sel_t *sels, const gql_type_def_t *t);

#endif
