/* libFuzzer target for common/cjson.c: any bytes either fail with a message or parse; a parsed
 * document's canonical text must itself parse, and canonicalise to the same text (idempotence),
 * so the cache key of a canonical body is stable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    gw_cjson_t *doc = gw_cjson_parse((const char *)data, size, err, sizeof(err));
    if (!doc) {
        if (strncmp(err, "line ", 5) != 0 && strcmp(err, "out of memory") != 0) abort();
        return 0;
    }
    size_t len = 0, len2 = 0;
    char *canon = gw_cjson_dump(doc, &len);
    gw_cjson_free(doc);
    if (!canon) return 0;
    gw_cjson_t *again = gw_cjson_parse(canon, len, err, sizeof(err));
    if (!again) abort(); /* the canonical form must be valid JSON */
    char *canon2 = gw_cjson_dump(again, &len2);
    if (canon2 && (len2 != len || memcmp(canon, canon2, len) != 0))
        abort(); /* and canonical already */
    free(canon2);
    gw_cjson_free(again);
    free(canon);
    return 0;
}
