/* The GraphQL lexer: source bytes to tokens with locations, strings decoded (escapes, block
 * string indentation) into the document's arena. Used by parse.c; public within the folder. */
#ifndef GW_GRAPHQL_LEX_H
#define GW_GRAPHQL_LEX_H

#include <stddef.h>

#include "gateway/graphql/parse.h"

typedef enum {
    GQL_T_EOF,
    GQL_T_BANG,
    GQL_T_DOLLAR,
    GQL_T_AMP,
    GQL_T_LPAREN,
    GQL_T_RPAREN,
    GQL_T_SPREAD,
    GQL_T_COLON,
    GQL_T_EQUALS,
    GQL_T_AT,
    GQL_T_LBRACKET,
    GQL_T_RBRACKET,
    GQL_T_LBRACE,
    GQL_T_PIPE,
    GQL_T_RBRACE,
    GQL_T_NAME,
    GQL_T_INT,
    GQL_T_FLOAT,
    GQL_T_STRING,
    GQL_T_BLOCK_STRING,
} gql_tok_kind_t;

typedef struct gql_tok {
    gql_tok_kind_t kind;
    const char *p; /* the raw bytes in the source */
    size_t len;
    gql_loc_t loc;
    char *val; /* STRING, BLOCK_STRING: decoded, NUL-terminated (arena); else NULL */
    size_t vlen;
} gql_tok_t;

typedef struct gql_lexer {
    const char *src;
    size_t len, pos;
    unsigned line;
    size_t line_start;
    size_t cpos; /* column cache: cpos's column is ccol (same line) */
    unsigned ccol;
    unsigned ntokens, max_tokens;
    gql_doc_t *doc;
    gql_error_t *err;
} gql_lexer_t;

void gql_lex_init(gql_lexer_t *lx, const char *src, size_t len, unsigned max_tokens, gql_doc_t *doc,
                  gql_error_t *err);
/* The next token into *t: 0, or -1 with lx->err filled. */
int gql_lex_next(gql_lexer_t *lx, gql_tok_t *t);
/* How graphql-js names a token in messages: <EOF>, "{", Name "x", Int "1", String "s". */
const char *gql_tok_desc(const gql_tok_t *t, char *buf, size_t cap);

#endif
