/* Canonical JSON for cache keys: two documents that mean the same to Qdrant's serde-based parser
 * get the same canonical text, whatever their key order, whitespace, number spelling or string
 * escapes. Hand-written rather than jansson's parse-and-dump: jansson turns every number into a
 * double and prints it back with printf, which for one 768-dimension query vector costs a
 * millisecond or more of CPU; here numbers are normalised as decimal text, in one pass.
 *
 * The canonical form is compact JSON with object members sorted by their key bytes:
 * - strings: escapes decoded, re-emitted as UTF-8 ("\u00e9" and "é" agree; "\/" and "/"
 *   agree); only '"', '\\' and control characters are escaped, always the same way;
 * - numbers: compared as decimal values. A literal with a fraction or an exponent is a real and
 *   is written as DIGITSeEXP with no leading or trailing zeros, so 0.1, 0.10, 1e-1 and 10e-2
 *   agree (all "1e-1"); an integer literal stays as written, so 10 and 10.0 do NOT agree
 *   (serde does not treat them alike either: a usize field refuses 10.0). Two spellings of one
 *   double that are different decimals (0.1 and 0.1000000000000000055) do not agree either;
 * - rejected, as serde rejects them: bad syntax, invalid UTF-8, lone surrogates, unescaped
 *   control characters, nesting deeper than 128, trailing bytes; also duplicate object keys
 *   and exponents of more than 9 digits (the body is then never cached). */
#ifndef GW_COMMON_CJSON_H
#define GW_COMMON_CJSON_H

#include <stddef.h>

#include "common/digest.h"

typedef struct gw_cjson gw_cjson_t;   /* a parsed document (owns every node) */
typedef struct gw_cjnode gw_cjnode_t; /* one value inside it */

enum {
    GW_CJ_NULL,
    GW_CJ_TRUE,
    GW_CJ_FALSE,
    GW_CJ_INT,
    GW_CJ_REAL,
    GW_CJ_STR,
    GW_CJ_ARR,
    GW_CJ_OBJ,
    GW_CJ_NUMS /* an array of numbers only (query vectors, ids): kept as its canonical text, so
                * it has no items to read (count 0); its canonical form is that of the array */
};

/* Parses exactly one JSON value filling text[0..len). NULL with "line L column C: problem" in
 * err on bad input (or "out of memory"). Free with gw_cjson_free. */
gw_cjson_t *gw_cjson_parse(const char *text, size_t len, char *err, size_t errlen);
void gw_cjson_free(gw_cjson_t *doc);

/* Feeds the canonical text into d. */
void gw_cjson_digest(const gw_cjson_t *doc, gw_digest_t *d);
/* The canonical text, malloc'd and NUL-terminated (free()); *len gets its length. NULL on OOM. */
char *gw_cjson_dump(const gw_cjson_t *doc, size_t *len);

/* Reading the tree. Object members are in canonical (sorted) order. */
const gw_cjnode_t *gw_cjson_root(const gw_cjson_t *doc);
int gw_cjnode_type(const gw_cjnode_t *n);
/* Items of an array or members of an object; 0 for anything else. */
size_t gw_cjnode_count(const gw_cjnode_t *n);
/* The i-th array item or object member value. */
const gw_cjnode_t *gw_cjnode_item(const gw_cjnode_t *n, size_t i);
/* The i-th object member's key (decoded, not NUL-terminated). */
const char *gw_cjnode_key(const gw_cjnode_t *n, size_t i, size_t *len);
/* The value of an object member by key, or NULL. */
const gw_cjnode_t *gw_cjnode_get(const gw_cjnode_t *n, const char *key);
/* A string's decoded bytes (not NUL-terminated), or NULL if n is not a string. */
const char *gw_cjnode_str(const gw_cjnode_t *n, size_t *len);

#endif
