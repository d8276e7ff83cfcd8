/* Canonical JSON for cache keys: two documents that mean the same to Qdrant's serde-based parser
 * get the same canonical text, whatever their key order, whitespace, number spelling or string
 * escapes. Built on jansson.
 *
 * The canonical form is jansson's compact dump with object keys sorted bytewise:
 * - strings: escapes decoded, re-emitted as UTF-8 ("\u00e9" and "é" agree; "\/" and "/" agree);
 * - numbers: a literal with a fraction or exponent is a double and prints as %.17g, so 0.1, 0.10
 *   and 1e-1 agree; an integer literal stays an integer, so 10 and 10.0 do NOT agree (serde
 *   does not treat them alike either: a usize field refuses 10.0);
 * - duplicate object keys and integers outside int64 make the document non-canonicalisable
 *   (serde would reject or reinterpret them): such a body is never cached. */
#ifndef GW_COMMON_CJSON_H
#define GW_COMMON_CJSON_H

#include <jansson.h>
#include <stddef.h>

#include "common/digest.h"

/* Parses exactly one JSON value filling text[0..len). NULL with "line L column C: problem" in
 * err on bad input. The caller owns the result (json_decref). */
json_t *gw_cjson_parse(const char *text, size_t len, char *err, size_t errlen);

/* Feeds the canonical text of v into d. 0 / -1 (out of memory). */
int gw_cjson_digest(const json_t *v, gw_digest_t *d);

/* The canonical text, malloc'd and NUL-terminated (free()); *len gets its length. NULL on OOM. */
char *gw_cjson_dump(const json_t *v, size_t *len);

#endif
