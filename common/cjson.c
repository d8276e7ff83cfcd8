/* Canonical JSON on jansson: strict parse, sorted compact dump straight into a digest. */
#include "common/cjson.h"

#include <stdio.h>
#include <string.h>

#define CJSON_DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

json_t *gw_cjson_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t e;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!v)
        snprintf(err, errlen, "line %d column %d: %s", e.line, e.column, e.text);
    return v;
}

static int cjson_feed(const char *buf, size_t size, void *data)
{
    gw_digest_update(data, buf, size);
    return 0;
}

int gw_cjson_digest(const json_t *v, gw_digest_t *d)
{
    return json_dump_callback(v, cjson_feed, d, CJSON_DUMP_FLAGS) == 0 ? 0 : -1;
}

char *gw_cjson_dump(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, CJSON_DUMP_FLAGS);
    if (s && len)
        *len = strlen(s);
    return s;
}
