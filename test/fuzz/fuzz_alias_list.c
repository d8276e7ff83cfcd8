/* libFuzzer target for the alias list (gw_alias_list_parse, gateway/cache/aliases.c) and what the
 * cache does with it (gw_names_set_aliases, gateway/cache/generations.c), as inval.c does with
 * Qdrant's answer to GET /aliases. Input: the answer's body.
 * Properties (leaks are LeakSanitizer's):
 * - it is accepted exactly when it is JSON with a result.aliases array; a refusal has a
 *   non-empty message, also into a short buffer without overrun;
 * - accepted: n + skipped is the array's length, and the pairs are the items with both names
 *   as strings, in order;
 * - loaded into a fresh name table, the map counts as loaded, and each alias (the last pair
 *   naming it wins) makes a read through it depend on its collection, and a write through it
 *   bump that collection too; loading an empty list afterwards removes every alias. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/cache/aliases.h"
#include "gateway/cache/generations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The last pair naming l->alias[i] is i itself. */
static int last_for(const gw_alias_list_t *l, size_t i)
{
    for (size_t j = i + 1; j < l->n; j++)
        if (strcmp(l->alias[j], l->alias[i]) == 0) return 0;
    return 1;
}

static void check_names(const gw_alias_list_t *l)
{
    gw_names_t *t = gw_names_new();
    if (!t) abort();
    gw_names_set_aliases(t, l->alias, l->coll, l->n, gw_names_alias_epoch(t));
    if (!gw_names_aliases_loaded(t)) abort();
    for (size_t i = 0; i < l->n && i < 64; i++) {
        const char *a = l->alias[i], *c = l->coll[i];
        if (!last_for(l, i) || strlen(a) >= GW_NAME_MAX || strlen(c) >= GW_NAME_MAX) continue;
        gw_deps_t d = {0};
        uint64_t g[GW_DEPS_MAX], global;
        if (gw_deps_add(&d, a, strlen(a)) != 0) abort();
        if (gw_names_capture(t, &d, g, &global) != 0) abort();
        int found = 0;
        for (size_t k = 0; k < d.n; k++)
            found |= strcmp(d.name[k], c) == 0;
        if (!found) abort();
        char out[2][GW_NAME_MAX];
        if (gw_names_bump(t, a, out) != 2 || strcmp(out[0], a) != 0 || strcmp(out[1], c) != 0)
            abort();
    }
    gw_names_set_aliases(t, NULL, NULL, 0, gw_names_alias_epoch(t));
    for (size_t i = 0; i < l->n && i < 64; i++) {
        char out[2][GW_NAME_MAX];
        if (strlen(l->alias[i]) < GW_NAME_MAX && gw_names_bump(t, l->alias[i], out) != 1) abort();
    }
    gw_names_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    gw_alias_list_t l;
    char err[256];
    memset(err, 'x', sizeof(err));
    int rc = gw_alias_list_parse(body, size, &l, err, sizeof(err));
    if (rc != 0) { /* the same refusal into a short buffer */
        char *small = malloc(8);
        gw_alias_list_t l2;
        if (gw_alias_list_parse(body, size, &l2, small, 8) != rc || !memchr(small, '\0', 8))
            abort();
        free(small);
    }

    /* The model: jansson's own reading of the body. */
    json_t *root = json_loadb(body, size, 0, NULL);
    json_t *list = json_object_get(json_object_get(root, "result"), "aliases");
    if ((rc == 0) != json_is_array(list)) abort();
    if (rc != 0) {
        if (rc != -1 || !memchr(err, '\0', sizeof(err)) || !err[0]) abort();
    } else {
        size_t k = 0;
        if (l.n + l.skipped != json_array_size(list)) abort();
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *item = json_array_get(list, i);
            const char *a = json_string_value(json_object_get(item, "alias_name"));
            const char *c = json_string_value(json_object_get(item, "collection_name"));
            if (!a || !c) continue;
            if (k >= l.n || strcmp(l.alias[k], a) != 0 || strcmp(l.coll[k], c) != 0) abort();
            k++;
        }
        if (k != l.n) abort();
        check_names(&l);
        gw_alias_list_free(&l);
    }
    json_decref(root);
    free(body);
    return 0;
}
