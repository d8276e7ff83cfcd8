/* libFuzzer target for the GraphQL front end (gateway/graphql/lex.c, parse.c, validate.c,
 * merge.c). Input: byte 0 picks limits (bits 0-1: max_depth 2/5/15/default, bits 2-3:
 * max_aliases 0/1/30/default, bit 4: max_tokens 64, bit 5: max_fields 20), the rest is the
 * document, copied into an exact-size heap block so that ASan catches any read past its length.
 * Properties: gql_parse returns a document or an error, never both; every message is non-empty,
 * NUL-terminated and within GQL_MSG_MAX, every location lies within the input (line up to one
 * past its line breaks, column from 1) and there are at most GQL_LOCS_MAX; syntax errors start
 * "Syntax Error: " unless they are a limit; validation returns at most GQL_MAX_ERRORS errors,
 * with the same properties, and is deterministic (a second run gives the same errors). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/graphql/parse.h"
#include "gateway/graphql/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const gql_error_t *e, unsigned lines)
{
    size_t n = strnlen(e->msg, GQL_MSG_MAX);
    if (n == 0 || n == GQL_MSG_MAX || e->nlocs > GQL_LOCS_MAX) abort();
    for (unsigned i = 0; i < e->nlocs; i++)
        if (e->locs[i].line < 1 || e->locs[i].line > lines || e->locs[i].col < 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const unsigned depths[] = {2, 5, 15, 0}, aliases[] = {0, 1, 30, 0};
    gql_limits_t lim = {
        .max_depth = depths[data[0] & 3],
        .max_aliases = aliases[(data[0] >> 2) & 3],
        .max_tokens = data[0] & 16 ? 64 : 0,
        .max_fields = data[0] & 32 ? 20 : 0,
    };
    if (lim.max_aliases == 0 && (data[0] & 12) == 0) lim.max_aliases = 1;
    size_t len = size - 1;
    char *src = malloc(len ? len : 1);
    if (!src) abort();
    memcpy(src, data + 1, len);
    unsigned lines = 1;
    for (size_t i = 0; i < len; i++)
        if (src[i] == '\n' || (src[i] == '\r' && (i + 1 == len || src[i + 1] != '\n'))) lines++;

    gql_error_t err;
    memset(&err, 0x5a, sizeof(err));
    gql_doc_t *d = gql_parse(src, len, &lim, &err);
    if (!d) {
        check_error(&err, lines);
        if (strncmp(err.msg, "Syntax Error: ", 14) != 0 && strncmp(err.msg, "Document ", 9) != 0 &&
            strcmp(err.msg, "out of memory") != 0)
            abort();
        free(src);
        return 0;
    }
    gql_error_t errs[GQL_MAX_ERRORS], again[GQL_MAX_ERRORS];
    size_t n = gql_validate(d, &lim, errs);
    if (n > GQL_MAX_ERRORS) abort();
    for (size_t i = 0; i < n; i++)
        check_error(&errs[i], lines);
    if (gql_validate(d, &lim, again) != n) abort();
    for (size_t i = 0; i < n; i++)
        if (strcmp(errs[i].msg, again[i].msg) != 0 || errs[i].nlocs != again[i].nlocs) abort();
    gql_doc_free(d);
    free(src);
    return 0;
}
