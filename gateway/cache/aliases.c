/* Qdrant's alias list (see aliases.h), read with jansson. */
#include "gateway/cache/aliases.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_alias_list_parse(const char *body, size_t len, gw_alias_list_t *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    if (!root) {
        snprintf(err, errlen, "not JSON (at byte %d: %s)", e.position, e.text);
        return -1;
    }
    json_t *list = json_object_get(json_object_get(root, "result"), "aliases");
    if (!json_is_array(list)) {
        snprintf(err, errlen, "no result.aliases array");
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(list);
    out->alias = calloc(n + 1, sizeof(*out->alias));
    out->coll = calloc(n + 1, sizeof(*out->coll));
    if (!out->alias || !out->coll) {
        free(out->alias);
        free(out->coll);
        json_decref(root);
        memset(out, 0, sizeof(*out));
        snprintf(err, errlen, "out of memory for %zu aliases", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        const char *a = json_string_value(json_object_get(item, "alias_name"));
        const char *t = json_string_value(json_object_get(item, "collection_name"));
        if (a && t) {
            out->alias[out->n] = a;
            out->coll[out->n++] = t;
        } else {
            out->skipped++;
        }
    }
    out->doc = root;
    return 0;
}

void gw_alias_list_free(gw_alias_list_t *l)
{
    free(l->alias);
    free(l->coll);
    json_decref(l->doc);
    memset(l, 0, sizeof(*l));
}
