/* libFuzzer target for common/cjson.c: any bytes either fail with a message or parse; a parsed
 * document's canonical text must itself parse, and canonicalise to the same text (idempotence),
 * so the cache key of a canonical body is stable. The bytes are also tried as the items of an
 * array, packed ([bytes]: all numbers take the vector fast path) and mixed ([bytes,null]: item
 * by item), which must canonicalise their numbers alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump_wrapped(const uint8_t *data, size_t size, const char *tail, size_t *len)
{
    size_t tl = strlen(tail), n = size + tl + 1;
    char *buf = malloc(n), err[160];
    if (!buf) return NULL;
    buf[0] = '[';
    memcpy(buf + 1, data, size);
    memcpy(buf + 1 + size, tail, tl);
    gw_cjson_t *doc = gw_cjson_parse(buf, n, err, sizeof(err));
    free(buf);
    char *out = doc ? gw_cjson_dump(doc, len) : NULL;
    gw_cjson_free(doc);
    return out;
}

static void paths_agree(const uint8_t *data, size_t size)
{
    size_t la = 0, lb = 0;
    char *a = dump_wrapped(data, size, "]", &la), *b = dump_wrapped(data, size, ",null]", &lb);
    if (a && b && la > 2 && (lb != la + 5 || memcmp(a, b, la - 1) != 0)) abort();
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4096) paths_agree(data, size);
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
